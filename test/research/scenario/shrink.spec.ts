// The three shipped scenarios parse, plan, and shrink to their CI size.
import assert from 'node:assert/strict';
import { loadScenario, parseScenario, takerNames } from '../../../research/scenario/parse.ts';
import { plan } from '../../../research/scenario/plan.ts';
import { ciScenario, shrink } from '../../../research/scenario/shrink.ts';
import type { Scenario } from '../../../research/scenario/types.ts';
import { rawScenario } from './fixtures.ts';

const takersOf = (s: Scenario) => s.takers.reduce((n, g) => n + g.count, 0);

describe('research/scenario: scenarios/*.yaml and shrink', () => {
  const files: Record<string, Scenario> = {};
  before(async () => {
    for (const name of ['calm', 'crash', 'chaos']) {
      files[name] = await loadScenario(`scenarios/${name}.yaml`);
    }
  });

  it('calm: 20 traders of three kinds on a walk, shrinking to 4', () => {
    const calm = files.calm!;
    assert.equal(takersOf(calm), 20);
    assert.equal(calm.price.kind, 'walk');
    const ci = ciScenario(calm);
    assert.equal(takersOf(ci), 4);
    assert.equal(ci.durationSecs, 30);
    assert.equal(ci.ci, undefined);
    assert.ok(plan(ci).actions.length > 0);
  });

  it('crash: the real day replayed with a -40 % shock that stays at its share of the run', () => {
    const crash = files.crash!;
    assert.equal(crash.price.kind, 'csv');
    assert.deepEqual(crash.price.shocks, [{ atSecs: 600, changePercent: -40, overSecs: 300 }]);
    assert.ok(crash.expect.minLiquidations > 0);
    const ci = ciScenario(crash);
    assert.deepEqual(ci.price.shocks, [{ atSecs: 17, changePercent: -40, overSecs: 8 }]);
    const p = plan(ci);
    const end = p.prices.findLast((q) => q.atSecs <= 25)!.price;
    const start = p.prices.findLast((q) => q.atSecs <= 17)!.price;
    assert.ok(end / start < 0.62, `${start} → ${end}`);
    // every hold-to-liquidation taker opens at 5× or 10× before the shock
    const opens = p.actions.filter((a) => a.taker.startsWith('hodl'));
    assert.ok(opens.length >= ci.expect.minLiquidations);
    assert.ok(opens.every((a) => a.action === 'open' && a.leverage! >= 5 && a.atSecs < 17));
    // Asked for 4 takers, three groups round to 1 each: the liquidations expected follow the 3.
    const four = shrink(crash, { takers: 4, durationSecs: 40 });
    assert.equal(takersOf(four), 3);
    assert.equal(four.expect.minLiquidations, 2);
  });

  it('chaos: every kind of fault but the fee spike, on nodes that exist after shrinking', () => {
    const chaos = files.chaos!;
    assert.deepEqual(
      new Set(chaos.faults.map((f) => f.kind)),
      new Set([
        'makerRestart',
        'oracleSilent',
        'partition',
        'feedStale',
        'oracleLate',
        'takerOffline',
      ]),
    );
    const ci = ciScenario(chaos);
    const nodes = new Set([...ci.makers.map((m) => m.name), ...takerNames(ci)]);
    for (const f of ci.faults) {
      if (f.kind === 'partition') for (const n of f.between) assert.ok(nodes.has(n), n);
      if (f.kind === 'takerOffline') assert.ok(nodes.has(f.taker), f.taker);
      assert.ok(f.atSecs < ci.durationSecs);
    }
    const silent = ci.faults.find((f) => f.kind === 'oracleSilent')!;
    assert.equal(silent.atSecs, 10); // 600 of 1800 s → 10 of 30 s
  });

  it('shrink keeps every taker a fault names, and scales cadences', () => {
    const s = parseScenario(
      rawScenario({
        takers: [{ prefix: 't', count: 10, actor: { strategy: 'random', everySecs: 60 } }],
        faults: [{ kind: 'takerOffline', atSecs: 300, taker: 't3', rollovers: 1 }],
      }),
      'x',
    );
    const small = shrink(s, { takers: 1, durationSecs: 60, timeScale: 600 });
    assert.equal(small.takers[0]!.count, 3);
    assert.equal(small.takers[0]!.actor.everySecs, 6);
    assert.equal(small.timeScale, 600);
    assert.deepEqual(small.faults, [
      { kind: 'takerOffline', atSecs: 30, taker: 't3', rollovers: 1 },
    ]);
  });

  it('refuses a CI size with fewer takers than groups', () => {
    assert.throws(
      () =>
        parseScenario(
          rawScenario({
            takers: [
              { prefix: 'a', count: 2, actor: { strategy: 'random' } },
              { prefix: 'b', count: 2, actor: { strategy: 'random' } },
            ],
            ci: { takers: 1, durationSecs: 60 },
          }),
          'x.yaml',
        ),
      /^ScenarioError: x\.yaml: ci\.takers: must be at least 2 \(one per group\)$/,
    );
  });
});
