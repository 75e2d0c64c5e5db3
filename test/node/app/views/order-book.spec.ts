// The order book across makers, from a hand-built OfferBook and records: best bid and ask over
// makers, ties to the preferred maker, blocked makers out of the book, records as shown.
import assert from 'node:assert/strict';
import { DEFAULT_TAKER_LIMITS } from '../../../../model/limits.ts';
import { parseFundingRate, price } from '../../../../model/units.ts';
import {
  bestOffer,
  type MakerRecord,
  makerRecordView,
  NO_OUTCOMES,
  orderBookView,
} from '../../../../node/app/views/order-book.ts';
import { OfferBook } from '../../../../protocols/offer/offer-book.ts';
import { gridOffer } from '../../../helpers/offers.ts';

const NOW = 1_800_000_000;
const [A, B, C] = ['maker-a', 'maker-b', 'maker-c'];

/** Each maker quotes a bid (maker long) and an ask (maker short) around 50,000. */
function book(quotes: Record<string, [bid: number, ask: number]>): OfferBook {
  const b = new OfferBook();
  for (const [maker, [bid, ask]] of Object.entries(quotes)) {
    b.apply(maker, [
      gridOffer(NOW - 2, 86_400, undefined, {
        id: `${maker}-bid`,
        makerPosition: 'long',
        price: price(bid),
      }),
      gridOffer(NOW - 1, 86_400, undefined, {
        id: `${maker}-ask`,
        makerPosition: 'short',
        price: price(ask),
      }),
    ]);
  }
  return b;
}

const record = (peerId: string, over: Partial<MakerRecord> = {}): MakerRecord => ({
  peerId,
  firstSeenMs: NOW * 1000 - 100_000,
  connectedSinceMs: NOW * 1000 - 50_000,
  connectedMs: 25_000,
  lastOfferMs: NOW * 1000 - 1_000,
  ...NO_OUTCOMES,
  ...over,
});

const view = (b: OfferBook, choices = { blocked: [] as string[], preferred: [] as string[] }) =>
  orderBookView({
    symbol: 'BTCUSD',
    offers: b.current(NOW, { maxOfferAgeSecs: 60 }),
    makers: [A, B, C],
    records: new Map([[A, record(A, { setupsCompleted: 2, rolloversFailed: 1 })]]),
    choices,
    nowMs: NOW * 1000,
  });

