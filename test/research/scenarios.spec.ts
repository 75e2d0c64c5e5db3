// The three shipped scenarios (issue #16) at their CI size (each file's `ci:` block), through the
// real runner (research/run/): embedded chain, feed, oracle, whole daemons over libp2p. Each
// outcome is asserted from the results folder the run wrote, read back as the report reads it.
// Calm runs twice from its seed: the price path and every actor's decision must replay.
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pino } from 'pino';
import { type Results, readResults } from '../../research/report/results.ts';
import { runScenario } from '../../research/run/runner.ts';
import { loadScenario } from '../../research/scenario/parse.ts';
import { plan } from '../../research/scenario/plan.ts';
import { ciScenario } from '../../research/scenario/shrink.ts';
import { loadStrategies } from '../../research/scenario/strategies.ts';
import {
  type Plan,
  RESULT_COLUMNS,
  RESULT_FILES,
  type RunSummary,
  type Scenario,
} from '../../research/scenario/types.ts';
import { tempDir } from '../helpers/cfd-fixtures.ts';

interface Run {
  readonly scenario: Scenario;
  readonly plan: Plan;
  readonly dir: string;
  readonly summary: RunSummary;
  readonly results: Results;
  readonly wallMs: number;
}

/** Runs scenarios/<name>.yaml at its CI size into a fresh folder (removed by `cleanups`). */
async function runCi(name: string, cleanups: (() => Promise<void>)[]): Promise<Run> {
  const scenario = ciScenario(await loadScenario(`scenarios/${name}.yaml`));
  const p = plan(scenario, await loadStrategies(scenario));
  const dir = await tempDir(`dlcfd-${name}-`);
  cleanups.push(() => (process.env.RUN_KEEP ? Promise.resolve() : dir.cleanup()));
  if (process.env.RUN_KEEP) console.log(`    ${name}: keeping ${dir.path}`);
  const started = Date.now();
  const summary = await runScenario(scenario, p, {
    dir: dir.path,
    ...(process.env.RUN_LOG && { logger: pino({ level: process.env.RUN_LOG }) }),
  });
  const wallMs = Date.now() - started;
  console.log(`    ${name}: run wall time ${(wallMs / 1000).toFixed(1)} s`);
  return {
    scenario,
    plan: p,
    dir: dir.path,
    summary,
    results: await readResults(dir.path),
    wallMs,
  };
}

/** Every check of summary.json holds, each one named (none silently left out). */
function everyCheckHolds(run: Run, names: readonly string[]): void {
  for (const c of run.summary.checks) assert.ok(c.ok, `${c.name}: ${c.detail}`);
  const got = new Set(run.summary.checks.map((c) => c.name));
  for (const n of names) assert.ok(got.has(n), `the ${n} check ran`);
  assert.deepEqual(run.summary.stuck, []);
  assert.equal(run.summary.cfds.open, 0);
}

/** The decisions a run recorded: one per (run second, taker), with what it decided. */
function decisions(r: Results): string[] {
  const keys = r.trades.map(
    (t) => `${t.atSecs} ${t.taker} ${t.action} ${t.side} ${t.lots ?? ''} ${t.leverage ?? ''}`,
  );
  return [...new Set(keys)].sort();
}

const CONSERVATION = ['fundingConserved', 'noneStuck', 'satsConserved'];

