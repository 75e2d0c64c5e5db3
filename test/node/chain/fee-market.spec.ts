import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { payments, script, Transaction } from 'bitcoinjs-lib';
import { broadcast } from '../../../node/chain/broadcast.ts';
import { EmbeddedChain } from '../../../node/chain/embedded.ts';
import { BroadcastRejectedError } from '../../../node/chain/errors.ts';
import { estimateFee, selectPackages } from '../../../node/chain/fee-market.ts';
import { BitcoinRpc } from '../../../node/chain/rpc.ts';
import { dlcfd, startDlcfd } from '../../helpers/dlcfd-cli.ts';
import { type Key, newKey, type Prevout, p2wpkh, silent } from './helpers.ts';

/** vbytes of a 1-in-1-out P2WPKH → P2WPKH spend (with a 72-byte signature: 110; 71: 109.75). */
const VB = 110n;

/** Spends a P2WPKH output of `key` to a fresh key, paying `fee`; `sequence` final = no RBF signal. */
function spend(key: Key, prev: Prevout, fee: bigint, sequence = 0xffffffff) {
  const to = newKey();
  const tx = new Transaction();
  tx.version = 2;
  tx.addInput(Uint8Array.from(Buffer.from(prev.txid, 'hex').reverse()), prev.vout, sequence);
  tx.addOutput(p2wpkh(to).output, prev.value - fee);
  const scriptCode = payments.p2pkh({ pubkey: key.pub }).output!;
  const sighash = tx.hashForWitnessV0(0, scriptCode, prev.value, Transaction.SIGHASH_ALL);
  const sig = secp256k1.sign(sighash, key.priv, { prehash: false, lowS: true });
  tx.setWitness(0, [script.signature.encode(sig, Transaction.SIGHASH_ALL), key.pub]);
  const out: Prevout = { txid: tx.getId(), vout: 0, value: prev.value - fee };
  return { hex: tx.toHex(), txid: tx.getId(), out, key: to, vsize: tx.virtualSize() };
}

