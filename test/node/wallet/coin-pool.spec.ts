// The maker's coin pool against the embedded regtest node: a split the node accepts, sized as
// asked, fee at the rate; no second split while one is pending; no split of coins too small;
// setups reserve first, so a split never takes the coin a setup could fund from.
import assert from 'node:assert/strict';
import { Transaction } from 'bitcoinjs-lib';
import type { CoinPoolTarget, Wallet } from '../../../node/wallet/wallet.ts';
import { chainFor, coinPoolOf } from '../../helpers/chain.ts';

describe('node/wallet/coin-pool: a maker keeps its funds split for concurrent setups', function () {
  this.timeout(60_000);
  const net = chainFor('each');
  let wallet: Wallet;

  const poolOf = (target: CoinPoolTarget) => coinPoolOf(wallet, net.rpc, target, 3n);

  beforeEach(async () => {
    wallet = await net.fundedWallet('w', [10_000_000n]);
  });

  it('splits one coin into the target count of pool coins plus change, at the fee rate; the coins fund once confirmed', async () => {
    const pool = poolOf({ count: 4, value: 1_000_000n });
    await pool.ensure();
    const split = wallet.history().find((h) => h.sent > 0n)!;
    const tx = Transaction.fromHex((await net.rpc.getRawTransaction(split.txid))!);
    assert.deepEqual(tx.outs.map((o) => o.value).slice(0, 4), [
      1_000_000n,
      1_000_000n,
      1_000_000n,
      1_000_000n,
    ]);
    const fee = 10_000_000n - tx.outs.reduce((s, o) => s + o.value, 0n);
    assert.equal(fee, BigInt(11 + 68 + 31 * 5) * 3n, 'the fee is the rate times its vbytes');
    assert.ok(fee >= BigInt(tx.virtualSize()) * 3n);
    // Until it confirms, nothing funds a setup (a counterparty refuses unconfirmed lock inputs),
    // and the pending split counts: no second split.
    assert.equal(wallet.fundingCoins().length, 0);
    await pool.ensure();
    assert.equal(wallet.history().filter((h) => h.sent > 0n).length, 1, 'one split only');
    await net.chain.mine(1);
    await wallet.sync();
    assert.equal(wallet.fundingCoins().length, 5);
    // Four setups at once, each on its own coin.
    const fundings = [1, 2, 3, 4].map(() => pool.reserveFunding(900_000n, 3n, { extraVbytes: 54 }));
    assert.equal(new Set(fundings.map((f) => `${f.inputs[0]!.txid}:${f.inputs[0]!.vout}`)).size, 4);
    assert.ok(fundings.every((f) => f.inputs.length === 1));
  });

  it('does not split coins smaller than two pool coins, nor a full pool', async () => {
    await poolOf({ count: 4, value: 6_000_000n }).ensure();
    assert.equal(wallet.history().filter((h) => h.sent > 0n).length, 0);
    await poolOf({ count: 1, value: 1_000_000n }).ensure();
    // One coin of 10 M is a source, not a pool coin: it is split into one pool coin and change.
    assert.equal(wallet.history().filter((h) => h.sent > 0n).length, 1);
    await net.chain.mine(1);
    await wallet.sync();
    await poolOf({ count: 1, value: 1_000_000n }).ensure();
    assert.equal(wallet.history().filter((h) => h.sent > 0n).length, 1, 'the pool is full');
  });

  it('a setup reserves before the pool splits: the split never takes the coin it funds from', async () => {
    const pool = poolOf({ count: 4, value: 1_000_000n });
    const funding = pool.reserveFunding(900_000n, 3n, { extraVbytes: 54 });
    assert.equal(funding.inputs.length, 1);
    await pool.ensure();
    // The wallet's only coin funds the setup; nothing is left to split.
    assert.equal(wallet.history().filter((h) => h.sent > 0n).length, 0);
    wallet.release(funding.reservationId);
  });
});