describe('node/app/views/order-book', () => {
  it('best bid and best ask across makers, depth by maker with its offers and record', () => {
    const v = view(book({ [A]: [49_900, 50_100], [B]: [49_950, 50_200], [C]: [49_800, 50_050] }));
    assert.deepEqual(
      [v.bestBid?.maker, v.bestBid?.price, v.bestBid?.offerId],
      [B, '49950', `${B}-bid`],
    );
    assert.deepEqual([v.bestAsk?.maker, v.bestAsk?.price], [C, '50050']);
    assert.equal(v.reason, null);
    // Tightest ask first.
    assert.deepEqual(
      v.makers.map((m) => m.peerId),
      [C, A, B],
    );
    const a = v.makers.find((m) => m.peerId === A)!;
    assert.deepEqual(
      a.offers.map((o) => [o.makerPosition, o.price, o.ageSecs, o.lotSize]),
      [
        ['long', '49900', 2, '100'],
        ['short', '50100', 1, '100'],
      ],
    );
    assert.deepEqual(
      [
        a.record.connected,
        a.record.uptimePercent,
        a.record.setupsCompleted,
        a.record.rolloversFailed,
      ],
      // Connected 25 s before plus the last 50 s, of 100 s since first seen.
      [true, 75, 2, 1],
    );
    // No record yet: never seen, not connected.
    const b = v.makers.find((m) => m.peerId === B)!;
    assert.deepEqual([b.record.connected, b.record.uptimePercent], [false, null]);
  });

  it('a tie on price goes to the preferred maker, which the book marks', () => {
    const quotes = book({ [A]: [49_900, 50_100], [B]: [49_900, 50_100] });
    // Without a preference: the older quote, then the peer id.
    assert.equal(view(quotes).bestAsk?.maker, A);
    const v = view(quotes, { blocked: [], preferred: [B] });
    assert.deepEqual([v.bestAsk?.maker, v.bestAsk?.preferred], [B, true]);
    assert.deepEqual([v.bestBid?.maker, v.bestBid?.preferred], [B, true]);
    assert.deepEqual(
      v.makers.map((m) => [m.peerId, m.preferred]),
      [
        [B, true],
        [A, false],
        [C, false],
      ],
    );
    // A preference does not beat a better price.
    const better = view(book({ [A]: [49_900, 50_099], [B]: [49_900, 50_100] }), {
      blocked: [],
      preferred: [B],
    });
    assert.equal(better.bestAsk?.maker, A);
  });

  it('a blocked maker is out of the book: not best, no offers, listed last as blocked', () => {
    const quotes = book({ [A]: [49_900, 50_100], [B]: [49_950, 50_050] });
    const v = view(quotes, { blocked: [B], preferred: [] });
    assert.deepEqual([v.bestBid?.maker, v.bestAsk?.maker], [A, A]);
    const last = v.makers.at(-1)!;
    assert.deepEqual([last.peerId, last.blocked, last.offers.length], [B, true, 0]);
    assert.equal(
      bestOffer(quotes.current(NOW, { maxOfferAgeSecs: 60 }), 'long', {
        blocked: [A, B],
        preferred: [],
      }),
      undefined,
    );
    const none = view(quotes, { blocked: [A, B], preferred: [] });
    assert.deepEqual([none.bestBid, none.bestAsk], [null, null]);
    assert.equal(none.reason, 'every maker offering BTCUSD is blocked');
  });

  it('an offer outside the taker’s limits is never best, however good its price', () => {
    // Maker A undercuts everyone, with a funding rate of 50 % per interval.
    const b = book({ [B]: [49_950, 50_100] });
    b.apply(A, [
      gridOffer(NOW - 1, 86_400, undefined, {
        id: 'greedy-ask',
        makerPosition: 'short',
        price: price(49_000),
        fundingRate: parseFundingRate('-0.5'),
      }),
    ]);
    const offers = b.current(NOW, { maxOfferAgeSecs: 60 });
    const choices = { blocked: [], preferred: [] };
    assert.equal(bestOffer(offers, 'long', choices)?.offer.id, 'greedy-ask');
    assert.equal(bestOffer(offers, 'long', choices, DEFAULT_TAKER_LIMITS)?.offer.id, `${B}-ask`);
    const v = orderBookView({
      symbol: 'BTCUSD',
      offers,
      makers: [A, B],
      records: new Map(),
      choices,
      nowMs: NOW * 1000,
      limits: DEFAULT_TAKER_LIMITS,
    });
    assert.deepEqual([v.bestAsk?.maker, v.bestAsk?.offerId], [B, `${B}-ask`]);
    // Still listed in A's depth, marked with why.
    const greedy = v.makers.find((m) => m.peerId === A)!.offers[0]!;
    assert.match(greedy.outsideLimits[0] ?? '', /funding rate/);
  });

  it('a product nobody offers: no best price, says so', () => {
    const v = orderBookView({
      symbol: 'ETHUSD',
      offers: book({ [A]: [49_900, 50_100] }).current(NOW, { maxOfferAgeSecs: 60 }),
      makers: [A],
      records: new Map(),
      choices: { blocked: [], preferred: [] },
      nowMs: NOW * 1000,
    });
    assert.deepEqual([v.bestBid, v.bestAsk, v.reason], [null, null, 'no maker offers ETHUSD']);
    assert.deepEqual(v.symbols, ['BTCUSD', 'ETHUSD']);
    assert.deepEqual(v.makers[0]!.offers, []);
  });

  it('uptime: the share of the time since first seen, capped, null before', () => {
    const nowMs = 1_000_000;
    const r = record(A, { firstSeenMs: 0, connectedSinceMs: undefined, connectedMs: 333_333 });
    assert.deepEqual(
      [makerRecordView(r, nowMs).uptimePercent, makerRecordView(r, nowMs).connected],
      [33.3, false],
    );
    assert.equal(makerRecordView(undefined, nowMs).uptimePercent, null);
    assert.equal(makerRecordView(undefined, nowMs).lastOfferSecs, null);
  });
});
