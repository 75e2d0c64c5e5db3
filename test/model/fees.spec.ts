// Margins, liquidation prices and funding: the ItchySats formulas with our stated rounding.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  feeOwedBy,
  fundingFee,
  initialFeeBalance,
  liquidationPrice,
  margin,
  margins,
  payoutAt,
  profit,
  quantoPnlLong,
  rolloverChargeSecs,
} from '../../model/fees.ts';
import {
  formatPrice,
  INFINITE_PRICE,
  type Position,
  parseFundingRate,
  parsePrice,
  price,
  SATS_PER_BTC,
} from '../../model/units.ts';

const DAY = 86_400;

describe('model/fees', () => {
  /** The CFD of the funding and payout cases: 1,000 contracts at 50,000, the maker short, 2×. */
  const size = {
    makerPosition: 'short' as const,
    price: price(50_000),
    quantity: 1_000n,
    takerLeverage: 2,
  };

  describe('margin', () => {
    it('is quantity / (price × leverage) BTC: 40,000 contracts at $40,000, 1× → 1 BTC', () => {
      assert.equal(margin(40_000n, price(40_000), 1), SATS_PER_BTC);
      assert.equal(margin(40_000n, price(40_000), 4), SATS_PER_BTC / 4n);
    });

    it('rounds half away from zero to the satoshi', () => {
      // 1 / 3 BTC = 33,333,333.33… sats → 33,333,333; 2 / 3 → 66,666,666.67 → 66,666,667
      assert.equal(margin(1n, price(3), 1), 33_333_333n);
      assert.equal(margin(2n, price(3), 1), 66_666_667n);
      // exactly half a satoshi: 1 / 200,000,000 BTC = 0.5 sat → 1
      assert.equal(margin(1n, price(200_000_000), 1), 1n);
    });

    it('the maker always trades at 1×; the taker at its leverage', () => {
      const m = margins({
        makerPosition: 'short',
        price: price(50_000),
        quantity: 100n,
        takerLeverage: 2,
      });
      assert.equal(m.maker, 200_000n); // 100 / 50,000 BTC
      assert.equal(m.taker, 100_000n);
      assert.equal(m.long, m.taker);
      assert.equal(m.total, 300_000n);
    });
  });

  describe('liquidation price', () => {
    it('long: P·L/(L+1); short: P·L/(L−1), as the ItchySats offer test shows', () => {
      assert.equal(formatPrice(liquidationPrice('long', price(50_000), 2)), '33333.33333333');
      assert.equal(formatPrice(liquidationPrice('short', price(50_000), 2)), '100000');
      assert.equal(formatPrice(liquidationPrice('long', price(54_000), 5)), '45000');
    });

    it('an unleveraged short cannot be liquidated', () => {
      assert.equal(liquidationPrice('short', price(50_000), 1), INFINITE_PRICE);
    });

    it('rounds half away from zero at the 8th decimal', () => {
      // 0.00000003 × 1 / 2 = 0.000000015 → 0.00000002
      assert.equal(
        formatPrice(liquidationPrice('long', parsePrice('0.00000003'), 1)),
        '0.00000002',
      );
    });
  });

  describe('funding', () => {
    /** The funding fee at `rate` over `chargedSecs` of a daily interval, on `size`. */
    const feeOver = (rate: string, chargedSecs: number) =>
      fundingFee({
        ...size,
        rate: parseFundingRate(rate),
        chargedSecs,
        settlementIntervalSecs: DAY,
      });

    it("charges the receiving side's margin × |rate| × hours / 24, rounded away from zero", () => {
      // long pays: base is the short (maker, 1×) margin = 2,000,000 sats
      const fee = feeOver('0.00024', 3600);
      // 2,000,000 × 0.00024 / 24 = 20 exactly
      assert.equal(fee, 20n);
      const odd = feeOver('0.0001', 3600);
      // 2,000,000 × 0.0001 / 24 = 8.33… → 9 (never less than the rate implies)
      assert.equal(odd, 9n);
    });

    it('when short pays, the base is the long margin', () => {
      const fee = feeOver('-0.00024', DAY);
      // long (taker, 2×) margin = 1,000,000 sats × 0.00024 = 240
      assert.equal(fee, 240n);
    });

    it('zero rate or zero time charges nothing', () => {
      assert.equal(feeOver('0', DAY), 0n);
      assert.equal(feeOver('0.1', 0), 0n);
    });

    it('a new CFD owes the opening fee plus a full interval of funding', () => {
      const balance = initialFeeBalance({
        ...size,
        openingFee: 2n,
        rate: parseFundingRate('0.00024'),
        settlementIntervalSecs: DAY,
      });
      // taker is long: opening fee 2 + funding 480 (2,000,000 × 0.00024), both long → short
      assert.equal(balance, 482n);
      assert.equal(feeOwedBy(balance, 'long'), 482n);
      assert.equal(feeOwedBy(balance, 'short'), -482n);
      const makerLong = initialFeeBalance({
        ...size,
        makerPosition: 'long',
        openingFee: 2n,
        rate: parseFundingRate('-0.00024'),
        settlementIntervalSecs: DAY,
      });
      // taker is short and pays the opening fee; short also pays funding (base: long = maker, 1×)
      assert.equal(makerLong, -2n - 480n);
    });

    it('a rollover charges every second the settlement event moves, however far', () => {
      const now = 1_000_000;
      assert.equal(rolloverChargeSecs(now + DAY, now + DAY + 3600, now, DAY), 3600);
      assert.equal(rolloverChargeSecs(now + 3600, now + 4 * 3600, now, DAY), 3 * 3600);
      // an old base (two intervals back) is charged in full: nothing accrued is erased
      assert.equal(rolloverChargeSecs(now + 3600, now + 3600 + 2 * DAY, now, DAY), 2 * DAY);
      // the old event already passed: from it to the new event, not a flat interval
      assert.equal(rolloverChargeSecs(now - 7200, now + DAY, now, DAY), DAY + 7200);
      // a new event not after the old one charges nothing
      assert.equal(rolloverChargeSecs(now + DAY, now + DAY, now, DAY), 0);
    });
  });

  describe('payout and profit', () => {
    const c = { ...size, feeBalance: 0n };

    it('at the opening price each side gets its margin back, less fees owed', () => {
      assert.deepEqual(payoutAt(c, price(50_000)), { long: 1_000_000n, short: 2_000_000n });
      assert.deepEqual(payoutAt({ ...c, feeBalance: 500n }, price(50_000)), {
        long: 999_500n,
        short: 2_000_500n,
      });
    });

    it('is clamped to the pool: below liquidation the long gets nothing', () => {
      assert.deepEqual(payoutAt(c, price(30_000)), { long: 0n, short: 3_000_000n });
      const p = payoutAt(c, price(1_000_000));
      assert.equal(p.long + p.short, 3_000_000n);
    });

    it('profit of the taker (long) when the price rises 25 %', () => {
      // Q/P0 − Q/P = 1000/50000 − 1000/62500 BTC = 0.004 BTC
      const r = profit(c, 'taker', price(62_500));
      assert.equal(r.sats, 400_000n);
      assert.equal(r.percentBasisPoints, 4_000n); // 40.00 % of a 1,000,000 sat margin
      assert.equal(profit(c, 'maker', price(62_500)).sats, -400_000n);
    });
  });

  describe('ETHUSD quanto (ItchySats quanto.rs; test/fixtures/quanto-*.json)', () => {
    const fixture = (name: string) =>
      JSON.parse(readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8'));
    const itchysats = fixture('quanto-itchysats-snapshots.json');
    const hand = fixture('quanto-hand-vectors.json');
    const eth = 'ETHUSD' as const;
    const sizeOf = (v: {
      initialPrice: string;
      quantity: string;
      makerPosition: Position;
      takerLeverage: number;
    }) => ({
      symbol: eth,
      makerPosition: v.makerPosition,
      price: parsePrice(v.initialPrice),
      quantity: BigInt(v.quantity),
      takerLeverage: v.takerLeverage,
    });

    it('margin is n·P0·m/L sats, rounded half away from zero (100 contracts at 1000 USD: 0.1 BTC at 1×)', () => {
      const c = itchysats.initialMargin;
      assert.equal(margin(100n, price(1000), c.longLeverage, eth), BigInt(c.marginLong));
      assert.equal(margin(100n, price(1000), c.shortLeverage, eth), BigInt(c.marginShort));
      // 3 · 1234.55 · 100 / 7 = 52,909.28… sats → 52,909 (hand vector)
      assert.equal(margin(3n, parsePrice('1234.55'), 7, eth), 52_909n);
      // margins() by role and side, the maker at 1×
      const m = margins(sizeOf(hand.funding[0]));
      assert.deepEqual(m, {
        long: 7_500_000n,
        short: 15_000_000n,
        maker: 15_000_000n,
        taker: 7_500_000n,
        total: 22_500_000n,
      });
      // The inverse default is untouched by the symbol argument.
      assert.equal(margin(40_000n, price(40_000), 1, 'BTCUSD'), margin(40_000n, price(40_000), 1));
    });

    it("PnL of the long is (P − P0)·m·n (ItchySats' pnl_at_closing_price_snapshot)", () => {
      const { initialPrice, quantity, cases } = itchysats.pnl;
      for (const c of cases) {
        const pnl = quantoPnlLong(
          eth,
          BigInt(quantity),
          parsePrice(initialPrice),
          price(c.closing),
        );
        assert.equal(pnl, BigInt(c.long), `at ${c.closing}`);
        assert.equal(-pnl, BigInt(c.short));
      }
    });

    it('liquidation prices are P0 ∓ P0/L in whole USD towards P0; a 1× short is liquidated at 2·P0', () => {
      for (const v of hand.liquidationPrices) {
        const p0 = parsePrice(v.initialPrice);
        assert.equal(formatPrice(liquidationPrice('long', p0, v.leverage, eth)), v.long);
        assert.equal(formatPrice(liquidationPrice('short', p0, v.leverage, eth)), v.short);
      }
      // never the inverse "infinite" short
      assert.notEqual(liquidationPrice('short', price(1500), 1, eth), INFINITE_PRICE);
    });

    it('funding is charged on the receiving side’s quanto margin, rounded up', () => {
      for (const v of hand.funding) {
        const fee = fundingFee({
          ...sizeOf(v),
          rate: parseFundingRate(v.rate),
          chargedSecs: v.chargedSecs,
          settlementIntervalSecs: v.settlementIntervalSecs,
        });
        assert.equal(fee, BigInt(v.fee), v.why);
      }
      // the initial fee balance: opening fee plus one interval, on the quanto margin
      const first = initialFeeBalance({
        ...sizeOf(hand.funding[0]),
        openingFee: 100n,
        rate: parseFundingRate('0.0005'),
        settlementIntervalSecs: 28_800,
      });
      assert.equal(first, 100n + 7_500n); // taker long pays 100 + 15,000,000 · 0.0005
    });

    it('payoutAt and profit use the linear quanto PnL, fees offset, clamped to the pool', () => {
      for (const v of hand.payoutAt) {
        const c = { ...sizeOf(v), feeBalance: BigInt(v.feeBalance) };
        assert.deepEqual(
          payoutAt(c, parsePrice(v.closing)),
          { long: BigInt(v.long), short: BigInt(v.short) },
          `at ${v.closing}, fee ${v.feeBalance}`,
        );
      }
      const c = { ...sizeOf(hand.payoutAt[0]), feeBalance: 0n };
      // +100 USD on 100 contracts: 1,000,000 sats, 13.33 % of the taker's 7,500,000
      assert.deepEqual(profit(c, 'taker', price(1600)), {
        sats: 1_000_000n,
        percentBasisPoints: 1_333n,
      });
    });
  });
});
