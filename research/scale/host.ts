/**
 * A host process of the scale benchmark (scripts/bench/scale.ts forks each): the embedded chain,
 * or the price feed and oracle, or a maker, or a group of taker daemons. Driven over the fork IPC
 * channel by {@link HostRequest}s, each answered by a {@link HostReply} with the same id.
 *
 * Why one process each: a rollover with 24 liquidation events costs a node ≈ 1.35 s of CPU, and
 * on one event loop with the chain a maker's setups and rollovers delayed the chain's RPC answers
 * until 100 takers' calls timed out. Here the chain answers from a loop of its own, no maker's
 * work delays another's, and the takers of a group share this process's event loop, one adaptor
 * worker pool and one reader of the chain (`DaemonOptions.pool`, `DaemonOptions.chain`: a
 * {@link sharedChain}), each with its own keys, datadir, stores, wallet, monitor and libp2p host.
 * The RSS of a group's host divided by its takers is the memory a taker costs.
 */
import { availableParallelism } from 'node:os';
import { AdaptorWorkerPool } from '../../dlc/workers.ts';
import type { CachingBitcoinRpc } from '../../node/chain/caching-rpc.ts';
import type { EmbeddedChain } from '../../node/chain/embedded.ts';
import type { Daemon } from '../../node/daemon/daemon.ts';
import {
  type ChainAddress,
  isOpen,
  makerFunded,
  type NodeSpec,
  type OracleAddresses,
  openSmallCfd,
  type RolloverTiming,
  receiveAddress,
  rolloverTimings,
  type ScaleTime,
  type ServiceAddresses,
  sharedChain,
  startChain,
  startNode,
  startOracle,
} from './network.ts';

export type HostRequest =
  /** Starts the embedded chain here; answers its {@link ChainAddress}. */
  | { readonly id: number; readonly op: 'chain'; readonly time: ScaleTime }
  /** Pays each address from the chain's faucet (a chain host). */
  | {
      readonly id: number;
      readonly op: 'fund';
      readonly outputs: readonly { readonly address: string; readonly sats: string }[];
    }
  /** Starts the price feed and the oracle here; answers their {@link OracleAddresses}. */
  | { readonly id: number; readonly op: 'oracle'; readonly dir: string; readonly time: ScaleTime }
  | {
      readonly id: number;
      readonly op: 'start';
      readonly takers: readonly NodeSpec[];
      readonly services: ServiceAddresses;
      readonly time: ScaleTime;
      /** false: each node starts its own pool, as a node alone in its process does. */
      readonly sharedPool: boolean;
      /** true: the nodes read the chain through one {@link sharedChain}. */
      readonly sharedChain: boolean;
    }
  /** Resolves once each node's coins (a maker: its split coin pool) are confirmed. */
  | { readonly id: number; readonly op: 'funded'; readonly sats: string; readonly waitMs: number }
  | {
      readonly id: number;
      readonly op: 'open';
      /** Per taker, in start order: its maker's peer id. */
      readonly makers: readonly string[];
      readonly fundSats: string;
      readonly waitMs: number;
    }
  | { readonly id: number; readonly op: 'report'; readonly nowSecs: number }
  | { readonly id: number; readonly op: 'stop' };

export interface StartResult {
  readonly peerIds: string[];
  /** A receive address of each node's wallet. */
  readonly addresses: string[];
  /** Each node's first listen address (a maker's), or undefined. */
  readonly listen: (string | undefined)[];
  readonly rss: number;
}

export interface OpenResult {
  /** Per taker: its CFD id, or why it has none. */
  readonly cfds: ({ id: string } | { error: string })[];
}

export interface ReportResult {
  /** Per taker with a CFD: its rollovers so far. */
  readonly timings: RolloverTiming[][];
  readonly rss: number;
  /** CPU time this process used so far (user + system), ms. */
  readonly cpuMs: number;
}

export type HostReply =
  | { readonly id: number; readonly ok: true; readonly result: unknown }
  | { readonly id: number; readonly ok: false; readonly error: string };

/** Setups the host runs at once (a maker admits a few per peer and in all; more would be refused). */
const OPEN_CONCURRENCY = 4;

/** The nodes of this host (takers, or one maker). */
const takers: Daemon[] = [];
const cfds: (string | undefined)[] = [];
let pool: AdaptorWorkerPool | undefined;
let chainReader: CachingBitcoinRpc | undefined;
let time: ScaleTime | undefined;
const stops: (() => Promise<void>)[] = [];
let chain: EmbeddedChain | undefined;

async function start(req: Extract<HostRequest, { op: 'start' }>): Promise<StartResult> {
  time = req.time;
  if (req.sharedPool) pool = new AdaptorWorkerPool({ size: availableParallelism() });
  if (req.sharedChain) chainReader = sharedChain(req.services);
  const shared = { ...(pool && { pool }), ...(chainReader && { chain: chainReader }) };
  for (const spec of req.takers) takers.push(await startNode(spec, req.services, req.time, shared));
  const addresses: string[] = [];
  for (const t of takers) addresses.push(await receiveAddress(t));
  return {
    peerIds: takers.map((t) => t.peerId),
    addresses,
    listen: takers.map((t) => t.p2p.getMultiaddrs()[0]?.toString()),
    rss: process.memoryUsage().rss,
  };
}

