// The browser turned against the node (issue #13 items 2–6): each test is one attack that worked
// before — a cross-origin POST riding on the owner's cookie, DNS rebinding, locking the owner out
// by guessing, guessing in parallel past the limit, live streams outliving the session, and a
// withdrawal or policy change from a session without the password.
import assert from 'node:assert/strict';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { FREE_FAILURES } from '../../ui-server/auth.ts';
import { ApiClient, Cleanups, SseClient, startNode, type TestNode } from './helpers.ts';

const PASSWORD = 'owner-password-1';
const PEER = '12D3KooWDjzHna3pNi1Bt1DoRfrpsBREykJKXDRDxXvhJNAdDZEk';
const EVIL = 'https://evil.example';

interface RawResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  // biome-ignore lint/suspicious/noExplicitAny: JSON bodies under test are read loosely
  readonly body: any;
}

/**
 * One request on its own connection, with every header as given (fetch would fix Host and Origin)
 * and from `localAddress` (all of 127/8 is this machine, so 127.0.0.2 is another client).
 */
function raw(
  url: string,
  options: {
    method?: string;
    path: string;
    headers?: Record<string, string>;
    body?: unknown;
    localAddress?: string;
  },
): Promise<RawResponse> {
  const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      `${url}${options.path}`,
      {
        method: options.method ?? 'GET',
        agent: false,
        headers: {
          ...(payload !== undefined ? { 'content-type': 'application/json' } : {}),
          ...options.headers,
        },
        ...(options.localAddress ? { localAddress: options.localAddress } : {}),
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          text += c;
        });
        res.on('end', () => {
          let body: unknown = text;
          if (res.headers['content-type']?.includes('application/json')) body = JSON.parse(text);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

const hostOf = (url: string) => new URL(url).host;
/** The `name=value` of a Set-Cookie whose name starts with `prefix` (names are per node). */
const sessionCookie = (headers: IncomingHttpHeaders, prefix = 'dlcfd_session_') =>
  headers['set-cookie']?.find((c) => c.startsWith(prefix))?.split(';')[0];

/** Logs in from `localAddress` with the node's own origin; returns the cookies to send back. */
async function login(
  node: TestNode,
  password: string,
  localAddress = '127.0.0.1',
  cookie?: string,
): Promise<RawResponse> {
  return raw(node.ui.url, {
    method: 'POST',
    path: '/api/login',
    headers: { origin: node.ui.url, ...(cookie ? { cookie } : {}) },
    body: { password },
    localAddress,
  });
}

/** `promise`, or a failure naming `what` after `ms` (an upper bound, not a sleep). */
async function within<T>(what: string, promise: Promise<T>, ms = 4_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

describe('ui-server: abuse from a browser (issue #13)', function () {
  this.timeout(30_000);
  const cleanups = new Cleanups();
  let node: TestNode;
  let owner: ApiClient;
  beforeEach(async () => {
    node = await startNode(cleanups, { ui: { password: PASSWORD } });
    owner = new ApiClient(node.ui.url);
    assert.equal((await owner.login(PASSWORD)).res.status, 200);
  });
  afterEach(() => cleanups.run());

  it('refuses a cross-origin POST or PUT riding on the owner’s cookie (403 CrossOriginRequestError)', async () => {
    const attacks: [string, string, unknown][] = [
      ['POST', `/api/peers/${PEER}/block`, undefined],
      ['POST', '/api/wallet/address', undefined],
      ['PUT', '/api/taker/limits', { maxOpeningFeeBps: 500 }],
      ['POST', '/api/logout', undefined],
    ];
    for (const [method, path, body] of attacks) {
      const variants: Record<string, string>[] = [
        { origin: EVIL },
        { origin: 'null' },
        // Another server on the same machine: same "site" for SameSite, another origin.
        { origin: 'http://127.0.0.1:1' },
        // No Origin (an old browser, a form): the fetch metadata says where it came from.
        { 'sec-fetch-site': 'cross-site' },
        { referer: `${EVIL}/page` },
      ];
      for (const headers of variants) {
        const res = await raw(node.ui.url, {
          method,
          path,
          headers: { cookie: owner.cookie!, ...headers },
          body,
        });
        assert.equal(res.status, 403, `${method} ${path} ${JSON.stringify(headers)}`);
        assert.equal(res.body.error.name, 'CrossOriginRequestError');
      }
    }
    assert.deepEqual(node.daemon.blockedPeers, [], 'nobody was blocked');
    assert.equal((await owner.get('/api/health')).status, 200, 'the session was not ended');
    // The UI itself (its own origin, or same-origin fetch metadata) and scripts with the token work.
    const own = await owner.post(`/api/peers/${PEER}/block`);
    assert.equal(own.status, 200);
    const sameOrigin = await raw(node.ui.url, {
      method: 'POST',
      path: `/api/peers/${PEER}/block`,
      headers: { cookie: owner.cookie!, 'sec-fetch-site': 'same-origin' },
    });
    assert.equal(sameOrigin.status, 200);
    const script = await raw(node.ui.url, {
      method: 'POST',
      path: `/api/peers/${PEER}/block`,
      headers: { authorization: `Bearer ${node.api.bearer}`, origin: EVIL },
    });
    assert.equal(script.status, 200);
  });

  it('refuses a DNS-rebinding Host on /, /api/alive and the login (421 HostNotAllowedError)', async () => {
    const port = new URL(node.ui.url).port;
    for (const host of [
      `attacker.example:${port}`,
      'attacker.example',
      `127.0.0.1.nip.io:${port}`,
    ]) {
      for (const [method, path, body] of [
        ['GET', '/', undefined],
        ['GET', '/api/alive', undefined],
        ['GET', '/api/health', undefined],
        ['POST', '/api/login', { password: PASSWORD }],
      ] as const) {
        const res = await raw(node.ui.url, {
          method,
          path,
          headers: { host, ...(method === 'POST' ? { origin: `http://${host}` } : {}) },
          body,
        });
        assert.equal(res.status, 421, `${method} ${path} Host: ${host}`);
        assert.equal(res.body.error.name, 'HostNotAllowedError');
        assert.equal(sessionCookie(res.headers), undefined, 'no session for a foreign host');
      }
    }
    // Its own names answer.
    for (const host of [hostOf(node.ui.url), `localhost:${port}`, `[::1]:${port}`]) {
      const res = await raw(node.ui.url, { path: '/api/alive', headers: { host } });
      assert.equal(res.status, 200, `Host: ${host}`);
    }
  });

  it('guessing from one address does not lock the owner out, at another address or the same', async () => {
    // The attacker, faster than one wrong password a second, from 127.0.0.2.
    const statuses: number[] = [];
    for (let i = 0; i < 15; i++)
      statuses.push((await login(node, `guess-${i}`, '127.0.0.2')).status);
    assert.ok(statuses.includes(429), `the guesser is slowed down: ${statuses}`);
    assert.ok(statuses.filter((s) => s === 401).length <= FREE_FAILURES + 1);
    // The owner, at another address: straight in; re-authentication works too.
    const fresh = await login(node, PASSWORD, '127.0.0.1');
    assert.equal(fresh.status, 200);
    const mnemonic = await owner.post('/api/wallet/mnemonic', { password: PASSWORD });
    assert.notEqual(mnemonic.status, 429, 'the mnemonic export is not throttled by the guesser');
    assert.notEqual(mnemonic.body.error?.name, 'InvalidPasswordError');

    // The attacker now at the owner's address: the owner's browser, which has logged in here
    // before, has its own budget (the device cookie), so it gets in at once.
    const device = sessionCookie(fresh.headers, 'dlcfd_device_');
    assert.ok(device, 'a device cookie');
    for (let i = 0; i < 15; i++) await login(node, `guess-${i}`, '127.0.0.1');
    assert.equal((await login(node, PASSWORD, '127.0.0.1')).status, 429, 'the address is slowed');
    const again = await login(node, PASSWORD, '127.0.0.1', device);
    assert.equal(again.status, 200);
    // A forged device cookie is only an address.
    const forged = `${device.split('=')[0]}=x.y`;
    assert.equal((await login(node, PASSWORD, '127.0.0.1', forged)).status, 429);
  });

  it('checks at most a few of 200 simultaneous wrong logins (the slot is taken before scrypt)', async () => {
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => login(node, `parallel-${i}`, '127.0.0.3')),
    );
    const checked = results.filter((r) => r.status === 401).length;
    const refused = results.filter((r) => r.status === 429);
    assert.equal(checked + refused.length, 200);
    assert.ok(checked <= FREE_FAILURES + 1, `${checked} of 200 passwords were checked`);
    assert.equal(refused[0]!.body.error.name, 'TooManyAttemptsError');
    assert.match(String(refused[0]!.headers['retry-after']), /^\d+$/);
    assert.equal((await login(node, PASSWORD, '127.0.0.1')).status, 200, 'the owner still gets in');
  });

  it('ends a live stream when its session ends: logout', async () => {
    const live = await SseClient.connect(node.ui.url, { cookie: owner.cookie! });
    cleanups.add(() => live.close());
    assert.equal(live.status, 200);
    await live.next('snapshot', (e) => e.event === 'health');
    assert.equal((await owner.post('/api/logout')).status, 200);
    await within('the stream ends after logout', live.ended);
  });

  it('ends a live stream when its session expires', async () => {
    const short = await startNode(cleanups, {
      ui: { password: PASSWORD, sessionTtlMs: 1_500, heartbeatMs: 50 },
    });
    const browser = new ApiClient(short.ui.url);
    assert.equal((await browser.login(PASSWORD)).res.status, 200);
    const live = await SseClient.connect(short.ui.url, { cookie: browser.cookie! });
    cleanups.add(() => live.close());
    await live.next('snapshot', (e) => e.event === 'health');
    await within('the stream ends when the session expires', live.ended);
    assert.equal((await browser.get('/api/health')).status, 401);
  });

  it('ends every live stream when the password changes', async () => {
    const other = new ApiClient(node.ui.url);
    assert.equal((await other.login(PASSWORD)).res.status, 200);
    const streams = await Promise.all(
      [owner, other].map((c) => SseClient.connect(node.ui.url, { cookie: c.cookie! })),
    );
    for (const s of streams) cleanups.add(() => s.close());
    // A script's stream is not tied to a session.
    const script = await SseClient.connect(node.ui.url, {
      authorization: `Bearer ${node.api.bearer}`,
    });
    cleanups.add(() => script.close());
    await Promise.all(
      [...streams, script].map((s) => s.next('snapshot', (e) => e.event === 'health')),
    );
    const changed = await owner.post('/api/password', {
      current: PASSWORD,
      new: 'owner-password-2',
    });
    assert.equal(changed.status, 200);
    await within('both session streams end', Promise.all(streams.map((s) => s.ended)));
    let scriptEnded = false;
    void script.ended.then(() => {
      scriptEnded = true;
    });
    assert.equal((await node.api.get('/api/health')).status, 200);
    assert.equal(scriptEnded, false, 'the bearer stream goes on');
  });

  it('refuses a withdrawal or a limits change from a session without the password', async () => {
    const withdraw = { address: 'bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080', feeRate: 1 };
    for (const [method, path, body] of [
      ['POST', '/api/wallet/withdraw', withdraw],
      ['PUT', '/api/taker/limits', { maxOpeningFeeBps: 500 }],
    ] as const) {
      const bare = await owner.request(method, path, body);
      assert.equal(bare.status, 403, `${method} ${path}`);
      assert.equal(bare.body.error.name, 'PasswordRequiredError');
      const wrong = await owner.request(method, path, { ...body, password: 'not-it' });
      assert.equal(wrong.status, 403);
      assert.equal(wrong.body.error.name, 'InvalidPasswordError');
    }
    assert.equal((await owner.get('/api/taker/limits')).body.maxOpeningFeeBps, 100, 'unchanged');
    const right = await owner.request('PUT', '/api/taker/limits', {
      maxOpeningFeeBps: 500,
      password: PASSWORD,
    });
    assert.equal(right.status, 200);
    assert.equal(right.body.maxOpeningFeeBps, 500);
  });
});
