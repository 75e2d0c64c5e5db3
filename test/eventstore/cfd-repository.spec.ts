import assert from 'node:assert/strict';
import { CfdRepository } from '../../eventstore/cfd-repository.ts';
import { eventStoreEach, sampleCommands, T0, terms } from '../helpers/cfd-fixtures.ts';

describe('eventstore/cfd-repository', () => {
  const t = eventStoreEach();

  it('executes commands: load, decide, append at the loaded version', async () => {
    const repo = new CfdRepository(t.store, () => T0);
    const c = sampleCommands(terms({ id: 'cfd-1', role: 'maker' }));
    await repo.execute('cfd-1', c.placeOrder);
    const r = await repo.execute('cfd-1', c.startContractSetup);
    assert.deepEqual(
      r.events.map((e) => e.type),
      ['ContractSetupStarted'],
    );
    assert.equal(r.cfd.version, 2);
    assert.equal(r.position, 2);
    assert.deepEqual(await repo.load('cfd-1'), r.cfd);
  });

  it('an illegal command appends nothing', async () => {
    const repo = new CfdRepository(t.store, () => T0);
    const c = sampleCommands(terms({ id: 'cfd-1' }));
    await repo.execute('cfd-1', c.placeOrder);
    await assert.rejects(repo.execute('cfd-1', c.confirmLock), { name: 'IllegalCommandError' });
    assert.equal(t.store.head, 1);
  });

  it('an observation already recorded appends nothing', async () => {
    const repo = new CfdRepository(t.store, () => T0);
    const c = sampleCommands(terms({ id: 'cfd-1' }));
    for (const t of [
      'placeOrder',
      'startContractSetup',
      'completeContractSetup',
      'confirmLock',
    ] as const) {
      await repo.execute('cfd-1', c[t]);
    }
    const again = await repo.execute('cfd-1', c.confirmLock);
    assert.deepEqual(again.events, []);
    assert.equal(again.position, undefined);
    assert.equal(t.store.head, 4);
  });

  it('two writers deciding on the same CFD concurrently: exactly one wins', async () => {
    const repo = new CfdRepository(t.store, () => T0);
    const c = sampleCommands(terms({ id: 'cfd-1', role: 'maker' }));
    await repo.execute('cfd-1', c.placeOrder);
    // The maker's user accepts while the auto-reject timer fires.
    const results = await Promise.allSettled([
      repo.execute('cfd-1', c.startContractSetup),
      repo.execute('cfd-1', c.rejectOrder),
    ]);
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    assert.equal(won.length, 1);
    assert.equal(lost.length, 1);
    assert.equal(lost[0]!.reason.name, 'ConcurrencyError');
    const events = await t.store.readStream('cfd-1');
    assert.equal(events.length, 2);
  });
});
