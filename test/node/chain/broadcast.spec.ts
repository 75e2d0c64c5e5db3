import assert from 'node:assert/strict';
import type { Transaction } from 'bitcoinjs-lib';
import { broadcast } from '../../../node/chain/broadcast.ts';
import { EmbeddedChain } from '../../../node/chain/embedded.ts';
import { BroadcastRejectedError } from '../../../node/chain/errors.ts';
import { BitcoinRpc } from '../../../node/chain/rpc.ts';
import {
  csvScript,
  type Key,
  newKey,
  type Prevout,
  p2wpkh,
  p2wsh,
  silent,
  spendCsv,
  spendP2wpkh,
} from './helpers.ts';

/** Relative timelock of the CSV output, in blocks (a CET uses 12). */
const CSV_BLOCKS = 5;

/**
 * Runs the same broadcast tests against a Core-like node (validates in sendrawtransaction) and
 * against stock bcoin behaviour (answers first, drops rejections silently).
 */
for (const validating of [true, false]) {
  const mode = validating ? 'validating' : 'stock bcoin';
  describe(`broadcast (${mode} sendrawtransaction)`, () => {
    let chain: EmbeddedChain;
    let rpc: BitcoinRpc;
    // A rejection on the stock node shows only as absence, so keep the wait short in tests.
    const options = { confirmTimeoutMs: 300 };

    before(async () => {
      chain = await EmbeddedChain.start({
        logger: silent,
        validatingSendRawTransaction: validating,
      });
      rpc = new BitcoinRpc({ url: chain.rpcUrl, ...chain.rpcAuth });
    });
    after(() => chain?.stop());

    async function fundP2wpkh(key: Key, value: bigint): Promise<Prevout> {
      const { txid, vout } = await chain.fund(p2wpkh(key).address, value);
      await chain.mine(1);
      return { txid, vout, value };
    }

    async function rejection(tx: Transaction): Promise<BroadcastRejectedError> {
      const err = await broadcast(rpc, tx.toHex(), options).then(
        () => assert.fail('broadcast should have been rejected'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof BroadcastRejectedError, `got ${String(err)}`);
      assert.equal(err.txid, tx.getId());
      return err;
    }

    it('confirms a valid transaction reached the mempool, then a block', async () => {
      const key = newKey();
      const prev = await fundP2wpkh(key, 100_000n);
      const tx = spendP2wpkh(key, prev, p2wpkh(newKey()).output, 500n);
      assert.deepEqual(await broadcast(rpc, tx.toHex(), options), {
        txid: tx.getId(),
        status: 'mempool',
      });
      assert.ok((await rpc.getRawMempool()).includes(tx.getId()));
      await chain.mine(1);
      // Broadcasting it again is harmless: it is found in its block.
      assert.deepEqual(await broadcast(rpc, tx.toHex(), options), {
        txid: tx.getId(),
        status: 'confirmed',
      });
    });

    it('rejects a transaction with a bad signature', async () => {
      const key = newKey();
      const prev = await fundP2wpkh(key, 100_000n);
      const bad = spendP2wpkh(key, prev, p2wpkh(newKey()).output, 500n, true);
      const err = await rejection(bad);
      if (validating) assert.match(err.reason, /script-verify-flag/);
      assert.equal(await rpc.getMempoolEntry(bad.getId()), null);
      // The output is still spendable with a good signature.
      const good = spendP2wpkh(key, prev, p2wpkh(newKey()).output, 500n);
      assert.equal((await broadcast(rpc, good.toHex(), options)).status, 'mempool');
    });

    it('rejects a spend of missing inputs', async () => {
      const key = newKey();
      const ghost = { txid: 'ab'.repeat(32), vout: 0, value: 100_000n };
      const err = await rejection(spendP2wpkh(key, ghost, p2wpkh(newKey()).output, 500n));
      if (validating) assert.match(err.reason, /missingorspent/);
    });

    it('enforces BIP68: a CSV spend is rejected before its depth and accepted at it', async () => {
      const key = newKey();
      const witnessScript = csvScript(key, CSV_BLOCKS);
      const { txid, vout } = await chain.fund(p2wsh(witnessScript).address, 200_000n);
      await chain.mine(1); // confirmed at height h: spendable in block h + CSV_BLOCKS
      const prev = { txid, vout, value: 200_000n };
      const spend = spendCsv(key, witnessScript, prev, CSV_BLOCKS, p2wpkh(newKey()).output, 1_000n);

      // Tip h: the next block (h + 1) is CSV_BLOCKS - 1 blocks too early.
      let err = await rejection(spend);
      if (validating) assert.equal(err.reason, 'non-BIP68-final');
      // Tip h + CSV_BLOCKS - 2: the next block is still one short.
      await chain.mine(CSV_BLOCKS - 2);
      err = await rejection(spend);
      if (validating) assert.equal(err.reason, 'non-BIP68-final');
      // A sequence below the script's CSV value fails the script even when the depth is there.
      await chain.mine(1);
      const short = spendCsv(
        key,
        witnessScript,
        prev,
        CSV_BLOCKS - 1,
        p2wpkh(newKey()).output,
        1_000n,
      );
      await rejection(short);
      // Tip h + CSV_BLOCKS - 1: the next block is at depth, so the mempool takes it.
      assert.equal((await broadcast(rpc, spend.toHex(), options)).status, 'mempool');
      const [hash] = await chain.mine(1);
      const block = await rpc.getBlock(hash!);
      assert.ok(block.tx.includes(spend.getId()));
    });

    it('surfaces an undecodable transaction as rejected', async () => {
      await assert.rejects(broadcast(rpc, 'deadbeef', options), {
        name: 'BroadcastRejectedError',
        reason: 'TX decode failed',
      });
    });
  });
}
