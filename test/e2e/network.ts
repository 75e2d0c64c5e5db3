// Shared by the end-to-end suites: a whole network in one process (embedded chain, price feed,
// oracle, a maker and a taker daemon over real libp2p on loopback) with compressed time, and the
// steps most tests repeat.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { peerIdFromString } from '@libp2p/peer-id';
import { Transaction } from 'bitcoinjs-lib';
import { payoutCurve, rowAtPrice, toRolePayouts } from '../../dlc/payout-curve.ts';
import { type Cfd, uiState } from '../../model/cfd.ts';
import { parsePrice } from '../../model/units.ts';
import { EmbeddedChain, type EmbeddedChainOptions } from '../../node/chain/embedded.ts';
import { loadConfig } from '../../node/daemon/config.ts';
import { Daemon, type DaemonOptions } from '../../node/daemon/daemon.ts';
import { OracleServer } from '../../node/oracle/server.ts';
import { PriceFeedServer } from '../../node/pricefeed/server.ts';
import type { CollabSettlementTaker } from '../../protocols/collab-settlement/index.ts';
import { partFlags } from '../../research/run/network.ts';
import { tempDir } from '../helpers/cfd-fixtures.ts';
import { untilWithin } from '../helpers/wait.ts';
import { silent } from '../node/chain/helpers.ts';
/** Compressed time: a 20-second settlement interval on a 5-second oracle event grid. */
export const SETTLEMENT_SECS = 20;
export const EVENT_SECS = 5;

/** {@link untilWithin | until} for a whole network: 60 s by default, polled every 50 ms. */
export const until = untilWithin(60_000, 50);

/** A cleanup list run (in reverse) after the enclosing describe's tests. */
export function useCleanups(): (() => Promise<unknown>)[] {
  const cleanups: (() => Promise<unknown>)[] = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  });
  return cleanups;
}

/** Waits until `d`'s node has `txid` in its mempool, then mines it into a block. */
export async function confirmAfterMempool(
  chain: EmbeddedChain,
  d: Daemon,
  txid: string,
): Promise<void> {
  await until(`${txid} in mempool`, async () => (await d.rpc!.getMempoolEntry(txid)) ?? undefined);
  await chain.mine(1);
}

/** Proposes a collaborative close, again a few times if a rollover is under way meanwhile. */
export async function settleRetrying(taker: Daemon, id: string) {
  const settle = () =>
    (taker.settlements as CollabSettlementTaker)
      .settle(id)
      .catch((e: unknown) => ({ status: 'failed' as const, reason: String(e) }));
  let outcome = await settle();
  for (let i = 0; i < 5 && outcome.status !== 'completed'; i++) {
    await sleep(1_000);
    outcome = await settle();
  }
  return outcome;
}

/**
 * The taker closes `id` collaboratively (retrying while a rollover is under way), the close is
 * mined, and both sides see it settled; returns the taker's CFD as it closed.
 */
export async function closeCollaboratively(
  net: Pick<Network, 'chain' | 'maker'>,
  taker: Daemon,
  id: string,
): Promise<Cfd> {
  const outcome = await settleRetrying(taker, id);
  assert.equal(outcome.status, 'completed', 'reason' in outcome ? String(outcome.reason) : '');
  const closing = (await cfd(taker, id))!;
  await confirmAfterMempool(net.chain, taker, closing.closeTx!.txid);
  for (const d of [net.maker, taker]) {
    await until('closed', async () => (await cfd(d, id))?.settled === 'collaborative');
  }
  return closing;
}

export interface Network {
  oracle: OracleServer;
  chain: EmbeddedChain;
  feed: PriceFeedServer;
  maker: Daemon;
  taker: Daemon;
}

