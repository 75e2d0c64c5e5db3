import assert from 'node:assert/strict';
import { EventStore, type RecordedEvent } from '../../eventstore/event-store.ts';
import { eventStoreEach } from '../helpers/cfd-fixtures.ts';

const ev = (type: string, data: unknown = {}) => ({ type, data });

describe('eventstore/event-store', () => {
  const t = eventStoreEach();

  it('appends with versions and global positions, and reads them back after reopening', async () => {
    assert.deepEqual(await t.store.append('a', 0, [ev('One', { n: 1n }), ev('Two')]), {
      version: 2,
      position: 2,
    });
    assert.deepEqual(await t.store.append('b', 0, [ev('One')]), { version: 1, position: 3 });
    assert.deepEqual(await t.store.append('a', 2, [ev('Three', { big: 2n ** 64n })]), {
      version: 3,
      position: 4,
    });
    await t.store.close();
    t.store = await EventStore.open(t.path);
    assert.equal(t.store.head, 4);
    assert.equal(await t.store.version('a'), 3);
    const a = await t.store.readStream('a');
    assert.deepEqual(
      a.map((e) => [e.version, e.position, e.type]),
      [
        [1, 1, 'One'],
        [2, 2, 'Two'],
        [3, 4, 'Three'],
      ],
    );
    assert.deepEqual(a[0]!.data, { n: 1n });
    assert.deepEqual(a[2]!.data, { big: 2n ** 64n });
    assert.deepEqual(
      (await t.store.readStream('a', 3)).map((e) => e.type),
      ['Three'],
    );
    assert.deepEqual(
      (await t.store.readAll(0)).map((e) => `${e.streamId}/${e.version}`),
      ['a/1', 'a/2', 'b/1', 'a/3'],
    );
    assert.deepEqual(
      (await t.store.readAll(1, 2)).map((e) => e.position),
      [2, 3],
    );
    // appending continues the sequence after a restart
    assert.deepEqual(await t.store.append('b', 1, [ev('Two')]), { version: 2, position: 5 });
  });

  it('a stale expected version is refused and writes nothing', async () => {
    await t.store.append('a', 0, [ev('One')]);
    await assert.rejects(t.store.append('a', 0, [ev('Other')]), {
      name: 'ConcurrencyError',
      message: /at version 1, not the expected 0/,
    });
    await assert.rejects(t.store.append('a', 5, [ev('Other')]), { name: 'ConcurrencyError' });
    assert.deepEqual(
      (await t.store.readStream('a')).map((e) => e.type),
      ['One'],
    );
    assert.equal(t.store.head, 1);
  });

  it('two concurrent writers on one fresh stream: exactly one wins', async () => {
    for (let round = 0; round < 20; round++) {
      const id = `race-${round}`;
      const results = await Promise.allSettled([
        t.store.append(id, 0, [ev('Writer1'), ev('Writer1')]),
        t.store.append(id, 0, [ev('Writer2')]),
      ]);
      const won = results.filter((r) => r.status === 'fulfilled');
      const lost = results.filter((r) => r.status === 'rejected');
      assert.equal(won.length, 1);
      assert.equal((lost[0] as PromiseRejectedResult).reason.name, 'ConcurrencyError');
      const types = new Set((await t.store.readStream(id)).map((e) => e.type));
      assert.equal(types.size, 1, 'events of only one writer');
    }
  });

  it('refuses appends that cannot be valid', async () => {
    await assert.rejects(t.store.append('a', 0, []), { name: 'InvalidAppendError' });
    await assert.rejects(t.store.append('bad:id', 0, [ev('X')]), { name: 'InvalidAppendError' });
    await assert.rejects(t.store.append('a', -1, [ev('X')]), { name: 'InvalidAppendError' });
  });

  it('commits concurrent appends together: one fsync for many', async () => {
    const before = t.store.stats();
    await Promise.all(
      Array.from({ length: 200 }, (_, i) => t.store.append(`cfd-${i}`, 0, [ev('Placed', { i })])),
    );
    const after = t.store.stats();
    assert.equal(after.events - before.events, 200);
    const writes = after.writes - before.writes;
    assert.ok(writes < 50, `200 concurrent appends took ${writes} synced writes`);
    // positions are contiguous whatever the interleaving
    const all = await t.store.readAll(0);
    assert.deepEqual(
      all.map((e) => e.position),
      Array.from({ length: 200 }, (_, i) => i + 1),
    );
  });

  it('subscribers catch up from a position, then get live events in order, only once durable', async () => {
    for (let i = 0; i < 2500; i++) await t.store.append(`h-${i % 7}`, Math.floor(i / 7), [ev('H')]);
    const seen: RecordedEvent[] = [];
    let sawUndurable = false;
    const sub = t.store.subscribe(100, (batch) => {
      for (const e of batch) if (e.position > t.store.head) sawUndurable = true;
      seen.push(...batch);
    });
    await sub.caughtUp;
    assert.equal(sub.position, 2500);
    await Promise.all(
      Array.from({ length: 300 }, (_, i) => t.store.append(`live-${i}`, 0, [ev('L1'), ev('L2')])),
    );
    while (sub.position < t.store.head) await new Promise((r) => setTimeout(r, 5));
    sub.close();
    await sub.done;
    assert.equal(sawUndurable, false);
    assert.deepEqual(
      seen.map((e) => e.position),
      Array.from({ length: 2500 - 100 + 600 }, (_, i) => 101 + i),
    );
  });

  it('a slow subscriber misses nothing (its live queue overflows to disk reads)', async () => {
    const seen: number[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const sub = t.store.subscribe(0, async (batch) => {
      await gate;
      for (const e of batch) seen.push(e.position);
    });
    await sub.caughtUp;
    for (let round = 0; round < 5; round++) {
      await Promise.all(
        Array.from({ length: 3000 }, (_, i) => t.store.append(`s-${round}-${i}`, 0, [ev('X')])),
      );
    }
    assert.equal(t.store.stats().overflows, 1, 'the blocked subscriber overflowed');
    release();
    while (sub.position < t.store.head) await new Promise((r) => setTimeout(r, 10));
    sub.close();
    await sub.done;
    assert.deepEqual(
      seen,
      Array.from({ length: 15_000 }, (_, i) => i + 1),
    );
  });

  it('a subscription whose handler throws ends without taking the store down', async () => {
    await t.store.append('a', 0, [ev('One')]);
    const sub = t.store.subscribe(0, () => {
      throw new Error('projection bug');
    });
    await sub.done;
    assert.deepEqual(await t.store.append('a', 1, [ev('Two')]), { version: 2, position: 2 });
  });

  it('reports health and refuses appends after close', async () => {
    await t.store.append('a', 0, [ev('One')]);
    assert.deepEqual(t.store.health(), { status: 'ok', head: 1, lastError: undefined });
    await t.store.close();
    assert.equal(t.store.health().status, 'closed');
    await assert.rejects(t.store.append('a', 1, [ev('Two')]), { name: 'EventStoreClosedError' });
    t.store = await EventStore.open(t.path);
  });
});
