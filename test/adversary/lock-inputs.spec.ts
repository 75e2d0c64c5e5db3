// Attack 5 of issue #11: a counterparty funds its side of the lock with inputs the chain does not
// back — an outpoint that does not exist, one already spent (in a block or in the mempool), one
// worth less than it claims, one paying another script, one not yet confirmed. Before the guard
// the victim verified only the attacker's signatures (made over the claimed amounts and scripts,
// so they verify) and completed a setup whose lock can never confirm, while holding a contract
// the attacker could revive whenever it liked (a free option).
//
// Here the victim is a real wallet on the embedded chain, its lock-input check asks that chain;
// the attacker is the in-memory harness's fake node lying in its parameters, run by the real
// setup machine over the wire schema. Each attack runs against a victim maker and a victim taker.
//
// After the check, the attacker can still keep the lock out of every mempool (double-spend its
// checked input, which we cannot prevent). The victim's process manager then double-spends its own
// lock inputs once the lock deadline passed and fails the CFD when that confirms.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { Transaction } from 'bitcoinjs-lib';
import { dlcSummary } from '../../dlc/contract.ts';
import { CfdReadModel } from '../../eventstore/cfd-read-model.ts';
import { CfdRepository } from '../../eventstore/cfd-repository.ts';
import { LevelContractStore } from '../../eventstore/contract-store.ts';
import { EventStore } from '../../eventstore/event-store.ts';
import type { Sats } from '../../model/units.ts';
import { broadcast } from '../../node/chain/broadcast.ts';
import type { PartyFunding, SetupResult } from '../../protocols/order/setup.ts';
import { chainFor } from '../helpers/chain.ts';
import { untilWithin } from '../helpers/wait.ts';
import { watchChain } from '../helpers/watch.ts';
import { type Key, newKey, p2wpkh, spendP2wpkh } from '../node/chain/helpers.ts';
import { type FakeNode, NOW, runPair } from '../protocols/order/harness.ts';

/** What the attacker puts in its parameters, prepared on the chain before the run. */
interface Claim {
  readonly txid: string;
  readonly vout: number;
  /** The amount it claims (the PSBT's `witnessUtxo.value`). */
  readonly value: Sats;
}

const COIN = 20_000_000n;
/** The attacker's lock fee: more than the least the victim asks (2 sat/vB × (68 + 31) vB). */
const ATTACKER_FEE = 1_000n;

