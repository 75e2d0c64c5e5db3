import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { formatPrice, parsePrice } from '../../../model/units.ts';
import {
  type FeedHealth,
  PriceFeedClient,
  type PriceFeedClientOptions,
  type Quote,
} from '../../../node/pricefeed/client.ts';
import {
  BITMEX_MAINNET_URL,
  BITMEX_TESTNET_URL,
  DEFAULT_STALE_AFTER_MS,
} from '../../../node/pricefeed/constants.ts';
import { PriceFeedServer } from '../../../node/pricefeed/server.ts';
import {
  activeTimeouts,
  capturingLogger,
  type ScriptedServer,
  scriptedServer,
  until,
} from './helpers.ts';

const vector = JSON.parse(
  readFileSync(new URL('../../fixtures/bitmex_realtime_frames.json', import.meta.url), 'utf8'),
) as {
  quote_insert: unknown;
  expected: { symbol: string; bid: string; ask: string; unix_time: number };
};

/** Short timings so every reconnect path runs in milliseconds. */
const FAST: PriceFeedClientOptions = {
  pingAfterMs: 100,
  pongTimeoutMs: 100,
  connectTimeoutMs: 300,
  backoffInitialMs: 20,
  backoffMaxMs: 100,
};

const WELCOME = JSON.stringify({ info: 'Welcome to the BitMEX Realtime API.', version: 'test' });

/** Answers subscribe like BitMEX, then sends `frames`; answers ping with pong. */
function bitmexLike(frames: readonly string[]): (ws: import('ws').WebSocket) => void {
  return (ws) => {
    ws.send(WELCOME);
    ws.on('message', (data) => {
      const text = data.toString();
      if (text === 'ping') return ws.send('pong');
      const request = JSON.parse(text) as { args: string[] };
      ws.send(JSON.stringify({ success: true, subscribe: request.args[0], request }));
      for (const f of frames) ws.send(f);
    });
  };
}

