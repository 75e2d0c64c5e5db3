// The ETHUSD quanto payout curve: ItchySats 0.6.0's quanto.rs snapshots and hand-computed vectors
// (test/fixtures/quanto-*.json, origins in test/fixtures/README.md), then invariants over seeded
// random parameters in ItchySats' proptest ranges, and the inverse curve left as it was.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  CURVE_MAX_PRICE,
  curveLiquidationPrices,
  liquidationEventPayouts,
  type PayoutCurveParams,
  type PayoutRow,
  payoutCurve,
  rowAtPrice,
} from '../../dlc/payout-curve.ts';
import { liquidationPrice, margin, payoutAt } from '../../model/fees.ts';
import { asPrice, type Position, type Price, parsePrice, price } from '../../model/units.ts';
import { assertWellFormed } from '../helpers/payout-curve.ts';
import { uniform } from '../helpers/prng.ts';

interface RowJson {
  start: number;
  end: number;
  long: string;
  short: string;
}
interface CurveJson {
  initialPrice: string;
  quantity: string;
  longLeverage: number;
  shortLeverage: number;
  payouts: number;
  feeBalance: string;
  rows: RowJson[];
}

function fixture<T>(name: string): T {
  return JSON.parse(readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8')) as T;
}

const itchysats = fixture<{
  curveSnapshot: CurveJson;
  initialMargin: {
    initialPrice: string;
    quantity: string;
    longLeverage: number;
    shortLeverage: number;
    marginLong: string;
    marginShort: string;
  };
  liquidationIntervals: Omit<CurveJson, 'rows' | 'feeBalance'> & {
    long: { start: number; end: number };
    short: { start: number; end: number };
  };
}>('quanto-itchysats-snapshots.json');

const hand = fixture<{
  curves: (CurveJson & {
    name: string;
    total: string;
    longLiquidationEnd: number;
    shortLiquidationStart: number;
  })[];
}>('quanto-hand-vectors.json');

function params(c: Omit<CurveJson, 'rows' | 'feeBalance'> & { feeBalance?: string }) {
  return {
    symbol: 'ETHUSD',
    initialPrice: parsePrice(c.initialPrice),
    quantity: BigInt(c.quantity),
    longLeverage: c.longLeverage,
    shortLeverage: c.shortLeverage,
    payouts: c.payouts,
    feeBalance: BigInt(c.feeBalance ?? '0'),
  } satisfies PayoutCurveParams;
}

const rowsOf = (rows: readonly RowJson[]): PayoutRow[] =>
  rows.map((r) => ({ start: r.start, end: r.end, long: BigInt(r.long), short: BigInt(r.short) }));

/** The quanto invariants beyond {@link assertWellFormed}, for any parameters. */
function assertQuanto(p: ReturnType<typeof params>): void {
  const curve = payoutCurve(p);
  assertWellFormed(curve);
  const { rows, total } = curve;
  const m = margin(p.quantity, p.initialPrice, p.longLeverage, 'ETHUSD');
  assert.equal(total, m + margin(p.quantity, p.initialPrice, p.shortLeverage, 'ETHUSD'));
  assert.ok(curve.bounded);
  // The liquidated side gets nothing in its row, and nothing is fabricated: the pool is the margins.
  assert.equal(rows[0]!.long, 0n, 'long liquidation row pays the long 0');
  if (curve.shortLiquidation !== null) {
    assert.equal(rows[rows.length - 1]!.short, 0n, 'short liquidation row pays the short 0');
    assert.equal(curve.shortLiquidation.end, CURVE_MAX_PRICE);
  }
  // Never more rows than payouts asked for (each becomes CETs).
  assert.ok(rows.length <= p.payouts, `${rows.length} rows for ${p.payouts} payouts`);
  // Each settlement row pays what the closed form (fees.ts payoutAt) gives at its midpoint.
  const size = {
    symbol: 'ETHUSD' as const,
    makerPosition: 'short' as Position,
    price: p.initialPrice,
    quantity: p.quantity,
    takerLeverage: p.longLeverage,
    feeBalance: p.feeBalance,
  };
  if (p.shortLeverage === 1) {
    for (const r of rows.slice(1, curve.shortLiquidation ? -1 : undefined)) {
      const mid = price(r.start + Math.floor((r.end - r.start) / 2));
      assert.equal(payoutAt(size, mid).long, r.long, `row ${r.start}…${r.end}`);
    }
  }
}

describe('dlc/payout-curve (ETHUSD quanto)', () => {
  describe("against ItchySats' quanto.rs snapshots", () => {
    it('quanto_curve_snapshot: the same 20 rows, bounds and sats (1000 USD, 100 contracts, 2×/1×, 20 payouts)', () => {
      const snap = itchysats.curveSnapshot;
      const curve = payoutCurve(params(snap));
      assert.deepEqual(curve.rows, rowsOf(snap.rows));
      assert.equal(curve.total, 15_000_000n);
      assert.deepEqual(curveLiquidationPrices(curve), { long: 500, short: 2000 });
      assert.deepEqual(curve.shortLiquidation, { start: 2000, end: CURVE_MAX_PRICE });
    });

    it('initial_margin_snapshot: 100 contracts at 1000 USD are 1,000,000 sats at 10× and 10,000,000 at 1×', () => {
      const c = itchysats.initialMargin;
      const p0 = parsePrice(c.initialPrice);
      const n = BigInt(c.quantity);
      assert.equal(margin(n, p0, c.longLeverage, 'ETHUSD'), BigInt(c.marginLong));
      assert.equal(margin(n, p0, c.shortLeverage, 'ETHUSD'), BigInt(c.marginShort));
    });

    it('liquidation_intervals_snapshot: long 0…0 at 1×, short from 12500 at 4× (10000 USD, 500 contracts)', () => {
      const c = itchysats.liquidationIntervals;
      const curve = payoutCurve(params(c));
      assert.deepEqual(curve.longLiquidation, c.long);
      assert.deepEqual(curve.shortLiquidation, c.short);
      assertQuanto(params(c));
    });
  });

  describe('hand-computed vectors (fees, cents, a rounding margin)', () => {
    for (const c of hand.curves) {
      it(c.name, () => {
        const curve = payoutCurve(params(c));
        assert.equal(curve.total, BigInt(c.total));
        assert.deepEqual(curve.rows, rowsOf(c.rows));
        assert.deepEqual(curveLiquidationPrices(curve), {
          long: c.longLiquidationEnd,
          short: c.shortLiquidationStart,
        });
        assertQuanto(params(c));
      });
    }
  });

  describe('liquidation rows', () => {
    const p0 = price(1500);
    for (const [ll, ls] of [
      [2, 1],
      [5, 3],
      [1, 4],
      [100, 100],
    ] as const) {
      it(`at ${ll}×/${ls}× the curve liquidates each side at fees.ts liquidationPrice, and not a dollar before`, () => {
        const curve = payoutCurve({
          symbol: 'ETHUSD',
          initialPrice: p0,
          quantity: 100n,
          longLeverage: ll,
          shortLeverage: ls,
        });
        const longLiq = Number(liquidationPrice('long', p0, ll, 'ETHUSD') / 100_000_000n);
        const shortLiq = Number(liquidationPrice('short', p0, ls, 'ETHUSD') / 100_000_000n);
        assert.deepEqual(curveLiquidationPrices(curve), { long: longLiq, short: shortLiq });
        assert.equal(rowAtPrice(curve.rows, longLiq).long, 0n);
        assert.ok(rowAtPrice(curve.rows, longLiq + 1).long > 0n);
        assert.equal(rowAtPrice(curve.rows, shortLiq).short, 0n);
        assert.ok(rowAtPrice(curve.rows, shortLiq - 1).short > 0n);
        // The hourly liquidation events sign exactly those two rows, whole.
        assert.deepEqual(liquidationEventPayouts(curve), [
          curve.rows[0],
          curve.rows[curve.rows.length - 1],
        ]);
      });
    }

    it('a fee debt beyond the margin liquidates the payer above P0 instead of being refused', () => {
      const p = {
        symbol: 'ETHUSD',
        initialPrice: p0,
        quantity: 100n,
        longLeverage: 2,
        shortLeverage: 1,
        payouts: 200,
        // The long owes 9,000,000 sats against a 7,500,000 sat margin: E_long = −1,500,000,
        // so it gets something only once (P − 1500)·10,000 > 1,500,000, i.e. above 1650.
        feeBalance: 9_000_000n,
      } satisfies PayoutCurveParams;
      const curve = payoutCurve(p);
      assert.deepEqual(curve.longLiquidation, { start: 0, end: 1650 });
      assertQuanto(p);
    });

    it('where both bankruptcy prices fall on one dollar the short row starts a dollar later (as ItchySats)', () => {
      // 1 USD, 1 contract, 100×/100×: 1 sat margins, bankruptcy at 0.99 and 1.01 → both 1.
      const curve = payoutCurve({
        symbol: 'ETHUSD',
        initialPrice: price(1),
        quantity: 1n,
        longLeverage: 100,
        shortLeverage: 100,
      });
      assert.deepEqual(curve.rows, [
        { start: 0, end: 1, long: 0n, short: 2n },
        { start: 2, end: CURVE_MAX_PRICE, long: 2n, short: 0n },
      ]);
    });

    it('a short bankruptcy beyond the oracle range leaves no short liquidation row', () => {
      const p = {
        symbol: 'ETHUSD',
        initialPrice: price(1_000_000),
        quantity: 3n,
        longLeverage: 2,
        shortLeverage: 1,
        payouts: 50,
      } satisfies PayoutCurveParams;
      const curve = payoutCurve(p);
      assert.equal(curve.shortLiquidation, null);
      assert.ok(curve.rows[curve.rows.length - 1]!.short > 0n);
      assertQuanto({ ...p, feeBalance: 0n });
    });
  });

  it("holds every invariant over 300 random contracts in ItchySats' proptest ranges, fees included", () => {
    const rand = uniform(0x9a4e70);
    const int = (lo: number, hi: number): number => lo + Math.floor(rand() * (hi - lo + 1));
    for (let i = 0; i < 300; i++) {
      // ItchySats: price 1…100000, contracts 1…10000, leverage 1…100, payouts 10…2000, fee
      // −100000…100000 sats; plus prices with cents and fees up to twice a margin.
      const usd = BigInt(int(1, 100_000));
      const cents = rand() < 0.5 ? BigInt(int(0, 99)) * 1_000_000n : 0n;
      const p = {
        symbol: 'ETHUSD',
        initialPrice: asPrice(usd * 100_000_000n + cents) as Price,
        quantity: BigInt(int(1, 10_000)),
        longLeverage: int(1, 100),
        shortLeverage: int(1, 100),
        payouts: int(10, 2000),
        feeBalance: 0n,
      } satisfies PayoutCurveParams;
      const lm = margin(p.quantity, p.initialPrice, p.longLeverage, 'ETHUSD');
      const r = rand();
      p.feeBalance =
        r < 0.6 ? BigInt(int(-100_000, 100_000)) : (lm * BigInt(int(-2000, 2000))) / 1000n;
      assertQuanto(p);
    }
  });

  it('leaves the inverse curve alone: BTCUSD (or no symbol) builds the same rows as before', () => {
    const base = {
      initialPrice: price(54_000),
      quantity: 3_500n,
      longLeverage: 5,
      shortLeverage: 1,
    };
    for (const feeBalance of [0n, 12_345n, -99_999n]) {
      const plain = payoutCurve({ ...base, feeBalance });
      assert.deepEqual(payoutCurve({ ...base, feeBalance, symbol: 'BTCUSD' }), plain);
      assert.notDeepEqual(payoutCurve({ ...base, feeBalance, symbol: 'ETHUSD' }).rows, plain.rows);
    }
  });
});
