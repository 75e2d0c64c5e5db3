/**
 * Offers (a maker's quote) and orders (a taker taking an offer), with the checks both daemons run
 * before any contract setup starts. ItchySats checked quantity, lot size and leverage only in the
 * taker's browser; here the daemon refuses a bad order whatever sent it.
 */

import { cetFeeAt } from '../dlc/transactions.ts';
import {
  InvalidAmountError,
  InvalidOfferError,
  LeverageNotOfferedError,
  ModelError,
  OracleEventOutOfWindowError,
  QuantityNotMultipleOfLotSizeError,
  QuantityOutOfRangeError,
  SlippageExceededError,
  StaleOfferError,
  SymbolMismatchError,
} from './errors.ts';
import { margins } from './fees.ts';
import { oracleEventIndex, oracleEventTime } from './oracle-event.ts';
import { isContractSymbol, product } from './product.ts';
import {
  assertLeverage,
  type ContractSymbol,
  type Contracts,
  type FeeRate,
  type FundingRate,
  formatPrice,
  type Leverage,
  type Position,
  type Price,
  RATE_SCALE,
  type Sats,
} from './units.ts';

/** A maker's quote. Immutable: a new price is a new offer with a new id. */
export interface Offer {
  readonly id: string;
  readonly symbol: ContractSymbol;
  /** The side the maker takes; the taker gets the other. */
  readonly makerPosition: Position;
  readonly price: Price;
  readonly minQuantity: Contracts;
  readonly maxQuantity: Contracts;
  /** Quantities must be whole multiples of this. */
  readonly lotSize: Contracts;
  /** Leverages the taker may choose; the maker always trades at 1×. */
  readonly leverageChoices: readonly Leverage[];
  /** Per settlement interval; positive: long pays short. */
  readonly fundingRate: FundingRate;
  /** Paid by the taker to the maker once, at contract setup. */
  readonly openingFee: Sats;
  /** Fee rate of the contract's transactions, sat/vB. */
  readonly txFeeRate: FeeRate;
  /** Seconds from contract setup (or rollover) to the settlement event. */
  readonly settlementIntervalSecs: number;
  /** The olivia event the contract settles on. */
  readonly oracleEventId: string;
  /** Unix seconds, the maker's clock. */
  readonly createdAt: number;
}

/**
 * An order whose maker or taker margin is below {@link minMargin}: its refund could not pay that
 * side's fee share and stay above dust, so the contract could never be set up.
 */
export class MarginBelowMinimumError extends ModelError {}

/**
 * The largest dust limit of a standard payout script: a legacy P2PKH output at Core's 3 sat/vB
 * dust relay fee (546 sats; segwit ones are 294–330). A payout address may be any of them.
 */
export const MAX_PAYOUT_DUST_SATS: Sats = 546n;

/**
 * The smallest margin either side of a contract at `txFeeRate` may put in: half the CET (and
 * refund) fee of the anchored format (the larger: 208 × rate + the anchored commit fee + both
 * anchors), rounded up, plus {@link MAX_PAYOUT_DUST_SATS}. Below it the refund — the one spend
 * returning each margin — cannot be built (dlc `buildRefund` throws `MarginTooSmallError`), so a
 * tiny order (a 1-contract ETHUSD quanto at high leverage or a low price, a 1-lot BTCUSD at 100×)
 * would be accepted by both sides only to fail mid-setup after the maker reserved coins for it.
 */
export function minMargin(txFeeRate: FeeRate): Sats {
  return (cetFeeAt(txFeeRate, { anchors: true }) + 1n) / 2n + MAX_PAYOUT_DUST_SATS;
}

/** A taker taking an offer. */
export interface Order {
  readonly offerId: string;
  readonly symbol: ContractSymbol;
  readonly quantity: Contracts;
  readonly leverage: Leverage;
}

/** What makes an offer safe to take. Compressed testnets shrink these with the settlement interval. */
export interface OrderPolicy {
  /** Offers older than this are refused. */
  readonly maxOfferAgeSecs: number;
  /** How far the settlement event may sit from `now + settlementInterval`, either way. */
  readonly eventWindowSecs: number;
  /** Tolerated clock difference for offers stamped in the future. */
  readonly maxClockSkewSecs: number;
}