describe('price feed: node client', () => {
  let client: PriceFeedClient | undefined;
  let server: PriceFeedServer | undefined;
  let scripted: ScriptedServer | undefined;
  afterEach(async () => {
    await client?.stop();
    await server?.stop();
    await scripted?.close();
    client = server = scripted = undefined;
  });

  it('defaults to BitMEX mainnet, testnet for other networks', () => {
    assert.equal(new PriceFeedClient().url, BITMEX_MAINNET_URL);
    assert.equal(new PriceFeedClient({ network: 'mainnet' }).url, 'wss://www.bitmex.com/realtime');
    assert.equal(new PriceFeedClient({ network: 'regtest' }).url, BITMEX_TESTNET_URL);
    assert.equal(
      new PriceFeedClient({ network: 'testnet' }).url,
      'wss://testnet.bitmex.com/realtime',
    );
    assert.equal(new PriceFeedClient({ url: 'ws://x/realtime' }).url, 'ws://x/realtime');
  });

  it('reads the real BitMEX frame exactly: bid 42640.5, ask 42641 at 1632192000', async () => {
    scripted = await scriptedServer(bitmexLike([JSON.stringify(vector.quote_insert)]));
    client = new PriceFeedClient({ ...FAST, url: scripted.url });
    const seen: Quote[] = [];
    client.onQuote((q) => seen.push(q));
    client.start();
    const q = await until('the vector quote', () => client?.latest());
    assert.equal(q.bid, parsePrice(vector.expected.bid));
    assert.equal(q.ask, parsePrice(vector.expected.ask));
    assert.equal(q.bid, 4264050000000n);
    assert.equal(q.timestamp, vector.expected.unix_time);
    assert.equal(q.symbol, vector.expected.symbol);
    // Received just now, but the feed says it is from 2021: stale by its own timestamp.
    assert.equal(q.stale, true);
    assert.ok(q.ageMs > 365 * 86_400_000);
    assert.ok(Math.abs(q.receivedAt - Date.now()) < 5_000);
    assert.equal(seen.length, 1);
    assert.deepEqual(scripted.received, [
      '{"op":"subscribe","args":["quoteBin1m:XBTUSD","quoteBin1m:ETHUSD"]}',
    ]);
    const h = client.health();
    assert.equal(h.status, 'connected');
    assert.equal(h.reconnects, 0);
    assert.equal(h.malformedFrames, 0);
  });

  it('keeps the latest quote per contract: ETHUSD beside XBTUSD, from BitMEX frames', async () => {
    // The real frame's shape with ETHUSD's symbol (BitMEX's quanto perpetual, quoted in USD).
    const eth = structuredClone(vector.quote_insert) as { data: Record<string, unknown>[] };
    Object.assign(eth.data[0]!, { symbol: 'ETHUSD', bidPrice: 3012.35, askPrice: 3012.4 });
    const other = structuredClone(eth);
    other.data[0]!.symbol = 'SOLUSD'; // not subscribed: ignored
    scripted = await scriptedServer(
      bitmexLike([JSON.stringify(vector.quote_insert), JSON.stringify(eth), JSON.stringify(other)]),
    );
    client = new PriceFeedClient({ ...FAST, url: scripted.url });
    const seen: Quote[] = [];
    client.onQuote((q) => seen.push(q));
    client.start();
    await until('both quotes', () => seen.length >= 2);
    const x = client.latest('XBTUSD');
    const e = client.latest('ETHUSD');
    assert.equal(x?.bid, parsePrice('42640.5'));
    assert.equal(client.latest()?.bid, x?.bid);
    assert.equal(e?.symbol, 'ETHUSD');
    assert.equal(e?.bid, parsePrice('3012.35'));
    assert.equal(e?.ask, parsePrice('3012.4'));
    assert.equal(e?.timestamp, vector.expected.unix_time);
    assert.deepEqual(
      seen.map((q) => q.symbol),
      ['XBTUSD', 'ETHUSD'],
    );
    // Only XBTUSD's quotes make the chart's history.
    assert.equal(client.history.size, 1);
  });

  it('a client for XBTUSD only subscribes to it alone', async () => {
    scripted = await scriptedServer(bitmexLike([]));
    client = new PriceFeedClient({ ...FAST, url: scripted.url, symbols: ['XBTUSD'] });
    client.start();
    await until('subscribed', () => scripted?.received.length === 1);
    assert.deepEqual(scripted.received, ['{"op":"subscribe","args":["quoteBin1m:XBTUSD"]}']);
  });

  it('against the local feed: the partial quote, then inserts as the server ticks', async () => {
    server = await PriceFeedServer.start({ tickMs: 0, startPrice: parsePrice('42640.5') });
    client = new PriceFeedClient({ ...FAST, url: server.url });
    const seen: Quote[] = [];
    client.onQuote((q) => q.symbol === 'XBTUSD' && seen.push(q));
    client.start();
    await until('the partial', () => seen.length >= 1);
    assert.equal(formatPrice(seen[0]!.bid), '42640');
    assert.equal(formatPrice(seen[0]!.ask), '42641');
    const ticks = [server.tick(), server.tick(), server.tick()];
    await until('three inserts', () => seen.length >= 4);
    assert.deepEqual(
      seen.slice(1).map((q) => formatPrice(q.bid)),
      ticks.map((t) => formatPrice(t.bid)),
    );
    assert.equal(seen.at(-1)?.timestamp, Math.floor(ticks[2]!.at.getTime() / 1000));
  });

  it('sees a price forced through the control endpoint', async () => {
    server = await PriceFeedServer.start({ tickMs: 0 });
    client = new PriceFeedClient({ ...FAST, url: server.url });
    client.start();
    await until('first quote', () => client?.latest());
    const res = await fetch(`${server.controlUrl}/price`, {
      method: 'POST',
      body: JSON.stringify({ price: '45000.5' }),
    });
    assert.equal(res.status, 200);
    const q = await until('forced quote', () => {
      const l = client?.latest();
      return l && l.bid === parsePrice('45000') ? l : undefined;
    });
    assert.equal(q.ask, parsePrice('45001'));
  });

  it('survives the server being killed and restarted on the same port', async () => {
    server = await PriceFeedServer.start({ tickMs: 0, startPrice: parsePrice('40000') });
    const port = server.port;
    client = new PriceFeedClient({ ...FAST, url: server.url });
    const statuses: FeedHealth['status'][] = [];
    client.onHealth((h) => {
      if (statuses.at(-1) !== h.status) statuses.push(h.status);
    });
    client.start();
    await until('first quote', () => client?.latest());

    await server.stop();
    await until('disconnected', () => client?.health().status === 'disconnected');
    // While it is down, the client keeps trying with backoff and says so.
    await until('a failed retry', () => (client?.health().reconnects ?? 0) >= 2);
    const down = client.health();
    assert.equal(down.lastError?.name, 'FeedDisconnectedError');

    server = await PriceFeedServer.start({ port, tickMs: 0, startPrice: parsePrice('50000') });
    await until('quotes again', () => client?.latest()?.bid === parsePrice('49999.5'));
    const up = client.health();
    assert.equal(up.status, 'connected');
    assert.ok(up.reconnects >= 2);
    assert.equal(up.nextAttemptAt, null);
    assert.deepEqual(statuses.slice(0, 3), ['connecting', 'connected', 'disconnected']);
    server.setPrice(parsePrice('50100'));
    await until('a new insert', () => client?.latest()?.bid === parsePrice('50099.5'));
  });

  it('a silent server (handshake, then nothing, no pong): pings, gives up, reconnects', async () => {
    scripted = await scriptedServer(() => {});
    client = new PriceFeedClient({ ...FAST, url: scripted.url });
    client.start();
    await until('a reconnect after silence', () => (client?.health().reconnects ?? 0) >= 1);
    assert.ok(scripted.received.includes('ping'), 'it pinged before giving up');
    await until('the silence error', () => client?.health().lastError);
    assert.equal(client.health().lastError?.name, 'FeedSilentError');
  });

  it('a live but idle server that answers ping keeps the connection', async () => {
    scripted = await scriptedServer(bitmexLike([]));
    client = new PriceFeedClient({ ...FAST, url: scripted.url });
    client.start();
    await until('three pings', () => scripted!.received.filter((r) => r === 'ping').length >= 3);
    assert.equal(client.health().status, 'connected');
    assert.equal(client.health().reconnects, 0);
  });

  it('a TCP server that never answers the handshake: connect timeout, reconnect', async () => {
    const sockets: Socket[] = [];
    const tcp: Server = createServer((s) => sockets.push(s));
    await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', r));
    const { port } = tcp.address() as import('node:net').AddressInfo;
    try {
      client = new PriceFeedClient({
        ...FAST,
        connectTimeoutMs: 50,
        url: `ws://127.0.0.1:${port}/`,
      });
      client.start();
      await until('a reconnect', () => (client?.health().reconnects ?? 0) >= 1);
      assert.equal(client.health().lastError?.name, 'FeedConnectTimeoutError');
      assert.equal(client.health().status === 'connected', false);
    } finally {
      await client?.stop();
      for (const s of sockets) s.destroy();
      await new Promise((r) => tcp.close(r));
    }
  });

  it('flags the latest quote stale after the configured age, and fresh again on a new one', async () => {
    server = await PriceFeedServer.start({ tickMs: 0 });
    client = new PriceFeedClient({ ...FAST, url: server.url, staleAfterMs: 150 });
    const healths: FeedHealth[] = [];
    client.onHealth((h) => healths.push(h));
    client.start();
    await until('first quote', () => client?.latest());
    server.tick(); // timestamped now (the partial carries the server's start time)
    const fresh = await until('a fresh quote', () =>
      client?.latest()?.stale === false ? client.latest() : undefined,
    );
    assert.equal(fresh.stale, false);
    assert.equal(client.health().stale, false);
    const stale = await until('stale', () =>
      client?.latest()?.stale ? client.latest() : undefined,
    );
    assert.ok(stale.ageMs >= 150);
    assert.equal(client.health().stale, true);
    assert.ok((client.health().lastQuoteAgeMs ?? 0) >= 150);
    assert.ok(
      healths.some((h) => h.stale && h.status === 'connected'),
      'health listeners hear about staleness',
    );
    // The socket stayed up (pings answered): stale is about the data, not the connection.
    assert.equal(client.health().status, 'connected');
    server.tick();
    await until('fresh again', () => client?.latest()?.stale === false);
  });

  it('a feed gone silent (socket and pings alive): stale once the quote is older than 15 s by its own timestamp', async () => {
    server = await PriceFeedServer.start({ tickMs: 0, republishMs: 0 });
    // The client's clock: real time until the test takes it over.
    let now: number | undefined;
    client = new PriceFeedClient({ ...FAST, url: server.url, now: () => now ?? Date.now() });
    client.start();
    await until('first quote', () => client?.latest());
    server.tick();
    const q = await until('the tick', () => {
      const l = client?.latest();
      return l && l.timestampMs === server?.quote.at.getTime() ? l : undefined;
    });
    assert.equal(q.stale, false);
    server.pause(); // dead upstream: no more quotes, the socket still answers ping
    const at = server.quote.at.getTime();
    now = at + DEFAULT_STALE_AFTER_MS - 1;
    assert.equal(client.latest()?.stale, false);
    now = at + DEFAULT_STALE_AFTER_MS;
    assert.equal(client.latest()?.stale, true);
    assert.equal(client.health().stale, true);
    assert.equal(client.health().status, 'connected');
    // Ticks while paused reach nobody; resuming sends a fresh quote at once.
    server.tick();
    now = undefined;
    server.resume();
    await until('fresh again', () => client?.latest()?.stale === false);
  });

  it('a quote frozen or replayed upstream is stale at once, however recently it arrived', async () => {
    server = await PriceFeedServer.start({ tickMs: 0, republishMs: 0 });
    client = new PriceFeedClient({ ...FAST, url: server.url });
    client.start();
    await until('first quote', () => client?.latest());
    server.setPrice(parsePrice('41000'), { at: new Date(Date.now() - 60_000) });
    const q = await until('the old quote', () => {
      const l = client?.latest();
      return l && l.bid === parsePrice('40999.5') ? l : undefined;
    });
    assert.ok(Date.now() - q.receivedAt < 5_000);
    assert.equal(q.stale, true);
    assert.ok(q.ageMs >= 60_000);
  });

  it('the local feed re-sends a price standing still with a fresh timestamp', async () => {
    server = await PriceFeedServer.start({ tickMs: 0, republishMs: 100 });
    client = new PriceFeedClient({ ...FAST, url: server.url, staleAfterMs: 1_000 });
    client.start();
    const first = await until('first quote', () => client?.latest());
    const later = await until('a re-sent quote', () => {
      const l = client?.latest();
      return l && (l.timestampMs ?? 0) > (first.timestampMs ?? 0) + 150 ? l : undefined;
    });
    assert.equal(later.bid, first.bid);
    assert.equal(later.stale, false);
  });

  it('skips malformed frames (logged, counted) and stays connected', async () => {
    const row = (over: Record<string, unknown>): string =>
      JSON.stringify({
        table: 'quoteBin1m',
        action: 'insert',
        data: [
          {
            timestamp: '2021-09-21T02:41:00.000Z',
            symbol: 'XBTUSD',
            bidSize: 1,
            bidPrice: 42000.5,
            askPrice: 42001,
            askSize: 1,
            ...over,
          },
        ],
      });
    const bad = [
      'not json',
      '[1,2,3]',
      '{"hello":"world"}',
      '{"table":"quoteBin1m","action":"insert","data":"nope"}',
      '{"table":"quoteBin1m","action":"explode","data":[]}',
      row({ bidPrice: -42000 }),
      row({ bidPrice: '42000.5' }),
      row({ askPrice: null }),
      row({ bidPrice: 1e-9 }),
      row({ askPrice: 0.123456789 }),
      row({ bidPrice: 43000 }), // crossed
      row({ timestamp: 'yesterday' }),
      row({ symbol: undefined }),
    ];
    const good = row({ bidPrice: 41000, askPrice: 41000.5 });
    scripted = await scriptedServer((ws) => {
      bitmexLike([])(ws);
      ws.on('message', (data) => {
        if (data.toString() === 'ping') return;
        for (const f of bad) ws.send(f);
        ws.send(Buffer.from([1, 2, 3]), { binary: true });
        ws.send(good);
      });
    });
    const { logger, lines } = capturingLogger();
    client = new PriceFeedClient({ ...FAST, url: scripted.url, logger });
    client.start();
    const q = await until('the good quote', () => client?.latest());
    assert.equal(formatPrice(q.bid), '41000');
    assert.equal(formatPrice(q.ask), '41000.5');
    const h = client.health();
    assert.equal(h.status, 'connected');
    assert.equal(h.reconnects, 0);
    assert.equal(h.malformedFrames, bad.length + 1);
    const warnings = lines().filter((l) => l.msg === 'skipped malformed price feed frame');
    assert.equal(warnings.length, bad.length + 1);
    assert.ok(warnings.some((w) => /price must be positive/.test(String(w.err))));
  });

  it('records an error frame from the feed in health', async () => {
    scripted = await scriptedServer((ws) => {
      ws.send(WELCOME);
      ws.on('message', (data) => {
        if (data.toString() === 'ping') return ws.send('pong');
        ws.send(JSON.stringify({ status: 400, error: 'Unknown table', meta: {}, request: {} }));
      });
    });
    client = new PriceFeedClient({ ...FAST, url: scripted.url });
    client.start();
    await until('error in health', () => client?.health().lastError);
    assert.equal(client.health().lastError?.name, 'FeedRequestError');
    assert.equal(client.health().status, 'connected');
  });

  it('a listener that throws does not break the feed', async () => {
    server = await PriceFeedServer.start({ tickMs: 0 });
    client = new PriceFeedClient({ ...FAST, url: server.url });
    client.onQuote(() => {
      throw new Error('boom');
    });
    client.start();
    await until('quote', () => client?.latest());
    server.tick();
    await until('still flowing', () => client?.latest()?.bid === server?.quote.bid);
  });

  it('stop() aborts everything and leaves no timers, from any state', async () => {
    // No republishing: its interval is the server's timer, gone with it below.
    server = await PriceFeedServer.start({ tickMs: 0, republishMs: 0 });
    const before = activeTimeouts();
    // Connected, with a quote (stale timer armed) and a silence timer.
    const a = new PriceFeedClient({ ...FAST, url: server.url });
    a.start();
    await until('quote', () => a.latest());
    await a.stop();
    assert.equal(a.health().status, 'disconnected');
    // Waiting out a backoff against a closed port.
    const port = server.port;
    await server.stop();
    server = undefined;
    const b = new PriceFeedClient({
      ...FAST,
      backoffInitialMs: 10_000,
      url: `ws://127.0.0.1:${port}/realtime`,
    });
    b.start();
    await until('backing off', () => b.health().nextAttemptAt);
    await b.stop();
    // Mid-handshake.
    const c = new PriceFeedClient({ ...FAST, url: `ws://127.0.0.1:${port}/realtime` });
    c.start();
    await c.stop();
    assert.equal(activeTimeouts(), before);
  });
});
