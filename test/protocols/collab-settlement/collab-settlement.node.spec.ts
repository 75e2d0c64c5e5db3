/**
 * `/dlcfd/collab-settlement/1.0.0` between a real taker and maker: two libp2p nodes on loopback,
 * each with its own event store, settling a lock that two in-memory parties funded and confirmed
 * on the embedded full node (which validates the close's signatures and amounts itself).
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { Psbt, Transaction } from 'bitcoinjs-lib';
import { pino } from 'pino';
import { payoutCurve, rowAtPrice, toRolePayouts } from '../../../dlc/payout-curve.ts';
import { buildLockTransaction, closeFee } from '../../../dlc/transactions.ts';
import { CfdRepository } from '../../../eventstore/cfd-repository.ts';
import { EventStore } from '../../../eventstore/event-store.ts';
import { uiState } from '../../../model/cfd.ts';
import { price } from '../../../model/units.ts';
import { EmbeddedChain } from '../../../node/chain/embedded.ts';
import { BitcoinRpc } from '../../../node/chain/rpc.ts';
import { loadOrCreateIdentity } from '../../../node/p2p/identity.ts';
import { createP2pNode, type P2pNode } from '../../../node/p2p/node.ts';
import {
  type CloseContext,
  COLLAB_SETTLEMENT_PROTOCOL,
  CollabSettlementMaker,
  CollabSettlementMessage,
  CollabSettlementTaker,
  closeTermsOf,
  MAX_MESSAGE_BYTES,
  messageToWire,
  type PolicyDecision,
  type SettlementReport,
  TakerSettlement,
} from '../../../protocols/collab-settlement/index.ts';
import { Framed } from '../../../protocols/wire.ts';
import { tempDir } from '../../helpers/cfd-fixtures.ts';
import { until } from '../../helpers/wait.ts';
import { newKey, p2wpkh, silent } from '../../node/chain/helpers.ts';
import {
  type Contract,
  closeContext,
  INITIAL_PRICE,
  lockAmounts,
  newContract,
  newParty,
  openCommands,
  QUANTITY,
} from './fixtures.ts';

const QUOTE = { bid: price(52_410), ask: price(52_411) };
const FUNDING = 3_000_000n;
const LOCK_FEE_EACH = 300n;

/** One side of the test: node, event store, the CFD contexts it knows, the protocol handler. */
interface Side {
  readonly node: P2pNode;
  readonly store: EventStore;
  readonly repo: CfdRepository;
  readonly contexts: Map<string, CloseContext>;
  readonly reports: SettlementReport[];
  readonly logs: string[];
  readonly logger: pino.Logger;
}

