// The built-in strategies, each on prices made to trigger it, and plugins.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ScenarioError } from '../../../research/scenario/parse.ts';
import { uniform } from '../../../research/scenario/random.ts';
import { loadStrategy, STRATEGIES } from '../../../research/scenario/strategies.ts';
import type { ActorSpec, Strategy } from '../../../research/scenario/types.ts';
import { tempDir } from './fixtures.ts';

const spec: ActorSpec = { strategy: 'random', everySecs: 1, lots: [2, 4], leverages: [2, 5] };
type Holding = { side: 'long' | 'short' } | null;

/** `strategy`'s decision on quotes `prices` (one a second), holding `holding`. */
function decide(strategy: Strategy, prices: number[], holding: Holding = null, s = spec) {
  return strategy.decide({
    atSecs: prices.length - 1,
    prices: prices.map((price, atSecs) => ({ atSecs, price })),
    holding,
    random: uniform(42),
    spec: s,
  });
}

const flat = Array<number>(20).fill(100);

describe('research/scenario/strategies', () => {
  describe('holdToLiquidation', () => {
    const s = STRATEGIES.holdToLiquidation;
    it('opens long at its highest leverage, once, and never closes', () => {
      const d = decide(s, flat);
      assert.equal(d?.action, 'open');
      assert.equal(d.side, 'long');
      assert.equal(d.leverage, 5);
      assert.ok(d.lots! >= 2 && d.lots! <= 4);
      for (const prices of [flat, [...flat, 50], [...flat, 200]]) {
        assert.equal(decide(s, prices, { side: 'long' }), null);
      }
    });
    it('opens the side its spec gives', () => {
      assert.equal(decide(s, flat, null, { ...spec, side: 'short' })?.side, 'short');
    });
  });

  describe('trendFollowing', () => {
    const s = STRATEGIES.trendFollowing;
    const rising = [...flat, 100.5, 101, 101.5];
    const falling = [...flat, 99.5, 99, 98.5];
    it('goes long on a rise and short on a fall', () => {
      assert.deepEqual([decide(s, rising)?.side, decide(s, falling)?.side], ['long', 'short']);
    });
    it('has no view on a flat market or noise below its threshold', () => {
      assert.equal(decide(s, flat), null);
      assert.equal(decide(s, [...flat, 100.05]), null);
    });
    it('closes when the move turns against it, and holds while it does not', () => {
      assert.deepEqual(decide(s, falling, { side: 'long' }), { action: 'close' });
      assert.equal(decide(s, rising, { side: 'long' }), null);
      assert.equal(decide(s, flat, { side: 'short' }), null);
    });
  });

  describe('meanReverting', () => {
    const s = STRATEGIES.meanReverting;
    it('sells above the mean, buys below, and waits near it', () => {
      assert.equal(decide(s, [...flat, 101])?.side, 'short');
      assert.equal(decide(s, [...flat, 99])?.side, 'long');
      assert.equal(decide(s, [...flat, 100.1]), null);
    });
    it('closes once the price is back at the mean', () => {
      assert.deepEqual(decide(s, flat, { side: 'short' }), { action: 'close' });
      assert.equal(decide(s, [...flat, 101], { side: 'short' }), null);
      assert.equal(decide(s, [...flat, 99], { side: 'long' }), null);
    });
  });

  describe('random', () => {
    const s = STRATEGIES.random;
    it('opens about half its flat ticks on either side within its ranges, closes about a quarter', () => {
      const random = uniform(9);
      const prices = [{ atSecs: 0, price: 100 }];
      const tick = (holding: Holding) => s.decide({ atSecs: 0, prices, holding, random, spec });
      const opens = Array.from({ length: 2000 }, () => tick(null)).filter((d) => d !== null);
      assert.ok(Math.abs(opens.length / 2000 - 0.5) < 0.05, `${opens.length} opens`);
      assert.deepEqual(new Set(opens.map((d) => d.side)), new Set(['long', 'short']));
      assert.deepEqual(new Set(opens.map((d) => d.lots)), new Set([2, 3, 4]));
      assert.deepEqual(new Set(opens.map((d) => d.leverage)), new Set([2, 5]));
      const closes = Array.from({ length: 2000 }, () => tick({ side: 'long' })).filter(Boolean);
      assert.ok(Math.abs(closes.length / 2000 - 0.25) < 0.05, `${closes.length} closes`);
    });
  });

  describe('plugins', () => {
    const dir = tempDir('dlcfd-plugin-');

    it('loads the example plugin by its path from the repository root', async () => {
      const s = await loadStrategy('plugin:research/examples/contrarian.ts');
      assert.equal(decide(s, [...flat, 101])?.side, 'short');
      assert.equal(decide(s, [...flat, 99])?.side, 'long');
      assert.deepEqual(decide(s, [...flat, 99], { side: 'short' }), { action: 'close' });
    });

    it('gives a built-in by its name', async () => {
      assert.equal(await loadStrategy('meanReverting'), STRATEGIES.meanReverting);
    });

    it('refuses a module that exports no strategy, naming it', async () => {
      const file = join(dir(), 'empty.ts');
      await writeFile(file, 'export default { name: "no decide" };\n');
      await assert.rejects(loadStrategy(`plugin:${file}`), (e: Error) => {
        assert.ok(e instanceof ScenarioError);
        assert.equal(e.message, `${file}: (module): must export default a Strategy (with decide)`);
        return true;
      });
    });
  });
});
