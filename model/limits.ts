/**
 * A taker's limits: the terms it accepts from a maker, whatever the maker sets. The maker chooses
 * the funding rate, the opening fee and the fee rate of the contract's transactions, in its offers
 * and again at every rollover; the protocol's own bounds (±100 % funding, any fee) are far too
 * wide for someone trading real money, so the taker's user sets these and the node refuses
 * anything beyond them — an offer is marked and an order on it refused, a rollover aborted before
 * anything is revealed.
 *
 * The opening fee is bounded relative to the taker's margin, not the quantity: the fee comes out
 * of the taker's stake, and "this order costs me x % of what I put in" is what a trader weighs.
 * A bound relative to the notional would let fees eat most of the margin at high leverage (0.5 %
 * of the notional is half the margin at 100×).
 */

import { ModelError } from './errors.ts';
import { margin } from './fees.ts';
import { divRound } from './fixed.ts';
import type { Offer } from './offer.ts';
import {
  type Contracts,
  type FeeRate,
  type FundingRate,
  formatFundingRate,
  type Leverage,
  parseFundingRate,
  RATE_SCALE,
  type Sats,
} from './units.ts';

export interface TakerLimits {
  /** Largest absolute funding rate per settlement interval, either direction. */
  readonly maxFundingRate: FundingRate;
  /** Largest opening fee, in basis points of the taker's margin. */
  readonly maxOpeningFeeBps: number;
  /** Highest fee rate (sat/vB) of the contract's transactions (lock, commit, CETs, refund). */
  readonly maxTxFeeRate: FeeRate;
  /**
   * Lowest fee rate (sat/vB): the chain's mempool minimum, read live, not set by the user. A lock
   * below it cannot enter a mempool, and each later transaction would need a bump from the start.
   */
  readonly minTxFeeRate?: FeeRate;
}

/**
 * 0.003 per settlement interval (0.3 % a day at the default daily settlement, ≈ 110 % a year):
 * ItchySats' makers charged around 0.0005 per 8 h (0.0015 a day) and dlcfd's maker defaults to
 * 0.0001; twice the busiest ordinary rate is room for a hot market, and anything beyond is a
 * maker taking the position's margin in funding (the protocol alone allows ±100 %).
 */
export const DEFAULT_MAX_FUNDING_RATE = parseFundingRate('0.003');
/**
 * 100 bps = 1 % of the taker's margin. Exchanges charge takers ≈ 0.05–0.075 % of the notional,
 * ≈ 0.75 % of the margin at 10×; dlcfd's maker defaults to a flat 2 sats.
 */
export const DEFAULT_MAX_OPENING_FEE_BPS = 100;
/**
 * 100 sat/vB: above what the mempool needed for next-block confirmation on all but a handful of
 * days so far, and it bounds what the maker can burn from both margins in fees (the contract's
 * transactions are ≈ 1,000 vB in all). dlcfd's maker defaults to 1 sat/vB.
 */
export const DEFAULT_MAX_TX_FEE_RATE: FeeRate = 100n;

export const DEFAULT_TAKER_LIMITS: TakerLimits = {
  maxFundingRate: DEFAULT_MAX_FUNDING_RATE,
  maxOpeningFeeBps: DEFAULT_MAX_OPENING_FEE_BPS,
  maxTxFeeRate: DEFAULT_MAX_TX_FEE_RATE,
};

/** Something the maker set is outside the taker's limits. Nothing was sent or recorded. */
export class OutsideTakerLimitsError extends ModelError {}
/** The funding rate is beyond the taker's limit. */
export class FundingRateAboveLimitError extends OutsideTakerLimitsError {}
/** The opening fee is a larger part of the taker's margin than its limit allows. */
export class OpeningFeeAboveLimitError extends OutsideTakerLimitsError {}
/** The fee rate of the contract's transactions is above the taker's limit. */
export class TxFeeRateAboveLimitError extends OutsideTakerLimitsError {}
/** The fee rate of the contract's transactions is below the mempool minimum: it would not relay. */
export class TxFeeRateBelowMempoolMinimumError extends OutsideTakerLimitsError {}

const abs = (r: bigint): bigint => (r < 0n ? -r : r);

/** Why `rate` (per settlement interval) is beyond `max`, or undefined when it is not. */
export function fundingRateOutsideLimit(rate: FundingRate, max: FundingRate): string | undefined {
  // Whatever limit a caller built, never beyond ±100 % per interval.
  const bound = max < RATE_SCALE ? max : (RATE_SCALE as FundingRate);
  if (abs(rate) <= bound) return undefined;
  return `the funding rate ${formatFundingRate(rate)} per settlement interval is beyond the taker's limit of ±${formatFundingRate(bound)}`;
}

