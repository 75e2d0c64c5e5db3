import assert from 'node:assert/strict';
import { formatPrice, parsePrice } from '../../../model/units.ts';
import { PriceFeedServer } from '../../../node/pricefeed/server.ts';
import { probe, until } from './helpers.ts';

type Frame = Record<string, unknown> & { data?: Record<string, unknown>[] };

describe('price feed: local BitMEX-protocol server', () => {
  let server: PriceFeedServer | undefined;
  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });

  it('serves 127.0.0.1 on a free port and returns its URLs', async () => {
    server = await PriceFeedServer.start({ tickMs: 0 });
    assert.match(server.url, /^ws:\/\/127\.0\.0\.1:\d+\/realtime$/);
    assert.equal(server.controlUrl, `http://127.0.0.1:${server.port}/control`);
  });

  it('welcome, subscribe ack, partial with the current quote, then inserts on each tick', async () => {
    server = await PriceFeedServer.start({ tickMs: 0, startPrice: parsePrice('42640.5') });
    const p = await probe(server.url);
    await until('welcome', () => p.frames.length >= 1);
    p.ws.send(JSON.stringify({ op: 'subscribe', args: ['quoteBin1m:XBTUSD'] }));
    await until('ack and partial', () => p.frames.length >= 3);
    server.tick();
    server.tick();
    await until('two inserts', () => p.frames.length >= 5);
    const [welcome, ack, partial, insert] = p.json() as Frame[];
    assert.match(String(welcome?.info), /Welcome to the BitMEX Realtime API/);
    assert.deepEqual(ack, {
      success: true,
      subscribe: 'quoteBin1m:XBTUSD',
      request: { op: 'subscribe', args: ['quoteBin1m:XBTUSD'] },
    });
    assert.equal(partial?.table, 'quoteBin1m');
    assert.equal(partial?.action, 'partial');
    const row = partial?.data?.[0];
    assert.deepEqual(Object.keys(row ?? {}), [
      'timestamp',
      'symbol',
      'bidSize',
      'bidPrice',
      'askPrice',
      'askSize',
    ]);
    assert.equal(row?.symbol, 'XBTUSD');
    assert.equal(row?.bidPrice, 42640);
    assert.equal(row?.askPrice, 42641);
    assert.match(String(row?.timestamp), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.equal(insert?.action, 'insert');
    // Every price on the wire has at most one decimal.
    for (const f of p.frames.slice(2)) assert.doesNotMatch(f, /Price":-?\d+\.\d{2,}/);
    p.close();
  });

  it('serves quoteBin1m:ETHUSD and instrument:.BETH from a path of its own, beside XBTUSD', async () => {
    server = await PriceFeedServer.start({
      tickMs: 0,
      startPrice: parsePrice('40000'),
      ethStartPrice: parsePrice('3000'),
    });
    const p = await probe(`${server.url}?subscribe=quoteBin1m:ETHUSD,instrument:.BETH`);
    await until('2 acks and 2 partials', () => p.frames.length >= 5);
    const [, ack, partial, , index] = p.json() as Frame[];
    assert.equal(ack?.subscribe, 'quoteBin1m:ETHUSD');
    assert.deepEqual(partial?.filter, { symbol: 'ETHUSD' });
    assert.deepEqual(
      partial?.data?.map((r) => [r.symbol, r.bidPrice, r.askPrice]),
      [['ETHUSD', 2999.5, 3000.5]],
    );
    assert.deepEqual(
      index?.data?.map((r) => [r.symbol, r.markPrice]),
      [['.BETH', 3000]],
    );
    // An XBTUSD move reaches nobody here; an ETHUSD one does, as an insert and an index update.
    server.setPrice(parsePrice('41000'));
    const eth = server.setPrice(parsePrice('3100.5'), { symbol: 'ETHUSD' });
    await until('insert and update', () => p.frames.length >= 7);
    const [insert, update] = (p.json() as Frame[]).slice(5);
    assert.deepEqual(
      insert?.data?.map((r) => [r.symbol, r.bidPrice, r.askPrice]),
      [['ETHUSD', 3100, 3101]],
    );
    assert.equal(update?.data?.[0]?.symbol, '.BETH');
    assert.equal(formatPrice(server.quoteOf('ETHUSD').price), formatPrice(eth.price));
    assert.equal(formatPrice(server.quote.price), '41000');
    // A bare table is every contract: one partial with a row each.
    const all = await probe(`${server.url}?subscribe=quoteBin1m`);
    await until('ack and partial', () => all.frames.length >= 3);
    const rows = (all.json() as Frame[])[2]?.data?.map((r) => r.symbol);
    assert.deepEqual(rows, ['XBTUSD', 'ETHUSD']);
    // The control endpoint moves ETHUSD with ?symbol=ETHUSD, and refuses an unknown symbol.
    const res = await fetch(`${server.controlUrl}/price?symbol=ETHUSD`, {
      method: 'POST',
      body: JSON.stringify({ price: '2500' }),
    });
    assert.equal(((await res.json()) as { price: string }).price, '2500');
    assert.equal(formatPrice(server.quoteOf('ETHUSD').price), '2500');
    assert.equal(formatPrice(server.quote.price), '41000');
    const bad = await fetch(`${server.controlUrl}/price?symbol=DOGEUSD`);
    assert.equal(bad.status, 400);
    p.close();
    all.close();
  });

  it('accepts ?subscribe= and serves instrument:.BXBT with update frames', async () => {
    server = await PriceFeedServer.start({ tickMs: 0, startPrice: parsePrice('40000') });
    const p = await probe(`${server.url}?subscribe=instrument:.BXBT,quoteBin1m:XBTUSD`);
    await until('2 acks and 2 partials', () => p.frames.length >= 5);
    server.setPrice(parsePrice('41000.5'));
    await until('insert and update', () => p.frames.length >= 7);
    const frames = p.json() as Frame[];
    assert.equal(frames[1]?.subscribe, 'instrument:.BXBT');
    assert.equal(frames[2]?.table, 'instrument');
    assert.equal(frames[2]?.data?.[0]?.markPrice, 40000);
    const update = frames.find((f) => f.table === 'instrument' && f.action === 'update');
    assert.equal(update?.data?.[0]?.symbol, '.BXBT');
    assert.equal(update?.data?.[0]?.markPrice, 41000.5);
    assert.equal(update?.data?.[0]?.lastPrice, 41000.5);
    p.close();
  });

  it('answers ping with pong, and unknown ops, bad JSON and unknown tables with 400 frames', async () => {
    server = await PriceFeedServer.start({ tickMs: 0 });
    const p = await probe(server.url);
    p.ws.send('ping');
    p.ws.send(JSON.stringify({ op: 'authKey', args: [] }));
    p.ws.send('{nope');
    p.ws.send(JSON.stringify({ op: 'subscribe', args: ['orderBookL2:XBTUSD'] }));
    await until('four answers', () => p.frames.length >= 5);
    const [, pong, unknownOp, badJson, unknownTable] = p.json() as Frame[];
    assert.equal(pong, 'pong');
    assert.equal(unknownOp?.status, 400);
    assert.match(String(unknownOp?.error), /Unknown op/);
    assert.deepEqual(unknownOp?.request, { op: 'authKey', args: [] });
    assert.equal(badJson?.status, 400);
    assert.equal(unknownTable?.status, 400);
    assert.match(String(unknownTable?.error), /orderBookL2:XBTUSD/);
    p.close();
  });

  it('ticks on its own every tickMs', async () => {
    server = await PriceFeedServer.start({ tickMs: 10, seed: 5 });
    const p = await probe(`${server.url}?subscribe=quoteBin1m:XBTUSD`);
    await until('three inserts', () => p.frames.filter((f) => f.includes('"insert"')).length >= 3);
    p.close();
  });

  it('two servers with the same seed emit the same prices', async () => {
    const a = await PriceFeedServer.start({ tickMs: 0, seed: 77 });
    const b = await PriceFeedServer.start({ tickMs: 0, seed: 77 });
    try {
      const pa = Array.from({ length: 20 }, () => formatPrice(a.tick().price));
      const pb = Array.from({ length: 20 }, () => formatPrice(b.tick().price));
      assert.deepEqual(pa, pb);
    } finally {
      await a.stop();
      await b.stop();
    }
  });

  it('control endpoint: GET and POST /control/price, POST /control/tick, clear errors', async () => {
    server = await PriceFeedServer.start({ tickMs: 0, startPrice: parsePrice('40000') });
    const get = await fetch(`${server.controlUrl}/price`);
    assert.equal(get.status, 200);
    assert.deepEqual(
      { ...((await get.json()) as object), timestamp: 'x' },
      { price: '40000', bid: '39999.5', ask: '40000.5', timestamp: 'x' },
    );
    const post = await fetch(`${server.controlUrl}/price`, {
      method: 'POST',
      body: JSON.stringify({ price: '45000.5' }),
    });
    assert.equal(post.status, 200);
    const body = (await post.json()) as Record<string, string>;
    assert.equal(body.bid, '45000');
    assert.equal(body.ask, '45001');
    assert.equal(formatPrice(server.quote.price), '45000.5');

    const tick = await fetch(`${server.controlUrl}/tick`, { method: 'POST' });
    assert.equal(tick.status, 200);

    const bad = async (payload: string): Promise<number> =>
      (await fetch(`${server!.controlUrl}/price`, { method: 'POST', body: payload })).status;
    assert.equal(await bad('{"price":"45000.25"}'), 400); // off the 0.5 tick
    assert.equal(await bad('{"price":45000}'), 400); // numbers are floats: strings only
    assert.equal(await bad('{"price":"-1"}'), 400);
    assert.equal(await bad('{"price":"0.5"}'), 400); // bid would be 0
    assert.equal(await bad('nope'), 400);
    assert.equal(await bad('x'.repeat(5000)), 413);
    assert.equal((await fetch(`${server.controlUrl}/nothing`)).status, 404);
    assert.equal((await fetch(`${server.controlUrl}/price`, { method: 'DELETE' })).status, 405);
  });

  it('a control token must be long enough; loopback clients need none', async () => {
    // Other hosts with the token: test/research/deploy/netns.spec.ts (needs network namespaces).
    await assert.rejects(
      PriceFeedServer.start({ tickMs: 0, controlToken: 'short' }),
      /at least 16 characters/,
    );
    server = await PriceFeedServer.start({ tickMs: 0, controlToken: 'a'.repeat(16) });
    assert.equal((await fetch(`${server.controlUrl}/price`)).status, 200);
  });

  it('refuses websocket upgrades off /realtime', async () => {
    server = await PriceFeedServer.start({ tickMs: 0 });
    await assert.rejects(probe(server.url.replace('/realtime', '/other')), /404/);
  });

  it('refuses a start price off the tick or a bad spread', async () => {
    await assert.rejects(PriceFeedServer.start({ startPrice: parsePrice('40000.3') }), {
      name: 'InvalidPricePathError',
    });
    await assert.rejects(PriceFeedServer.start({ spread: parsePrice('0.5') }), {
      name: 'InvalidPricePathError',
    });
  });

  it('replays a CSV, one price per tick', async () => {
    server = await PriceFeedServer.start({ tickMs: 0, csv: 'price\n42640.5\n42641\n43000\n' });
    assert.equal(formatPrice(server.quote.price), '42640.5');
    assert.deepEqual(
      [server.tick(), server.tick(), server.tick()].map((q) => formatPrice(q.price)),
      ['42641', '43000', '43000'],
    );
  });
});
