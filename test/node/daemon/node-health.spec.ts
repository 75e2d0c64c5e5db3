import assert from 'node:assert/strict';
import { join } from 'node:path';
import { CfdReadModel } from '../../../eventstore/cfd-read-model.ts';
import { EventStore } from '../../../eventstore/event-store.ts';
import { reportDatabase, reportP2p } from '../../../node/daemon/node-health.ts';
import { loadOrCreateIdentity } from '../../../node/p2p/identity.ts';
import { createP2pNode } from '../../../node/p2p/node.ts';
import { HealthRegistry } from '../../../node/runtime/health.ts';
import { tempDir, terms } from '../../helpers/cfd-fixtures.ts';
import { until } from '../../helpers/wait.ts';

describe('node/daemon/node-health', () => {
  const cleanups: (() => Promise<unknown> | unknown)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('database: the event count and open CFDs follow the log, and the line goes down when the CFD view stops following it', async () => {
    const dir = await tempDir();
    cleanups.push(() => dir.cleanup());
    const store = await EventStore.open(dir.path);
    cleanups.push(() => store.close());
    const model = await CfdReadModel.open(store);
    cleanups.push(() => model.close());
    const health = new HealthRegistry();
    cleanups.push(reportDatabase(store, model, health.reporter('database'), 10));
    const line = () => health.get('database');
    assert.equal(line()?.detail, '0 events; 0 open CFDs');

    await store.append('cfd-a', 0, [
      { type: 'OrderPlaced', data: { terms: terms({ id: 'cfd-a' }) } },
    ]);
    await until('one event shown', () => line()?.detail === '1 events; 1 open CFDs');
    await store.append('cfd-z', 0, [
      { type: 'OrderPlaced', data: { terms: terms({ id: 'cfd-z' }) } },
      { type: 'OrderRejected', data: { reason: 'no' } },
    ]);
    await until('three events shown', () => line()?.detail === '3 events; 1 open CFDs');
    assert.equal(line()?.status, 'ok');

    // The rejected CFD lives on disk only: a corrupt row and a late event stop the view.
    await store.projectionStorage('cfd').write([['closed:cfd-z', '{not json']]);
    await store.append('cfd-z', 2, [{ type: 'LockConfirmed', data: {} }]);
    await until('database down', () => line()?.status === 'down');
    assert.match(line()?.lastError?.message ?? '', /JSON/);
    assert.match(line()?.detail ?? '', /stopped following the log at event 3; restart/);
  });

  it('p2p: the peer count follows connections and disconnections', async () => {
    const dir = await tempDir();
    cleanups.push(() => dir.cleanup());
    const maker = await createP2pNode({
      privateKey: await loadOrCreateIdentity(join(dir.path, 'maker')),
      listen: ['/ip4/127.0.0.1/tcp/0'],
    });
    cleanups.push(() => maker.stop());
    const taker = await createP2pNode({
      privateKey: await loadOrCreateIdentity(join(dir.path, 'taker')),
    });
    cleanups.push(() => taker.stop());
    const makerHealth = new HealthRegistry();
    const takerHealth = new HealthRegistry();
    cleanups.push(reportP2p(maker, 'maker', makerHealth.reporter('p2p')));
    cleanups.push(reportP2p(taker, 'taker', takerHealth.reporter('p2p')));
    const address = maker.getMultiaddrs()[0]!;
    assert.equal(makerHealth.get('p2p')?.detail, `listening on ${address}; no peer connected`);
    assert.equal(takerHealth.get('p2p')?.detail, 'no peer connected');

    await taker.dial(address);
    await until('taker connected', () => takerHealth.get('p2p')?.detail === '1 peer connected');
    await until(
      'maker sees the taker',
      () => makerHealth.get('p2p')?.detail === `listening on ${address}; 1 peer connected`,
    );
    await taker.hangUp(maker.peerId);
    await until('taker alone', () => takerHealth.get('p2p')?.detail === 'no peer connected');
    await until('maker alone', () => makerHealth.get('p2p')?.detail?.endsWith('no peer connected'));
  });
});
