import assert from 'node:assert/strict';
import {
  capPrice,
  type Digit,
  decomposeInterval,
  digitsFromString,
  digitsToNumber,
  digitsToString,
  InvalidDigitsError,
  InvalidIntervalError,
  InvalidPriceError,
  MAX_PRICE,
  PRICE_DIGITS,
  prefixContains,
  prefixRange,
  priceToDigits,
} from '../../dlc/index.ts';
import { mulberry32 } from '../helpers/prng.ts';

const prng = mulberry32;

/** Uniform integer in [lo, hi] from the PRNG (hi − lo < 2^32). */
function between(next: () => number, lo: number, hi: number): number {
  return lo + (next() % (hi - lo + 1));
}

/**
 * Independent reference: the canonical segment-tree decomposition of [start, end] over a binary
 * tree of depth n, skipping the root (prefixes have ≥ 1 digit). Returns prefixes as strings in
 * ascending order.
 */
function segmentTreeCover(start: number, end: number, n: number): string[] {
  const out: string[] = [];
  const visit = (prefix: string) => {
    const size = 2 ** (n - prefix.length);
    const lo = prefix === '' ? 0 : Number.parseInt(prefix, 2) * size;
    const hi = lo + size - 1;
    if (hi < start || lo > end) return;
    if (prefix !== '' && lo >= start && hi <= end) {
      out.push(prefix);
      return;
    }
    visit(`${prefix}0`);
    visit(`${prefix}1`);
  };
  visit('');
  return out;
}

/** Brute force: the least number of aligned blocks (size ≤ 2^(n−1)) tiling [start, end] (DP). */
function minimalBlockCount(start: number, end: number, n: number): number {
  const best = new Array<number>(end - start + 2).fill(Number.MAX_SAFE_INTEGER);
  best[end - start + 1] = 0;
  for (let pos = end; pos >= start; pos--) {
    for (let k = 0; k < n; k++) {
      const size = 2 ** k;
      if (pos % size !== 0 || pos + size - 1 > end) continue;
      best[pos - start] = Math.min(best[pos - start]!, 1 + best[pos - start + size]!);
    }
  }
  return best[0]!;
}

/** Asserts the prefixes' ranges tile [start, end] exactly: ascending, contiguous, no overlap. */
function assertExactDisjointCover(prefixes: Digit[][], start: number, end: number, n: number) {
  let next = start;
  for (const p of prefixes) {
    const r = prefixRange(p, n);
    assert.equal(r.start, next, `prefix ${digitsToString(p)} starts where the previous ended`);
    assert.ok(r.end >= r.start);
    next = r.end + 1;
  }
  assert.equal(next, end + 1, 'the cover ends exactly at the interval end');
}

describe('dlc/digits: prices as binary digits', () => {
  it('writes a price as 20 digits, most significant first', () => {
    for (const price of [0, 1, 2, 49262, 49493, 524288, MAX_PRICE]) {
      const digits = priceToDigits(price);
      assert.equal(digits.length, PRICE_DIGITS);
      assert.equal(digitsToString(digits), price.toString(2).padStart(20, '0'));
      assert.equal(digitsToNumber(digits), price);
    }
  });

  it('rejects negative, fractional and too-large prices', () => {
    for (const bad of [-1, 1.5, MAX_PRICE + 1, Number.NaN, Number.POSITIVE_INFINITY]) {
      assert.throws(() => priceToDigits(bad), InvalidPriceError, String(bad));
    }
  });

  it('caps prices above 2^20 − 1 to all ones, as olivia does, and still rejects negatives', () => {
    assert.equal(capPrice(2_000_000), MAX_PRICE);
    assert.equal(capPrice(54_000), 54_000);
    assert.throws(() => capPrice(-5), InvalidPriceError);
  });

  it('parses digit strings and refuses non-binary ones', () => {
    assert.deepEqual(digitsFromString('0101'), [0, 1, 0, 1]);
    assert.throws(() => digitsFromString('0121'), InvalidDigitsError);
  });
});

