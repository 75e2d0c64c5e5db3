// The BTCUSD inverse payout curve: integer sampling of the exact payout function, compared with
// ItchySats' snapshot table, plus invariants over seeded random parameters.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { InvalidPayoutParametersError, InvalidPriceError } from '../../dlc/errors.ts';
import {
  applyFeeOffset,
  CURVE_MAX_PRICE,
  curveLiquidationPrices,
  liquidationEventPayouts,
  type PayoutCurveParams,
  type PayoutRow,
  payoutCurve,
  rowAtPrice,
  toRolePayouts,
} from '../../dlc/payout-curve.ts';
import { liquidationPrice, margin, margins } from '../../model/fees.ts';
import { divRound } from '../../model/fixed.ts';
import { asPrice, type Price, price, priceToUsd } from '../../model/units.ts';
import { assertWellFormed } from '../helpers/payout-curve.ts';
import { uniform } from '../helpers/prng.ts';

const SNAPSHOT_PARAMS: PayoutCurveParams = {
  initialPrice: price(54_000),
  quantity: 3_500n,
  longLeverage: 5,
  shortLeverage: 1,
};

interface SnapshotRow {
  start: number;
  end: number;
  short: bigint;
  long: bigint;
}

function snapshot(): SnapshotRow[] {
  const url = new URL('../fixtures/itchysats_inverse_payout_snapshot.csv', import.meta.url);
  const [header, ...lines] = readFileSync(url, 'utf8').trim().split('\n');
  assert.equal(header, 'start,end,short_sats,long_sats');
  return lines.map((line) => {
    const [start, end, short, long] = line.split(',');
    return { start: Number(start), end: Number(end), short: BigInt(short!), long: BigInt(long!) };
  });
}

const abs = (n: bigint): bigint => (n < 0n ? -n : n);

const prng = uniform;

function randomParams(rand: () => number): Required<Omit<PayoutCurveParams, 'symbol'>> {
  const int = (lo: number, hi: number): number => lo + Math.floor(rand() * (hi - lo + 1));
  // Mostly realistic BTC prices with cents and sub-cent digits, sometimes extremes.
  const usd = [int(1, 100), int(1_000, 200_000), int(20_000, 120_000), int(500_000, 1_048_575)][
    int(0, 3)
  ]!;
  let initialPrice = asPrice(BigInt(usd) * 100_000_000n + BigInt(int(0, 99_999_999)));
  if (initialPrice > price(CURVE_MAX_PRICE)) initialPrice = price(CURVE_MAX_PRICE);
  const leverage = (): number => (rand() < 0.7 ? int(1, 10) : int(1, 100));
  const params = {
    initialPrice,
    quantity: BigInt(rand() < 0.2 ? int(1, 20) : int(1, 2_000_000)),
    longLeverage: leverage(),
    shortLeverage: rand() < 0.4 ? 1 : leverage(),
    payouts: rand() < 0.5 ? 200 : int(3, 400),
    feeBalance: 0n,
  };
  const total =
    margin(params.quantity, params.initialPrice, params.longLeverage) +
    margin(params.quantity, params.initialPrice, params.shortLeverage);
  const r = rand();
  if (r < 0.3) params.feeBalance = 0n;
  else if (r < 0.9) params.feeBalance = (total * BigInt(int(-200, 200))) / 1_000n;
  else params.feeBalance = total * BigInt(int(-2, 2)); // saturates every row
  return params;
}

