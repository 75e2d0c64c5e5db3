import assert from 'node:assert/strict';
import { chmod, readFile } from 'node:fs/promises';
import { tempDir } from '../../helpers/cfd-fixtures.ts';
import { dlcfd, startDlcfd } from '../../helpers/dlcfd-cli.ts';

describe('dlcfd taker / maker (command line)', function () {
  this.timeout(30_000);

  it('a maker prints its peer id and address, keeps its identity, and stops on SIGTERM', async () => {
    const dir = await tempDir();
    try {
      const args = [
        '--datadir',
        dir.path,
        '--network',
        'regtest',
        '--listen',
        '/ip4/127.0.0.1/tcp/0',
        '--ui-port',
        '0',
      ];
      args.push('--pricefeed', 'ws://127.0.0.1:1/realtime');
      const first = await startDlcfd('maker', args, 'datadir');
      const id = first.ready.get('peer-id')!;
      assert.match(id, /^12D3KooW/);
      assert.match(first.ready.get('multiaddr') ?? '', /^\/ip4\/127\.0\.0\.1\/tcp\/\d+/);
      const ui = first.ready.get('ui-url')!;
      assert.match(ui, /^http:\/\/127\.0\.0\.1:\d+$/);
      const password = first.ready.get('ui-password')!;
      assert.match(password, /^[\w-]{20,}$/, 'a generated password, printed on first start');
      const login = await fetch(`${ui}/api/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ password }),
      });
      assert.equal(login.status, 200);
      // The launcher relaunched itself (same pid) with the young generation capped, and the
      // node's adaptor workers started under it (a worker refuses that flag in its execArgv).
      if (process.platform === 'linux') {
        const cmdline = await readFile(`/proc/${first.child.pid}/cmdline`, 'utf8');
        assert.ok(cmdline.split('\0').includes('--max-semi-space-size=16'), cmdline);
      }
      assert.equal(await first.stop('SIGTERM'), 0);
      const second = await startDlcfd('maker', args, 'datadir');
      assert.equal(second.ready.get('peer-id'), id, 'the same identity after a restart');
      assert.ok(second.ready.has('ui-url'));
      assert.equal(second.ready.get('ui-password'), undefined, 'printed once only');
      assert.equal(await second.stop('SIGINT'), 0);
    } finally {
      await dir.cleanup();
    }
  });

  it('refuses a bad configuration with usage and exit code 2', async () => {
    const missing = await dlcfd('taker');
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /datadir/);
    assert.match(missing.stderr, /usage: dlcfd taker/);
    const listening = await dlcfd(
      'taker',
      '--datadir',
      '/tmp/x',
      '--listen',
      '/ip4/127.0.0.1/tcp/0',
    );
    assert.equal(listening.code, 2);
    assert.match(listening.stderr, /a taker dials; it does not listen/);
  });

  it('refuses a datadir open to other users with InsecureDataDirError and the chmod that fixes it', async () => {
    const dir = await tempDir();
    try {
      await chmod(dir.path, 0o755);
      const refused = await dlcfd('taker', '--datadir', dir.path, '--network', 'regtest');
      assert.equal(refused.code, 1, refused.stderr);
      assert.match(refused.stderr, /InsecureDataDirError/);
      assert.ok(refused.stderr.includes(`chmod -R go-rwx ${dir.path}`), refused.stderr);
    } finally {
      await dir.cleanup();
    }
  });

  it('both are listed in dlcfd --help', async () => {
    const { stdout } = await dlcfd('--help');
    assert.match(stdout, /taker\s+run a taker node/);
    assert.match(stdout, /maker\s+run a maker node/);
  });
});
