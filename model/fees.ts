/**
 * Margins, liquidation prices, funding and the fee account of an inverse BTCUSD contract.
 *
 * Formulas follow ItchySats (reference §3.6). Rounding is ours to state, because both parties
 * must reach the same satoshi:
 * - margins round half away from zero to the satoshi (what rust_decimal's rescale does);
 * - funding fees round away from zero (ItchySats' `AwayFromZero`): the payer never pays less than
 *   the rate implies;
 * - liquidation prices round half away from zero to {@link PRICE_DECIMALS} places;
 * - display payouts round half away from zero to the satoshi and are clamped to the pool.
 */
import { divRound } from './fixed.ts';
import {
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

/** Margin of one side: `quantity / (price × leverage)` BTC, in satoshis. */
export function margin(quantity: Contracts, price: Price, leverage: Leverage): Sats {
  return divRound(
    quantity * SATS_PER_BTC * PRICE_SCALE,
    price * BigInt(leverage),
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
  const long = margin(c.quantity, c.price, lev.long);
  const short = margin(c.quantity, c.price, lev.short);
  const maker = c.makerPosition === 'long' ? long : short;
  const taker = c.makerPosition === 'long' ? short : long;
  return { long, short, maker, taker, total: long + short };
}

/**
 * Liquidation price of a side at `leverage`: long `P·L/(L+1)`; short `P·L/(L−1)`, or
 * {@link INFINITE_PRICE} at 1× (an unleveraged short cannot be liquidated).
 */
export function liquidationPrice(position: Position, initial: Price, leverage: Leverage): Price {
  const l = BigInt(leverage);
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
 * long pays, long's if short pays), as ItchySats' `FundingFee::calculate`. Returns satoshis ≥ 0;
 * the direction is the sign of the rate.
 */
export function fundingFee(f: FundingInput): Sats {
  if (f.rate === 0n || f.chargedSecs === 0) return 0n;
  const lev = longShortLeverage(f.makerPosition, f.takerLeverage);
  const base = margin(f.quantity, f.price, f.rate > 0n ? lev.short : lev.long);
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
 * CETs use the payout curve instead): long gets
 * `margin_long − owed_long + (Q/P0 − Q/P)`, short the rest of the pool, both clamped to
 * `[0, pool]`.
 */
export function payoutAt(
  c: ContractSize & { feeBalance: FeeBalance },
  closing: Price,
): { long: Sats; short: Sats } {
  const m = margins(c);
  const btcAt = (p: Price): Sats =>
    divRound(c.quantity * SATS_PER_BTC * PRICE_SCALE, p, 'halfAwayFromZero');
  const pnlLong = btcAt(c.price) - btcAt(closing);
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
