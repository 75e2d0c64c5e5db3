// Attacks on /dlcfd/rollover/1.0.0 by a counterparty that sends schema-valid messages chosen to
// keep a commit we cannot punish, or to erase funding. The real machines run against each other
// over the wire schema (test/protocols/rollover/harness.ts); the rogue side either keeps an older
// copy of its own record (as a cheater would) or rewrites a message on its way out.
import assert from 'node:assert/strict';
import type { ContractRecord } from '../../dlc/contract.ts';
import { signedCommit, signedPunish, signedRefund } from '../../dlc/index.ts';
import { liveCommits, revokedCommits, withUnfinished } from '../../dlc/record.ts';
import { makerPositionOf } from '../../model/cfd.ts';
import { signedFunding } from '../../model/fees.ts';
import { oracleEventTime } from '../../model/oracle-event.ts';
import {
  MAX_UNRESOLVED_COMMITS,
  rolledFeeBalance,
  rolloverRules,
} from '../../protocols/rollover/contract.ts';
import { openContractCopy, Party, RATE, roll } from '../protocols/rollover/harness.ts';

/** The commit can still be answered: we follow it as live, or hold the secret to punish it. */
function answerable(record: ContractRecord, txid: string): 'live' | 'punishable' | 'lost' {
  if (liveCommits(record).some((l) => l.txid === txid)) return 'live';
  const revoked = revokedCommits(record).find((r) => r.txid === txid);
  const entry = revoked?.record.revoked.find((v) => v.txid === txid);
  return entry?.counterpartyRevocationSk ? 'punishable' : 'lost';
}

const later = (parties: Party[], secs: number) => {
  for (const p of parties) {
    p.now += secs;
    p.fundingRateAsOf = p.now;
  }
};

