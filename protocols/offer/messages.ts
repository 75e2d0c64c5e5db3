/**
 * Wire schema of `/dlcfd/offer/1.0.0`: the maker sends `{ type: 'offers', offers: [...] }`, the
 * whole current set, on connect and on every change. Amounts travel as decimal strings.
 */
import { z } from 'zod';
import type { Offer } from '../../model/offer.ts';
import {
  type ContractSymbol,
  type FundingRate,
  formatFundingRate,
  parseFundingRate,
} from '../../model/units.ts';
import { priceSchema, priceToWire, satsSchema } from '../wire.ts';
import { MAX_OFFERS_PER_MESSAGE } from './constants.ts';

const rateSchema = z
  .string()
  .regex(/^-?\d{1,2}(\.\d{1,10})?$/, 'a funding rate as a decimal string')
  .transform((s): FundingRate => parseFundingRate(s));

/** One offer on the wire (in a push and in a signed envelope). */
export const offerSchema = z.object({
  id: z.string().min(1).max(64),
  symbol: z.enum(['BTCUSD', 'ETHUSD'] satisfies ContractSymbol[]),
  makerPosition: z.enum(['long', 'short']),
  price: priceSchema,
  minQuantity: satsSchema,
  maxQuantity: satsSchema,
  lotSize: satsSchema,
  leverageChoices: z.array(z.number().int().min(1).max(100)).min(1).max(20),
  fundingRate: rateSchema,
  openingFee: satsSchema,
  txFeeRate: satsSchema,
  settlementIntervalSecs: z.number().int().positive(),
  oracleEventId: z.string().max(100),
  createdAt: z.number().int().nonnegative(),
});

export const OffersMessage = z.object({
  type: z.literal('offers'),
  offers: z.array(offerSchema).max(MAX_OFFERS_PER_MESSAGE),
});

/** An offer as JSON for the wire. */
export function offerToWire(o: Offer): Record<string, unknown> {
  return { ...o, price: priceToWire(o.price), fundingRate: formatFundingRate(o.fundingRate) };
}
