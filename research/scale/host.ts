/**
 * A host process for a group of taker daemons (the scale benchmark, scripts/bench/scale.ts,
 * forks one per group): its takers share this process's event loop and one adaptor worker pool,
 * each with its own keys, datadir, stores and libp2p host. Driven over the fork IPC channel by
 * {@link HostRequest}s, each answered by a {@link HostReply} with the same id.
 *
 * Why child processes and not everything in the benchmark's process: the chain, the oracle, the
 * feed and the makers stay on an event loop of their own (100 takers' timers and streams in the
 * same loop would delay the makers' answers, which is not what a real network sees), and the RSS
 * of each host divided by its takers is the memory a taker costs, without the services in it.
 */
import { availableParallelism } from 'node:os';
import { AdaptorWorkerPool } from '../../dlc/workers.ts';
import type { Daemon } from '../../node/daemon/daemon.ts';
import {
  isOpen,
  type NodeSpec,
  openSmallCfd,
  type RolloverTiming,
  receiveAddress,
  rolloverTimings,
  type ScaleTime,
  type ServiceAddresses,
  startNode,
} from './network.ts';

export type HostRequest =
  | {
      readonly id: number;
      readonly op: 'start';
      readonly takers: readonly NodeSpec[];
      readonly services: ServiceAddresses;
      readonly time: ScaleTime;
      /** false: each taker starts its own pool, as a taker alone in its process does. */
      readonly sharedPool: boolean;
    }
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
  readonly addresses: string[];
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
}

export type HostReply =
  | { readonly id: number; readonly ok: true; readonly result: unknown }
  | { readonly id: number; readonly ok: false; readonly error: string };

/** Setups the host runs at once (a maker admits a few per peer and in all; more would be refused). */
const OPEN_CONCURRENCY = 4;

const takers: Daemon[] = [];
const cfds: (string | undefined)[] = [];
let pool: AdaptorWorkerPool | undefined;
let time: ScaleTime | undefined;

async function start(req: Extract<HostRequest, { op: 'start' }>): Promise<StartResult> {
  time = req.time;
  if (req.sharedPool) pool = new AdaptorWorkerPool({ size: availableParallelism() });
  for (const spec of req.takers) takers.push(await startNode(spec, req.services, req.time, pool));
  const addresses: string[] = [];
  for (const t of takers) addresses.push(await receiveAddress(t));
  return {
    peerIds: takers.map((t) => t.peerId),
    addresses,
    rss: process.memoryUsage().rss,
  };
}

/**
 * Opens the taker's CFD, trying again until `waitMs` have passed: a maker refuses a setup while
 * busy with others (admission limits) or while its coins are unconfirmed (its coin pool splits
 * its funding in a block), and that is not what this run measures.
 */
async function openOne(t: Daemon, maker: string, fund: bigint, waitMs: number): Promise<string> {
  const deadline = Date.now() + waitMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const id = await openSmallCfd(t, maker, fund, waitMs);
      while (!(await isOpen(t, id))) {
        if (Date.now() > deadline) throw new Error(`CFD ${id} not open after ${waitMs} ms`);
        await new Promise((r) => setTimeout(r, 500));
      }
      return id;
    } catch (err) {
      last = err;
      noteFailure(err);
      await new Promise((r) => setTimeout(r, 2_000 + Math.random() * 3_000));
    }
  }
  throw last;
}

const seenFailures = new Set<string>();
/** Says each kind of setup failure once on stderr (why a run's setups take long). */
function noteFailure(err: unknown): void {
  const kind = String(err).replace(/\d+/g, 'N').slice(0, 160);
  if (seenFailures.has(kind)) return;
  seenFailures.add(kind);
  process.stderr.write(`# host ${process.pid}: setup tried again after: ${kind}\n`);
}

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
  await Promise.all(Array.from({ length: OPEN_CONCURRENCY }, worker));
  return { cfds: results };
}

async function report(req: Extract<HostRequest, { op: 'report' }>): Promise<ReportResult> {
  const timings: RolloverTiming[][] = [];
  for (const [i, t] of takers.entries()) {
    const id = cfds[i];
    if (id) timings.push(await rolloverTimings(t, id, time!, req.nowSecs));
  }
  return { timings, rss: process.memoryUsage().rss };
}

async function stop(): Promise<void> {
  for (const t of takers) await t.stop();
  await pool?.close();
}

process.on('message', (req: HostRequest) => {
  const run = async (): Promise<unknown> => {
    switch (req.op) {
      case 'start':
        return start(req);
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
