// What the live benchmarks (setup, maker) share: the median of timed runs, and the world they run
// in — a temp dir, the embedded chain, a local feed and oracle (hour-long settlement interval on a
// one-minute oracle grid) and one warm adaptor worker pool (all cores).
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { AdaptorWorkerPool } from '../../dlc/index.ts';
import * as live from '../../test/helpers/live-nodes.ts';

export const SETTLEMENT_INTERVAL_S = 3_600;
export const EVENT_INTERVAL_S = 60;

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
};

export async function benchWorld(name: string) {
  const silent = pino({ level: 'silent' });
  const dir = await mkdtemp(join(tmpdir(), `dlcfd-bench-${name}-`));
  const world = await live.startWorld(dir, {
    logger: silent,
    eventIntervalS: EVENT_INTERVAL_S,
    lookaheadS: 2 * SETTLEMENT_INTERVAL_S,
    tickMs: 1_000,
  });
  const pool = new AdaptorWorkerPool();
  await pool.ready();
  return { dir, ...world, pool };
}
