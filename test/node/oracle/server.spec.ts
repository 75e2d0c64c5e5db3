/**
 * dlcfd's oracle end to end: a real price feed server, the oracle on 127.0.0.1, and the node's
 * oracle client verifying what it serves. Events run on a 1–2 s cadence.
 */
import assert from 'node:assert/strict';
import { bytesToHex } from '@noble/hashes/utils.js';
import { parseOliviaEventResponse, verifyAnnouncementSignature } from '../../../dlc/oracle.ts';
import { nextEventTime, oracleEventId } from '../../../model/oracle-event.ts';
import { parsePrice } from '../../../model/units.ts';
import { OracleClient, type VerifiedAttestation } from '../../../node/oracle/client.ts';
import { OracleServer, type OracleServerOptions } from '../../../node/oracle/server.ts';
import { PriceFeedServer } from '../../../node/pricefeed/server.ts';
import { HealthRegistry } from '../../../node/runtime/health.ts';
import { tempDir, until } from './helpers.ts';

const nowS = (): number => Math.floor(Date.now() / 1000);

// biome-ignore lint/suspicious/noExplicitAny: ad-hoc JSON documents, checked field by field
async function getJson(url: string): Promise<{ status: number; body: any }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  return { status: res.status, body: await res.json() };
}

describe('dlcfd oracle (server)', function () {
  this.timeout(20_000);

  let feed: PriceFeedServer;
  let datadir: string;
  const oracles: OracleServer[] = [];
  const clients: OracleClient[] = [];

  async function startOracle(options: Partial<OracleServerOptions> = {}): Promise<OracleServer> {
    const o = await OracleServer.start({
      datadir,
      pricefeedUrl: feed.url,
      eventIntervalS: 1,
      lookaheadS: 60,
      attestRetryMs: 50,
      ...options,
    });
    oracles.push(o);
    return o;
  }

  function clientFor(
    o: OracleServer,
    options: Partial<{ publicKey: string; announcementPublicKey: string }> = {},
  ) {
    const c = new OracleClient({
      url: o.url,
      publicKey: o.publicKey,
      pollInitialMs: 50,
      pollMaxMs: 250,
      ...options,
    });
    clients.push(c);
    return c;
  }

  beforeEach(async () => {
    datadir = await tempDir();
    feed = await PriceFeedServer.start({ port: 0, startPrice: parsePrice('40000'), tickMs: 0 });
  });

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.stop()));
    await Promise.all(oracles.splice(0).map((o) => o.stop()));
    await feed.stop();
  });

  it('serves olivia-shaped documents: keys, announcements, 400 and 404', async () => {
    const o = await startOracle({ eventIntervalS: 60, lookaheadS: 3_600 });
    assert.match(o.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const root = await getJson(`${o.url}/`);
    assert.equal(root.status, 200);
    assert.deepEqual(root.body, {
      public_keys: {
        'olivia-v1': o.publicKey,
        announcement: o.announcementPublicKey,
        group: 'secp256k1',
      },
    });
    assert.notEqual(o.publicKey, o.announcementPublicKey);

    const t = nextEventTime(nowS() + 1, 60);
    const id = oracleEventId(t);
    const ev = await getJson(`${o.url}${id}`);
    assert.equal(ev.status, 200);
    assert.deepEqual(Object.keys(ev.body), ['announcement', 'attestation']);
    assert.equal(ev.body.attestation, null);
    assert.deepEqual(Object.keys(ev.body.announcement), ['oracle_event', 'signature']);
    const data = JSON.parse(ev.body.announcement.oracle_event.data);
    assert.deepEqual(Object.keys(data), ['id', 'expected-outcome-time', 'descriptor', 'schemes']);
    assert.deepEqual(data.descriptor, {
      type: 'digit-decomposition',
      is_signed: false,
      n_digits: 20,
      unit: null,
    });
    const parsed = parseOliviaEventResponse(ev.body);
    assert.equal(parsed.announcement.eventId, id);
    assert.equal(parsed.announcement.nonces.length, 20);
    assert.ok(
      verifyAnnouncementSignature(parsed.announcement, Buffer.from(o.announcementPublicKey, 'hex')),
    );

    const status = async (path: string) => (await getJson(`${o.url}${path}`)).status;
    assert.equal(await status(oracleEventId(t + 30)), 404); // off the 60 s cadence
    assert.equal(await status(oracleEventId(t + 7_200)), 404); // beyond the 1 h lookahead
    assert.equal(await status(oracleEventId(t - 86_400)), 404); // before the oracle existed
    assert.equal(await status('/x/BitMEX/BXBT/2021-13-01T00:00:00.price?n=20'), 400);
    assert.equal(await status(id.replace('n=20', 'n=19')), 400);
    assert.equal(await status('/nope'), 404);
    const post = await fetch(`${o.url}/`, { method: 'POST' });
    assert.equal(post.status, 405);
    await post.body?.cancel();
  });

  it('attests BETH from ETHUSD and BXBT from XBTUSD at the same time; the client verifies both', async () => {
    const o = await startOracle({ eventIntervalS: 2, lookaheadS: 30 });
    feed.setPrice(parsePrice('45000.5')); // XBTUSD mid 45000.5 → 45001
    feed.setPrice(parsePrice('3100.5'), { symbol: 'ETHUSD' }); // ETHUSD mid 3100.5 → 3101
    const t = nextEventTime(Math.ceil(Date.now() / 1000 + 1.5), 2);
    const btc = oracleEventId(t, 'BXBT');
    const eth = oracleEventId(t, 'BETH');
    assert.equal(eth, btc.replace('/BXBT/', '/BETH/'));
    const c = new OracleClient({
      url: o.url,
      publicKey: o.publicKey,
      pollInitialMs: 50,
      pollMaxMs: 250,
    });
    clients.push(c);
    const seen = new Map<string, VerifiedAttestation>();
    c.onAttestation((a) => seen.set(a.eventId, a));
    c.watch([btc, eth]);
    c.start();
    await until('both announcements', () => c.announcement(btc) && c.announcement(eth), 2_000);
    // Two events, two nonce sets: a nonce reused across them would leak the oracle's key.
    const nonces = (id: string) =>
      c.announcement(id)!.nonces.map((n) => Buffer.from(n).toString('hex'));
    assert.equal(new Set([...nonces(btc), ...nonces(eth)]).size, 40);
    await until('both attestations', () => seen.size >= 2, 5_000);
    assert.equal(seen.get(btc)?.price, 45001);
    assert.equal(seen.get(eth)?.price, 3101);
    assert.equal(o.outcome(eth)?.outcome, 3101);
  });

  it('announces ahead and attests a forced price on a 2 s cadence; the client verifies it', async () => {
    const o = await startOracle({ eventIntervalS: 2, lookaheadS: 30 });
    feed.setPrice(parsePrice('45000.5')); // bid 45000, ask 45001: mid 45000.5 → 45001
    const t = nextEventTime(Math.ceil(Date.now() / 1000 + 1.5), 2); // ≥ 1.5 s ahead
    const ids = [t, t + 2].map((t) => oracleEventId(t));
    const far = oracleEventId(nextEventTime(nowS() + 20, 2));

    const registry = new HealthRegistry();
    const c = new OracleClient({
      url: o.url,
      publicKey: o.publicKey,
      pollInitialMs: 50,
      pollMaxMs: 250,
      health: registry,
    });
    clients.push(c);
    const seen: VerifiedAttestation[] = [];
    c.onAttestation((a) => seen.push(a));
    c.watch([...ids, far]);
    c.start();

    // Announced ahead: all three before any is due, signatures checked with the learned key.
    await until('announcements', () => [...ids, far].every((id) => c.announcement(id)), 2_000);
    assert.ok(Date.now() < t * 1000);
    assert.equal(c.announcement(far)?.signatureVerified, true);
    assert.equal(c.health().announcementKey, o.announcementPublicKey);

    await until('first attestation', () => seen.length >= 1, 5_000);
    feed.setPrice(parsePrice('39999.5')); // mid 39999.5 → 40000
    await until('second attestation', () => seen.length >= 2, 5_000);
    const [a0, a1] = seen;
    assert.equal(a0!.eventId, ids[0]);
    assert.equal(a0!.price, 45001);
    assert.equal(a0!.scalars.length, 20);
    assert.equal(a1!.eventId, ids[1]);
    // The second event is 2 s later; the price moved in between unless both attested at once.
    assert.ok([45001, 40000].includes(a1!.price));
    assert.equal(o.outcome(ids[0]!)?.outcome, 45001);
    const h = c.health();
    assert.equal(h.status, 'ok');
    assert.equal(h.latestAttested, ids[1]);
    assert.equal(h.latestAnnounced, far);
    assert.equal(h.pending, 1);
    assert.equal(registry.get('oracle')?.status, 'ok');
    assert.equal(o.health().status, 'ok');
    assert.equal(o.health().lastAttested?.eventId !== undefined, true);
  });

  it('rejects our oracle under a wrong pinned key, and never emits', async () => {
    const o = await startOracle();
    const wrong = clientFor(o, {
      publicKey: 'dff1d77f2a671c5f36183726db2341be58feae1da2deced843240f7b502ba659',
      // Pinned, as the daemon requires: GET / (which names the other olivia key) teaches nothing.
      announcementPublicKey: o.announcementPublicKey,
    });
    const seen: unknown[] = [];
    wrong.onAttestation((a) => seen.push(a));
    const id = oracleEventId(nowS() + 1);
    wrong.watch([id]);
    wrong.start();
    await until(
      'attestation rejected',
      () => wrong.health().failing.some((f) => f.name === 'AttestationVerificationError'),
      5_000,
    );
    assert.equal(wrong.health().status, 'degraded');
    assert.equal(wrong.attestation(id), undefined);
    assert.deepEqual(seen, []);
  });

  it('keeps keys and nonces across a restart and never re-attests differently', async () => {
    let o = await startOracle();
    const before = { pk: o.publicKey, ann: o.announcementPublicKey };
    const c = clientFor(o);
    const attested = oracleEventId(nowS() + 1);
    c.watch([attested]);
    c.start();
    const first = await until('attested', () => c.attestation(attested), 5_000);
    assert.equal(first.price, 40000);
    const future = oracleEventId(nowS() + 30);
    const announcedBefore = await getJson(`${o.url}${future}`);
    const attestedBefore = await getJson(`${o.url}${attested}`);
    await c.stop();
    await o.stop();
    oracles.length = 0;

    feed.setPrice(parsePrice('50000'));
    o = await startOracle();
    assert.equal(o.publicKey, before.pk);
    assert.equal(o.announcementPublicKey, before.ann);
    // Same announcement bytes (nonces and signature) for a future event.
    assert.deepEqual((await getJson(`${o.url}${future}`)).body, announcedBefore.body);
    // The attested event keeps its outcome and scalars, though the feed now says 50000.
    const again = await getJson(`${o.url}${attested}`);
    assert.deepEqual(again.body, attestedBefore.body);
    assert.equal(again.body.attestation.outcome, '40000');
    assert.equal(o.outcome(attested)?.outcome, 40000);
    // New events are attested at the new price, and verify under the same pinned key.
    const c2 = clientFor(o, { publicKey: before.pk });
    const next = oracleEventId(nowS() + 1);
    c2.watch([next, attested]);
    c2.start();
    await until('new event attested', () => c2.attestation(next), 5_000);
    assert.equal(c2.attestation(next)?.price, 50000);
    assert.equal((await until('old', () => c2.attestation(attested))).price, 40000);
    assert.deepEqual(
      c2.attestation(attested)?.scalars.map(bytesToHex),
      first.scalars.map(bytesToHex),
    );
  });

  it('never attests a stale quote: waits, reports degraded, attests the next fresh one', async () => {
    const registry = new HealthRegistry();
    const o = await startOracle({ maxQuoteAgeMs: 300, health: registry });
    // Fresh quotes until an event is attested (staleness counts from the quote's own timestamp).
    const ticking = setInterval(() => feed.tick(), 100);
    try {
      await until('some event attested', () => o.health().lastAttested, 5_000);
    } finally {
      clearInterval(ticking);
    }
    // No more quotes: within 300 ms the latest one is stale and the next event has to wait.
    const waiting = await until('waiting', () => o.health().waiting, 5_000);
    assert.equal(o.health().status, 'degraded');
    assert.equal(registry.get('oracle')?.status, 'degraded');
    assert.match(registry.get('oracle')?.detail ?? '', /waiting for a fresh quote/);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(o.outcome(waiting.eventId), undefined);

    feed.setPrice(parsePrice('41234')); // a fresh quote wakes the attester
    await until('attested', () => o.outcome(waiting.eventId), 3_000);
    assert.equal(o.outcome(waiting.eventId)?.outcome, 41234);
    // Health is served over HTTP too.
    const h = await getJson(`${o.url}/health`);
    assert.equal(h.body.lastAttested.outcome >= 0, true);
    assert.equal(typeof h.body.feed.status, 'string');
  });

  it('never attests a frozen quote (fresh on arrival, old by its timestamp); attests once fresh', async () => {
    await feed.stop();
    feed = await PriceFeedServer.start({
      port: 0,
      startPrice: parsePrice('40000'),
      tickMs: 0,
      republishMs: 0,
    });
    // The default bound (15 s); the feed goes on sending, but a price frozen 60 s ago.
    const frozenAt = new Date(Date.now() - 60_000);
    const freeze = () => {
      feed.setPrice(parsePrice('39000'), { at: frozenAt });
      feed.setPrice(parsePrice('3000'), { at: frozenAt, symbol: 'ETHUSD' });
    };
    freeze();
    const sendFrozen = setInterval(freeze, 50);
    let o: OracleServer;
    try {
      o = await startOracle({ eventIntervalS: 1 });
      const waiting = await until('an event waiting', () => o.health().waiting, 5_000);
      await new Promise((r) => setTimeout(r, 1_200)); // the next event is due too
      assert.equal(o.outcome(waiting.eventId), undefined);
      assert.equal(o.health().lastAttested, null);
      assert.equal(o.health().feed.stale, true);
    } finally {
      clearInterval(sendFrozen);
    }
    const waiting = o.health().waiting;
    assert.ok(waiting);
    feed.setPrice(parsePrice('41234')); // fresh: the waiting event is attested at it
    await until('attested', () => o.outcome(waiting.eventId), 3_000);
    assert.equal(o.outcome(waiting.eventId)?.outcome, 41234);
  });

  it('gives an event up when no fresh quote comes within the attest delay', async () => {
    const o = await startOracle({ pricefeedUrl: 'ws://127.0.0.1:9/realtime', maxAttestDelayS: 1 });
    const h = await until('an event given up', () => o.health().missed > 0 && o.health(), 5_000);
    assert.equal(h.lastAttested, null);
    assert.equal(h.feed.status === 'connected', false);
    const first = oracleEventId(nextEventTime(Math.ceil(Date.now() / 1000) - 3, 1));
    assert.equal(o.outcome(first), undefined);
  });
  describe('fault injection for research runs', () => {
    /** The next event at least a second ahead, and its id. */
    const nextEvent = () => {
      const t = nextEventTime(nowS() + 1, 1);
      return { t, id: oracleEventId(t) };
    };
    const recordedSecs = (o: OracleServer, id: string) =>
      Date.parse(`${o.outcome(id)!.time}Z`) / 1000;

    it('a silent oracle attests an event due meanwhile only once it speaks again', async () => {
      const o = await startOracle();
      const ticking = setInterval(() => feed.tick(), 100);
      try {
        o.setSilent(true);
        const { t, id } = nextEvent();
        await until('the event due for a while', () => Date.now() > (t + 1) * 1000, 5_000);
        const spoke = nowS();
        o.setSilent(false);
        await until('attested', () => o.outcome(id), 3_000);
        assert.ok(recordedSecs(o, id) >= spoke, `attested at ${o.outcome(id)!.time}, event ${t}`);
      } finally {
        clearInterval(ticking);
      }
    });

    it('a late oracle attests each event its delay after the event', async () => {
      const o = await startOracle();
      const ticking = setInterval(() => feed.tick(), 100);
      try {
        o.setAttestDelay(2_000);
        const { t, id } = nextEvent();
        await until('attested', () => o.outcome(id), 5_000);
        assert.ok(recordedSecs(o, id) >= t + 2, `attested at ${o.outcome(id)!.time}, event ${t}`);
        o.setAttestDelay(0);
        const next = nextEvent();
        await until('attested on time again', () => o.outcome(next.id), 3_000);
        assert.ok(recordedSecs(o, next.id) <= next.t + 1);
      } finally {
        clearInterval(ticking);
      }
    });
  });
});
