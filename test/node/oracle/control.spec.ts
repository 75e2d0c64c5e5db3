/**
 * The oracle's control endpoint (fault injection for the remote scenario runner): with its token
 * it silences and delays attestations for real (the outcome log says when each event was
 * attested); without the token — from another host, or through a proxy on the oracle's own host
 * where every caller looks like loopback — it answers 403 and the oracle attests on time.
 */
import assert from 'node:assert/strict';
import { connect, createServer, type Server } from 'node:net';
import { networkInterfaces } from 'node:os';
import { nextEventTime, oracleEventId } from '../../../model/oracle-event.ts';
import { parsePrice } from '../../../model/units.ts';
import { OracleServer, type OracleServerOptions } from '../../../node/oracle/server.ts';
import { PriceFeedServer } from '../../../node/pricefeed/server.ts';
import { untilWithin } from '../../helpers/wait.ts';
import { tempDir } from './helpers.ts';

const until = untilWithin(10_000, 20);
const TOKEN = 'oracle-control-token-0123456789';

/** An attested event's attestation time, unix seconds (the outcome log's olivia `time`). */
function attestedAtSecs(o: OracleServer, eventId: string): number | undefined {
  const r = o.outcome(eventId);
  return r && Date.parse(`${r.time}Z`) / 1000;
}

/** A plain TCP proxy on loopback to `port`, as the TLS proxy in the oracle's pod: the oracle sees loopback. */
async function loopbackProxy(port: number): Promise<Server & { url: string }> {
  const server = createServer((client) => {
    const upstream = connect(port, '127.0.0.1');
    client.pipe(upstream).pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port: p } = server.address() as { port: number };
  return Object.assign(server, { url: `http://127.0.0.1:${p}` });
}

async function control(
  base: string,
  init: { method?: string; token?: string; body?: string } = {},
): Promise<{
  status: number;
  body: { silent?: boolean; attestDelaySecs?: number; error?: string };
}> {
  const res = await fetch(`${base}/control`, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers: {
      ...(init.token !== undefined && { authorization: `Bearer ${init.token}` }),
      ...(init.body !== undefined && { 'content-type': 'application/json' }),
    },
    ...(init.body !== undefined && { body: init.body }),
    signal: AbortSignal.timeout(5_000),
  });
  return { status: res.status, body: await res.json() };
}

