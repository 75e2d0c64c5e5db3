/**
 * Exact BTC ⇄ satoshi conversion for the chain layer. JSON-RPC carries amounts as JSON numbers
 * in BTC (Bitcoin Core prints `0.00012345`, bcoin may print `1e-7`), so the client reads the number's
 * source text and converts it here with integer arithmetic only: no float ever touches an amount.
 */
import { InvalidAmountError } from '../../model/errors.ts';

/** Satoshis per bitcoin. */
export const SATS_PER_BTC = 100_000_000n;

/** Decimal places of a BTC amount: one satoshi is 1e-8 BTC. */
const BTC_DECIMALS = 8;

// sign, integer digits, optional fraction, optional exponent (JSON number grammar, loosened).
const DECIMAL = /^(-)?(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/;

/**
 * Parses a BTC amount written in decimal (`"1.5"`, `"0.00000001"`, `"1e-7"`) into satoshis.
 * Negative amounts are allowed only with `allowNegative` (fee deltas); finer than one satoshi throws.
 *
 * @example btcToSats('0.001') === 100_000n
 */
export function btcToSats(text: string, allowNegative = false): bigint {
  const m = DECIMAL.exec(text.trim());
  if (!m) throw new InvalidAmountError(`not a decimal BTC amount: '${text}'`);
  const [, sign, int = '', frac = '', exp = '0'] = m;
  if (sign && !allowNegative) throw new InvalidAmountError(`negative BTC amount: '${text}'`);
  // digits × 10^(shift): shift counts how far the decimal point moves right to reach satoshis.
  const digits = `${int}${frac}`;
  const shift = BTC_DECIMALS - frac.length + Number(exp);
  let sats: bigint;
  if (shift >= 0) {
    sats = BigInt(digits) * 10n ** BigInt(shift);
  } else {
    const cut = digits.length + shift;
    const rest = cut > 0 ? digits.slice(cut) : digits;
    if (/[^0]/.test(rest)) throw new InvalidAmountError(`BTC amount finer than 1 sat: '${text}'`);
    sats = cut > 0 ? BigInt(digits.slice(0, cut)) : 0n;
  }
  return sign ? -sats : sats;
}

/** Formats satoshis as a BTC decimal string with 8 places, as Bitcoin Core prints amounts. */
export function satsToBtc(sats: bigint): string {
  const neg = sats < 0n;
  const abs = neg ? -sats : sats;
  const whole = abs / SATS_PER_BTC;
  const frac = (abs % SATS_PER_BTC).toString().padStart(BTC_DECIMALS, '0');
  return `${neg ? '-' : ''}${whole}.${frac}`;
}
