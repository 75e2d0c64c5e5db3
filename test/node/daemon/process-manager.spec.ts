// The process manager on the embedded chain: from a set-up contract it publishes and watches the
// lock, a force close's commit, the CET once the oracle attested and the CET lock passed, or the
// refund when no attestation came; and it picks up where it was after a restart.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { bytesToHex } from '@noble/hashes/utils.js';
import { Transaction } from 'bitcoinjs-lib';
import {
  type ContractRecord,
  dlcSummary,
  isCollaborativeClose,
  lockOutput,
  payoutScriptsOf,
  signedCommit,
} from '../../../dlc/contract.ts';
import { finalRecord, withCounterpartyOnly } from '../../../dlc/record.ts';
import { finalizeCooperative, signCooperative } from '../../../dlc/sign.ts';
import { buildClose, cetFee } from '../../../dlc/transactions.ts';
import { CfdReadModel } from '../../../eventstore/cfd-read-model.ts';
import { CfdRepository } from '../../../eventstore/cfd-repository.ts';
import { LevelContractStore } from '../../../eventstore/contract-store.ts';
import { EventStore } from '../../../eventstore/event-store.ts';
import { type Cfd, confirmedCommit } from '../../../model/cfd.ts';
import { asPrice, PRICE_SCALE } from '../../../model/units.ts';
import { FeeEstimator } from '../../../node/chain/fee-estimator.ts';
import type { ChainMonitor } from '../../../node/chain/monitor.ts';
import { FeeBumper } from '../../../node/daemon/fee-bumper.ts';
import type { ProcessManagerDeps } from '../../../node/daemon/process-context.ts';
import type { ProcessManager } from '../../../node/daemon/process-manager.ts';
import { terms } from '../../helpers/cfd-fixtures.ts';
import { chainFor } from '../../helpers/chain.ts';
import {
  attestationOf,
  fundedTestContract,
  ROLLED_SETTLEMENT_EVENT,
  ROLLED_TABLE,
  rollTestContract,
  SETTLEMENT_EVENT,
  TABLE,
  type TestContract,
} from '../../helpers/contract-fixtures.ts';
import * as wait from '../../helpers/wait.ts';
import { watchChain } from '../../helpers/watch.ts';
import { p2wpkh, silent, spendP2wpkh } from '../chain/helpers.ts';

const REFUND_LOCK = 20;

interface Node {
  store: EventStore;
  readModel: CfdReadModel;
  cfds: CfdRepository;
  monitor: ChainMonitor;
  pm: ProcessManager;
  /** Every transaction the process manager handed the monitor to publish, in order (txids). */
  broadcasts: string[];
  stop(): Promise<void>;
}

