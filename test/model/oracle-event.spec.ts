// Olivia event ids per product: BXBT for BTCUSD, BETH for ETHUSD.
import assert from 'node:assert/strict';
import {
  oracleEventId,
  oracleEventIndex,
  oracleEventTime,
  parseOracleEventId,
} from '../../model/oracle-event.ts';
import { PRODUCTS } from '../../model/product.ts';

const T = 1_650_000_000 - (1_650_000_000 % 3600); // 2022-04-15T05:00:00Z

describe('model/oracle-event', () => {
  it('names each product its index: BXBT for BTCUSD, BETH for ETHUSD, at the same time', () => {
    const btc = oracleEventId(T, PRODUCTS.BTCUSD.oracleIndex);
    const eth = oracleEventId(T, PRODUCTS.ETHUSD.oracleIndex);
    assert.equal(btc, '/x/BitMEX/BXBT/2022-04-15T05:00:00.price?n=20');
    assert.equal(eth, '/x/BitMEX/BETH/2022-04-15T05:00:00.price?n=20');
    assert.equal(oracleEventId(T), btc, 'BXBT unless told');
    assert.deepEqual(parseOracleEventId(eth), { index: 'BETH', unixSeconds: T });
    assert.equal(oracleEventIndex(btc), 'BXBT');
    assert.equal(oracleEventTime(eth), T);
  });

  it('refuses other indices and malformed BETH ids', () => {
    for (const id of [
      '/x/BitMEX/BSOL/2022-04-15T05:00:00.price?n=20',
      '/x/BitMEX/beth/2022-04-15T05:00:00.price?n=20',
      '/x/BitMEX/BETH/2022-02-30T05:00:00.price?n=20',
      '/x/BitMEX/BETH/2022-04-15T05:00:00.price?n=19',
    ]) {
      assert.throws(() => parseOracleEventId(id), { name: 'InvalidOracleEventIdError' }, id);
    }
    assert.throws(() => oracleEventId(T, 'BSOL' as 'BETH'), { name: 'InvalidOracleEventIdError' });
  });
});
