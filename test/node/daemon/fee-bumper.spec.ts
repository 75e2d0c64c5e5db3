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
import { type Key, newKey, p2wpkh, regtest, silent } from '../chain/helpers.ts';

const sumOuts = (tx: Transaction) => tx.outs.reduce((s, o) => s + BigInt(o.value), 0n);

/** Signs input `index`, a P2WPKH output of `key` worth `value`. */
function signP2wpkh(tx: Transaction, index: number, key: Key, value: bigint): void {
  const code = payments.p2pkh({ pubkey: key.pub }).output!;
  const hash = tx.hashForWitnessV0(index, code, value, Transaction.SIGHASH_ALL);
  const sig = secp256k1.sign(hash, key.priv, { prehash: false, lowS: true });
  tx.setWitness(index, [script.signature.encode(sig, Transaction.SIGHASH_ALL), key.pub]);
}

const txidBytes = (txid: string) => Uint8Array.from(Buffer.from(txid, 'hex').reverse());

describe('node/daemon fee bumper on a fee market', function () {
  this.timeout(120_000);
  const net = chainFor('all', { blockMaxWeight: 40_000 });
  let wallet: Wallet;
  let fees: FeeEstimator;

  /**
   * A transaction paying our wallet at exactly 1 sat/vB, signed but not broadcast; with
   * `outputs: 2`, to two addresses (a CET or refund, paying both parties), the second one
   * `theirs` if given.
   */
  async function lowFeeParent(
    outputs = 1,
    theirs?: Key,
  ): Promise<{ tx: Transaction; fee: bigint }> {
    const key = newKey();
    const funding = 200_000n;
    const paid = await net.chain.fund(p2wpkh(key).address, funding);
    await net.chain.mine(1);
    const to: Uint8Array[] = [];
    for (let i = 0; i < outputs; i++) {
      to.push(
        i === 1 && theirs
          ? p2wpkh(theirs).output
          : payments.p2wpkh({ address: await wallet.receiveAddress(), network: regtest }).output!,
      );
    }
    const build = (fee: bigint) => {
      const tx = new Transaction();
      tx.version = 2;
      tx.addInput(Uint8Array.from(Buffer.from(paid.txid, 'hex').reverse()), paid.vout);
      const each = (funding - fee) / BigInt(outputs);
      for (const [i, script] of to.entries()) {
        tx.addOutput(script, i === 0 ? funding - fee - each * BigInt(outputs - 1) : each);
      }
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

  /**
   * The market turns: minimum relay 20 sat/vB, blocks full at `spikeRate`; three such blocks
   * teach the estimator (through `b`'s passes).
   */
  async function marketTurns(b: FeeBumper, spikeRate = 30): Promise<void> {
    net.chain.setMinRelayFeeRate(20);
    await net.chain.setFeeSpike({ rate: spikeRate });
    for (let i = 0; i < 3; i++) await block(b);
  }

  /** A block (full of fillers when a spike is on), then what a node does on it. */
  async function block(b: FeeBumper): Promise<void> {
    await net.chain.mine(1);
    await wallet.sync();
    await fees.refresh();
    await b.onBlock(net.chain.height);
  }

  function follow(
    b: FeeBumper,
    parent: { tx: Transaction; fee: bigint },
    cfdId: string,
    options: { vout?: number; counterpartyPaysFirst?: boolean } = {},
  ): void {
    const txid = parent.tx.getId();
    const vout = options.vout ?? 0;
    const out = parent.tx.outs[vout]!;
    b.follow({
      cfdId,
      kind: 'close',
      tx: { txid, hex: parent.tx.toHex() },
      fee: parent.fee,
      cpfp: () => wallet.ownOutputInput(txid, vout, BigInt(out.value), out.script),
      ...(options.counterpartyPaysFirst && { counterpartyPaysFirst: true }),
    });
  }

  /** A block, then what both nodes do on it (the one named first reacts first). */
  async function blockBoth(first: FeeBumper, second: FeeBumper): Promise<void> {
    await net.chain.mine(1);
    await wallet.sync();
    await fees.refresh();
    await first.onBlock(net.chain.height);
    await second.onBlock(net.chain.height);
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
    const b = bumper(100_000n);
    await marketTurns(b);
    const parent = await lowFeeParent();
    await assert.rejects(net.rpc.sendRawTransaction(parent.tx.toHex()), /min relay fee not met/);
    follow(b, parent, 'cfd-a');
    await b.onBlock(net.chain.height);
    const first = b.status('cfd-a')[0]!;
    assert.equal(first.state, 'waiting');
    assert.ok(
      first.childTxid,
      `a child went out with the parent (${first.lastError ?? 'no error'})`,
    );
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
    const budget = 8_000n; // 80 sat/vB × ≈ 250 vB for parent and child is ≈ 20,000 sats
    const b = bumper(budget);
    await marketTurns(b, 80);
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

  // A CET, refund or close pays both parties and both send it: two children for one package
  // would pay twice (both nodes saw each other's refund children in the e2e fee market, each
  // ≈ 16,000 sats at 50 sat/vB).
  it("the counterparty's child already pays for a transaction both send: no second child — until the deadline is near", async () => {
    const ours = bumper(100_000n);
    const theirs = bumper(100_000n);
    await marketTurns(ours);
    const parent = await lowFeeParent(2);
    // Theirs aims at the next block (as its node does near a deadline, or on "bump now").
    follow(theirs, parent, 'cfd-d-theirs', { vout: 1 });
    await theirs.onBlock(net.chain.height, { cfdId: 'cfd-d-theirs', urgent: true });
    const t = theirs.status('cfd-d-theirs')[0]!;
    assert.ok(t.childTxid, 'their child went out with the parent');

    follow(ours, parent, 'cfd-d');
    await ours.onBlock(net.chain.height);
    const o = ours.status('cfd-d')[0]!;
    assert.equal(o.state, 'mempool');
    assert.equal(o.childTxid, undefined, 'no child of ours');
    assert.equal(ours.spent('cfd-d'), 0n);
    assert.ok(o.rate >= t.rate, `its rate ${o.rate} is what the package pays (${t.rate})`);

    // Near the deadline (here: bump now) another's child is not relied on: it could be evicted.
    await ours.onBlock(net.chain.height, { cfdId: 'cfd-d', urgent: true });
    assert.ok(ours.status('cfd-d')[0]!.childTxid, 'then it pays with its own');
  });

  it('a transaction the counterparty pays first: our child waits one block for theirs, and goes out the block after when none came', async () => {
    const payer = bumper(100_000n);
    const other = bumper(100_000n);
    await marketTurns(other);

    // Both nodes follow it at once; the one that waits even reacts first.
    const shared = await lowFeeParent(2);
    follow(other, shared, 'cfd-e', { counterpartyPaysFirst: true });
    follow(payer, shared, 'cfd-e-payer', { vout: 1 });
    await other.onBlock(net.chain.height);
    assert.equal(other.status('cfd-e')[0]!.childTxid, undefined, 'it waits for the payer');
    await payer.onBlock(net.chain.height);
    assert.ok(payer.status('cfd-e-payer')[0]!.childTxid, "the payer's child went out");
    for (let n = 0; n < 4 && !(await confirmed(shared.tx.getId())); n++) {
      await blockBoth(other, payer);
    }
    assert.ok(await confirmed(shared.tx.getId()), 'confirmed');
    assert.equal(other.spent('cfd-e'), 0n, 'one child paid for it: the payer’s');

    // The payer's node is off: one block later our child goes out, and it confirms.
    const alone = await lowFeeParent(2);
    follow(other, alone, 'cfd-f', { counterpartyPaysFirst: true });
    await other.onBlock(net.chain.height);
    assert.equal(other.status('cfd-f')[0]!.childTxid, undefined);
    assert.equal(await net.rpc.getMempoolEntry(alone.tx.getId()), null, 'alone it does not relay');
    await block(other);
    assert.ok(other.status('cfd-f')[0]!.childTxid, 'a block later, ours');
    for (let n = 0; n < 4 && !(await confirmed(alone.tx.getId())); n++) await block(other);
    assert.ok(await confirmed(alone.tx.getId()), 'confirmed');
  });

  it("a counterparty's child that seems to pay enough but is never mined (another parent of its own pins it) is not relied on", async () => {
    const ours = bumper(100_000n);
    await marketTurns(ours);
    const theirs = newKey();
    const parent = await lowFeeParent(2, theirs);

    // The pin: a big transaction at 21 sat/vB (below the fillers at 30, so never mined), and
    // their child spending it and our shared parent — 100 sat/vB with the parent alone, ≈ 25
    // with everything a miner must take with it.
    const qKey = newKey();
    const qFunding = 400_000n;
    const q = await net.chain.fund(p2wpkh(qKey).address, qFunding);
    await net.chain.mine(1);
    const pin = (fee: bigint) => {
      const tx = new Transaction();
      tx.version = 2;
      tx.addInput(txidBytes(q.txid), q.vout);
      for (let i = 0; i < 160; i++) tx.addOutput(p2wpkh(newKey()).output, 1_000n);
      tx.addOutput(p2wpkh(qKey).output, qFunding - 160_000n - fee);
      signP2wpkh(tx, 0, qKey, qFunding);
      return tx;
    };
    const pinning = pin(21n * BigInt(pin(100_000n).virtualSize()));
    const pinned = BigInt(pinning.outs[160]!.value);
    const shared = BigInt(parent.tx.outs[1]!.value);
    const child = (fee: bigint) => {
      const tx = new Transaction();
      tx.version = 2;
      tx.addInput(txidBytes(parent.tx.getId()), 1);
      tx.addInput(txidBytes(pinning.getId()), 160);
      tx.addOutput(p2wpkh(theirs).output, shared + pinned - fee);
      signP2wpkh(tx, 0, theirs, shared);
      signP2wpkh(tx, 1, qKey, pinned);
      return tx;
    };
    const size = parent.tx.virtualSize() + child(10_000n).virtualSize();
    const theirChild = child(100n * BigInt(size) - parent.fee);
    const r = await net.rpc.submitPackage([pinning.toHex(), parent.tx.toHex(), theirChild.toHex()]);
    assert.equal(r.packageMsg, 'success');

    const entry = await net.rpc.getMempoolEntry(parent.tx.getId());
    const seems = entry!.descendants!.fee / BigInt(entry!.descendants!.vsize);
    assert.ok(seems >= 90n, `with its descendants it seems to pay ${seems} sat/vB`);
    await net.chain.mine(1);
    assert.equal(await confirmed(parent.tx.getId()), false, 'a block left it out: pinned');

    follow(ours, parent, 'cfd-g');
    await block(ours);
    const s = ours.status('cfd-g')[0]!;
    assert.ok(s.childTxid, 'our own child at once');
    assert.ok(s.rate < seems, `shown at what it pays with ours (${s.rate})`);
    for (let n = 0; n < 4 && !(await confirmed(parent.tx.getId())); n++) await block(ours);
    assert.ok(await confirmed(parent.tx.getId()), 'our child got it mined');
  });

  it('handed over when the last pass is blocks old, it waits for a block after the tip — not after that pass', async () => {
    const other = bumper(100_000n);
    await marketTurns(other);
    const shared = await lowFeeParent(2);
    await net.chain.mine(2); // the bumper's last pass is 3 blocks old
    follow(other, shared, 'cfd-h', { counterpartyPaysFirst: true });
    await other.kick('cfd-h'); // as the monitor's report of the tip hands it over
    assert.equal(other.status('cfd-h')[0]!.childTxid, undefined, 'it waits for the payer');
    await wallet.sync();
    await fees.refresh();
    await other.onBlock(net.chain.height); // the block loop catches up with the same tip
    assert.equal(other.status('cfd-h')[0]!.childTxid, undefined, 'no block since: still waits');
    await block(other);
    assert.ok(other.status('cfd-h')[0]!.childTxid, 'the next block: ours');
  });
});