describe('adversary: rollover base, revocation and funding', function () {
  this.timeout(120_000);

  it('a taker proposing an already revoked base and revoking only it: the maker aborts before revealing, the live commit stays answerable', async () => {
    const { taker, maker } = await openContractCopy();
    const cheaterCopy = new Party(taker.cfd, taker.record, taker.oracle); // keeps R0 (C0)
    const first = await roll(taker, maker);
    assert.equal(first.maker.type, 'completed');
    const c1 = maker.record.commit.txid;
    // The cheater rolls from C0 (revoked at the maker) with its old record: it reveals C0 only,
    // while it holds C1 and the maker's C1 signatures in its real record.
    cheaterCopy.cfd = taker.cfd;
    later([cheaterCopy, maker], 3_600);
    const r = await roll(cheaterCopy, maker);
    assert.notEqual(r.maker.type, 'completed', 'the maker must not complete a rollover leaving C1');
    assert.ok(!maker.journal.includes('send:revocation'), 'the maker revealed nothing');
    assert.equal(answerable(maker.record, c1), 'live');
    // Published by the cheater, C1 is the maker's current commit: it closes through its own CETs.
    assert.equal(maker.record.commit.txid, c1);
    assert.ok(signedCommit(taker.record).getId() === c1);
  });

  it('a maker withholding the secret of a commit the taker still holds live: the taker keeps it answerable', async () => {
    const { taker, maker } = await openContractCopy();
    // The taker misses the maker's secret: it holds C0 → C1 pending, the maker final on C1.
    await roll(taker, maker, {
      makerTamper: (m) => (m.type === 'revocation' ? 'silence' : undefined),
    });
    const c1 = maker.record.commit.txid;
    assert.equal(taker.record.previous?.commit.txid !== undefined, true);
    later([taker, maker], 3_600);
    // The rogue maker reveals every old secret but C1's: C1 would stay publishable by it.
    const r = await roll(taker, maker, {
      makerTamper: (m) =>
        m.type === 'revocation'
          ? { ...m, secrets: m.secrets.filter((s) => s.commitTxid !== c1) }
          : undefined,
    });
    assert.equal(r.taker.type, 'failed');
    assert.match((r.taker as { reason: string }).reason, /did not revoke commit/);
    assert.equal(answerable(taker.record, c1), 'live', 'the taker still follows C1');
  });

  it('an honest catch-up: a revoked proposed commit moves the base to the next live one, proven with the taker’s own secret', async () => {
    const { taker, maker } = await openContractCopy();
    const c0 = taker.record.commit.txid;
    await roll(taker, maker, {
      makerTamper: (m) => (m.type === 'revocation' ? 'silence' : undefined),
    });
    const c1 = maker.record.commit.txid;
    const takerPendingC1 = taker.record;
    later([taker, maker], 3_600);
    const r = await roll(taker, maker);
    assert.equal(r.taker.type, 'completed');
    assert.equal(r.maker.type, 'completed');
    if (r.taker.type !== 'completed' || r.maker.type !== 'completed') return;
    assert.equal(r.taker.baseCommitTxid, c1);
    assert.equal(r.maker.baseCommitTxid, c1);
    for (const txid of [c0, c1]) {
      assert.equal(answerable(taker.record, txid), 'punishable');
      assert.equal(answerable(maker.record, txid), 'punishable');
    }
    // The maker can punish the taker's C1, were it published.
    assert.ok(signedPunish(maker.record, signedCommit(takerPendingC1)).getId());
  });

  it('a maker naming a later base without proof: the taker aborts before anything is signed', async () => {
    const { taker, maker } = await openContractCopy();
    // Both hold C0 → C1 pending (the taker's revocation never arrives).
    await roll(taker, maker, {
      takerTamper: (m) => (m.type === 'revocation' ? 'silence' : undefined),
    });
    const c1 = maker.record.commit.txid;
    assert.ok(maker.record.previous && taker.record.previous);
    later([taker, maker], 3_600);
    const r = await roll(taker, maker, {
      makerTamper: (m) =>
        m.type === 'decision' && m.accept
          ? { ...m, baseCommitTxid: c1, revokedBefore: [] }
          : undefined,
    });
    assert.equal(r.taker.type, 'failed');
    assert.match((r.taker as { reason: string }).reason, /without proving it revoked/);
    assert.ok(!taker.journal.includes('send:signatures'));
  });

  it('a taker that never got the maker’s signatures still revokes the commit the maker holds for it', async () => {
    const { taker, maker } = await openContractCopy();
    const r1 = await roll(taker, maker, {
      makerTamper: (m) => (m.type === 'signatures' ? 'silence' : undefined),
    });
    assert.equal(r1.taker.type, 'failed');
    // The maker stored the taker's CET and refund signatures of C1 (a commit only the taker could
    // publish); the taker only C0 and its C1 secret, kept as unfinished before its signatures left.
    const c1 = maker.record.counterpartyOnly?.at(-1)?.commit.txid;
    assert.ok(c1);
    assert.equal(taker.record.previous, undefined);
    assert.equal(taker.record.unfinished?.[0]?.txid, c1);
    later([taker, maker], 3_600);
    const r2 = await roll(taker, maker);
    assert.equal(r2.maker.type, 'completed', (r2.maker as { reason?: string }).reason);
    assert.equal(r2.taker.type, 'completed', (r2.taker as { reason?: string }).reason);
    assert.equal(answerable(maker.record, c1), 'punishable');
    assert.equal(taker.record.unfinished, undefined);
  });

  it('a maker withholding its signatures after the taker’s cannot publish the new commit: the taker’s commit signature never left', async () => {
    const { taker, maker } = await openContractCopy();
    const c0 = maker.record.commit.txid;
    const r = await roll(taker, maker, {
      makerTamper: (m) => (m.type === 'signatures' ? 'silence' : undefined),
    });
    assert.equal(r.taker.type, 'failed');
    assert.ok(!taker.journal.includes('send:commitSignature'));
    const held = maker.record.counterpartyOnly!.at(-1)!;
    assert.equal(held.commit.counterpartyAdaptorSignature, '', 'no commit signature of the taker');
    assert.throws(() => signedCommit(held));
    // What the maker can publish is still C0, whose CETs and refund the taker holds.
    assert.equal(signedCommit(maker.record).getId(), c0);
    assert.equal(answerable(taker.record, c0), 'live');
  });

  it('a taker withholding its commit signature and publishing the new commit: the maker closes it alone', async () => {
    const { taker, maker } = await openContractCopy();
    const r = await roll(taker, maker, {
      takerTamper: (m) => (m.type === 'commitSignature' ? 'silence' : undefined),
    });
    assert.equal(r.maker.type, 'failed');
    assert.ok(!maker.journal.includes('send:revocation'), 'the maker revealed nothing');
    const c1 = signedCommit(taker.record); // the taker holds the maker's C1 signature
    const held = maker.record.counterpartyOnly!.at(-1)!;
    assert.equal(held.commit.txid, c1.getId());
    assert.equal(answerable(maker.record, c1.getId()), 'live');
    // The maker holds the taker's refund and CET signatures of C1: it can get out alone.
    const refund = signedRefund(held);
    assert.equal(Buffer.from(refund.ins[0]!.hash).reverse().toString('hex'), c1.getId());
  });

  it('a taker breaking two runs before its commit signature: the maker keeps following both new commits and revokes both later', async () => {
    const { taker, maker } = await openContractCopy();
    const breakBeforeCommitSignature = {
      takerTamper: (m: { type: string }) =>
        m.type === 'commitSignature' ? ('silence' as const) : undefined,
    };
    await roll(taker, maker, breakBeforeCommitSignature);
    const c1 = maker.record.counterpartyOnly?.at(-1)?.commit.txid;
    assert.ok(c1);
    later([taker, maker], 3_600);
    await roll(taker, maker, breakBeforeCommitSignature);
    const c2 = maker.record.counterpartyOnly?.at(-1)?.commit.txid;
    assert.ok(c2 && c2 !== c1);
    // The taker holds the maker's signatures of both: the maker must still answer both.
    assert.equal(answerable(maker.record, c1), 'live', 'the first broken run is not forgotten');
    assert.equal(answerable(maker.record, c2), 'live');
    later([taker, maker], 3_600);
    const r = await roll(taker, maker);
    assert.equal(r.maker.type, 'completed', (r.maker as { reason?: string }).reason);
    assert.equal(answerable(maker.record, c1), 'punishable');
    assert.equal(answerable(maker.record, c2), 'punishable');
  });

  it('a taker proposing the maker’s counterpartyOnly commit as base: funding is charged from that commit’s own balance, not the setup’s', async () => {
    const { taker, maker } = await openContractCopy();
    await roll(taker, maker, {
      takerTamper: (m) => (m.type === 'commitSignature' ? 'silence' : undefined),
    });
    const c1 = maker.record.counterpartyOnly!.at(-1)!;
    const c1Balance = c1.feeBalances![c1.commit.txid]!;
    assert.notEqual(c1Balance, taker.cfd.feeBalance, 'C1 carries an hour more funding than C0');
    later([taker, maker], 3_600);
    let decided:
      | { feeBalance: bigint; baseCommitTxid: string; settlementEventId: string }
      | undefined;
    await roll(taker, maker, {
      takerTamper: (m) =>
        m.type === 'propose' ? { ...m, fromCommitTxid: c1.commit.txid } : undefined,
      makerTamper: (m) => {
        if (m.type === 'decision' && m.accept) decided = m;
        return undefined;
      },
    });
    assert.ok(decided, 'the maker decided');
    assert.equal(decided.baseCommitTxid, c1.commit.txid);
    const t = maker.cfd.terms!;
    const { feeBalance } = rolledFeeBalance({
      terms: t,
      base: c1Balance,
      fromEventId: c1.settlementEventId,
      toEventId: decided.settlementEventId,
      rate: RATE,
      now: maker.now,
    });
    assert.equal(decided.feeBalance, feeBalance, 'funding accrued up to C1 is not erased');
  });

  it('a peer breaking run after run cannot grow the chain without bound: past the limit no new commit is signed', async () => {
    const { taker, maker } = await openContractCopy();
    let record = taker.record;
    assert.ok(rolloverRules(record, record.commit.txid).rules);
    for (let n = 0; n < MAX_UNRESOLVED_COMMITS; n++) {
      record = withUnfinished(record, {
        txid: `${n}`.padStart(64, '0'),
        ownRevocationSk: '11'.repeat(32),
      });
    }
    const { rules, reason } = rolloverRules(record, record.commit.txid);
    assert.equal(rules, undefined);
    assert.match(reason!, /still unrevoked .* no new commit is signed/);
    // Such a CFD does not even start a run (the maker, seeing it, rejects with the reason).
    taker.record = record;
    maker.record = { ...maker.record, unfinished: record.unfinished };
    later([taker, maker], 3_600);
    await assert.rejects(roll(taker, maker), /still unrevoked/);
  });

  it('a taker back after two intervals offline pays funding for every second since its base', async () => {
    const { taker, maker } = await openContractCopy();
    const t = taker.cfd.terms!;
    const fromEvent = oracleEventTime(taker.record.settlementEventId);
    const before = taker.cfd.feeBalance;
    later([taker, maker], 2 * t.settlementIntervalSecs);
    const r = await roll(taker, maker);
    assert.equal(r.taker.type, 'completed');
    assert.equal(r.maker.type, 'completed');
    if (r.taker.type !== 'completed' || r.maker.type !== 'completed') return;
    const charged = oracleEventTime(r.taker.record.settlementEventId) - fromEvent;
    assert.ok(charged > t.settlementIntervalSecs);
    assert.equal(r.taker.chargedSecs, charged);
    const due = signedFunding({
      makerPosition: makerPositionOf(t),
      price: t.initialPrice,
      quantity: t.quantity,
      takerLeverage: t.takerLeverage,
      rate: RATE,
      chargedSecs: charged,
      settlementIntervalSecs: t.settlementIntervalSecs,
    });
    assert.equal(r.taker.feeBalance, before + due);
    assert.equal(r.maker.feeBalance, before + due);
    assert.equal(taker.cfd.feeBalance, maker.cfd.feeBalance);
    assert.equal(taker.cfd.feeBalance, before + due);
  });
});