describe('dlcfd oracle (control endpoint)', function () {
  this.timeout(30_000);

  let feed: PriceFeedServer;
  const stops: (() => Promise<unknown>)[] = [];

  async function startOracle(options: Partial<OracleServerOptions> = {}): Promise<OracleServer> {
    const o = await OracleServer.start({
      datadir: await tempDir(),
      pricefeedUrl: feed.url,
      eventIntervalS: 1,
      lookaheadS: 60,
      attestRetryMs: 50,
      ...options,
    });
    stops.push(() => o.stop());
    return o;
  }

  /** Waits for the next event after now to be attested; answers how late, seconds. */
  async function nextAttestedLateBy(o: OracleServer): Promise<number> {
    const t = nextEventTime(Math.floor(Date.now() / 1000) + 1, 1);
    const id = oracleEventId(t);
    const at = await until(`${id} attested`, () => attestedAtSecs(o, id));
    return at - t;
  }

  beforeEach(async () => {
    // Republishing every 200 ms keeps the quote fresh for every 1-second event.
    feed = await PriceFeedServer.start({
      port: 0,
      startPrice: parsePrice('40000'),
      tickMs: 0,
      republishMs: 200,
    });
    stops.push(() => feed.stop());
  });

  afterEach(async () => {
    for (const stop of stops.splice(0).reverse()) await stop();
  });

  it('with the token: silences the oracle (events wait for the end) and delays attestations', async () => {
    const o = await startOracle({ controlToken: TOKEN });
    await nextAttestedLateBy(o); // attesting on time first
    assert.deepEqual((await control(o.url, { token: TOKEN })).body, {
      silent: false,
      attestDelaySecs: 0,
    });

    const on = await control(o.url, { token: TOKEN, body: '{"silent":true}' });
    assert.deepEqual([on.status, on.body], [200, { silent: true, attestDelaySecs: 0 }]);
    // An event falls due during the silence; it is attested only once the silence ends.
    const due = nextEventTime(Math.floor(Date.now() / 1000) + 1, 1);
    const id = oracleEventId(due);
    await until('two seconds past the event', () => Date.now() / 1000 >= due + 2);
    const endedAtSecs = Math.floor(Date.now() / 1000);
    const off = await control(o.url, { token: TOKEN, body: '{"silent":false}' });
    assert.deepEqual(off.body, { silent: false, attestDelaySecs: 0 });
    const at = await until(`${id} attested after the silence`, () => attestedAtSecs(o, id));
    assert.ok(
      at >= endedAtSecs,
      `${id} (due ${due}) attested at ${at}, silence ended ${endedAtSecs}`,
    );

    // A 2-second delay: the next events are attested at least 2 s after their time.
    const late = await control(o.url, { token: TOKEN, body: '{"attestDelaySecs":2}' });
    assert.deepEqual(late.body, { silent: false, attestDelaySecs: 2 });
    assert.deepEqual(o.control, { silent: false, attestDelaySecs: 2 });
    assert.ok((await nextAttestedLateBy(o)) >= 2, 'attested at least 2 s late');
    await control(o.url, { token: TOKEN, body: '{"attestDelaySecs":0}' });
    assert.ok((await nextAttestedLateBy(o)) <= 1, 'on time again');

    // Malformed requests change nothing.
    const bad = async (body: string) => (await control(o.url, { token: TOKEN, body })).status;
    assert.equal(await bad('{"silent":"yes"}'), 400);
    assert.equal(await bad('{"attestDelaySecs":-1}'), 400);
    assert.equal(await bad('{"attestDelaySecs":1e9}'), 400);
    assert.equal(await bad('{"paused":true}'), 400);
    assert.equal(await bad('[]'), 400);
    assert.equal(await bad('nope'), 400);
    assert.equal(await bad('x'.repeat(5_000)), 413);
    assert.equal((await control(o.url, { token: TOKEN, method: 'DELETE' })).status, 405);
    const other = await fetch(`${o.url}/control/x`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    assert.equal(other.status, 404);
    assert.deepEqual(o.control, { silent: false, attestDelaySecs: 0 });
  });

  it('403 without the token, with a wrong one, and through a loopback proxy; attestations go on', async () => {
    await assert.rejects(startOracle({ controlToken: 'short' }), /at least 16 characters/);

    // No token configured: off, for loopback callers too.
    const plain = await startOracle();
    const off = await control(plain.url, { body: '{"silent":true}' });
    assert.equal(off.status, 403);
    assert.match(off.body.error!, /off: the oracle was started without a control token/);
    assert.equal((await control(plain.url, { token: TOKEN, body: '{"silent":true}' })).status, 403);
    assert.deepEqual(plain.control, { silent: false, attestDelaySecs: 0 });

    // With a token, behind a proxy on the oracle's own host (the pod's TLS proxy): every caller
    // arrives from loopback, so only the token may open the endpoint.
    const o = await startOracle({ controlToken: TOKEN });
    const proxy = await loopbackProxy(o.port);
    stops.push(() => new Promise((resolve) => proxy.close(resolve)));
    const attacks = [
      { body: '{"silent":true}' },
      { body: '{"attestDelaySecs":600}' },
      { body: '{"silent":true}', token: `${TOKEN.slice(0, -1)}x` }, // same length, wrong
      { body: '{"silent":true}', token: TOKEN.slice(0, 16) }, // a prefix
      { body: '{"silent":true}', token: '' },
      { token: 'x' },
    ];
    for (const a of attacks) {
      const r = await control(proxy.url, a);
      assert.equal(r.status, 403, JSON.stringify(a));
      assert.match(r.body.error!, /needs Authorization: Bearer <control token>/);
    }
    const basic = await fetch(`${proxy.url}/control`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}` },
      body: '{"silent":true}',
    });
    assert.equal(basic.status, 403);
    assert.deepEqual(o.control, { silent: false, attestDelaySecs: 0 });
    assert.ok((await nextAttestedLateBy(o)) <= 1, 'the oracle attests on time');
    // The proxy itself works: the token opens it.
    assert.equal((await control(proxy.url, { token: TOKEN })).status, 200);
  });

  it('403 from another host without the token; the token opens it', async function () {
    const address = Object.values(networkInterfaces())
      .flat()
      .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;
    if (!address) {
      // A machine with no network interface but loopback has no other address to call from
      // (every CI run so far had one). The rule does not depend on the caller's address — the
      // token is checked from loopback too, as the proxy case above proves — so this only adds
      // a real off-host caller where one exists.
      console.log('    skipped: no non-loopback IPv4 interface to call the oracle from');
      this.skip();
    }
    const o = await startOracle({ controlToken: TOKEN, host: '0.0.0.0' });
    const base = `http://${address}:${o.port}`;
    assert.equal((await control(base, { body: '{"silent":true}' })).status, 403);
    assert.equal(
      (await control(base, { body: '{"silent":true}', token: 'y'.repeat(31) })).status,
      403,
    );
    assert.deepEqual(o.control, { silent: false, attestDelaySecs: 0 });
    assert.ok((await nextAttestedLateBy(o)) <= 1, 'the oracle attests on time');
    const on = await control(base, { body: '{"silent":true}', token: TOKEN });
    assert.deepEqual([on.status, on.body], [200, { silent: true, attestDelaySecs: 0 }]);
  });
});
