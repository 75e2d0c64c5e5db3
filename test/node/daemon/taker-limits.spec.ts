// The taker's limits: from flags, DLCFD_* variables and dlcfd.json; changed live, kept in
// taker-limits.json, which wins over the config from then on.
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseFundingRate } from '../../../model/units.ts';
import { loadConfig } from '../../../node/daemon/config.ts';
import {
  InvalidTakerLimitsError,
  TAKER_LIMITS_FILE,
  TakerLimitsStore,
} from '../../../node/daemon/taker-limits.ts';
import { tempDirEach } from '../../helpers/cfd-fixtures.ts';
import { silent } from '../chain/helpers.ts';

describe('node/daemon/taker-limits', () => {
  const dir = tempDirEach();

  it('defaults, and flags over the environment over dlcfd.json', async () => {
    const d = await loadConfig({ role: 'taker', flags: { datadir: dir.path } });
    assert.deepEqual(d.taker, {
      maxFundingRate: '0.003',
      maxOpeningFeeBps: 100,
      maxTxFeeRate: 100,
    });
    await writeFile(
      join(dir.path, 'dlcfd.json'),
      JSON.stringify({
        taker: { maxFundingRate: '0.002', maxOpeningFeeBps: 50, maxTxFeeRate: 20 },
      }),
    );
    const c = await loadConfig({
      role: 'taker',
      flags: { datadir: dir.path, 'max-tx-fee-rate': '30' },
      env: { DLCFD_MAX_OPENING_FEE_BPS: '70' },
    });
    assert.deepEqual(c.taker, { maxFundingRate: '0.002', maxOpeningFeeBps: 70, maxTxFeeRate: 30 });
    await assert.rejects(
      loadConfig({ role: 'taker', flags: { datadir: dir.path, 'max-funding-rate': '2' } }),
      /taker\.maxFundingRate: at most 1/,
    );
  });

  it('changes live, persists, and wins over the config on the next start', async () => {
    const config = await loadConfig({ role: 'taker', flags: { datadir: dir.path } });
    const store = await TakerLimitsStore.open({
      datadir: dir.path,
      defaults: config.taker,
      logger: silent,
    });
    assert.equal(store.version, 0);
    const seen: string[] = [];
    store.onChange((l) => seen.push(l.maxFundingRate));
    const next = await store.update({ maxFundingRate: '0.0100' });
    assert.equal(next.maxFundingRate, '0.01');
    assert.equal(store.limits.maxFundingRate, parseFundingRate('0.01'));
    assert.equal(store.version, 1);
    assert.deepEqual(seen, ['0.01']);
    await assert.rejects(store.update({ maxTxFeeRate: 0 }), InvalidTakerLimitsError);
    assert.equal(store.version, 1, 'a refused change changes nothing');
    const file = JSON.parse(await readFile(join(dir.path, TAKER_LIMITS_FILE), 'utf8'));
    assert.equal(file.limits.maxFundingRate, '0.01');
    const again = await TakerLimitsStore.open({
      datadir: dir.path,
      defaults: config.taker,
      logger: silent,
    });
    assert.deepEqual(again.current, {
      maxFundingRate: '0.01',
      maxOpeningFeeBps: 100,
      maxTxFeeRate: 100,
    });
  });
});
