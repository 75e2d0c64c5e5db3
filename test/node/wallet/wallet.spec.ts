// The node's wallet against the embedded regtest full node: discovery by block scanning, balances,
// withdrawals the node accepts, refusal of bad addresses, coin reservation, reorgs, restarts.
import assert from 'node:assert/strict';
import { chmod, copyFile, mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Transaction } from 'bitcoinjs-lib';
import { broadcast } from '../../../node/chain/broadcast.ts';
import { MNEMONIC_FILE } from '../../../node/wallet/constants.ts';
import type { Wallet } from '../../../node/wallet/wallet.ts';
import { chainFor } from '../../helpers/chain.ts';
import { newKey, p2wpkh } from '../chain/helpers.ts';

describe('node/wallet against the embedded regtest node', function () {
  this.timeout(60_000);
  const net = chainFor('each');
  const openWallet = (name = 'w1', clock?: () => number) => net.openWallet(name, clock);

  /** A wallet balance, its fields in order. */
  const balance = (
    confirmed: bigint,
    unconfirmed: bigint,
    reserved: bigint,
    spendable: bigint,
  ) => ({
    confirmed,
    unconfirmed,
    reserved,
    spendable,
  });

  async function fundAndConfirm(w: Wallet, sats: bigint): Promise<void> {
    await net.chain.fund(await w.receiveAddress(), sats);
    await net.chain.mine(1);
    await w.sync();
  }

  it('creates a 24-word mnemonic readable only by its owner, and keeps it across restarts', async () => {
    const w = await openWallet();
    const words = w.exportMnemonic().split(' ');
    assert.equal(words.length, 24);
    const file = join(net.dir, 'w1', MNEMONIC_FILE);
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    assert.equal(w.birthday, net.chain.height, 'birthday is the height at creation');
    await w.close();
    const again = await openWallet();
    assert.equal(again.exportMnemonic(), words.join(' '));
  });

  it('refuses a mnemonic file others can read', async () => {
    const w = await openWallet();
    await w.close();
    await chmod(join(net.dir, 'w1', MNEMONIC_FILE), 0o644);
    await assert.rejects(openWallet(), { name: 'MnemonicFileError', message: /chmod 600/ });
  });

  it('sees coins in the mempool, then confirmed, with history', async () => {
    const w = await openWallet();
    const address = await w.receiveAddress();
    assert.match(address, /^bcrt1q/);
    assert.notEqual(await w.receiveAddress(), address, 'a fresh address each time');
    const paid = await net.chain.fund(address, 1_000_000n);
    await w.sync();
    assert.deepEqual(w.balance(), balance(0n, 1_000_000n, 0n, 0n));
    await net.chain.mine(1);
    await w.sync();
    assert.deepEqual(w.balance(), balance(1_000_000n, 0n, 0n, 1_000_000n));
    assert.equal(w.height, net.chain.height);
    const [tx] = w.history();
    assert.equal(tx?.txid, paid.txid);
    assert.equal(tx?.received, 1_000_000n);
    assert.equal(tx?.height, net.chain.height);
  });

  it('withdraws an amount the node accepts, at the fee rate, signalling RBF', async () => {
    const w = await openWallet();
    await fundAndConfirm(w, 2_000_000n);
    const to = p2wpkh(newKey());
    const out = w.withdraw(to.address, 600_000n, 3n);
    const tx = Transaction.fromHex(out.hex);
    assert.ok(out.fee >= BigInt(out.vsize) * 3n, `fee ${out.fee} for ${out.vsize} vB`);
    assert.ok(out.fee < BigInt(out.vsize) * 3n + 200n, 'no gross overpayment');
    assert.ok(tx.ins.every((i) => i.sequence === 0xfffffffd));
    assert.deepEqual(await broadcast(net.rpc, out.hex), { txid: out.txid, status: 'mempool' });
    await w.recordOwnTransaction(out.hex);
    const change = 2_000_000n - 600_000n - out.fee;
    assert.deepEqual(w.balance(), balance(0n, change, 0n, 0n));
    await net.chain.mine(1);
    await w.sync();
    assert.equal(w.balance().confirmed, change);
    const received = await net.rpc.getTxOut(out.txid, 0);
    assert.equal(received?.value, 600_000n);
  });

  it('recording an own transaction it already holds as confirmed keeps it confirmed, and its coins survive the next sync', async () => {
    const w = await openWallet();
    await fundAndConfirm(w, 2_000_000n);
    const out = w.withdraw(p2wpkh(newKey()).address, 600_000n, 3n);
    await broadcast(net.rpc, out.hex);
    await net.chain.mine(1);
    await w.sync();
    const change = 2_000_000n - 600_000n - out.fee;
    assert.deepEqual(w.balance(), balance(change, 0n, 0n, change));
    // A caller records it late (after the block that confirmed it was synced).
    await w.recordOwnTransaction(out.hex);
    assert.deepEqual(w.balance(), balance(change, 0n, 0n, change), 'still confirmed');
    // The next mempool scan does not find it there, and must not drop it (it did: the record
    // had made it unconfirmed, and unconfirmed coins missing from the mempool are forgotten).
    await w.sync();
    assert.deepEqual(w.balance(), balance(change, 0n, 0n, change), 'kept after sync');
    assert.equal(w.history().find((t) => t.txid === out.txid)?.height, net.chain.height);
  });

  it('withdraws everything', async () => {
    const w = await openWallet();
    await fundAndConfirm(w, 500_000n);
    await fundAndConfirm(w, 700_000n);
    const out = w.withdraw(p2wpkh(newKey()).address, undefined, 1n);
    await broadcast(net.rpc, out.hex);
    await net.chain.mine(1);
    await w.sync();
    assert.deepEqual(w.balance(), balance(0n, 0n, 0n, 0n));
    assert.equal(Transaction.fromHex(out.hex).outs.length, 1);
    assert.equal(Transaction.fromHex(out.hex).outs[0]!.value, 1_200_000n - out.fee);
  });

  it('refuses addresses of other networks and malformed ones, and spends it cannot make', async () => {
    const w = await openWallet();
    await fundAndConfirm(w, 100_000n);
    assert.throws(() => w.withdraw('bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq', 1000n, 1n), {
      name: 'InvalidAddressError',
      message: /mainnet address; this node runs on regtest/,
    });
    assert.throws(() => w.withdraw('tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx', 1000n, 1n), {
      name: 'InvalidAddressError',
      message: /testnet address/,
    });
    assert.throws(() => w.withdraw('bcrt1qnotanaddress', 1000n, 1n), {
      name: 'InvalidAddressError',
      message: /not a valid bitcoin address/,
    });
    const to = p2wpkh(newKey()).address;
    assert.throws(() => w.withdraw(to, 200_000n, 1n), { name: 'InsufficientFundsError' });
    assert.throws(() => w.withdraw(to, 100n, 1n), { name: 'InvalidSpendError', message: /dust/ });
    assert.throws(() => w.withdraw(to, 1000n, 0n), { name: 'InvalidSpendError' });
  });

  it('reserves coins for a contract setup until released or expired', async () => {
    let now = 1_000_000;
    const w = await openWallet(undefined, () => now);
    await fundAndConfirm(w, 300_000n);
    const funding = w.reserveFunding(200_000n, 1n, { ttlMs: 60_000 });
    assert.equal(funding.inputs.length, 1);
    assert.ok(funding.change && funding.change.value > 0n);
    assert.equal(funding.inputs[0]!.value, 200_000n + funding.fee + funding.change.value);
    assert.equal(w.balance().reserved, 300_000n);
    assert.equal(w.balance().spendable, 0n);
    // A second setup cannot take the same coin.
    assert.throws(() => w.reserveFunding(50_000n, 1n), { name: 'InsufficientFundsError' });
    w.release(funding.reservationId);
    assert.equal(w.balance().spendable, 300_000n);
    // A reservation nobody releases (the setup's process died) expires.
    const second = w.reserveFunding(50_000n, 1n, { ttlMs: 60_000 });
    w.assertReserved(second.reservationId);
    now += 60_001;
    assert.equal(w.balance().reserved, 0n);
    assert.throws(() => w.assertReserved(second.reservationId), {
      name: 'UnknownReservationError',
    });
  });

  it('rolls back coins of a block that a reorg disconnects', async () => {
    const w = await openWallet();
    await fundAndConfirm(w, 400_000n);
    const [paid] = w.history();
    await net.rpc.call('invalidateblock', [await net.rpc.getBlockHash(net.chain.height)]);
    await w.sync();
    // As in Core, the disconnected block's payment is back in the mempool: unconfirmed again.
    assert.equal(w.height, net.chain.height);
    assert.deepEqual(w.balance(), balance(0n, 400_000n, 0n, 0n));
    assert.deepEqual(w.history(), [{ ...paid, height: undefined }]);
    await net.chain.mine(2);
    await w.sync();
    assert.equal(w.balance().confirmed, 400_000n);
    assert.equal(w.history()[0]?.height, net.chain.height - 1);
  });

  it('resumes from its persisted state, and a restored mnemonic finds its coins by scanning', async () => {
    const w = await openWallet();
    await fundAndConfirm(w, 123_456n);
    const tip = w.height;
    await w.close();
    await net.chain.mine(2);
    const reopened = await openWallet();
    assert.equal(reopened.height, tip);
    assert.equal(reopened.balance().confirmed, 123_456n);
    await reopened.sync();
    assert.equal(reopened.height, net.chain.height);

    // Restore: same mnemonic, new data dir, no birthday known → scan from genesis.
    const restored = join(net.dir, 'restored');
    await mkdir(restored, { recursive: true });
    await copyFile(join(net.dir, 'w1', MNEMONIC_FILE), join(restored, MNEMONIC_FILE));
    const r = await openWallet('restored');
    assert.equal(r.birthday, 0);
    await r.sync();
    assert.equal(r.balance().confirmed, 123_456n);
  });
});
