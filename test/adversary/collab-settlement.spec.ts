// Attack 3 of issue #11 — collaborative close as a free option. The taker signs the close first;
// a maker that keeps the taker's signature and withholds its own holds a close that spends the
// lock, which stays valid as long as the lock is unspent (rollovers reuse it). On the embedded
// chain, with the taker's real event log, process manager, chain monitor and settlement handler
// over libp2p, and a hostile maker speaking the wire protocol by hand.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Stream } from '@libp2p/interface';
import type { Transaction } from 'bitcoinjs-lib';
import {
  type ContractRecord,
  dlcSummary,
  lockOutput,
  payoutScriptsOf,
} from '../../dlc/contract.ts';
import { finalizeCooperative } from '../../dlc/sign.ts';
import { buildClose, cetFee, closeFee } from '../../dlc/transactions.ts';
import { CfdReadModel } from '../../eventstore/cfd-read-model.ts';
import { CfdRepository } from '../../eventstore/cfd-repository.ts';
import { LevelContractStore } from '../../eventstore/contract-store.ts';
import { EventStore } from '../../eventstore/event-store.ts';
import { type Cfd, outstandingSignedClose } from '../../model/cfd.ts';
import { price } from '../../model/units.ts';
import type { VerifiedAttestation } from '../../node/oracle/client.ts';
import { loadOrCreateIdentity } from '../../node/p2p/identity.ts';
import { createP2pNode, type P2pNode } from '../../node/p2p/node.ts';
import {
  type CloseContext,
  COLLAB_SETTLEMENT_PROTOCOL,
  CollabSettlementMessage,
  CollabSettlementTaker,
  closeTermsOf,
  MAX_MESSAGE_BYTES,
  messageToWire,
  settlementTerms,
} from '../../protocols/collab-settlement/index.ts';
import { Framed } from '../../protocols/wire.ts';
import { terms } from '../helpers/cfd-fixtures.ts';
import { chainFor } from '../helpers/chain.ts';
import {
  attestationOf,
  fundedTestContract,
  SETTLEMENT_EVENT,
  TABLE,
  type TestContract,
} from '../helpers/contract-fixtures.ts';
import * as wait from '../helpers/wait.ts';
import { watchChain } from '../helpers/watch.ts';
import { silent } from '../node/chain/helpers.ts';

const CFD = 'cfd-test';
/** The taker's window for the close it signed to reach the chain (short, for the test). */
const WINDOW_MS = 1_500;
/** The price the taker proposes and signs at, and the one the oracle attests later. */
const CLOSE_PRICE = price(51_000);
const LATER_PRICE = 45_678;

/** The taker's node: log, read model, contract records, chain monitor and process manager. */
interface TakerNode {
  readonly readModel: CfdReadModel;
  readonly cfds: CfdRepository;
  readonly settlement: CollabSettlementTaker;
  /** What settling the CFD needs, as the daemon builds it. */
  context(): Promise<CloseContext>;
  /** Hands a verified attestation over, as the oracle client does. */
  attest(a: VerifiedAttestation): Promise<void>;
  stop(): Promise<void>;
}

