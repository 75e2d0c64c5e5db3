// The plan: replayable from the seed, each taker on its own cadence and its own stream.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseScenario, ScenarioError } from '../../../research/scenario/parse.ts';
import { plan } from '../../../research/scenario/plan.ts';
import { loadStrategies } from '../../../research/scenario/strategies.ts';
import type { PlannedAction } from '../../../research/scenario/types.ts';
import { rawScenario, tempDir } from './fixtures.ts';

const mixed = rawScenario({
  seed: 11,
  durationSecs: 900,
  makers: [{ name: 'maker1', leverages: [1, 2, 5, 10] }],
  takers: [
    { prefix: 'r', count: 4, actor: { strategy: 'random', everySecs: 20 } },
    { prefix: 'tf', count: 3, actor: { strategy: 'trendFollowing', everySecs: 15 } },
    { prefix: 'mr', count: 3, actor: { strategy: 'meanReverting', everySecs: 10 } },
    {
      prefix: 'h',
      count: 3,
      actor: { strategy: 'holdToLiquidation', everySecs: 30, leverages: [5, 10] },
    },
  ],
  faults: [
    { kind: 'feedStale', atSecs: 500, forSecs: 10 },
    { kind: 'oracleSilent', atSecs: 100, forSecs: 10 },
    { kind: 'makerRestart', atSecs: 300, maker: 'maker1', downSecs: 10 },
  ],
});
const byTaker = (actions: readonly PlannedAction[], taker: string) =>
  actions.filter((a) => a.taker === taker);

describe('research/scenario/plan', () => {
  const scenario = parseScenario(mixed, 'mixed');
  const p = plan(scenario);

  it('is deep-equal for the same seed and differs for another', () => {
    assert.deepEqual(plan(parseScenario(mixed, 'mixed')), p);
    const other = plan(parseScenario({ ...mixed, seed: 12 }, 'mixed'));
    assert.notDeepEqual(other.prices, p.prices);
    assert.notDeepEqual(other.actions, p.actions);
  });

  it('has every kind of actor act, in time order', () => {
    for (const t of ['r1', 'tf1', 'mr1', 'h1']) assert.ok(byTaker(p.actions, t).length, t);
    const times = p.actions.map((a) => a.atSecs);
    assert.deepEqual(
      times,
      [...times].sort((a, b) => a - b),
    );
    assert.ok(times.every((t) => t >= 0 && t < 900));
  });

  it('has each taker decide on its own cadence, opening and closing in turn', () => {
    for (const g of scenario.takers) {
      for (let i = 1; i <= g.count; i++) {
        const mine = byTaker(p.actions, `${g.prefix}${i}`);
        const first = mine[0]!.atSecs % g.actor.everySecs;
        mine.forEach((a, k) => {
          assert.equal(a.atSecs % g.actor.everySecs, first);
          assert.equal(a.action, k % 2 === 0 ? 'open' : 'close');
          if (a.action === 'open') assert.ok(g.actor.leverages.includes(a.leverage!));
        });
      }
    }
  });

  it('has a hold-to-liquidation actor open once at its highest leverage', () => {
    for (const t of ['h1', 'h2', 'h3']) {
      const mine = byTaker(p.actions, t);
      assert.equal(mine.length, 1);
      assert.equal(mine[0]!.leverage, 10);
    }
  });

  it("keeps a taker's decisions when another group is added (each its own stream)", () => {
    const more = plan(
      parseScenario(
        {
          ...mixed,
          takers: [
            ...(mixed.takers as object[]),
            { prefix: 'x', count: 5, actor: { strategy: 'random' } },
          ],
        },
        'mixed',
      ),
    );
    assert.deepEqual(byTaker(more.actions, 'r2'), byTaker(p.actions, 'r2'));
    assert.deepEqual(byTaker(more.actions, 'mr3'), byTaker(p.actions, 'mr3'));
  });

  it('has takers of one group decide apart (each its own stream)', () => {
    const [r1, r2] = [byTaker(p.actions, 'r1'), byTaker(p.actions, 'r2')];
    assert.notDeepEqual(
      r1.map(({ taker: _, ...a }) => a),
      r2.map(({ taker: _, ...a }) => a),
    );
  });

  it('lists the faults in time order', () => {
    assert.deepEqual(
      p.faults.map((f) => f.kind),
      ['oracleSilent', 'makerRestart', 'feedStale'],
    );
  });

  describe('plugins', () => {
    const dir = tempDir('dlcfd-plan-');
    const withPlugin = (strategy: string) =>
      parseScenario(
        rawScenario({ takers: [{ prefix: 'p', count: 2, actor: { strategy, everySecs: 5 } }] }),
        'plugged',
      );

    it('plans a plugin loaded with loadStrategies, and refuses one not loaded', async () => {
      const s = withPlugin('plugin:research/examples/contrarian.ts');
      assert.throws(() => plan(s), /takers\[0\]\.actor\.strategy: .* is not loaded/);
      const planned = plan(s, await loadStrategies(s));
      assert.ok(byTaker(planned.actions, 'p1').length > 2);
    });

    it('refuses a plugin that opens twice, naming it, the taker and the time', async () => {
      const file = join(dir(), 'greedy.ts');
      await writeFile(
        file,
        "export default { decide: () => ({ action: 'open', side: 'long', lots: 1, leverage: 2 }) };\n",
      );
      const s = withPlugin(`plugin:${file}`);
      const strategies = await loadStrategies(s);
      assert.throws(
        () => plan(s, strategies),
        (e: Error) => {
          assert.ok(e instanceof ScenarioError);
          assert.match(e.message, /greedy\.ts: p1 at \d+ s: opens while holding a position/);
          return true;
        },
      );
    });
  });
});
