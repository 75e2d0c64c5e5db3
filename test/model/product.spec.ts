// The product table: one row per symbol, ItchySats 0.6.0's values (crates/model/src/payout_curve.rs
// ETHUSD_MULTIPLIER = 0.000001 BTC; olivia.rs IndexPrice BXBT/BETH; daemon-tests lot sizes 100/1).
import assert from 'node:assert/strict';
import { isContractSymbol, PRODUCTS, product } from '../../model/product.ts';
import { CONTRACT_SYMBOLS, SATS_PER_BTC } from '../../model/units.ts';

describe('model/product', () => {
  it('has one row per symbol, keyed by its own symbol', () => {
    assert.deepEqual(Object.keys(PRODUCTS).sort(), [...CONTRACT_SYMBOLS].sort());
    for (const s of CONTRACT_SYMBOLS) assert.equal(product(s).symbol, s);
  });

  it('BTCUSD is the inverse contract on BXBT / XBTUSD, lot 100 (and the default)', () => {
    assert.deepEqual(product('BTCUSD'), {
      symbol: 'BTCUSD',
      kind: 'inverse',
      multiplierSats: 0n,
      defaultLotSize: 100n,
      oracleIndex: 'BXBT',
      feedSymbol: 'XBTUSD',
    });
    assert.equal(product(), product('BTCUSD'));
  });

  it('ETHUSD is the quanto contract: 0.000001 BTC (100 sat) per contract per USD, BETH / ETHUSD, lot 1', () => {
    const eth = product('ETHUSD');
    assert.equal(eth.kind, 'quanto');
    assert.equal(eth.multiplierSats * 1_000_000n, SATS_PER_BTC);
    assert.equal(eth.defaultLotSize, 1n);
    assert.equal(eth.oracleIndex, 'BETH');
    assert.equal(eth.feedSymbol, 'ETHUSD');
  });

  it('recognises only the table symbols', () => {
    assert.ok(isContractSymbol('ETHUSD'));
    assert.ok(isContractSymbol('BTCUSD'));
    for (const t of ['ethusd', 'XBTUSD', 'toString', '', 1, undefined]) {
      assert.equal(isContractSymbol(t), false, String(t));
    }
  });
});
