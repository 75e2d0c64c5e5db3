// Attack 6 — one CFD can stop the node. The counterparty of CFD A publishes a commit our log
// says is revoked but whose secret our record does not hold: punishing it throws. Before
// isolation the chain monitor redelivered that block forever and stopped serving every CFD. Now
// the failure is CFD A's alone: logged, shown (its problem, the monitor's held-back count),
// retried with backoff, and CFD B's force close goes through meanwhile; once A's record holds the
// secret, A's retry punishes.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { bytesToHex } from '@noble/hashes/utils.js';
import { type ContractRecord, dlcSummary, signedCommit, signedLock } from '../../dlc/contract.ts';
import { attestPrice } from '../../dlc/oracle.ts';
import { finalRecord } from '../../dlc/record.ts';
import { cetFee } from '../../dlc/transactions.ts';
import { CfdReadModel } from '../../eventstore/cfd-read-model.ts';
import { CfdRepository } from '../../eventstore/cfd-repository.ts';
import { LevelContractStore } from '../../eventstore/contract-store.ts';
import { EventStore } from '../../eventstore/event-store.ts';
import type { Cfd } from '../../model/cfd.ts';
import { cfdView } from '../../node/app/views/cfd.ts';
import { EmbeddedChain } from '../../node/chain/embedded.ts';
import { BitcoinRpc } from '../../node/chain/rpc.ts';
import { tempDir, terms } from '../helpers/cfd-fixtures.ts';
import {
  fundedTestContract,
  newOracle,
  rollTestContract,
  SETTLEMENT_EVENT,
  TABLE,
  type TestContract,
  type TestOracle,
} from '../helpers/contract-fixtures.ts';
import { untilInMempool, untilWithin } from '../helpers/wait.ts';
import { watchChain } from '../helpers/watch.ts';
import { silent } from '../node/chain/helpers.ts';

/** Short backoff so that retries show within a test; the defaults are seconds to minutes. */
const RETRY = { first: 100, max: 800 };
const WAIT_MS = 30_000;

