// The live commits of a contract record: after rollovers that failed past "pending", which commits
// may still confirm, and through which record each one closes.
import assert from 'node:assert/strict';
import { liveCommits, recordClosingThrough, revokedCommits } from '../../dlc/record.ts';
import { openContractEach, roll } from '../protocols/rollover/harness.ts';

describe('dlc/record live commits', function () {
  this.timeout(60_000);
  const p = openContractEach();

  const silentMaker = {
    makerTamper: (m: { type: string }) =>
      m.type === 'revocation' ? ('silence' as const) : undefined,
  };

  it('a set-up record: only its commit is live', () => {
    const live = liveCommits(p.taker.record);
    assert.deepEqual(
      live.map((l) => [l.txid, l.current]),
      [[p.taker.record.commit.txid, true]],
    );
    assert.equal(live[0]!.record, p.taker.record);
    assert.deepEqual(revokedCommits(p.taker.record), []);
  });

  it('a taker left pending twice: every commit of the chain is live, each closing through its own record', async () => {
    const r0 = p.taker.record;
    await roll(p.taker, p.maker, silentMaker);
    const r1 = p.taker.record;
    p.taker.now += 3_600;
    p.maker.now += 3_600;
    p.taker.fundingRateAsOf = p.maker.fundingRateAsOf = p.maker.now;
    const second = await roll(p.taker, p.maker, silentMaker);
    assert.equal(second.maker.type, 'completed');
    const r2 = p.taker.record;
    assert.equal(r2.previous?.commit.txid, r1.commit.txid);

    const live = liveCommits(r2);
    assert.deepEqual(
      live.map((l) => [l.txid, l.current]),
      [
        [r2.commit.txid, true],
        [r1.commit.txid, false],
        [r0.commit.txid, false],
      ],
    );
    for (const l of live) {
      assert.equal(l.record.commit.txid, l.txid);
      assert.equal(recordClosingThrough(r2, l.txid), l.record);
    }
    // Each record carries the CETs of its own settlement event.
    assert.equal(recordClosingThrough(r2, r0.commit.txid)!.settlementEventId, r0.settlementEventId);
    assert.notEqual(r0.settlementEventId, r2.settlementEventId);
    assert.equal(recordClosingThrough(r2, 'ff'.repeat(32)), undefined);

    // The maker completed both times: C0 and C1 are revoked on its side, only C2 is live.
    assert.equal(p.maker.record.commit.txid, r2.commit.txid);
    assert.deepEqual(
      liveCommits(p.maker.record).map((l) => l.txid),
      [r2.commit.txid],
    );
    assert.deepEqual(
      revokedCommits(p.maker.record)
        .map((r) => r.txid)
        .sort(),
      [r0.commit.txid, r1.commit.txid].sort(),
    );
    assert.equal(recordClosingThrough(p.maker.record, r0.commit.txid), undefined);
  });
});