/** 10 minutes, as ItchySats' taker; a maker re-publishes well within it. */
export const DEFAULT_MAX_OFFER_AGE_SECS = 600;
/** ItchySats accepted events 23 h … 25 h ahead for a 24 h interval: ±1 h. */
export const DEFAULT_EVENT_WINDOW_SECS = 3600;
/** A minute of clock difference between maker and taker is normal; more is suspicious. */
export const DEFAULT_MAX_CLOCK_SKEW_SECS = 60;

export const DEFAULT_ORDER_POLICY: OrderPolicy = {
  maxOfferAgeSecs: DEFAULT_MAX_OFFER_AGE_SECS,
  eventWindowSecs: DEFAULT_EVENT_WINDOW_SECS,
  maxClockSkewSecs: DEFAULT_MAX_CLOCK_SKEW_SECS,
};

/** Checks an offer is well-formed in itself. Throws {@link InvalidOfferError}. */
export function validateOffer(offer: Offer): void {
  const fail = (why: string): never => {
    throw new InvalidOfferError(`offer ${offer.id}: ${why}`);
  };
  if (!offer.id) fail('missing id');
  if (!isContractSymbol(offer.symbol)) fail(`unsupported symbol ${String(offer.symbol)}`);
  if (offer.makerPosition !== 'long' && offer.makerPosition !== 'short') fail('bad position');
  if (offer.price <= 0n) fail('price must be positive');
  if (offer.lotSize <= 0n) fail('lot size must be positive');
  if (offer.minQuantity <= 0n) fail('minimum quantity must be positive');
  if (offer.minQuantity > offer.maxQuantity) fail('minimum quantity is above the maximum');
  if (offer.minQuantity % offer.lotSize !== 0n)
    fail('minimum quantity is not a multiple of the lot size');
  if (offer.leverageChoices.length === 0) fail('no leverage choices');
  for (const l of offer.leverageChoices) {
    try {
      assertLeverage(l);
    } catch (e) {
      fail((e as Error).message);
    }
  }
  if (offer.fundingRate > RATE_SCALE || offer.fundingRate < -RATE_SCALE)
    fail('funding rate beyond ±100 %');
  if (offer.openingFee < 0n) fail('opening fee must not be negative');
  if (offer.txFeeRate < 1n) fail('transaction fee rate must be at least 1 sat/vB');
  if (!Number.isInteger(offer.settlementIntervalSecs) || offer.settlementIntervalSecs <= 0) {
    fail('settlement interval must be a positive number of seconds');
  }
  // The settlement event attests this product's index: an ETHUSD contract on BXBT would pay out
  // at the bitcoin price.
  const index = product(offer.symbol).oracleIndex;
  if (oracleEventIndex(offer.oracleEventId) !== index) {
    fail(`settlement event ${offer.oracleEventId} is not a ${index} event (${offer.symbol})`);
  }
}

/**
 * Checks that `order` may be placed against `offer` at `now` (unix seconds). Run by the taker
 * before sending and by the maker on receipt. Throws a named error saying what is wrong.
 */
