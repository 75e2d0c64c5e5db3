/**
 * Units of the CFD domain. Money is exact: satoshis are `bigint`, prices and rates are bigints
 * scaled by a fixed power of ten. Nothing here is a float, so nothing here can make two parties
 * derive different transactions.
 */
import { InvalidAmountError } from './errors.ts';
import { divRound, formatDecimal, parseDecimal } from './fixed.ts';

/** An amount of bitcoin in satoshis. Signed where a balance can go either way. */
export type Sats = bigint;

export const SATS_PER_BTC = 100_000_000n;
/** 21 million BTC: no amount in a valid transaction exceeds this. */
export const MAX_MONEY: Sats = 21_000_000n * SATS_PER_BTC;

/** Parses a BTC decimal string (at most 8 places) into satoshis. */
export function btcToSats(btc: string): Sats {
  return parseDecimal(btc, 8, 'BTC amount');
}

/** Formats satoshis as a BTC decimal string (`123456789n` → `"1.23456789"`). */
export function satsToBtc(sats: Sats): string {
  return formatDecimal(sats, 8);
}

declare const priceBrand: unique symbol;
/**
 * A USD price, fixed-point with {@link PRICE_DECIMALS} places (`Price` 1 = 10⁻⁸ USD). Branded so a
 * price cannot be passed where satoshis are expected.
 */
export type Price = bigint & { readonly [priceBrand]: true };

/** Decimal places of a {@link Price}. Eight: below BitMEX's tick and exact for every derived price. */
export const PRICE_DECIMALS = 8;
export const PRICE_SCALE = 10n ** BigInt(PRICE_DECIMALS);
/** The largest price an olivia `n=20` event can attest: 2^20 − 1 USD. */
export const MAX_ORACLE_PRICE = price(2n ** 20n - 1n);
/** Stand-in for "never" (short liquidation at leverage 1), as in ItchySats: 21,000,000 USD. */
export const INFINITE_PRICE = price(21_000_000n);

/** A price from whole dollars. */
export function price(usd: bigint | number): Price {
  const whole = BigInt(usd);
  if (whole <= 0n) throw new InvalidAmountError(`price must be positive, got ${usd}`);
  return (whole * PRICE_SCALE) as Price;
}

/** Parses a USD decimal string (`"42640.5"`) into a {@link Price}. Must be positive. */
export function parsePrice(text: string): Price {
  const v = parseDecimal(text, PRICE_DECIMALS, 'price');
  if (v <= 0n) throw new InvalidAmountError(`price must be positive, got '${text}'`);
  return v as Price;
}

/** Treats a scaled integer as a price after checking it is positive. */
export function asPrice(scaled: bigint): Price {
  if (scaled <= 0n) throw new InvalidAmountError(`price must be positive, got ${scaled}`);
  return scaled as Price;
}

export function formatPrice(p: Price): string {
  return formatDecimal(p, PRICE_DECIMALS);
}

/** Whole dollars of a price, rounded as asked (oracle events attest whole dollars). */
export function priceToUsd(p: Price, rounding: 'floor' | 'halfAwayFromZero' = 'floor'): bigint {
  return divRound(p, PRICE_SCALE, rounding);
}

declare const rateBrand: unique symbol;
/**
 * A funding rate per settlement interval, fixed-point with {@link RATE_DECIMALS} places. Positive:
 * long pays short; negative: short pays long.
 */
export type FundingRate = bigint & { readonly [rateBrand]: true };
export const RATE_DECIMALS = 10;
export const RATE_SCALE = 10n ** BigInt(RATE_DECIMALS);

/** Parses a funding rate (`"0.00024"` per settlement interval). At most ±1 (100 %). */
export function parseFundingRate(text: string): FundingRate {
  const v = parseDecimal(text, RATE_DECIMALS, 'funding rate');
  if (v > RATE_SCALE || v < -RATE_SCALE) {
    throw new InvalidAmountError(`funding rate must be between -1 and 1, got '${text}'`);
  }
  return v as FundingRate;
}

export function formatFundingRate(r: FundingRate): string {
  return formatDecimal(r, RATE_DECIMALS);
}

/**
 * Quantity in contracts, always whole. For BTCUSD one contract is one US dollar of notional; for
 * ETHUSD one contract is worth the product's multiplier (model/product.ts) per USD of ETH price.
 */
export type Contracts = bigint;

/** Leverage as a whole multiple (1×…100×). */
export type Leverage = number;
export const MAX_LEVERAGE = 100;

export function assertLeverage(l: number): Leverage {
  if (!Number.isInteger(l) || l < 1 || l > MAX_LEVERAGE) {
    throw new InvalidAmountError(
      `leverage must be a whole number from 1 to ${MAX_LEVERAGE}, got ${l}`,
    );
  }
  return l;
}

/** Fee rate of a transaction in satoshis per virtual byte (whole, at least 1). */
export type FeeRate = bigint;

export type Position = 'long' | 'short';
export type Role = 'maker' | 'taker';
/**
 * Contract symbols: the inverse BTCUSD contract and the ETHUSD quanto contract (ItchySats 0.6.0's
 * two products). What each one means is model/product.ts's table.
 */
export type ContractSymbol = 'BTCUSD' | 'ETHUSD';
/** Every symbol, in a fixed order (UI switches, config validation). */
export const CONTRACT_SYMBOLS: readonly ContractSymbol[] = ['BTCUSD', 'ETHUSD'];

export function opposite(position: Position): Position {
  return position === 'long' ? 'short' : 'long';
}

export function counterpartyRole(role: Role): Role {
  return role === 'maker' ? 'taker' : 'maker';
}