async function startChainHere(req: Extract<HostRequest, { op: 'chain' }>): Promise<ChainAddress> {
  const started = await startChain(req.time);
  chain = started.chain;
  stops.push(() => started.chain.stop());
  return started.address;
}

async function fund(req: Extract<HostRequest, { op: 'fund' }>): Promise<void> {
  if (!chain) throw new Error('not a chain host');
  for (const o of req.outputs) await chain.fund(o.address, BigInt(o.sats));
}

async function startOracleHere(
  req: Extract<HostRequest, { op: 'oracle' }>,
): Promise<OracleAddresses> {
  const { feed, oracle, addresses } = await startOracle(req.dir, req.time);
  stops.push(
    () => oracle.stop(),
    () => feed.stop(),
  );
  return addresses;
}

/**
 * Opens the taker's CFD, ordering again until `waitMs` have passed: a maker refuses a setup while
 * busy with others (admission limits) or while its coins are unconfirmed (its coin pool splits
 * its funding in a block), and that is not what this run measures. Once a setup completed, its
 * CFD is waited for (its lock confirming, up to `waitMs` more), never ordered a second time.
 */
async function openOne(t: Daemon, maker: string, fund: bigint, waitMs: number): Promise<string> {
  const deadline = Date.now() + waitMs;
  let last: unknown;
  while (Date.now() < deadline) {
    let id: string;
    try {
      id = await openSmallCfd(t, maker, fund, waitMs);
    } catch (err) {
      last = err;
      noteFailure(err);
      await new Promise((r) => setTimeout(r, 2_000 + Math.random() * 3_000));
      continue;
    }
    const lockDeadline = Date.now() + waitMs;
    while (!(await isOpen(t, id))) {
      if (Date.now() > lockDeadline)
        throw new Error(`CFD ${id} not open ${waitMs} ms after its setup`);
      await new Promise((r) => setTimeout(r, 500));
    }
    return id;
  }
  throw last;
}

/** Setup failures so far by kind (digits masked): why a run's setups take long. */
const failures = new Map<string, number>();
/** Says each kind of setup failure on stderr the first time, and counts it. */
function noteFailure(err: unknown): void {
  const kind = String(err).replace(/\d+/g, 'N').slice(0, 160);
  failures.set(kind, (failures.get(kind) ?? 0) + 1);
  if (failures.get(kind) === 1) {
    process.stderr.write(`# host ${process.pid}: setup tried again after: ${kind}\n`);
  }
}

/** How often a host says how its setups are going. */
const OPEN_PROGRESS_MS = 30_000;

async function open(req: Extract<HostRequest, { op: 'open' }>): Promise<OpenResult> {
  const results: OpenResult['cfds'] = new Array(takers.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < takers.length; i = next++) {
      try {
        const id = await openOne(takers[i]!, req.makers[i]!, BigInt(req.fundSats), req.waitMs);
        cfds[i] = id;
        results[i] = { id };
      } catch (err) {
        results[i] = { error: String(err) };
      }
    }
  };
  const started = Date.now();
  const progress = setInterval(() => {
    const open = cfds.filter((c) => c !== undefined).length;
    const tries = [...failures].map(([k, n]) => `${n}× ${k.slice(0, 80)}`).join('; ');
    process.stderr.write(
      `# host ${process.pid}: ${open} of ${takers.length} CFDs open after ` +
        `${Math.round((Date.now() - started) / 1000)} s${tries ? `; retried: ${tries}` : ''}\n`,
    );
  }, OPEN_PROGRESS_MS);
  try {
    await Promise.all(Array.from({ length: OPEN_CONCURRENCY }, worker));
  } finally {
    clearInterval(progress);
  }
  return { cfds: results };
}

async function report(req: Extract<HostRequest, { op: 'report' }>): Promise<ReportResult> {
  const timings: RolloverTiming[][] = [];
  for (const [i, t] of takers.entries()) {
    const id = cfds[i];
    if (id) timings.push(await rolloverTimings(t, id, time!, req.nowSecs));
  }
  const cpu = process.cpuUsage();
  return { timings, rss: process.memoryUsage().rss, cpuMs: (cpu.user + cpu.system) / 1000 };
}

async function stop(): Promise<void> {
  // At once: a node's stop waits for its chain follower's step in progress (a block's wallet
  // sync and reconciliation, seconds under load), and 25 of them one after another took minutes.
  await Promise.all(takers.map((t) => t.stop()));
  await pool?.close();
  for (const s of stops) await s();
}

process.on('message', (req: HostRequest) => {
  const run = async (): Promise<unknown> => {
    switch (req.op) {
      case 'chain':
        return startChainHere(req);
      case 'fund':
        return fund(req);
      case 'oracle':
        return startOracleHere(req);
      case 'start':
        return start(req);
      case 'funded':
        for (const t of takers) await makerFunded(t, BigInt(req.sats), req.waitMs);
        return undefined;
      case 'open':
        return open(req);
      case 'report':
        return report(req);
      case 'stop':
        return stop();
    }
  };
  run().then(
    (result) => {
      process.send?.({ id: req.id, ok: true, result } satisfies HostReply);
      if (req.op === 'stop') process.disconnect();
    },
    (err: unknown) => process.send?.({ id: req.id, ok: false, error: String(err) }),
  );
});
