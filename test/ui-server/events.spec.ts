// The live feed: a snapshot on connect, then health, CFD and quote changes as they happen,
// heartbeats, auth, and cleanup when the client or the server goes away.
import assert from 'node:assert/strict';
import { parsePrice } from '../../model/units.ts';
import { HEALTH } from '../../node/daemon/daemon.ts';
import { PriceFeedServer } from '../../node/pricefeed/server.ts';
import { terms } from '../helpers/cfd-fixtures.ts';
import { Cleanups, SseClient, type SseEvent, startNode, until } from './helpers.ts';

const pricefeedOf = (e: SseEvent) =>
  e.data.components.find((c: { name: string }) => c.name === HEALTH.pricefeed);

describe('ui-server: live feed (SSE)', function () {
  this.timeout(60_000);
  const cleanups = new Cleanups();
  afterEach(() => cleanups.run());

  it('sends a snapshot, then quotes, CFD changes and the price feed going down', async () => {
    const feed = await PriceFeedServer.start({
      port: 0,
      startPrice: parsePrice('50000'),
      tickMs: 50,
    });
    let feedStopped = false;
    cleanups.add(async () => {
      if (!feedStopped) await feed.stop();
    });
    const node = await startNode(cleanups, {
      flags: { pricefeed: feed.url },
      ui: { heartbeatMs: 100, quoteThrottleMs: 200 },
    });
    await until('feed ok', () => node.daemon.health.get(HEALTH.pricefeed)?.status === 'ok');

    const live = await SseClient.connect(node.ui.url, {
      authorization: `Bearer ${node.api.bearer}`,
    });
    cleanups.add(() => live.close());
    assert.equal(live.status, 200);
    assert.match(live.contentType ?? '', /^text\/event-stream/);

    // The snapshot, in order (the account after the wallet, a taker's limits after them); the
    // chart's history last.
    await until('snapshot', () => live.events.length >= 8);
    assert.deepEqual(
      live.events.slice(0, 8).map((e) => e.event),
      ['health', 'cfds', 'offers', 'quote', 'wallet', 'account', 'limits', 'quotes'],
    );
    // No contracts: nothing in them.
    assert.equal(live.events[5]!.data.inContracts, '0');
    assert.equal(live.events[5]!.data.positions, 0);
    assert.deepEqual(live.events[6]!.data, {
      maxFundingRate: '0.003',
      maxOpeningFeeBps: 100,
      maxTxFeeRate: 100,
    });
    const history = live.events[7]!.data;
    assert.equal(history.resolutionMs, 5_000);
    assert.equal(history.windowMs, 3_600_000);
    // The feed was ok before we connected: at least the quote that made it so is in the history.
    assert.ok(history.quotes.length >= 1);
    assert.match(history.quotes[0].bid, /^\d+(\.\d+)?$/);
    const [health, cfds, offers, , wallet] = live.events;
    assert.equal(pricefeedOf(health!).status, 'ok');
    assert.deepEqual(cfds!.data, { cfds: [] });
    assert.equal(offers!.data.reason, 'no maker configured (--maker)');
    assert.equal(wallet!.data.available, false);
    assert.match(wallet!.data.reason, /no chain backend configured/);

    // Quotes flow, throttled.
    const quote = await live.next('a quote', (e) => e.event === 'quote' && e.data !== null);
    assert.match(quote.data.bid, /^\d+(\.\d+)?$/);
    const start = live.events.length;
    await new Promise((r) => setTimeout(r, 1_000));
    const quotes = live.events.slice(start).filter((e) => e.event === 'quote').length;
    assert.ok(quotes >= 2 && quotes <= 7, `${quotes} quotes in 1 s at one per 200 ms`);

    // A CFD appears.
    const t = terms({ placedAt: Math.floor(Date.now() / 1000) });
    await node.daemon.cfds.execute(t.id, { type: 'placeOrder', terms: t });
    const cfd = await live.next('cfd event', (e) => e.event === 'cfd' && e.data.id === t.id);
    assert.equal(cfd.data.state, 'pendingSetup');
    assert.equal(cfd.data.profit.basis, 'quote');

    // Heartbeats keep the stream alive.
    await until('heartbeat', () => live.comments.some((c) => c.startsWith('heartbeat')));

    // The feed goes away: the health change arrives.
    await feed.stop();
    feedStopped = true;
    const down = await live.next(
      'pricefeed down',
      (e) => e.event === 'health' && pricefeedOf(e)?.status === 'down',
    );
    assert.notEqual(down.data.overall, 'ok');
  });

  it('refuses anonymous clients and forgets clients that leave', async () => {
    const node = await startNode(cleanups);
    const anonymous = await SseClient.connect(node.ui.url, {});
    assert.equal(anonymous.status, 401);

    const metric = async () =>
      /^dlcfd_live_feed_clients (\d+)$/m.exec((await node.api.get('/metrics')).text)?.[1];
    const a = await SseClient.connect(node.ui.url, { authorization: `Bearer ${node.api.bearer}` });
    const b = await SseClient.connect(node.ui.url, { authorization: `Bearer ${node.api.bearer}` });
    await until('both attached', async () => (await metric()) === '2');
    await a.close();
    await until('one left', async () => (await metric()) === '1');

    // Closing the server ends the remaining stream instead of hanging on it.
    await node.stopUi();
    await b.ended;
  });
});
