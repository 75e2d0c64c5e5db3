/**
 * Many nodes on one machine (issue #16, "Scale"): the shared services (embedded chain, price feed,
 * oracle), makers, and groups of taker daemons that share one process, one adaptor worker pool
 * (`DaemonOptions.pool`) and one caching reader of the chain (`DaemonOptions.chain`,
 * {@link sharedChain}) while each keeps its own keys, datadir, stores, wallet and libp2p host.
 * Used by the scale benchmark (scripts/bench/scale.ts, its child hosts research/scale/host.ts)
 * and its spec.
 *
 * Time is compressed by a scale factor as `npm run testnet` does: at ×60 the day-long settlement
 * interval lasts 24 minutes, rollovers and oracle events come every minute and blocks every 10 s.
 */
import { join } from 'node:path';
import { peerIdFromString } from '@libp2p/peer-id';
import { type Logger, pino } from 'pino';
import type { AdaptorWorkerPool } from '../../dlc/workers.ts';
import { uiState } from '../../model/cfd.ts';
import { DEFAULT_MAX_SLIPPAGE_BPS } from '../../model/offer.ts';
import { oracleEventTime } from '../../model/oracle-event.ts';
import { parsePrice } from '../../model/units.ts';
import { CachingBitcoinRpc } from '../../node/chain/caching-rpc.ts';
import { EmbeddedChain } from '../../node/chain/embedded.ts';
import type { BitcoinRpc } from '../../node/chain/rpc.ts';
import { loadConfig } from '../../node/daemon/config.ts';
import { Daemon } from '../../node/daemon/daemon.ts';
import { OracleServer } from '../../node/oracle/server.ts';
import { PriceFeedServer } from '../../node/pricefeed/server.ts';
import { rolloverDueSecs } from '../../protocols/rollover/index.ts';
import { until } from '../../test/helpers/wait.ts';

export const silentLogger: Logger = pino({ level: 'silent' });

/**
 * The nodes' logger: silent, or at `SCALE_LOG_LEVEL` (e.g. `warn`: slow stop steps, failed
 * protocol runs) on stderr, each line naming its node by datadir.
 */
function nodeLogger(datadir: string): Logger {
  const level = process.env.SCALE_LOG_LEVEL;
  if (!level) return silentLogger;
  return pino({ level, base: { node: datadir.split('/').at(-1) } }, pino.destination(2));
}

/** The time constants of a run, in (compressed) seconds. */
export interface ScaleTime {
  readonly settlementSecs: number;
  readonly rolloverSecs: number;
  readonly eventSecs: number;
  readonly blockSecs: number;
}

/** Production time divided by `scale` (as scripts/testnet.ts), with the same floors. */
export function scaledTime(scale: number): ScaleTime {
  return {
    settlementSecs: Math.max(60, Math.round(86_400 / scale)),
    rolloverSecs: Math.max(10, Math.round(3_600 / scale)),
    eventSecs: Math.max(10, Math.round(3_600 / scale)),
    blockSecs: Math.max(1, Math.round(600 / scale)),
  };
}

/** Where the chain answers: serialisable, so a child process can take it. */
export interface ChainAddress {
  readonly chainRpc: string;
  readonly chainUser: string;
  readonly chainPassword: string;
}

/** Where the oracle and the price feed answer. */
export interface OracleAddresses {
  readonly oracleUrl: string;
  readonly oraclePublicKey: string;
  readonly oracleAnnouncementKey: string;
  readonly feedUrl: string;
}

/** What every node is pointed at: serialisable, so a child host process can take it. */
export type ServiceAddresses = ChainAddress & OracleAddresses;

/** The embedded chain, mining a block every `blockSecs`. */
export async function startChain(time: ScaleTime): Promise<{
  chain: EmbeddedChain;
  address: ChainAddress;
}> {
  const chain = await EmbeddedChain.start({
    logger: silentLogger,
    blockIntervalSeconds: time.blockSecs,
  });
  return {
    chain,
    address: {
      chainRpc: chain.rpcUrl,
      chainUser: chain.rpcAuth.user,
      chainPassword: chain.rpcAuth.password,
    },
  };
}

/**
 * A price feed at 50,000 moving every second, and an oracle on the run's event grid announcing a
 * settlement interval ahead.
 */
export async function startOracle(
  dir: string,
  time: ScaleTime,
): Promise<{ feed: PriceFeedServer; oracle: OracleServer; addresses: OracleAddresses }> {
  const feed = await PriceFeedServer.start({ startPrice: parsePrice('50000'), tickMs: 1_000 });
  const oracle = await OracleServer.start({
    datadir: join(dir, 'oracle'),
    pricefeedUrl: feed.url,
    eventIntervalS: time.eventSecs,
    lookaheadS: time.settlementSecs + 4 * time.eventSecs,
    logger: silentLogger,
  });
  return {
    feed,
    oracle,
    addresses: {
      oracleUrl: oracle.url,
      oraclePublicKey: oracle.publicKey,
      oracleAnnouncementKey: oracle.announcementPublicKey,
      feedUrl: feed.url,
    },
  };
}