/** Chain, feed, oracle, a maker (auto-accept) and a taker, both funded. */
export async function startNetwork(
  cleanups: (() => Promise<unknown>)[],
  extra: Record<string, string> = {},
  /** Options of the maker's daemon only (e.g. shorter protocol timeouts). */
  makerOptions: Omit<DaemonOptions, 'logger'> = {},
  /** Options of the embedded chain (e.g. its fee market). */
  chainOptions: Omit<EmbeddedChainOptions, 'logger'> = {},
  /** More makers (auto-accept, funded), each with these flags over the common ones (e.g. `spread`). */
  moreMakers: readonly Record<string, string>[] = [],
): Promise<
  Network & { /** Every maker, `maker` first; the taker dials all of them. */ makers: Daemon[] }
> {
  let chain: EmbeddedChain;
  let feed: PriceFeedServer;
  let maker: Daemon;
  let taker: Daemon;
  chain = await EmbeddedChain.start({ logger: silent, ...chainOptions });
  cleanups.push(() => chain.stop());
  feed = await PriceFeedServer.start({ port: 0, startPrice: parsePrice('50000'), tickMs: 0 });
  cleanups.push(() => feed.stop());
  const oracleDir = await tempDir();
  cleanups.push(oracleDir.cleanup);
  // The oracle's grid is the daemons' `oracle-event-interval`, whatever they are given.
  const eventSecs = Number(extra['oracle-event-interval'] ?? EVENT_SECS);
  const oracle = await OracleServer.start({
    datadir: oracleDir.path,
    pricefeedUrl: feed.url,
    eventIntervalS: eventSecs,
    // Announced a settlement interval ahead, whatever interval the daemons are given.
    lookaheadS: Number(extra['settlement-interval'] ?? SETTLEMENT_SECS) + 4 * eventSecs,
    logger: silent,
  });
  cleanups.push(() => oracle.stop());
  const common = (dir: string): Record<string, string | string[]> => ({
    ...partFlags({ chain, oracle, feed }, dir),
    'settlement-interval': String(SETTLEMENT_SECS),
    'oracle-event-interval': String(EVENT_SECS),
    'chain-poll-ms': '100',
    ...extra,
  });
  const makerDir = await tempDir();
  const takerDir = await tempDir();
  cleanups.push(makerDir.cleanup, takerDir.cleanup);
  maker = await Daemon.start(
    await loadConfig({
      role: 'maker',
      flags: { 'auto-accept': true, ...common(makerDir.path), listen: ['/ip4/127.0.0.1/tcp/0'] },
    }),
    { logger: silent, ...makerOptions },
  );
  cleanups.push(() => maker.stop());
  const makers = [maker];
  for (const flags of moreMakers) {
    const dir = await tempDir();
    cleanups.push(dir.cleanup);
    const more = await Daemon.start(
      await loadConfig({
        role: 'maker',
        flags: {
          'auto-accept': true,
          ...common(dir.path),
          listen: ['/ip4/127.0.0.1/tcp/0'],
          ...flags,
        },
      }),
      { logger: silent },
    );
    cleanups.push(() => more.stop());
    makers.push(more);
  }
  taker = await Daemon.start(
    await loadConfig({
      role: 'taker',
      flags: {
        ...common(takerDir.path),
        maker: makers.map((m) => m.p2p.getMultiaddrs()[0]!.toString()),
      },
    }),
    { logger: silent },
  );
  cleanups.push(() => taker.stop());
  for (const d of [...makers, taker]) {
    const wallet = await until('wallet', () => d.wallet);
    await chain.fund(await wallet.receiveAddress(), 10_000_000n);
  }
  await chain.mine(1);
  for (const d of [...makers, taker]) {
    await until('funds', async () => {
      await d.wallet!.sync();
      return d.wallet!.balance().spendable === 10_000_000n;
    });
  }
  return { oracle, chain, feed, maker, taker, makers };
}

export const cfd = (d: Daemon, id: string): Promise<Cfd | undefined> => d.readModel.get(id);

