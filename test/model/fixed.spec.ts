import assert from 'node:assert/strict';
import { divRound, formatDecimal, parseDecimal, type Rounding } from '../../model/fixed.ts';
import { parse, stringify } from '../../model/json.ts';

describe('model/fixed', () => {
  // [n, d, floor, ceil, trunc, halfAwayFromZero, halfEven, awayFromZero]
  const table: [bigint, bigint, bigint, bigint, bigint, bigint, bigint, bigint][] = [
    [7n, 2n, 3n, 4n, 3n, 4n, 4n, 4n],
    [5n, 2n, 2n, 3n, 2n, 3n, 2n, 3n],
    [-5n, 2n, -3n, -2n, -2n, -3n, -2n, -3n],
    [-7n, 2n, -4n, -3n, -3n, -4n, -4n, -4n],
    [10n, 3n, 3n, 4n, 3n, 3n, 3n, 4n],
    [11n, 3n, 3n, 4n, 3n, 4n, 4n, 4n],
    [9n, 3n, 3n, 3n, 3n, 3n, 3n, 3n],
    [5n, -2n, -3n, -2n, -2n, -3n, -2n, -3n],
  ];
  const modes: Rounding[] = [
    'floor',
    'ceil',
    'trunc',
    'halfAwayFromZero',
    'halfEven',
    'awayFromZero',
  ];
  for (const [n, d, ...expected] of table) {
    it(`${n}/${d} rounds as each mode says`, () => {
      assert.deepEqual(
        modes.map((m) => divRound(n, d, m)),
        expected,
      );
    });
  }

  it('refuses division by zero', () => {
    assert.throws(() => divRound(1n, 0n, 'floor'), RangeError);
  });

  it('parses decimals exactly and refuses what would lose precision', () => {
    assert.equal(parseDecimal('42640.5', 8), 4_264_050_000_000n);
    assert.equal(parseDecimal('-0.00024', 10), -2_400_000n);
    assert.equal(parseDecimal('7', 2), 700n);
    for (const bad of ['', '1e5', '0.123', '1,5', '--1', ' . ', 'NaN']) {
      assert.throws(() => parseDecimal(bad, 2), { name: 'InvalidAmountError' }, bad);
    }
  });

  it('formats and trims, keeping the sign', () => {
    assert.equal(formatDecimal(4_264_050_000_000n, 8), '42640.5');
    assert.equal(formatDecimal(-5n, 8), '-0.00000005');
    assert.equal(formatDecimal(100n, 2, 2), '1.00');
    assert.equal(formatDecimal(0n, 8), '0');
  });

  it('round-trips bigints through JSON without losing a satoshi', () => {
    const value = { sats: 2n ** 70n + 1n, neg: -1n, list: [1n, 'x'], plain: { $bigint: 3 } };
    assert.deepEqual(parse(stringify(value)), value);
  });
});
