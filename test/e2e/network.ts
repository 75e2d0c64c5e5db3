// Shared by the end-to-end suites: a whole network in one process (embedded chain, price feed,
// oracle, a maker and a taker daemon over real libp2p on loopback) with compressed time, and the
// steps most tests repeat.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { peerIdFromString } from '@libp2p/peer-id';
import { Transaction } from 'bitcoinjs-lib';
import { signedCommit } from '../../dlc/contract.ts';
import { payoutCurve, rowAtPrice, toRolePayouts } from '../../dlc/payout-curve.ts';
import { type Cfd, uiState } from '../../model/cfd.ts';
import type { Offer } from '../../model/offer.ts';
import { type ContractSymbol, parsePrice } from '../../model/units.ts';
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
 * The feed moves to 52,000; once the taker's quote shows it, the taker proposes closing `id`
 * collaboratively at that quote, which completes. Returns the taker's CFD with its close tx.
 */
export async function settleAtNewQuote(
  net: Pick<Network, 'feed' | 'taker'>,
  id: string,
): Promise<Cfd> {
  const { feed, taker } = net;
  feed.setPrice(parsePrice('52000'));
  await until('fresh quote at the taker', () => {
    const q = taker.feed.latest();
    return q && q.bid > parsePrice('51000') ? q : undefined;
  });
  const outcome = await (taker.settlements as CollabSettlementTaker).settle(id);
  assert.equal(outcome.status, 'completed', 'reason' in outcome ? String(outcome.reason) : '');
  return (await cfd(taker, id))!;
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

/** Chain, feed and oracle: what every node of a network shares. */
interface Parts {
  chain: EmbeddedChain;
  feed: PriceFeedServer;
  oracle: OracleServer;
  /** The flags of a node with data dir `dir` pointing at the parts, with the compressed times. */
  flags(dir: string): Record<string, string | string[]>;
}

async function startParts(
  cleanups: (() => Promise<unknown>)[],
  extra: Record<string, string>,
  chainOptions: Omit<EmbeddedChainOptions, 'logger'>,
): Promise<Parts> {
  const chain = await EmbeddedChain.start({ logger: silent, ...chainOptions });
  cleanups.push(() => chain.stop());
  const feed = await PriceFeedServer.start({ port: 0, startPrice: parsePrice('50000'), tickMs: 0 });
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
  const flags = (dir: string): Record<string, string | string[]> => ({
    ...partFlags({ chain, oracle, feed }, dir),
    'settlement-interval': String(SETTLEMENT_SECS),
    'oracle-event-interval': String(EVENT_SECS),
    'chain-poll-ms': '100',
    ...extra,
  });
  return { chain, feed, oracle, flags };
}

/** A daemon of `role` in a fresh data dir, stopped (and the dir removed) after the tests. */
async function startDaemon(
  cleanups: (() => Promise<unknown>)[],
  parts: Parts,
  role: 'maker' | 'taker',
  flags: Record<string, string | string[] | boolean>,
  options: Omit<DaemonOptions, 'logger'> = {},
): Promise<Daemon> {
  const dir = await tempDir();
  cleanups.push(dir.cleanup);
  // A maker auto-accepts unless the network's flags say otherwise, and listens on loopback.
  const all =
    role === 'maker'
      ? {
          'auto-accept': true,
          ...parts.flags(dir.path),
          listen: ['/ip4/127.0.0.1/tcp/0'],
          ...flags,
        }
      : { ...parts.flags(dir.path), ...flags };
  const daemon = await Daemon.start(await loadConfig({ role, flags: all }), {
    logger: silent,
    ...options,
  });
  cleanups.push(() => daemon.stop());
  return daemon;
}

/** Funds every daemon with 10,000,000 sats in one block and waits until each sees it. */
async function fund(chain: EmbeddedChain, daemons: readonly Daemon[]): Promise<void> {
  for (const d of daemons) {
    const wallet = await until('wallet', () => d.wallet);
    await chain.fund(await wallet.receiveAddress(), 10_000_000n);
  }
  await chain.mine(1);
  for (const d of daemons) {
    await until('funds', async () => {
      await d.wallet!.sync();
      return d.wallet!.balance().spendable === 10_000_000n;
    });
  }
}

/** A maker's dialable address (with its /p2p/ peer id). */
export const addressOf = (d: Daemon): string => d.p2p.getMultiaddrs()[0]!.toString();

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
  const parts = await startParts(cleanups, extra, chainOptions);
  const maker = await startDaemon(cleanups, parts, 'maker', {}, makerOptions);
  const makers = [maker];
  for (const flags of moreMakers) makers.push(await startDaemon(cleanups, parts, 'maker', flags));
  const taker = await startDaemon(cleanups, parts, 'taker', { maker: makers.map(addressOf) });
  await fund(parts.chain, [...makers, taker]);
  const { oracle, chain, feed } = parts;
  return { oracle, chain, feed, maker, taker, makers };
}

