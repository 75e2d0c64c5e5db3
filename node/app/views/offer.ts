/**
 * Offers as the API sends them, with each leverage's margin, liquidation and funding per lot.
 * Sats and prices are decimal strings (format.ts).
 */

import { fundingFee, liquidationPrice, margin } from '../../../model/fees.ts';
import { offerOutsideLimits, type TakerLimits } from '../../../model/limits.ts';
import type { Offer } from '../../../model/offer.ts';
import {
  formatFundingRate,
  formatPrice,
  type Leverage,
  opposite,
  type Position,
} from '../../../model/units.ts';
import { liquidation } from './format.ts';

// offers

export interface LeverageView {
  readonly leverage: Leverage;
  /** The taker's margin for one lot at this leverage, sats. */
  readonly marginPerLot: string;
  /** The taker's liquidation price; null when it cannot be liquidated. */
  readonly liquidationPrice: string | null;
  /**
   * Funding the taker's side pays (positive) or receives (negative) for one lot over the first
   * settlement interval, sats; charged at contract setup.
   */
  readonly fundingPerLot: string;
}

export interface OfferView {
  readonly id: string;
  /** Peer id of the maker publishing it. */
  readonly maker: string;
  readonly symbol: string;
  readonly makerPosition: Position;
  /** What the taker gets by taking it. */
  readonly takerPosition: Position;
  readonly price: string;
  readonly minQuantity: string;
  readonly maxQuantity: string;
  readonly lotSize: string;
  /** Per settlement interval; positive: long pays short. */
  readonly fundingRate: string;
  readonly settlementIntervalSecs: number;
  /** Sats the taker pays the maker at setup. */
  readonly openingFee: string;
  /** sat/vB of the contract's transactions. */
  readonly txFeeRate: string;
  readonly oracleEventId: string;
  /** Unix seconds. */
  readonly createdAtSecs: number;
  readonly leverages: readonly LeverageView[];
  /**
   * Taker: why no order on this offer is within the taker's limits (funding rate, fee rate, an
   * opening fee too large even for the offer's largest margin); empty when some order may be.
   * Always empty on a maker.
   */
  readonly outsideLimits: readonly string[];
}

/** `limits`: the taker's, to mark offers outside them (a maker passes none). */
export function offerView(maker: string, o: Offer, limits?: TakerLimits): OfferView {
  const takerPosition = opposite(o.makerPosition);
  return {
    id: o.id,
    maker,
    symbol: o.symbol,
    makerPosition: o.makerPosition,
    takerPosition,
    price: formatPrice(o.price),
    minQuantity: o.minQuantity.toString(),
    maxQuantity: o.maxQuantity.toString(),
    lotSize: o.lotSize.toString(),
    fundingRate: formatFundingRate(o.fundingRate),
    settlementIntervalSecs: o.settlementIntervalSecs,
    openingFee: o.openingFee.toString(),
    txFeeRate: o.txFeeRate.toString(),
    oracleEventId: o.oracleEventId,
    createdAtSecs: o.createdAt,
    leverages: o.leverageChoices.map((leverage) => {
      const fee = fundingFee({
        symbol: o.symbol,
        makerPosition: o.makerPosition,
        price: o.price,
        quantity: o.lotSize,
        takerLeverage: leverage,
        rate: o.fundingRate,
        chargedSecs: o.settlementIntervalSecs,
        settlementIntervalSecs: o.settlementIntervalSecs,
      });
      // Positive rate: long pays short.
      const takerPays = o.fundingRate >= 0n === (takerPosition === 'long');
      return {
        leverage,
        marginPerLot: margin(o.lotSize, o.price, leverage, o.symbol).toString(),
        liquidationPrice: liquidation(liquidationPrice(takerPosition, o.price, leverage, o.symbol)),
        fundingPerLot: (takerPays ? fee : -fee).toString(),
      };
    }),
    outsideLimits: limits ? offerOutsideLimits(o, limits) : [],
  };
}