describe('dlc/digits: prefix → price range', () => {
  it('matches the ranges the reference derives for real olivia prefixes', () => {
    // dlc-crypto.md §4.6 and §6.5.
    assert.deepEqual(prefixRange(digitsFromString('00001100000')), { start: 49152, end: 49663 });
    assert.deepEqual(prefixRange(digitsFromString('000011')), { start: 49152, end: 65535 });
    assert.deepEqual(prefixRange(digitsFromString('00000')), { start: 0, end: 32767 });
    assert.deepEqual(prefixRange(digitsFromString('1')), { start: 524288, end: 1048575 });
  });

  it('a full 20-digit prefix is the single price it spells', () => {
    const d = priceToDigits(49262);
    assert.deepEqual(prefixRange(d), { start: 49262, end: 49262 });
    assert.ok(prefixContains(d, 49262));
    assert.ok(!prefixContains(d, 49263));
  });

  it('refuses empty, too-long and non-binary prefixes', () => {
    assert.throws(() => prefixRange([]), InvalidDigitsError);
    assert.throws(() => prefixRange(new Array<Digit>(21).fill(0)), InvalidDigitsError);
    assert.throws(() => prefixRange([2 as Digit]), InvalidDigitsError);
  });
});

describe('dlc/digits: interval → minimal prefix cover', () => {
  it('covers 11..=23 with 5 digits as [01011], [011], [10] (reference example)', () => {
    assert.deepEqual(decomposeInterval(11, 23, 5).map(digitsToString), ['01011', '011', '10']);
  });

  it('covers the real ItchySats CET range 0..=16383 with a single 6-digit prefix', () => {
    assert.deepEqual(decomposeInterval(0, 16383).map(digitsToString), ['000000']);
  });

  it('covers the whole price range with [0], [1] and a single price with its 20 digits', () => {
    assert.deepEqual(decomposeInterval(0, MAX_PRICE).map(digitsToString), ['0', '1']);
    assert.deepEqual(decomposeInterval(49262, 49262), [priceToDigits(49262)]);
  });

  it('includes the reference covering prefix 00001100000 in the cover of 0..=50000', () => {
    const cover = decomposeInterval(0, 50000).map(digitsToString);
    assert.ok(cover.includes('00001100000'));
    assertExactDisjointCover(decomposeInterval(0, 50000), 0, 50000, PRICE_DIGITS);
  });

  it('rejects start > end, negative, too-large and fractional bounds', () => {
    for (const [s, e] of [
      [10, 9],
      [-1, 5],
      [0, MAX_PRICE + 1],
      [1.5, 3],
    ] as const) {
      assert.throws(() => decomposeInterval(s, e), InvalidIntervalError, `${s}..${e}`);
    }
  });

  it('property (3,000 seeded random 20-digit intervals): exact, disjoint, minimal, canonical order', () => {
    const next = prng(0xd1c);
    for (let i = 0; i < 3000; i++) {
      let start: number;
      let end: number;
      switch (i % 3) {
        case 0: // anywhere
          start = between(next, 0, MAX_PRICE);
          end = between(next, start, MAX_PRICE);
          break;
        case 1: // narrow
          start = between(next, 0, MAX_PRICE);
          end = Math.min(MAX_PRICE, start + between(next, 0, 5000));
          break;
        default: {
          // bounds on (or one off) block boundaries, where off-by-one errors live
          const align = 2 ** between(next, 0, 19);
          start = align * between(next, 0, (MAX_PRICE + 1) / align - 1) + between(next, 0, 1);
          end = start + align * between(next, 1, 8) - 1 - between(next, 0, 2);
          start = Math.min(start, MAX_PRICE);
          end = Math.max(start, Math.min(end, MAX_PRICE));
        }
      }
      const cover = decomposeInterval(start, end);
      assertExactDisjointCover(cover, start, end, PRICE_DIGITS);
      const reference = segmentTreeCover(start, end, PRICE_DIGITS);
      assert.deepEqual(cover.map(digitsToString), reference, `${start}..=${end}`);
      if (i % 3 === 1 && i < 1500) {
        assert.equal(
          cover.length,
          minimalBlockCount(start, end, PRICE_DIGITS),
          `${start}..=${end}`,
        );
      }
    }
  });

  it('exhaustive for 7 digits: every interval is covered by the brute-force minimal count', () => {
    const n = 7;
    const max = 2 ** n - 1;
    for (let start = 0; start <= max; start++) {
      for (let end = start; end <= max; end++) {
        const cover = decomposeInterval(start, end, n);
        assertExactDisjointCover(cover, start, end, n);
        assert.equal(cover.length, minimalBlockCount(start, end, n), `${start}..=${end}`);
      }
    }
  });
});
