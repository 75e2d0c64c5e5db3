/**
 * What the web UI needs computed server-side so the browser never does money arithmetic, and the
 * one check an order gets before it is placed ({@link checkOrder}):
 *
 * - `POST /api/orders/preview`: the taker's margin, liquidation price, funding and fees for
 *   `lots` lots of an offer at a leverage — the numbers the trade panel shows before the user
 *   confirms.
 * - {@link payoutCurvePoints}: a few dozen points of a CFD's payout curve (this node's payout
 *   by settlement price, from the same curve the CETs are built from), for the detail chart.
 */
import { payoutCurve, rowAtPrice, toRolePayouts } from '../../dlc/payout-curve.ts';
import type { Cfd } from '../../model/cfd.ts';
import { QuantityOutOfRangeError } from '../../model/errors.ts';
import { fundingFee, liquidationPrice, longShortLeverage, margins } from '../../model/fees.ts';
import type { TakerLimits } from '../../model/limits.ts';
import { checkOrderLimits } from '../../model/limits.ts';
import type { Offer } from '../../model/offer.ts';
import { DEFAULT_MAX_SLIPPAGE_BPS, validateOrder } from '../../model/offer.ts';
import type { ContractSymbol, Contracts, Leverage } from '../../model/units.ts';
import {
  formatFundingRate,
  formatPrice,
  INFINITE_PRICE,
  opposite,
  PRICE_SCALE,
} from '../../model/units.ts';

export interface OrderPreview {
  readonly offerId: string;
  /** The product: BTCUSD (quantity in USD contracts) or ETHUSD (quanto contracts). */
  readonly symbol: ContractSymbol;
  readonly takerPosition: 'long' | 'short';
  readonly price: string;
  readonly lots: number;
  /** Contracts: `lots` × the lot size (USD of notional). */
  readonly quantity: string;
  /** The offer's range, in lots (rounded inwards). */
  readonly minLots: string;
  readonly maxLots: string;
  readonly leverage: number;
  /** Sats the taker locks. */
  readonly margin: string;
  /** Sats the maker locks. */
  readonly counterpartyMargin: string;
  /** Null when the taker's side cannot be liquidated (an unleveraged short). */
  readonly liquidationPrice: string | null;
  /** Per settlement interval; positive: long pays short. */
  readonly fundingRate: string;
  readonly settlementIntervalSecs: number;
  /** Funding for the first interval the taker pays (positive) or receives (negative), sats. */
  readonly funding: string;
  /** Sats the taker pays the maker at setup. */
  readonly openingFee: string;
  /** sat/vB of the contract's transactions. */
  readonly txFeeRate: string;
  /** Why this order would be refused as it stands (quantity out of range…), or null. */
  readonly problem: string | null;
  /** The node's default maximum slippage for an order, basis points of the confirmed price. */
  readonly defaultMaxSlippageBps: number;
}

/** The offer's quantity range in whole lots (rounded inwards). */
export function lotRange(o: Offer): { min: bigint; max: bigint } {
  return { min: (o.minQuantity + o.lotSize - 1n) / o.lotSize, max: o.maxQuantity / o.lotSize };
}

/**
 * Checks `lots` is within the offer's range of whole lots; throws
 * {@link QuantityOutOfRangeError} in lots (the order's unit), never in contracts.
 */
export function checkLots(o: Offer, lots: number): void {
  const { min, max } = lotRange(o);
  if (!Number.isInteger(lots) || BigInt(lots) < min || BigInt(lots) > max) {
    throw new QuantityOutOfRangeError(
      `${lots} lots is outside the offer's ${min}…${max} lots (a lot is ${o.lotSize} USD)`,
    );
  }
}

/** The terms an order would be checked with (offer age, event window, clock skew). */
export interface OrderChecks {
  readonly maxOfferAgeSecs: number;
  readonly eventWindowSecs: number;
  readonly maxClockSkewSecs: number;
}

/**
 * Why an order of `quantity` at `leverage` on `offer` would be refused now — the offer's own
 * rules, then the taker's limits — as the named error; nothing when it would be accepted.
 * The one check an order gets before it is placed, and the preview's `problem`.
 */
