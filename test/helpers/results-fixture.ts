/**
 * A made-up results folder in the format of `RESULT_FILES` (research/scenario/types.ts) — a
 * fixture of the format for the report's tests, not the output of a run. Small and hand-shaped:
 * a few nodes, a position of every `closedBy`, faults (one never ended), a failed rollover, and
 * whatever node names the test gives (hostile ones included).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { formatCsv } from '../../research/report/csv.ts';
import {
  RESULT_COLUMNS as C,
  RESULT_FILES,
  type RunSummary,
} from '../../research/scenario/types.ts';

/** The fixture's run started here (unix ms). */
export const T0 = Date.UTC(2026, 0, 2, 3, 4, 5);
const DURATION_SECS = 600;
const at = (secs: number) => T0 + secs * 1000;

export const CLOSED_BY = [
  'collaborative',
  'forceClose',
  'liquidation',
  'refund',
  'punish',
  '',
] as const;

export interface FixtureOptions {
  readonly makers: readonly string[];
  readonly takers: readonly string[];
  /** Check results for summary.json. */
  readonly checks?: RunSummary['checks'];
}

/**
 * Writes the results files (not report.html) into `dir`. Taker `i` holds one position closed by
 * `CLOSED_BY[i % 6]` with maker `i % makers`; its equity drifts by `i`, so takers' final equities
 * all differ; taker 0's second rollover fails.
 */
export async function writeResultsFixture(dir: string, o: FixtureOptions): Promise<void> {
  await mkdir(join(dir, RESULT_FILES.metrics), { recursive: true });
  const F = RESULT_FILES;
  const file = (name: string, text: string) => writeFile(join(dir, name), text);
  const makerOf = (i: number) => o.makers[i % o.makers.length]!;

  const price = (s: number) => 50_000 + 400 * Math.sin(s / 60) - (s > 300 ? (s - 300) * 5 : 0);
  const prices: number[][] = [];
  for (let s = 0; s <= DURATION_SECS; s += 10) prices.push([at(s), +price(s).toFixed(2)]);

  const equity: (string | number)[][] = [];
  for (let s = 0; s <= DURATION_SECS; s += 30) {
    o.makers.forEach((m, k) => {
      equity.push([at(s), m, 500_000_000, 1000 * s + k, 500_000_000 + 1000 * s + k]);
    });
    o.takers.forEach((t, i) => {
      const e = 10_000_000 + (i % 2 ? 1 : -1) * i * s * 10;
      equity.push([at(s), t, e - 2_000_000, 2_000_000, e]);
    });
  }

  const positions = o.takers.map((t, i) => {
    const closedBy = CLOSED_BY[i % CLOSED_BY.length]!;
    const open = closedBy === '';
    const pnl = (i % 2 ? 1 : -1) * 10_000 * (i + 1);
    return [
      `cfd-${i}`,
      t,
      makerOf(i),
      i % 2 ? 'long' : 'short',
      100 * (i + 1),
      2 + (i % 3),
      50_000,
      open ? '' : 49_500,
      1_000_000,
      300 * (i + 1),
      200 * (i + 1),
      150,
      open ? 0 : 2_000,
      open ? '' : 1_000_000 + pnl,
      open ? '' : pnl,
      closedBy,
      at(20 + i),
      open ? '' : at(400 + i),
    ];
  });

  const protocols: (string | number)[][] = [];
  o.takers.forEach((t, i) => {
    protocols.push([at(20 + i), t, `cfd-${i}`, 'setup', 1200 + 50 * i, 'ok', '']);
    for (const [k, s] of [100, 200, 300].entries()) {
      const failed = i === 0 && k === 1;
      protocols.push([
        at(s + i),
        makerOf(i),
        `cfd-${i}`,
        'rollover',
        failed ? 30_000 : 400 + 10 * i,
        failed ? 'failed' : 'ok',
        failed ? 'peer unreachable, "timed out" after 30 s' : '',
      ]);
    }
    if (CLOSED_BY[i % CLOSED_BY.length] !== '') {
      protocols.push([at(400 + i), t, `cfd-${i}`, 'settlement', 2500 + 100 * i, 'ok', '']);
    }
  });

  const trades = o.takers.flatMap((t, i) => [
    [at(19 + i), t, makerOf(i), `cfd-${i}`, 'open', 'long', 1, 2, 50_000, 'ok', '', 19 + i],
    ...(i === 1
      ? [[at(60), t, makerOf(i), '', 'open', 'short', 9, 5, 50_100, 'rejected', 'no offer', 60]]
      : []),
  ]);

  const [firstMaker] = o.makers;
  const [firstTaker] = o.takers;
  const faults = [
    [at(120), 'makerRestart', firstMaker, 'start', 'down 30 s'],
    [at(150), 'makerRestart', firstMaker, 'end', ''],
    [at(250), 'oracleSilent', '', 'start', ''],
    [at(320), 'oracleSilent', '', 'end', ''],
    [at(500), 'takerOffline', firstTaker, 'start', '2 rollovers'],
  ];

  const closedBy: Record<string, number> = {};
  for (const p of positions) {
    const k = String(p[15]) || 'open';
    closedBy[k] = (closedBy[k] ?? 0) + 1;
  }
  const summary: RunSummary = {
    scenario: 'fixture',
    seed: 7,
    startedAt: T0,
    durationSecs: DURATION_SECS,
    nodes: { makers: o.makers.length, takers: o.takers.length },
    cfds: { opened: positions.length, closedBy, open: closedBy.open ?? 0 },
    fundingPaidSats: '1200',
    fundingReceivedSats: '1200',
    onchainFeesSats: '10000',
    stuck: [],
    checks: o.checks ?? [],
  };

  await Promise.all([
    file(F.summary, `${JSON.stringify(summary, null, 2)}\n`),
    file(F.prices, formatCsv(C.prices, prices)),
    file(F.equity, formatCsv(C.equity, equity)),
    file(F.positions, formatCsv(C.positions, positions)),
    file(F.protocols, formatCsv(C.protocols, protocols)),
    file(F.trades, formatCsv(C.trades, trades)),
    file(F.faults, formatCsv(C.faults, faults)),
    file(F.events, ''),
  ]);
}