describe('adversary: collaborative close as a free option (issue #11, attack 3)', function () {
  this.timeout(120_000);
  const net = chainFor('each');
  let p2p: { maker: P2pNode; taker: P2pNode };

  beforeEach(async () => {
    p2p = {
      maker: await createP2pNode({
        privateKey: await loadOrCreateIdentity(join(net.dir, 'maker')),
        listen: ['/ip4/127.0.0.1/tcp/0'],
      }),
      taker: await createP2pNode({
        privateKey: await loadOrCreateIdentity(join(net.dir, 'taker')),
        listen: [],
      }),
    };
    net.cleanups.add(() => p2p.maker.stop());
    net.cleanups.add(() => p2p.taker.stop());
    await p2p.taker.dial(p2p.maker.getMultiaddrs()[0]!);
  });

  const contract = () => fundedTestContract(net.chain);

  /** Starts (or restarts, `seed` false) the taker's node on its data dir. */
  async function startTaker(c: TestContract, seed: boolean): Promise<TakerNode> {
    const record = c.records.taker;
    const store = await EventStore.open(join(net.dir, 'events'));
    const readModel = await CfdReadModel.open(store);
    const cfds = new CfdRepository(store);
    const contracts = new LevelContractStore(store);
    if (seed) {
      await contracts.put(CFD, record);
      // The contract of buildTestContract: $50,000, 150 contracts, taker long 2×.
      await cfds.execute(CFD, {
        type: 'placeOrder',
        terms: terms({
          id: CFD,
          quantity: 150n,
          openingFee: 0n,
          counterpartyPeerId: p2p.maker.peerId.toString(),
        }),
      });
      await cfds.execute(CFD, { type: 'startContractSetup' });
      await cfds.execute(CFD, { type: 'completeContractSetup', dlc: dlcSummary(record) });
    }
    const { monitor, pm } = watchChain(net.rpc, join(net.dir, 'monitor'), {
      cfds,
      readModel,
      contracts,
    });
    await monitor.start();
    await pm.start();
    const context = async (): Promise<CloseContext> => ({
      ...closeTermsOf(await cfds.load(CFD)),
      lock: lockOutput(record),
      identities: { maker: c.maker.identity.pub, taker: c.taker.identity.pub },
      ownIdentitySecret: c.taker.identity.priv,
      payoutScripts: payoutScriptsOf(record),
    });
    const settlement = new CollabSettlementTaker(p2p.taker, {
      repository: cfds,
      context,
      quote: () => undefined,
      rpc: net.rpc,
      logger: silent,
      timeouts: { signatureMs: 500, writeMs: 1_000 },
      signedCloseWindowMs: WINDOW_MS,
    });
    let stopped = false;
    const stop = async () => {
      if (stopped) return;
      stopped = true;
      await pm.stop();
      await monitor.stop();
      await readModel.close();
      await store.close();
    };
    net.cleanups.add(stop);
    return {
      readModel,
      cfds,
      settlement,
      context,
      attest: (a) => pm.onAttestation(a),
      stop,
    };
  }

  /**
   * The hostile maker: accepts, takes the taker's signature, finalises the close with its own
   * key and keeps it — never answers. Resolves with the fully signed close it holds.
   */
  function withholdingMaker(c: TestContract, record: ContractRecord): Promise<Transaction> {
    const { promise, resolve, reject } = Promise.withResolvers<Transaction>();
    void p2p.maker.handle(COLLAB_SETTLEMENT_PROTOCOL, (stream: Stream) => {
      void (async () => {
        const framed = new Framed(stream, { maxMessageBytes: MAX_MESSAGE_BYTES });
        const propose = await framed.read(CollabSettlementMessage);
        if (propose.type !== 'propose') throw new Error(`got ${propose.type}`);
        await framed.write(messageToWire({ type: 'accept' }));
        const sig = await framed.read(CollabSettlementMessage);
        if (sig.type !== 'signature') throw new Error(`got ${sig.type}`);
        const close = buildClose(
          lockOutput(record),
          { maker: c.maker.identity.pub, taker: c.taker.identity.pub },
          { maker: propose.makerPayout, taker: propose.takerPayout },
          payoutScriptsOf(record),
        );
        // Its own signature stays here; the taker times out waiting for it.
        resolve(finalizeCooperative(close, 'maker', c.maker.identity.priv, sig.signature));
      })().catch(reject);
    });
    return promise;
  }

  async function until(node: TakerNode, what: string, check: (cfd: Cfd) => boolean, ms = 30_000) {
    return wait.until(
      what,
      async () => {
        const cfd = await node.readModel.get(CFD);
        return cfd && check(cfd) ? cfd : undefined;
      },
      ms,
      25,
    );
  }

  async function waitInMempool(txid: string): Promise<void> {
    await wait.untilInMempool(net.rpc, txid);
  }

  /** A taker whose contract is open on chain (the lock confirmed). */
  async function openPosition(): Promise<{ c: TestContract; node: TakerNode }> {
    const c = await contract();
    const node = await startTaker(c, true);
    await waitInMempool(c.records.taker.lock.txid);
    await net.chain.mine(1);
    await until(node, 'lock confirmed', (cfd) => cfd.lockConfirmed);
    return { c, node };
  }

  it('a maker withholding its close signature: the taker force-closes at its deadline (across a restart), the withheld close is rejected by the chain, and the taker is paid by the contract', async () => {
    const { c, node: first } = await openPosition();
    const record = c.records.taker;
    const withheld = withholdingMaker(c, c.records.maker);

    const outcome = await first.settlement.settle(CFD, { price: CLOSE_PRICE });
    assert.equal(outcome.status, 'failed', 'the maker never sent its signature');
    const close = await withheld;
    const bound = outstandingSignedClose(await first.cfds.load(CFD));
    assert.equal(bound?.txid, close.getId(), 'the close we signed is on the log, bounded');
    // No second signature while the first may be used: no new settlement, no rollover.
    await assert.rejects(
      first.settlement.settle(CFD, { price: CLOSE_PRICE }),
      /close this node signed/,
    );
    await assert.rejects(
      first.cfds.execute(CFD, { type: 'startRollover', proposedBy: 'taker' }),
      /close this node signed/,
    );

    // The taker restarts: the bound is on its log, and its process manager acts on it.
    await first.stop();
    const node = await startTaker(c, false);
    const committing = await until(
      node,
      "the taker's commit once the signed close is past its deadline",
      (cfd) => cfd.commitTx !== undefined,
      WINDOW_MS + 20_000,
    );
    assert.equal(committing.commitTx!.txid, record.commit.txid);
    await waitInMempool(record.commit.txid);

    // The maker now broadcasts the close it kept: the commit already spends the lock.
    await assert.rejects(net.rpc.sendRawTransaction(close.toHex()));
    await net.chain.mine(1);
    await until(node, 'commit confirmed', (cfd) => cfd.commitConfirmed);
    await assert.rejects(net.rpc.sendRawTransaction(close.toHex()), 'never valid again');

    // The price moved; the contract decides: CET after the CET lock and the attestation.
    await net.chain.mine(11);
    await until(node, 'CET lock expired', (cfd) => cfd.cetTimelockExpired);
    await node.attest(attestationOf(c, SETTLEMENT_EVENT, LATER_PRICE));
    const attested = await until(node, 'CET ready', (cfd) => cfd.cet !== undefined);
    await waitInMempool(attested.cet!.txid);
    await net.chain.mine(1);
    const closed = await until(node, 'CET confirmed', (cfd) => cfd.settled === 'cet');
    assert.equal(closed.closeTx, undefined, 'the withheld close never settled anything');

    // Money: each side its curve row at the attested price, less half the CET fee (which covers
    // the commit's fee too); the rows share exactly the two margins in the lock.
    const row = TABLE.find((r) => r.start <= LATER_PRICE && LATER_PRICE <= r.end)!;
    const half = cetFee(c.transactions.commit) / 2n;
    const makerOut = (await net.rpc.getTxOut(closed.cet!.txid, 0))?.value;
    const takerOut = (await net.rpc.getTxOut(closed.cet!.txid, 1))?.value;
    assert.equal(takerOut, row.taker - half);
    assert.equal(makerOut, row.maker - half);
    assert.equal(row.maker + row.taker, lockOutput(record).value);
    assert.equal(await net.rpc.getTxOut(close.getId(), 0), null);
  });

  it('a close broadcast within the window is followed, not force-closed: both paid at the agreed price', async () => {
    const { c, node } = await openPosition();
    const withheld = withholdingMaker(c, c.records.maker);
    const outcome = await node.settlement.settle(CFD, { price: CLOSE_PRICE });
    assert.equal(outcome.status, 'failed', "the maker's answer never came");
    const close = await withheld;
    // The maker did broadcast (only its answer was lost): in the mempool before the deadline.
    await net.rpc.sendRawTransaction(close.toHex());
    const { until: deadline } = outstandingSignedClose(await node.cfds.load(CFD))!;
    while (Date.now() < deadline * 1000 + 200) await sleep(50);
    await net.chain.mine(1);
    const closed = await until(node, 'close adopted', (cfd) => cfd.settled === 'collaborative');
    assert.equal(closed.closeTx?.txid, close.getId());
    assert.equal(closed.commitTx, undefined, 'no force close: the close was on chain in time');
    assert.equal(closed.closePrice, CLOSE_PRICE);
    // Outputs maker then taker: each the curve row at the agreed price less half the close fee.
    const { payout } = settlementTerms(await node.context(), CLOSE_PRICE);
    const half = closeFee() / 2n;
    assert.equal((await net.rpc.getTxOut(close.getId(), 0))?.value, payout.maker - half);
    assert.equal((await net.rpc.getTxOut(close.getId(), 1))?.value, payout.taker - half);
    assert.equal(payout.maker + payout.taker, lockOutput(c.records.taker).value);
  });
});
