// Each maker's record as this taker saw it: connection time, last offers, and the outcomes its
// own event log recorded with that maker.
import assert from 'node:assert/strict';
import { MakerRecords } from '../../../node/daemon/maker-records.ts';
import { eventStoreEach, terms } from '../../helpers/cfd-fixtures.ts';
import { until } from '../../helpers/wait.ts';

describe('node/daemon/maker-records', () => {
  const t = eventStoreEach();

  it('counts setups and rollovers by maker from the log, and times connections', async () => {
    let now = 1_000;
    const records = new MakerRecords(() => now);
    const placed = (id: string, maker: string) => ({
      type: 'OrderPlaced',
      data: { terms: terms({ id, counterpartyPeerId: maker }) },
    });
    const ev = (type: string) => ({ type, data: {} });
    await t.store.append('cfd-1', 0, [
      placed('cfd-1', 'maker-a'),
      ev('ContractSetupCompleted'),
      ev('RolloverCompleted'),
      ev('RolloverFailed'),
    ]);
    await t.store.append('cfd-2', 0, [placed('cfd-2', 'maker-b'), ev('OrderRejected')]);
    const peers = new EventTarget();
    records.start(t.store, peers as never);
    // After the history, live events too.
    await t.store.append('cfd-3', 0, [placed('cfd-3', 'maker-a'), ev('ContractSetupFailed')]);
    const a = await until('the live events counted', () => {
      const r = records.all.get('maker-a');
      return r && r.setupsFailed === 1 ? r : undefined;
    });
    assert.deepEqual(
      [a.setupsCompleted, a.setupsFailed, a.rolloversCompleted, a.rolloversFailed],
      [1, 1, 1, 1],
    );
    assert.equal(records.all.get('maker-b')?.setupsRejected, 1);
    // Counted, but never seen on this run: no connection time.
    assert.equal(a.firstSeenMs, undefined);

    const peer = { toString: () => 'maker-a' };
    peers.dispatchEvent(new CustomEvent('peer:connect', { detail: peer }));
    now = 4_000;
    records.offered('maker-a');
    peers.dispatchEvent(new CustomEvent('peer:disconnect', { detail: peer }));
    now = 10_000;
    const r = records.all.get('maker-a')!;
    assert.deepEqual(
      [r.firstSeenMs, r.connectedMs, r.connectedSinceMs, r.lastOfferMs],
      [1_000, 3_000, undefined, 4_000],
    );
    records.stop();
  });

  it('keeps at most maxUntraded records of makers never traded with, forgetting the least recently heard', async () => {
    let now = 1_000;
    const records = new MakerRecords(() => now, 3);
    await t.store.append('cfd-1', 0, [
      {
        type: 'OrderPlaced',
        data: { terms: terms({ id: 'cfd-1', counterpartyPeerId: 'traded' }) },
      },
    ]);
    const peers = new EventTarget();
    records.start(t.store, peers as never);
    await until('the traded maker counted', () => records.traded('traded'));
    // Heard before everyone else: the first to go were it not traded with.
    records.offered('traded');
    peers.dispatchEvent(new CustomEvent('peer:connect', { detail: { toString: () => 'linked' } }));
    // A flood of makers announcing offers, one a second.
    for (let i = 0; i < 100; i++) {
      now += 1_000;
      records.offered(`sybil-${i}`);
    }
    now += 1_000;
    records.offered('sybil-98');
    now += 1_000;
    records.offered('honest');
    assert.deepEqual([...records.all.keys()].sort(), ['honest', 'linked', 'sybil-98', 'traded']);
    records.stop();
  });
});
