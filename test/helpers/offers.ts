/** Offers for specs: the one shape of a BTCUSD offer, with what each spec changes. */
import type { Offer } from '../../model/offer.ts';
import { nextEventTime, oracleEventId } from '../../model/oracle-event.ts';
import { parseFundingRate, price } from '../../model/units.ts';

/**
 * The BTCUSD offer the specs trade: short maker at 54,000, 100 to 10,000 contracts in lots of 100,
 * settling `settlementIntervalS` after `now` on an oracle grid of `eventIntervalS`.
 */
export function gridOffer(
  now: number,
  settlementIntervalS: number,
  eventIntervalS?: number,
  over: Partial<Offer> = {},
): Offer {
  return {
    id: `offer-${now}`,
    symbol: 'BTCUSD',
    makerPosition: 'short',
    price: price(54_000),
    minQuantity: 100n,
    maxQuantity: 10_000n,
    lotSize: 100n,
    leverageChoices: [1, 2, 5],
    fundingRate: parseFundingRate('0.0001'),
    openingFee: 100n,
    txFeeRate: 2n,
    settlementIntervalSecs: settlementIntervalS,
    oracleEventId: oracleEventId(nextEventTime(now + settlementIntervalS, eventIntervalS)),
    createdAt: now,
    ...over,
  };
}

/**
 * The offer the model and service specs check orders against: 50,000, up to 1,000 contracts,
 * opening fee 2, fee rate 1, settling a day after `now`.
 */
export function smallOffer(now: number, over: Partial<Offer> = {}): Offer {
  return gridOffer(now, 86_400, undefined, {
    id: 'offer-1',
    price: price(50_000),
    maxQuantity: 1_000n,
    openingFee: 2n,
    txFeeRate: 1n,
    ...over,
  });
}
