// The warning band before a liquidation and which side a settlement price liquidates, at the
// edges, in fixed point.
import assert from 'node:assert/strict';
import { liquidationPrice } from '../../model/fees.ts';
import {
  inLiquidationBand,
  LIQUIDATION_WARNING_BPS,
  liquidatedSide,
  liquidationDistanceBps,
} from '../../model/liquidation.ts';
import { price } from '../../model/units.ts';

describe('model/liquidation', () => {
  const p0 = price(50_000);

  it('measures the distance to the liquidation price in basis points of the price, safe side positive', () => {
    // A 2× long is liquidated at 33,333.33: 16.66 % below 40,000.
    const liq = liquidationPrice('long', p0, 2);
    assert.equal(liquidationDistanceBps('long', price(40_000), liq), 1666n);
    assert.equal(liquidationDistanceBps('long', price(30_000), liq), -1111n);
    // A 2× short is liquidated at 100,000.
    assert.equal(liquidationDistanceBps('short', price(95_000), price(100_000)), 526n);
  });

  it('warns within 10 % of the liquidation price and past it, not before; never an unleveraged short', () => {
    assert.equal(LIQUIDATION_WARNING_BPS, 1_000n);
    assert.equal(inLiquidationBand('long', p0, 2, price(37_500)), false); // 11.11 % away
    assert.equal(inLiquidationBand('long', p0, 2, price(37_000)), true); // 9.9 % away
    assert.equal(inLiquidationBand('long', p0, 2, price(20_000)), true); // past it
    assert.equal(inLiquidationBand('short', p0, 2, price(91_000)), true); // 9.9 % away
    assert.equal(inLiquidationBand('short', p0, 2, price(89_000)), false);
    assert.equal(inLiquidationBand('short', p0, 1, price(1_000_000)), false);
    // The band is a parameter: 20 % warns earlier.
    assert.equal(inLiquidationBand('long', p0, 2, price(40_000), 2_000n), true);
  });

  it('names the side a settlement price liquidates', () => {
    const contract = {
      makerPosition: 'short' as const,
      initialPrice: p0,
      takerLeverage: 2 as const,
    };
    // The taker is long 2× (liquidated at 33,333.33), the maker short 1× (never).
    assert.equal(liquidatedSide(contract, price(33_333)), 'long');
    assert.equal(liquidatedSide(contract, price(33_334)), undefined);
    assert.equal(liquidatedSide(contract, price(1_000_000)), undefined);
    // A short taker at 2× is liquidated at 100,000; the long maker at 1× at 25,000.
    const flipped = { ...contract, makerPosition: 'long' as const };
    assert.equal(liquidatedSide(flipped, price(100_000)), 'short');
    assert.equal(liquidatedSide(flipped, price(25_000)), 'long');
    assert.equal(liquidatedSide(flipped, price(60_000)), undefined);
  });

  it('ETHUSD quanto: the side liquidated at the whole-USD bankruptcy prices P0 ∓ P0/L, warned 10 % before', () => {
    // 1500 USD, taker long 2× (liquidated at 750), maker short 1× (at 3000: finite, unlike inverse).
    const eth = {
      symbol: 'ETHUSD' as const,
      makerPosition: 'short' as const,
      initialPrice: price(1500),
      takerLeverage: 2 as const,
    };
    assert.equal(liquidatedSide(eth, price(750)), 'long');
    assert.equal(liquidatedSide(eth, price(751)), undefined);
    assert.equal(liquidatedSide(eth, price(2999)), undefined);
    assert.equal(liquidatedSide(eth, price(3000)), 'short');
    // The same terms as BTCUSD (no symbol) never liquidate the 1× short.
    const { symbol: _, ...btc } = eth;
    assert.equal(liquidatedSide(btc, price(3000)), undefined);
    // Band: 10 % of the price around 750 and 3000; a 1× quanto long is never warned (liquidated at 0).
    assert.equal(inLiquidationBand('long', price(1500), 2, price(830), undefined, 'ETHUSD'), true);
    assert.equal(inLiquidationBand('long', price(1500), 2, price(840), undefined, 'ETHUSD'), false);
    assert.equal(
      inLiquidationBand('short', price(1500), 1, price(2750), undefined, 'ETHUSD'),
      true,
    );
    assert.equal(
      inLiquidationBand('short', price(1500), 1, price(2700), undefined, 'ETHUSD'),
      false,
    );
    assert.equal(inLiquidationBand('long', price(1500), 1, price(1), undefined, 'ETHUSD'), false);
  });
});
