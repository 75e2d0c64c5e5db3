/**
 * The payout curves: which share of the locked pool each side gets for every whole
 * USD price the oracle can attest (0 … 2^20 − 1), as a list of constant-payout rows. Each row
 * becomes one CET per digit prefix of its range, so both parties must derive byte-identical rows.
 *
 * ItchySats (reference dlc-crypto.md §6) fits a float B-spline (Splipy port) to the exact payout
 * function and samples it; reproducing that bit-for-bit in JS would depend on libm ulps. Instead we
 * sample the exact function itself, with bigint rational arithmetic and one named rounding per
 * value, at ItchySats' sample positions (unbounded: the same; bounded: equal-width rows instead of
 * its slightly uneven end spacing, which moves samples by under 1/190 of a row):
 *
 * - long payout `long(P) = margin_long + Q/P0 − Q/P` (sats), clamped to `[0, pool]`; this is
 *   `Q·(1/(P0·Ll) + 1/P0 − 1/P)` with the margins rounded as model/fees.ts rounds them, so the
 *   long gets exactly 0 at `a = P0·Ll/(Ll+1)` and exactly the pool at `P0·Ls/(Ls−1)`;
 * - first row `[0, round(a)]`: long liquidated (long 0, short the pool);
 * - unbounded (short leverage 1): n − 1 rows of width `δ = (2·P0 − a)/n` sampled at their centres,
 *   the last of them stretched to `2·P0 − 3δ/4` (ItchySats' sample layout), then the cap row
 *   sampled at `2·P0` and extended to 2^20 − 1; n + 1 rows in all;
 * - bounded (short leverage > 1): n − 2 rows of equal width between `a` and `b = P0·Ls/(Ls−1)`
 *   sampled at their centres, then the short-liquidation row `[round(b)+1, 2^20 − 1]` (long gets
 *   the pool); n rows in all;
 * - row ends are `round(boundary)` (half away from zero) in whole USD, the next row starts one
 *   dollar later; rows that round to nothing are dropped and adjacent rows with equal payouts are
 *   merged (same outcome, fewer adaptor signatures).
 *
 * Against ItchySats' snapshot (54000 / 3500 / 5× / 1×) the row bounds are the same and amounts
 * differ by the spline's fitting error only (see test/dlc/payout-curve.spec.ts).
 *
 * The ETHUSD quanto curve (`symbol: 'ETHUSD'`) is linear in the price, so there is no spline to
 * approximate: it is ItchySats 0.6.0's `crates/model/src/payout_curve/quanto.rs` in bigint
 * arithmetic, row for row (test/dlc/payout-curve-quanto.spec.ts checks its snapshot table) — see
 * {@link quantoCurve}.
 */

import { type FeeBalance, margin, quantoPnlLong } from '../model/fees.ts';
import { divRound } from '../model/fixed.ts';
import { product } from '../model/product.ts';
import {
  type ContractSymbol,
  type Contracts,
  type Leverage,
  MAX_LEVERAGE,
  MAX_ORACLE_PRICE,
  type Position,
  PRICE_SCALE,
  type Price,
  SATS_PER_BTC,
  type Sats,
} from '../model/units.ts';
import { InvalidPayoutParametersError, InvalidPriceError } from './errors.ts';

/** Payouts ItchySats samples per curve (`N_PAYOUTS`). */
export const DEFAULT_PAYOUT_COUNT = 200;
/** Upper bound on the payout count, so a bad config cannot ask for millions of CETs. */
export const MAX_PAYOUT_COUNT = 10_000;
/** Highest price an olivia `n=20` event attests; the last row always ends here. */
export const CURVE_MAX_PRICE = Number(MAX_ORACLE_PRICE / PRICE_SCALE);

/** One constant-payout row: every whole-USD price in `start … end` (inclusive) pays the same. */
export interface PayoutRow {
  readonly start: number;
  readonly end: number;
  /** Sats to the long side. */
  readonly long: Sats;
  /** Sats to the short side; `long + short` is the pool in every row. */
  readonly short: Sats;
}

/** A row as seen by the roles: what the maker's and the taker's CET outputs pay. */
export interface RolePayoutRow {
  readonly start: number;
  readonly end: number;
  readonly maker: Sats;
  readonly taker: Sats;
}

/** An inclusive whole-USD price range. */
export interface CurvePriceRange {
  readonly start: number;
  readonly end: number;
}

