// Price paths: a seeded walk replays from its seed, shocks reach their target, a CSV replays
// the file's quotes compressed by the time scale.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { resolveScenarioPath, ScenarioError } from '../../../research/scenario/parse.ts';
import { pricePath, readQuotes } from '../../../research/scenario/price.ts';
import type { PriceSpec } from '../../../research/scenario/types.ts';
import { tempDir } from './fixtures.ts';

const DAY_FILE = 'research/data/btcusd-bitstamp-2025-02-02.csv';
const walk = (over: Partial<Extract<PriceSpec, { kind: 'walk' }>> = {}): PriceSpec => ({
  kind: 'walk',
  start: 100_000,
  volatility: 0.0005,
  stepSecs: 1,
  shocks: [],
  ...over,
});
const at = (path: readonly { atSecs: number; price: number }[], t: number) =>
  path.find((p) => p.atSecs === t)?.price;

describe('research/scenario/price', () => {
  describe('walk', () => {
    it('is the same for the same seed and differs for another', () => {
      const a = pricePath(walk(), 7, 600, 60);
      assert.deepEqual(pricePath(walk(), 7, 600, 60), a);
      assert.notDeepEqual(pricePath(walk(), 8, 600, 60), a);
    });

    it('starts at its start, quotes every step to the end, in cents', () => {
      const path = pricePath(walk({ stepSecs: 5 }), 1, 600, 60);
      assert.equal(path[0]!.price, 100_000);
      assert.deepEqual(
        path.map((p) => p.atSecs),
        Array.from({ length: 121 }, (_, i) => i * 5),
      );
      for (const p of path) assert.equal(Math.round(p.price * 100), p.price * 100);
    });

    it('moves with its volatility: log returns have about the standard deviation asked', () => {
      const path = pricePath(walk({ volatility: 0.001 }), 3, 20_000, 60);
      const r = path.slice(1).map((p, i) => Math.log(p.price / path[i]!.price));
      const mean = r.reduce((s, x) => s + x, 0) / r.length;
      const sd = Math.sqrt(r.reduce((s, x) => s + (x - mean) ** 2, 0) / r.length);
      assert.ok(Math.abs(sd - 0.001) < 0.00005, `sd ${sd}`);
      assert.ok(pricePath(walk({ volatility: 0 }), 3, 100, 60).every((p) => p.price === 100_000));
    });
  });

  describe('shocks', () => {
    it('moves the price linearly to its target and holds it there', () => {
      const shocks = [{ atSecs: 100, changePercent: -30, overSecs: 300 }];
      const path = pricePath(walk({ volatility: 0, shocks }), 1, 600, 60);
      assert.equal(at(path, 100), 100_000);
      assert.equal(at(path, 250), 85_000);
      assert.equal(at(path, 400), 70_000);
      assert.equal(at(path, 600), 70_000);
    });

    it('applies on top of the walk: the shocked path is the walk times the move', () => {
      const shocks = [{ atSecs: 200, changePercent: -40, overSecs: 100 }];
      const plain = pricePath(walk(), 5, 600, 60);
      const shocked = pricePath(walk({ shocks }), 5, 600, 60);
      assert.deepEqual(shocked.slice(0, 201), plain.slice(0, 201));
      for (const t of [300, 450, 600]) {
        assert.ok(Math.abs(at(shocked, t)! / at(plain, t)! - 0.6) < 1e-6, `at ${t}`);
      }
    });

    it('puts a quote on each edge of a shock between two steps', () => {
      const shocks = [{ atSecs: 90, changePercent: 20, overSecs: 45 }];
      const path = pricePath(walk({ volatility: 0, stepSecs: 60, shocks }), 1, 300, 60);
      assert.deepEqual(
        path.map((p) => [p.atSecs, p.price]),
        [
          [0, 100_000],
          [60, 100_000],
          [90, 100_000],
          [120, 113_333.33],
          [135, 120_000],
          [180, 120_000],
          [240, 120_000],
          [300, 120_000],
        ],
      );
    });
  });

  describe('csv replay', () => {
    const rows = readFileSync(resolveScenarioPath(DAY_FILE), 'utf8')
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => l.split(',').map(Number) as [number, number]);

    it('ships one real UTC day of 1-minute quotes', () => {
      assert.equal(rows.length, 1440);
      assert.equal(rows[0]![0] % 86_400, 0);
      assert.deepEqual(
        rows.map(([t]) => t),
        rows.map((_, i) => rows[0]![0] + 60 * i),
      );
    });

    it("replays the file's quotes, one production minute per run second at 60×", () => {
      const path = pricePath({ kind: 'csv', file: DAY_FILE, shocks: [] }, 1, 1440, 60);
      assert.deepEqual(
        path,
        rows.map(([, price], i) => ({ atSecs: i, price })),
      );
    });

    it('compresses by the time scale and stops at the end of the run', () => {
      const path = pricePath({ kind: 'csv', file: DAY_FILE, shocks: [] }, 1, 100, 120);
      assert.equal(path.length, 201);
      assert.deepEqual(path[3], { atSecs: 1.5, price: rows[3]![1] });
      assert.equal(path.at(-1)!.atSecs, 100);
    });

    it('takes shocks on top of the replay', () => {
      const shocks = [{ atSecs: 600, changePercent: -40, overSecs: 300 }];
      const path = pricePath({ kind: 'csv', file: DAY_FILE, shocks }, 1, 1440, 60);
      assert.equal(path[600]!.price, rows[600]![1]);
      assert.ok(Math.abs(path[900]!.price / rows[900]![1] - 0.6) < 1e-6);
    });

    describe('a malformed file', () => {
      const dir = tempDir('dlcfd-quotes-');

      it('is refused line by line', async () => {
        const file = join(dir(), 'bad.csv');
        await writeFile(file, 'time,price\n1000,50000\n1060,oops\n1060,50001\n1000,1\n');
        assert.throws(
          () => readQuotes(file),
          (e: Error) => {
            assert.ok(e instanceof ScenarioError);
            assert.deepEqual(e.problems, [
              'line 3: must be <unix seconds>,<price above 0>',
              'line 5: time must increase',
            ]);
            return true;
          },
        );
      });
    });
  });
});
