// Who may use the API: every protected route refuses anonymous requests; the browser password
// (generated once, stored as an scrypt hash) gives a session cookie; scripts use api.cookie.
import assert from 'node:assert/strict';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  API_COOKIE_FILE,
  BACKOFF_BASE_MS,
  FREE_FAILURES,
  MAX_ANONYMOUS_CHECKS,
  MAX_BACKOFF_MS,
  PASSWORD_FILE,
  type PasswordCheckSlot,
  PasswordThrottle,
} from '../../ui-server/auth.ts';
import { HostAllowlist } from '../../ui-server/server.ts';
import { tempDir } from '../helpers/cfd-fixtures.ts';
import { ApiClient, Cleanups, startNode } from './helpers.ts';

const mode = async (path: string): Promise<number> => (await stat(path)).mode & 0o777;

describe('ui-server: authentication', function () {
  this.timeout(60_000);
  const cleanups = new Cleanups();
  afterEach(() => cleanups.run());

  it('every protected route answers 401 JSON without credentials or with wrong ones', async () => {
    const { ui } = await startNode(cleanups);
    const isProtected = ui.routes.filter((r) => !r.public);
    assert.ok(isProtected.length >= 20, `only ${isProtected.length} protected routes`);
    const clients = {
      anonymous: new ApiClient(ui.url),
      'wrong bearer': new ApiClient(ui.url, { bearer: 'f'.repeat(64) }),
      'wrong cookie': new ApiClient(ui.url, { cookie: `${ui.sessionCookie}=forged` }),
    };
    for (const [who, client] of Object.entries(clients)) {
      for (const r of isProtected) {
        const path = r.url.replace(':id', 'some-cfd');
        const res = await client.request(r.method, path, r.method === 'GET' ? undefined : {});
        assert.equal(res.status, 401, `${who} ${r.method} ${path}`);
        assert.equal(res.body.error.name, 'UnauthorizedError');
        assert.match(res.body.error.message, /log in|Bearer/);
      }
    }
    // The public ones need nothing.
    const anon = clients.anonymous;
    assert.deepEqual(
      ui.routes
        .filter((r) => r.public)
        .map((r) => r.url)
        .sort(),
      ['/api/alive', '/api/login'],
    );
    assert.equal((await anon.get('/api/alive')).status, 200);
    const page = await anon.get('/');
    assert.equal(page.status, 200);
    assert.match(page.text, /dlcfd node is running/);
  });

  it('serves the built web UI without auth, with client-side routes falling back to index.html', async () => {
    const dir = await tempDir('dlcfd-ui-static-');
    cleanups.add(dir.cleanup);
    await writeFile(join(dir.path, 'index.html'), '<!doctype html><title>dlcfd ui</title>');
    await writeFile(join(dir.path, 'app.js'), 'console.log(1);');
    const { ui } = await startNode(cleanups, { ui: { staticDir: dir.path } });
    const anon = new ApiClient(ui.url);
    const root = await anon.get('/');
    assert.equal(root.status, 200);
    assert.match(root.text, /dlcfd ui/);
    const js = await anon.get('/app.js');
    assert.equal(js.status, 200);
    assert.match(js.headers.get('content-type') ?? '', /javascript/);
    const route = await anon.get('/trade/long');
    assert.equal(route.status, 200);
    assert.match(route.text, /dlcfd ui/);
    assert.equal((await anon.get('/api/health')).status, 401);
    const missing = await anon.get('/api/nothing-here');
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error.name, 'NotFound');
  });

  it('says how to build the web UI when its directory has no index.html (not a crash)', async () => {
    const dir = await tempDir('dlcfd-ui-unbuilt-');
    cleanups.add(dir.cleanup);
    const { ui } = await startNode(cleanups, { ui: { staticDir: join(dir.path, 'dist') } });
    const page = await new ApiClient(ui.url).get('/');
    assert.equal(page.status, 200);
    assert.match(page.text, /npm run build:ui/);
  });

  it('generates a password once, stores only its scrypt hash (0600), and logs in with it', async () => {
    const node = await startNode(cleanups);
    const password = node.ui.initialPassword;
    assert.ok(password && password.length >= 20, 'a long generated password');
    const file = join(node.datadir, PASSWORD_FILE);
    assert.equal(await mode(file), 0o600);
    const stored = JSON.parse(await readFile(file, 'utf8'));
    assert.equal(stored.algorithm, 'scrypt');
    assert.ok(stored.N >= 2 ** 15 && stored.salt.length >= 32 && stored.hash.length >= 64);
    assert.ok(!JSON.stringify(stored).includes(password), 'the password itself is not stored');

    const browser = new ApiClient(node.ui.url);
    const wrong = await browser.login('not-the-password');
    assert.equal(wrong.res.status, 401);
    assert.equal(wrong.res.body.error.name, 'InvalidPasswordError');
    assert.equal(wrong.setCookie, undefined);

    const right = await browser.login(password);
    assert.equal(right.res.status, 200);
    assert.deepEqual(right.res.body, { authenticated: true });
    const attrs = right.setCookie!.split(';').map((a) => a.trim().toLowerCase());
    assert.match(attrs[0]!, /^dlcfd_session_[0-9a-f]{8}=[\w-]{40,}$/, 'a long random id');
    assert.ok(attrs[0]!.startsWith(`${node.ui.sessionCookie}=`), "this node's cookie name");
    assert.ok(attrs.includes('httponly'));
    assert.ok(attrs.includes('samesite=strict'));
    assert.ok(attrs.includes('path=/'));
    assert.ok(attrs.some((a) => /^max-age=\d+$/.test(a)));

    const session = await browser.get('/api/session');
    assert.deepEqual(session.body, { authenticated: true, method: 'session' });
    assert.equal((await browser.get('/api/health')).status, 200);

    // Logout ends the session server-side: replaying the cookie no longer works.
    const cookie = browser.cookie;
    assert.equal((await browser.post('/api/logout')).status, 200);
    assert.equal((await new ApiClient(node.ui.url, { cookie }).get('/api/health')).status, 401);
  });

  it('accepts the api.cookie token as a bearer token; a restart replaces the token, not the password', async () => {
    const first = await startNode(cleanups);
    const cookieFile = join(first.datadir, API_COOKIE_FILE);
    assert.equal(await mode(cookieFile), 0o600);
    const token = (await readFile(cookieFile, 'utf8')).trim();
    assert.match(token, /^[0-9a-f]{64}$/);
    const res = await first.api.get('/api/session');
    assert.deepEqual(res.body, { authenticated: true, method: 'bearer' });
    assert.equal(
      (await new ApiClient(first.ui.url, { bearer: `${token}0` }).get('/api/health')).status,
      401,
    );
    const password = first.ui.initialPassword!;

    await first.stopUi();
    await assert.rejects(stat(cookieFile), /ENOENT/, 'removed on stop');
    await first.daemon.stop();

    const second = await startNode(cleanups, { datadir: first.datadir });
    assert.equal(second.ui.initialPassword, undefined, 'the password is shown on first start only');
    const newToken = (await readFile(cookieFile, 'utf8')).trim();
    assert.notEqual(newToken, token);
    assert.equal(
      (await new ApiClient(second.ui.url, { bearer: token }).get('/api/health')).status,
      401,
    );
    assert.equal((await second.api.get('/api/health')).status, 200);
    assert.equal((await new ApiClient(second.ui.url).login(password)).res.status, 200);
  });

  it('a configured password replaces the stored one', async () => {
    const node = await startNode(cleanups, { ui: { password: 'configured-1' } });
    assert.equal(node.ui.initialPassword, undefined);
    assert.equal((await new ApiClient(node.ui.url).login('configured-1')).res.status, 200);
    await node.stopUi();
    await node.daemon.stop();
    const again = await startNode(cleanups, {
      datadir: node.datadir,
      ui: { password: 'configured-2' },
    });
    assert.equal((await new ApiClient(again.ui.url).login('configured-1')).res.status, 401);
    assert.equal((await new ApiClient(again.ui.url).login('configured-2')).res.status, 200);
  });

  it('changes the password after re-authenticating, ending other sessions', async () => {
    const node = await startNode(cleanups, { ui: { password: 'old-password' } });
    const a = new ApiClient(node.ui.url);
    const b = new ApiClient(node.ui.url);
    await a.login('old-password');
    await b.login('old-password');

    const wrong = await a.post('/api/password', { current: 'nope', new: 'new-password' });
    assert.equal(wrong.status, 403);
    assert.equal(wrong.body.error.name, 'InvalidPasswordError');
    const short = await a.post('/api/password', { current: 'old-password', new: 'short' });
    assert.equal(short.status, 400);
    assert.match(short.body.error.message, /new: the new password needs at least 8 characters/);

    const oldCookie = a.cookie;
    const changed = await a.request('POST', '/api/password', {
      current: 'old-password',
      new: 'new-password',
    });
    assert.equal(changed.status, 200);
    const renewed = changed.headers
      .getSetCookie()
      .find((c) => c.startsWith(`${node.ui.sessionCookie}=`));
    assert.ok(renewed, 'the changing browser gets a fresh session');
    a.cookie = renewed.split(';')[0];
    assert.notEqual(a.cookie, oldCookie);
    assert.equal((await a.get('/api/health')).status, 200);
    assert.equal((await b.get('/api/health')).status, 401, 'other sessions end');
    assert.equal((await new ApiClient(node.ui.url).login('old-password')).res.status, 401);
    assert.equal((await new ApiClient(node.ui.url).login('new-password')).res.status, 200);
  });

  it('throttles password guessing with 429 and Retry-After', async () => {
    const node = await startNode(cleanups, { ui: { password: 'the-password' } });
    const guesser = new ApiClient(node.ui.url);
    for (let i = 0; i < FREE_FAILURES; i++) {
      assert.equal((await guesser.login(`guess-${i}`)).res.status, 401);
    }
    // This address now waits (even with the right password: it cannot tell who is guessing).
    const { res } = await guesser.login('the-password');
    assert.equal(res.status, 429);
    assert.equal(res.body.error.name, 'TooManyAttemptsError');
    assert.equal(res.headers.get('retry-after'), String(BACKOFF_BASE_MS / 1000));
    // Scripts with the token are not locked out.
    assert.equal((await node.api.get('/api/health')).status, 200);
  });
});