export interface Services {
  readonly chain: EmbeddedChain;
  readonly feed: PriceFeedServer;
  readonly oracle: OracleServer;
  readonly addresses: ServiceAddresses;
  stop(): Promise<void>;
}

/** {@link startChain} and {@link startOracle} in this process (the CI spec). */
export async function startServices(dir: string, time: ScaleTime): Promise<Services> {
  const { chain, address } = await startChain(time);
  const { feed, oracle, addresses } = await startOracle(dir, time);
  return {
    chain,
    feed,
    oracle,
    addresses: { ...address, ...addresses },
    async stop() {
      await oracle.stop();
      await feed.stop();
      await chain.stop();
    },
  };
}

/**
 * One reader of the chain for the nodes of a process ({@link startNode}'s `chain`): tip, block
 * hashes and mempool cached for a second and shared, blocks fetched once (node/chain/caching-rpc.ts).
 */
export function sharedChain(services: ChainAddress): CachingBitcoinRpc {
  return new CachingBitcoinRpc({
    url: services.chainRpc,
    user: services.chainUser,
    password: services.chainPassword,
    logger: silentLogger,
  });
}

/** One node to start: its role, datadir and (a taker) the maker it trades with. */
export interface NodeSpec {
  readonly role: 'maker' | 'taker';
  readonly datadir: string;
  /** Taker: the maker's listen address. */
  readonly maker?: string;
}

/** What the nodes of one process share (each left out: the node makes its own). */
export interface Shared {
  /** The adaptor workers (`DaemonOptions.pool`). */
  readonly pool?: AdaptorWorkerPool;
  /** The chain reader (`DaemonOptions.chain`), e.g. {@link sharedChain}. */
  readonly chain?: BitcoinRpc;
}

/**
 * Starts a daemon on the services with the run's time, sharing `shared` with the other nodes of
 * this process. The chain is polled five times per block (not every 5 s: a block comes every
 * `blockSecs`).
 */
export async function startNode(
  spec: NodeSpec,
  services: ServiceAddresses,
  time: ScaleTime,
  shared: Shared = {},
): Promise<Daemon> {
  const flags: Record<string, string | string[] | boolean> = {
    datadir: spec.datadir,
    network: 'regtest',
    'chain-rpc': services.chainRpc,
    'chain-user': services.chainUser,
    'chain-password': services.chainPassword,
    oracle: services.oracleUrl,
    'oracle-public-key': services.oraclePublicKey,
    'oracle-announcement-key': services.oracleAnnouncementKey,
    pricefeed: services.feedUrl,
    'settlement-interval': String(time.settlementSecs),
    'rollover-interval': String(time.rolloverSecs),
    'oracle-event-interval': String(time.eventSecs),
    // A fifth of a block: a block every 10 s (×60) is seen within 2 s, without 100 takers
    // polling the chain every second.
    'chain-poll-ms': String(Math.max(1_000, (time.blockSecs * 1_000) / 5)),
    ...(spec.role === 'maker'
      ? {
          'auto-accept': true,
          listen: ['/ip4/127.0.0.1/tcp/0'],
          // Coins sized for the small CFDs of a run (not the largest offer, 0.2 BTC each): a
          // maker funds 40 setups per block instead of the ~5 its funding would split into.
          'coin-pool-count': '40',
          'coin-pool-value': '400000',
          // Every taker of a run connects from 127.0.0.1, at once: the per-host rate and pending
          // handshake limits (5 a second, 10; against one host minting peer ids) would refuse
          // most of them, which only many hosts' takers avoid in production.
          'max-connections-per-host-per-second': '1000',
          'max-pending-connections': '200',
        }
      : { maker: [spec.maker!] }),
  };
  return Daemon.start(await loadConfig({ role: spec.role, flags }), {
    logger: nodeLogger(spec.datadir),
    ...(shared.pool && { pool: shared.pool }),
    ...(shared.chain && { chain: shared.chain }),
  });
}

/** The node's wallet once the chain answered, and a fresh receive address of it. */
export async function receiveAddress(d: Daemon): Promise<string> {
  const wallet = await until('the wallet', () => d.wallet, 60_000);
  return wallet.receiveAddress();
}

/** Resolves once the node's wallet can spend at least `sats` (confirmed on the chain's blocks). */
export async function spendable(d: Daemon, sats: bigint, waitMs: number): Promise<void> {
  await until(
    `${sats} sats spendable`,
    async () => {
      await d.wallet?.sync();
      return (d.wallet?.balance().spendable ?? 0n) >= sats;
    },
    waitMs,
    500,
  );
}

