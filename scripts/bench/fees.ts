// Fee-market figures (issue #12): how many blocks a punish and a CET take to confirm during a fee
// spike, and what they overpaid against the cheapest transaction each block took.
// - fees.blocks_to_confirm_punish_under_spike: blocks from the one a miner mined a revoked commit
//   into (directly, out of band, at 1 sat/vB) to the one holding our punish, counted once the
//   punish went out (1 = the next block; the cheater's CET is valid from block 12, so anything
//   ≤ 11 wins the race).
// - fees.blocks_to_confirm_cet_under_spike: blocks from the first one the CET could be in (its
//   commit's confirmation + 12, or the next block once the oracle attested) to the one holding
//   it (1 = that very block).
// Each is printed with the rate our transaction (or package) paid and the block's minimum: the
// lowest fee rate of any other transaction in that block (the spike's fillers), its reference.
// Counts of blocks and sats do not depend on the machine; the run takes ≈ 1 minute.
// One process: embedded chain (min relay 20 sat/vB, 40,000 WU blocks filled at 50 sat/vB after
// setup), price feed, oracle, a maker and a taker daemon over libp2p on loopback.
import { Transaction } from 'bitcoinjs-lib';
import { signedCommit } from '../../dlc/contract.ts';
import { parsePrice } from '../../model/units.ts';
import type { BitcoinRpc } from '../../node/chain/rpc.ts';
import { cfd, type Network, openCfd, startNetwork, until } from '../../test/e2e/network.ts';

const MIN_RELAY = 20;
const SPIKE = 50;

/** fee / vsize of a confirmed or mempool transaction, from its inputs' values. */
async function feeAndSize(
  rpc: BitcoinRpc,
  tx: Transaction,
): Promise<{ fee: bigint; vsize: number }> {
  let input = 0n;
  for (const i of tx.ins) {
    const prev = await rpc.getRawTransaction(Buffer.from(i.hash).reverse().toString('hex'));
    input += BigInt(Transaction.fromHex(prev!).outs[i.index]!.value);
  }
  return {
    fee: input - tx.outs.reduce((a, o) => a + BigInt(o.value), 0n),
    vsize: tx.virtualSize(),
  };
}

/** The lowest fee rate (sat/vB) of a block's transactions other than `ours`. */
async function blockMinimum(rpc: BitcoinRpc, height: number, ours: Set<string>): Promise<number> {
  const block = await rpc.getBlock(await rpc.getBlockHash(height));
  let min = Number.POSITIVE_INFINITY;
  for (const txid of block.tx.slice(1)) {
    if (ours.has(txid)) continue;
    const tx = Transaction.fromHex((await rpc.getRawTransaction(txid))!);
    const { fee, vsize } = await feeAndSize(rpc, tx);
    min = Math.min(min, Number(fee) / vsize);
  }
  return min;
}

async function heightOf(rpc: BitcoinRpc, txid: string): Promise<number | undefined> {
  const info = await rpc.getTransaction(txid);
  if (!info || info.confirmations === 0) return undefined;
  return (await rpc.getBlockCount()) - info.confirmations + 1;
}

/** Mines until `txid` confirms (each block full of fillers, both nodes reacting); its height. */
async function mineUntilConfirmed(net: Network, txid: () => Promise<string | undefined>) {
  for (let n = 0; n < 30; n++) {
    for (const d of [net.maker, net.taker]) {
      await until('the tip handled', () => d.bumper.height === net.chain.height);
    }
    const id = await txid();
    const h = id === undefined ? undefined : await heightOf(net.taker.rpc!, id);
    if (h !== undefined && id !== undefined) return { txid: id, height: h };
    await net.chain.mine(1);
  }
  const json = (v: unknown) =>
    JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? String(x) : x)).slice(0, 3000);
  throw new Error(
    `not confirmed within 30 blocks: ${json(net.taker.bumper.pending())} ${json(net.taker.health.snapshot())}`,
  );
}

function print(name: string, value: number | string, unit: string): void {
  console.log(`${name} ${value} ${unit}`);
}

/** The market turns: min relay 20, blocks full at 50, and both nodes have seen it. */
async function spike(net: Network): Promise<void> {
  net.chain.setMinRelayFeeRate(MIN_RELAY);
  await net.chain.setFeeSpike({ rate: SPIKE });
  await net.chain.mine(3);
  for (const d of [net.maker, net.taker]) {
    await until('the spike estimated', () => (d.fees.current()?.rate ?? 0n) >= BigInt(SPIKE));
  }
}