describe('embedded chain fee market', function () {
  this.timeout(60_000);
  let chain: EmbeddedChain;
  let rpc: BitcoinRpc;

  /** A confirmed P2WPKH coin of a fresh key. */
  async function coin(sats = 200_000n): Promise<{ key: Key; prev: Prevout }> {
    const key = newKey();
    const { txid, vout } = await chain.fund(p2wpkh(key).address, sats);
    await chain.mine(1);
    assert.equal((await rpc.getTxOut(txid, vout))?.confirmations, 1, 'funding confirmed');
    return { key, prev: { txid, vout, value: sats } };
  }

  async function confirmations(txid: string): Promise<number> {
    return (await rpc.getTransaction(txid))?.confirmations ?? 0;
  }

  before(async () => {
    chain = await EmbeddedChain.start({ logger: silent, blockMaxWeight: 40_000 });
    rpc = new BitcoinRpc({ url: chain.rpcUrl, ...chain.rpcAuth });
  });
  after(() => chain?.stop());
  afterEach(async () => {
    // Back to a quiet chain with an empty mempool for the next test.
    await chain.setFeeSpike(undefined);
    chain.setMinRelayFeeRate(1);
    for (let i = 0; i < 20 && (await rpc.getMempoolInfo()).size > 0; i++) await chain.mine(1);
    assert.equal((await rpc.getMempoolInfo()).size, 0, 'mempool drained');
  });

  it('refuses a transaction below the minimum relay fee (-26) and reports it in getmempoolinfo', async () => {
    const { key, prev } = await coin();
    const quiet = await rpc.getMempoolInfo();
    assert.equal(quiet.mempoolMinFeeSatPerKvB, 1_000n);
    assert.equal(quiet.minRelayTxFeeSatPerKvB, 1_000n);

    chain.setMinRelayFeeRate(20);
    const info = await rpc.getMempoolInfo();
    assert.equal(info.mempoolMinFeeSatPerKvB, 20_000n);
    assert.equal(info.minRelayTxFeeSatPerKvB, 20_000n);
    const raw = await rpc.call<Record<string, unknown>>('getmempoolinfo');
    assert.equal(raw.mempoolminfee, '0.0002');
    assert.equal(raw.minrelaytxfee, '0.0002');

    const cheap = spend(key, prev, 10n * VB);
    await assert.rejects(
      rpc.sendRawTransaction(cheap.hex),
      (err: Error & Record<string, unknown>) => {
        assert.equal(err.name, 'RpcError');
        assert.equal(err.code, -26);
        assert.match(String(err.rpcMessage), /^min relay fee not met, \d+ < \d+$/);
        return true;
      },
    );
    assert.equal(await rpc.getMempoolEntry(cheap.txid), null);

    const paying = spend(key, prev, 21n * VB);
    assert.equal(await rpc.sendRawTransaction(paying.hex), paying.txid);
    const after = await rpc.getMempoolInfo();
    assert.equal(after.size, 1);
    assert.equal(after.bytes, paying.vsize);

    // The dlcfd-only RPC changes it too; the faucet keeps paying enough to be accepted.
    await rpc.call('setmempoolminfee', [30]);
    assert.equal((await rpc.getMempoolInfo()).mempoolMinFeeSatPerKvB, 30_000n);
    const funded = await chain.fund(p2wpkh(newKey()).address, 50_000n);
    assert.ok(await rpc.getMempoolEntry(funded.txid));
    await assert.rejects(rpc.call('setmempoolminfee', ['x']), { code: -3 });
  });

  it('mines by ancestor fee rate: a CPFP package beats 50 sat/vB fillers, a 1 sat/vB tx waits', async () => {
    const a = await coin();
    const c = await coin();
    await chain.setFeeSpike({ rate: 50 });
    const parent = spend(a.key, a.prev, 1n * VB);
    const child = spend(parent.key, parent.out, 200n * VB);
    const lone = spend(c.key, c.prev, 1n * VB);
    for (const t of [parent, child, lone]) await rpc.sendRawTransaction(t.hex);

    const [hash] = await chain.mine(1);
    const block = await rpc.getBlock(hash!);
    assert.ok(block.tx.includes(parent.txid), 'parent mined');
    assert.ok(block.tx.includes(child.txid), 'child mined');
    assert.ok(!block.tx.includes(lone.txid), 'the 1 sat/vB transaction is not mined');
    // The rest of the block is fillers: it is (nearly) full.
    const weight = (await rpc.call<{ weight?: number }>('getblock', [hash, 1])).weight;
    const hex = await rpc.getBlockHex(hash!);
    assert.ok(block.tx.length > 10, `fillers in the block (${block.tx.length} txs)`);
    assert.ok(hex.length / 2 > 9_000, `block bytes ${hex.length / 2}, weight ${weight}`);

    await chain.mine(2);
    assert.equal(await confirmations(lone.txid), 0, 'still waiting under the spike');
    assert.ok(await rpc.getMempoolEntry(lone.txid));

    // Without the spike the block has room again.
    await chain.setFeeSpike(undefined);
    await chain.mine(1);
    assert.equal(await confirmations(lone.txid), 1);
  });

  it('estimatesmartfee: ≥ the spike rate when blocks are full, floored at the min fee, monotone', async () => {
    await chain.mine(12); // no full block left in the estimator's window
    const quiet = await rpc.estimateSmartFee(6);
    assert.equal(quiet.satPerKvB, undefined, 'no full block: no estimate at the default min fee');
    await rpc.call('setfeespike', [50]);
    await chain.mine(3);
    const two = await rpc.estimateSmartFee(2);
    assert.ok(two.satPerKvB !== undefined && two.satPerKvB >= 50_000n, `estimate ${two.satPerKvB}`);
    assert.equal(two.blocks, 2);
    const raw = await rpc.call<{ feerate: string; blocks: number }>('estimatesmartfee', [1]);
    assert.equal(raw.blocks, 2, 'target 1 is answered as 2, as Core does');
    const targets = [1, 2, 3, 6, 12, 144];
    const rates: bigint[] = [];
    for (const t of targets) rates.push((await rpc.estimateSmartFee(t)).satPerKvB ?? 0n);
    for (let i = 1; i < rates.length; i++) {
      assert.ok(rates[i]! <= rates[i - 1]!, `target ${targets[i]} not dearer: ${rates}`);
    }
    chain.setMinRelayFeeRate(80);
    assert.equal((await rpc.estimateSmartFee(2)).satPerKvB, 80_000n, 'floored at the min fee');
    await assert.rejects(rpc.estimateSmartFee(0), { code: -8 });

    // The spike stopped and the min fee raised: quiet blocks answer the min fee.
    await rpc.call('setfeespike', [0]);
    await chain.mine(12);
    chain.setMinRelayFeeRate(5);
    assert.equal((await rpc.estimateSmartFee(2)).satPerKvB, 5_000n);
  });

  it('submitpackage: a child pays for a parent below the min fee; an insufficient package is refused', async () => {
    const p = await coin();
    const q = await coin();
    chain.setMinRelayFeeRate(20);
    const parent = spend(p.key, p.prev, 2n * VB);
    const child = spend(parent.key, parent.out, 100n * VB);
    await assert.rejects(rpc.sendRawTransaction(parent.hex), { code: -26 });

    await assert.rejects(rpc.submitPackage([child.hex, parent.hex]), {
      code: -8,
      rpcMessage: /package topology disallowed/,
    });

    const dup = await rpc.submitPackage([parent.hex, parent.hex]);
    assert.equal(dup.packageMsg, 'package-contains-duplicates');
    assert.equal(await rpc.getMempoolEntry(parent.txid), null);

    const ok = await rpc.submitPackage([parent.hex, child.hex]);
    assert.equal(ok.packageMsg, 'success');
    assert.deepEqual(
      ok.txResults.map((r) => [r.txid, r.fee, r.error]),
      [
        [parent.txid, 2n * VB, undefined],
        [child.txid, 100n * VB, undefined],
      ],
    );
    assert.deepEqual(ok.replacedTransactions, []);
    assert.ok(await rpc.getMempoolEntry(parent.txid));
    // Submitting it again is fine (already in the mempool).
    assert.equal((await rpc.submitPackage([parent.hex, child.hex])).packageMsg, 'success');

    const parent2 = spend(q.key, q.prev, 2n * VB);
    const child2 = spend(parent2.key, parent2.out, 10n * VB);
    const low = await rpc.submitPackage([parent2.hex, child2.hex]);
    assert.equal(low.packageMsg, 'package-fee-too-low');
    assert.equal(await rpc.getMempoolEntry(parent2.txid), null, 'nothing of it stays');
    assert.equal(await rpc.getMempoolEntry(child2.txid), null);

    // Under a spike the package is mined at its ancestor rate (≈ 51 sat/vB > 50).
    await chain.setFeeSpike({ rate: 50 });
    await chain.mine(1);
    assert.equal(await confirmations(parent.txid), 1);
    assert.equal(await confirmations(child.txid), 1);
  });

  it('generateblock: a miner mines what the mempool refuses (below the min fee), never what consensus refuses', async () => {
    const { key, prev } = await coin();
    chain.setMinRelayFeeRate(20);
    await chain.setFeeSpike({ rate: 50 });
    const cheap = spend(key, prev, 1n * VB);
    await assert.rejects(rpc.sendRawTransaction(cheap.hex), /min relay fee not met/);
    const { hash } = await rpc.call<{ hash: string }>('generateblock', [
      chain.faucetAddress,
      [cheap.hex],
    ]);
    assert.equal(await confirmations(cheap.txid), 1);
    const block = await rpc.getBlock(hash);
    assert.deepEqual(block.tx.slice(1), [cheap.txid], 'exactly the given transaction, no fillers');
    // A double spend of a confirmed coin is invalid in any block: nothing is mined.
    const height = chain.height;
    const again = spend(key, prev, 2n * VB);
    await assert.rejects(chain.mineTransactions([again.hex]), /missingorspent/);
    assert.equal(chain.height, height);
  });

  it('RBF: a replacement paying more replaces the original and its descendants, without signalling', async () => {
    const r = await coin();
    const original = spend(r.key, r.prev, 2n * VB); // final sequence: no BIP125 signal
    await rpc.sendRawTransaction(original.hex);
    const descendant = spend(original.key, original.out, 2n * VB);
    await rpc.sendRawTransaction(descendant.hex);

    // Rule 3: must pay at least what it evicts (2 × 220 sat).
    const stingy = spend(r.key, r.prev, 3n * VB);
    await assert.rejects(rpc.sendRawTransaction(stingy.hex), {
      code: -26,
      rpcMessage: /^insufficient fee, rejecting replacement .*less fees than conflicting txs/,
    });
    // Rule 4: plus its own size at the incremental relay fee.
    const barely = spend(r.key, r.prev, 4n * VB + 1n);
    await assert.rejects(rpc.sendRawTransaction(barely.hex), {
      code: -26,
      rpcMessage: /not enough additional fees to relay/,
    });
    assert.ok(await rpc.getMempoolEntry(original.txid), 'failed replacements change nothing');
    assert.ok(await rpc.getMempoolEntry(descendant.txid));

    const replacement = spend(r.key, r.prev, 10n * VB);
    assert.equal(await rpc.sendRawTransaction(replacement.hex), replacement.txid);
    assert.equal(await rpc.getMempoolEntry(original.txid), null);
    assert.equal(await rpc.getMempoolEntry(descendant.txid), null);
    await chain.mine(1);
    assert.equal(await confirmations(replacement.txid), 1);
  });
});

