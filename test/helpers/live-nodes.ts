/**
 * Real parts for specs and benchmarks that run whole nodes in one process: the embedded regtest
 * chain with its RPC, a local price feed and oracle, offers on the oracle's grid, and a node's
 * libp2p host, event log and wallet on disk. One place, so the live specs (order, rollover, the
 * adversaries) and the setup and maker benchmarks build them the same way.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { AdaptorWorkerPool } from '../../dlc/index.ts';
import { CfdRepository } from '../../eventstore/cfd-repository.ts';
import { LevelContractStore } from '../../eventstore/contract-store.ts';
import { EventStore } from '../../eventstore/event-store.ts';
import type { Offer } from '../../model/offer.ts';
import { parsePrice, price } from '../../model/units.ts';
import { broadcast } from '../../node/chain/broadcast.ts';
import { EmbeddedChain } from '../../node/chain/embedded.ts';
import { BitcoinRpc } from '../../node/chain/rpc.ts';
import { orderWallet } from '../../node/daemon/protocol-ports.ts';
import { OracleClient } from '../../node/oracle/client.ts';
import { OracleServer } from '../../node/oracle/server.ts';
import { loadOrCreateIdentity } from '../../node/p2p/identity.ts';
import { createP2pNode, type P2pNode } from '../../node/p2p/node.ts';
import { PriceFeedServer, type PriceFeedServerOptions } from '../../node/pricefeed/server.ts';
import { Wallet } from '../../node/wallet/wallet.ts';
import {
  type OrderOutcome,
  OrderProtocol,
  type OrderProtocolInit,
} from '../../protocols/order/index.ts';
import {
  RolloverProtocol,
  type RolloverProtocolInit,
  type RolloverResultEvent,
} from '../../protocols/rollover/index.ts';
import { silent } from '../node/chain/helpers.ts';
import { tempDir } from './cfd-fixtures.ts';
import { Cleanups } from './cleanups.ts';
import { gridOffer } from './offers.ts';
import { until } from './wait.ts';

export { gridOffer };

/** A price feed on a free port at 50,000 that does not move unless `over` says so. */
export function quietFeed(over: PriceFeedServerOptions = {}): Promise<PriceFeedServer> {
  return PriceFeedServer.start({ port: 0, startPrice: parsePrice('50000'), tickMs: 0, ...over });
}

/** The embedded chain, its RPC, a price feed from 54,000 and an oracle reading it. */
export interface LiveWorld {
  chain: EmbeddedChain;
  rpc: BitcoinRpc;
  feed: PriceFeedServer;
  oracle: OracleServer;
}

export async function startWorld(
  dir: string,
  opts: { logger: Logger; eventIntervalS: number; lookaheadS: number; tickMs: number },
): Promise<LiveWorld> {
  const chain = await EmbeddedChain.start({ logger: opts.logger });
  const rpc = new BitcoinRpc({ url: chain.rpcUrl, ...chain.rpcAuth });
  const feed = await PriceFeedServer.start({ startPrice: price(54_000), tickMs: opts.tickMs });
  const oracle = await OracleServer.start({
    datadir: join(dir, 'oracle'),
    pricefeedUrl: feed.url,
    eventIntervalS: opts.eventIntervalS,
    lookaheadS: opts.lookaheadS,
  });
  return { chain, rpc, feed, oracle };
}

/** Stops what {@link startWorld} started (and the pool), skipping what never started. */
export async function stopWorld(
  w: Partial<LiveWorld> & { pool?: AdaptorWorkerPool | undefined },
): Promise<void> {
  await w.pool?.close();
  await w.oracle?.stop();
  await w.feed?.stop();
  await w.chain?.stop();
}

/** A live spec's parts for the whole file: {@link startWorld} in a temp dir, and an adaptor pool. */
export interface SpecWorld extends LiveWorld {
  readonly dir: string;
  readonly pool: AdaptorWorkerPool;
  /** What the tests started on the world (nodes, hosts): stopped before it, latest first. */
  readonly cleanups: Cleanups;
}

/**
 * A {@link SpecWorld} for the calling suite, started before all its tests (silent logs, the feed
 * ticking every 200 ms) and stopped after them, its cleanups first.
 */