export interface PayoutCurveParams {
  /** The product (model/product.ts); BTCUSD when absent. ETHUSD builds the quanto curve. */
  readonly symbol?: ContractSymbol;
  /** Opening price P0. At most 2^20 − 1 USD, the oracle's range. */
  readonly initialPrice: Price;
  /**
   * Quantity in contracts, > 0: USD of notional (inverse), or multiplier sats per USD of price move
   * each (quanto).
   */
  readonly quantity: Contracts;
  readonly longLeverage: Leverage;
  readonly shortLeverage: Leverage;
  /** Number of payouts to sample (default {@link DEFAULT_PAYOUT_COUNT}); at least 3. */
  readonly payouts?: number;
  /**
   * Fee account (positive: long owes short). Inverse: shifted between the sides of every row;
   * quanto: offsets each side's margin before the liquidation prices are derived (ItchySats).
   */
  readonly feeBalance?: FeeBalance;
}

export interface PayoutCurve {
  /** Sorted, contiguous rows covering exactly `0 … CURVE_MAX_PRICE`. */
  readonly rows: readonly PayoutRow[];
  /** The pool: long margin + short margin, what every row pays out in total. */
  readonly total: Sats;
  /**
   * Short leverage > 1: the curve rises to `P0·Ls/(Ls−1)` (short liquidated), not to 2·P0. A
   * quanto curve is always bounded: its short is liquidated at `P0 + P0/Ls`, even at 1×.
   */
  readonly bounded: boolean;
  /**
   * Where the long is liquidated: the curve's flat bottom (the first row), where the long gets
   * its minimum — 0, or only what the short owes it in fees.
   */
  readonly longLiquidation: CurvePriceRange;
  /**
   * Where the short is liquidated: the flat top (the last row) of a bounded curve (short gets 0,
   * or only what the long owes it in fees), or of an unbounded one whose fee offset leaves the
   * short nothing there; otherwise null (a 1× short at the 2·P0 cap still holds part of its
   * margin, and a bounded curve whose `b` lies beyond 2^20 − 1 never reaches it).
   */
  readonly shortLiquidation: CurvePriceRange | null;
}

/** A non-negative rational in Price units (10⁻⁸ USD): `num / den`, `den > 0`. */
interface Fraction {
  readonly num: bigint;
  readonly den: bigint;
}

/** One row before rounding: its upper boundary (null = oracle maximum) and its long payout. */
interface Cell {
  readonly upper: Fraction | null;
  readonly long: Sats;
}

function fail(message: string): never {
  throw new InvalidPayoutParametersError(message);
}

function validate(p: PayoutCurveParams): number {
  if (typeof p.initialPrice !== 'bigint' || p.initialPrice <= 0n) {
    fail(`initial price must be positive, got ${String(p.initialPrice)}`);
  }
  if (p.initialPrice > MAX_ORACLE_PRICE) {
    fail(`initial price must be at most ${CURVE_MAX_PRICE} USD (oracle range)`);
  }
  if (typeof p.quantity !== 'bigint' || p.quantity <= 0n) {
    fail(`quantity must be a positive number of contracts, got ${String(p.quantity)}`);
  }
  for (const [side, l] of [
    ['long', p.longLeverage],
    ['short', p.shortLeverage],
  ] as const) {
    if (!Number.isInteger(l) || l < 1 || l > MAX_LEVERAGE) {
      fail(`${side} leverage must be a whole number from 1 to ${MAX_LEVERAGE}, got ${l}`);
    }
  }
  const n = p.payouts ?? DEFAULT_PAYOUT_COUNT;
  if (!Number.isInteger(n) || n < 3 || n > MAX_PAYOUT_COUNT) {
    fail(`payout count must be a whole number from 3 to ${MAX_PAYOUT_COUNT}, got ${n}`);
  }
  if (p.feeBalance !== undefined && typeof p.feeBalance !== 'bigint') {
    fail('fee balance must be a bigint number of sats');
  }
  return n;
}

/**
 * Builds the payout curve for a contract. Deterministic: only bigint arithmetic with named
 * rounding, so both parties derive identical rows (and CETs) from the same parameters.
 *
 * @throws InvalidPayoutParametersError on a non-positive price or quantity, a leverage outside
 *   1 … 100, a price above the oracle range or a payout count outside 3 … 10,000.
 */
