/**
 * A research run's network in one process: the embedded regtest chain, the local price feed, the
 * oracle and one {@link RunNode} per maker and taker — each a whole `Daemon` with its own datadir,
 * keys, libp2p host and event store, sharing nothing but the loopback network. Time is compressed
 * (scripts/lib/compressed-time.ts).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Logger, pino } from 'pino';
import { type Price, parsePrice } from '../../model/units.ts';
import { EmbeddedChain } from '../../node/chain/embedded.ts';
import { CONFIG_FILE, loadConfig } from '../../node/daemon/config.ts';
import { Daemon } from '../../node/daemon/daemon.ts';
import { OracleServer } from '../../node/oracle/server.ts';
import { PriceFeedServer } from '../../node/pricefeed/server.ts';
import { type CompressedTime, compressedTime } from '../../scripts/lib/compressed-time.ts';
import type { MakerSpec } from '../scenario/types.ts';

/**
 * The floors of a research run: the shortest intervals the end-to-end suites prove (a 20-second
 * settlement interval, 10-second rollovers on a 5-second oracle grid), blocks every 2 s.
 */
export const RUN_FLOORS: CompressedTime = { settlement: 20, rollover: 10, events: 5, block: 2 };

/** The run's intervals for a scenario's `timeScale`. */
export const runTime = (timeScale: number): CompressedTime => compressedTime(timeScale, RUN_FLOORS);

/** A feed price on its 0.5 USD tick from a scenario's USD number. */
export function feedPrice(usd: number): Price {
  return parsePrice((Math.round(usd * 2) / 2).toFixed(1));
}

export const silentLogger: Logger = pino({ level: 'silent' });

/** The shared parts every node talks to. */
export interface RunParts {
  readonly chain: EmbeddedChain;
  readonly feed: PriceFeedServer;
  readonly oracle: OracleServer;
  readonly time: CompressedTime;
}

/** Starts chain (mining on the block cadence), feed (moved only by the run) and oracle. */
export async function startParts(
  dir: string,
  startUsd: number,
  time: CompressedTime,
  logger: Logger,
  stops: (() => Promise<unknown>)[],
): Promise<RunParts> {
  const chain = await EmbeddedChain.start({
    logger: logger.child({ part: 'chain' }),
    blockIntervalSeconds: time.block,
  });
  stops.push(() => chain.stop());
  const feed = await PriceFeedServer.start({
    port: 0,
    startPrice: feedPrice(startUsd),
    tickMs: 0,
    logger: logger.child({ part: 'pricefeed' }),
  });
  stops.push(() => feed.stop());
  const oracleDir = join(dir, 'oracle');
  await mkdir(oracleDir, { recursive: true, mode: 0o700 });
  const oracle = await OracleServer.start({
    datadir: oracleDir,
    pricefeedUrl: feed.url,
    eventIntervalS: time.events,
    // Announced a settlement interval ahead, as the daemons need.
    lookaheadS: time.settlement + 4 * time.events,
    logger: logger.child({ part: 'oracle' }),
  });
  stops.push(() => oracle.stop());
  return { chain, feed, oracle, time };
}

/**
 * The flags that point a node at the shared parts (also the end-to-end suites' network,
 * test/e2e/network.ts).
 */
export function partFlags(
  parts: Pick<RunParts, 'chain' | 'oracle' | 'feed'>,
  datadir: string,
): Record<string, string> {
  const { chain, oracle, feed } = parts;
  return {
    datadir,
    network: 'regtest',
    'chain-rpc': chain.rpcUrl,
    'chain-user': chain.rpcAuth.user,
    'chain-password': chain.rpcAuth.password,
    oracle: oracle.url,
    'oracle-public-key': oracle.publicKey,
    'oracle-announcement-key': oracle.announcementPublicKey,
    pricefeed: feed.url,
  };
}