export function worldFor(opts: {
  eventIntervalS: number;
  lookaheadS: number;
  poolSize?: number;
}): SpecWorld {
  const w = { cleanups: new Cleanups() } as { -readonly [K in keyof SpecWorld]: SpecWorld[K] } & {
    removeDir?: () => Promise<void>;
  };
  before(async function () {
    this.timeout(60_000);
    const dir = await tempDir();
    w.dir = dir.path;
    w.removeDir = dir.cleanup;
    Object.assign(w, await startWorld(dir.path, { logger: silent, tickMs: 200, ...opts }));
    w.pool = new AdaptorWorkerPool(opts.poolSize ? { size: opts.poolSize } : undefined);
  });
  after(async () => {
    await w.cleanups.run();
    await stopWorld(w);
    await w.removeDir?.();
  });
  return w;
}

/**
 * A maker and a taker opened by `open` (in that order), connected ({@link connectPair}); both
 * stopped with the world.
 */
export async function openPair<S extends LiveNode & { orders: OrderProtocol }>(
  w: SpecWorld,
  open: (role: 'maker' | 'taker') => Promise<S>,
): Promise<{ maker: S; taker: S }> {
  const opened: S[] = [];
  w.cleanups.add(() => stopNodes(opened.reverse()));
  const openStopped = async (role: 'maker' | 'taker') => {
    const s = await open(role);
    opened.push(s);
    return s;
  };
  const maker = await openStopped('maker');
  const taker = await openStopped('taker');
  await connectPair(w.chain, maker, taker);
  return { maker, taker };
}

/** A node's host, event log and wallet under `base`; a maker listens on loopback. */
export interface LiveNode {
  node: P2pNode;
  store: EventStore;
  wallet: Wallet;
}

export async function openNode(
  base: string,
  role: 'maker' | 'taker',
  rpc: BitcoinRpc,
  logger?: Logger,
): Promise<LiveNode> {
  const node = await createP2pNode({
    privateKey: await loadOrCreateIdentity(join(base, 'p2p')),
    listen: role === 'maker' ? ['/ip4/127.0.0.1/tcp/0'] : [],
  });
  const store = await EventStore.open(join(base, 'events'));
  const wallet = await Wallet.open({
    datadir: join(base, 'wallet'),
    network: 'regtest',
    chain: rpc,
    ...(logger && { logger }),
  });
  return { node, store, wallet };
}

/** Collects the protocol's outcomes and starts it. */
export async function startOrders(orders: OrderProtocol): Promise<OrderOutcome[]> {
  const outcomes: OrderOutcome[] = [];
  orders.onOutcome((o) => outcomes.push(o));
  await orders.start();
  return outcomes;
}

/** Stops the sides' protocols, hosts, wallets and logs, in that order, skipping unset sides. */
export async function stopNodes(
  sides: Iterable<
    (LiveNode & { orders: OrderProtocol; rollovers?: { stop(): Promise<void> } }) | undefined
  >,
): Promise<void> {
  for (const s of sides) {
    if (!s) continue;
    await s.rollovers?.stop();
    await s.orders.stop();
    await s.node.stop();
    await s.wallet.close();
    await s.store.close();
  }
}

/** A node running the order protocol on real parts, with what the specs read back. */
export interface OrderNode extends LiveNode {
  client: OracleClient;
  repository: CfdRepository;
  contracts: LevelContractStore;
  orders: OrderProtocol;
  outcomes: OrderOutcome[];
}

/**
 * {@link openNode}, its wallet funded with `coins` (unconfirmed: mine and sync after), and the
 * order protocol started on it with the world's chain and oracle, the shared pool, the node's
 * log and contract records, the given offers and policy and short timeouts.
 */