export function payoutCurve(params: PayoutCurveParams): PayoutCurve {
  const n = validate(params);
  if (params.symbol !== undefined && product(params.symbol).kind === 'quanto') {
    return quantoCurve(params.symbol, params, n);
  }
  const { initialPrice: p0, quantity: q } = params;
  const ll = BigInt(params.longLeverage);
  const ls = BigInt(params.shortLeverage);
  const bounded = ls > 1n;
  const marginLong = margin(q, p0, params.longLeverage);
  const total = marginLong + margin(q, p0, params.shortLeverage);

  // long(x) = margin_long + Q/P0 − Q/x, x = num/den in Price units, rounded once.
  const satsScale = q * SATS_PER_BTC * PRICE_SCALE;
  const longAt = (x: Fraction): Sats => {
    const pnl = divRound(satsScale * (x.num - p0 * x.den), p0 * x.num, 'halfAwayFromZero');
    const long = marginLong + pnl;
    if (long < 0n) return 0n;
    if (long > total) return total;
    return long;
  };

  // a = P0·Ll/(Ll+1); b = 2·P0 (unbounded) or P0·Ls/(Ls−1). Over a common denominator d0:
  // a = A/d0, b = B/d0, so every sample and boundary below is an exact fraction.
  const aDen = ll + 1n;
  const bNum = bounded ? p0 * ls : 2n * p0;
  const bDen = bounded ? ls - 1n : 1n;
  const d0 = aDen * bDen;
  const A = p0 * ll * bDen;
  const B = bNum * aDen;
  const span = B - A;

  const cells: Cell[] = [{ upper: { num: A, den: d0 }, long: 0n }];
  if (bounded) {
    // m equal rows on [a, b], sampled at their centres.
    const m = BigInt(n - 2);
    for (let j = 0n; j < m; j++) {
      cells.push({
        upper: { num: m * A + (j + 1n) * span, den: m * d0 },
        long: longAt({ num: 2n * m * A + (2n * j + 1n) * span, den: 2n * m * d0 }),
      });
    }
    cells.push({ upper: null, long: total });
  } else {
    // Samples s_k = a + (k − ½)δ, δ = (b − a)/n, k = 1 … n−1, then b; boundaries are midpoints
    // between consecutive samples (ItchySats' layout, so rows line up with its table).
    const nn = BigInt(n);
    for (let k = 1n; k < nn; k++) {
      const sample = { num: 2n * nn * A + (2n * k - 1n) * span, den: 2n * nn * d0 };
      const upper =
        k < nn - 1n
          ? { num: nn * A + k * span, den: nn * d0 }
          : { num: sample.num + 2n * nn * B, den: 2n * sample.den };
      cells.push({ upper, long: longAt(sample) });
    }
    cells.push({ upper: null, long: longAt({ num: B, den: d0 }) });
  }

  const base = roundCells(cells, total);
  const rows = applyFeeOffset(base, params.feeBalance ?? 0n);
  // The short is liquidated where the curve itself leaves it nothing (bounded, unless b is beyond
  // the oracle range) or where the fee offset does.
  const last = rows[rows.length - 1]!;
  const shortLiquidated = base[base.length - 1]!.short === 0n || last.short === 0n;
  return {
    rows,
    total,
    bounded,
    longLiquidation: { start: rows[0]!.start, end: rows[0]!.end },
    shortLiquidation: shortLiquidated ? { start: last.start, end: last.end } : null,
  };
}