describe('research: the shipped scenarios at CI size, end to end', function () {
  // Each run ends by itself (≈ 45–60 s); the bound is for a loaded machine.
  this.timeout(300_000);
  const cleanups: (() => Promise<void>)[] = [];
  after(async () => {
    for (const c of cleanups) await c();
  });
  // Calm twice and chaos go at once, each its own network: they mostly wait on their timelines,
  // so together they take little longer than the longest. Crash runs alone after them: its
  // liquidations must come before its run ends, which a machine loaded by three networks delays.
  let runs: Record<'calm' | 'calmAgain' | 'chaos', Promise<Run>>;
  before(() => {
    runs = {
      calm: runCi('calm', cleanups),
      calmAgain: runCi('calm', cleanups),
      chaos: runCi('chaos', cleanups),
    };
    // Each block reports its own run's failure; none goes unhandled meanwhile.
    for (const r of Object.values(runs)) r.catch(() => undefined);
  });

  describe('calm, twice from its seed', () => {
    let a: Run;
    let b: Run;
    before(async () => {
      [a, b] = await Promise.all([runs.calm, runs.calmAgain]);
    });

    it('every check passes: funding paid = received, none stuck, sats conserved', () => {
      for (const run of [a, b]) everyCheckHolds(run, CONSERVATION);
      assert.equal(a.summary.fundingPaidSats, a.summary.fundingReceivedSats);
      assert.ok(a.summary.cfds.opened > 0, 'positions were opened');
    });

    it('writes every results file, the nodes’ metrics and the report', async () => {
      for (const [key, columns] of Object.entries(RESULT_COLUMNS)) {
        const file = RESULT_FILES[key as keyof typeof RESULT_COLUMNS];
        const header = (await readFile(join(a.dir, file), 'utf8')).split(/\r?\n/)[0];
        assert.equal(header, columns.join(','), file);
      }
      assert.deepEqual(a.results.missing, []);
      const names = [
        ...a.scenario.makers.map((m) => m.name),
        ...a.scenario.takers.flatMap((g) =>
          Array.from({ length: g.count }, (_, i) => `${g.prefix}${i + 1}`),
        ),
      ];
      const proms = await readdir(join(a.dir, RESULT_FILES.metrics));
      assert.deepEqual(proms.sort(), names.map((n) => `${n}.prom`).sort());
      const closed = await Promise.all(
        names
          .filter((n) => !a.scenario.makers.some((m) => m.name === n))
          .map((n) => readFile(join(a.dir, RESULT_FILES.metrics, `${n}.prom`), 'utf8')),
      );
      assert.ok(closed.some((prom) => /dlcfd_cfds\{state="closed"\} [1-9]/.test(prom)));
      assert.deepEqual(a.results.summary, JSON.parse(JSON.stringify(a.summary)));
      const report = await readFile(join(a.dir, RESULT_FILES.report), 'utf8');
      assert.match(report, /<title>[^<]*calm/);
    });

    it('the positions reconcile with both nodes’ logs and the protocols they ran', async () => {
      const { positions, protocols, trades } = a.results;
      // A position per open whose setup completed — less any whose lock then failed to confirm
      // (the CFD ends failed, not as a position; sats conserved still holds).
      const completedOpens = new Set(
        trades.filter((t) => t.action === 'open' && t.outcome === 'completed').map((t) => t.cfdId),
      );
      assert.ok(positions.length > 0);
      for (const p of positions) assert.ok(completedOpens.has(p.cfdId), `${p.cfdId} was opened`);
      const events = (await readFile(join(a.dir, RESULT_FILES.events), 'utf8'))
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l) as { node: string; cfdId: string; type: string });
      for (const p of positions) {
        assert.ok(p.closedBy, `${p.cfdId} closed`);
        assert.ok(p.onchainFeeSats > 0n, 'the lock and the close paid fees');
        assert.notEqual(p.pnlSats, null, 'a realised P/L once closed');
        for (const node of [p.taker, p.maker]) {
          assert.ok(
            events.some(
              (e) => e.node === node && e.cfdId === p.cfdId && e.type === 'ContractSetupCompleted',
            ),
            `${node} completed the setup of ${p.cfdId}`,
          );
          assert.ok(
            protocols.some(
              (r) =>
                r.node === node &&
                r.cfdId === p.cfdId &&
                r.protocol === 'setup' &&
                r.outcome === 'completed',
            ),
            `${node}: protocols.csv has the setup of ${p.cfdId}`,
          );
        }
      }
    });

    it('same seed, same run: the price path and every actor’s decisions replay', () => {
      assert.deepEqual(
        b.results.prices.map((p) => p.price),
        a.results.prices.map((p) => p.price),
      );
      // Every price the plan gave was served, in order, on the feed's 0.5 USD tick (calm has no
      // stale feed).
      assert.deepEqual(
        a.results.prices.map((p) => p.price),
        a.plan.prices
          .filter((p) => p.atSecs < a.scenario.durationSecs)
          .map((p) => Math.round(p.price * 2) / 2),
      );
      const planned = a.plan.actions
        .filter((x) => x.atSecs < a.scenario.durationSecs)
        .map(
          (x) =>
            `${x.atSecs} ${x.taker} ${x.action} ${x.side ?? ''} ${x.lots ?? ''} ${x.leverage ?? ''}`,
        )
        .sort();
      assert.ok(planned.length >= 5, `${planned.length} decisions`);
      assert.deepEqual(decisions(a.results), planned, 'the results record the plan');
      assert.deepEqual(decisions(b.results), decisions(a.results));
    });
  });

  describe('chaos', () => {
    let run: Run;
    before(async () => {
      run = await runs.chaos;
    });

    it('every fault happened, start and end, and every check still holds', () => {
      const kinds = [
        'makerRestart',
        'oracleSilent',
        'oracleLate',
        'feedStale',
        'partition',
        'takerOffline',
      ];
      for (const kind of kinds) {
        const phases = run.results.faults.filter((f) => f.kind === kind).map((f) => f.phase);
        assert.deepEqual(phases, ['start', 'end'], kind);
      }
      everyCheckHolds(run, CONSERVATION);
    });

    it('a stopped node is not sampled, and the stale feed served nothing', () => {
      const { faults, equity, prices } = run.results;
      const span = (kind: string) => {
        const [start, end] = faults.filter((f) => f.kind === kind).map((f) => f.t);
        return [start!, end!] as const;
      };
      const [down, up] = span('makerRestart');
      const maker = faults.find((f) => f.kind === 'makerRestart')!.target;
      // Down for at least the scaled downSecs the plan gave (faults.csv times are ms).
      const planned = run.plan.faults.find((f) => f.kind === 'makerRestart');
      assert.ok(planned?.kind === 'makerRestart');
      assert.ok(up - down >= planned.downSecs * 1000, `${maker} was down ${up - down} ms`);
      assert.ok(equity.some((e) => e.node === maker && e.t > up));
      assert.ok(!equity.some((e) => e.node === maker && e.t > down + 500 && e.t < up - 500));
      const [stale, fresh] = span('feedStale');
      assert.ok(!prices.some((p) => p.t > stale + 100 && p.t < fresh - 100));
    });
  });

  describe('crash −40 %', () => {
    let run: Run;
    before(async () => {
      run = await runCi('crash', cleanups);
    });

    it('liquidates, and every liquidated position was paid its liquidation payout', () => {
      everyCheckHolds(run, [...CONSERVATION, 'liquidationsPaid', 'minLiquidations']);
      const liquidated = run.results.positions.filter((p) => p.closedBy === 'liquidation');
      assert.ok(liquidated.length >= 1, 'at least one liquidation');
      assert.equal(run.summary.cfds.closedBy.liquidation, liquidated.length);
      for (const p of liquidated) assert.notEqual(p.payoutSats, null, `${p.cfdId} paid out`);
    });
  });
});