/** A network of its own (chain, feed, oracle, maker, taker) for one measurement. */
async function withNetwork(
  extra: Record<string, string>,
  run: (net: Network) => Promise<void>,
): Promise<void> {
  const cleanups: (() => Promise<unknown>)[] = [];
  try {
    await run(await startNetwork(cleanups, extra, {}, { blockMaxWeight: 40_000 }));
  } finally {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  }
}

export async function fees(): Promise<void> {
  // Punish: the maker keeps its setup commit; after a rollover revoked it, during the spike, a
  // miner mines it directly at 1 sat/vB.
  await withNetwork({ 'rollover-interval': '10' }, async (net) => {
    const rpc = net.taker.rpc!;
    const cheated = await openCfd(net);
    const stale = signedCommit((await net.maker.contracts.get(cheated))!);
    await until(
      'the setup commit revoked',
      async () => (await cfd(net.taker, cheated))?.revokedCommitTxids.includes(stale.getId()),
      120_000,
    );
    await spike(net);
    await net.chain.mineTransactions([stale.toHex()]);
    // Counted from the tip the punish went out at (blocks come every 10 minutes, not at once).
    await until('punish out', async () => (await cfd(net.taker, cheated))?.punishTx);
    const minedAt = net.chain.height;
    const punish = await mineUntilConfirmed(
      net,
      async () => (await cfd(net.taker, cheated))?.punishTx?.txid,
    );
    const punishTx = Transaction.fromHex((await rpc.getRawTransaction(punish.txid))!);
    const p = await feeAndSize(rpc, punishTx);
    const pMin = await blockMinimum(rpc, punish.height, new Set([punish.txid]));
    print('fees.blocks_to_confirm_punish_under_spike', punish.height - minedAt, 'blocks');
    print(
      '# punish paid',
      `${(Number(p.fee) / p.vsize).toFixed(1)} sat/vB (${p.fee} sats) vs the block's minimum ${pMin.toFixed(1)}: overpaid`,
      `${(Number(p.fee) / p.vsize - pMin).toFixed(1)} sat/vB`,
    );
  });

  // Force close set up at 1 sat/vB before the spike: commit, then the CET once the oracle
  // attested and the CET lock is over.
  await withNetwork({}, async (net) => {
    const rpc = net.taker.rpc!;
    const forced = await openCfd(net);
    await spike(net);
    const record = (await net.taker.contracts.get(forced))!;
    const commit = signedCommit(record);
    await net.taker.cfds.execute(forced, {
      type: 'commit',
      commitTx: { txid: commit.getId(), hex: commit.toHex() },
    });
    const committed = await mineUntilConfirmed(net, async () => commit.getId());
    net.feed.setPrice(parsePrice('55000'));
    await net.chain.mine(11);
    // The CET goes out once the oracle attested (its event is a settlement interval after
    // setup); counted from the tip it went out at, or from the first block it is valid in.
    await until('attestation and CET', async () => (await cfd(net.taker, forced))?.cet, 90_000);
    const validFrom = Math.max(committed.height + 12, net.chain.height + 1);
    const cet = await mineUntilConfirmed(
      net,
      async () => (await cfd(net.taker, forced))?.cet?.txid,
    );
    const bump = net.taker.bumper.status(forced).find((b) => b.kind === 'cet');
    const ours = new Set([cet.txid, ...(bump?.childTxid ? [bump.childTxid] : [])]);
    let pkg = await feeAndSize(rpc, Transaction.fromHex((await rpc.getRawTransaction(cet.txid))!));
    if (bump?.childTxid) {
      const childHex = (await rpc.getRawTransaction(bump.childTxid))!;
      const child = await feeAndSize(rpc, Transaction.fromHex(childHex));
      pkg = { fee: pkg.fee + child.fee, vsize: pkg.vsize + child.vsize };
    }
    const cMin = await blockMinimum(rpc, cet.height, ours);
    print('fees.blocks_to_confirm_cet_under_spike', cet.height - validFrom + 1, 'blocks');
    print(
      '# CET package paid',
      `${(Number(pkg.fee) / pkg.vsize).toFixed(1)} sat/vB (${pkg.fee} sats, with its child) vs the block's minimum ${cMin.toFixed(1)}: overpaid`,
      `${(Number(pkg.fee) / pkg.vsize - cMin).toFixed(1)} sat/vB`,
    );
  });
}