/**
 * The quanto curve, ItchySats 0.6.0's `quanto::Curve::discretized_payouts` in exact integers
 * (`m` = multiplier in sats per contract per USD, `n` = contracts, `f` = fee balance, long owes):
 *
 * - margins `M_l = n·P0·m/Ll`, `M_s = n·P0·m/Ls` (model/fees.ts `margin`, rounded to the sat);
 *   effective margins `E_l = M_l − f`, `E_s = M_s + f`;
 * - long liquidation row `[0, ⌈P0 − E_l/(m·n)⌉]` pays the long 0, the short the pool; short
 *   liquidation row `[⌊P0 + E_s/(m·n)⌋, 2^20 − 1]` pays the short 0 (ItchySats: `P0 − trunc(E/(m·n))`
 *   and `P0 + trunc(…)` with a whole-dollar P0 — the same numbers; ours also hold for a P0 with
 *   cents). Where the two meet, the short one starts a dollar later (as ItchySats);
 * - between them rows of `step + 1` dollars, `step = trunc((short_start − long_end)/(N − 2))`,
 *   from `long_end + 1` while a row's end stays below `short_start − 1`, then one row up to
 *   `short_start − 1` (ItchySats' loop, so its row bounds and count are reproduced exactly);
 * - a row pays the long `E_l + (mid − P0)·m·n` at its midpoint `mid = start + ⌊(end − start)/2⌋`
 *   (exact sats for a whole-dollar P0, else rounded half away from zero) and the short the rest of
 *   the pool, so every row pays exactly `M_l + M_s`. Inside the settlement rows neither side can go
 *   below 0 (the liquidation bounds are where they would); the clamp only guards rounding.
 *
 * Unlike ItchySats, a fee debt larger than the payer's margin is not refused: the payer's
 * liquidation row simply reaches past P0 (the inverse curve saturates the same debt). Rows that
 * would start above 2^20 − 1 are dropped; if the short's bankruptcy price is beyond the oracle range
 * the last row is a settlement row and `shortLiquidation` is null.
 */
function quantoCurve(symbol: ContractSymbol, p: PayoutCurveParams, payouts: number): PayoutCurve {
  const { initialPrice: p0, quantity: q } = p;
  const fee = p.feeBalance ?? 0n;
  const marginLong = margin(q, p0, p.longLeverage, symbol);
  const total = marginLong + margin(q, p0, p.shortLeverage, symbol);
  const effLong = marginLong - fee;
  const effShort = total - marginLong + fee;
  const mn = product(symbol).multiplierSats * q; // sats per USD of price move
  const max = BigInt(CURVE_MAX_PRICE);
  // Bankruptcy prices in whole USD: P0 ∓ E/(m·n), over the common denominator SCALE·m·n.
  const den = PRICE_SCALE * mn;
  let longEnd = divRound(p0 * mn - effLong * PRICE_SCALE, den, 'ceil');
  if (longEnd < 0n) longEnd = 0n;
  let shortStart = divRound(p0 * mn + effShort * PRICE_SCALE, den, 'floor');
  if (shortStart <= longEnd) shortStart = longEnd + 1n;

  const longAt = (start: bigint, end: bigint): Sats => {
    const mid = ((start + (end - start) / 2n) * PRICE_SCALE) as Price;
    const long = effLong + quantoPnlLong(symbol, q, p0, mid);
    if (long < 0n) return 0n;
    if (long > total) return total;
    return long;
  };
  // Rows are clamped to the oracle range before their midpoint is taken, so a settlement row cut
  // at 2^20 − 1 pays its own midpoint.
  const rows: PayoutRow[] = [];
  const push = (start: bigint, end: bigint, long: 'settle' | Sats): void => {
    if (start > max) return;
    const e = end > max ? max : end;
    const l = long === 'settle' ? longAt(start, e) : long;
    rows.push({ start: Number(start), end: Number(e), long: l, short: total - l });
  };
  push(0n, longEnd, 0n);
  const step = (shortStart - longEnd) / BigInt(payouts - 2);
  let prev = longEnd;
  for (;;) {
    const lower = prev + 1n;
    const upper = lower + step;
    if (upper >= shortStart - 1n || lower > max) break;
    push(lower, upper, 'settle');
    prev = upper;
  }
  if (prev + 1n < shortStart) push(prev + 1n, shortStart - 1n, 'settle');
  push(shortStart, max, total);

  const merged = mergeEqualRows(rows);
  const first = merged[0]!;
  const last = merged[merged.length - 1]!;
  return {
    rows: merged,
    total,
    bounded: true,
    longLiquidation: { start: first.start, end: first.end },
    shortLiquidation:
      last !== first && last.short === 0n ? { start: last.start, end: last.end } : null,
  };
}

/** Turns cells into whole-USD rows: ends rounded half away from zero, empty rows dropped. */
function roundCells(cells: readonly Cell[], total: Sats): PayoutRow[] {
  const rows: PayoutRow[] = [];
  let prevEnd = -1;
  for (const cell of cells) {
    let end = CURVE_MAX_PRICE;
    if (cell.upper !== null) {
      const usd = divRound(cell.upper.num, cell.upper.den * PRICE_SCALE, 'halfAwayFromZero');
      end = usd > BigInt(CURVE_MAX_PRICE) ? CURVE_MAX_PRICE : Number(usd);
    }
    if (end <= prevEnd) continue;
    rows.push({ start: prevEnd + 1, end, long: cell.long, short: total - cell.long });
    prevEnd = end;
    if (end === CURVE_MAX_PRICE) break;
  }
  return rows;
}

