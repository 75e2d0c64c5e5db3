// CPFP children built by the wallet, against the embedded regtest node: a child lifting a
// 1 sat/vB parent to 30 sat/vB, a foreign (anchor-like) input signed by callback, replacements
// under one reservation, and refusals (budget, funds) before anything is signed.
import assert from 'node:assert/strict';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { opcodes, payments, script, Transaction } from 'bitcoinjs-lib';
import { broadcast } from '../../../node/chain/broadcast.ts';
import { type ForeignInput, RBF_SEQUENCE } from '../../../node/wallet/cpfp.ts';
import type { Wallet } from '../../../node/wallet/wallet.ts';
import { chainFor } from '../../helpers/chain.ts';
import { type Key, newKey, p2wpkh, p2wsh, regtest } from '../chain/helpers.ts';

const txidBytes = (txid: string) => Uint8Array.from(Buffer.from(txid, 'hex').reverse());
const sig = (key: Key, hash: Uint8Array) =>
  script.signature.encode(
    secp256k1.sign(hash, key.priv, { prehash: false, lowS: true }),
    Transaction.SIGHASH_ALL,
  );

describe('node/wallet CPFP children against the embedded regtest node', function () {
  this.timeout(120_000);
  const net = chainFor('all');
  // Each test's wallets are closed after it (the chain runs on).
  afterEach(() => net.cleanups.run());
  let n = 0;
  const openWallet = () => net.openWallet(`w${n++}`);

  /**
   * A parent at exactly 1 sat/vB spending a fresh faucet coin of `key` (P2WPKH) to `outputs`;
   * the last output takes the rest.
   */
  async function lowFeeParent(
    outputs: { script: Uint8Array; value?: bigint }[],
  ): Promise<{ tx: Transaction; fee: bigint; vsize: number }> {
    const key = newKey();
    const funding = 100_000n;
    const paid = await net.chain.fund(p2wpkh(key).address, funding);
    await net.chain.mine(1);
    const build = (fee: bigint, locktime = 0) => {
      const tx = new Transaction();
      tx.version = 2;
      tx.locktime = locktime;
      tx.addInput(txidBytes(paid.txid), paid.vout, RBF_SEQUENCE);
      const fixed = outputs.reduce((s, o) => s + (o.value ?? 0n), 0n);
      for (const o of outputs) tx.addOutput(o.script, o.value ?? funding - fixed - fee);
      const scriptCode = payments.p2pkh({ pubkey: key.pub }).output!;
      const hash = tx.hashForWitnessV0(0, scriptCode, funding, Transaction.SIGHASH_ALL);
      tx.setWitness(0, [sig(key, hash), key.pub]);
      return tx;
    };
    // A signature is 71 or 72 bytes depending on what it signs, so the vsize can flip as the fee
    // follows it: vary the (past) locktime until a fee is exactly its own vsize.
    const around = BigInt(build(1n).virtualSize());
    let tx = build(around);
    for (let i = 0; i < 64 && BigInt(tx.virtualSize()) !== funding - sum(tx); i++) {
      tx = build(around + BigInt(i % 2), Math.floor(i / 2));
    }
    const fee = funding - sum(tx);
    assert.equal(fee, BigInt(tx.virtualSize()), 'the parent pays exactly 1 sat/vB');
    return { tx, fee, vsize: tx.virtualSize() };
  }
  const sum = (tx: Transaction) => tx.outs.reduce((s, o) => s + o.value, 0n);

  /** An anchor stand-in: P2WSH `<pk> OP_CHECKSIG`, spent by a callback signing with `key`. */
  function anchor(key: Key) {
    const witnessScript = script.compile([key.pub, opcodes.OP_CHECKSIG]);
    const out = p2wsh(witnessScript);
    let signed = 0;
    const input = (txid: string, vout: number, value: bigint): ForeignInput => ({
      txid,
      vout,
      value,
      script: out.output,
      // 41 bytes + witness (1 count, 1+72 signature, 1+35 script) / 4
      vbytes: 41 + 110 / 4,
      sign(tx, index, prevouts) {
        signed++;
        assert.equal(prevouts[index]!.value, value);
        const hash = tx.hashForWitnessV0(index, witnessScript, value, Transaction.SIGHASH_ALL);
        return [sig(key, hash), witnessScript];
      },
    });
    return { output: out.output, input, signed: () => signed };
  }

  async function walletScript(w: Wallet): Promise<Uint8Array> {
    return payments.p2wpkh({ address: await w.receiveAddress(), network: regtest }).output!;
  }

  /** Mines a block; each of `txids` confirmed in it. */
  async function confirmedTogether(...txids: string[]): Promise<void> {
    const [block] = await net.chain.mine(1);
    for (const txid of txids) {
      const info = await net.rpc.getTransaction(txid);
      assert.equal(info?.blockHash, block, `${txid} confirmed in the block`);
    }
  }

  /** A wallet with one confirmed coin of `sats`. */
  const fundedWallet = (sats: bigint) => net.fundedWallet(`w${n++}`, [sats]);

  /** A 1 sat/vB parent with a 330 sat anchor output (its key's) first, the rest paid elsewhere. */
  async function anchoredParent() {
    const a = anchor(newKey());
    const parent = await lowFeeParent([
      { script: a.output, value: 330n },
      { script: p2wpkh(newKey()).output },
    ]);
    return { a, parent };
  }

  /** A wallet with a confirmed coin of 200,000 sats; an {@link anchoredParent} in the mempool. */
  async function anchorToSpend() {
    const w = await fundedWallet(200_000n);
    const { a, parent } = await anchoredParent();
    await broadcast(net.rpc, parent.tx.toHex());
    return { w, a, parent };
  }

  /** A child's input and parent of {@link anchoredParent}: the anchor, spent by callback. */
  function spendingAnchor(
    a: ReturnType<typeof anchor>,
    parent: { tx: Transaction; fee: bigint; vsize: number },
  ) {
    return {
      inputs: [a.input(parent.tx.getId(), 0, 330n)],
      parents: [{ vsize: parent.vsize, fee: parent.fee }],
    };
  }

  it('lifts a 1 sat/vB parent paying the wallet to a 30 sat/vB package; both confirm in the next block', async () => {
    const w = await openWallet();
    const to = await walletScript(w);
    const parent = await lowFeeParent([{ script: to }]);
    await broadcast(net.rpc, parent.tx.toHex());
    await w.recordOwnTransaction(parent.tx.toHex());
    const payout = parent.tx.outs[0]!;
    assert.equal(w.ownOutputInput(parent.tx.getId(), 0, payout.value, newKeyScript()), undefined);
    const own = w.ownOutputInput(parent.tx.getId(), 0, payout.value, payout.script);
    assert.ok(own, 'the payout pays a wallet script');

    const child = w.buildChild({
      inputs: [own],
      parents: [{ vsize: parent.vsize, fee: parent.fee }],
      packageRate: 30n,
      maxFee: 20_000n,
      reservationId: 'cpfp-1',
    });
    assert.equal(child.fee, 30n * BigInt(parent.vsize + child.vsize) - parent.fee);
    assert.equal(child.packageRate, 30n);
    assert.deepEqual(child.walletInputs, [], 'the payout pays the fee alone');
    const tx = Transaction.fromHex(child.hex);
    assert.equal(tx.ins.length, 1);
    assert.equal(tx.outs.length, 1);
    assert.ok(tx.ins.every((i) => i.sequence === 0xfffffffd));
    assert.equal(tx.outs[0]!.value, payout.value - child.fee);
    assert.equal(child.vsize, tx.virtualSize());

    await broadcast(net.rpc, child.hex);
    await w.recordOwnTransaction(child.hex);
    assert.equal(w.balance().unconfirmed, payout.value - child.fee, 'the change counts');
    await confirmedTogether(parent.tx.getId(), child.txid);
    await w.sync();
    assert.equal(w.balance().confirmed, payout.value - child.fee);
    w.release('cpfp-1');
  });

  it('spends an anchor signed by callback, adding a confirmed wallet coin for the fee', async () => {
    const { w, a, parent } = await anchorToSpend();
    const child = w.buildChild({
      ...spendingAnchor(a, parent),
      packageRate: 25n,
      maxFee: 20_000n,
      reservationId: 'cpfp-anchor',
    });
    assert.equal(child.fee, 25n * BigInt(parent.vsize + child.vsize) - parent.fee);
    assert.equal(child.walletInputs.length, 1);
    assert.equal(child.change.value, 200_000n + 330n - child.fee);
    assert.ok(a.signed() >= 1);
    assert.equal(w.fundingCoins().length, 0, 'the wallet coin is reserved');

    await broadcast(net.rpc, child.hex);
    await w.recordOwnTransaction(child.hex);
    assert.deepEqual(w.balance(), {
      confirmed: 0n,
      unconfirmed: child.change.value,
      reserved: 0n,
      spendable: 0n,
    });
    await confirmedTogether(parent.tx.getId(), child.txid);
    w.release('cpfp-anchor');
    await w.sync();
    assert.equal(w.balance().spendable, child.change.value);
  });

  it('replaces a child under the same reservation: same coins, same change address, more fee', async () => {
    const { w, a, parent } = await anchorToSpend();
    const request = { ...spendingAnchor(a, parent), maxFee: 50_000n, reservationId: 'cpfp-rbf' };
    const first = w.buildChild({ ...request, packageRate: 5n });
    await broadcast(net.rpc, first.hex);
    await w.recordOwnTransaction(first.hex);

    const second = w.buildChild({ ...request, packageRate: 20n, replaces: { fee: first.fee } });
    assert.deepEqual(second.walletInputs, first.walletInputs, 'conflicts on the same coin');
    assert.equal(second.change.script, first.change.script, 'no new address per replacement');
    assert.equal(second.fee, 20n * BigInt(parent.vsize + second.vsize) - parent.fee);
    assert.ok(second.fee >= first.fee + BigInt(second.vsize), 'BIP125 rules 3 and 4');
    const firstIns = outpointsSpent(first.hex);
    const secondIns = outpointsSpent(second.hex);
    assert.deepEqual(secondIns, firstIns);

    // The embedded node replaces as Core does (full-RBF, BIP125 rules 3–6): the second child
    // evicts the first.
    await broadcast(net.rpc, second.hex);
    assert.equal(await net.rpc.getMempoolEntry(first.txid), null, 'the first child was replaced');

    // A minFee floor works the same way (the caller's own replacement arithmetic).
    const third = w.buildChild({ ...request, packageRate: 1n, minFee: second.fee + 1_000n });
    assert.equal(third.fee, second.fee + 1_000n);
    assert.deepEqual(third.walletInputs, first.walletInputs);

    await confirmedTogether(parent.tx.getId(), second.txid);
    w.release('cpfp-rbf');
  });

  it('the replacement is a valid transaction: broadcast in place of the original it confirms', async () => {
    const { w, a, parent } = await anchorToSpend();
    const request = { ...spendingAnchor(a, parent), maxFee: 50_000n, reservationId: 'cpfp-rbf-2' };
    const first = w.buildChild({ ...request, packageRate: 5n });
    const second = w.buildChild({ ...request, packageRate: 40n, replaces: { fee: first.fee } });
    assert.deepEqual(second.walletInputs, first.walletInputs);
    await broadcast(net.rpc, second.hex);
    await confirmedTogether(second.txid, parent.tx.getId());
    w.release('cpfp-rbf-2');
  });

  it('refuses a fee over budget and an empty wallet before signing anything', async () => {
    const w = await fundedWallet(50_000n);
    const { a, parent } = await anchoredParent();
    const mempool = await net.rpc.getRawMempool();
    const request = {
      ...spendingAnchor(a, parent),
      packageRate: 50n,
      reservationId: 'cpfp-budget',
    };
    assert.throws(() => w.buildChild({ ...request, maxFee: 5_000n }), {
      name: 'FeeBudgetExceededError',
    });
    assert.equal(a.signed(), 0, 'nothing signed');
    assert.equal(w.fundingCoins().length, 1, 'nothing reserved');
    assert.deepEqual(await net.rpc.getRawMempool(), mempool, 'nothing broadcast');
    assert.throws(() => w.buildChild({ ...request, packageRate: 1_000n, maxFee: 1_000_000n }), {
      name: 'InsufficientFundsError',
    });
    const empty = await openWallet();
    assert.throws(() => empty.buildChild({ ...request, maxFee: 1_000_000n }), {
      name: 'InsufficientFundsError',
    });
    assert.equal(a.signed(), 0, 'nothing signed');
  });
});

/** The outpoints `hex` spends, as `hash:vout` (the hash in internal byte order). */
function outpointsSpent(hex: string): string[] {
  return Transaction.fromHex(hex).ins.map(
    (i) => `${Buffer.from(i.hash).toString('hex')}:${i.index}`,
  );
}

function newKeyScript(): Uint8Array {
  return p2wpkh(newKey()).output;
}