describe('adversary: lock inputs checked against the chain (issue #11, attack 5)', function () {
  this.timeout(120_000);
  const net = chainFor('all');
  let wallets = 0;

  /** A real wallet with two confirmed coins. */
  const fundedWallet = () => net.fundedWallet(`wallet-${wallets++}`, [COIN, COIN]);

  /** A coin paying `key`, confirmed unless said otherwise. */
  async function coinOf(key: Key, confirm = true) {
    const paid = await net.chain.fund(p2wpkh(key).address, COIN);
    if (confirm) await net.chain.mine(1);
    return { ...paid, value: COIN };
  }

  /** A coin paying `key`, already spent elsewhere: the spend mined, or still in the mempool. */
  async function spentCoinOf(key: Key, spend: 'mined' | 'in the mempool') {
    const coin = await coinOf(key);
    const away = spendP2wpkh(key, coin, p2wpkh(newKey()).output, 1_000n);
    await broadcast(net.rpc, away.toHex());
    if (spend === 'mined') await net.chain.mine(1);
    return coin;
  }

  /** The attacker funds with `claim`, its change making its fee look right on the claimed amount. */
  function lie(attacker: FakeNode, claim: Claim): void {
    const script = bytesToHex(p2wpkh(attacker.funding).output);
    attacker.answers.fund = (r): SetupResult => {
      if (r.type !== 'fund') throw new Error('not a fund request');
      const funding: PartyFunding = {
        reservationId: 'attacker',
        inputs: [{ txid: claim.txid, vout: claim.vout, value: claim.value, script }],
        change: { script, value: claim.value - r.amount - ATTACKER_FEE },
        payoutScript: bytesToHex(p2wpkh(attacker.payout).output),
      };
      return { type: 'funded', funding };
    };
  }

  const attacks: {
    name: string;
    reason: RegExp;
    prepare: (attacker: FakeNode) => Promise<Claim>;
  }[] = [
    {
      name: 'an input that does not exist',
      reason: /does not exist or is spent/,
      prepare: async () => ({
        txid: bytesToHex(secp256k1.utils.randomSecretKey()),
        vout: 0,
        value: COIN,
      }),
    },
    {
      name: 'an input already spent in a block',
      reason: /does not exist or is spent/,
      prepare: (attacker) => spentCoinOf(attacker.funding, 'mined'),
    },
    {
      name: 'an input already spent in the mempool',
      reason: /does not exist or is spent/,
      prepare: (attacker) => spentCoinOf(attacker.funding, 'in the mempool'),
    },
    {
      name: 'an input claiming more value than the chain output holds',
      reason: /holds 20000000 sats on chain, the peer claimed 25000000/,
      prepare: async (attacker) => ({
        ...(await coinOf(attacker.funding)),
        value: COIN + 5_000_000n,
      }),
    },
    {
      name: "an input paying another script than the attacker's",
      reason: /pays script 0014[0-9a-f]{40} on chain, the peer claimed/,
      // Someone else's coin (it could be one of the victim's own), claimed as the attacker's.
      prepare: async () => coinOf(newKey()),
    },
    {
      name: 'an unconfirmed input (its owner could double-spend it after we sign)',
      reason: /has 0 confirmations, 1 are required/,
      prepare: async (attacker) => coinOf(attacker.funding, false),
    },
  ];

  for (const victimRole of ['maker', 'taker'] as const) {
    const attackerRole = victimRole === 'maker' ? 'taker' : 'maker';
    for (const attack of attacks) {
      it(`the ${attackerRole} funds with ${attack.name}: the ${victimRole} aborts before its lock signature leaves, its coins are released, nothing lost`, async () => {
        const wallet = await fundedWallet();
        const before = wallet.balance();
        let victim: FakeNode | undefined;
        const r = await runPair({
          setup: async (nodes) => {
            victim = nodes[victimRole];
            victim.wallet = wallet;
            victim.chain = net.rpc;
            const attacker = nodes[attackerRole];
            attacker.chain = net.rpc;
            lie(attacker, await attack.prepare(attacker));
          },
        });
        const outcome = r[victimRole];
        const transport = victimRole === 'maker' ? r.makerTransport : r.takerTransport;
        assert.equal(
          outcome.type,
          'failed',
          outcome.type === 'completed' ? 'completed' : outcome.reason,
        );
        assert.ok(outcome.type === 'failed');
        assert.match(outcome.reason, attack.reason);
        // Abort before anything irreversible: no lock signature of ours ever left.
        assert.equal(outcome.lockMayBroadcast, undefined);
        assert.deepEqual(
          transport.sent.filter((m) => m.type === 'lockSignature'),
          [],
        );
        assert.deepEqual(victim!.persisted, [], 'no contract record stored');
        assert.equal(victim!.eventTypes(r.orderId).at(-1), 'ContractSetupFailed');
        // Nothing lost: every coin is back, confirmed and spendable; on chain, unspent.
        const after = wallet.balance();
        assert.equal(after.reserved, 0n);
        assert.equal(after.confirmed, before.confirmed);
        assert.equal(after.spendable, after.confirmed);
        for (const u of wallet.utxos()) {
          assert.equal((await net.rpc.getTxOut(u.txid, u.vout))?.value, u.value);
        }
      });
    }
  }

  const until = untilWithin(30_000, 25);

  for (const victimRole of ['maker', 'taker'] as const) {
    const attackerRole = victimRole === 'maker' ? 'taker' : 'maker';
    it(`the ${attackerRole} double-spends its checked input after setup: past the lock deadline the ${victimRole} double-spends its own lock input back and fails the CFD, nothing lost but the sweep fee`, async () => {
      const wallet = await fundedWallet();
      const before = wallet.balance();
      let attacker: FakeNode | undefined;
      let coin: Awaited<ReturnType<typeof coinOf>> | undefined;
      const r = await runPair({
        setup: async (nodes) => {
          nodes[victimRole].wallet = wallet;
          nodes[victimRole].chain = net.rpc;
          attacker = nodes[attackerRole];
          attacker.chain = net.rpc;
          coin = await coinOf(attacker.funding);
          lie(attacker, coin); // the truth: a confirmed coin of its own
        },
      });
      const outcome = r[victimRole];
      assert.ok(outcome.type === 'completed', outcome.type === 'completed' ? '' : outcome.reason);
      // The attacker spends its lock input elsewhere (paying enough that the lock cannot replace it).
      const away = spendP2wpkh(attacker!.funding, coin!, p2wpkh(newKey()).output, 100_000n);
      await broadcast(net.rpc, away.toHex());
      // The victim's node as the daemon leaves it: the CFD set up, the lock recorded in its wallet.
      const record = outcome.record;
      const lock = Transaction.fromHex(record.lock.txHex);
      const ownInputs = lock.ins
        .map((i) => `${Buffer.from(i.hash).reverse().toString('hex')}:${i.index}`)
        .filter((o) => wallet.utxos().some((u) => `${u.txid}:${u.vout}` === o));
      assert.equal(ownInputs.length, 1);
      await wallet.recordOwnTransaction(record.lock.txHex);
      const store = await EventStore.open(join(net.dir, `events-${victimRole}`));
      const readModel = await CfdReadModel.open(store);
      const cfds = new CfdRepository(store);
      const contracts = new LevelContractStore(store);
      const terms = r[`${victimRole}Node`].cfds.get(r.orderId)!.terms!;
      await contracts.put(r.orderId, record);
      await cfds.execute(r.orderId, { type: 'placeOrder', terms });
      await cfds.execute(r.orderId, { type: 'startContractSetup' });
      await cfds.execute(r.orderId, { type: 'completeContractSetup', dlc: dlcSummary(record) });
      const t0 = Date.now();
      const { monitor, pm } = watchChain(net.rpc, join(net.dir, `monitor-${victimRole}`), {
        cfds,
        readModel,
        contracts,
        wallet: () => wallet,
        lockConfirmTimeoutMs: 1_500,
        // The order was placed at NOW (the harness's clock), just now.
        clock: () => NOW * 1000 + (Date.now() - t0),
      });
      try {
        await monitor.start();
        await pm.start();
        await wallet.sync(); // the lock is in no mempool: the wallet frees our coin again
        const [ours] = ownInputs;
        const [txid, vout] = [ours!.split(':')[0]!, Number(ours!.split(':')[1])];
        // Past the deadline our coin is spent in the mempool — not by the lock, which cannot get in.
        await until('our lock input double-spent', async () =>
          (await net.rpc.getTxOut(txid, vout, true)) === null ? true : undefined,
        );
        assert.equal(await net.rpc.getMempoolEntry(record.lock.txid), null);
        await net.chain.mine(1);
        const failed = await until('the CFD failed', async () => {
          const cfd = await readModel.get(r.orderId);
          return cfd?.setup === 'failed' ? cfd : undefined;
        });
        assert.match(failed.failureReason!, /can no longer confirm/);
        await wallet.sync();
        const after = wallet.balance();
        // One P2WPKH input swept to one output at the commit fee rate: 11 + 68 + 31 vbytes.
        const sweepFee = 110n * record.commit.feeRate;
        assert.equal(after.confirmed, before.confirmed - sweepFee);
        assert.equal(after.unconfirmed, 0n);
        assert.equal(after.reserved, 0n);
        assert.equal(after.spendable, after.confirmed);
      } finally {
        await pm.stop();
        await monitor.stop();
        await readModel.close();
        await store.close();
      }
    });
  }

  it('honest parties with confirmed coins still complete, and the lock confirms', async () => {
    const makerWallet = await fundedWallet();
    const takerWallet = await fundedWallet();
    const r = await runPair({
      setup: (nodes) => {
        nodes.maker.wallet = makerWallet;
        nodes.maker.chain = net.rpc;
        nodes.taker.wallet = takerWallet;
        nodes.taker.chain = net.rpc;
      },
    });
    assert.equal(r.maker.type, 'completed', r.maker.type === 'completed' ? '' : r.maker.reason);
    assert.equal(r.taker.type, 'completed', r.taker.type === 'completed' ? '' : r.taker.reason);
    assert.ok(r.maker.type === 'completed' && r.taker.type === 'completed');
    assert.equal(r.maker.lockTx.getId(), r.taker.lockTx.getId());
    assert.equal((await broadcast(net.rpc, r.maker.lockTx.toHex())).status, 'mempool');
    await net.chain.mine(1);
    assert.equal((await net.rpc.getTxOut(r.maker.lockTx.getId(), 0))?.confirmations, 1);
  });
});