/** Why `rate` (sat/vB) is above `max` (or below `min`), or undefined when it is not. */
export function txFeeRateOutsideLimit(
  rate: FeeRate,
  max: FeeRate,
  min?: FeeRate,
): string | undefined {
  if (min !== undefined && rate < min) {
    return `the transaction fee rate ${rate} sat/vB is below the mempool minimum of ${min} sat/vB`;
  }
  if (rate <= max) return undefined;
  return `the transaction fee rate ${rate} sat/vB is above the taker's limit of ${max} sat/vB`;
}

/** Basis points of `part` in `whole`, rounded up (the fee is never understated). */
function bps(part: Sats, whole: Sats): bigint {
  return whole <= 0n ? 10_000n : divRound(part * 10_000n, whole, 'ceil');
}

/** Why an opening fee of `fee` on a taker margin of `takerMargin` is beyond the limit. */
export function openingFeeOutsideLimit(
  fee: Sats,
  takerMargin: Sats,
  maxBps: number,
): string | undefined {
  if (fee * 10_000n <= takerMargin * BigInt(maxBps)) return undefined;
  return `the opening fee of ${fee} sats is ${formatBps(bps(fee, takerMargin))} of the taker's margin of ${takerMargin} sats, above the taker's limit of ${formatBps(BigInt(maxBps))}`;
}

function formatBps(b: bigint): string {
  const whole = b / 100n;
  const frac = (b % 100n).toString().padStart(2, '0');
  return `${whole}.${frac} %`;
}

/** The taker's margin on `offer` for `quantity` at `leverage`. */
export function takerMargin(offer: Offer, quantity: Contracts, leverage: Leverage): Sats {
  return margin(quantity, offer.price, leverage, offer.symbol);
}

/**
 * Why the maker's rollover terms are outside the limits (the first reason), or undefined. The
 * rollover machine refuses on it, and the taker's scheduler pauses on it.
 */
export function rolloverTermsOutsideLimits(
  terms: { readonly fundingRate: FundingRate; readonly feeRate: FeeRate },
  limits: {
    readonly maxFundingRate: FundingRate;
    readonly maxFeeRate: FeeRate;
    readonly minFeeRate?: FeeRate;
  },
): string | undefined {
  return (
    fundingRateOutsideLimit(terms.fundingRate, limits.maxFundingRate) ??
    txFeeRateOutsideLimit(terms.feeRate, limits.maxFeeRate, limits.minFeeRate)
  );
}

/**
 * What of `offer` is outside `limits` whatever the order: its funding rate, its fee rate, and an
 * opening fee too large even for the largest margin the offer allows (its maximum quantity at its
 * lowest leverage). Empty when some order on it may be within the limits.
 */
export function offerOutsideLimits(offer: Offer, limits: TakerLimits): string[] {
  const lowest = Math.min(...offer.leverageChoices) as Leverage;
  return [
    fundingRateOutsideLimit(offer.fundingRate, limits.maxFundingRate),
    txFeeRateOutsideLimit(offer.txFeeRate, limits.maxTxFeeRate, limits.minTxFeeRate),
    openingFeeOutsideLimit(
      offer.openingFee,
      takerMargin(offer, offer.maxQuantity, lowest),
      limits.maxOpeningFeeBps,
    ),
  ].filter((r): r is string => r !== undefined);
}

/**
 * Checks an order on `offer` against the taker's limits. Throws the named
 * {@link OutsideTakerLimitsError} subclass of the first term beyond them.
 */
export function checkOrderLimits(
  offer: Offer,
  order: { readonly quantity: Contracts; readonly leverage: Leverage },
  limits: TakerLimits,
): void {
  const funding = fundingRateOutsideLimit(offer.fundingRate, limits.maxFundingRate);
  if (funding) throw new FundingRateAboveLimitError(`offer ${offer.id}: ${funding}`);
  const fee = txFeeRateOutsideLimit(offer.txFeeRate, limits.maxTxFeeRate, limits.minTxFeeRate);
  if (fee && limits.minTxFeeRate !== undefined && offer.txFeeRate < limits.minTxFeeRate) {
    throw new TxFeeRateBelowMempoolMinimumError(`offer ${offer.id}: ${fee}`);
  }
  if (fee) throw new TxFeeRateAboveLimitError(`offer ${offer.id}: ${fee}`);
  const opening = openingFeeOutsideLimit(
    offer.openingFee,
    takerMargin(offer, order.quantity, order.leverage),
    limits.maxOpeningFeeBps,
  );
  if (opening) throw new OpeningFeeAboveLimitError(`offer ${offer.id}: ${opening}`);
}
