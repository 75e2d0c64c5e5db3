/**
 * What the web UI needs computed server-side so the browser never does money arithmetic:
 *
 * - `POST /api/orders/preview`: the taker's margin, liquidation price, funding and fees for
 *   `lots` lots of an offer at a leverage, plus the quantity in contracts to put in the order —
 *   the numbers the trade panel shows before the user confirms.
 * - {@link payoutCurvePoints}: a few dozen points of a CFD's payout curve (this node's payout
 *   by settlement price, from the same curve the CETs are built from), for the detail chart.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { payoutCurve, rowAtPrice, toRolePayouts } from '../dlc/payout-curve.ts';
import type { Cfd } from '../model/cfd.ts';
import { fundingFee, liquidationPrice, longShortLeverage, margins } from '../model/fees.ts';
import { checkOrderLimits } from '../model/limits.ts';
import { DEFAULT_MAX_CLOCK_SKEW_SECS, validateOrder } from '../model/offer.ts';
import {
  formatFundingRate,
  formatPrice,
  INFINITE_PRICE,
  MAX_LEVERAGE,
  opposite,
  PRICE_SCALE,
} from '../model/units.ts';
import { IllegalCommandError, NotFoundError, UnavailableError } from './errors.ts';
import { parseInput } from './schemas.ts';
import type { UiService } from './service.ts';

/** Most lots one preview may ask for: far above any offer's maximum, bounds the bigint work. */
const MAX_LOTS = 1_000_000;

export const PreviewBody = z.strictObject({
  offerId: z.string().min(1, 'offerId is required'),
  lots: z.int().min(1, 'lots must be at least 1').max(MAX_LOTS).describe('whole lots'),
  leverage: z.int().min(1).max(MAX_LEVERAGE),
});

export interface OrderPreview {
  readonly offerId: string;
  readonly takerPosition: 'long' | 'short';
  readonly price: string;
  readonly lots: number;
  /** Contracts: put this in the order's `quantity`. */
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
}

/** Registers `POST /api/orders/preview` (taker only). */
export function registerPreviewRoutes(app: FastifyInstance, service: UiService): void {
  app.post('/api/orders/preview', async (request) => {
    const body = parseInput(PreviewBody, request.body);
    const daemon = service.daemon;
    if (daemon.config.role !== 'taker') {
      throw new IllegalCommandError('a maker does not place orders; it publishes offers');
    }
    const now = Math.floor(Date.now() / 1000);
    const t = daemon.config.time;
    const found = daemon.offers.book
      .current(now, { maxOfferAgeSecs: t.offerMaxAgeSecs })
      .find((o) => o.offer.id === body.offerId);
    if (!found) {
      const { offers, reason } = service.offers();
      if (offers.length === 0 && reason) throw new UnavailableError(`no offers now: ${reason}`);
      throw new NotFoundError(`no current offer '${body.offerId}': offers follow the price`);
    }
    const o = found.offer;
    if (!o.leverageChoices.includes(body.leverage)) {
      throw new IllegalCommandError(
        `leverage ${body.leverage}× is not offered (choices: ${o.leverageChoices.join(', ')})`,
      );
    }
    const quantity = o.lotSize * BigInt(body.lots);
    const takerPosition = opposite(o.makerPosition);
    const size = {
      makerPosition: o.makerPosition,
      price: o.price,
      quantity,
      takerLeverage: body.leverage,
    };
    const m = margins(size);
    const fee = fundingFee({
      ...size,
      rate: o.fundingRate,
      chargedSecs: o.settlementIntervalSecs,
      settlementIntervalSecs: o.settlementIntervalSecs,
    });
    const takerPays = o.fundingRate >= 0n === (takerPosition === 'long');
    const liq = liquidationPrice(takerPosition, o.price, body.leverage);
    let problem: string | null = null;
    try {
      validateOrder(
        o,
        { offerId: o.id, symbol: 'BTCUSD', quantity, leverage: body.leverage },
        now,
        {
          maxOfferAgeSecs: t.offerMaxAgeSecs,
          eventWindowSecs: Math.max(t.oracleEventIntervalSecs, t.offerMaxAgeSecs),
          maxClockSkewSecs: DEFAULT_MAX_CLOCK_SKEW_SECS,
        },
      );
      if (daemon.limits) {
        checkOrderLimits(o, { quantity, leverage: body.leverage }, daemon.limits.limits);
      }
    } catch (err) {
      problem = (err as Error).message;
    }
    const preview: OrderPreview = {
      offerId: o.id,
      takerPosition,
      price: formatPrice(o.price),
      lots: body.lots,
      quantity: quantity.toString(),
      minLots: ((o.minQuantity + o.lotSize - 1n) / o.lotSize).toString(),
      maxLots: (o.maxQuantity / o.lotSize).toString(),
      leverage: body.leverage,
      margin: m.taker.toString(),
      counterpartyMargin: m.maker.toString(),
      liquidationPrice: liq === INFINITE_PRICE ? null : formatPrice(liq),
      fundingRate: formatFundingRate(o.fundingRate),
      settlementIntervalSecs: o.settlementIntervalSecs,
      funding: (takerPays ? fee : -fee).toString(),
      openingFee: o.openingFee.toString(),
      txFeeRate: o.txFeeRate.toString(),
      problem,
    };
    return preview;
  });
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