/** The flags every node of a run shares: the parts and the compressed intervals. */
export function nodeFlags(parts: RunParts, datadir: string): Record<string, string> {
  const { time } = parts;
  return {
    ...partFlags(parts, datadir),
    'settlement-interval': String(time.settlement),
    'rollover-interval': String(time.rollover),
    'oracle-event-interval': String(time.events),
    'chain-poll-ms': String(Math.min(1_000, time.block * 250)),
    // An hour each in production: compressed too, or a setup cut by a fault (a taker stopped
    // mid-setup) waits out the whole run for its lock before double-spending its inputs.
    'setup-adopt-timeout': String(2 * time.rollover),
    'lock-confirm-timeout': String(3 * time.rollover),
  };
}

/**
 * One maker or taker of the run: a `Daemon` that can be stopped and started again on the same
 * datadir (same keys, same peer id, same listen port for a maker).
 */
export class RunNode {
  readonly name: string;
  readonly role: 'maker' | 'taker';
  readonly datadir: string;
  readonly fundSats: bigint;
  #flags: Record<string, string | string[] | true>;
  #daemon: Daemon | undefined;
  #peerId: string | undefined;
  readonly #logger: Logger;

  private constructor(
    name: string,
    role: 'maker' | 'taker',
    datadir: string,
    fundSats: bigint,
    flags: Record<string, string | string[] | true>,
    logger: Logger,
  ) {
    this.name = name;
    this.role = role;
    this.datadir = datadir;
    this.fundSats = fundSats;
    this.#flags = flags;
    this.#logger = logger;
  }

  /** A maker with the spec's policy in its datadir's config file; auto-accepting. */
  static async maker(
    parts: RunParts,
    dir: string,
    spec: MakerSpec,
    logger: Logger,
  ): Promise<RunNode> {
    const datadir = join(dir, 'nodes', spec.name);
    await mkdir(datadir, { recursive: true, mode: 0o700 });
    const config = {
      maker: {
        spreadBps: spec.spreadBps,
        fundingRate: spec.fundingRate,
        leverageChoices: [...spec.leverages],
        // One lot is the default 100 contracts.
        maxQuantity: spec.maxLots * 100,
      },
    };
    await writeFile(join(datadir, CONFIG_FILE), JSON.stringify(config), { mode: 0o600 });
    const node = new RunNode(
      spec.name,
      'maker',
      datadir,
      spec.fundSats,
      { ...nodeFlags(parts, datadir), 'auto-accept': true, listen: ['/ip4/127.0.0.1/tcp/0'] },
      logger,
    );
    await node.start();
    // Restarts listen where takers dial it.
    node.#flags = { ...node.#flags, listen: [node.multiaddr.split('/p2p/')[0]!] };
    return node;
  }

  /** A taker dialling every maker. */
  static async taker(
    parts: RunParts,
    dir: string,
    name: string,
    fundSats: bigint,
    makers: readonly RunNode[],
    logger: Logger,
  ): Promise<RunNode> {
    const datadir = join(dir, 'nodes', name);
    await mkdir(datadir, { recursive: true, mode: 0o700 });
    const node = new RunNode(
      name,
      'taker',
      datadir,
      fundSats,
      { ...nodeFlags(parts, datadir), maker: makers.map((m) => m.multiaddr) },
      logger,
    );
    await node.start();
    return node;
  }

  /** The running daemon; undefined while stopped. */
  get daemon(): Daemon | undefined {
    return this.#daemon;
  }

  get online(): boolean {
    return this.#daemon !== undefined;
  }

  /** Stable across restarts (the key lives in the datadir). */
  get peerId(): string {
    return this.#peerId!;
  }

  /** A maker's listen address with its peer id. */
  get multiaddr(): string {
    const addr = this.#daemon!.p2p.getMultiaddrs()[0]!.toString();
    return addr.includes('/p2p/') ? addr : `${addr}/p2p/${this.peerId}`;
  }

  async start(): Promise<Daemon> {
    if (this.#daemon) return this.#daemon;
    const config = await loadConfig({ role: this.role, flags: this.#flags });
    this.#daemon = await Daemon.start(config, { logger: this.#logger.child({ node: this.name }) });
    this.#peerId = this.#daemon.peerId;
    return this.#daemon;
  }

  async stop(): Promise<void> {
    const d = this.#daemon;
    this.#daemon = undefined;
    await d?.stop();
  }
}
