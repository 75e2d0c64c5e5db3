// The daemon-side checks of an order against an offer: each failure is a named error.
import assert from 'node:assert/strict';
import { cetFeeAt } from '../../dlc/transactions.ts';
import { margins } from '../../model/fees.ts';
import {
  minMargin,
  type Offer,
  type Order,
  validateOffer,
  validateOrder,
} from '../../model/offer.ts';
import { oracleEventId, oracleEventTime } from '../../model/oracle-event.ts';
import { parseFundingRate, price } from '../../model/units.ts';
import { smallOffer } from '../helpers/offers.ts';

const NOW = 1_700_000_000;
const DAY = 86_400;

function offer(over: Partial<Offer> = {}): Offer {
  return smallOffer(NOW, {
    fundingRate: parseFundingRate('0.00024'),
    createdAt: NOW - 30,
    ...over,
  });
}

const order = (over: Partial<Order> = {}): Order => ({
  offerId: 'offer-1',
  symbol: 'BTCUSD',
  quantity: 300n,
  leverage: 2,
  ...over,
});

describe('model/offer', () => {
  it('accepts an order within the offer', () => {
    validateOrder(offer(), order(), NOW);
    validateOrder(offer(), order({ quantity: 100n, leverage: 1 }), NOW);
    validateOrder(offer(), order({ quantity: 1_000n, leverage: 5 }), NOW);
  });

  const refused: [string, Partial<Offer>, Partial<Order>, string][] = [
    ['below the minimum quantity', {}, { quantity: 0n }, 'QuantityOutOfRangeError'],
    ['above the maximum quantity', {}, { quantity: 1_100n }, 'QuantityOutOfRangeError'],
    ['not a whole number of lots', {}, { quantity: 250n }, 'QuantityNotMultipleOfLotSizeError'],
    ['a leverage not offered', {}, { leverage: 3 }, 'LeverageNotOfferedError'],
    ['another symbol', {}, { symbol: 'ETHUSD' as 'BTCUSD' }, 'SymbolMismatchError'],
    ['an offer older than 10 minutes', { createdAt: NOW - 601 }, {}, 'StaleOfferError'],
    ['an offer stamped in the future', { createdAt: NOW + 120 }, {}, 'StaleOfferError'],
    [
      'a settlement event 3 h early',
      { oracleEventId: oracleEventId(Math.ceil((NOW + DAY) / 3600) * 3600 - 3 * 3600) },
      {},
      'OracleEventOutOfWindowError',
    ],
    [
      'a settlement event 2 days out',
      { oracleEventId: oracleEventId(Math.ceil((NOW + 2 * DAY) / 3600) * 3600) },
      {},
      'OracleEventOutOfWindowError',
    ],
    ['another offer id', {}, { offerId: 'offer-2' }, 'InvalidOfferError'],
    ['an offer with min above max', { minQuantity: 2_000n }, {}, 'InvalidOfferError'],
    ['an offer without leverage choices', { leverageChoices: [] }, {}, 'InvalidOfferError'],
    ['an offer with leverage 0', { leverageChoices: [0] }, {}, 'InvalidOfferError'],
    ['an offer with a fee rate of 0', { txFeeRate: 0n }, {}, 'InvalidOfferError'],
    [
      'an offer with a malformed event id',
      { oracleEventId: '/x/BitMEX/BXBT/soon.price?n=20' },
      {},
      'InvalidOracleEventIdError',
    ],
  ];
  for (const [what, o, r, name] of refused) {
    it(`refuses ${what} with ${name}`, () => {
      assert.throws(
        () => validateOrder(offer(o), order(r), NOW),
        (e: Error) => e.name === name && e.message.length > 10,
      );
    });
  }

  it('offer staleness and the event window are configurable (compressed testnets)', () => {
    const fast = offer({
      settlementIntervalSecs: 600,
      oracleEventId: oracleEventId(Math.ceil((NOW + 600) / 60) * 60),
      createdAt: NOW - 20,
    });
    const policy = { maxOfferAgeSecs: 30, eventWindowSecs: 60, maxClockSkewSecs: 5 };
    validateOrder(fast, order(), NOW, policy);
    assert.throws(() => validateOrder(fast, order(), NOW + 11, policy), {
      name: 'StaleOfferError',
    });
  });

  it('refuses an offer whose settlement event is less than half an interval away, whatever the window', () => {
    // A 60 s testnet interval with a 600 s window (the offer age): an offer 50 s old names an
    // event 10 s away, one 70 s old an event already past — attested, or about to be, before
    // any rollover could move it. Half the interval ahead is the least a new contract gets.
    const policy = { maxOfferAgeSecs: 600, eventWindowSecs: 600, maxClockSkewSecs: 5 };
    const made = NOW - 50;
    const old = offer({
      settlementIntervalSecs: 60,
      oracleEventId: oracleEventId(made + 60),
      createdAt: made,
    });
    assert.throws(() => validateOrder(old, order(), NOW, policy), {
      name: 'OracleEventOutOfWindowError',
      message: /is 10 s away; at least half the settlement interval \(30 s\) is needed/,
    });
    assert.throws(() => validateOrder(old, order(), NOW + 20, policy), {
      name: 'OracleEventOutOfWindowError',
    });
    validateOrder(old, order(), NOW - 20, policy);
  });

  describe('minimum margin', () => {
    // An ETHUSD quanto offer as a maker would post it, with the lot size of 1 contract.
    const eth = (over: Partial<Offer> = {}): Offer =>
      offer({
        symbol: 'ETHUSD',
        price: price(3_000),
        minQuantity: 1n,
        lotSize: 1n,
        maxQuantity: 1_000n,
        leverageChoices: [1, 2, 5, 100],
        oracleEventId: oracleEventId(Math.ceil((NOW + DAY) / 3600) * 3600, 'BETH'),
        ...over,
      });
    const ethOrder = (over: Partial<Order> = {}): Order =>
      order({ symbol: 'ETHUSD', quantity: 1n, leverage: 2, ...over });

    it('is half the anchored CET fee plus the largest dust limit', () => {
      assert.equal(minMargin(1n), (cetFeeAt(1n, { anchors: true }) + 1n) / 2n + 546n);
      assert.ok(minMargin(100n) > minMargin(1n));
    });

    it('refuses a 1-contract ETHUSD order whose taker margin would be dust', () => {
      // 1 contract × 3,000 USD × 100 sat / 100× = 3,000 sats: fine at 1 sat/vB, not at 10.
      validateOrder(eth(), ethOrder({ leverage: 100 }), NOW);
      assert.throws(
        () => validateOrder(eth({ txFeeRate: 10n }), ethOrder({ leverage: 100 }), NOW),
        {
          name: 'MarginBelowMinimumError',
          message:
            /taker's margin of 3000 sats for 1 ETHUSD contracts at 100× is below the minimum/,
        },
      );
    });

    it('refuses a quanto order at an absurd price whose margins round to dust, both sides', () => {
      // A maker quoting ETH at 2 USD: 1 contract is 200 sats of margin at 1×, the maker's too.
      const cheap = eth({ price: price(2) });
      const m = margins({
        symbol: 'ETHUSD',
        makerPosition: 'short',
        price: cheap.price,
        quantity: 1n,
        takerLeverage: 1,
      });
      assert.equal(m.maker, 200n);
      assert.throws(() => validateOrder(cheap, ethOrder({ leverage: 1 }), NOW), {
        name: 'MarginBelowMinimumError',
      });
      // Enough contracts lift both margins above the floor.
      validateOrder(cheap, ethOrder({ leverage: 1, quantity: 10n }), NOW);
    });

    it('applies to BTCUSD too: one lot at 100× is refused at a high fee rate', () => {
      const btc = offer({ leverageChoices: [1, 100], txFeeRate: 20n });
      // 100 USD at 50,000 USD/BTC / 100 = 2,000 sats, below half of a 20 sat/vB anchored CET fee.
      assert.throws(() => validateOrder(btc, order({ quantity: 100n, leverage: 100 }), NOW), {
        name: 'MarginBelowMinimumError',
      });
      validateOrder(btc, order({ quantity: 100n, leverage: 1 }), NOW);
    });
  });

  it('validates offers on their own', () => {
    validateOffer(offer());
    assert.throws(() => validateOffer(offer({ price: 0n as Offer['price'] })), {
      name: 'InvalidOfferError',
    });
  });

  describe('oracle event ids', () => {
    it('round-trips the real id of the production contract', () => {
      const id = '/x/BitMEX/BXBT/2022-04-15T01:00:00.price?n=20';
      assert.equal(oracleEventTime(id), Date.UTC(2022, 3, 15, 1) / 1000);
      assert.equal(oracleEventId(oracleEventTime(id)), id);
    });

    it('refuses ids that are not olivia BXBT or BETH price events or name impossible times', () => {
      for (const bad of [
        '/x/BitMEX/BXBT/2022-04-15T01:00:00.price?n=18',
        '/x/BitMEX/BSOL/2022-04-15T01:00:00.price?n=20',
        '/x/BitMEX/BXBT/2022-02-30T01:00:00.price?n=20',
        'x/BitMEX/BXBT/2022-04-15T01:00:00.price?n=20',
      ]) {
        assert.throws(() => oracleEventTime(bad), { name: 'InvalidOracleEventIdError' }, bad);
      }
    });
  });
});