/** The taker takes the maker's short offer (long 100 contracts at 2×); both reach Open. */
export async function openCfd({ chain, maker, taker }: Network): Promise<string> {
  const now = () => Math.floor(Date.now() / 1000);
  const { offer } = await until('offers', () =>
    taker.offers.book
      .current(now(), { maxOfferAgeSecs: 600 })
      .find((o) => o.offer.makerPosition === 'short'),
  );
  const placed = await taker.orders.placeOrder(peerIdFromString(maker.peerId), offer, {
    quantity: 100n,
    leverage: 2,
  });
  assert.equal(
    placed.outcome.type,
    'completed',
    'reason' in placed.outcome ? placed.outcome.reason : '',
  );
  const id = placed.orderId;
  await until('maker has it', async () => (await cfd(maker, id))?.setup === 'completed');
  const lockTxid = (await cfd(taker, id))!.dlc!.lockTxid;
  await confirmAfterMempool(chain, taker, lockTxid);
  // Open: the lock confirmed on both sides. A rollover may already be under way on a short
  // rollover interval; that is still an open position.
  for (const d of [maker, taker]) {
    await until('open', async () =>
      ['open', 'rollover'].includes(uiState((await cfd(d, id))!)),
    ).catch(async (e: Error) => {
      const states = await Promise.all([maker, taker].map(async (x) => cfd(x, id)));
      throw new Error(`${e.message}; maker ${describe(states[0])}; taker ${describe(states[1])}`);
    });
  }
  return id;
}

/** A CFD's state in a line, for a failed wait's message. */
function describe(c: Cfd | undefined): string {
  if (!c) return 'no such CFD';
  const { lockConfirmed, commitTx, rollover, settled, cetTimelockExpired } = c;
  return `${uiState(c)} ${JSON.stringify({ lockConfirmed, commit: commitTx?.txid, rollover: !!rollover, settled, cetTimelockExpired, reason: (c as { commitReason?: unknown }).commitReason })}`;
}

/** The taker's curve row at `price` for this CFD (fee balance applied). */
export function takerRow(c: Cfd, price: number): bigint {
  const t = c.terms!;
  const curve = payoutCurve({
    initialPrice: t.initialPrice,
    quantity: t.quantity,
    longLeverage: t.takerLeverage,
    shortLeverage: 1,
    feeBalance: c.feeBalance,
  });
  return toRolePayouts([rowAtPrice(curve.rows, price)], 'short')[0]!.taker;
}

/**
 * Output `vout` of a transaction the node knows, read from the transaction itself: unlike
 * `gettxout` it does not depend on the output still being unspent (a wallet may already have
 * spent it in a coin-pool split or a CPFP child).
 */
export async function outputOf(
  d: Daemon,
  txid: string,
  vout: number,
): Promise<{ value: bigint; script: Uint8Array } | null> {
  const hex = await d.rpc!.getRawTransaction(txid);
  const out = hex ? Transaction.fromHex(hex).outs[vout] : undefined;
  return out ? { value: out.value, script: out.script } : null;
}

/** Waits until both sides count `stale` among the CFD's revoked commits (rollovers take time). */
export async function revokedOnBoth(net: Network, id: string, stale: Transaction): Promise<void> {
  await until(
    'the stale commit revoked on both sides',
    async () =>
      (await cfd(net.maker, id))?.revokedCommitTxids.includes(stale.getId()) &&
      (await cfd(net.taker, id))?.revokedCommitTxids.includes(stale.getId()),
    120_000,
  );
}

/**
 * The `cheater` publishes its revoked `stale` commit and a block mines it; resolves with the
 * `honest` side's punish once published.
 */
export async function cheatWithRevoked(
  net: Network,
  id: string,
  stale: Transaction,
  cheater: Daemon,
  honest: Daemon,
): Promise<{ txid: string }> {
  await cheater.rpc!.sendRawTransaction(stale.toHex());
  await net.chain.mine(1);
  return until('punish published', async () => (await cfd(honest, id))?.punishTx);
}
