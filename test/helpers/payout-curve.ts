/**
 * Shared checks of payout curves (inverse and quanto), for test/dlc/payout-curve*.spec.ts.
 */
import assert from 'node:assert/strict';
import { CURVE_MAX_PRICE, type PayoutCurve } from '../../dlc/payout-curve.ts';

/** Every structural invariant a curve must satisfy, whatever its parameters. */
export function assertWellFormed(curve: PayoutCurve): void {
  const { rows, total } = curve;
  assert.ok(rows.length >= 1);
  assert.equal(rows[0]!.start, 0);
  assert.equal(rows[rows.length - 1]!.end, CURVE_MAX_PRICE);
  rows.forEach((r, i) => {
    assert.ok(Number.isSafeInteger(r.start) && Number.isSafeInteger(r.end), 'whole USD bounds');
    assert.ok(r.start <= r.end, `row ${i} is not empty`);
    assert.equal(typeof r.long, 'bigint');
    assert.equal(typeof r.short, 'bigint');
    assert.ok(r.long >= 0n && r.short >= 0n, `row ${i} pays no side a negative amount`);
    assert.equal(r.long + r.short, total, `row ${i} pays out the whole pool`);
    if (i > 0) {
      const prev = rows[i - 1]!;
      assert.equal(r.start, prev.end + 1, `row ${i} starts right after row ${i - 1}`);
      assert.ok(r.long >= prev.long, `long payout is non-decreasing at row ${i}`);
      assert.ok(r.long !== prev.long, `equal neighbours are merged at row ${i}`);
    }
  });
  assert.deepEqual(curve.longLiquidation, { start: 0, end: rows[0]!.end });
}