/**
 * Settles a fee balance through the rows (ItchySats' `CompleteFee`): positive `fee` moves up to
 * `fee` sats from the long to the short in every row, negative the reverse, saturating at 0 so the
 * pool is conserved. Adjacent rows that end up paying the same are merged.
 */
export function applyFeeOffset(rows: readonly PayoutRow[], fee: FeeBalance): PayoutRow[] {
  const shifted = rows.map((r): PayoutRow => {
    const total = r.long + r.short;
    if (fee >= 0n) {
      const long = r.long > fee ? r.long - fee : 0n;
      return { start: r.start, end: r.end, long, short: total - long };
    }
    const short = r.short > -fee ? r.short + fee : 0n;
    return { start: r.start, end: r.end, long: total - short, short };
  });
  return mergeEqualRows(shifted);
}

function mergeEqualRows(rows: readonly PayoutRow[]): PayoutRow[] {
  const out: PayoutRow[] = [];
  for (const r of rows) {
    const prev = out[out.length - 1];
    if (prev && prev.long === r.long && prev.short === r.short && prev.end + 1 === r.start) {
      out[out.length - 1] = { ...prev, end: r.end };
    } else {
      out.push(r);
    }
  }
  return out;
}

/**
 * Liquidation prices read off the curve (so they agree with the CETs, fees included): the highest
 * price at which the long is liquidated, and the lowest at which the short is (null if never).
 * Without fees, inverse: the long one equals model/fees.ts `liquidationPrice` in whole USD; the
 * short one is one dollar above it, because the row ending at `round(b)` still pays the short a
 * little. Quanto: both equal `liquidationPrice` (whole USD there too), except that the curve uses
 * the margins rounded to the sat, which for a price with cents and fewer contracts than half the
 * leverage can move a bound by a dollar.
 */
export function curveLiquidationPrices(curve: PayoutCurve): {
  long: number;
  short: number | null;
} {
  return { long: curve.longLiquidation.end, short: curve.shortLiquidation?.start ?? null };
}

/**
 * The payouts to sign for an hourly liquidation event: one row per liquidation range, covering the
 * WHOLE range (long liquidation `0 … long end`, short gets all; short liquidation `start … max`,
 * long gets all, when the curve has one). ItchySats signs only the first and last digit prefix of
 * the settlement curve here, which misses most of the range (e.g. `0 … 32767` of `0 … 45000`).
 */
export function liquidationEventPayouts(curve: PayoutCurve): PayoutRow[] {
  const first = curve.rows[0]!;
  const last = curve.rows[curve.rows.length - 1]!;
  const out: PayoutRow[] = [first];
  if (curve.shortLiquidation !== null && last !== first) out.push(last);
  return out;
}

/**
 * Maps rows to the maker's and taker's amounts (reference §6.5): a short maker takes the short
 * side of each row, a long maker the long side.
 */
export function toRolePayouts(
  rows: readonly PayoutRow[],
  makerPosition: Position,
): RolePayoutRow[] {
  return rows.map((r) =>
    makerPosition === 'short'
      ? { start: r.start, end: r.end, maker: r.short, taker: r.long }
      : { start: r.start, end: r.end, maker: r.long, taker: r.short },
  );
}

/**
 * The row an attested whole-USD price falls in (binary search): which CET pays out.
 *
 * @throws InvalidPriceError if the price is not a whole number in 0 … 2^20 − 1 or the rows do
 *   not cover it.
 */
export function rowAtPrice(rows: readonly PayoutRow[], usd: number): PayoutRow {
  if (!Number.isSafeInteger(usd) || usd < 0 || usd > CURVE_MAX_PRICE) {
    throw new InvalidPriceError(`price must be a whole number in 0 … ${CURVE_MAX_PRICE}: ${usd}`);
  }
  let lo = 0;
  let hi = rows.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const r = rows[mid]!;
    if (usd < r.start) hi = mid - 1;
    else if (usd > r.end) lo = mid + 1;
    else return r;
  }
  throw new InvalidPriceError(`no payout row covers price ${usd}`);
}
