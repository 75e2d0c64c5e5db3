// The JSON projections: money as decimal strings, both sides of one contract agreeing, and no
// P/L where there is nothing honest to compute it from.
import assert from 'node:assert/strict';
import { Transaction } from 'bitcoinjs-lib';
import { type CfdCommand, decide, EMPTY_CFD, fold } from '../../../model/cfd.ts';
import { DEFAULT_TAKER_LIMITS } from '../../../model/limits.ts';
import { parseFundingRate, parsePrice, price } from '../../../model/units.ts';
import { cfdView } from '../../../node/app/views/cfd.ts';
import { offerView } from '../../../node/app/views/offer.ts';
import type { LatestQuote } from '../../../node/pricefeed/client.ts';
import { dlc, T0, terms, tx } from '../../helpers/cfd-fixtures.ts';

function run(...commands: CfdCommand[]) {
  let cfd = EMPTY_CFD;
  for (const c of commands) cfd = fold(decide(cfd, c, T0), cfd);
  return cfd;
}

const quote = (bid: string, ask: string, stale = false): LatestQuote => ({
  symbol: 'XBTUSD' as LatestQuote['symbol'],
  bid: parsePrice(bid),
  ask: parsePrice(ask),
  timestamp: T0,
  receivedAt: T0 * 1000,
  ageMs: 0,
  stale,
});

const open = (t = terms()): CfdCommand[] => [
  { type: 'placeOrder', terms: t },
  { type: 'startContractSetup' },
  { type: 'completeContractSetup', dlc: dlc() },
  { type: 'confirmLock' },
];

/** A close transaction paying `values` (sats) to throwaway P2WPKH outputs, as [maker, taker]. */
function closeTx(...values: bigint[]) {
  const t = new Transaction();
  t.version = 2;
  t.addInput(Buffer.alloc(32, 7), 0);
  for (const v of values)
    t.addOutput(Buffer.concat([Buffer.from([0, 20]), Buffer.alloc(20, 1)]), v);
  return { txid: t.getId(), hex: t.toHex() };
}

