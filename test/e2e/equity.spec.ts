// The account's equity through a collaborative close, on whole daemons (real wallet, embedded
// chain, libp2p on loopback): what the taker owns is its wallet plus the close's output to it, at
// every moment — the close held but unseen by the wallet, the close in the wallet's mempool view
// while the CFD is not settled yet (it used to count twice then), and through the block that
// confirms it (the wallet and the chain monitor each see that block in their own time: the
// contract must leave the account exactly when its payout enters the wallet).
import assert from 'node:assert/strict';
import { Transaction } from 'bitcoinjs-lib';
import type { EmbeddedChain } from '../../node/chain/embedded.ts';
import type { Daemon } from '../../node/daemon/daemon.ts';
import type { PriceFeedServer } from '../../node/pricefeed/server.ts';
import type { CollabSettlementTaker } from '../../protocols/collab-settlement/index.ts';
import { cfd, openCfd, settleAtNewQuote, startNetwork, until, useCleanups } from './network.ts';

/** The wallet's confirmed + unconfirmed sats. */
function walletTotal(d: Daemon): bigint {
  const b = d.wallet!.balance();
  return b.confirmed + b.unconfirmed;
}

/** The wallet's record of `txid`: absent, in the mempool, or confirmed. */
function held(d: Daemon, txid: string): 'no' | 'mempool' | 'confirmed' {
  const t = d.wallet!.history().find((x) => x.txid === txid);
  return t === undefined ? 'no' : t.height === undefined ? 'mempool' : 'confirmed';
}

describe('e2e: equity through a collaborative close', function () {
  this.timeout(240_000);
  const cleanups = useCleanups();
  let chain: EmbeddedChain;
  let feed: PriceFeedServer;
  let maker: Daemon;
  let taker: Daemon;

  before(async () => {
    ({ chain, feed, maker, taker } = await startNetwork(cleanups));
  });

  it('equals the wallet plus the close’s output before, during and after the close confirms', async () => {
    const id = await openCfd({ chain, maker, taker });
    const closeTx = (await settleAtNewQuote({ feed, taker }, id)).closeTx!;
    const outs = Transaction.fromHex(closeTx.hex).outs;
    assert.equal(outs.length, 2, 'maker and taker both paid');
    const closeOut = outs[1]!.value;
    // The truth: the wallet without the close, plus what the close pays the taker.
    const base = walletTotal(taker) - (held(taker, closeTx.txid) === 'no' ? 0n : closeOut);
    const truth = (base + closeOut).toString();
    const equity = () => taker.app.account().equity;

    // 1. The close is held (and going out); the wallet has not seen it.
    if (held(taker, closeTx.txid) === 'no') assert.equal(equity(), truth, 'close held');

    // 2. The close in the mempool and in the wallet's view of it, the CFD not settled.
    await until('the close in the mempool', async () =>
      (await taker.rpc!.getMempoolEntry(closeTx.txid)) ? true : undefined,
    );
    await taker.wallet!.sync();
    assert.equal(held(taker, closeTx.txid), 'mempool');
    assert.equal((await cfd(taker, id))!.settled, undefined, 'not settled yet');
    assert.equal(equity(), truth, 'close unconfirmed in the wallet');
    assert.equal(taker.app.account().positions, 0, 'the contract is paid into the wallet');

    // 3. A block confirms it: every read until both the CFD settled and the wallet saw the block.
    const samples: { equity: string | null; phase: string }[] = [];
    let done = false;
    const sampler = (async () => {
      while (!done) {
        const settled = (await cfd(taker, id))?.settled !== undefined;
        samples.push({ equity: equity(), phase: `${held(taker, closeTx.txid)}/${settled}` });
        await new Promise((r) => setTimeout(r, 2));
      }
    })();
    await chain.mine(1);
    await until(
      'settled and the close confirmed in the wallet',
      async () =>
        (await cfd(taker, id))?.settled === 'collaborative' &&
        held(taker, closeTx.txid) === 'confirmed',
    );
    done = true;
    await sampler;
    const wrong = samples.filter((s) => s.equity !== truth);
    assert.deepEqual(wrong, [], `${wrong.length} of ${samples.length} reads off ${truth}`);
    assert.equal(equity(), truth, 'settled');
    assert.equal(walletTotal(taker).toString(), truth, 'all of it in the wallet now');
  });

  it('keeps counting a contract the monitor saw settle until the wallet, syncing late, holds its payout', async () => {
    const id = await openCfd({ chain, maker, taker });
    // The wallet's syncs wait (a slow chain backend for the wallet alone); the chain monitor
    // follows the chain on its own and records the settlement first.
    const wallet = taker.wallet!;
    const sync = wallet.sync.bind(wallet);
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    wallet.sync = async (options) => {
      await gate;
      return sync(options);
    };
    cleanups.push(async () => release());
    const outcome = await (taker.settlements as CollabSettlementTaker).settle(id);
    assert.equal(outcome.status, 'completed', 'reason' in outcome ? String(outcome.reason) : '');
    const closeTx = (await cfd(taker, id))!.closeTx!;
    const closeOut = Transaction.fromHex(closeTx.hex).outs[1]!.value;
    assert.equal(held(taker, closeTx.txid), 'no');
    const truth = (walletTotal(taker) + closeOut).toString();
    const equity = () => taker.app.account().equity;
    assert.equal(equity(), truth, 'close held');

    await until('the close in the mempool', async () =>
      (await taker.rpc!.getMempoolEntry(closeTx.txid)) ? true : undefined,
    );
    await chain.mine(1);
    await until('settled', async () => (await cfd(taker, id))?.settled === 'collaborative');
    assert.equal(held(taker, closeTx.txid), 'no', 'the wallet has not synced the block');
    assert.equal(equity(), truth, 'settled, the payout not in the wallet yet');

    release();
    wallet.sync = sync;
    await until('the close in the wallet', () => held(taker, closeTx.txid) === 'confirmed');
    assert.equal(equity(), truth, 'the payout in the wallet');
    assert.equal(taker.app.account().positions, 0);
  });
});
