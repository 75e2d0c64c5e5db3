// Where the UI may listen (loopback unless --unsafe-listen: it has no TLS), and a session cookie
// named per node, since browsers share cookies between the ports of one host.
import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import { isLoopbackHost, sessionCookieName, UnsafeListenError } from '../../ui-server/listen.ts';
import { startUiServer } from '../../ui-server/server.ts';
import { tempDir } from '../helpers/cfd-fixtures.ts';
import { dlcfd } from '../helpers/dlcfd-cli.ts';
import { ApiClient, Cleanups, silent, startNode } from './helpers.ts';

describe('ui-server: listen address and session cookie', function () {
  this.timeout(60_000);
  const cleanups = new Cleanups();
  afterEach(() => cleanups.run());

  it('loopback is 127.0.0.0/8, ::1 and localhost; nothing else', () => {
    for (const h of [
      '127.0.0.1',
      '127.1.2.3',
      'localhost',
      'LOCALHOST',
      '::1',
      '[::1]',
      '0:0:0:0:0:0:0:1',
      '::ffff:127.0.0.1',
    ]) {
      assert.equal(isLoopbackHost(h), true, h);
    }
    for (const h of [
      '0.0.0.0',
      '::',
      '',
      '192.168.1.10',
      '10.0.0.1',
      '128.0.0.1',
      '::2',
      '::ffff:10.0.0.1',
      'example.com',
      'localhost.example.com',
      '127.0.0.1.nip.io',
    ]) {
      assert.equal(isLoopbackHost(h), false, h);
    }
  });

  it('refuses --ui-host 0.0.0.0 without --unsafe-listen (UnsafeListenError), serves it with', async () => {
    const node = await startNode(cleanups);
    await node.stopUi();
    await assert.rejects(
      startUiServer(node.daemon, { host: '0.0.0.0', port: 0, logger: silent }),
      (err: unknown) => {
        assert.ok(err instanceof UnsafeListenError);
        assert.equal(err.name, 'UnsafeListenError');
        assert.equal(err.host, '0.0.0.0');
        assert.match(err.message, /0\.0\.0\.0.*not a loopback address.*TLS/s);
        return true;
      },
    );
    const ui = await startUiServer(node.daemon, {
      host: '0.0.0.0',
      port: 0,
      logger: silent,
      unsafeListen: true,
    });
    cleanups.add(() => ui.close());
    assert.match(ui.url, /^http:\/\/0\.0\.0\.0:\d+$/);
  });

  it('dlcfd taker --ui-host 0.0.0.0 exits 2 before starting anything; --unsafe-listen is a known flag', async () => {
    const dir = await tempDir();
    cleanups.add(dir.cleanup);
    const refused = await dlcfd(
      'taker',
      '--datadir',
      `${dir.path}/node`,
      '--network',
      'regtest',
      '--ui-host',
      '0.0.0.0',
    );
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(refused.stderr, /UnsafeListenError: refusing to serve the UI on 0\.0\.0\.0/);
    assert.match(refused.stderr, /--unsafe-listen/);
    await assert.rejects(stat(`${dir.path}/node`), { code: 'ENOENT' }, 'no datadir was made');
    const help = await dlcfd('taker', '--help');
    assert.match(help.stdout, /--unsafe-listen/);
    assert.match(help.stdout, /--allow-insecure-datadir/);
  });

  it('two nodes on one host name their session cookies differently, so one browser keeps both sessions', async () => {
    const a = await startNode(cleanups, { ui: { password: 'password-a' } });
    const b = await startNode(cleanups, { ui: { password: 'password-b' } });
    assert.match(a.ui.sessionCookie, /^dlcfd_session_[0-9a-f]{8}$/);
    assert.notEqual(a.ui.sessionCookie, b.ui.sessionCookie);
    assert.equal(a.ui.sessionCookie, sessionCookieName(a.datadir), 'stable: from the datadir');

    const browserA = new ApiClient(a.ui.url);
    const browserB = new ApiClient(b.ui.url);
    const loginA = await browserA.login('password-a');
    const loginB = await browserB.login('password-b');
    assert.ok(loginA.setCookie?.startsWith(`${a.ui.sessionCookie}=`));
    assert.ok(loginB.setCookie?.startsWith(`${b.ui.sessionCookie}=`));
    // A browser on 127.0.0.1 sends both cookies to both ports: each node finds its own.
    const jar = `${browserA.cookie}; ${browserB.cookie}`;
    assert.equal((await new ApiClient(a.ui.url, { cookie: jar }).get('/api/health')).status, 200);
    assert.equal((await new ApiClient(b.ui.url, { cookie: jar }).get('/api/health')).status, 200);
    // And neither accepts the other's session under its own name.
    const valueB = browserB.cookie!.split('=')[1];
    const forged = `${a.ui.sessionCookie}=${valueB}`;
    assert.equal(
      (await new ApiClient(a.ui.url, { cookie: forged }).get('/api/health')).status,
      401,
    );
  });
});