export function checkOrder(
  offer: Offer,
  order: { readonly quantity: Contracts; readonly leverage: Leverage },
  nowSecs: number,
  checks: OrderChecks,
  limits: TakerLimits | undefined,
): void {
  validateOrder(
    offer,
    { offerId: offer.id, symbol: offer.symbol, quantity: order.quantity, leverage: order.leverage },
    nowSecs,
    checks,
  );
  if (limits) checkOrderLimits(offer, order, limits);
}

/**
 * The trade panel's numbers for `lots` lots of `o` at `leverage` (module doc); `problem` is why
 * {@link checkOrder} would refuse it.
 */
export function orderPreview(
  o: Offer,
  lots: number,
  leverage: Leverage,
  problem: string | null,
): OrderPreview {
  const quantity = o.lotSize * BigInt(lots);
  const takerPosition = opposite(o.makerPosition);
  const size = {
    symbol: o.symbol,
    makerPosition: o.makerPosition,
    price: o.price,
    quantity,
    takerLeverage: leverage,
  };
  const m = margins(size);
  const fee = fundingFee({
    ...size,
    rate: o.fundingRate,
    chargedSecs: o.settlementIntervalSecs,
    settlementIntervalSecs: o.settlementIntervalSecs,
  });
  const takerPays = o.fundingRate >= 0n === (takerPosition === 'long');
  const liq = liquidationPrice(takerPosition, o.price, leverage, o.symbol);
  return {
    offerId: o.id,
    symbol: o.symbol,
    takerPosition,
    price: formatPrice(o.price),
    lots,
    quantity: quantity.toString(),
    minLots: lotRange(o).min.toString(),
    maxLots: lotRange(o).max.toString(),
    leverage,
    margin: m.taker.toString(),
    counterpartyMargin: m.maker.toString(),
    liquidationPrice: liq === INFINITE_PRICE ? null : formatPrice(liq),
    fundingRate: formatFundingRate(o.fundingRate),
    settlementIntervalSecs: o.settlementIntervalSecs,
    funding: (takerPays ? fee : -fee).toString(),
    openingFee: o.openingFee.toString(),
    txFeeRate: o.txFeeRate.toString(),
    problem,
    defaultMaxSlippageBps: DEFAULT_MAX_SLIPPAGE_BPS,
  };
}

/** One point of a payout chart: whole-USD settlement price → this node's payout, sats. */
export interface CurvePoint {
  readonly price: string;
  readonly payout: string;
}

/** Points of the chart; enough for a smooth line, few enough to send with every detail view. */
export const CURVE_POINTS = 48;

/**
 * This node's payout across the interesting price range — from a little below the long's
 * liquidation to a little above the short's (or 2× the opening price when the short cannot be
 * liquidated) — sampled from the CFD's payout curve with its fee balance applied. Empty for a
 * CFD without terms.
 */
export function payoutCurvePoints(cfd: Cfd): CurvePoint[] {
  const t = cfd.terms;
  if (!t) return [];
  const makerPosition = t.role === 'maker' ? t.position : opposite(t.position);
  const lev = longShortLeverage(makerPosition, t.takerLeverage);
  const curve = payoutCurve({
    symbol: t.symbol,
    initialPrice: t.initialPrice,
    quantity: t.quantity,
    longLeverage: lev.long,
    shortLeverage: lev.short,
    feeBalance: cfd.feeBalance,
  });
  const p0 = Number(t.initialPrice / PRICE_SCALE);
  const lo = Math.max(1, Math.floor(curve.longLiquidation.end * 0.8));
  const top = curve.shortLiquidation ? curve.shortLiquidation.start * 1.1 : 2 * p0;
  const hi = Math.min(Math.ceil(top), curve.rows[curve.rows.length - 1]!.end);
  const points: CurvePoint[] = [];
  for (let i = 0; i < CURVE_POINTS; i++) {
    const price = Math.round(lo + ((hi - lo) * i) / (CURVE_POINTS - 1));
    const [row] = toRolePayouts([rowAtPrice(curve.rows, price)], makerPosition);
    points.push({
      price: String(price),
      payout: String(t.role === 'maker' ? row!.maker : row!.taker),
    });
  }
  return points;
}