export async function openOrderNode(
  base: string,
  role: 'maker' | 'taker',
  world: Pick<LiveWorld, 'chain' | 'rpc' | 'oracle'>,
  pool: AdaptorWorkerPool,
  opts: Pick<OrderProtocolInit, 'offers' | 'policy'> & { coins: bigint[]; logger: Logger },
): Promise<OrderNode> {
  const { node, store, wallet } = await openNode(base, role, world.rpc, opts.logger);
  for (const c of opts.coins) await world.chain.fund(await wallet.receiveAddress(), c);
  const client = new OracleClient({ url: world.oracle.url, publicKey: world.oracle.publicKey });
  const repository = new CfdRepository(store);
  const contracts = new LevelContractStore(store);
  const orders = new OrderProtocol(node, {
    role,
    repository,
    contracts,
    wallet: orderWallet(wallet),
    oracle: client,
    chain: world.rpc,
    pool,
    offers: opts.offers,
    policy: opts.policy,
    logger: opts.logger,
    timeouts: { setupMessageMs: 5_000, decisionMs: 5_000, orderMs: 2_000 },
  });
  const outcomes = await startOrders(orders);
  return { node, store, wallet, client, repository, contracts, orders, outcomes };
}

/** Confirms the funding coins (one block), syncs both wallets, and the taker dials the maker. */
export async function connectPair(
  chain: EmbeddedChain,
  maker: Pick<LiveNode, 'node' | 'wallet'>,
  taker: Pick<LiveNode, 'node' | 'wallet'>,
): Promise<void> {
  await chain.mine(1);
  await Promise.all([maker.wallet.sync(), taker.wallet.sync()]);
  await taker.node.dial(maker.node.getMultiaddrs()[0]!);
}

/**
 * An open contract: the taker orders 3,500 contracts at 5× on `offer`, both set it up, the lock
 * is broadcast and mined, the reservations released, both wallets synced and the lock confirmed
 * in both logs. `wait` is how long (and how often) to poll for the maker's outcome.
 */
export async function openContract(
  world: Pick<LiveWorld, 'chain' | 'rpc'>,
  maker: OrderNode,
  taker: OrderNode,
  offer: Offer,
  wait: { ms?: number; everyMs?: number } = {},
): Promise<string> {
  const { orderId, outcome } = await taker.orders.placeOrder(maker.node.peerId, offer, {
    quantity: 3_500n,
    leverage: 5,
  });
  assert.equal(outcome.type, 'completed');
  if (outcome.type !== 'completed') throw new Error('setup failed');
  const m = await until(
    'the order at the maker',
    () => maker.outcomes.find((o) => o.orderId === orderId),
    wait.ms,
    wait.everyMs,
  );
  await broadcast(world.rpc, outcome.lockTx.toHex());
  await world.chain.mine(1);
  taker.wallet.release(outcome.reservationId);
  if (m.outcome.type === 'completed') maker.wallet.release(m.outcome.reservationId);
  await Promise.all([taker.wallet.sync(), maker.wallet.sync()]);
  for (const s of [taker, maker]) await s.repository.execute(orderId, { type: 'confirmLock' });
  return orderId;
}

/** An {@link OrderNode} that also runs the rollover protocol, with its outcomes. */
export interface RolloverNode extends OrderNode {
  rollovers: RolloverProtocol;
  rolls: RolloverResultEvent[];
}

/**
 * {@link openOrderNode} with four coins of 0.2 BTC, accepting every order, and the rollover
 * protocol started beside it with the given policy, config and clock and short timeouts.
 */
export async function openRolloverNode(
  base: string,
  role: 'maker' | 'taker',
  world: Pick<LiveWorld, 'chain' | 'rpc' | 'oracle'>,
  pool: AdaptorWorkerPool,
  opts: Pick<OrderProtocolInit, 'offers'> &
    Pick<RolloverProtocolInit, 'policy' | 'config' | 'clock'> & { logger: Logger },
): Promise<RolloverNode> {
  const side = await openOrderNode(base, role, world, pool, {
    coins: [20_000_000n, 20_000_000n, 20_000_000n, 20_000_000n],
    offers: opts.offers,
    policy: () => ({ accept: true }),
    logger: opts.logger,
  });
  const rollovers = new RolloverProtocol(side.node, {
    role,
    repository: side.repository,
    contracts: side.contracts,
    oracle: side.client,
    pool,
    policy: opts.policy,
    config: opts.config,
    clock: opts.clock,
    logger: opts.logger,
    timeouts: { messageMs: 5_000, decisionMs: 5_000, proposeMs: 2_000, revocationMs: 5_000 },
  });
  const rolls: RolloverResultEvent[] = [];
  rollovers.onOutcome((o) => rolls.push(o));
  await rollovers.start();
  return { ...side, rollovers, rolls };
}