describe('ui-server: views', () => {
  it('a collaborative close shows what its transaction paid, after the close fee', () => {
    const closed = (role: 'maker' | 'taker', tx: { txid: string; hex: string }, at: number) => {
      const t = terms({ id: 'c9', role, position: role === 'taker' ? 'long' : 'short' });
      return cfdView(
        run(
          ...open(t),
          {
            type: 'proposeSettlement',
            proposal: { price: price(at), makerPayout: 1n, takerPayout: 1n, proposedBy: 'taker' },
          },
          { type: 'acceptSettlement' },
          { type: 'completeSettlement', closeTx: tx, price: price(at) },
          { type: 'confirmSettlement' },
        ),
        undefined,
      )!;
    };
    // 1000 contracts at 50 000, taker long 2×: margins 1 000 000 (taker) and 2 000 000 (maker).
    const both = closeTx(1_900_000n - 84n, 1_100_000n - 84n);
    const taker = closed('taker', both, 52_000);
    assert.equal(taker.state, 'closed');
    assert.equal(taker.profit!.payout, '1099916');
    assert.equal(taker.profit!.sats, '99916');
    assert.equal(taker.profit!.percent, '9.99');
    assert.equal(closed('maker', both, 52_000).profit!.payout, '1899916');
    // At 100 000 the long taker gets (almost) everything; the maker's dust output was left out.
    const one = closeTx(2_999_831n);
    assert.equal(closed('taker', one, 100_000).profit!.payout, '2999831');
    assert.equal(closed('maker', one, 100_000).profit!.payout, '0');
    assert.equal(closed('maker', one, 100_000).profit!.sats, '-2000000');
  });

  it('a CET shows what it paid once it is the one that confirmed; another CET keeps the curve number', () => {
    const t = terms({ id: 'c8', role: 'taker', position: 'long' });
    const cet = closeTx(1_900_000n - 150n, 1_100_000n - 150n);
    const attested: CfdCommand[] = [
      ...open(t),
      { type: 'commit', commitTx: tx('commit') },
      { type: 'confirmCommit' },
      { type: 'expireCetTimelock' },
      {
        type: 'attest',
        eventId: dlc().settlementEventId,
        price: price(52_000),
        cet,
        commitTx: tx('commit'),
      },
    ];
    // Settling: the CET is out, and the figure is already its output to us (issue #15: it used to
    // change when the CET confirmed).
    const settling = cfdView(run(...attested), undefined)!;
    assert.equal(settling.state, 'pendingCet');
    assert.equal(settling.profit!.payout, '1099850');
    assert.equal(settling.profit!.source, 'transaction');
    assert.equal(settling.profit!.txid, cet.txid);
    const settledBy = (confirmed: string) =>
      cfdView(run(...attested, { type: 'confirmCet', txid: confirmed }), undefined)!;
    const ours = settledBy(cet.txid);
    assert.equal(ours.state, 'closed');
    assert.equal(ours.profit!.payout, '1099850');
    assert.equal(ours.profit!.sats, settling.profit!.sats);
    // The counterparty's CET (e.g. for a liquidation event) confirmed first: no transaction of ours
    // to read, so the curve row at the attested price less our half of the CET fee stands.
    const theirs = settledBy(tx('their-cet').txid);
    assert.equal(theirs.profit!.source, 'expected');
    assert.notEqual(theirs.profit!.payout, ours.profit!.payout);
  });

  it('taker and maker of one contract see opposite P/L at the same closing price', () => {
    const taker = terms({ id: 'c1', role: 'taker', position: 'long', takerLeverage: 2 });
    const maker = terms({ id: 'c1', role: 'maker', position: 'short', takerLeverage: 2 });
    const q = quote('55000', '55010');
    const t = cfdView(run(...open(taker)), q)!;
    const m = cfdView(run(...open(maker)), q)!;
    // The taker is long: it would close at the bid; the maker sees the same price.
    assert.equal(t.profit!.price, '55000');
    assert.equal(m.profit!.price, '55000');
    // Priced as a close now: opposite, less each side's half of the close fee (169 sat at 1 sat/vB).
    assert.equal(BigInt(t.profit!.sats) + BigInt(m.profit!.sats), -168n);
    assert.equal(BigInt(t.profit!.payout) + BigInt(m.profit!.payout), 3_000_000n - 168n);
    assert.ok(BigInt(t.profit!.sats) > 0n, 'the price rose: the long gains');
    assert.equal(t.margin, m.marginCounterparty);
    assert.equal(m.leverage, 1);
    assert.equal(m.liquidationPrice, null, 'an unleveraged short is never liquidated');
    assert.equal(t.liquidationPrice, '33333.33333333');
    assert.equal(BigInt(t.fees.owed), -BigInt(m.fees.owed));
    assert.deepEqual(t.actions, ['settle', 'commit']);
    assert.deepEqual(m.actions, ['commit']);
    assert.match(t.profit!.percent, /^\d+(\.\d{1,2})?$/);
  });

  it('an open position shows until when it is funded and when it rolls over next', () => {
    const t = terms({ settlementIntervalSecs: 86_400 });
    const cfd = run(...open(t)); // settlement event one day after T0, on the hourly grid
    const at = (nowSecs: number, rolloverIntervalSecs = 3_600, eventSpacingSecs = 3_600) =>
      cfdView(cfd, undefined, { nowSecs, rolloverIntervalSecs, eventSpacingSecs })!.funding!;
    assert.deepEqual(at(T0), {
      untilSecs: T0 + 86_400,
      rolloverUnderWay: false,
      // Due once a rollover moves the event a whole interval: from the first second after T0 the
      // maker's new event (the first on the grid a day ahead) is the next hour's.
      nextRolloverSecs: T0 + 1,
      rolloverIntervalSecs: 3_600,
      rolloversStalled: false,
      autoRolloverPaused: null,
    });
    // Auto-rollover paused by the taker's scheduler: the position says why and since when.
    const paused = cfdView(cfd, undefined, {
      nowSecs: T0,
      rolloverPause: (id) =>
        id === t.id ? { reason: 'the funding rate 0.5 … beyond', sinceSecs: T0 - 60 } : undefined,
    })!.funding!;
    assert.deepEqual(paused.autoRolloverPaused, {
      reason: 'the funding rate 0.5 … beyond',
      sinceSecs: T0 - 60,
    });
    // Due, and not yet a whole interval late: the taker's scheduler is on it.
    assert.equal(at(T0 + 3_601).rolloversStalled, false);
    // More than an interval late: rollovers are not happening.
    assert.equal(at(T0 + 3_602).rolloversStalled, true);
    // A testnet's compressed cadence (×60: events every minute) and a two-event cadence: the
    // scheduler's rule, not the event minus `settlement − rollover`.
    assert.equal(at(T0, 60, 60).nextRolloverSecs, T0 + 1);
    assert.equal(at(T0, 120, 60).nextRolloverSecs, T0 + 61);
    // A cadence no shorter than the interval: no rollover comes before the event; it settles then.
    const never = cfdView(run(...open(terms({ settlementIntervalSecs: 600 }))), undefined, {
      nowSecs: T0 + 86_400,
      rolloverIntervalSecs: 600,
    })!.funding!;
    assert.equal(never.nextRolloverSecs, null);
    assert.equal(never.rolloversStalled, false);
    // A rollover under way is not stalled, whatever the time.
    const rolling = run(...open(t), { type: 'startRollover', proposedBy: 'taker' });
    const v = cfdView(rolling, undefined, { nowSecs: T0 + 10 * 3_600 })!;
    assert.equal(v.state, 'rollover');
    assert.equal(v.funding!.rolloverUnderWay, true);
    assert.equal(v.funding!.rolloversStalled, false);
    // Not open: nothing is funded or rolled over.
    assert.equal(cfdView(run({ type: 'placeOrder', terms: t }), undefined)!.funding, null);
    const committed = run(...open(t), { type: 'commit', commitTx: tx('commit-0') });
    assert.equal(cfdView(committed, undefined)!.funding, null);
  });

  it("shows the process manager's problem with the CFD: why, since when, how often retried", () => {
    const t = terms();
    const cfd = run(...open(t));
    assert.equal(cfdView(cfd, undefined)!.problem, null);
    const problem = {
      during: 'chain report' as const,
      reason: 'not a revoked commit',
      since: 1_700_000_000_500,
      retries: 3,
    };
    const v = cfdView(cfd, undefined, { problemOf: (id) => (id === t.id ? problem : undefined) })!;
    assert.deepEqual(v.problem, {
      during: 'chain report',
      reason: 'not a revoked commit',
      sinceSecs: 1_700_000_000,
      retries: 3,
    });
  });

  it('a short taker closes at the ask; a stale quote is flagged', () => {
    const t = terms({ position: 'short' });
    const v = cfdView(run(...open(t)), quote('49000', '49100', true))!;
    assert.equal(v.profit!.price, '49100');
    assert.equal(v.profit!.stale, true);
  });

  it('no P/L without a quote, after a failed setup, or after a refund; settled at the close price', () => {
    const t = terms();
    assert.equal(cfdView(run(...open(t)), undefined)!.profit, null);
    const failed = run({ type: 'placeOrder', terms: t }, { type: 'rejectOrder', reason: 'busy' });
    const fv = cfdView(failed, quote('1', '1'))!;
    assert.equal(fv.state, 'rejected');
    assert.equal(fv.profit, null);
    assert.equal(fv.failureReason, 'busy');

    const closing = run(
      ...open(t),
      {
        type: 'proposeSettlement',
        proposal: {
          price: price(52_000),
          makerPayout: 1_900_000n,
          takerPayout: 1_100_000n,
          proposedBy: 'taker',
        },
      },
      { type: 'acceptSettlement' },
      { type: 'completeSettlement', closeTx: tx('close'), price: price(52_000) },
    );
    const cv = cfdView(closing, quote('60000', '60000'))!;
    assert.equal(cv.state, 'pendingClose');
    assert.equal(cv.profit!.basis, 'settlement');
    assert.equal(cv.profit!.price, '52000');
    assert.equal(cv.closingPrice, '52000');
    assert.deepEqual(
      cv.transactions.map((x) => x.kind),
      ['lock', 'close'],
    );
  });

  it('offers carry margin, liquidation price and funding per lot for each leverage', () => {
    const v = offerView('maker-peer', {
      id: 'o1',
      symbol: 'BTCUSD',
      makerPosition: 'short',
      price: price(50_000),
      minQuantity: 100n,
      maxQuantity: 10_000n,
      lotSize: 100n,
      leverageChoices: [1, 2],
      fundingRate: 240_000n as never, // 0.000024 per interval
      openingFee: 2n,
      txFeeRate: 1n,
      settlementIntervalSecs: 86_400,
      oracleEventId: terms().oracleEventId,
      createdAt: T0,
    });
    assert.equal(v.takerPosition, 'long');
    assert.equal(v.price, '50000');
    // 100 contracts at 50 000 USD: 0.002 BTC at 1×, 0.001 BTC at 2×.
    assert.deepEqual(
      v.leverages.map((l) => [l.leverage, l.marginPerLot, l.liquidationPrice]),
      [
        [1, '200000', '25000'],
        [2, '100000', '33333.33333333'],
      ],
    );
    // Positive rate: the long (the taker here) pays, rounded up.
    assert.ok(v.leverages.every((l) => BigInt(l.fundingPerLot) > 0n));
    assert.deepEqual(v.outsideLimits, [], 'a maker passes no limits');
  });

  it('a taker’s offers say what of them is outside its limits', () => {
    const offer = {
      id: 'o1',
      symbol: 'BTCUSD' as const,
      makerPosition: 'short' as const,
      price: price(50_000),
      minQuantity: 100n,
      maxQuantity: 1_000n,
      lotSize: 100n,
      leverageChoices: [2, 5] as const,
      fundingRate: parseFundingRate('0.0001'),
      openingFee: 2n,
      txFeeRate: 1n,
      settlementIntervalSecs: 86_400,
      oracleEventId: terms().oracleEventId,
      createdAt: T0,
    };
    const within = offerView(
      'maker-peer',
      { ...offer, leverageChoices: [2, 5] },
      DEFAULT_TAKER_LIMITS,
    );
    assert.deepEqual(within.outsideLimits, []);
    const outside = offerView(
      'maker-peer',
      {
        ...offer,
        leverageChoices: [2, 5],
        fundingRate: parseFundingRate('-0.004'),
        txFeeRate: 101n,
        // The largest margin: 1,000 contracts at 2× = 1,000,000 sats; 1 % is 10,000.
        openingFee: 10_001n,
      },
      DEFAULT_TAKER_LIMITS,
    );
    assert.deepEqual(outside.outsideLimits, [
      "the funding rate -0.004 per settlement interval is beyond the taker's limit of ±0.003",
      "the transaction fee rate 101 sat/vB is above the taker's limit of 100 sat/vB",
      "the opening fee of 10001 sats is 1.01 % of the taker's margin of 1000000 sats, above the taker's limit of 1.00 %",
    ]);
    // At exactly 1 % of the largest margin some order is within the limits.
    const edge = offerView(
      'maker-peer',
      { ...offer, leverageChoices: [2, 5], openingFee: 10_000n },
      DEFAULT_TAKER_LIMITS,
    );
    assert.deepEqual(edge.outsideLimits, []);
  });
});
