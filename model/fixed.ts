/**
 * Exact decimal arithmetic on scaled bigints.
 *
 * Every amount that can reach a transaction is an integer: satoshis, or a price/rate scaled by a
 * power of ten. Division is where rounding happens, so every division names its rounding mode and
 * both parties of a contract, running this same code, derive identical numbers.
 */
import { InvalidAmountError } from './errors.ts';

/**
 * - `floor`, `ceil`: toward −∞ / +∞.
 * - `trunc`: toward zero.
 * - `halfAwayFromZero`: nearest, ties away from zero (rust_decimal's default midpoint rule).
 * - `halfEven`: nearest, ties to even (banker's rounding).
 * - `awayFromZero`: any remainder rounds away from zero (ceil for positives).
 */
export type Rounding =
  | 'floor'
  | 'ceil'
  | 'trunc'
  | 'halfAwayFromZero'
  | 'halfEven'
  | 'awayFromZero';

const abs = (n: bigint): bigint => (n < 0n ? -n : n);

/** `n / d` rounded as asked. `d` must be non-zero. */
export function divRound(n: bigint, d: bigint, rounding: Rounding): bigint {
  if (d === 0n) throw new RangeError('division by zero');
  if (d < 0n) {
    n = -n;
    d = -d;
  }
  const q = n / d; // truncates toward zero
  const r = n % d; // sign of n
  if (r === 0n) return q;
  const negative = n < 0n;
  switch (rounding) {
    case 'trunc':
      return q;
    case 'floor':
      return negative ? q - 1n : q;
    case 'ceil':
      return negative ? q : q + 1n;
    case 'awayFromZero':
      return negative ? q - 1n : q + 1n;
    case 'halfAwayFromZero':
    case 'halfEven': {
      const twice = 2n * abs(r);
      const away = twice > d || (twice === d && (rounding === 'halfAwayFromZero' || q % 2n !== 0n));
      if (!away) return q;
      return negative ? q - 1n : q + 1n;
    }
  }
}

/** `10^decimals` as a bigint. */
export function scaleOf(decimals: number): bigint {
  return 10n ** BigInt(decimals);
}

const DECIMAL = /^(-)?(\d+)(?:\.(\d+))?$/;

/**
 * Parses a decimal string (`"42640.5"`, `"-0.00024"`) into an integer scaled by `10^decimals`.
 * Refuses exponents, blanks and more fractional digits than `decimals`: silently dropping precision
 * is how two parties end up with different transactions.
 */
export function parseDecimal(text: string, decimals: number, what = 'amount'): bigint {
  const m = DECIMAL.exec(text.trim());
  if (!m) throw new InvalidAmountError(`${what}: '${text}' is not a decimal number`);
  const [, sign, whole, frac = ''] = m;
  if (frac.length > decimals) {
    throw new InvalidAmountError(`${what}: '${text}' has more than ${decimals} decimal places`);
  }
  const value = BigInt(whole!) * scaleOf(decimals) + BigInt(frac.padEnd(decimals, '0') || '0');
  return sign ? -value : value;
}

/** Formats a scaled integer as a decimal string, trimming trailing zeros (`minDecimals` kept). */
export function formatDecimal(value: bigint, decimals: number, minDecimals = 0): string {
  const negative = value < 0n;
  const digits = abs(value)
    .toString()
    .padStart(decimals + 1, '0');
  const whole = digits.slice(0, digits.length - decimals);
  let frac = digits.slice(digits.length - decimals);
  while (frac.length > minDecimals && frac.endsWith('0')) frac = frac.slice(0, -1);
  return `${negative ? '-' : ''}${whole}${frac ? `.${frac}` : ''}`;
}
