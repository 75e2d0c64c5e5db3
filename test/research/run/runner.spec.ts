// A CI-sized research run: one maker, three takers, 45 s of run time with opens, closes, a maker
// restart and a partition, through the real network (embedded chain, feed, oracle, daemons over libp2p).
// One run for the whole file; every test reads its results folder.
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pino } from 'pino';
import { HEADERS, runScenario } from '../../../research/run/runner.ts';
import {
  type Plan,
  RESULT_FILES,
  type RunSummary,
  type Scenario,
} from '../../../research/scenario/types.ts';
import { tempDir } from '../../helpers/cfd-fixtures.ts';

const scenario: Scenario = {
  name: 'ci-small',
  seed: 7,
  durationSecs: 45,
  // 20-second settlement interval, rollovers every 10 s on a 5-second oracle grid.
  timeScale: 4320,
  makers: [
    {
      name: 'maker1',
      spreadBps: 10,
      fundingRate: '0.001',
      leverages: [1, 2, 3],
      maxLots: 10,
      fundSats: 10_000_000n,
    },
  ],
  takers: [
    {
      prefix: 'taker',
      count: 3,
      fundSats: 5_000_000n,
      actor: { strategy: 'random', everySecs: 5, lots: [1, 2], leverages: [2] },
    },
  ],
  price: { kind: 'walk', start: 50_000, volatility: 0.0005, stepSecs: 2, shocks: [] },
  faults: [
    { atSecs: 22, kind: 'makerRestart', maker: 'maker1', downSecs: 4 },
    // taker2 holds its position through it; the drain closes it collaboratively afterwards.
    { atSecs: 30, kind: 'partition', between: ['taker2', 'maker1'], forSecs: 5 },
  ],
  expect: {
    fundingConserved: true,
    noneStuck: true,
    satsConserved: true,
    liquidationsPaid: true,
    minLiquidations: 0,
  },
};

/** Hand-made: a gentle zigzag every 2 s; three opens, two closes (one after the restart). */
const plan: Plan = {
  prices: Array.from({ length: 23 }, (_, i) => ({
    atSecs: i * 2,
    price: 50_000 + (i % 4) * 25 - 25,
  })),
  actions: [
    { atSecs: 1, taker: 'taker1', action: 'open', side: 'long', lots: 1, leverage: 2 },
    { atSecs: 2, taker: 'taker2', action: 'open', side: 'short', lots: 2, leverage: 2 },
    { atSecs: 3, taker: 'taker3', action: 'open', side: 'long', lots: 1, leverage: 2 },
    { atSecs: 15, taker: 'taker1', action: 'close' },
    { atSecs: 32, taker: 'taker3', action: 'close' },
  ],
  faults: scenario.faults,
};

const lines = async (dir: string, name: string) =>
  (await readFile(join(dir, name), 'utf8')).trimEnd().split('\n');
/** A CSV's rows as objects by its header (no quoted commas in these files' checked columns). */
async function table(dir: string, name: string): Promise<Record<string, string>[]> {
  const [header, ...rows] = await lines(dir, name);
  const keys = header!.split(',');
  return rows.map((r) => Object.fromEntries(r.split(',').map((v, i) => [keys[i], v])));
}