describe('embedded chain fee market with stock bcoin sendrawtransaction', () => {
  let chain: EmbeddedChain;
  before(async () => {
    chain = await EmbeddedChain.start({
      logger: silent,
      validatingSendRawTransaction: false,
      minRelayFeeRate: 20,
    });
  });
  after(() => chain?.stop());

  it("applies the minimum relay fee inside bcoin's mempool too", async () => {
    const rpc = new BitcoinRpc({ url: chain.rpcUrl, ...chain.rpcAuth });
    const key = newKey();
    const { txid, vout } = await chain.fund(p2wpkh(key).address, 100_000n);
    await chain.mine(1);
    const prev = { txid, vout, value: 100_000n };
    const cheap = spend(key, prev, 10n * VB);
    // Stock bcoin answers first; broadcast() finds it never reached the mempool.
    await assert.rejects(
      broadcast(rpc, cheap.hex, { confirmTimeoutMs: 300 }),
      BroadcastRejectedError,
    );
    const paying = spend(key, prev, 21n * VB);
    assert.equal((await broadcast(rpc, paying.hex)).status, 'mempool');
  });
});

describe('fee market selection and estimate (pure)', () => {
  const tx = (id: string, vsize: number, fee: number, parents: string[] = []) => ({
    id,
    weight: vsize * 4,
    vsize,
    fee,
    sigops: 1,
    parents,
    eligible: true,
  });

  it('selects packages by ancestor fee rate and skips what does not fit', () => {
    const pool = [
      tx('parent', 100, 100),
      tx('child', 100, 20_000, ['parent']),
      tx('filler1', 100, 5_000),
      tx('filler2', 100, 5_000),
      tx('big', 1_000, 200_000),
    ];
    const s = selectPackages(pool, { maxWeight: 1_200, maxSigops: 100, minFeeRate: 1_000 });
    assert.deepEqual(
      s.txs.map((t) => t.id),
      ['parent', 'child', 'filler1'],
    );
    const none = selectPackages(pool, { maxWeight: 100_000, maxSigops: 100, minFeeRate: 200_001 });
    assert.deepEqual(
      none.txs.map((t) => t.id),
      [],
    );
  });

  it('estimates monotonically from full blocks', () => {
    const full = (height: number, rate: number) => ({ height, full: true, minPackageRate: rate });
    const empty = (height: number) => ({ height, full: false, minPackageRate: undefined });
    const history = [full(1, 80_000), empty(2), full(3, 50_000), full(4, 60_000)];
    // Target 1 is answered as 2 (Core); runs of 2: (80k, 0) (0, 50k) (50k, 60k) → 50k.
    assert.deepEqual(estimateFee(history, 1, 1_000), { satPerKvB: 50_000, blocks: 2 });
    assert.deepEqual(estimateFee(history, 2, 1_000), { satPerKvB: 50_000, blocks: 2 });
    assert.deepEqual(estimateFee(history, 2, 70_000), { satPerKvB: 70_000, blocks: 2 });
    assert.deepEqual(estimateFee(history, 3, 1_000), { satPerKvB: 1_000, blocks: 3 });
    assert.deepEqual(estimateFee([empty(1)], 2, 1_000), { satPerKvB: undefined, blocks: 2 });
    assert.deepEqual(estimateFee([empty(1)], 2, 20_000), { satPerKvB: 20_000, blocks: 2 });
  });
});

