/**
 * Margins, liquidation prices, funding and the fee account of a CFD, per product (model/product.ts):
 * the inverse BTCUSD contract and the ETHUSD quanto contract.
 *
 * Formulas follow ItchySats (github.com/itchysats/itchysats `crates/model/src/payout_curve/
 * inverse.rs`, `quanto.rs`, `lib.rs` `FundingFee::calculate`; reference §3.6). Rounding is ours to
 * state, because both parties must reach the same satoshi from the same terms:
 * - margins round half away from zero to the satoshi (what rust_decimal's rescale does, and
 *   ItchySats' quanto `calculate_initial_margin`: `round_dp(8, MidpointAwayFromZero)` of BTC);
 * - funding fees round away from zero (ItchySats' `AwayFromZero`): the payer never pays less than
 *   the rate implies;
 * - inverse liquidation prices round half away from zero to {@link PRICE_DECIMALS} places; quanto
 *   ones are whole USD, rounded towards the initial price (ItchySats truncates the shift `P0/L` to
 *   whole dollars), which is exactly where the quanto curve's liquidation rows start;
 * - display payouts round half away from zero to the satoshi and are clamped to the pool.
 *
 * Every function takes the product through its input's optional `symbol` (default BTCUSD, so code
 * written before ETHUSD keeps its meaning).
 */
import { divRound } from './fixed.ts';
import { product } from './product.ts';
import {
  type ContractSymbol,
  type Contracts,
  type FundingRate,
  INFINITE_PRICE,
  type Leverage,
  type Position,
  PRICE_SCALE,
  type Price,
  RATE_SCALE,
  type Role,
  SATS_PER_BTC,
  type Sats,
} from './units.ts';

/**
 * Margin of one side, in satoshis: inverse `quantity / (price × leverage)` BTC; quanto
 * `quantity × price × multiplier / leverage` (ItchySats `n·P0·m/L`).
 */
export function margin(
  quantity: Contracts,
  price: Price,
  leverage: Leverage,
  symbol: ContractSymbol = 'BTCUSD',
): Sats {
  const p = product(symbol);
  if (p.kind === 'quanto') {
    return divRound(
      quantity * price * p.multiplierSats,
      BigInt(leverage) * PRICE_SCALE,
      'halfAwayFromZero',
    );
  }
  return divRound(
    quantity * SATS_PER_BTC * PRICE_SCALE,
    price * BigInt(leverage),
    'halfAwayFromZero',
  );
}

/**
 * Quanto profit of the long side at `closing`, in satoshis: `(P − P0) · multiplier · quantity`
 * (ItchySats `Pnl::new`), rounded half away from zero (exact for whole-dollar prices).
 */
export function quantoPnlLong(
  symbol: ContractSymbol,
  quantity: Contracts,
  initial: Price,
  closing: Price,
): Sats {
  return divRound(
    (closing - initial) * product(symbol).multiplierSats * quantity,
    PRICE_SCALE,
    'halfAwayFromZero',
  );
}

/** Long and short leverage of a contract: the maker always trades at 1×, the taker at its choice. */
export function longShortLeverage(
  makerPosition: Position,
  takerLeverage: Leverage,
): { long: Leverage; short: Leverage } {
  return makerPosition === 'long'
    ? { long: 1, short: takerLeverage }
    : { long: takerLeverage, short: 1 };
}

export interface ContractSize {
  /** The product; BTCUSD when absent. */
  readonly symbol?: ContractSymbol;
  readonly makerPosition: Position;
  readonly price: Price;
  readonly quantity: Contracts;
  readonly takerLeverage: Leverage;
}

/** Both margins of a contract, by side and by role. `total` is what the lock output holds. */
export function margins(c: ContractSize): {
  long: Sats;
  short: Sats;
  maker: Sats;
  taker: Sats;
  total: Sats;
} {
  const lev = longShortLeverage(c.makerPosition, c.takerLeverage);
  const long = margin(c.quantity, c.price, lev.long, c.symbol);
  const short = margin(c.quantity, c.price, lev.short, c.symbol);
  const maker = c.makerPosition === 'long' ? long : short;
  const taker = c.makerPosition === 'long' ? short : long;
  return { long, short, maker, taker, total: long + short };
}

/**
 * Liquidation price of a side at `leverage`.
 * - Inverse: long `P·L/(L+1)`; short `P·L/(L−1)`, or {@link INFINITE_PRICE} at 1× (an unleveraged
 *   short cannot be liquidated).
 * - Quanto: the bankruptcy prices `P ∓ P/L` (ItchySats `quanto::bankruptcy_price_long/short`) in
 *   whole USD rounded towards `P` (long up, short down), so a whole-dollar attestation at or past
 *   it pays the side nothing, as the curve's liquidation rows do. Long 1×: 0 (never liquidated
 *   above 0); short 1×: `2·P`. The curve derives its rows from the margin rounded to the sat, so
 *   for a price with cents and fewer contracts than half the leverage the two can be a dollar
 *   apart; the curve (dlc `curveLiquidationPrices`) is what the CETs pay.
 */
export function liquidationPrice(
  position: Position,
  initial: Price,
  leverage: Leverage,
  symbol: ContractSymbol = 'BTCUSD',
): Price {
  const l = BigInt(leverage);
  if (product(symbol).kind === 'quanto') {
    const rounding = position === 'long' ? 'ceil' : 'floor';
    const factor = position === 'long' ? l - 1n : l + 1n;
    return (divRound(initial * factor, l * PRICE_SCALE, rounding) * PRICE_SCALE) as Price;
  }
  if (position === 'long') return divRound(initial * l, l + 1n, 'halfAwayFromZero') as Price;
  if (l === 1n) return INFINITE_PRICE;
  return divRound(initial * l, l - 1n, 'halfAwayFromZero') as Price;
}