/**
 * A maker's funding confirmed and its coin pool split and confirmed too: until the split is mined
 * the maker can fund nothing (its coins are unconfirmed), and refuses every setup.
 */
export async function makerFunded(maker: Daemon, sats: bigint, waitMs: number): Promise<void> {
  await spendable(maker, sats, waitMs);
  const height = await maker.rpc!.getBlockCount();
  // The split goes out on the block after the funding confirmed and is mined in the next one.
  await until(
    'three more blocks',
    async () => (await maker.rpc!.getBlockCount()) >= height + 3,
    waitMs,
    200,
  );
  await spendable(maker, sats, waitMs);
}

/**
 * Small CFD: 100 contracts at 2× on the maker's short offer (taker long), within the node's
 * default slippage as the UI sends it: the feed moves while many takers order at once, and the
 * maker honours an offer it just replaced only within the order's slippage.
 */
export const SMALL_CFD = {
  quantity: 100n,
  leverage: 2,
  maxSlippageBps: DEFAULT_MAX_SLIPPAGE_BPS,
} as const;

/**
 * The taker orders {@link SMALL_CFD} from `makerPeerId` on its current short offer once its
 * wallet holds `fundSats` spendable; resolves with the CFD id once the setup completed (the lock
 * then confirms on the chain's own blocks). Rejects with the failure's reason.
 */
export async function openSmallCfd(
  taker: Daemon,
  makerPeerId: string,
  fundSats: bigint,
  waitMs: number,
): Promise<string> {
  await spendable(taker, fundSats, waitMs);
  const now = () => Math.floor(Date.now() / 1000);
  const { offer } = await until(
    "the maker's short offer",
    () =>
      taker.offers.book
        .current(now(), { maxOfferAgeSecs: taker.config.time.offerMaxAgeSecs })
        .find((o) => o.maker === makerPeerId && o.offer.makerPosition === 'short'),
    waitMs,
  );
  const placed = await taker.orders.placeOrder(peerIdFromString(makerPeerId), offer, SMALL_CFD);
  if (placed.outcome.type !== 'completed') {
    const reason = 'reason' in placed.outcome ? String(placed.outcome.reason) : '';
    throw new Error(`setup ${placed.outcome.type}: ${reason}`);
  }
  return placed.orderId;
}

/** Whether the node holds `cfdId` open (lock confirmed; a rollover under way counts). */
export async function isOpen(d: Daemon, cfdId: string): Promise<boolean> {
  const c = await d.readModel.get(cfdId);
  return c !== undefined && ['open', 'rollover'].includes(uiState(c));
}

/** One rollover of a CFD as its taker's event log tells it (unix seconds). */
export interface RolloverTiming {
  /** When it became due (protocols/rollover/scheduler.ts `rolloverDueSecs`). */
  readonly dueSecs: number;
  /** When the next one becomes due: the deadline of this one, or the cadence slips. */
  readonly deadlineSecs: number;
  /** When it completed; undefined while it has not. */
  readonly completedSecs: number | undefined;
}

/**
 * The rollovers `cfdId` went through (or owed) from its setup up to `nowSecs`, by the taker's
 * log: each settlement event was due for a rollover at `rolloverDueSecs`, and is on time when the
 * RolloverCompleted that replaced it was recorded before the next one became due. The last entry
 * has no completion when a rollover is owed and still running (or missed); none is listed when
 * the current event is not due yet.
 */
export async function rolloverTimings(
  taker: Daemon,
  cfdId: string,
  time: ScaleTime,
  nowSecs: number,
): Promise<RolloverTiming[]> {
  const cadence = { rolloverIntervalSecs: time.rolloverSecs, eventSpacingSecs: time.eventSecs };
  const timings: RolloverTiming[] = [];
  let current: string | undefined;
  const owed = (eventId: string) => {
    const due = rolloverDueSecs(oracleEventTime(eventId), time.settlementSecs, cadence);
    return due === undefined ? undefined : { dueSecs: due, deadlineSecs: due + time.rolloverSecs };
  };
  for (const e of await taker.store.readStream(cfdId)) {
    if (e.type !== 'ContractSetupCompleted' && e.type !== 'RolloverCompleted') continue;
    const next = (e.data as { dlc: { settlementEventId: string } }).dlc.settlementEventId;
    const due = current === undefined ? undefined : owed(current);
    if (e.type === 'RolloverCompleted' && due) {
      timings.push({ ...due, completedSecs: e.recordedAt / 1000 });
    }
    current = next;
  }
  const due = current === undefined ? undefined : owed(current);
  if (due && due.dueSecs <= nowSecs) timings.push({ ...due, completedSecs: undefined });
  return timings;
}