describe('protocols/collab-settlement over libp2p with the embedded chain', function () {
  this.timeout(30_000);
  let chain: EmbeddedChain;
  let rpc: BitcoinRpc;
  let dir: { path: string; cleanup: () => Promise<void> };
  let maker: Side & { protocol: CollabSettlementMaker };
  let taker: Side & { protocol: CollabSettlementTaker };
  /** The maker's policy, per test. */
  let policy: (cfdId: string) => PolicyDecision = () => 'accept';

  async function side(name: string, listen: string[]): Promise<Side> {
    const logs: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        logs.push(String(chunk));
        done();
      },
    });
    const store = await EventStore.open(`${dir.path}/${name}-events`);
    return {
      node: await createP2pNode({
        privateKey: await loadOrCreateIdentity(`${dir.path}/${name}`),
        listen,
      }),
      store,
      repo: new CfdRepository(store),
      contexts: new Map(),
      reports: [],
      logs,
      logger: pino({ level: 'info' }, sink),
    };
  }

  function init(s: Side) {
    return {
      repository: s.repo,
      // The contract's keys and lock, with the CFD's terms and fee balance as they are now.
      context: async (id: string) => {
        const ctx = s.contexts.get(id);
        return ctx && { ...ctx, ...closeTermsOf(await s.repo.load(id)) };
      },
      quote: () => QUOTE,
      rpc,
      logger: s.logger,
    };
  }

  before(async function () {
    this.timeout(60_000);
    chain = await EmbeddedChain.start({ logger: silent });
    rpc = new BitcoinRpc({ url: chain.rpcUrl, ...chain.rpcAuth });
    dir = await tempDir();
    const m = await side('maker', ['/ip4/127.0.0.1/tcp/0']);
    const t = await side('taker', []);
    maker = {
      ...m,
      protocol: new CollabSettlementMaker(m.node, {
        ...init(m),
        policy: (p) => policy(p.cfdId),
      }),
    };
    taker = { ...t, protocol: new CollabSettlementTaker(t.node, init(t)) };
    await maker.protocol.start();
    maker.protocol.onOutcome((r) => maker.reports.push(r));
    taker.protocol.onOutcome((r) => taker.reports.push(r));
    await taker.node.dial(maker.node.getMultiaddrs()[0]!);
  });

  after(async () => {
    await maker?.protocol.stop();
    await taker?.node.stop();
    await maker?.node.stop();
    await taker?.store.close();
    await maker?.store.close();
    await chain?.stop();
    await dir?.cleanup();
  });

  /** The maker's report of its settlement of `cfdId`, once it has one. */
  const makerReport = (cfdId: string) =>
    until('the maker report', () => maker.reports.find((r) => r.cfdId === cfdId), 5_000, 10);

  /**
   * Two in-memory parties fund a 2-of-2 lock of both margins and confirm it (as
   * test/dlc/transactions.node.spec.ts does); both nodes get an open CFD on it and its contexts.
   */
  async function openContract(makerPosition: 'long' | 'short' = 'short'): Promise<Contract> {
    const parties = { maker: newParty(), taker: newParty() };
    const amounts = lockAmounts(makerPosition);
    const funding = { maker: newKey(), taker: newKey() };
    const inputs = await Promise.all(
      (['maker', 'taker'] as const).map(async (role) => {
        const { txid, vout } = await chain.fund(p2wpkh(funding[role]).address, FUNDING);
        const script = p2wpkh(funding[role]).output;
        return {
          margin: amounts[role],
          inputs: [{ txid, vout, witnessUtxo: { script, value: FUNDING } }],
          change: [{ script, value: FUNDING - amounts[role] - LOCK_FEE_EACH }],
        };
      }),
    );
    await chain.mine(1);
    const lock = buildLockTransaction({
      identities: { maker: parties.maker.identity.pub, taker: parties.taker.identity.pub },
      maker: inputs[0]!,
      taker: inputs[1]!,
    });
    const signed = (['maker', 'taker'] as const).map((role, i) => {
      const psbt = lock.psbt.clone();
      psbt.signInput(i, {
        publicKey: funding[role].pub,
        sign: (hash: Uint8Array) =>
          secp256k1.sign(hash, funding[role].priv, { prehash: false, lowS: true }),
      });
      return psbt;
    });
    const combined = Psbt.fromBase64(signed[0]!.toBase64()).combine(signed[1]!);
    combined.finalizeAllInputs();
    const lockTx = combined.extractTransaction();
    await rpc.sendRawTransaction(lockTx.toHex());
    await chain.mine(1);
    assert.ok(await rpc.getTxOut(lock.output.txid, 0, true), 'lock confirmed');

    const c = newContract({
      makerPosition,
      ...parties,
      lockOutpoint: { txid: lock.output.txid, vout: 0 },
    });
    assert.deepEqual(c.lock, lock.output);
    for (const [s, role, peer] of [
      [maker, 'maker', taker.node.peerId.toString()],
      [taker, 'taker', maker.node.peerId.toString()],
    ] as const) {
      for (const command of openCommands(c, role, peer)) await s.repo.execute(c.cfdId, command);
      s.contexts.set(c.cfdId, closeContext(c, role, await s.repo.load(c.cfdId)));
    }
    return c;
  }

  const eventTypes = async (s: Side, id: string) =>
    (await s.store.readStream(id)).map((e) => e.type).slice(4);

  it('maker accepts: the close confirms, paying the curve row at the agreed price minus the fee split', async () => {
    const c = await openContract('short');
    const started = Date.now();
    const outcome = await taker.protocol.settle(c.cfdId);
    assert.equal(
      outcome.status,
      'completed',
      JSON.stringify(outcome, (_k, v) => String(v)),
    );
    assert.ok(Date.now() - started < 3_000);
    if (outcome.status !== 'completed') return;
    assert.equal(outcome.price, QUOTE.bid, 'a short maker closes at the bid');

    // Both recorded the same close; both broadcast it.
    const report = await makerReport(c.cfdId);
    assert.equal(report.outcome.status, 'completed');
    for (const s of [maker, taker]) {
      assert.deepEqual(await eventTypes(s, c.cfdId), [
        'CollaborativeSettlementStarted',
        'CollaborativeSettlementAccepted',
        'CollaborativeSettlementCompleted',
      ]);
      const cfd = await s.repo.load(c.cfdId);
      assert.deepEqual(cfd.closeTx, outcome.closeTx);
      assert.equal(uiState(cfd), 'pendingClose');
      assert.ok(
        s.logs.some((l) => l.includes('close transaction broadcast') && l.includes(c.cfdId)),
        'broadcast',
      );
    }

    await chain.mine(1);
    const info = await rpc.getTransaction(outcome.closeTx.txid);
    assert.ok(info && info.confirmations > 0, 'close confirmed');
    const tx = Transaction.fromHex(outcome.closeTx.hex);
    const feeBalance = (await maker.repo.load(c.cfdId)).feeBalance;
    const curve = payoutCurve({
      initialPrice: INITIAL_PRICE,
      quantity: QUANTITY,
      longLeverage: 2,
      shortLeverage: 1,
      feeBalance,
    });
    const [row] = toRolePayouts([rowAtPrice(curve.rows, 52_410)], 'short');
    const half = closeFee() / 2n;
    assert.deepEqual(
      tx.outs.map((o) => [Buffer.from(o.script).toString('hex'), o.value]),
      [
        [Buffer.from(p2wpkh(c.maker.payout).output).toString('hex'), row!.maker - half],
        [Buffer.from(p2wpkh(c.taker.payout).output).toString('hex'), row!.taker - half],
      ],
    );
    // 169 × 1 sat/vB split, each pays ⌊169/2⌋: 168 sats go to the miner.
    const paid = tx.outs.reduce((sum, o) => sum + o.value, 0n);
    assert.equal(c.lock.value - paid, 2n * half);
    assert.equal(row!.maker + row!.taker, c.lock.value);
  });

  it('maker rejects (a manual decision): both CFDs are open again and may settle later', async () => {
    const c = await openContract('long');
    policy = () => 'manual';
    const settling = taker.protocol.settle(c.cfdId);
    const pending = await until(
      'a pending proposal',
      () => maker.protocol.pending().find((p) => p.cfdId === c.cfdId),
      5_000,
      10,
    );
    assert.equal(pending.price, QUOTE.ask, 'a long maker closes at the ask');
    maker.protocol.reject(c.cfdId, 'inventory full');
    assert.deepEqual(await settling, { status: 'rejected', reason: 'inventory full' });
    for (const s of [maker, taker]) {
      assert.deepEqual(await eventTypes(s, c.cfdId), [
        'CollaborativeSettlementStarted',
        'CollaborativeSettlementRejected',
      ]);
      assert.equal(uiState(await s.repo.load(c.cfdId)), 'open');
    }
    assert.deepEqual(maker.protocol.pending(), []);

    // Accepted by hand the second time.
    const again = taker.protocol.settle(c.cfdId);
    await until(
      'a pending proposal',
      () => maker.protocol.pending().find((p) => p.cfdId === c.cfdId),
      5_000,
      10,
    );
    maker.protocol.accept(c.cfdId);
    assert.equal((await again).status, 'completed');
    policy = () => 'accept';
  });

  it('malformed, oversized and out-of-order messages reset the stream, record a failure, and the maker keeps serving', async () => {
    const c = await openContract('short');
    const raw = async () =>
      new Framed(await taker.node.dialProtocol(maker.node.peerId, COLLAB_SETTLEMENT_PROTOCOL), {
        maxMessageBytes: 64 * 1024,
        timeoutMs: 5_000,
      });
    const resetByMaker = async (f: Framed) => {
      await assert.rejects(f.read(CollabSettlementMessage), (e: Error) =>
        /StreamResetError|StreamClosedError|reset/i.test(`${e.name} ${e.message}`),
      );
    };

    // 1. First message out of order (a signature): reset, no CFD involved.
    const a = await raw();
    await a.write({ type: 'signature', signature: '11'.repeat(64) });
    await resetByMaker(a);
    // 2. Oversized first frame: reset.
    const b = await raw();
    await b.write({ type: 'propose', cfdId: 'x'.repeat(MAX_MESSAGE_BYTES) });
    await resetByMaker(b);
    assert.deepEqual(await eventTypes(maker, c.cfdId), []);

    // 3. A valid proposal (accepted by policy), then garbage instead of the signature.
    const proposal = new TakerSettlement(
      { ...taker.contexts.get(c.cfdId)!, feeBalance: (await taker.repo.load(c.cfdId)).feeBalance },
      QUOTE.bid,
    ).start().send!;
    const d = await raw();
    await d.write(messageToWire(proposal));
    assert.deepEqual(await d.read(CollabSettlementMessage), { type: 'accept' });
    await d.write({ type: 'signature', signature: 'not hex' });
    await resetByMaker(d);
    const failed = await until(
      'the maker failed',
      () => maker.reports.find((r) => r.cfdId === c.cfdId && r.outcome.status === 'failed'),
      5_000,
      10,
    );
    assert.equal((failed.outcome as { error: Error }).error.name, 'ProtocolViolationError');
    assert.deepEqual(await eventTypes(maker, c.cfdId), [
      'CollaborativeSettlementStarted',
      'CollaborativeSettlementAccepted',
      'CollaborativeSettlementFailed',
    ]);
    assert.equal(uiState(await maker.repo.load(c.cfdId)), 'open');

    // The maker still serves, and the same CFD settles properly.
    const outcome = await taker.protocol.settle(c.cfdId);
    assert.equal(outcome.status, 'completed');
    await chain.mine(1);
    if (outcome.status === 'completed') {
      const info = await rpc.getTransaction(outcome.closeTx.txid);
      assert.ok(info && info.confirmations > 0);
    }
  });
  it('a maker that builds another close transaction resets; both CFDs record the failure', async () => {
    const c = await openContract('short');
    // The maker believes the taker is paid elsewhere: its close has another txid.
    const ctx = maker.contexts.get(c.cfdId)!;
    maker.contexts.set(c.cfdId, {
      ...ctx,
      payoutScripts: { ...ctx.payoutScripts, taker: p2wpkh(newKey()).output },
    });
    const outcome = await taker.protocol.settle(c.cfdId);
    assert.equal(outcome.status, 'failed');
    const report = await makerReport(c.cfdId);
    assert.equal((report.outcome as { error: Error }).error.name, 'TxidMismatchError');
    for (const s of [maker, taker]) {
      assert.deepEqual(await eventTypes(s, c.cfdId), [
        'CollaborativeSettlementStarted',
        'CollaborativeSettlementFailed',
      ]);
    }
  });

  it('a taker that gives up waiting for a manual decision fails; the maker drops the proposal', async () => {
    const c = await openContract('short');
    policy = () => 'manual';
    const impatient = new CollabSettlementTaker(taker.node, {
      ...init(taker),
      timeouts: { decisionMs: 300 },
    });
    const outcome = await impatient.settle(c.cfdId);
    assert.equal(outcome.status, 'failed');
    assert.equal((outcome as { error: Error }).error.name, 'ProtocolTimeoutError');
    const report = await makerReport(c.cfdId);
    assert.equal((report.outcome as { error: Error }).error.name, 'StreamClosedError');
    assert.deepEqual(maker.protocol.pending(), []);
    for (const s of [maker, taker]) {
      assert.deepEqual(await eventTypes(s, c.cfdId), [
        'CollaborativeSettlementStarted',
        'CollaborativeSettlementFailed',
      ]);
      assert.equal(uiState(await s.repo.load(c.cfdId)), 'open');
    }
    policy = () => 'accept';
  });
});