describe('ui-server: PasswordThrottle', () => {
  const allowed = (r: ReturnType<PasswordThrottle['reserve']>): PasswordCheckSlot => {
    assert.ok(!('retryAfterSecs' in r), `refused: ${JSON.stringify(r)}`);
    return r;
  };
  const waitOf = (r: ReturnType<PasswordThrottle['reserve']>): number => {
    assert.ok('retryAfterSecs' in r, 'allowed');
    return r.retryAfterSecs;
  };

  it('backs off exponentially per client after the free failures, up to the cap; a success resets', () => {
    let now = 1_000_000;
    const t = new PasswordThrottle(() => now);
    for (let i = 0; i < FREE_FAILURES; i++) allowed(t.reserve('ip:1.2.3.4', true)).failed();
    assert.equal(waitOf(t.reserve('ip:1.2.3.4', true)), 1);
    allowed(t.reserve('ip:5.6.7.8', true)).succeeded(); // another client is not affected
    const waits: number[] = [];
    for (let i = 0; i < 9; i++) {
      const w = waitOf(t.reserve('ip:1.2.3.4', true));
      waits.push(w);
      now += w * 1000;
      allowed(t.reserve('ip:1.2.3.4', true)).failed();
    }
    assert.deepEqual(waits, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
    assert.equal(MAX_BACKOFF_MS, 60_000);
    now += MAX_BACKOFF_MS;
    allowed(t.reserve('ip:1.2.3.4', true)).succeeded();
    allowed(t.reserve('ip:1.2.3.4', true)).failed(); // free again
    allowed(t.reserve('ip:1.2.3.4', true)).failed();
  });

  it('takes the slot synchronously: one check per client at a time, a few anonymous ones at once', () => {
    const t = new PasswordThrottle();
    const slot = allowed(t.reserve('ip:1.2.3.4', true));
    for (let i = 0; i < 100; i++) waitOf(t.reserve('ip:1.2.3.4', true));
    slot.failed();
    slot.succeeded(); // reported once only
    allowed(t.reserve('ip:1.2.3.4', true)).failed();
    const slots = Array.from({ length: MAX_ANONYMOUS_CHECKS - 1 }, (_, i) =>
      allowed(t.reserve(`ip:10.0.0.${i}`, true)),
    );
    assert.ok(slots.length > 0);
    allowed(t.reserve('ip:10.0.1.0', true)); // the last anonymous slot
    waitOf(t.reserve('ip:10.0.1.1', true));
    allowed(t.reserve('device:abc', false)); // known clients do not wait for them
  });

  it('accepts only the device cookies it issued; keys IPv6 clients by /64', () => {
    const t = new PasswordThrottle();
    const token = t.issueDevice();
    assert.match(t.deviceKey(token) ?? '', /^device:/);
    assert.equal(t.deviceKey(`${token.split('.')[0]}.forged`), undefined);
    assert.equal(new PasswordThrottle().deviceKey(token), undefined, 'another start, another key');
    assert.equal(t.deviceKey(undefined), undefined);
    assert.equal(PasswordThrottle.addressKey('::ffff:127.0.0.2'), 'ip:127.0.0.2');
    assert.equal(
      PasswordThrottle.addressKey('2001:db8:1:2:aaaa::1'),
      PasswordThrottle.addressKey('2001:db8:1:2:bbbb:cccc:dddd:eeee'),
    );
    assert.notEqual(
      PasswordThrottle.addressKey('2001:db8:1:2::1'),
      PasswordThrottle.addressKey('2001:db8:1:3::1'),
    );
    assert.equal(PasswordThrottle.addressKey('::1'), 'ip6:0:0:0:0::/64');
  });
});

describe('ui-server: HostAllowlist', () => {
  it('allows the bound address and the loopback names on the port, and the configured names', () => {
    const hosts = new HostAllowlist('127.0.0.1', 8000, ['node.lan', 'proxy.example:8443', 'bad/']);
    for (const ok of [
      '127.0.0.1:8000',
      'localhost:8000',
      'LOCALHOST:8000',
      '[::1]:8000',
      'node.lan',
      'node.lan:1234',
      'proxy.example:8443',
    ]) {
      assert.ok(hosts.allows(ok), ok);
    }
    for (const bad of [
      undefined,
      '',
      '127.0.0.1',
      '127.0.0.1:8001',
      'attacker.example:8000',
      'proxy.example',
      'proxy.example:8000',
      'localhost.attacker.example:8000',
      'node.lan@evil:8000',
    ]) {
      assert.ok(!hosts.allows(bad), String(bad));
    }
    assert.ok(hosts.allowsOrigin('http://localhost:8000'));
    assert.ok(hosts.allowsOrigin('https://proxy.example:8443'));
    assert.ok(hosts.allowsOrigin('https://node.lan'));
    assert.ok(!hosts.allowsOrigin('https://evil.example'));
    assert.ok(!hosts.allowsOrigin('null'));
    assert.ok(!hosts.allowsOrigin('file:///x'));
    const wildcard = new HostAllowlist('0.0.0.0', 80, []);
    assert.ok(wildcard.allows('127.0.0.1'), 'port 80 may be left out');
    assert.ok(!wildcard.allows('0.0.0.0'));
    assert.ok(new HostAllowlist('::1', 8000).allows('[::1]:8000'));
    assert.ok(new HostAllowlist('192.168.1.5', 8000).allows('192.168.1.5:8000'));
  });
});
