// Attacks 1 and 2 of issue #11 (rollover base and revocation; funding erased by an old base) on
// the embedded chain: two real nodes over libp2p on loopback, real wallets, a local oracle, CFD
// logs and contract records on disk, every contract set up by the real order protocol and rolled
// over by the real rollover machines. What the chain pays is checked output by output against the
// payout curve and both wallets. No process manager runs here: the test publishes what each side
// could publish from its own stored record (its commit, its CET, its punish transaction).
//
// Two cheaters for attack 1: one that only swaps its stored record back to C0 (its own machine
// then stops at the maker's moved base), and a rogue one that runs the real taker machine on its
// C1 record but rewrites its propose and revocation messages on the wire, so the maker's own
// check (every live commit revoked before it reveals) is what stops it.
//
// Compressed time: a 5 s settlement interval on a 5 s oracle grid, no liquidation events. The
// nodes' rollover clock is set per rollover (`rollTo`) so the maker picks a chosen settlement
// event, the way the libp2p rollover spec moves its clock ahead.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import type { Transaction } from 'bitcoinjs-lib';
import type { ContractRecord } from '../../dlc/contract.ts';
import {
  cetFee as cetFeeOf,
  PUNISH_FEE,
  payoutCurve,
  rebuildCommit,
  rowAtPrice,
  signedCet,
  signedCommit,
  signedPunish,
} from '../../dlc/index.ts';
import { liveCommits, recordClosingThrough, revokedCommits } from '../../dlc/record.ts';
import { type CfdTerms, makerPositionOf } from '../../model/cfd.ts';
import { initialFeeBalance, longShortLeverage, signedFunding } from '../../model/fees.ts';
import type { Offer } from '../../model/offer.ts';
import { oracleEventTime } from '../../model/oracle-event.ts';
import { parseFundingRate } from '../../model/units.ts';
import { broadcast } from '../../node/chain/broadcast.ts';
import { OracleClient, type VerifiedAttestation } from '../../node/oracle/client.ts';
import { runMachine } from '../../protocols/driver.ts';
import { adaptorWork, dialTransport, framedTransport } from '../../protocols/handler.ts';
import {
  MAX_MESSAGE_BYTES,
  ROLLOVER_PROTOCOL,
  type RolloverExecutor,
  type RolloverMessage,
  RolloverMessageSchema,
  type RolloverOutcome,
  type RolloverResultEvent,
  TakerRollover,
} from '../../protocols/rollover/index.ts';
import * as live from '../helpers/live-nodes.ts';
import { until } from '../helpers/wait.ts';
import { silent } from '../node/chain/helpers.ts';

const SETTLEMENT_INTERVAL_S = 5;
const ROLLOVER_CONFIG = {
  liquidationEventCount: 0,
  eventSpacingSecs: 5,
  settlementWindowSecs: 10,
};
const EVENT_INTERVAL_S = 5;
const RATE = parseFundingRate('0.0003');
const show = (o: { type: string; reason?: string }) => `${o.type}: ${o.reason ?? ''}`;