export function validateOrder(
  offer: Offer,
  order: Order,
  now: number,
  policy: OrderPolicy = DEFAULT_ORDER_POLICY,
): void {
  validateOffer(offer);
  if (order.offerId !== offer.id) {
    throw new InvalidOfferError(`order names offer ${order.offerId}, not ${offer.id}`);
  }
  if (order.symbol !== offer.symbol) {
    throw new SymbolMismatchError(`order is for ${order.symbol}, the offer is for ${offer.symbol}`);
  }
  if (order.quantity < offer.minQuantity || order.quantity > offer.maxQuantity) {
    throw new QuantityOutOfRangeError(
      `quantity ${order.quantity} is outside the offer's ${offer.minQuantity}…${offer.maxQuantity} contracts`,
    );
  }
  if (order.quantity % offer.lotSize !== 0n) {
    throw new QuantityNotMultipleOfLotSizeError(
      `quantity ${order.quantity} is not a multiple of the lot size ${offer.lotSize}`,
    );
  }
  if (!offer.leverageChoices.includes(order.leverage)) {
    throw new LeverageNotOfferedError(
      `leverage ${order.leverage}× is not offered (choices: ${offer.leverageChoices.map((l) => `${l}×`).join(', ')})`,
    );
  }
  const m = margins({
    symbol: offer.symbol,
    makerPosition: offer.makerPosition,
    price: offer.price,
    quantity: order.quantity,
    takerLeverage: order.leverage,
  });
  const floor = minMargin(offer.txFeeRate);
  for (const [who, value] of [
    ['taker', m.taker],
    ['maker', m.maker],
  ] as const) {
    if (value < floor) {
      throw new MarginBelowMinimumError(
        `the ${who}'s margin of ${value} sats for ${order.quantity} ${offer.symbol} contracts at ${order.leverage}× is below the minimum of ${floor} sats at ${offer.txFeeRate} sat/vB (its refund would be dust); order more contracts or a lower leverage`,
      );
    }
  }
  const age = now - offer.createdAt;
  if (age > policy.maxOfferAgeSecs) {
    throw new StaleOfferError(
      `offer at ${formatPrice(offer.price)} is ${age} s old (at most ${policy.maxOfferAgeSecs} s); wait for a fresh one`,
    );
  }
  if (age < -policy.maxClockSkewSecs) {
    throw new StaleOfferError(`offer is stamped ${-age} s in the future; check the clocks`);
  }
  const eventTime = oracleEventTime(offer.oracleEventId);
  // Whatever the window allows: a contract whose settlement event is about to be attested (or
  // already was) is a bet on a price one side may already know, with no time left to roll over.
  const minAheadSecs = Math.ceil(offer.settlementIntervalSecs / 2);
  if (eventTime - now < minAheadSecs) {
    throw new OracleEventOutOfWindowError(
      `settlement event ${offer.oracleEventId} is ${eventTime - now} s away; at least half the settlement interval (${minAheadSecs} s) is needed`,
    );
  }
  const expected = now + offer.settlementIntervalSecs;
  if (Math.abs(eventTime - expected) > policy.eventWindowSecs) {
    throw new OracleEventOutOfWindowError(
      `settlement event ${offer.oracleEventId} is ${eventTime - now} s away; expected ${offer.settlementIntervalSecs} ± ${policy.eventWindowSecs} s`,
    );
  }
}

// ---- Slippage ----------------------------------------------------------------------------------

/**
 * The taker's default maximum slippage, in basis points of the confirmed price (0.5 %): a quote
 * ticks by a few dollars a second, so an order confirmed a few seconds ago is still within it.
 */
export const DEFAULT_MAX_SLIPPAGE_BPS = 50;
/**
 * The most slippage an order may allow (5 %). The maker honours a recent offer at its own price
 * while its current quote is within the taker's slippage of it, so this caps what honouring an
 * old price can cost the maker.
 */
export const MAX_SLIPPAGE_BPS = 500;

/** Checks a slippage is a whole number of basis points in 0…{@link MAX_SLIPPAGE_BPS}. */
export function assertSlippageBps(bps: number): void {
  if (!Number.isInteger(bps) || bps < 0 || bps > MAX_SLIPPAGE_BPS) {
    throw new InvalidAmountError(
      `maximum slippage must be a whole number of basis points from 0 to ${MAX_SLIPPAGE_BPS} (5 %), not ${bps}`,
    );
  }
}

/** How far `now` moved from `confirmed`, in basis points of `confirmed`, rounded up. */
export function priceMoveBps(confirmed: Price, now: Price): bigint {
  const diff = now > confirmed ? now - confirmed : confirmed - now;
  return (diff * 10_000n + confirmed - 1n) / confirmed;
}

/**
 * Checks that the maker's current quote for the confirmed offer's side (`current`, the latest
 * offer with the same maker position) is within `maxSlippageBps` of the confirmed offer's price.
 * The confirmed offer itself, or one at the same price, always passes. Throws
 * {@link SlippageExceededError} saying both prices; with no current offer of that side, the
 * maker withdrew it: {@link StaleOfferError}.
 */
export function checkSlippage(
  confirmed: Offer,
  current: Offer | undefined,
  maxSlippageBps: number,
): void {
  if (!current) {
    throw new StaleOfferError(
      `the maker no longer offers a ${confirmed.makerPosition === 'long' ? 'short' : 'long'} position`,
    );
  }
  if (current.id === confirmed.id) return;
  const moved = priceMoveBps(confirmed.price, current.price);
  if (moved > BigInt(maxSlippageBps)) {
    throw new SlippageExceededError(
      `the price moved from ${formatPrice(confirmed.price)} to ${formatPrice(current.price)} ` +
        `(${formatBps(moved)}), beyond your maximum slippage of ${formatBps(BigInt(maxSlippageBps))}`,
    );
  }
}

/** Basis points as a percentage with two decimals ("0.50 %"). */
function formatBps(bps: bigint): string {
  return `${bps / 100n}.${(bps % 100n).toString().padStart(2, '0')} %`;
}