describe('adversary: one CFD cannot stop the node (attack 6)', function () {
  this.timeout(120_000);
  let chain: EmbeddedChain;
  let rpc: BitcoinRpc;
  let dir: { path: string; cleanup: () => Promise<void> };
  const stops: (() => Promise<void>)[] = [];

  beforeEach(async () => {
    dir = await tempDir();
    chain = await EmbeddedChain.start({ logger: silent });
    rpc = new BitcoinRpc({ url: chain.rpcUrl, ...chain.rpcAuth });
  });

  afterEach(async () => {
    for (const stop of stops.splice(0).reverse()) await stop();
    await chain.stop();
    await dir.cleanup();
  });

  /** A contract between two fresh parties, each funded by one confirmed coin; renamed `cfdId`. */
  async function contract(cfdId: string, oracle: TestOracle): Promise<TestContract> {
    const c = await fundedTestContract(chain, { oracle });
    return {
      ...c,
      records: { maker: { ...c.records.maker, cfdId }, taker: { ...c.records.taker, cfdId } },
    };
  }

  it('a CFD whose punish throws holds back only itself: the other CFD closes by CET, the monitor advances, the failing one is shown and retried until it punishes', async () => {
    const oracle = newOracle();
    const a = await contract('cfd-a', oracle);
    const b = await contract('cfd-b', oracle);

    // CFD A rolled over once: the log revokes C_old, but the record stored for it lacks the
    // maker's revocation secret of C_old — punishing C_old cannot be built from it.
    const rolled = rollTestContract(a);
    const withSecret: ContractRecord = finalRecord(
      rolled.records.taker,
      new Map([[a.records.taker.commit.txid, bytesToHex(a.maker.revocation.priv)]]),
    );
    // A record that lost its revoked entry (finalRecord itself never drops one).
    const withoutSecret: ContractRecord = { ...withSecret, revoked: [] };
    assert.deepEqual(withoutSecret.revoked, []);
    assert.equal(withSecret.revoked[0]?.txid, a.records.taker.commit.txid);

    const store = await EventStore.open(join(dir.path, 'events'));
    const readModel = await CfdReadModel.open(store);
    const cfds = new CfdRepository(store);
    const contracts = new LevelContractStore(store);
    stops.push(async () => {
      await readModel.close();
      await store.close();
    });
    const t = terms({ id: 'cfd-a' });
    await contracts.put('cfd-a', withoutSecret);
    await cfds.execute('cfd-a', { type: 'placeOrder', terms: t });
    await cfds.execute('cfd-a', { type: 'startContractSetup' });
    await cfds.execute('cfd-a', {
      type: 'completeContractSetup',
      dlc: dlcSummary(a.records.taker),
    });
    await cfds.execute('cfd-a', { type: 'confirmLock' });
    await cfds.execute('cfd-a', { type: 'startRollover', proposedBy: 'taker' });
    await cfds.execute('cfd-a', {
      type: 'completeRollover',
      dlc: dlcSummary(withSecret),
      fundingRate: t.fundingRate,
      revokedCommitTxids: [a.records.taker.commit.txid],
    });
    await rpc.sendRawTransaction(signedLock(a.records.taker).toHex());
    await contracts.put('cfd-b', b.records.taker);
    await cfds.execute('cfd-b', { type: 'placeOrder', terms: terms({ id: 'cfd-b' }) });
    await cfds.execute('cfd-b', { type: 'startContractSetup' });
    await cfds.execute('cfd-b', {
      type: 'completeContractSetup',
      dlc: dlcSummary(b.records.taker),
    });

    const { monitor, pm } = watchChain(
      rpc,
      join(dir.path, 'monitor'),
      { cfds, readModel, contracts, retryMs: RETRY },
      { reportRetryMs: RETRY },
    );
    await monitor.start();
    stops.push(() => monitor.stop());
    await pm.start();
    stops.push(() => pm.stop());

    const cfd = async (id: string): Promise<Cfd> => (await readModel.get(id))!;
    const until = untilWithin(WAIT_MS, 25);
    const inMempool = (txid: string) => untilInMempool(rpc, txid, WAIT_MS);
    const monitorAt = (height: number) =>
      until(`the monitor at height ${height}`, () => (monitor.health().height ?? -1) >= height);

    await inMempool(a.records.taker.lock.txid);
    await inMempool(b.records.taker.lock.txid);
    await chain.mine(1);
    await until('B lock confirmed', async () => (await cfd('cfd-b')).lockConfirmed);

    // The attack: A's counterparty publishes the commit our log revoked. The user of B force
    // closes at the same time; both commits confirm in the same block.
    await rpc.sendRawTransaction(signedCommit(a.records.maker).toHex());
    await cfds.execute('cfd-b', { type: 'commit', commitTx: txOf(signedCommit(b.records.taker)) });
    await inMempool(b.records.taker.commit.txid);
    await chain.mine(1);
    await until('B commit confirmed', async () => (await cfd('cfd-b')).commitConfirmed);

    // B goes on: its CET lock passes (the monitor follows every block), the oracle attests, the
    // CET confirms.
    await chain.mine(11);
    await monitorAt(chain.height);
    await until('B CET lock expired', async () => (await cfd('cfd-b')).cetTimelockExpired);
    const price = 45_678;
    await pm.onAttestation({
      eventId: SETTLEMENT_EVENT,
      price,
      scalars: attestPrice(oracle.sk, oracle.nonceSks, price),
      time: '',
    });
    await until('B CET ready', async () => (await cfd('cfd-b')).cet !== undefined);
    const cet = (await cfd('cfd-b')).cet!;
    await inMempool(cet.txid);
    await chain.mine(1);
    await until('B settled by CET', async () => (await cfd('cfd-b')).settled === 'cet');
    const row = TABLE.find((r) => r.start <= price && price <= r.end)!;
    const half = cetFee(b.transactions.commit) / 2n;
    assert.equal((await rpc.getTxOut(cet.txid, 0))?.value, row.maker - half);
    assert.equal((await rpc.getTxOut(cet.txid, 1))?.value, row.taker - half);

    // A is still failing (its record still lacks the secret), visibly: its problem (health and
    // its view read it) and the monitor's count of held-back CFDs.
    await until('A retried', () => (pm.problems.get('cfd-a')?.retries ?? 0) >= 2);
    const problem = pm.problems.get('cfd-a')!;
    assert.equal(problem.during, 'chain report');
    assert.equal(pm.problems.get('cfd-b'), undefined);
    assert.equal(monitor.health().retrying, 1);
    assert.equal(monitor.health().status, 'ok');
    const view = cfdView(await cfd('cfd-a'), undefined, { problemOf: (id) => pm.problems.get(id) });
    assert.equal(view?.problem?.reason, problem.reason);
    assert.equal((await cfd('cfd-a')).punishTx, undefined);

    // The cause goes away (the record now holds the secret): A's next retry punishes C_old.
    await contracts.put('cfd-a', withSecret);
    await until('A punish published', async () => (await cfd('cfd-a')).punishTx !== undefined);
    const punish = (await cfd('cfd-a')).punishTx!;
    await inMempool(punish.txid);
    await chain.mine(1);
    await until('A punished', async () => (await cfd('cfd-a')).settled === 'punish');
    const stale = signedCommit(a.records.maker);
    const out = await rpc.getTxOut(punish.txid, 0);
    assert.ok(out && out.value > stale.outs[0]!.value - 1_000n, 'the whole commit output');
    await until('A no longer failing', () => pm.problems.get('cfd-a') === undefined);
    assert.equal(monitor.health().retrying, 0);
  });
});

function txOf(tx: { getId(): string; toHex(): string }) {
  return { txid: tx.getId(), hex: tx.toHex() };
}