describe('dlc/payout-curve', () => {
  describe('against the ItchySats snapshot (54000, 3500 contracts, 5× long, 1× short, 200)', () => {
    const curve = payoutCurve(SNAPSHOT_PARAMS);
    const snap = snapshot();

    it('has the same 201 rows with identical price bounds (last row extended to 2^20 − 1)', () => {
      assert.equal(snap.length, 201);
      assert.equal(curve.rows.length, snap.length);
      curve.rows.forEach((r, i) => {
        const s = snap[i]!;
        assert.equal(r.start, s.start, `row ${i} start`);
        assert.equal(r.end, i === snap.length - 1 ? CURVE_MAX_PRICE : s.end, `row ${i} end`);
      });
      // Same span before the OliviaMax extension: 0 … 108000 = 2·P0.
      assert.equal(snap[snap.length - 1]!.end, 108_000);
    });

    it('has the same liquidation boundary and total: 0..=45000 pays the short all 7,777,777', () => {
      assert.equal(curve.total, 7_777_777n);
      assert.equal(
        curve.total,
        margins({
          ...SNAPSHOT_PARAMS,
          makerPosition: 'short',
          price: SNAPSHOT_PARAMS.initialPrice,
          takerLeverage: 5,
        }).total,
      );
      assert.deepEqual(curve.rows[0], { start: 0, end: 45_000, long: 0n, short: 7_777_777n });
      assert.deepEqual(snap[0], { start: 0, end: 45_000, long: 0n, short: 7_777_777n });
    });

    it('pays within 1,000 sats of the snapshot at every snapshot row midpoint', () => {
      // Measured: largest deviation 668 sats (row 25, ≈0.009 % of the pool) — the fitting error
      // of ItchySats' B-spline against the exact function we sample. The cap row agrees exactly
      // (4,537,037 / 3,240,740).
      let worst = 0n;
      for (const s of snap) {
        const mine = rowAtPrice(curve.rows, Math.floor((s.start + s.end) / 2));
        const d = abs(mine.long - s.long);
        const ds = abs(mine.short - s.short);
        worst = d > worst ? d : worst;
        worst = ds > worst ? ds : worst;
      }
      assert.ok(worst <= 1_000n, `largest deviation ${worst} sats`);
      assert.ok(worst >= 600n, 'the comparison really sees the spline error, not a no-op');
      const last = curve.rows[curve.rows.length - 1]!;
      assert.equal(last.long, snap[snap.length - 1]!.long);
      assert.equal(last.short, snap[snap.length - 1]!.short);
    });
  });

  describe('shape', () => {
    it('short leverage 1 is unbounded: rises to 2·P0, then pays the cap up to 2^20 − 1', () => {
      const curve = payoutCurve(SNAPSHOT_PARAMS);
      assert.equal(curve.bounded, false);
      assert.equal(curve.shortLiquidation, null);
      const last = curve.rows[curve.rows.length - 1]!;
      // long(2·P0) = margin_long + Q/(2·P0) = 1,296,296 + 3,240,741.
      assert.equal(last.long, 4_537_037n);
      assert.ok(last.short > 0n, 'a 1× short is never liquidated');
      assert.deepEqual(curveLiquidationPrices(curve), { long: 45_000, short: null });
    });

    it('short leverage > 1 is bounded: n rows, flat (short gets 0) beyond P0·Ls/(Ls−1)', () => {
      // Maker long at 1×, taker short at 5×: a = 27000, b = 67500.
      const curve = payoutCurve({ ...SNAPSHOT_PARAMS, longLeverage: 1, shortLeverage: 5 });
      assertWellFormed(curve);
      assert.equal(curve.bounded, true);
      assert.equal(curve.rows.length, 200);
      assert.deepEqual(curve.rows[0], { start: 0, end: 27_000, long: 0n, short: curve.total });
      assert.deepEqual(curve.rows[curve.rows.length - 1], {
        start: 67_501,
        end: CURVE_MAX_PRICE,
        long: curve.total,
        short: 0n,
      });
      assert.equal(curve.rows[curve.rows.length - 2]!.end, 67_500);
      assert.deepEqual(curve.shortLiquidation, { start: 67_501, end: CURVE_MAX_PRICE });
      assert.deepEqual(curveLiquidationPrices(curve), { long: 27_000, short: 67_501 });
    });

    it('agrees with model liquidationPrice: long end = its USD price, short start one above', () => {
      for (const [ll, ls] of [
        [5, 1],
        [1, 2],
        [1, 3],
        [2, 7],
        [100, 100],
      ] as const) {
        const p0 = price(43_210);
        const curve = payoutCurve({
          initialPrice: p0,
          quantity: 10_000n,
          longLeverage: ll,
          shortLeverage: ls,
        });
        const liq = curveLiquidationPrices(curve);
        assert.equal(
          BigInt(liq.long),
          priceToUsd(liquidationPrice('long', p0, ll), 'halfAwayFromZero'),
        );
        if (ls === 1) assert.equal(liq.short, null);
        else {
          const usd = priceToUsd(liquidationPrice('short', p0, ls), 'halfAwayFromZero');
          assert.equal(BigInt(liq.short!), usd + 1n);
        }
      }
    });

    it('samples the exact function: a mid-curve row pays margin_long + Q/P0 − Q/x at its centre', () => {
      // Row 100 of the snapshot curve is centred on x = 45000 + 315·99.5 = 76342.5 USD.
      const curve = payoutCurve(SNAPSHOT_PARAMS);
      const row = curve.rows[100]!;
      const x = 7_634_250_000_000n; // Price units
      const pnl = divRound(
        3_500n * 10n ** 16n * (x - SNAPSHOT_PARAMS.initialPrice),
        SNAPSHOT_PARAMS.initialPrice * x,
        'halfAwayFromZero',
      );
      assert.equal(row.long, 1_296_296n + pnl);
    });

    it('still covers the whole range when rows are narrower than a dollar (tiny prices)', () => {
      for (const usd of [1n, 2n, 3n, 150n]) {
        const curve = payoutCurve({ ...SNAPSHOT_PARAMS, initialPrice: price(usd) });
        assertWellFormed(curve);
        assert.ok(curve.rows.length <= 201);
      }
      assertWellFormed(payoutCurve({ ...SNAPSHOT_PARAMS, initialPrice: asPrice(1n) }));
    });

    it('clips at 2^20 − 1 when 2·P0 or b lies beyond the oracle range (no fake short liquidation)', () => {
      const p0 = price(CURVE_MAX_PRICE);
      const unbounded = payoutCurve({ ...SNAPSHOT_PARAMS, initialPrice: p0 });
      assertWellFormed(unbounded);
      assert.ok(unbounded.rows.length < 201);
      const bounded = payoutCurve({ ...SNAPSHOT_PARAMS, initialPrice: p0, shortLeverage: 2 });
      assertWellFormed(bounded);
      assert.equal(bounded.shortLiquidation, null);
      assert.ok(bounded.rows[bounded.rows.length - 1]!.short > 0n);
    });
  });

  describe('fee offset', () => {
    const base = payoutCurve(SNAPSHOT_PARAMS);

    it('long pays short: moves min(fee, long) sats in every row, pool conserved', () => {
      const fee = 100_000n;
      const curve = payoutCurve({ ...SNAPSHOT_PARAMS, feeBalance: fee });
      assertWellFormed(curve);
      for (const r of base.rows) {
        for (const p of [r.start, r.end]) {
          const got = rowAtPrice(curve.rows, p);
          const want = r.long > fee ? r.long - fee : 0n;
          assert.equal(got.long, want);
          assert.equal(got.short, base.total - want);
        }
      }
      // The long is liquidated earlier: rows that no longer pay it anything merged into row 0.
      assert.ok(curve.longLiquidation.end > 45_000);
      assert.equal(curve.rows[0]!.long, 0n);
      const last = curve.rows[curve.rows.length - 1]!;
      assert.equal(last.long, 4_537_037n - fee);
    });

    it('short pays long: symmetric, saturating the short at 0', () => {
      const fee = -3_300_000n;
      const curve = payoutCurve({ ...SNAPSHOT_PARAMS, feeBalance: fee });
      assertWellFormed(curve);
      assert.deepEqual(curve.rows[0], {
        start: 0,
        end: 45_000,
        long: 3_300_000n,
        short: 4_477_777n,
      });
      // The cap row's short (3,240,740) is wiped out, so the short is now liquidated up top.
      const last = curve.rows[curve.rows.length - 1]!;
      assert.equal(last.short, 0n);
      assert.ok(last.start < 107_765);
      assert.deepEqual(curve.shortLiquidation, { start: last.start, end: CURVE_MAX_PRICE });
    });

    it('a fee at least the pool leaves a single row paying the receiver everything', () => {
      const curve = payoutCurve({ ...SNAPSHOT_PARAMS, feeBalance: 10n ** 9n });
      assert.deepEqual(curve.rows, [
        { start: 0, end: CURVE_MAX_PRICE, long: 0n, short: 7_777_777n },
      ]);
      assert.deepEqual(liquidationEventPayouts(curve), curve.rows);
    });

    it('applyFeeOffset with 0 is the identity on a curve', () => {
      assert.deepEqual(applyFeeOffset(base.rows, 0n), base.rows);
    });
  });

  describe('liquidation event payouts', () => {
    it('unbounded: one row covering the WHOLE long-liquidation range 0..=45000, not 0..=32767', () => {
      const curve = payoutCurve(SNAPSHOT_PARAMS);
      assert.deepEqual(liquidationEventPayouts(curve), [
        { start: 0, end: 45_000, long: 0n, short: 7_777_777n },
      ]);
    });

    it('bounded: both whole ranges, long liquidation and short liquidation up to 2^20 − 1', () => {
      const curve = payoutCurve({ ...SNAPSHOT_PARAMS, longLeverage: 2, shortLeverage: 3 });
      const total = curve.total;
      // a = 36000, b = 81000.
      assert.deepEqual(liquidationEventPayouts(curve), [
        { start: 0, end: 36_000, long: 0n, short: total },
        { start: 81_001, end: CURVE_MAX_PRICE, long: total, short: 0n },
      ]);
    });

    it('follows the fee offset: the ranges are those of the fee-adjusted curve', () => {
      const curve = payoutCurve({ ...SNAPSHOT_PARAMS, shortLeverage: 2, feeBalance: 50_000n });
      const [long, short] = liquidationEventPayouts(curve);
      assert.deepEqual(long, curve.rows[0]);
      assert.ok(long!.end > 45_000);
      assert.deepEqual(short, curve.rows[curve.rows.length - 1]);
      assert.equal(short!.short, 50_000n, 'a liquidated short still receives the fees owed to it');
    });
  });

  describe('maker / taker mapping', () => {
    it('a short maker takes the short side of every row, a long maker the long side', () => {
      const rows = payoutCurve(SNAPSHOT_PARAMS).rows;
      const makerShort = toRolePayouts(rows, 'short');
      const makerLong = toRolePayouts(rows, 'long');
      rows.forEach((r, i) => {
        assert.deepEqual(makerShort[i], {
          start: r.start,
          end: r.end,
          maker: r.short,
          taker: r.long,
        });
        assert.deepEqual(makerLong[i], {
          start: r.start,
          end: r.end,
          maker: r.long,
          taker: r.short,
        });
      });
    });
  });

  describe('rowAtPrice', () => {
    const rows = payoutCurve(SNAPSHOT_PARAMS).rows;

    it('finds the row covering an attested price, at both ends of every row', () => {
      for (const r of rows) {
        assert.equal(rowAtPrice(rows, r.start), r);
        assert.equal(rowAtPrice(rows, r.end), r);
      }
    });

    it('rejects prices the oracle cannot attest with InvalidPriceError', () => {
      for (const bad of [-1, 1.5, CURVE_MAX_PRICE + 1, Number.NaN]) {
        assert.throws(() => rowAtPrice(rows, bad), InvalidPriceError);
      }
      assert.throws(() => rowAtPrice([] as PayoutRow[], 5), InvalidPriceError);
    });
  });

  describe('validation', () => {
    const cases: [string, Partial<PayoutCurveParams>][] = [
      ['zero quantity', { quantity: 0n }],
      ['negative quantity', { quantity: -5n }],
      ['long leverage 0', { longLeverage: 0 }],
      ['short leverage 0.5', { shortLeverage: 0.5 }],
      ['leverage 101', { longLeverage: 101 }],
      ['price 0', { initialPrice: 0n as Price }],
      ['negative price', { initialPrice: -1n as Price }],
      ['price above 2^20 − 1', { initialPrice: (price(CURVE_MAX_PRICE) + 1n) as Price }],
      ['2 payouts', { payouts: 2 }],
      ['fractional payouts', { payouts: 10.5 }],
      ['10,001 payouts', { payouts: 10_001 }],
    ];
    for (const [what, change] of cases) {
      it(`rejects ${what} with InvalidPayoutParametersError`, () => {
        assert.throws(
          () => payoutCurve({ ...SNAPSHOT_PARAMS, ...change }),
          (e: unknown) =>
            e instanceof InvalidPayoutParametersError && e.name === 'InvalidPayoutParametersError',
        );
      });
    }

    it('accepts the smallest payout count, 3, bounded and unbounded', () => {
      const unbounded = payoutCurve({ ...SNAPSHOT_PARAMS, payouts: 3 });
      assertWellFormed(unbounded);
      assert.equal(unbounded.rows.length, 4);
      const bounded = payoutCurve({ ...SNAPSHOT_PARAMS, shortLeverage: 2, payouts: 3 });
      assertWellFormed(bounded);
      assert.equal(bounded.rows.length, 3);
    });
  });

  describe('properties over 400 seeded random contracts', () => {
    const rand = prng(0x5eed_c0de);
    const cases = Array.from({ length: 400 }, () => randomParams(rand));

    it('cover 0 … 2^20 − 1 exactly, conserve the pool per row, and pay the long monotonically', () => {
      for (const p of cases) assertWellFormed(payoutCurve(p));
    });

    it('are deterministic: two derivations are deep-equal', () => {
      for (const p of cases) assert.deepEqual(payoutCurve(p), payoutCurve({ ...p }));
    });

    it('total the long and short margins of model/fees.ts and have at most n + 1 rows', () => {
      for (const p of cases) {
        const curve = payoutCurve(p);
        const want =
          margin(p.quantity, p.initialPrice, p.longLeverage) +
          margin(p.quantity, p.initialPrice, p.shortLeverage);
        assert.equal(curve.total, want);
        assert.ok(curve.rows.length <= p.payouts + 1);
      }
    });

    it('apply the fee offset row by row, saturating at 0, against the fee-free curve', () => {
      for (const p of cases) {
        const base = payoutCurve({ ...p, feeBalance: 0n });
        const curve = payoutCurve(p);
        const fee = p.feeBalance;
        for (const r of base.rows) {
          const got = rowAtPrice(curve.rows, r.start);
          const long =
            fee >= 0n
              ? r.long > fee
                ? r.long - fee
                : 0n
              : r.short > -fee
                ? r.long - fee
                : base.total;
          assert.equal(got.long, long);
        }
      }
    });

    it('start with the long liquidated at round(P0·Ll/(Ll+1)) when no fee is owed', () => {
      for (const p of cases) {
        const curve = payoutCurve({ ...p, feeBalance: 0n });
        const a = divRound(
          p.initialPrice * BigInt(p.longLeverage),
          BigInt(p.longLeverage + 1) * 10n ** 8n,
          'halfAwayFromZero',
        );
        assert.equal(curve.rows[0]!.long, 0n);
        // Row 0 ends at round(a), or later if the first samples above a also pay the long 0
        // (dust-sized contracts) and were merged into it.
        assert.ok(curve.longLiquidation.end >= Number(a));
        if (curve.longLiquidation.end > Number(a)) assert.ok(p.quantity < 1_000n);
      }
    });

    it('give liquidation events that cover the whole liquidation ranges of the curve', () => {
      for (const p of cases) {
        const curve = payoutCurve(p);
        const events = liquidationEventPayouts(curve);
        assert.deepEqual(events[0], curve.rows[0]);
        if (curve.shortLiquidation && curve.rows.length > 1) {
          assert.equal(events.length, 2);
          assert.deepEqual(events[1], curve.rows[curve.rows.length - 1]);
          assert.equal(events[1]!.end, CURVE_MAX_PRICE);
        } else assert.equal(events.length, 1);
      }
    });
  });
});
