// The maker's offers for a quote: ids that no other maker's offers share.
import assert from 'node:assert/strict';
import { price } from '../../../model/units.ts';
import { loadConfig } from '../../../node/daemon/config.ts';
import { policyFromConfig } from '../../../node/daemon/maker-policy.ts';
import { makerOffers } from '../../../node/daemon/market.ts';
import { tempDirEach } from '../../helpers/cfd-fixtures.ts';

describe('node/daemon/market makerOffers', () => {
  const dir = tempDirEach();

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
