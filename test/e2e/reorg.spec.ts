// End to end, whole daemons on the embedded chain: a reorg disconnects the block that confirmed a
// CFD's lock, commit, CET or punish, deeper than the monitor remembers a broadcast (6 blocks), and
// the disconnected transactions do not come back to the node's mempool by themselves
// (`invalidate(..., { toMempool: false })`). Each CFD must roll its facts back (its state says so)
// and publish again what it needs, so that the chain confirms it again — a punish that stayed
// "settled" after a reorg would leave the cheater's revoked commit free to pay out its CET.
import assert from 'node:assert/strict';
import { signedCommit } from '../../dlc/contract.ts';
import { uiState } from '../../model/cfd.ts';
import { parsePrice } from '../../model/units.ts';
import type { EmbeddedChain } from '../../node/chain/embedded.ts';
import type { Daemon } from '../../node/daemon/daemon.ts';
import {
  cfd,
  cheatWithRevoked,
  type Network,
  openCfd,
  revokedOnBoth,
  startNetwork,
  until,
  useCleanups,
} from './network.ts';

/** Blocks mined on top of a confirming block before it is disconnected: past the track depth. */
const BURY = 7;

/** Waits for `txid` in `d`'s mempool, mines it, and returns the hash of the block holding it. */
async function mineIn(chain: EmbeddedChain, d: Daemon, txid: string): Promise<string> {
  await until(`${txid} in mempool`, async () => (await d.rpc!.getMempoolEntry(txid)) ?? undefined);
  const [hash] = await chain.mine(1);
  const block = await d.rpc!.getBlock(hash!);
  assert.ok(block.tx.includes(txid), `${txid} in block ${hash}`);
  return hash!;
}

/** Disconnects `hash` and everything above it; the node's mempool does not take them back. */
async function reorgOut(net: Network, hash: string, txid: string): Promise<void> {
  await net.chain.invalidate(hash, { toMempool: false });
  assert.equal(await net.taker.rpc!.getMempoolEntry(txid), null, 'gone from the mempool');
}

describe('e2e: reorgs roll back what they disconnect, and the node publishes it again', function () {
  this.timeout(240_000);
  const cleanups = useCleanups();
  let net: Network;

  before(async () => {
    net = await startNetwork(cleanups);
  });

  it('a lock: both sides show the position pending again, the lock is rebroadcast and reconfirms', async () => {
    const id = await openCfd(net);
    const lockTxid = (await cfd(net.taker, id))!.dlc!.lockTxid;
    const block = (await net.taker.rpc!.getTransaction(lockTxid))!.blockHash!;
    await net.chain.mine(BURY);
    await reorgOut(net, block, lockTxid);
    for (const d of [net.maker, net.taker]) {
      await until('pending open again', async () => uiState((await cfd(d, id))!) === 'pendingOpen');
    }
    await mineIn(net.chain, net.taker, lockTxid);
    for (const d of [net.maker, net.taker]) {
      await until('open again', async () => uiState((await cfd(d, id))!) === 'open');
    }
    assert.deepEqual((await cfd(net.taker, id))!.reorgedTxids, [lockTxid]);
  });

  it('a commit, then its CET: each reorged out is published again and the CFD settles at last', async () => {
    const { chain, feed, maker, taker } = net;
    const id = await openCfd(net);
    const commit = signedCommit((await taker.contracts.get(id))!);
    await taker.cfds.execute(id, {
      type: 'commit',
      commitTx: { txid: commit.getId(), hex: commit.toHex() },
    });
    const commitBlock = await mineIn(chain, taker, commit.getId());
    for (const d of [maker, taker]) {
      await until('committed', async () => (await cfd(d, id))?.commitConfirmed);
    }
    await chain.mine(BURY);
    await reorgOut(net, commitBlock, commit.getId());
    for (const d of [maker, taker]) {
      await until('the commit unconfirmed', async () => !(await cfd(d, id))!.commitConfirmed);
    }
    assert.equal(uiState((await cfd(taker, id))!), 'pendingCommit');
    await mineIn(chain, taker, commit.getId());
    // The CET lock counts again from the new confirming block.
    feed.setPrice(parsePrice('52000'));
    await chain.mine(11);
    const cet = await until(
      'attestation and CET',
      async () => {
        const c = await cfd(taker, id);
        return c?.cet && c.cetTimelockExpired ? c.cet : undefined;
      },
      90_000,
    );
    const cetBlock = await mineIn(chain, taker, cet.txid);
    for (const d of [maker, taker]) {
      await until('closed', async () => (await cfd(d, id))?.settled === 'cet');
    }

    // The CET's block reorged out: no longer settled on either side, published again, settled.
    await chain.mine(BURY);
    await reorgOut(net, cetBlock, cet.txid);
    for (const d of [maker, taker]) {
      await until('unsettled', async () => (await cfd(d, id))!.settled === undefined);
    }
    assert.equal(uiState((await cfd(taker, id))!), 'pendingCet');
    await mineIn(chain, taker, cet.txid);
    for (const d of [maker, taker]) {
      await until('closed again', async () => (await cfd(d, id))?.settled === 'cet');
    }
  });
});

describe('e2e: a reorged punish is published again before the cheater can use its CET', function () {
  this.timeout(240_000);
  const cleanups = useCleanups();

  it('the punish of a revoked commit, reorged out, goes out again and confirms', async () => {
    const net = await startNetwork(cleanups, { 'rollover-interval': '10' });
    const id = await openCfd(net);
    const stale = signedCommit((await net.maker.contracts.get(id))!);
    await revokedOnBoth(net, id, stale);
    const punish = await cheatWithRevoked(net, id, stale, net.maker, net.taker);
    const block = await mineIn(net.chain, net.taker, punish.txid);
    await until('punished', async () => (await cfd(net.taker, id))?.settled === 'punish');

    await net.chain.mine(BURY);
    await reorgOut(net, block, punish.txid);
    await until('unsettled', async () => (await cfd(net.taker, id))!.settled === undefined);
    // The revoked commit is still confirmed below: the punish is needed again before its CET lock.
    await mineIn(net.chain, net.taker, punish.txid);
    await until('punished again', async () => (await cfd(net.taker, id))?.settled === 'punish');
  });
});
