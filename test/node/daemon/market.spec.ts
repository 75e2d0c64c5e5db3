// The maker's offers per product: each from its own quote, on its own oracle index, in its lots.
import assert from 'node:assert/strict';
import { validateOffer } from '../../../model/offer.ts';
import { oracleEventIndex } from '../../../model/oracle-event.ts';
import { parsePrice, price } from '../../../model/units.ts';
import { loadConfig } from '../../../node/daemon/config.ts';
import { policyFromConfig } from '../../../node/daemon/maker-policy.ts';
import { makerOffers, productQuantities } from '../../../node/daemon/market.ts';
import { OffersMessage, offerToWire } from '../../../protocols/offer/messages.ts';
import { decode, encode } from '../../../protocols/wire.ts';
import { tempDirEach } from '../../helpers/cfd-fixtures.ts';

const NOW = 1_700_000_000;

describe('node/daemon/market', () => {
  const dir = tempDirEach();

  it('offers ETHUSD from its own quote on BETH events, in lots of 1, beside BTCUSD', async () => {
    const config = await loadConfig({
      role: 'maker',
      flags: { datadir: dir.path, products: 'BTCUSD,ETHUSD' },
    });
    const policy = policyFromConfig(config.maker);
    const at = (symbol: 'BTCUSD' | 'ETHUSD', bid: number, ask: number) =>
      makerOffers({
        policy,
        time: config.time,
        txFeeRate: 1n,
        now: NOW,
        bid: price(bid),
        ask: price(ask),
        symbol,
      });
    const btc = at('BTCUSD', 40_000, 40_001);
    const eth = at('ETHUSD', 3_000, 3_001);
    assert.deepEqual(
      eth.map((o) => [o.id, o.symbol, o.makerPosition]),
      [
        [`ETHUSD-short-${NOW}`, 'ETHUSD', 'short'],
        [`ETHUSD-long-${NOW}`, 'ETHUSD', 'long'],
      ],
    );
    // The default spread (10 bp) around ETH's own quote, not BTC's.
    assert.equal(eth[0]!.price, parsePrice('3004.001'));
    assert.equal(eth[1]!.price, price(2_997));
    for (const o of eth) {
      assert.equal(oracleEventIndex(o.oracleEventId), 'BETH');
      assert.deepEqual([o.minQuantity, o.maxQuantity, o.lotSize], [1n, 100n, 1n]);
      validateOffer(o);
    }
    for (const o of btc) {
      assert.equal(oracleEventIndex(o.oracleEventId), 'BXBT');
      assert.deepEqual([o.minQuantity, o.maxQuantity, o.lotSize], [100n, 10_000n, 100n]);
    }
    // Same event time for both products: only the index differs.
    assert.equal(eth[0]!.oracleEventId.replace('/BETH/', '/BXBT/'), btc[0]!.oracleEventId);
    // Over the wire and back, symbol and all.
    const wire = decode(
      encode({ type: 'offers', offers: [...btc, ...eth].map(offerToWire) }),
      OffersMessage,
    );
    assert.deepEqual(wire.offers, [...btc, ...eth]);
  });

  it("an ETHUSD offer on a BXBT event is refused: it would settle at bitcoin's price", () => {
    const [o] = makerOffers({
      policy: policyFromConfig({
        products: ['ETHUSD'],
        spreadBps: 0,
        minQuantity: 100,
        maxQuantity: 1000,
        lotSize: 100,
        leverageChoices: [1, 2],
        fundingRate: '0',
        openingFee: 0,
        txFeeRate: 1,
        autoAccept: true,
      }),
      time: { settlementIntervalSecs: 3600, oracleEventIntervalSecs: 60 } as never,
      txFeeRate: 1n,
      now: NOW,
      bid: price(3_000),
      ask: price(3_001),
      symbol: 'ETHUSD',
    });
    assert.throws(
      () => validateOffer({ ...o!, oracleEventId: o!.oracleEventId.replace('/BETH/', '/BXBT/') }),
      { name: 'InvalidOfferError', message: /not a BETH event/ },
    );
    assert.deepEqual(
      productQuantities({ minQuantity: '100', maxQuantity: '1000', lotSize: '100' }, 'ETHUSD'),
      {
        minQuantity: 1n,
        maxQuantity: 10n,
        lotSize: 1n,
      },
    );
  });

  it('two makers quoting in the same second publish different offer ids (a taker orders by id)', async () => {
    const c = await loadConfig({ role: 'maker', flags: { datadir: dir.path } });
    const quote = (maker: string) =>
      makerOffers({
        policy: policyFromConfig(c.maker),
        time: c.time,
        txFeeRate: 1n,
        now: 1_800_000_000,
        bid: price(50_000),
        ask: price(50_001),
        maker,
      }).map((o) => o.id);
    const a = quote('12D3KooWEsKMxSsssnbEnDEWUhjZdShFtKD9wCwCNRpeDUaD6oFP');
    const b = quote('12D3KooWRaQXnaq2DxShAur7WeFuquhYZchN89vrgPLorCp9STP2');
    assert.equal(new Set([...a, ...b]).size, 4, `${a} / ${b}`);
    // Each id stays within the wire's 64 characters.
    for (const id of [...a, ...b]) assert.ok(id.length <= 64, id);
  });
});
