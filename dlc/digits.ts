/**
 * Binary digit decomposition of olivia price outcomes (maia-core `interval` / rust-dlc
 * `group_by_ignoring_digits`, base 2).
 *
 * The oracle attests a price as n binary digits, most significant first, one nonce per digit.
 * A CET only needs the first k digits when every price with that prefix pays the same, so a
 * payout interval [start, end] is covered by the fewest aligned binary blocks ("prefixes") and
 * one adaptor signature is made per prefix. Both parties must derive the same prefixes in the
 * same order, hence one canonical algorithm here.
 */
import { InvalidDigitsError, InvalidIntervalError, InvalidPriceError } from './errors.ts';

/** Digits olivia attests per price event. */
export const PRICE_DIGITS = 20;
/** Largest attestable price: 2^20 − 1 = 1,048,575. */
export const MAX_PRICE = 2 ** PRICE_DIGITS - 1;

/** One binary digit. */
export type Digit = 0 | 1;
/** A digit string, most significant digit first; a prefix when shorter than the event. */
export type Digits = readonly Digit[];

/** An inclusive price range. */
export interface PriceRange {
  readonly start: number;
  readonly end: number;
}

function assertDigitCount(nDigits: number): void {
  if (!Number.isInteger(nDigits) || nDigits < 1 || nDigits > 52) {
    throw new InvalidDigitsError(
      `number of digits must be a whole number in 1 … 52, got ${nDigits}`,
    );
  }
}

/** Validates a price for an n-digit event: a whole number in 0 … 2^n − 1. */
export function assertPrice(price: number, nDigits = PRICE_DIGITS): void {
  assertDigitCount(nDigits);
  if (!Number.isSafeInteger(price) || price < 0 || price > 2 ** nDigits - 1) {
    throw new InvalidPriceError(
      `price must be a whole number in 0 … ${2 ** nDigits - 1}, got ${String(price)}`,
    );
  }
}

/**
 * The n binary digits of a price, most significant first (olivia's `attestation_indexes`).
 * Rejects negative, fractional and too-large prices ({@link InvalidPriceError}); an oracle that
 * must attest an overflowing price caps it first with {@link capPrice}.
 */
export function priceToDigits(price: number, nDigits = PRICE_DIGITS): Digit[] {
  assertPrice(price, nDigits);
  const digits: Digit[] = new Array(nDigits);
  let v = price;
  for (let i = nDigits - 1; i >= 0; i--) {
    digits[i] = (v % 2) as Digit;
    v = (v - (v % 2)) / 2;
  }
  return digits;
}

/** The number a digit string encodes (inverse of {@link priceToDigits} for full strings). */
export function digitsToNumber(digits: Digits): number {
  let v = 0;
  for (const d of digits) {
    if (d !== 0 && d !== 1) throw new InvalidDigitsError(`digit must be 0 or 1, got ${String(d)}`);
    v = v * 2 + d;
  }
  return v;
}

/** olivia's outcome rule: a price above 2^n − 1 is attested as all ones. */
export function capPrice(price: number, nDigits = PRICE_DIGITS): number {
  const max = 2 ** nDigits - 1;
  if (Number.isSafeInteger(price) && price > max) return max;
  assertPrice(price, nDigits);
  return price;
}

/** Validates a prefix for an n-digit event (binary, 1 … n digits) and returns it typed. */
export function assertPrefix(prefix: readonly number[], nDigits = PRICE_DIGITS): Digits {
  assertDigitCount(nDigits);
  if (!Array.isArray(prefix) || prefix.length < 1 || prefix.length > nDigits) {
    throw new InvalidDigitsError(`prefix must have 1 … ${nDigits} digits`);
  }
  for (const d of prefix) {
    if (d !== 0 && d !== 1) throw new InvalidDigitsError(`digit must be 0 or 1, got ${String(d)}`);
  }
  return prefix as Digits;
}

/** The inclusive price range whose n-digit representation starts with `prefix` (`compute_range`). */
export function prefixRange(prefix: Digits, nDigits = PRICE_DIGITS): PriceRange {
  assertPrefix(prefix, nDigits);
  const size = 2 ** (nDigits - prefix.length);
  const start = digitsToNumber(prefix) * size;
  return { start, end: start + size - 1 };
}

/** Whether `price` has the digit prefix `prefix`, i.e. lies in {@link prefixRange}. */
export function prefixContains(prefix: Digits, price: number, nDigits = PRICE_DIGITS): boolean {
  assertPrice(price, nDigits);
  const { start, end } = prefixRange(prefix, nDigits);
  return price >= start && price <= end;
}

/**
 * The minimal set of digit prefixes whose ranges cover [start, end] exactly and disjointly (the
 * minimal aligned dyadic cover), in ascending price order — which is maia's order: the "front"
 * groups from long to short prefixes, then the "back" groups from short to long.
 *
 * Prefixes have at least one digit, so the whole range 0 … 2^n − 1 becomes `[0], [1]` (an empty
 * prefix would have no oracle point to encrypt to). Example: 11 … 23 with 5 digits →
 * `[0,1,0,1,1], [0,1,1], [1,0]`.
 */
export function decomposeInterval(start: number, end: number, nDigits = PRICE_DIGITS): Digit[][] {
  assertDigitCount(nDigits);
  const max = 2 ** nDigits - 1;
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end)) {
    throw new InvalidIntervalError(`interval bounds must be whole numbers, got ${start} … ${end}`);
  }
  if (start < 0 || end > max || start > end) {
    throw new InvalidIntervalError(`interval ${start} … ${end} is not within 0 … ${max}`);
  }
  const prefixes: Digit[][] = [];
  let cur = start;
  while (cur <= end) {
    // Largest aligned block starting at cur that stays inside [cur, end], at most half the range.
    let k = 0;
    while (k < nDigits - 1) {
      const size = 2 ** (k + 1);
      if (cur % size !== 0 || cur + size - 1 > end) break;
      k++;
    }
    const size = 2 ** k;
    prefixes.push(priceToDigits(cur / size, nDigits - k));
    cur += size;
  }
  return prefixes;
}

/** Formats digits as a string of '0'/'1', e.g. for logs and test names. */
export function digitsToString(digits: Digits): string {
  return digits.join('');
}

/** Parses a string of '0'/'1' characters into digits. */
export function digitsFromString(s: string): Digit[] {
  if (!/^[01]*$/.test(s)) throw new InvalidDigitsError(`'${s}' is not a binary digit string`);
  return [...s].map((c) => (c === '1' ? 1 : 0));
}