type Side = live.RolloverNode;

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('adversary on the embedded chain: rollover base, revocation and funding', function () {
  this.timeout(90_000);
  const w = live.worldFor({ eventIntervalS: EVENT_INTERVAL_S, lookaheadS: 120 });
  let oracleClient: OracleClient;
  let maker: Side;
  let taker: Side;
  let skew = 0;
  const clock = () => Math.floor(Date.now() / 1000) + skew;
  let offers: Offer[] = [];

  const offer = (): Offer => {
    const now = Math.floor(Date.now() / 1000);
    return live.gridOffer(now, SETTLEMENT_INTERVAL_S, EVENT_INTERVAL_S, {
      id: `offer-${now}-${Math.random()}`,
    });
  };

  const side = (name: 'maker' | 'taker'): Promise<Side> =>
    live.openRolloverNode(join(w.dir, name), name, w, w.pool, {
      offers: () => offers,
      policy: () => ({ accept: true, fundingRate: RATE, fundingRateAsOf: clock(), feeRate: 2n }),
      config: ROLLOVER_CONFIG,
      clock,
      logger: silent,
    });

  before(async () => {
    oracleClient = new OracleClient({ url: w.oracle.url, publicKey: w.oracle.publicKey });
    ({ maker, taker } = await live.openPair(w, side));
  });

  // ---- Steps ------------------------------------------------------------------------------------

  /** An open contract: order placed and set up, lock broadcast, mined, confirmed in both logs. */
  async function openContract(): Promise<string> {
    skew = 0;
    offers = [offer()];
    return live.openContract(w, maker, taker, offers[0]!, { ms: 20_000, everyMs: 50 });
  }

  /**
   * The taker rolls over with the maker whose clock makes it pick the oracle event at
   * `eventTime` (a few seconds of slack for the run to start); resolves with both sides' results.
   */
  /** The maker's result of its rollover of `id` after the first `before` ones. */
  const makerRoll = (id: string, before: number) =>
    until(
      'the rollover at the maker',
      () => maker.rolls.filter((r) => r.cfdId === id)[before],
      20_000,
      50,
    );

  async function rollTo(
    id: string,
    eventTime: number,
  ): Promise<{ taker: RolloverResultEvent; maker: RolloverResultEvent }> {
    skew = eventTime - SETTLEMENT_INTERVAL_S - 3 - Math.floor(Date.now() / 1000);
    const before = maker.rolls.filter((r) => r.cfdId === id).length;
    const t = await taker.rollovers.rollover(maker.node.peerId, id);
    const m = await makerRoll(id, before);
    return { taker: t, maker: m };
  }

  /**
   * A rogue taker: the real taker machine over a real libp2p stream to the maker, its CFD log and
   * record store, with `tamper` rewriting each message on its way out (what a modified node does).
   */
  async function rogueRollover(
    id: string,
    own: ContractRecord,
    tamper: (m: RolloverMessage) => RolloverMessage,
  ): Promise<{ taker: RolloverOutcome; maker: RolloverResultEvent }> {
    const before = maker.rolls.filter((r) => r.cfdId === id).length;
    const machine = new TakerRollover({
      cfd: await taker.repository.load(id),
      record: own,
      secrets: {
        publish: secp256k1.utils.randomSecretKey(),
        revocation: secp256k1.utils.randomSecretKey(),
      },
      now: clock(),
      config: ROLLOVER_CONFIG,
    });
    const ms = 5_000;
    const stream = await dialTransport(taker.node, maker.node.peerId, ROLLOVER_PROTOCOL, ms, (s) =>
      framedTransport(s, RolloverMessageSchema, {
        maxMessageBytes: MAX_MESSAGE_BYTES,
        readTimeoutMs: {
          propose: ms,
          decision: ms,
          keys: ms,
          signatures: ms,
          commitSignature: ms,
          revocation: ms,
        },
        writeMs: ms,
      }),
    );
    const executor: RolloverExecutor = {
      effect: async (e) => {
        if (e.type === 'record') await taker.repository.execute(e.cfdId, e.command);
        else await taker.contracts.put(e.record.cfdId, e.record);
      },
      request: async (r) => {
        if (r.type === 'encrypt' || r.type === 'verify') return adaptorWork(w.pool, r);
        if (r.type !== 'announcements') throw new Error(`a taker never asks '${r.type}'`);
        const events = await Promise.all(
          r.eventIds.map(async (eventId) => ({
            eventId,
            nonces: (await oracleClient.fetchEvent(eventId)).announcement.nonces,
          })),
        );
        return {
          type: 'announced',
          oraclePublicKey: Buffer.from(w.oracle.publicKey, 'hex'),
          events,
        };
      },
    };
    const outcome = await runMachine(
      'rollover',
      machine,
      machine.start(),
      { ...stream, write: (m) => stream.write(tamper(m)) },
      executor,
      silent,
    );
    const m = await makerRoll(id, before);
    return { taker: outcome, maker: m };
  }

  const record = async (s: Side, id: string) => (await s.contracts.get(id))!;

  /** The oracle's attestation of `eventId`, once the event's time has come. */
  const attestation = (eventId: string): Promise<VerifiedAttestation> =>
    until(
      `${eventId} attested`,
      async () => (await oracleClient.fetchEvent(eventId)).attestation ?? undefined,
      40_000,
      50,
    );

  async function mineConfirmed(tx: Transaction): Promise<void> {
    await broadcast(w.rpc, tx.toHex());
    await w.chain.mine(1);
    const info = await w.rpc.getTransaction(tx.getId());
    assert.ok(info && info.confirmations > 0, `${tx.getId()} confirmed`);
  }

  async function confirmedBalances(): Promise<{ maker: bigint; taker: bigint }> {
    await Promise.all([maker.wallet.sync(), taker.wallet.sync()]);
    return { maker: maker.wallet.balance().confirmed, taker: taker.wallet.balance().confirmed };
  }

  /** The fee balance a commit's curve must carry: setup's, plus funding over `chargedSecs`. */
  function expectedFeeBalance(t: CfdTerms, chargedSecs: number): bigint {
    const size = {
      makerPosition: makerPositionOf(t),
      price: t.initialPrice,
      quantity: t.quantity,
      takerLeverage: t.takerLeverage,
    };
    const initial = initialFeeBalance({
      ...size,
      openingFee: t.openingFee,
      rate: t.fundingRate,
      settlementIntervalSecs: t.settlementIntervalSecs,
    });
    return (
      initial +
      signedFunding({
        ...size,
        rate: RATE,
        chargedSecs,
        settlementIntervalSecs: t.settlementIntervalSecs,
      })
    );
  }

  /**
   * Publishes `commit`, lets its CET lock pass, waits for the oracle's attestation of the closing
   * record's settlement event and publishes `closer`'s CET (from its own record); the CET built
   * from `other`'s record is the same transaction. Then accounts for every satoshi of the lock:
   * each side's output is its row of the payout curve (built here from the terms and
   * `feeBalance`) minus half the CET fee, and each wallet grew by exactly its output.
   */
  /**
   * The cheater publishes its C1 (`c1Taker`'s commit): the maker's `makerRecord` closes through
   * it, its fee balance `chargedSecs` of funding, and the CET pays both their curve row.
   */
  async function makerClosesThroughC1(
    id: string,
    makerRecord: ContractRecord,
    c1Taker: ContractRecord,
    chargedSecs: number,
  ): Promise<void> {
    const closer = recordClosingThrough(makerRecord, c1Taker.commit.txid);
    assert.ok(closer, "the maker's record closes through C1");
    const terms = (await taker.repository.load(id)).terms!;
    const feeBalance = expectedFeeBalance(terms, chargedSecs);
    assert.equal(closer.feeBalances?.[closer.commit.txid], feeBalance);
    await closeThroughCet({
      commit: signedCommit(c1Taker),
      closer,
      other: c1Taker,
      terms,
      feeBalance,
    });
  }

  async function closeThroughCet(p: {
    commit: Transaction;
    closer: ContractRecord;
    other: ContractRecord;
    terms: CfdTerms;
    feeBalance: bigint;
  }): Promise<void> {
    const { closer, other } = p;
    assert.equal(p.commit.getId(), closer.commit.txid);
    assert.equal(closer.commit.txid, other.commit.txid, 'both close through the same commit');
    await mineConfirmed(p.commit);
    await w.chain.mine(closer.cetTimelock);
    const att = await attestation(closer.settlementEventId);
    const cet = signedCet(closer, closer.settlementEventId, att.price, att.scalars);
    const theirs = signedCet(other, other.settlementEventId, att.price, att.scalars);
    assert.equal(theirs.getId(), cet.getId(), 'the other side could have published the same CET');
    const before = await confirmedBalances();
    await mineConfirmed(cet);
    const after = await confirmedBalances();

    const scriptOf = (role: 'maker' | 'taker') => closer.payoutScripts[role];
    const out = (role: 'maker' | 'taker') =>
      cet.outs
        .filter((o) => hex(o.script) === scriptOf(role))
        .reduce((a, o) => a + BigInt(o.value), 0n);
    const makerOut = out('maker');
    const takerOut = out('taker');
    assert.equal(cet.outs.length, 2);

    const makerPosition = makerPositionOf(p.terms);
    const lev = longShortLeverage(makerPosition, p.terms.takerLeverage);
    const curve = payoutCurve({
      initialPrice: p.terms.initialPrice,
      quantity: p.terms.quantity,
      longLeverage: lev.long,
      shortLeverage: lev.short,
      feeBalance: p.feeBalance,
    });
    const row = rowAtPrice(curve.rows, att.price);
    const rowMaker = makerPosition === 'short' ? row.short : row.long;
    const rowTaker = makerPosition === 'short' ? row.long : row.short;
    const lock = closer.lock.amount;
    // Anchored format: 208 vB at the commit's rate, plus the commit's fee and both anchors.
    const cetFee = cetFeeOf(rebuildCommit(closer));
    assert.equal(rowMaker + rowTaker, lock, 'the curve row pays out the whole lock');
    assert.equal(
      makerOut,
      rowMaker - cetFee / 2n,
      "the maker's output is its curve row less its fee share",
    );
    assert.equal(
      takerOut,
      rowTaker - cetFee / 2n,
      "the taker's output is its curve row less its fee share",
    );
    assert.equal(makerOut + takerOut + cetFee, lock, 'lock = CET outputs + CET fee');
    assert.equal(after.maker - before.maker, makerOut, "the maker's wallet got its output");
    assert.equal(after.taker - before.taker, takerOut, "the taker's wallet got its output");
  }

  /**
   * Attack 1's setup: an honest rollover C0 → C1, then the cheater puts its kept C0 record back
   * and proposes from C0 (its machine reveals only C0's secret). The maker must not complete and
   * must reveal nothing: it keeps C1 current and live, its C1 secret never reaches the taker.
   */
  async function cheatFromC0(id: string) {
    const c0Taker = await record(taker, id);
    const e0 = oracleEventTime(c0Taker.settlementEventId);
    const honest = await rollTo(id, e0 + EVENT_INTERVAL_S);
    assert.equal(honest.taker.outcome.type, 'completed', show(honest.taker.outcome));
    assert.equal(honest.maker.outcome.type, 'completed', show(honest.maker.outcome));
    const c1Taker = await record(taker, id);
    const c1Maker = await record(maker, id);
    const c1 = c1Maker.commit.txid;
    assert.equal(c1Taker.commit.txid, c1);
    assert.ok(revokedCommits(c1Maker).some((r) => r.txid === c0Taker.commit.txid));

    await taker.contracts.put(id, c0Taker);
    const e1 = oracleEventTime(c1Maker.settlementEventId);
    const cheat = await rollTo(id, e1 + EVENT_INTERVAL_S);
    assert.notEqual(
      cheat.maker.outcome.type,
      'completed',
      'the maker must not roll over leaving C1 unrevoked',
    );
    assert.notEqual(cheat.taker.outcome.type, 'completed', show(cheat.taker.outcome));
    if (cheat.maker.outcome.type === 'failed') assert.equal(cheat.maker.outcome.revealed, false);
    const m = await record(maker, id);
    assert.equal(m.commit.txid, c1, "the maker's current commit is still C1");
    assert.equal(m.previous, undefined);
    assert.ok(
      liveCommits(m).some((l) => l.txid === c1),
      'C1 stays live at the maker',
    );
    assert.ok(!revokedCommits(m).some((r) => r.txid === c1));
    const cheaterHolds = JSON.stringify(await taker.contracts.get(id), (_k, v) =>
      typeof v === 'bigint' ? v.toString() : v,
    );
    assert.ok(!cheaterHolds.includes(c1Maker.revocationSk), "the maker's C1 secret never left");
    const mCfd = await maker.repository.load(id);
    assert.equal(mCfd.rollover, undefined);
    assert.equal(mCfd.dlc?.commitTxid, c1);
    return { c0Taker, c1Taker, c1Maker, e0, e1 };
  }

  // ---- Attacks ----------------------------------------------------------------------------------

  it('attack 1: a taker rolling over from its revoked C0, revealing only C0 — the maker aborts before revealing; the taker’s C1 on chain pays both their curve row (nothing lost)', async () => {
    const id = await openContract();
    const { c1Taker, e0, e1 } = await cheatFromC0(id);
    // The cheater publishes the commit it really holds. The maker's own record closes through it.
    const makerRecord = await record(maker, id);
    await makerClosesThroughC1(id, makerRecord, c1Taker, e1 - e0);
  });

  it('attack 1: a rogue taker that goes on — proposes from its revoked C0, reveals only C0: the maker aborts before revealing, holds C1 and the new commit live, and C1 on chain pays both their curve row (nothing lost)', async () => {
    const id = await openContract();
    const c0Taker = await record(taker, id);
    const e0 = oracleEventTime(c0Taker.settlementEventId);
    const honest = await rollTo(id, e0 + EVENT_INTERVAL_S);
    assert.equal(honest.maker.outcome.type, 'completed', show(honest.maker.outcome));
    const c1Taker = await record(taker, id);
    const c1Maker = await record(maker, id);
    const c1 = c1Maker.commit.txid;
    const e1 = oracleEventTime(c1Maker.settlementEventId);
    // The rogue runs its real machine on its C1 record, but proposes C0 (revoked at the maker)
    // and, once the new commit is signed, reveals only its C0 secret: C1 would stay publishable.
    const c0Secret = c0Taker.revocationSk;
    skew = e1 + EVENT_INTERVAL_S - SETTLEMENT_INTERVAL_S - 3 - Math.floor(Date.now() / 1000);
    const r = await rogueRollover(id, c1Taker, (m) =>
      m.type === 'propose'
        ? { ...m, fromCommitTxid: c0Taker.commit.txid }
        : m.type === 'revocation'
          ? { ...m, secrets: [{ commitTxid: c0Taker.commit.txid, secret: c0Secret }] }
          : m,
    );
    assert.equal(r.maker.outcome.type, 'failed', show(r.maker.outcome));
    if (r.maker.outcome.type !== 'failed') return;
    assert.match(r.maker.outcome.reason, /did not revoke commit/);
    assert.equal(r.maker.outcome.revealed, false, 'the maker revealed nothing');
    assert.notEqual(r.taker.type, 'completed');
    // The maker holds the new commit C2 pending and C1 still live: it closes through either.
    const m = await record(maker, id);
    assert.equal(m.previous?.commit.txid, c1);
    const live = liveCommits(m).map((l) => l.txid);
    assert.deepEqual(live, [m.commit.txid, c1]);
    const cheaterHolds = JSON.stringify(await taker.contracts.get(id), (_k, v) =>
      typeof v === 'bigint' ? v.toString() : v,
    );
    assert.ok(!cheaterHolds.includes(c1Maker.revocationSk), "the maker's C1 secret never left");
    assert.ok(!cheaterHolds.includes(m.revocationSk));
    // The cheater publishes C1; the maker closes through its own C1 record.
    await makerClosesThroughC1(id, m, c1Taker, e1 - e0);
  });

  it('attack 1: the same cheater publishing its revoked C0 instead — the maker’s punish from its stored record takes the whole output (punishable if published)', async () => {
    const id = await openContract();
    const { c0Taker } = await cheatFromC0(id);
    const old = signedCommit(c0Taker);
    await mineConfirmed(old);
    const makerRecord = await record(maker, id);
    const punisher = revokedCommits(makerRecord).find((r) => r.txid === old.getId());
    assert.ok(punisher, 'C0 is revoked in the maker’s record');
    const punish = signedPunish(punisher.record, old);
    const before = await confirmedBalances();
    await mineConfirmed(punish);
    const after = await confirmedBalances();
    await maker.repository.execute(id, { type: 'seeRevokedCommit', txid: old.getId() });
    // The whole lock goes to the maker, less the commit's and the punish transaction's fees.
    assert.equal(punish.outs.length, 1);
    assert.equal(hex(punish.outs[0]!.script), makerRecord.payoutScripts.maker);
    const taken = BigInt(punish.outs[0]!.value);
    assert.equal(taken, c0Taker.commit.amount - PUNISH_FEE);
    assert.equal(
      taken + PUNISH_FEE + (c0Taker.lock.amount - c0Taker.commit.amount),
      c0Taker.lock.amount,
    );
    assert.equal(after.maker - before.maker, taken, "the maker's wallet got the whole output");
    assert.equal(after.taker, before.taker, 'the cheater got nothing');
  });

  it('attack 2: a taker back after two settlement intervals offline — both logs charge funding for every second since the base’s event, both records agree, the CET pays the curve with that balance', async () => {
    const id = await openContract();
    const c0 = await record(taker, id);
    const e0 = oracleEventTime(c0.settlementEventId);
    const terms = (await taker.repository.load(id)).terms!;
    const before = (await taker.repository.load(id)).feeBalance;
    assert.equal(before, expectedFeeBalance(terms, 0));
    // Offline from setup until two intervals after the settlement event: the maker's next event
    // is three intervals after it.
    const r = await rollTo(id, e0 + 3 * SETTLEMENT_INTERVAL_S);
    assert.equal(r.taker.outcome.type, 'completed', show(r.taker.outcome));
    assert.equal(r.maker.outcome.type, 'completed', show(r.maker.outcome));
    const t = await record(taker, id);
    const m = await record(maker, id);
    assert.equal(t.commit.txid, m.commit.txid);
    const charged = oracleEventTime(t.settlementEventId) - e0;
    assert.ok(charged >= 3 * SETTLEMENT_INTERVAL_S, `${charged} s since the base's event`);
    const due = signedFunding({
      makerPosition: makerPositionOf(terms),
      price: terms.initialPrice,
      quantity: terms.quantity,
      takerLeverage: terms.takerLeverage,
      rate: RATE,
      chargedSecs: charged,
      settlementIntervalSecs: SETTLEMENT_INTERVAL_S,
    });
    assert.ok(due !== 0n);
    const feeBalance = before + due;
    for (const s of [taker, maker]) {
      const completed = (await s.store.readStream(id)).filter(
        (e) => e.type === 'RolloverCompleted',
      );
      assert.equal(completed.length, 1);
      const funding = (
        completed[0]!.data as { funding: { chargedSecs: number; balanceChange: bigint } }
      ).funding;
      assert.equal(funding.chargedSecs, charged, 'every second since the base event is charged');
      assert.equal(BigInt(funding.balanceChange), due);
      assert.equal((await s.repository.load(id)).feeBalance, feeBalance);
    }
    assert.equal(t.feeBalances?.[t.commit.txid], feeBalance);
    assert.equal(m.feeBalances?.[m.commit.txid], feeBalance);
    // The taker force-closes: its commit and CET; the maker's record builds the same CET.
    await closeThroughCet({ commit: signedCommit(t), closer: t, other: m, terms, feeBalance });
  });
});
