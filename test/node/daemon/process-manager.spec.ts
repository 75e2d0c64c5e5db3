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
import { attestPrice } from '../../../dlc/oracle.ts';
import { finalRecord, withCounterpartyOnly } from '../../../dlc/record.ts';
import { finalizeCooperative, signCooperative } from '../../../dlc/sign.ts';
import { buildClose, cetFee } from '../../../dlc/transactions.ts';
import { CfdReadModel } from '../../../eventstore/cfd-read-model.ts';
import { CfdRepository } from '../../../eventstore/cfd-repository.ts';
import { LevelContractStore } from '../../../eventstore/contract-store.ts';
import { EventStore } from '../../../eventstore/event-store.ts';
import { type Cfd, confirmedCommit } from '../../../model/cfd.ts';
import { asPrice, PRICE_SCALE } from '../../../model/units.ts';
import { EmbeddedChain } from '../../../node/chain/embedded.ts';
import type { ChainMonitor } from '../../../node/chain/monitor.ts';
import { BitcoinRpc } from '../../../node/chain/rpc.ts';
import type { ProcessManager } from '../../../node/daemon/process-manager.ts';
import { tempDir, terms } from '../../helpers/cfd-fixtures.ts';
import {
  buildTestContract,
  newParty,
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
  let chain: EmbeddedChain;
  let rpc: BitcoinRpc;
  let dir: { path: string; cleanup: () => Promise<void> };
  const nodes: Node[] = [];

  beforeEach(async () => {
    dir = await tempDir();
    chain = await EmbeddedChain.start({ logger: silent });
    rpc = new BitcoinRpc({ url: chain.rpcUrl, ...chain.rpcAuth });
  });

  afterEach(async () => {
    for (const n of nodes.splice(0)) await n.stop();
    await chain.stop();
    await dir.cleanup();
  });

  /** The maker's funding coin of the last {@link contract}. */
  let makerFunding: { txid: string; vout: number; value: bigint };

  /** A contract between two parties funded on the chain; the lock is not broadcast. */
  async function contract(): Promise<TestContract> {
    const maker = newParty('maker');
    const taker = newParty('taker');
    const m = await chain.fund(p2wpkh(maker.funding).address, 1_000_000n);
    const t = await chain.fund(p2wpkh(taker.funding).address, 1_000_000n);
    makerFunding = { ...m, value: 1_000_000n };
    await chain.mine(1);
    return buildTestContract({
      maker,
      taker,
      refundTimelock: REFUND_LOCK,
      fundings: { maker: { ...m, value: 1_000_000n }, taker: { ...t, value: 1_000_000n } },
    });
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
  ): Promise<Node> {
    const store = await EventStore.open(join(dir.path, 'events'));
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
    const { monitor, pm } = watchChain(rpc, join(dir.path, 'monitor'), {
      cfds,
      readModel,
      contracts,
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
      stop: async () => {
        await pm.stop();
        await monitor.stop();
        await readModel.close();
        await store.close();
      },
    };
    nodes.push(node);
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

  it('publishes the lock, then a force close: commit, CET after the oracle and the CET lock', async () => {
    const c = await contract();
    const record = c.records.taker;
    const node = await startNode(record, true);
    await until(node, 'lock in mempool', () => true);
    const lockTxid = record.lock.txid;
    const deadline = Date.now() + 10_000;
    while (!(await rpc.getMempoolEntry(lockTxid)) && Date.now() < deadline) await sleep(25);
    await chain.mine(1);
    await until(node, 'lock confirmed', (cfd) => cfd.lockConfirmed);

    // The user forces the close.
    await node.cfds.execute('cfd-test', { type: 'commit', commitTx: txOf(signedCommit(record)) });
    await waitInMempool(record.commit.txid);
    await chain.mine(1);
    await until(node, 'commit confirmed', (cfd) => cfd.commitConfirmed);
    await chain.mine(11);
    await until(node, 'CET lock expired', (cfd) => cfd.cetTimelockExpired);

    // The oracle attests: the CET goes out and confirms.
    const price = 45_678;
    await node.pm.onAttestation({
      eventId: SETTLEMENT_EVENT,
      price,
      scalars: attestPrice(c.oracle.sk, c.oracle.nonceSks, price),
      time: '',
    });
    const attested = await until(node, 'CET ready', (cfd) => cfd.cet !== undefined);
    await waitInMempool(attested.cet!.txid);
    await chain.mine(1);
    const closed = await until(node, 'CET confirmed', (cfd) => cfd.settled === 'cet');
    // Outputs: maker then taker, each its curve row for the price less half the CET fee.
    const row = TABLE.find((r) => r.start <= price && price <= r.end)!;
    const half = cetFee(c.transactions.commit) / 2n;
    assert.equal((await rpc.getTxOut(closed.cet!.txid, 0))?.value, row.maker - half);
    assert.equal((await rpc.getTxOut(closed.cet!.txid, 1))?.value, row.taker - half);
  });

  it('refunds when no attestation comes before the refund lock, and resumes after a restart', async () => {
    const c = await contract();
    const record = c.records.taker;
    let node = await startNode(record, true);
    await waitInMempool(record.lock.txid);
    await chain.mine(1);
    await until(node, 'lock confirmed', (cfd) => cfd.lockConfirmed);
    await node.cfds.execute('cfd-test', { type: 'commit', commitTx: txOf(signedCommit(record)) });
    await waitInMempool(record.commit.txid);

    // Crash: the node stops with the commit in the mempool; blocks pass while it is down.
    await node.stop();
    nodes.splice(nodes.indexOf(node), 1);
    await chain.mine(REFUND_LOCK);
    node = await startNode(record, false);
    await until(node, 'commit confirmed', (cfd) => cfd.commitConfirmed);
    const refunding = await until(node, 'refund published', (cfd) => cfd.refundTx !== undefined);
    await waitInMempool(refunding.refundTx!.txid);
    await chain.mine(1);
    const done = await until(node, 'refunded', (cfd) => cfd.settled === 'refund');
    assert.ok(await rpc.getTxOut(done.refundTx!.txid, 0));
  });

  it('adopts a collaborative close the other side broadcast after the run failed here', async () => {
    const c = await contract();
    const record = c.records.taker;
    const node = await startNode(record, true);
    await waitInMempool(record.lock.txid);
    await chain.mine(1);
    await until(node, 'lock confirmed', (cfd) => cfd.lockConfirmed);
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
    await rpc.sendRawTransaction(close.toHex());
    await chain.mine(1);
    const closed = await until(node, 'close adopted', (cfd) => cfd.settled === 'collaborative');
    assert.equal(closed.closeTx?.txid, close.getId());
    assert.equal(closed.closePrice, price);
  });

  it('a settlement interrupted by a restart after our close signature left: failed, and force-closed at its deadline', async () => {
    const c = await contract();
    const record = c.records.taker;
    let node = await startNode(record, true);
    await waitInMempool(record.lock.txid);
    await chain.mine(1);
    await until(node, 'lock confirmed', (cfd) => cfd.lockConfirmed);
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
    nodes.splice(nodes.indexOf(node), 1);
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
    await waitInMempool(record.commit.txid);
    await chain.mine(1);
    await until(node, 'commit confirmed', (cfd) => cfd.commitConfirmed);
  });

  it('fails a set-up CFD whose lock can never confirm: the other side double-spent its input', async () => {
    const c = await contract();
    const record = c.records.taker;
    // The maker gave up on a setup it never saw complete and spent its coin back to itself first.
    const sweep = spendP2wpkh(c.maker.funding, makerFunding, p2wpkh(c.maker.payout).output, 500n);
    await rpc.sendRawTransaction(sweep.toHex());
    await chain.mine(1);
    const node = await startNode(record, true);
    const failed = await until(node, 'setup failed', (cfd) => cfd.setup === 'failed');
    assert.match(failed.failureReason!, new RegExp(`spent by ${sweep.getId()}`));
    assert.ok(!(await rpc.getMempoolEntry(record.lock.txid)), 'the lock is not published');
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
    await node.pm.onAttestation({
      eventId,
      price,
      scalars: attestPrice(c.oracle.sk, c.oracle.nonceSks, price),
      time: '',
    });
    const attested = await until(node, 'CET ready', (cfd) => cfd.cet !== undefined);
    await waitInMempool(attested.cet!.txid);
    await chain.mine(1);
    const closed = await until(node, 'CET confirmed', (cfd) => cfd.settled === 'cet');
    assert.equal(closed.cetTxidConfirmed, attested.cet!.txid);
    const row = table.find((r) => r.start <= price && price <= r.end)!;
    const half = cetFee(commit) / 2n;
    assert.equal((await rpc.getTxOut(closed.cet!.txid, 0))?.value, row.maker - half);
    assert.equal((await rpc.getTxOut(closed.cet!.txid, 1))?.value, row.taker - half);
    return closed;
  }

  describe('after a rollover that failed past "pending" (the log names C_old, the record C_new)', () => {
    /** The taker's node, lock confirmed; its log names C_old, its record is the pending one. */
    async function pendingNode() {
      const c = await contract();
      const rolled = rollTestContract(c);
      const pending = rolled.records.taker;
      const old = c.records.taker;
      assert.equal(pending.previous?.commit.txid, old.commit.txid);
      const node = await startNode(old, true, pending);
      await waitInMempool(old.lock.txid);
      await chain.mine(1);
      await until(node, 'lock confirmed', (cfd) => cfd.lockConfirmed);
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
      await waitInMempool(pending.commit.txid);
      await chain.mine(1);
      const committed = await until(node, 'C_new confirmed', (cfd) => cfd.commitConfirmed);
      assert.equal(committed.confirmedCommitTxid, pending.commit.txid);
      await chain.mine(11);
      await until(node, 'CET lock expired', (cfd) => cfd.cetTimelockExpired);
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
      await rpc.sendRawTransaction(signedCommit(c.records.maker).toHex());
      await chain.mine(1);
      const committed = await until(first, 'C_old confirmed', (cfd) => cfd.commitConfirmed);
      assert.equal(confirmedCommit(committed), old.commit.txid);
      // Down while the CET lock passes.
      await first.stop();
      nodes.splice(nodes.indexOf(first), 1);
      await chain.mine(11);
      const node = await startNode(old, false);
      await until(node, 'CET lock expired', (cfd) => cfd.cetTimelockExpired);
      await settleByCet(node, c, SETTLEMENT_EVENT, 45_678, TABLE, c.transactions.commit);
    });

    it('our C_new loses the race to their C_old: the CET prepared on C_new is dropped, C_old’s goes out', async () => {
      const { c, pending, old, node } = await pendingNode();
      // Their C_old reaches the mempool first.
      const theirs = signedCommit(c.records.maker);
      await rpc.sendRawTransaction(theirs.toHex());
      // The attestation of C_new's event: we publish C_new with its CET (rejected: a conflict).
      await node.pm.onAttestation({
        eventId: ROLLED_SETTLEMENT_EVENT,
        price: 45_678,
        scalars: attestPrice(c.oracle.sk, c.oracle.nonceSks, 45_678),
        time: '',
      });
      const attested = await until(node, 'attested on C_new', (cfd) => cfd.cet !== undefined);
      assert.equal(attested.commitTx?.txid, pending.commit.txid);
      await chain.mine(1);
      const committed = await until(node, 'C_old confirmed', (cfd) => cfd.commitConfirmed);
      assert.equal(committed.confirmedCommitTxid, old.commit.txid);
      assert.equal(committed.cet, undefined, 'the CET on C_new can never confirm');
      assert.equal(committed.attestation, undefined);
      await chain.mine(11);
      await until(node, 'CET lock expired', (cfd) => cfd.cetTimelockExpired);
      await settleByCet(node, c, SETTLEMENT_EVENT, 45_678, TABLE, c.transactions.commit);
    });

    it('the counterparty publishes C_new: followed, its CET from the new record', async () => {
      const { c, rolled, pending, node } = await pendingNode();
      await rpc.sendRawTransaction(signedCommit(rolled.records.maker).toHex());
      await chain.mine(1);
      const committed = await until(node, 'C_new confirmed', (cfd) => cfd.commitConfirmed);
      assert.equal(committed.confirmedCommitTxid, pending.commit.txid);
      // The attestation comes first this time, the CET lock after.
      const price = 61_234;
      await node.pm.onAttestation({
        eventId: ROLLED_SETTLEMENT_EVENT,
        price,
        scalars: attestPrice(c.oracle.sk, c.oracle.nonceSks, price),
        time: '',
      });
      await until(node, 'attested', (cfd) => cfd.cet !== undefined);
      await chain.mine(11);
      await until(node, 'CET lock expired', (cfd) => cfd.cetTimelockExpired);
      const cfd = (await node.readModel.get('cfd-test'))!;
      await waitInMempool(cfd.cet!.txid);
      await chain.mine(1);
      const closed = await until(node, 'CET confirmed', (x) => x.settled === 'cet');
      const row = ROLLED_TABLE.find((r) => r.start <= price && price <= r.end)!;
      const half = cetFee(rolled.transactions.commit) / 2n;
      assert.equal((await rpc.getTxOut(closed.cet!.txid, 1))?.value, row.taker - half);
    });
  });

  describe('the maker mid-rollover: C_new signed by the taker only (counterpartyOnly)', () => {
    /**
     * The maker's node, lock confirmed: its log names C_old, its record is R_old plus the new
     * commit whose CET and refund signatures from the taker are stored, not its commit signature.
     */
    async function halfRolledMaker() {
      const c = await contract();
      const rolled = rollTestContract(c);
      const old = c.records.maker;
      const full = rolled.records.maker;
      const half: ContractRecord = {
        ...full,
        commit: { ...full.commit, counterpartyAdaptorSignature: '' },
      };
      const stored = withCounterpartyOnly(old, half);
      assert.equal(stored.commit.txid, old.commit.txid, 'C_old stays current');
      assert.equal(stored.counterpartyOnly?.[0]?.commit.txid, full.commit.txid);
      assert.throws(
        () => signedCommit(stored.counterpartyOnly![0]!),
        'the maker cannot sign C_new',
      );
      const node = await startNode(old, true, stored);
      await waitInMempool(old.lock.txid);
      await chain.mine(1);
      await until(node, 'lock confirmed', (cfd) => cfd.lockConfirmed);
      return { c, rolled, old, stored, node };
    }

    it('the taker publishes C_new: followed, its CET pays the new curve, C_old never published, no problem', async () => {
      const { c, rolled, old, node } = await halfRolledMaker();
      const cNew = rolled.records.taker.commit.txid;
      // The taker holds the maker's commit signature: it completes C_new and publishes it.
      await rpc.sendRawTransaction(signedCommit(rolled.records.taker).toHex());
      await chain.mine(1);
      const committed = await until(node, 'C_new confirmed', (cfd) => cfd.commitConfirmed);
      assert.equal(confirmedCommit(committed), cNew);
      await chain.mine(11);
      await until(node, 'CET lock expired', (cfd) => cfd.cetTimelockExpired);
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
      assert.equal(closed.commitTx, undefined, 'no commit of ours to publish');
      assert.equal(node.pm.problems.get('cfd-test'), undefined);
      const events = await node.store.readStream('cfd-test');
      assert.ok(!events.some((e) => e.type === 'ManualCommit'));
      const attested = events.find((e) => e.type.startsWith('OracleAttested'))!;
      assert.equal((attested.data as { commitTx?: unknown }).commitTx, undefined);
      assert.ok(!node.broadcasts.includes(old.commit.txid), 'C_old never published');
      assert.ok(!node.broadcasts.includes(cNew), 'C_new is the taker’s to publish');
      assert.ok(node.broadcasts.includes(closed.cet!.txid));
    });

    it('the taker publishes C_new and the attestation comes before the CET lock: closed on the new curve', async () => {
      const { c, rolled, old, node } = await halfRolledMaker();
      await rpc.sendRawTransaction(signedCommit(rolled.records.taker).toHex());
      await chain.mine(1);
      await until(node, 'C_new confirmed', (cfd) => cfd.commitConfirmed);
      const price = 61_234;
      await node.pm.onAttestation({
        eventId: ROLLED_SETTLEMENT_EVENT,
        price,
        scalars: attestPrice(c.oracle.sk, c.oracle.nonceSks, price),
        time: '',
      });
      const attested = await until(node, 'attested', (cfd) => cfd.cet !== undefined);
      assert.equal(attested.commitTx, undefined, 'C_new is out: nothing of ours to publish');
      assert.equal(node.pm.problems.get('cfd-test'), undefined);
      await chain.mine(11);
      await until(node, 'CET lock expired', (cfd) => cfd.cetTimelockExpired);
      await waitInMempool(attested.cet!.txid);
      await chain.mine(1);
      const closed = await until(node, 'CET confirmed', (cfd) => cfd.settled === 'cet');
      const row = ROLLED_TABLE.find((r) => r.start <= price && price <= r.end)!;
      const half = cetFee(rolled.transactions.commit) / 2n;
      assert.equal((await rpc.getTxOut(closed.cet!.txid, 0))?.value, row.maker - half);
      assert.equal((await rpc.getTxOut(closed.cet!.txid, 1))?.value, row.taker - half);
      assert.ok(!node.broadcasts.includes(old.commit.txid), 'C_old never published');
    });

    it('the taker publishes C_new and no attestation comes: refunded through C_new’s own refund', async () => {
      const { rolled, old, node } = await halfRolledMaker();
      await rpc.sendRawTransaction(signedCommit(rolled.records.taker).toHex());
      await chain.mine(1);
      await until(node, 'C_new confirmed', (cfd) => cfd.commitConfirmed);
      await chain.mine(REFUND_LOCK);
      const refunding = await until(node, 'refund published', (cfd) => cfd.refundTx !== undefined);
      assert.equal(refunding.refundTx!.txid, rolled.transactions.refund.tx.getId());
      await waitInMempool(refunding.refundTx!.txid);
      await chain.mine(1);
      await until(node, 'refunded', (cfd) => cfd.settled === 'refund');
      assert.ok(await rpc.getTxOut(refunding.refundTx!.txid, 0));
      assert.ok(!node.broadcasts.includes(old.commit.txid), 'C_old never published');
      assert.equal(node.pm.problems.get('cfd-test'), undefined);
    });

    it('nothing published and C_old’s event attested: the maker publishes C_old (its current), never C_new', async () => {
      const { c, rolled, old, stored, node } = await halfRolledMaker();
      const cNew = rolled.records.maker.commit.txid;
      // The force close (ui-server) signs the stored record's current commit: C_old.
      assert.equal(signedCommit(stored).getId(), old.commit.txid);
      // C_new's event first: no commit of the maker's has CETs for it that it could publish.
      await node.pm.onAttestation({
        eventId: ROLLED_SETTLEMENT_EVENT,
        price: 45_678,
        scalars: attestPrice(c.oracle.sk, c.oracle.nonceSks, 45_678),
        time: '',
      });
      const after = (await node.readModel.get('cfd-test'))!;
      assert.equal(after.attestation, undefined);
      assert.equal(after.commitTx, undefined);
      // C_old's event: C_old goes out with its CET.
      const price = 45_678;
      await node.pm.onAttestation({
        eventId: SETTLEMENT_EVENT,
        price,
        scalars: attestPrice(c.oracle.sk, c.oracle.nonceSks, price),
        time: '',
      });
      const attested = await until(node, 'attested on C_old', (cfd) => cfd.cet !== undefined);
      assert.equal(attested.commitTx?.txid, old.commit.txid);
      await waitInMempool(old.commit.txid);
      await chain.mine(1);
      const committed = await until(node, 'C_old confirmed', (cfd) => cfd.commitConfirmed);
      assert.equal(confirmedCommit(committed), old.commit.txid);
      await chain.mine(11);
      await until(node, 'CET lock expired', (cfd) => cfd.cetTimelockExpired);
      await waitInMempool(attested.cet!.txid);
      await chain.mine(1);
      const closed = await until(node, 'CET confirmed', (cfd) => cfd.settled === 'cet');
      const row = TABLE.find((r) => r.start <= price && price <= r.end)!;
      const half = cetFee(c.transactions.commit) / 2n;
      assert.equal((await rpc.getTxOut(closed.cet!.txid, 0))?.value, row.maker - half);
      assert.equal((await rpc.getTxOut(closed.cet!.txid, 1))?.value, row.taker - half);
      assert.ok(!node.broadcasts.includes(cNew), 'C_new never published by the maker');
      assert.equal(node.pm.problems.get('cfd-test'), undefined);
    });

    it('a later rollover’s final record revokes C_new: the taker publishing it is punished', async () => {
      const c = await contract();
      const rolled = rollTestContract(c);
      const old = c.records.maker;
      const full = rolled.records.maker;
      const half: ContractRecord = {
        ...full,
        commit: { ...full.commit, counterpartyAdaptorSignature: '' },
      };
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
      const node = await startNode(old, true, final);
      await waitInMempool(old.lock.txid);
      await chain.mine(1);
      await until(node, 'lock confirmed', (cfd) => cfd.lockConfirmed);
      // The taker publishes the C_new it revoked.
      const stale = signedCommit(rolled.records.taker);
      await rpc.sendRawTransaction(stale.toHex());
      await chain.mine(1);
      const punishing = await until(node, 'punish published', (cfd) => cfd.punishTx !== undefined);
      assert.equal(punishing.revokedCommitSeen, full.commit.txid);
      await waitInMempool(punishing.punishTx!.txid);
      await chain.mine(1);
      await until(node, 'punished', (cfd) => cfd.settled === 'punish');
      const out = await rpc.getTxOut(punishing.punishTx!.txid, 0);
      assert.ok(out && out.value > stale.outs[0]!.value - 1_000n, 'the whole commit output');
    });
  });

  it('punishes a commit revoked only in the record (the final record stored, the rollover not logged)', async () => {
    const c = await contract();
    const rolled = rollTestContract(c);
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
    const node = await startNode(old, true, final);
    await waitInMempool(old.lock.txid);
    await chain.mine(1);
    await until(node, 'lock confirmed', (cfd) => cfd.lockConfirmed);
    // The maker publishes the commit it revoked.
    const stale = signedCommit(c.records.maker);
    await rpc.sendRawTransaction(stale.toHex());
    await chain.mine(1);
    const punishing = await until(node, 'punish published', (cfd) => cfd.punishTx !== undefined);
    assert.equal(punishing.revokedCommitSeen, old.commit.txid);
    await waitInMempool(punishing.punishTx!.txid);
    await chain.mine(1);
    await until(node, 'punished', (cfd) => cfd.settled === 'punish');
    const out = await rpc.getTxOut(punishing.punishTx!.txid, 0);
    assert.ok(out && out.value > stale.outs[0]!.value - 1_000n, 'the whole commit output');
  });

  async function waitInMempool(txid: string): Promise<void> {
    await wait.untilInMempool(rpc, txid);
  }
});

function txOf(tx: { getId(): string; toHex(): string }) {
  return { txid: tx.getId(), hex: tx.toHex() };
}
