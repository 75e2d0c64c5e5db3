import assert from 'node:assert/strict';
import { CfdReadModel, isTerminal } from '../../eventstore/cfd-read-model.ts';
import { CfdRepository } from '../../eventstore/cfd-repository.ts';
import { EventStore } from '../../eventstore/event-store.ts';
import { uiState } from '../../model/cfd.ts';
import { T0 } from '../helpers/cfd-fixtures.ts';
import { drive, LIFECYCLES } from '../helpers/cfd-scenarios.ts';

describe('eventstore/cfd-read-model', () => {
  let dir: { path: string; cleanup: () => Promise<void> };
  let store: EventStore;
  const models: CfdReadModel[] = [];
  const open = async (): Promise<CfdReadModel> => {
    const m = await CfdReadModel.open(store);
    models.push(m);
    return m;
  };

  beforeEach(async () => {
    const { tempDir } = await import('../helpers/cfd-fixtures.ts');
    dir = await tempDir();
    store = await EventStore.open(dir.path);
  });

  afterEach(async () => {
    for (const m of models.splice(0)) await m.close();
    await store.close();
    await dir.cleanup();
  });

  async function reopen(): Promise<void> {
    for (const m of models.splice(0)) await m.close();
    await store.close();
    store = await EventStore.open(dir.path);
  }

  it('replay after restart gives the same projection as the live one', async () => {
    const live = await open();
    const repo = new CfdRepository(store, () => T0 + 3600);
    await Promise.all(Array.from({ length: 60 }, (_, i) => drive(repo, `cfd-${i}`, i)));
    await live.waitFor(store.head);
    const liveState = await live.all();
    assert.equal(liveState.length, 60);
    // the projection agrees with folding each stream
    for (const cfd of liveState) assert.deepEqual(cfd, await repo.load(cfd.terms!.id));

    await reopen();
    const resumed = await open();
    assert.equal(resumed.applied, 0, 'nothing to replay: the checkpoint is at the head');
    assert.deepEqual(await resumed.all(), liveState);

    await reopen();
    await CfdReadModel.reset(store);
    const rebuilt = await open();
    assert.equal(rebuilt.applied, store.head);
    assert.deepEqual(await rebuilt.all(), liveState);
  });

  it('keeps only open CFDs in memory; closed ones stay on disk', async () => {
    const repo = new CfdRepository(store, () => T0 + 3600);
    const model = await open();
    const n = LIFECYCLES.length * 3;
    for (let i = 0; i < n; i++) await drive(repo, `cfd-${i}`, i);
    await model.waitFor(store.head);
    const all = await model.all();
    const terminal = all.filter(isTerminal);
    assert.ok(terminal.length > 0 && terminal.length < n);
    assert.equal(model.openCfds().length, n - terminal.length);
    assert.ok(model.openCfds().every((c) => !isTerminal(c)));
    assert.deepEqual(
      (await model.closedCfds()).map((c) => c.terms!.id).sort(),
      terminal.map((c) => c.terms!.id).sort(),
    );
    const closed = terminal[0]!;
    assert.deepEqual(await model.get(closed.terms!.id), closed);
    assert.ok(
      ['closed', 'refunded', 'punished', 'rejected', 'setupFailed'].includes(uiState(closed)),
    );

    // start-up reads open CFDs and the tail only, however many closed ones there are
    await reopen();
    await new CfdRepository(store, () => T0 + 3600).execute('cfd-late', {
      type: 'placeOrder',
      terms: (await import('../helpers/cfd-fixtures.ts')).terms({ id: 'cfd-late' }),
    });
    const resumed = await open();
    assert.equal(resumed.applied, 1);
    assert.equal(resumed.openCfds().length, n - terminal.length + 1);
  });

  it('rebuilds from the log when the stored projection has another version', async () => {
    const repo = new CfdRepository(store, () => T0 + 3600);
    for (let i = 0; i < 10; i++) await drive(repo, `cfd-${i}`, i);
    const first = await open();
    const expected = await first.all();
    await reopen();
    await store.projectionStorage('cfd').write([
      ['meta:version', '0'],
      ['open:bogus', '{}'],
    ]);
    const rebuilt = await open();
    assert.equal(rebuilt.applied, store.head);
    assert.deepEqual(await rebuilt.all(), expected);
  });

  it('reports failure in health when it cannot apply what the log holds', async () => {
    const model = await open();
    const { terms } = await import('../helpers/cfd-fixtures.ts');
    await store.append('cfd-z', 0, [
      { type: 'OrderPlaced', data: { terms: terms({ id: 'cfd-z' }) } },
      { type: 'OrderRejected', data: { reason: 'no' } },
    ]);
    await model.waitFor(2);
    assert.equal(model.health().status, 'ok');
    // The rejected CFD now lives on disk only; corrupt its row, then log a late event for it.
    await store.projectionStorage('cfd').write([['closed:cfd-z', '{not json']]);
    await store.append('cfd-z', 2, [{ type: 'LockConfirmed', data: {} }]);
    while (model.health().status === 'ok') await new Promise((r) => setTimeout(r, 5));
    assert.equal(model.health().position, 2);
    assert.match(model.health().lastError ?? '', /JSON/);
  });

  it('tells listeners which CFDs changed, after they are durable', async () => {
    const model = await open();
    const changes: string[] = [];
    model.onChange((cfds) => {
      for (const c of cfds) changes.push(`${c.terms!.id}@${c.version}`);
    });
    const repo = new CfdRepository(store, () => T0 + 3600);
    const { position } = await repo.execute('cfd-x', {
      type: 'placeOrder',
      terms: (await import('../helpers/cfd-fixtures.ts')).terms({ id: 'cfd-x' }),
    });
    await model.waitFor(position!);
    assert.deepEqual(changes, ['cfd-x@1']);
  });
});