export interface FundingInput extends ContractSize {
  readonly rate: FundingRate;
  /** Seconds of funding to charge. */
  readonly chargedSecs: number;
  /** The rate is per this many seconds. */
  readonly settlementIntervalSecs: number;
}

/**
 * Funding fee for `chargedSecs` at `rate` per settlement interval:
 * `ceil(margin × |rate| × charged / interval)`, where margin is the receiving side's (short's if
 * long pays, long's if short pays), as ItchySats' `FundingFee::calculate`; the margin is the
 * product's (quanto: `n·P0·m/L`), so an ETHUSD rate is a share of bitcoin margin like a BTCUSD one.
 * Returns satoshis ≥ 0; the direction is the sign of the rate.
 */
export function fundingFee(f: FundingInput): Sats {
  if (f.rate === 0n || f.chargedSecs === 0) return 0n;
  const lev = longShortLeverage(f.makerPosition, f.takerLeverage);
  const base = margin(f.quantity, f.price, f.rate > 0n ? lev.short : lev.long, f.symbol);
  const rate = f.rate < 0n ? -f.rate : f.rate;
  return divRound(
    base * rate * BigInt(f.chargedSecs),
    RATE_SCALE * BigInt(f.settlementIntervalSecs),
    'awayFromZero',
  );
}

/**
 * Seconds of funding a rollover charges when it moves the settlement event from `fromEventTime`
 * (the base commit's) to `toEventTime`: the whole distance between them, however far apart. Each
 * commit's curve has funding paid up to its settlement event, so a rollover from an old base (a
 * taker back after days offline) owes every second since that event — capping it at one interval,
 * as ItchySats did, let a rollover from an old base erase accrued funding. `now` and
 * `settlementIntervalSecs` are kept for the callers' signature; they no longer change the charge.
 */
export function rolloverChargeSecs(
  fromEventTime: number,
  toEventTime: number,
  _now: number,
  _settlementIntervalSecs: number,
): number {
  return Math.max(toEventTime - fromEventTime, 0);
}

/**
 * The fee account of a CFD, as one signed balance: positive means the long side owes the short
 * side that many satoshis, negative the reverse. Settled by shifting payout between the two sides
 * of every CET and of the collaborative close.
 */
export type FeeBalance = Sats;

/** Opening fee (taker → maker) plus funding for the first settlement interval. */
export function initialFeeBalance(
  c: ContractSize & { openingFee: Sats; rate: FundingRate; settlementIntervalSecs: number },
): FeeBalance {
  const takerPosition: Position = c.makerPosition === 'long' ? 'short' : 'long';
  const opening = takerPosition === 'long' ? c.openingFee : -c.openingFee;
  return opening + signedFunding({ ...c, chargedSecs: c.settlementIntervalSecs });
}

/** Funding as a change of the fee balance (positive rate: long pays short). */
export function signedFunding(f: FundingInput): FeeBalance {
  const fee = fundingFee(f);
  return f.rate >= 0n ? fee : -fee;
}

/** What the given party owes net (negative: it is owed). */
export function feeOwedBy(balance: FeeBalance, position: Position): Sats {
  return position === 'long' ? balance : -balance;
}

/**
 * Payout of each side if the contract settled at `closing` (the closed form the UI shows;
 * CETs use the payout curve instead): long gets `margin_long − owed_long + pnl_long`, short the
 * rest of the pool, both clamped to `[0, pool]`. Inverse `pnl_long = Q/P0 − Q/P`; quanto
 * `pnl_long = (P − P0)·m·n` ({@link quantoPnlLong}).
 */
export function payoutAt(
  c: ContractSize & { feeBalance: FeeBalance },
  closing: Price,
): { long: Sats; short: Sats } {
  const m = margins(c);
  const btcAt = (p: Price): Sats =>
    divRound(c.quantity * SATS_PER_BTC * PRICE_SCALE, p, 'halfAwayFromZero');
  const symbol = c.symbol ?? 'BTCUSD';
  const pnlLong =
    product(symbol).kind === 'quanto'
      ? quantoPnlLong(symbol, c.quantity, c.price, closing)
      : btcAt(c.price) - btcAt(closing);
  let long = m.long - c.feeBalance + pnlLong;
  if (long < 0n) long = 0n;
  if (long > m.total) long = m.total;
  return { long, short: m.total - long };
}

/** A party's profit (payout − margin) in satoshis and in percent of its margin (two decimals). */
export function profit(
  c: ContractSize & { feeBalance: FeeBalance },
  role: Role,
  closing: Price,
): { sats: Sats; percentBasisPoints: bigint } {
  const m = margins(c);
  const p = payoutAt(c, closing);
  const position: Position =
    role === 'maker' ? c.makerPosition : c.makerPosition === 'long' ? 'short' : 'long';
  const payout = position === 'long' ? p.long : p.short;
  const own = role === 'maker' ? m.maker : m.taker;
  const sats = payout - own;
  return {
    sats,
    percentBasisPoints: own === 0n ? 0n : divRound(sats * 10_000n, own, 'halfAwayFromZero'),
  };
}