describe('dlcfd chain fee market flags', () => {
  let child: ChildProcess | undefined;
  afterEach(async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    }
    child = undefined;
  });

  it('documents and parses --min-relay-fee, --block-max-weight, --fee-spike', async function () {
    this.timeout(60_000);
    const help = await dlcfd('chain', '--help');
    for (const f of ['--min-relay-fee', '--block-max-weight', '--fee-spike', 'setfeespike']) {
      assert.ok(help.stdout.includes(f), f);
    }
    const bad = await dlcfd('chain', '--block-max-weight', '100');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--block-max-weight/);
    const badRate = await dlcfd('chain', '--fee-spike', 'high');
    assert.equal(badRate.code, 2);
    assert.match(badRate.stderr, /--fee-spike/);

    const started = await startDlcfd(
      'chain',
      ['--min-relay-fee', '20', '--block-max-weight', '40000', '--fee-spike', '50'],
      'height',
    );
    child = started.child;
    const rpc = new BitcoinRpc({
      url: started.ready.get('rpc-url')!,
      cookieFile: started.ready.get('rpc-cookie-file')!,
    });
    assert.equal((await rpc.getMempoolInfo()).mempoolMinFeeSatPerKvB, 20_000n);
    const address = started.ready.get('faucet-address')!;
    const [hash] = await rpc.call<string[]>('generatetoaddress', [2, address]);
    const block = await rpc.getBlock(hash!);
    assert.ok(block.tx.length > 10, `a spike block is full of fillers (${block.tx.length} txs)`);
    const estimate = await rpc.estimateSmartFee(2);
    assert.ok(estimate.satPerKvB !== undefined && estimate.satPerKvB >= 50_000n);
    // A running chain's market, changed from the command line (what testnet users do).
    const auth = ['--rpc-url', started.ready.get('rpc-url')!];
    auth.push('--rpc-cookie-file', started.ready.get('rpc-cookie-file')!);
    const changed = await dlcfd(
      'chain',
      'fees',
      '--min-relay-fee',
      '5',
      '--fee-spike',
      '0',
      ...auth,
    );
    assert.equal(changed.code, 0, changed.stderr);
    assert.match(
      changed.stdout,
      /min relay fee 5 sat\/vB; .*estimatesmartfee 2: \d+(\.\d+)? sat\/vB/,
    );
    assert.equal((await rpc.getMempoolInfo()).mempoolMinFeeSatPerKvB, 5_000n);
    const [quiet] = await rpc.call<string[]>('generatetoaddress', [1, address]);
    assert.equal((await rpc.getBlock(quiet!)).tx.length, 1, 'the spike stopped: no fillers');
  });
});