export interface Market {
  oracle: OracleServer;
  chain: EmbeddedChain;
  feed: PriceFeedServer;
  /** Maker 1 is the bootstrap node; each maker quotes its own spread. */
  makers: Daemon[];
  takers: Daemon[];
}

/**
 * A market: one maker per entry of `spreads` (bps), maker 1 the bootstrap node the others and
 * every taker join through — no taker is told of any other maker — and `takers` takers; all
 * funded.
 */
export async function startMarket(
  cleanups: (() => Promise<unknown>)[],
  options: { spreads: readonly number[]; takers: number; extra?: Record<string, string> },
): Promise<Market> {
  const parts = await startParts(cleanups, options.extra ?? {}, {});
  const makers: Daemon[] = [];
  for (const spread of options.spreads) {
    const bootstrap: Record<string, string[]> = makers[0]
      ? { bootstrap: [addressOf(makers[0])] }
      : {};
    makers.push(
      await startDaemon(cleanups, parts, 'maker', { spread: String(spread), ...bootstrap }),
    );
  }
  const takers: Daemon[] = [];
  for (let i = 0; i < options.takers; i++)
    takers.push(
      await startDaemon(cleanups, parts, 'taker', { bootstrap: [addressOf(makers[0]!)] }),
    );
  await fund(parts.chain, [...makers, ...takers]);
  const { oracle, chain, feed } = parts;
  return { oracle, chain, feed, makers, takers };
}

export const cfd = (d: Daemon, id: string): Promise<Cfd | undefined> => d.readModel.get(id);

/**
 * The taker takes the maker's short offer of `symbol` (BTCUSD unless given: long 100 contracts
 * at 2×; or `quantity`); both reach Open. `offer` names the offer to take when the book holds
 * several makers' (default: the first short one of `symbol`).
 */
export async function openCfd(
  { chain, maker, taker }: Pick<Network, 'chain' | 'maker' | 'taker'> & Partial<Network>,
  opts: Offer | { symbol?: ContractSymbol; quantity?: bigint; offer?: Offer } = {},
): Promise<string> {
  const o: { symbol?: ContractSymbol; quantity?: bigint; offer?: Offer } =
    'id' in opts ? { offer: opts } : opts;
  const symbol = o.symbol ?? 'BTCUSD';
  const quantity = o.quantity ?? 100n;
  const now = () => Math.floor(Date.now() / 1000);
  const offer =
    o.offer ??
    (
      await until('offers', () =>
        taker.offers.book
          .current(now(), { maxOfferAgeSecs: 600 })
          .find((x) => x.offer.symbol === symbol && x.offer.makerPosition === 'short'),
      )
    ).offer;
  const placed = await taker.orders.placeOrder(peerIdFromString(maker.peerId), offer, {
    quantity,
    leverage: 2,
  });
  assert.equal(
    placed.outcome.type,
    'completed',
    'reason' in placed.outcome ? placed.outcome.reason : '',
  );
  return awaitOpen({ chain, maker, taker }, placed.orderId);
}

/** Both sides set `id` up, its lock confirms, and both reach Open. */
export async function awaitOpen(
  { chain, maker, taker }: Pick<Network, 'chain' | 'maker' | 'taker'>,
  id: string,
): Promise<string> {
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

/**
 * Force close: the taker publishes its signed commit of `id` (as `POST /api/cfds/:id/commit`
 * does), a block mines it and both sides see it confirmed. Returns the commit.
 */
export async function forceCommit(
  net: Pick<Network, 'chain' | 'maker' | 'taker'>,
  id: string,
): Promise<Transaction> {
  const commit = signedCommit((await net.taker.contracts.get(id))!);
  await net.taker.cfds.execute(id, {
    type: 'commit',
    commitTx: { txid: commit.getId(), hex: commit.toHex() },
  });
  await confirmAfterMempool(net.chain, net.taker, commit.getId());
  for (const d of [net.maker, net.taker]) {
    await until('committed', async () => (await cfd(d, id))?.commitConfirmed);
  }
  return commit;
}

/**
 * The published commit `commitTxid` of `id` confirms, the CET lock passes, the taker's CET (of
 * an attestation it holds) confirms and both sides see the CFD settled by it; returns the CET.
 */
export async function settleThroughCet(
  net: Pick<Network, 'chain' | 'maker' | 'taker'>,
  id: string,
  commitTxid: string,
): Promise<{ txid: string }> {
  await confirmAfterMempool(net.chain, net.taker, commitTxid);
  await until('committed', async () => (await cfd(net.taker, id))?.commitConfirmed);
  await net.chain.mine(12);
  const cet = await until('CET out', async () => {
    const c = await cfd(net.taker, id);
    return c?.cet && c.cetTimelockExpired ? c.cet : undefined;
  });
  await confirmAfterMempool(net.chain, net.taker, cet.txid);
  for (const d of [net.maker, net.taker]) {
    await until('closed', async () => (await cfd(d, id))?.settled === 'cet');
  }
  return cet;
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
    symbol: t.symbol,
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