describe('research run: a CI-sized scenario end to end', function () {
  this.timeout(240_000);
  let dir: { path: string; cleanup: () => Promise<void> };
  let summary: RunSummary;
  let wallMs: number;

  before(async () => {
    dir = await tempDir('dlcfd-run-');
    const started = Date.now();
    summary = await runScenario(scenario, plan, {
      dir: dir.path,
      progress: (s) => console.log(`    ${s}`),
      ...(process.env.RUN_LOG && { logger: pino({ level: process.env.RUN_LOG }) }),
    });
    wallMs = Date.now() - started;
  });
  after(() => (process.env.RUN_KEEP ? console.log(`    kept ${dir.path}`) : dir?.cleanup()));

  it('writes every results file with its header', async () => {
    for (const [key, header] of Object.entries(HEADERS)) {
      const file = RESULT_FILES[key as keyof typeof HEADERS];
      assert.equal((await lines(dir.path, file))[0], header, file);
    }
    const proms = await readdir(join(dir.path, RESULT_FILES.metrics));
    assert.deepEqual(proms.sort(), ['maker1.prom', 'taker1.prom', 'taker2.prom', 'taker3.prom']);
    const prom = await readFile(join(dir.path, RESULT_FILES.metrics, 'taker1.prom'), 'utf8');
    assert.match(prom, /dlcfd_cfds\{state="closed"\} [1-9]/);
    const onDisk = JSON.parse(await readFile(join(dir.path, RESULT_FILES.summary), 'utf8'));
    assert.deepEqual(onDisk, JSON.parse(JSON.stringify(summary)));
    // The report comes with the run (its content is test/research/report's business).
    const report = await readFile(join(dir.path, RESULT_FILES.report), 'utf8');
    assert.match(report, new RegExp(`<title>[^<]*${summary.scenario}`));
    console.log(`    run wall time ${(wallMs / 1000).toFixed(1)} s`);
  });

  it('passes every check of the scenario', () => {
    for (const c of summary.checks) assert.ok(c.ok, `${c.name}: ${c.detail}`);
    assert.deepEqual(
      summary.checks.map((c) => c.name),
      ['fundingConserved', 'noneStuck', 'satsConserved', 'liquidationsPaid', 'minLiquidations'],
    );
    assert.deepEqual(summary.stuck, []);
  });

  it('records each planned action as it went, and the positions reconcile with the nodes', async () => {
    const trades = await table(dir.path, RESULT_FILES.trades);
    const opens = trades.filter((t) => t.action === 'open');
    assert.deepEqual(opens.map((t) => [t.taker, t.outcome, t.maker]).sort(), [
      ['taker1', 'completed', 'maker1'],
      ['taker2', 'completed', 'maker1'],
      ['taker3', 'completed', 'maker1'],
    ]);
    const closes = trades.filter((t) => t.action === 'close');
    assert.deepEqual(closes.map((t) => [t.taker, t.outcome]).sort(), [
      ['taker1', 'completed'],
      ['taker3', 'completed'],
    ]);
    const positions = await table(dir.path, RESULT_FILES.positions);
    assert.deepEqual(
      positions.map((p) => p.cfdId).sort(),
      opens.map((t) => t.cfdId).sort(),
      'one position per completed open',
    );
    // The two the plan closed closed collaboratively. taker2's rolls over through the restart
    // and the partition if it can; when its rollovers keep failing past its settlement event it
    // settles by CET at the oracle's price instead — both are ends, and the checks hold either way.
    const closedBy = (taker: string) => positions.find((p) => p.taker === taker)?.closedBy;
    assert.equal(closedBy('taker1'), 'collaborative');
    assert.equal(closedBy('taker3'), 'collaborative');
    assert.ok(['collaborative', 'forceClose'].includes(closedBy('taker2')!), closedBy('taker2'));
    assert.equal(summary.cfds.opened, 3);
    assert.equal(summary.cfds.open, 0);
    assert.equal(
      Object.values(summary.cfds.closedBy).reduce((a, b) => a + b, 0),
      3,
    );
    // The nodes' own logs: both sides completed each setup and each close.
    const events = (await lines(dir.path, RESULT_FILES.events)).map(
      (l) => JSON.parse(l) as { node: string; cfdId: string; type: string },
    );
    for (const p of positions) {
      for (const node of [p.taker, p.maker]) {
        const end =
          p.closedBy === 'collaborative' ? 'CollaborativeSettlementConfirmed' : 'CetConfirmed';
        for (const type of ['ContractSetupCompleted', end]) {
          assert.ok(
            events.some((e) => e.node === node && e.cfdId === p.cfdId && e.type === type),
            `${node} ${p.cfdId} ${type}`,
          );
        }
      }
      assert.ok(BigInt(p.onchainFeeSats!) > 0n, 'the lock and the close paid fees');
      assert.notEqual(p.pnlSats, '', 'a realised P/L once closed');
    }
    const protocols = await table(dir.path, RESULT_FILES.protocols);
    for (const p of positions) {
      for (const node of [p.taker, p.maker]) {
        assert.ok(
          protocols.some(
            (r) =>
              r.node === node &&
              r.cfdId === p.cfdId &&
              r.protocol === 'setup' &&
              r.outcome === 'completed',
          ),
          `${node} setup of ${p.cfdId}`,
        );
      }
    }
    assert.ok(
      protocols.some((r) => r.protocol === 'rollover' && r.outcome === 'completed'),
      'positions rolled over during the run',
    );
  });

  it('records the prices served, the fault and the equity over time', async () => {
    const prices = await table(dir.path, RESULT_FILES.prices);
    assert.equal(prices.length, plan.prices.filter((p) => p.atSecs < scenario.durationSecs).length);
    assert.equal(prices[1]!.price, '50000');
    const faults = await table(dir.path, RESULT_FILES.faults);
    assert.deepEqual(
      faults.map((f) => [f.kind, f.target, f.phase]),
      [
        ['makerRestart', 'maker1', 'start'],
        ['makerRestart', 'maker1', 'end'],
        ['partition', 'taker2|maker1', 'start'],
        ['partition', 'taker2|maker1', 'end'],
      ],
    );
    const down = Number(faults[1]!.t) - Number(faults[0]!.t);
    assert.ok(down >= 4_000, `the maker was down ${down} ms`);
    const equity = await table(dir.path, RESULT_FILES.equity);
    for (const node of ['maker1', 'taker1', 'taker2', 'taker3']) {
      assert.ok(equity.filter((e) => e.node === node).length >= 5, `${node} sampled`);
    }
    // While the maker was down it was not sampled.
    assert.ok(
      !equity.some(
        (e) =>
          e.node === 'maker1' &&
          Number(e.t) > Number(faults[0]!.t) + 500 &&
          Number(e.t) < Number(faults[1]!.t) - 500,
      ),
    );
  });
});