describe('node/daemon/process-manager', function () {
  this.timeout(90_000);
  const net = chainFor('each');

  /** The maker's funding coin of the last {@link contract}. */
  let makerFunding: { txid: string; vout: number; value: bigint };

  /** A contract between two parties funded on the chain; the lock is not broadcast. */
  async function contract(): Promise<TestContract> {
    const c = await fundedTestContract(net.chain, { refundTimelock: REFUND_LOCK });
    makerFunding = c.fundings.maker;
    return c;
  }

  /** The taker's node: its log holds a set-up CFD, its side store the record. */
  /**
   * `stored`: the record in the DLC store when it is not the one the log names (a rollover that
   * failed after "pending" here).
   */
  async function startNode(
    record: ContractRecord,
    seed: boolean,
    stored: ContractRecord = record,
    extra: Partial<Pick<ProcessManagerDeps, 'bumper'>> = {},
  ): Promise<Node> {
    const store = await EventStore.open(join(net.dir, 'events'));
    const readModel = await CfdReadModel.open(store);
    const cfds = new CfdRepository(store);
    const contracts = new LevelContractStore(store);
    if (seed) {
      await contracts.put(record.cfdId, stored);
      await cfds.execute(record.cfdId, {
        type: 'placeOrder',
        terms: terms({ id: record.cfdId, role: record.role }),
      });
      await cfds.execute(record.cfdId, { type: 'startContractSetup' });
      await cfds.execute(record.cfdId, { type: 'completeContractSetup', dlc: dlcSummary(record) });
    }
    const { monitor, pm } = watchChain(net.rpc, join(net.dir, 'monitor'), {
      cfds,
      readModel,
      contracts,
      ...extra,
    });
    // Everything the process manager publishes goes through the monitor's trackBroadcast.
    const broadcasts: string[] = [];
    const track = monitor.trackBroadcast.bind(monitor);
    monitor.trackBroadcast = async (hex: string) => {
      broadcasts.push(Transaction.fromHex(hex).getId());
      return track(hex);
    };
    await monitor.start();
    await pm.start();
    const node: Node = {
      store,
      readModel,
      cfds,
      monitor,
      pm,
      broadcasts,
      stop: once(async () => {
        await pm.stop();
        await monitor.stop();
        await readModel.close();
        await store.close();
      }),
    };
    net.cleanups.add(node.stop);
    return node;
  }

  async function until(node: Node, what: string, check: (cfd: Cfd) => boolean): Promise<Cfd> {
    return wait.until(
      what,
      async () => {
        const cfd = await node.readModel.get('cfd-test');
        return cfd && check(cfd) ? cfd : undefined;
      },
      30_000,
      25,
    );
  }

  /** A {@link contract} and its rollover, taken to "pending" on both sides. */
  async function rolledContract() {
    const c = await contract();
    return { c, rolled: rollTestContract(c) };
  }

  /** `full` without the taker's commit signature: the maker's C_new while a rollover runs. */
  const takerSignedOnly = (full: ContractRecord): ContractRecord => ({
    ...full,
    commit: { ...full.commit, counterpartyAdaptorSignature: '' },
  });

  /** {@link startNode} seeded with `record` (`stored` in the DLC store); its lock confirmed. */
  async function lockedNode(
    record: ContractRecord,
    stored: ContractRecord = record,
    extra: Partial<Pick<ProcessManagerDeps, 'bumper'>> = {},
  ) {
    const node = await startNode(record, true, stored, extra);
    await mineFromMempool(record.lock.txid);
    await until(node, 'lock confirmed', (cfd) => cfd.lockConfirmed);
    return node;
  }

  /** Waits until `txid` is in the mempool, then mines a block. */
  async function mineFromMempool(txid: string): Promise<void> {
    await waitInMempool(txid);
    await net.chain.mine(1);
  }

  /** Another party publishes `tx`; a block mines it. */
  async function sendAndMine(tx: Transaction): Promise<void> {
    await net.rpc.sendRawTransaction(tx.toHex());
    await net.chain.mine(1);
  }

  /** Mines past the CET timelock; waits until `node` saw it pass. */
  async function pastCetLock(node: Node): Promise<void> {
    await net.chain.mine(11);
    await until(node, 'CET lock expired', (cfd) => cfd.cetTimelockExpired);
  }

  /**
   * The CET `txid` pays (maker first, then taker) each of `roles` its `table` row at `price`, less
   * half the fee of a CET spending `commit`.
   */
  async function cetPays(
    txid: string,
    table: typeof TABLE,
    price: number,
    commit: Parameters<typeof cetFee>[0],
    roles: readonly ('maker' | 'taker')[] = ['maker', 'taker'],
  ): Promise<void> {
    const row = table.find((r) => r.start <= price && price <= r.end)!;
    const half = cetFee(commit) / 2n;
    for (const role of roles) {
      const vout = role === 'maker' ? 0 : 1;
      assert.equal((await net.rpc.getTxOut(txid, vout))?.value, row[role] - half, role);
    }
  }

  /** The revoked `stale` commit (`revoked` to the node) is published: the node punishes it. */
  async function punishes(node: Node, stale: Transaction, revoked: string): Promise<void> {
    await sendAndMine(stale);
    const punishing = await until(node, 'punish published', (cfd) => cfd.punishTx !== undefined);
    assert.equal(punishing.revokedCommitSeen, revoked);
    await mineFromMempool(punishing.punishTx!.txid);
    await until(node, 'punished', (cfd) => cfd.settled === 'punish');
    const out = await net.rpc.getTxOut(punishing.punishTx!.txid, 0);
    assert.ok(out && out.value > stale.outs[0]!.value - 1_000n, 'the whole commit output');
  }

  it('publishes the lock, then a force close: commit, CET after the oracle and the CET lock', async () => {
    const c = await contract();
    const record = c.records.taker;
    const node = await startNode(record, true);
    await until(node, 'lock in mempool', () => true);
    const lockTxid = record.lock.txid;
    const deadline = Date.now() + 10_000;
    while (!(await net.rpc.getMempoolEntry(lockTxid)) && Date.now() < deadline) await sleep(25);
    await net.chain.mine(1);
    await until(node, 'lock confirmed', (cfd) => cfd.lockConfirmed);

    // The user forces the close.
    await node.cfds.execute('cfd-test', { type: 'commit', commitTx: txOf(signedCommit(record)) });
    await mineFromMempool(record.commit.txid);
    await until(node, 'commit confirmed', (cfd) => cfd.commitConfirmed);
    await pastCetLock(node);

    // The oracle attests: the CET goes out and confirms.
    const price = 45_678;
    await node.pm.onAttestation(attestationOf(c, SETTLEMENT_EVENT, price));
    const attested = await until(node, 'CET ready', (cfd) => cfd.cet !== undefined);
    await mineFromMempool(attested.cet!.txid);
    const closed = await until(node, 'CET confirmed', (cfd) => cfd.settled === 'cet');
    // Outputs: maker then taker, each its curve row for the price less half the CET fee.
    await cetPays(closed.cet!.txid, TABLE, price, c.transactions.commit);
  });

  it("the counterparty's commit waits in the mempool: followed as its force close until it confirms", async () => {
    const c = await contract();
    const node = await lockedNode(c.records.taker);
    const theirs = signedCommit(c.records.maker);
    await net.rpc.sendRawTransaction(theirs.toHex());
    const adopted = await until(node, 'adopted', (cfd) => cfd.commitTx !== undefined);
    assert.equal(adopted.commitTx!.txid, theirs.getId());
    assert.equal(adopted.commitByCounterparty, true);
    const events = await node.store.readStream('cfd-test');
    assert.deepEqual(events.find((e) => e.type === 'ManualCommit')?.data, {
      commitTx: { txid: theirs.getId(), hex: theirs.toHex() },
      byCounterparty: true,
    });
    await net.chain.mine(1);
    await until(node, 'commit confirmed', (cfd) => cfd.commitConfirmed);
  });

  it('a commit in the mempool while the lock is unconfirmed is not adopted (the lock can still be double-spent away)', async () => {
    const c = await contract();
    const node = await startNode(c.records.taker, true);
    await waitInMempool(c.records.taker.lock.txid);
    await net.rpc.sendRawTransaction(signedCommit(c.records.maker).toHex());
    await node.monitor.sync(); // the mempool spend of the lock found and handled
    await net.chain.mine(1);
    await until(
      node,
      'lock and commit confirmed',
      (cfd) => cfd.lockConfirmed && cfd.commitConfirmed,
    );
    const events = await node.store.readStream('cfd-test');
    assert.ok(!events.some((e) => e.type === 'ManualCommit'), 'not adopted');
  });

  it('refunds when no attestation comes before the refund lock, and resumes after a restart', async () => {
    const c = await contract();
    const record = c.records.taker;
    let node = await lockedNode(record);
    await node.cfds.execute('cfd-test', { type: 'commit', commitTx: txOf(signedCommit(record)) });
    await waitInMempool(record.commit.txid);

    // Crash: the node stops with the commit in the mempool; blocks pass while it is down.
    await node.stop();
    await net.chain.mine(REFUND_LOCK);
    node = await startNode(record, false);
    await until(node, 'commit confirmed', (cfd) => cfd.commitConfirmed);
    const refunding = await until(node, 'refund published', (cfd) => cfd.refundTx !== undefined);
    await mineFromMempool(refunding.refundTx!.txid);
    const done = await until(node, 'refunded', (cfd) => cfd.settled === 'refund');
    assert.ok(await net.rpc.getTxOut(done.refundTx!.txid, 0));
  });

  it('adopts a collaborative close the other side broadcast after the run failed here', async () => {
    const c = await contract();
    const record = c.records.taker;
    const node = await lockedNode(record);
    // The taker proposed and signed; the maker's answer never came, so the run failed here.
    const price = asPrice(51_000n * PRICE_SCALE);
    const payout = { maker: 200_000n, taker: record.lock.amount - 200_000n };
    await node.cfds.execute('cfd-test', {
      type: 'proposeSettlement',
      proposal: {
        price,
        makerPayout: payout.maker,
        takerPayout: payout.taker,
        proposedBy: 'taker',
      },
    });
    const closeFor = () =>
      buildClose(
        lockOutput(record),
        { maker: c.maker.identity.pub, taker: c.taker.identity.pub },
        payout,
        payoutScriptsOf(record),
      );
    // Within its window (an hour here): the close is followed, not force-closed.
    const signedClose = {
      txid: closeFor().tx.getId(),
      until: Math.floor(Date.now() / 1000) + 3600,
    };
    await node.cfds.execute('cfd-test', { type: 'acceptSettlement', signedClose });
    await node.cfds.execute('cfd-test', { type: 'failSettlement', reason: 'timed out' });
    // The maker finalises the close with the taker's signature and broadcasts it.
    const takerSig = signCooperative(closeFor(), 'taker', c.taker.identity.priv);
    const close = finalizeCooperative(closeFor(), 'maker', c.maker.identity.priv, takerSig);
    assert.ok(isCollaborativeClose(record, close));
    assert.ok(!isCollaborativeClose(record, signedCommit(record)));
    await sendAndMine(close);
    const closed = await until(node, 'close adopted', (cfd) => cfd.settled === 'collaborative');
    assert.equal(closed.closeTx?.txid, close.getId());
    assert.equal(closed.closePrice, price);
  });

  it('a settlement interrupted by a restart after our close signature left: failed, and force-closed at its deadline', async () => {
    const c = await contract();
    const record = c.records.taker;
    let node = await lockedNode(record);
    const payout = { maker: 200_000n, taker: record.lock.amount - 200_000n };
    await node.cfds.execute('cfd-test', {
      type: 'proposeSettlement',
      proposal: {
        price: asPrice(51_000n * PRICE_SCALE),
        makerPayout: payout.maker,
        takerPayout: payout.taker,
        proposedBy: 'taker',
      },
    });
    const close = buildClose(
      lockOutput(record),
      { maker: c.maker.identity.pub, taker: c.taker.identity.pub },
      payout,
      payoutScriptsOf(record),
    );
    // Our signature left, then the node died before the maker's answer.
    const signedClose = { txid: close.tx.getId(), until: Math.floor(Date.now() / 1000) + 2 };
    await node.cfds.execute('cfd-test', { type: 'acceptSettlement', signedClose });
    await node.stop();
    node = await startNode(record, false);
    const failed = await until(node, 'run failed', (cfd) => cfd.settlement === undefined);
    assert.deepEqual(failed.signedClose, signedClose);
    await until(node, 'commit at the deadline', (cfd) => cfd.commitTx?.txid === record.commit.txid);
    const types = (await node.store.readStream('cfd-test')).map((e) => e.type);
    assert.deepEqual(types.slice(-3), [
      'CollaborativeSettlementAccepted',
      'CollaborativeSettlementFailed',
      'ManualCommit',
    ]);
    await mineFromMempool(record.commit.txid);
    await until(node, 'commit confirmed', (cfd) => cfd.commitConfirmed);
  });

  it('fails a set-up CFD whose lock can never confirm: the other side double-spent its input', async () => {
    const c = await contract();
    const record = c.records.taker;
    // The maker gave up on a setup it never saw complete and spent its coin back to itself first.
    const sweep = spendP2wpkh(c.maker.funding, makerFunding, p2wpkh(c.maker.payout).output, 500n);
    await sendAndMine(sweep);
    const node = await startNode(record, true);
    const failed = await until(node, 'setup failed', (cfd) => cfd.setup === 'failed');
    assert.match(failed.failureReason!, new RegExp(`spent by ${sweep.getId()}`));
    assert.ok(!(await net.rpc.getMempoolEntry(record.lock.txid)), 'the lock is not published');
  });

  /** Attests `price` for `eventId`, waits for the CET to confirm and checks it pays `table`. */
  async function settleByCet(
    node: Node,
    c: TestContract,
    eventId: string,
    price: number,
    table: typeof TABLE,
    commit: Parameters<typeof cetFee>[0],
  ): Promise<Cfd> {
    await node.pm.onAttestation(attestationOf(c, eventId, price));
    const attested = await until(node, 'CET ready', (cfd) => cfd.cet !== undefined);
    await mineFromMempool(attested.cet!.txid);
    const closed = await until(node, 'CET confirmed', (cfd) => cfd.settled === 'cet');
    assert.equal(closed.cetTxidConfirmed, attested.cet!.txid);
    await cetPays(closed.cet!.txid, table, price, commit);
    return closed;
  }

  describe('after a rollover that failed past "pending" (the log names C_old, the record C_new)', () => {
    /** The taker's node, lock confirmed; its log names C_old, its record is the pending one. */
    async function pendingNode() {
      const { c, rolled } = await rolledContract();
      const pending = rolled.records.taker;
      const old = c.records.taker;
      assert.equal(pending.previous?.commit.txid, old.commit.txid);
      const node = await lockedNode(old, pending);
      assert.equal((await node.readModel.get('cfd-test'))!.dlc!.commitTxid, old.commit.txid);
      return { c, rolled, pending, old, node };
    }

    it('a force close publishes C_new, follows it, and its CET pays the new curve', async () => {
      const { c, rolled, pending, node } = await pendingNode();
      // The UI's force close signs the record's current commit: C_new.
      await node.cfds.execute('cfd-test', {
        type: 'commit',
        commitTx: txOf(signedCommit(pending)),
      });
      await mineFromMempool(pending.commit.txid);
      const committed = await until(node, 'C_new confirmed', (cfd) => cfd.commitConfirmed);
      assert.equal(committed.confirmedCommitTxid, pending.commit.txid);
      await pastCetLock(node);
      const price = 45_678;
      const oldRow = TABLE.find((r) => r.start <= price && price <= r.end)!;
      const newRow = ROLLED_TABLE.find((r) => r.start <= price && price <= r.end)!;
      assert.notEqual(oldRow.taker, newRow.taker, 'the two curves pay differently at this price');
      await settleByCet(
        node,
        c,
        ROLLED_SETTLEMENT_EVENT,
        price,
        ROLLED_TABLE,
        rolled.transactions.commit,
      );
    });

    it('the counterparty publishes C_old: followed (across a restart), its CET from the old record', async () => {
      const { c, old, node: first } = await pendingNode();
      await sendAndMine(signedCommit(c.records.maker));
      const committed = await until(first, 'C_old confirmed', (cfd) => cfd.commitConfirmed);
      assert.equal(confirmedCommit(committed), old.commit.txid);
      // Down while the CET lock passes.
      await first.stop();
      await net.chain.mine(11);
      const node = await startNode(old, false);
      await until(node, 'CET lock expired', (cfd) => cfd.cetTimelockExpired);
      await settleByCet(node, c, SETTLEMENT_EVENT, 45_678, TABLE, c.transactions.commit);
    });

    it('our C_new loses the race to their C_old: the CET prepared on C_new is dropped, C_old’s goes out', async () => {
      const { c, pending, old, node } = await pendingNode();
      // Their C_old reaches the mempool first.
      const theirs = signedCommit(c.records.maker);
      await net.rpc.sendRawTransaction(theirs.toHex());
      // The attestation of C_new's event: we publish C_new with its CET (rejected: a conflict).
      await node.pm.onAttestation(attestationOf(c, ROLLED_SETTLEMENT_EVENT, 45_678));
      const attested = await until(node, 'attested on C_new', (cfd) => cfd.cet !== undefined);
      assert.equal(attested.commitTx?.txid, pending.commit.txid);
      await net.chain.mine(1);
      const committed = await until(node, 'C_old confirmed', (cfd) => cfd.commitConfirmed);
      assert.equal(committed.confirmedCommitTxid, old.commit.txid);
      assert.equal(committed.cet, undefined, 'the CET on C_new can never confirm');
      assert.equal(committed.attestation, undefined);
      await pastCetLock(node);
      await settleByCet(node, c, SETTLEMENT_EVENT, 45_678, TABLE, c.transactions.commit);
    });

    it('the counterparty publishes C_new: followed, its CET from the new record', async () => {
      const { c, rolled, pending, node } = await pendingNode();
      await sendAndMine(signedCommit(rolled.records.maker));
      const committed = await until(node, 'C_new confirmed', (cfd) => cfd.commitConfirmed);
      assert.equal(committed.confirmedCommitTxid, pending.commit.txid);
      // The attestation comes first this time, the CET lock after.
      const price = 61_234;
      await node.pm.onAttestation(attestationOf(c, ROLLED_SETTLEMENT_EVENT, price));
      await until(node, 'attested', (cfd) => cfd.cet !== undefined);
      await pastCetLock(node);
      const cfd = (await node.readModel.get('cfd-test'))!;
      await mineFromMempool(cfd.cet!.txid);
      const closed = await until(node, 'CET confirmed', (x) => x.settled === 'cet');
      await cetPays(closed.cet!.txid, ROLLED_TABLE, price, rolled.transactions.commit, ['taker']);
    });
  });

  describe('the maker mid-rollover: C_new signed by the taker only (counterpartyOnly)', () => {
    /** No commit of ours: none, or the taker's `txid` adopted from the mempool. */
    function notOurs(cfd: Cfd, txid: string): void {
      if (cfd.commitTx === undefined) return;
      assert.equal(cfd.commitTx.txid, txid, 'the taker’s commit');
      assert.equal(cfd.commitByCounterparty, true, 'adopted from the mempool, not ours');
    }

    /**
     * The maker's node, lock confirmed: its log names C_old, its record is R_old plus the new
     * commit whose CET and refund signatures from the taker are stored, not its commit signature.
     */
    async function halfRolledMaker() {
      const { c, rolled } = await rolledContract();
      const old = c.records.maker;
      const full = rolled.records.maker;
      const half = takerSignedOnly(full);
      const stored = withCounterpartyOnly(old, half);
      assert.equal(stored.commit.txid, old.commit.txid, 'C_old stays current');
      assert.equal(stored.counterpartyOnly?.[0]?.commit.txid, full.commit.txid);
      assert.throws(
        () => signedCommit(stored.counterpartyOnly![0]!),
        'the maker cannot sign C_new',
      );
      const node = await lockedNode(old, stored);
      return { c, rolled, old, stored, node };
    }

    it('the taker publishes C_new: followed, its CET pays the new curve, C_old never published, no problem', async () => {
      const { c, rolled, old, node } = await halfRolledMaker();
      const cNew = rolled.records.taker.commit.txid;
      // The taker holds the maker's commit signature: it completes C_new and publishes it.
      await sendAndMine(signedCommit(rolled.records.taker));
      const committed = await until(node, 'C_new confirmed', (cfd) => cfd.commitConfirmed);
      assert.equal(confirmedCommit(committed), cNew);
      await pastCetLock(node);
      // C_new's event: the CET through C_new from the counterpartyOnly record, the maker's side.
      const price = 45_678;
      const closed = await settleByCet(
        node,
        c,
        ROLLED_SETTLEMENT_EVENT,
        price,
        ROLLED_TABLE,
        rolled.transactions.commit,
      );
      // Seen in the mempool before its block, C_new may have been adopted (followed to
      // confirmation as the taker's): never a commit of the maker's own.
      notOurs(closed, cNew);
      assert.equal(node.pm.problems.get('cfd-test'), undefined);
      const events = await node.store.readStream('cfd-test');
      assert.ok(
        !events.some(
          (e) => e.type === 'ManualCommit' && !(e.data as { byCounterparty?: true }).byCounterparty,
        ),
      );
      const attested = events.find((e) => e.type.startsWith('OracleAttested'))!;
      assert.equal((attested.data as { commitTx?: unknown }).commitTx, undefined);
      assert.ok(!node.broadcasts.includes(old.commit.txid), 'C_old never published');
      assert.ok(
        !node.broadcasts.includes(cNew) || closed.commitByCounterparty,
        'C_new is the taker’s to publish (sent again only as the one seen)',
      );
      assert.ok(node.broadcasts.includes(closed.cet!.txid));
    });

    it('the taker’s C_new waits in the mempool: adopted from the counterpartyOnly record, C_old never published', async () => {
      const { rolled, old, node } = await halfRolledMaker();
      const cNew = signedCommit(rolled.records.taker);
      await net.rpc.sendRawTransaction(cNew.toHex());
      const adopted = await until(node, 'C_new adopted', (cfd) => cfd.commitTx !== undefined);
      assert.equal(adopted.commitTx!.txid, cNew.getId());
      assert.equal(adopted.commitByCounterparty, true);
      await net.chain.mine(1);
      const committed = await until(node, 'C_new confirmed', (cfd) => cfd.commitConfirmed);
      assert.equal(confirmedCommit(committed), cNew.getId());
      assert.ok(!node.broadcasts.includes(old.commit.txid), 'C_old never published');
      assert.equal(node.pm.problems.get('cfd-test'), undefined);
    });

    it('the taker publishes C_new and the attestation comes before the CET lock: closed on the new curve', async () => {
      const { c, rolled, old, node } = await halfRolledMaker();
      await sendAndMine(signedCommit(rolled.records.taker));
      await until(node, 'C_new confirmed', (cfd) => cfd.commitConfirmed);
      const price = 61_234;
      await node.pm.onAttestation(attestationOf(c, ROLLED_SETTLEMENT_EVENT, price));
      const attested = await until(node, 'attested', (cfd) => cfd.cet !== undefined);
      notOurs(attested, rolled.records.taker.commit.txid);
      assert.equal(node.pm.problems.get('cfd-test'), undefined);
      await pastCetLock(node);
      await mineFromMempool(attested.cet!.txid);
      const closed = await until(node, 'CET confirmed', (cfd) => cfd.settled === 'cet');
      await cetPays(closed.cet!.txid, ROLLED_TABLE, price, rolled.transactions.commit);
      assert.ok(!node.broadcasts.includes(old.commit.txid), 'C_old never published');
    });

    it('the taker publishes C_new and no attestation comes: refunded through C_new’s own refund', async () => {
      const { rolled, old, node } = await halfRolledMaker();
      await sendAndMine(signedCommit(rolled.records.taker));
      await until(node, 'C_new confirmed', (cfd) => cfd.commitConfirmed);
      await net.chain.mine(REFUND_LOCK);
      const refunding = await until(node, 'refund published', (cfd) => cfd.refundTx !== undefined);
      assert.equal(refunding.refundTx!.txid, rolled.transactions.refund.tx.getId());
      await mineFromMempool(refunding.refundTx!.txid);
      await until(node, 'refunded', (cfd) => cfd.settled === 'refund');
      assert.ok(await net.rpc.getTxOut(refunding.refundTx!.txid, 0));
      assert.ok(!node.broadcasts.includes(old.commit.txid), 'C_old never published');
      assert.equal(node.pm.problems.get('cfd-test'), undefined);
    });

    it('nothing published and C_old’s event attested: the maker publishes C_old (its current), never C_new', async () => {
      const { c, rolled, old, stored, node } = await halfRolledMaker();
      const cNew = rolled.records.maker.commit.txid;
      // The force close (ui-server) signs the stored record's current commit: C_old.
      assert.equal(signedCommit(stored).getId(), old.commit.txid);
      // C_new's event first: no commit of the maker's has CETs for it that it could publish.
      await node.pm.onAttestation(attestationOf(c, ROLLED_SETTLEMENT_EVENT, 45_678));
      const after = (await node.readModel.get('cfd-test'))!;
      assert.equal(after.attestation, undefined);
      assert.equal(after.commitTx, undefined);
      // C_old's event: C_old goes out with its CET.
      const price = 45_678;
      await node.pm.onAttestation(attestationOf(c, SETTLEMENT_EVENT, price));
      const attested = await until(node, 'attested on C_old', (cfd) => cfd.cet !== undefined);
      assert.equal(attested.commitTx?.txid, old.commit.txid);
      await mineFromMempool(old.commit.txid);
      const committed = await until(node, 'C_old confirmed', (cfd) => cfd.commitConfirmed);
      assert.equal(confirmedCommit(committed), old.commit.txid);
      await pastCetLock(node);
      await mineFromMempool(attested.cet!.txid);
      const closed = await until(node, 'CET confirmed', (cfd) => cfd.settled === 'cet');
      await cetPays(closed.cet!.txid, TABLE, price, c.transactions.commit);
      assert.ok(!node.broadcasts.includes(cNew), 'C_new never published by the maker');
      assert.equal(node.pm.problems.get('cfd-test'), undefined);
    });

    it('a later rollover’s final record revokes C_new: the taker publishing it is punished', async () => {
      const { c, rolled } = await rolledContract();
      const old = c.records.maker;
      const full = rolled.records.maker;
      const half = takerSignedOnly(full);
      // The next rollover starts from R_old + counterpartyOnly(C_new) and completes: the taker
      // revealed its secrets of both C_old and C_new.
      const next = rollTestContract({
        ...c,
        records: { maker: withCounterpartyOnly(old, half), taker: rolled.records.taker },
      });
      const final = finalRecord(
        next.records.maker,
        new Map([
          [old.commit.txid, bytesToHex(c.taker.revocation.priv)],
          [full.commit.txid, rolled.records.taker.revocationSk],
        ]),
      );
      assert.deepEqual(
        final.revoked.map((r) => r.txid).sort(),
        [old.commit.txid, full.commit.txid].sort(),
      );
      const node = await lockedNode(old, final);
      // The taker publishes the C_new it revoked.
      await punishes(node, signedCommit(rolled.records.taker), full.commit.txid);
    });
  });

  it('punishes a commit revoked only in the record (the final record stored, the rollover not logged)', async () => {
    const { c, rolled } = await rolledContract();
    const old = c.records.taker;
    // The maker's revocation secret of C_old arrived and the final record was stored; the node
    // died before RolloverCompleted, so the log still names C_old as its contract.
    const final = finalRecord(
      rolled.records.taker,
      new Map([[old.commit.txid, bytesToHex(c.maker.revocation.priv)]]),
    );
    assert.deepEqual(
      final.revoked.map((r) => r.txid),
      [old.commit.txid],
    );
    const node = await lockedNode(old, final);
    // The maker publishes the commit it revoked.
    await punishes(node, signedCommit(c.records.maker), old.commit.txid);
  });

  it('a revoked commit spends the lock while our commit waits: ours is no longer paid for nor sent (it could only evict the punish)', async () => {
    const { c, rolled } = await rolledContract();
    const old = c.records.taker;
    const final = finalRecord(
      rolled.records.taker,
      new Map([[old.commit.txid, bytesToHex(c.maker.revocation.priv)]]),
    );
    const bumper = new FeeBumper({
      rpc: () => net.rpc,
      wallet: () => undefined,
      fees: new FeeEstimator({ rpc: () => net.rpc, maxRate: 500n, logger: silent }),
      budgetSats: 100_000n,
      confirmWithin: 6,
      logger: silent,
    });
    const node = await lockedNode(old, final, { bumper: () => bumper });
    // Our force close: the current commit goes out and is followed.
    const ours = signedCommit(final);
    await node.cfds.execute('cfd-test', { type: 'commit', commitTx: txOf(ours) });
    await waitInMempool(ours.getId());
    await wait.until('our commit followed', async () =>
      bumper.status('cfd-test').some((b) => b.kind === 'commit' && b.txid === ours.getId()),
    );
    const sent = node.broadcasts.filter((t) => t === ours.getId()).length;
    assert.ok(sent >= 1);
    // A miner takes the maker's revoked commit instead (ours leaves the mempool).
    const stale = signedCommit(c.records.maker);
    await net.chain.mineTransactions([stale.toHex()]);
    await until(node, 'punish published', (cfd) => cfd.punishTx !== undefined);
    await wait.until(
      'our commit no longer followed',
      async () => !bumper.status('cfd-test').some((b) => b.kind === 'commit'),
    );
    await mineFromMempool((await node.readModel.get('cfd-test'))!.punishTx!.txid);
    await until(node, 'punished', (cfd) => cfd.settled === 'punish');
    assert.equal(
      node.broadcasts.filter((t) => t === ours.getId()).length,
      sent,
      'not sent again once the revoked commit was seen',
    );
  });

  async function waitInMempool(txid: string): Promise<void> {
    await wait.untilInMempool(net.rpc, txid);
  }
});

/** `f` run once: later calls get the first call's promise (a test may stop a node early). */
function once(f: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | undefined;
  return () => (done ??= f());
}

function txOf(tx: { getId(): string; toHex(): string }) {
  return { txid: tx.getId(), hex: tx.toHex() };
}
