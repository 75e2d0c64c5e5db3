// The rollover state machines driven against each other in memory: a contract set up by the real
// order machines, then rollovers through the real driver over an encoding pipe, including every
// abort point and the records each side holds at each point.
import assert from 'node:assert/strict';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { signedCommit, signedPunish } from '../../../dlc/index.ts';
import { commitChain } from '../../../dlc/record.ts';
import { oracleEventId, oracleEventTime } from '../../../model/oracle-event.ts';
import type { RolloverMessage } from '../../../protocols/rollover/messages.ts';
import { CONFIG, openContractCopy, type Party, RATE, roll } from './harness.ts';

const failedReason = (o: { type: string; reason?: string }): string =>
  o.type === 'failed' ? (o.reason ?? '') : '';

describe('protocols/rollover state machines', function () {
  this.timeout(60_000);
  let taker: Party;
  let maker: Party;

  beforeEach(async () => {
    ({ taker, maker } = await openContractCopy());
  });

  it('rolls over: both hold the same new commit, the old one revoked with the other side’s secret', async () => {
    const oldTaker = taker.record;
    const oldMaker = maker.record;
    const { taker: t, maker: m } = await roll(taker, maker);
    assert.equal(t.type, 'completed', failedReason(t));
    assert.equal(m.type, 'completed', failedReason(m));
    if (t.type !== 'completed' || m.type !== 'completed') return;
    assert.equal(t.record.commit.txid, m.record.commit.txid);
    assert.notEqual(t.record.commit.txid, oldTaker.commit.txid);
    assert.equal(t.record.lock.txid, oldTaker.lock.txid, 'the lock is reused');
    assert.equal(t.record.identitySk, oldTaker.identitySk, 'identity stays');
    assert.notEqual(t.record.publishSk, oldTaker.publishSk, 'new publish key');
    assert.equal(t.record.events.length, CONFIG.liquidationEventCount! + 1);
    assert.equal(t.record.settlementEventId, t.record.events.at(-1)!.eventId);
    for (const e of t.record.events.slice(0, -1)) assert.ok(e.cets.length <= 2);
    assert.equal(
      oracleEventTime(t.record.settlementEventId),
      oracleEventTime(oldTaker.settlementEventId) + 3_600,
    );
    assert.equal(t.record.previous, undefined);
    assert.equal(t.record.revoked.length, 1);
    assert.equal(t.record.revoked[0]!.txid, oldTaker.commit.txid);
    assert.equal(t.record.revoked[0]!.counterpartyRevocationSk, oldMaker.revocationSk);
    assert.equal(m.record.revoked[0]!.counterpartyRevocationSk, oldTaker.revocationSk);
    // Fees: one hour of funding at the new rate, same on both sides and in both aggregates.
    assert.equal(t.chargedSecs, 3_600);
    assert.equal(t.feeBalance, m.feeBalance);
    assert.equal(taker.cfd.feeBalance, t.feeBalance);
    assert.equal(maker.cfd.feeBalance, m.feeBalance);
    assert.equal(taker.cfd.fundingRate, RATE);
    assert.deepEqual(taker.eventTypes(), [
      'RolloverStarted',
      'RolloverAccepted',
      'RolloverCompleted',
    ]);
    assert.deepEqual(maker.eventTypes(), [
      'RolloverStarted',
      'RolloverAccepted',
      'RolloverCompleted',
    ]);
    assert.equal(taker.cfd.dlc!.commitTxid, t.record.commit.txid);
    assert.deepEqual(taker.cfd.revokedCommitTxids, [oldTaker.commit.txid]);
    // Either side can punish the other publishing the old commit.
    assert.ok(signedPunish(t.record, signedCommit(oldMaker)).getId());
    assert.ok(signedPunish(m.record, signedCommit(oldTaker)).getId());
  });

  it('crash safety: each side persists the new signatures before any old secret is revealed', async () => {
    await roll(taker, maker);
    // The taker's CET and refund signatures go first, after it stored its new revocation secret;
    // the maker stores them before its own signatures (commit included) leave; the taker's commit
    // signature comes once it holds all of the maker's, then the secrets.
    assert.deepEqual(taker.journal, [
      'record:startRollover',
      'send:propose',
      'record:acceptRollover',
      'send:keys',
      'persist:unfinished',
      'send:signatures',
      'persist:pending',
      'send:commitSignature',
      'send:revocation',
      'persist:final',
      'record:completeRollover',
    ]);
    assert.deepEqual(maker.journal, [
      'record:startRollover',
      'record:acceptRollover',
      'send:decision',
      'send:keys',
      'persist:counterpartyOnly',
      'send:signatures',
      'persist:pending',
      'persist:final',
      'record:completeRollover',
      'send:revocation',
    ]);
  });

  it('the pending record makes the new commit current and keeps the old one as previous', async () => {
    const old = taker.record;
    // The maker's secret never arrives: the taker stays pending (revealed), the maker completed.
    const r = await roll(taker, maker, {
      makerTamper: (m) => (m.type === 'revocation' ? 'silence' : undefined),
    });
    assert.equal(r.maker.type, 'completed');
    assert.equal(r.taker.type, 'failed');
    if (r.taker.type !== 'failed') return;
    assert.ok(r.taker.pendingPersisted && r.taker.revealed);
    assert.equal(taker.record.previous?.commit.txid, old.commit.txid);
    assert.notEqual(taker.record.commit.txid, old.commit.txid);
    assert.equal(taker.cfd.dlc!.commitTxid, old.commit.txid, 'the log still names the old commit');
    assert.deepEqual(taker.eventTypes().at(-1), 'RolloverFailed');
  });

  it('a taker that missed the end of a rollover catches up from its older commit', async () => {
    const c0 = taker.record.commit.txid;
    const first = await roll(taker, maker, {
      makerTamper: (m) => (m.type === 'revocation' ? 'silence' : undefined),
    });
    assert.equal(first.maker.type, 'completed');
    const c1 = maker.record.commit.txid;
    taker.now += 3_600;
    maker.now += 3_600;
    taker.fundingRateAsOf = maker.fundingRateAsOf = maker.now;
    const { taker: t, maker: m } = await roll(taker, maker);
    assert.equal(t.type, 'completed', failedReason(t));
    assert.equal(m.type, 'completed', failedReason(m));
    if (t.type !== 'completed' || m.type !== 'completed') return;
    // c0 is revoked at the maker: the base is c1, the taker's pending commit, proven by the
    // taker's own c0 secret in the maker's decision.
    assert.equal(t.baseCommitTxid, c1);
    assert.equal(m.baseCommitTxid, c1);
    assert.equal(t.record.commit.txid, m.record.commit.txid);
    // The taker can now punish both older commits of the maker; the maker both of the taker's.
    assert.deepEqual(
      t.record.revoked.map((r) => r.txid),
      [c0, c1],
    );
    assert.deepEqual(
      m.record.revoked.map((r) => r.txid),
      [c0, c1],
    );
    assert.ok(t.record.revoked.every((r) => r.counterpartyRevocationSk.length === 64));
    // Funding charged from the base's settlement event (c0 → c1 was charged by c1's curve).
    assert.equal(t.chargedSecs, 3_600);
    assert.equal(t.feeBalance, m.feeBalance);
    assert.equal(commitChain(t.record).length, 3);
  });

  it('rolls over twice in a row', async () => {
    await roll(taker, maker);
    taker.now = maker.now += 3_600;
    taker.fundingRateAsOf = maker.fundingRateAsOf = maker.now;
    const { taker: t, maker: m } = await roll(taker, maker);
    assert.equal(t.type, 'completed');
    assert.equal(m.type, 'completed');
    assert.equal(taker.record.revoked.length, 2);
    assert.equal(maker.cfd.revokedCommitTxids.length, 2);
  });

  it('the maker rejects: both stay open on the old commit', async () => {
    const old = taker.record;
    maker.decision = { accept: false, reason: 'not today' };
    const r = await roll(taker, maker);
    assert.deepEqual(r.taker, { type: 'rejected', reason: 'not today' });
    assert.equal(r.maker.type, 'rejected');
    assert.equal(taker.record, old);
    assert.deepEqual(taker.eventTypes(), ['RolloverStarted', 'RolloverRejected']);
    assert.deepEqual(maker.eventTypes(), []);
    assert.equal(taker.cfd.rollover, undefined);
  });

  it('the maker rejects a CFD that cannot roll over, and an unknown commit', async () => {
    maker.cfd = { ...maker.cfd, lockConfirmed: false };
    const r = await roll(taker, maker);
    assert.equal(r.taker.type, 'rejected');
    assert.match((r.taker as { reason: string }).reason, /lock transaction is not confirmed/);
    ({ taker, maker } = await openContractCopy());
    const r2 = await roll(taker, maker, {
      takerTamper: (m) =>
        m.type === 'propose' ? { ...m, fromCommitTxid: bytesToHex(new Uint8Array(32)) } : undefined,
    });
    assert.equal(r2.taker.type, 'rejected');
    assert.match((r2.taker as { reason: string }).reason, /is not one of/);
  });

  describe('abort points', () => {
    const expectBothFailed = async (
      options: Parameters<typeof roll>[2],
      pattern: RegExp,
      who: 'taker' | 'maker' = 'taker',
    ) => {
      const oldT = taker.record.commit.txid;
      const r = await roll(taker, maker, options);
      assert.equal(r.taker.type, 'failed', JSON.stringify(r.taker.type));
      assert.equal(r.maker.type, 'failed');
      assert.match(failedReason(who === 'taker' ? r.taker : r.maker), pattern);
      assert.equal(taker.eventTypes().at(-1), 'RolloverFailed');
      assert.equal(taker.cfd.rollover, undefined);
      assert.equal(taker.cfd.dlc!.commitTxid, oldT);
      return r;
    };
    const tamperSig = (m: RolloverMessage): RolloverMessage | undefined => {
      if (m.type !== 'signatures') return undefined;
      const events = structuredClone(m.events);
      const sig = events[0]!.cets[0]!.signatures;
      sig[0] = sig[0]!.slice(0, -2) + (sig[0]!.endsWith('00') ? '01' : '00');
      return { ...m, events };
    };

    it('timeout waiting for the decision', async () => {
      await expectBothFailed(
        { makerTamper: (m) => (m.type === 'decision' ? 'silence' : undefined) },
        /timed out/,
      );
    });

    it('garbage instead of keys', async () => {
      await expectBothFailed(
        {
          makerTamper: (m) => (m.type === 'keys' ? new TextEncoder().encode('{"x":1}') : undefined),
        },
        /ProtocolViolation|invalid|Invalid/i,
      );
    });

    it('an invalid CET adaptor signature (taker → maker)', async () => {
      const r = await expectBothFailed({ takerTamper: tamperSig }, /does not verify/, 'maker');
      // The maker never sends its signatures for invalid ones: neither side holds the new
      // commit, nothing is revealed, both keep the old commit (the taker's new secret is kept as
      // unfinished, to reveal later).
      if (r.taker.type === 'failed') assert.ok(!r.taker.pendingPersisted && !r.taker.revealed);
      assert.equal(taker.record.previous, undefined);
      assert.equal(taker.record.unfinished?.length, 1);
      if (r.maker.type === 'failed') assert.ok(!r.maker.pendingPersisted && !r.maker.revealed);
      assert.equal(maker.record.previous, undefined);
    });

    it('an invalid CET adaptor signature (maker → taker): the taker reveals nothing', async () => {
      const r = await expectBothFailed({ makerTamper: tamperSig }, /does not verify/);
      if (r.taker.type === 'failed') {
        assert.equal(r.taker.revealed, false);
        assert.equal(r.taker.pendingPersisted, false);
      }
      assert.ok(!taker.journal.includes('send:revocation'));
    });

    it('a wrong revocation secret from the taker: the maker keeps its secret', async () => {
      const r = await expectBothFailed(
        {
          takerTamper: (m) =>
            m.type === 'revocation'
              ? {
                  ...m,
                  secrets: m.secrets.map((s) => ({
                    ...s,
                    secret: bytesToHex(secp256k1.utils.randomSecretKey()),
                  })),
                }
              : undefined,
        },
        /does not match its key/,
        'maker',
      );
      assert.ok(!maker.journal.includes('send:revocation'));
      if (r.maker.type === 'failed') assert.ok(r.maker.pendingPersisted && !r.maker.revealed);
      // Maker: pending record (both commits valid); it never revoked the old one.
      assert.ok(maker.record.previous);
      assert.equal(maker.record.revoked.length, 0);
    });

    it('an out-of-order message', async () => {
      await expectBothFailed(
        {
          makerTamper: (m) =>
            m.type === 'keys'
              ? {
                  type: 'revocation',
                  secrets: [{ commitTxid: '00'.repeat(32), secret: '11'.repeat(32) }],
                }
              : undefined,
        },
        /unexpected 'revocation'/,
      );
    });

    it('a stale funding rate', async () => {
      maker.fundingRateAsOf = maker.now - 7_200;
      await expectBothFailed({}, /funding rate is stale/);
    });

    it('events out of window', async () => {
      await expectBothFailed(
        {
          makerTamper: (m) =>
            m.type === 'decision' && m.accept
              ? {
                  ...m,
                  settlementEventId: oracleEventId(oracleEventTime(m.settlementEventId) + 86_400),
                }
              : undefined,
        },
        /out of window/,
      );
    });

    it("a settlement event of another index than the contract's (BETH for a BTCUSD CFD)", async () => {
      await expectBothFailed(
        {
          makerTamper: (m) =>
            m.type === 'decision' && m.accept
              ? {
                  ...m,
                  settlementEventId: m.settlementEventId.replace('/BXBT/', '/BETH/'),
                  liquidationEventIds: m.liquidationEventIds.map((e) =>
                    e.replace('/BXBT/', '/BETH/'),
                  ),
                }
              : undefined,
        },
        /is not a BXBT event \(BTCUSD\)/,
      );
    });

    it('liquidation events that are not the expected hourly ones', async () => {
      await expectBothFailed({ makerConfig: { liquidationEventCount: 3 } }, /liquidation events/);
    });

    it('a fee balance the taker does not compute', async () => {
      await expectBothFailed(
        {
          makerTamper: (m) =>
            m.type === 'decision' && m.accept ? { ...m, feeBalance: m.feeBalance + 1n } : undefined,
        },
        /fee balance/,
      );
    });
  });
});
