// The fee bumper against the embedded chain's fee market with a real wallet: a transaction signed
// at 1 sat/vB, paying one of our wallet's addresses (as a CET, refund or close pays our payout
// address), is pushed to confirmation through a child as a spike rises block after block — each
// child replacing the last at a higher rate — and never past the budget the user set.
import assert from 'node:assert/strict';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { payments, script, Transaction } from 'bitcoinjs-lib';
import { FeeEstimator } from '../../../node/chain/fee-estimator.ts';
import { FeeBumper } from '../../../node/daemon/fee-bumper.ts';
import type { Wallet } from '../../../node/wallet/wallet.ts';
import { chainFor } from '../../helpers/chain.ts';
import { newKey, p2wpkh, regtest, silent } from '../chain/helpers.ts';

const sumOuts = (tx: Transaction) => tx.outs.reduce((s, o) => s + BigInt(o.value), 0n);

describe('node/daemon fee bumper on a fee market', function () {
  this.timeout(120_000);
  const net = chainFor('all', { blockMaxWeight: 40_000 });
  let wallet: Wallet;
  let fees: FeeEstimator;

  /** A transaction paying our wallet at exactly 1 sat/vB, signed but not broadcast. */
  async function lowFeeParent(): Promise<{ tx: Transaction; fee: bigint }> {
    const key = newKey();
    const funding = 200_000n;
    const paid = await net.chain.fund(p2wpkh(key).address, funding);
    await net.chain.mine(1);
    const to = payments.p2wpkh({ address: await wallet.receiveAddress(), network: regtest })
      .output!;
    const build = (fee: bigint) => {
      const tx = new Transaction();
      tx.version = 2;
      tx.addInput(Uint8Array.from(Buffer.from(paid.txid, 'hex').reverse()), paid.vout);
      tx.addOutput(to, funding - fee);
      const code = payments.p2pkh({ pubkey: key.pub }).output!;
      const hash = tx.hashForWitnessV0(0, code, funding, Transaction.SIGHASH_ALL);
      const sig = secp256k1.sign(hash, key.priv, { prehash: false, lowS: true });
      tx.setWitness(0, [script.signature.encode(sig, Transaction.SIGHASH_ALL), key.pub]);
      return tx;
    };
    let tx = build(110n);
    tx = build(BigInt(tx.virtualSize()));
    return { tx, fee: funding - sumOuts(tx) };
  }

  function bumper(budgetSats: bigint): FeeBumper {
    return new FeeBumper({
      rpc: () => net.rpc,
      wallet: () => wallet,
      fees,
      budgetSats,
      confirmWithin: 6,
      logger: silent,
    });
  }

  /** A block (full of fillers when a spike is on), then what a node does on it. */
  async function block(b: FeeBumper): Promise<void> {
    await net.chain.mine(1);
    await wallet.sync();
    await fees.refresh();
    await b.onBlock(net.chain.height);
  }

  function follow(b: FeeBumper, parent: { tx: Transaction; fee: bigint }, cfdId: string): void {
    const txid = parent.tx.getId();
    const out = parent.tx.outs[0]!;
    b.follow({
      cfdId,
      kind: 'close',
      tx: { txid, hex: parent.tx.toHex() },
      fee: parent.fee,
      cpfp: () => wallet.ownOutputInput(txid, 0, BigInt(out.value), out.script),
    });
  }

  async function confirmed(txid: string): Promise<boolean> {
    return ((await net.rpc.getTransaction(txid))?.confirmations ?? 0) > 0;
  }

  before(async () => {
    wallet = await net.fundedWallet('wallet', [2_000_000n]);
    fees = new FeeEstimator({ rpc: () => net.rpc, maxRate: 500n, logger: silent });
  });

  afterEach(async () => {
    await net.chain.setFeeSpike(undefined);
    net.chain.setMinRelayFeeRate(1);
    await net.chain.mine(2);
    await wallet.sync();
  });

  it('a spike rising after the parent went out: each block a higher child replaces the last until it confirms, within the budget', async () => {
    net.chain.setMinRelayFeeRate(20);
    await net.chain.setFeeSpike({ rate: 30 });
    const b = bumper(100_000n);
    for (let i = 0; i < 3; i++) await block(b);
    const parent = await lowFeeParent();
    await assert.rejects(net.rpc.sendRawTransaction(parent.tx.toHex()), /min relay fee not met/);
    follow(b, parent, 'cfd-a');
    await b.onBlock(net.chain.height);
    const first = b.status('cfd-a')[0]!;
    assert.equal(first.state, 'waiting');
    assert.ok(first.childTxid, 'a child went out with the parent as a package');
    assert.ok(await net.rpc.getMempoolEntry(parent.tx.getId()), 'the parent is in the mempool');
    assert.ok(first.rate >= 30n, `package rate ${first.rate} ≥ 30`);

    // The spike rises to 90 before the next block: fillers outbid the package, block after block,
    // until the estimate and the deadline lift the child above them.
    await net.chain.setFeeSpike({ rate: 90 });
    const rates = [first.rate];
    const children = new Set([first.childTxid]);
    for (let n = 0; n < 6 && !(await confirmed(parent.tx.getId())); n++) {
      await block(b);
      const s = b.status('cfd-a')[0]!;
      if (s.childTxid) children.add(s.childTxid);
      rates.push(s.rate);
      assert.ok(b.spent('cfd-a') <= 100_000n, 'never past the budget');
    }
    assert.ok(await confirmed(parent.tx.getId()), `confirmed (rates ${rates.join(' → ')})`);
    assert.ok(children.size >= 2, 'a later child replaced the first');
    for (let i = 1; i < rates.length; i++) assert.ok(rates[i]! >= rates[i - 1]!, 'never lowered');
    assert.ok(
      rates[rates.length - 1]! >= 90n,
      `the last package rate ${rates.at(-1)} beat the spike`,
    );
    assert.equal(b.status('cfd-a')[0]!.state, 'confirmed');
  });

  it('a transaction that can no longer confirm is unfollowed: no more children for it', async () => {
    net.chain.setMinRelayFeeRate(20);
    const b = bumper(100_000n);
    await block(b);
    const parent = await lowFeeParent();
    follow(b, parent, 'cfd-c');
    await b.onBlock(net.chain.height);
    const [s] = b.status('cfd-c');
    assert.ok(s?.childTxid, 'a child went out');
    b.unfollow('cfd-c', parent.tx.getId());
    assert.deepEqual(b.status('cfd-c'), []);
    await block(b);
    assert.deepEqual(b.status('cfd-c'), [], 'a later block does not bring it back');
  });

  it('a budget too small for the spike: the bump stops at the budget, says so, and never pays more', async () => {
    net.chain.setMinRelayFeeRate(20);
    await net.chain.setFeeSpike({ rate: 80 });
    const budget = 8_000n; // 80 sat/vB × ≈ 250 vB for parent and child is ≈ 20,000 sats
    const b = bumper(budget);
    for (let i = 0; i < 3; i++) await block(b);
    const parent = await lowFeeParent();
    follow(b, parent, 'cfd-b');
    await b.onBlock(net.chain.height);
    for (let n = 0; n < 4; n++) {
      const s = b.status('cfd-b')[0]!;
      assert.ok(b.spent('cfd-b') <= budget, `spent ${b.spent('cfd-b')} ≤ ${budget}`);
      if (n > 0) assert.equal(s.capped, true, 'shown as held back by the budget');
      await block(b);
    }
    assert.equal(
      await confirmed(parent.tx.getId()),
      false,
      'fillers at 80 outbid what the budget allows',
    );
    // The user raises the budget: the next block's bump gets it in.
    const generous = bumper(100_000n);
    follow(generous, parent, 'cfd-b');
    for (let n = 0; n < 4 && !(await confirmed(parent.tx.getId())); n++) await block(generous);
    assert.ok(await confirmed(parent.tx.getId()));
  });
});
