// The scenario format: defaults filled, and each kind of mistake one line naming file and path.
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import {
  loadScenario,
  parseScenario,
  resolveScenarioPath,
  ScenarioError,
} from '../../../research/scenario/parse.ts';
import { rawScenario, tempDir } from './fixtures.ts';

const ORIGIN = 'scenarios/x.yaml';

/** The lines of the ScenarioError `raw` raises. */
function problems(raw: unknown): readonly string[] {
  try {
    parseScenario(raw, ORIGIN);
  } catch (e) {
    assert.ok(e instanceof ScenarioError, String(e));
    assert.equal(e.origin, ORIGIN);
    return e.problems;
  }
  assert.fail('the scenario passed');
}

describe('research/scenario/parse', () => {
  it('fills every default and names the scenario after its file', () => {
    const s = parseScenario(rawScenario(), 'scenarios/calmish.yaml');
    assert.equal(s.name, 'calmish');
    assert.equal(s.seed, 1);
    assert.equal(s.timeScale, 60);
    assert.deepEqual(s.makers[0], {
      name: 'maker1',
      spreadBps: 10,
      fundingRate: '0.0001',
      leverages: [1, 2, 5],
      maxLots: 100,
      fundSats: 1_000_000_000n,
    });
    assert.deepEqual(s.takers[0]!.actor, {
      strategy: 'random',
      everySecs: 10,
      lots: [1, 3],
      leverages: [2],
    });
    assert.equal(s.takers[0]!.fundSats, 10_000_000n);
    assert.deepEqual(s.price, {
      kind: 'walk',
      start: 100_000,
      volatility: 0.0005,
      stepSecs: 1,
      shocks: [],
    });
    assert.deepEqual(s.faults, []);
    assert.deepEqual(s.expect, {
      fundingConserved: true,
      noneStuck: true,
      satsConserved: true,
      liquidationsPaid: true,
      minLiquidations: 0,
    });
  });

  it('takes sats as a number or a string of digits', () => {
    const s = parseScenario(
      rawScenario({ makers: [{ name: 'maker1', fundSats: '2100000000000000' }] }),
      ORIGIN,
    );
    assert.equal(s.makers[0]!.fundSats, 2_100_000_000_000_000n);
  });

  // one per kind of mistake: the exact line the user reads
  const mistakes: [string, Record<string, unknown>, string][] = [
    [
      'a number out of range',
      { takers: [{ prefix: 't', count: 501, actor: { strategy: 'random' } }] },
      'takers[0].count: must be 1 … 500',
    ],
    [
      'a missing field',
      { takers: [{ prefix: 't', actor: { strategy: 'random' } }] },
      'takers[0].count: is required',
    ],
    [
      'a misspelt field',
      { takers: [{ prefix: 't', count: 1, cuont: 2, actor: { strategy: 'random' } }] },
      'takers[0].cuont: unknown field',
    ],
    ['a wrong type', { durationSecs: 'long' }, 'durationSecs: must be a whole number 1 … 604800'],
    [
      'an unknown strategy',
      { takers: [{ prefix: 't', count: 1, actor: { strategy: 'yolo' } }] },
      'takers[0].actor.strategy: must be one of random, trendFollowing, meanReverting, holdToLiquidation, or plugin:<path>',
    ],
    ['an unknown price kind', { price: { kind: 'moon' } }, 'price.kind: must be walk or csv'],
    [
      'an unknown fault kind',
      { faults: [{ kind: 'meteor', atSecs: 1 }] },
      'faults[0].kind: must be oracleSilent, oracleLate, feedStale, makerRestart, takerOffline, partition or feeSpike',
    ],
    [
      'a leverage no maker may offer',
      { makers: [{ name: 'maker1', leverages: [7] }] },
      'makers[0].leverages[0]: each leverage must be one of 1, 2, 3, 4, 5, 10, 15, 20, 25, 50, 100',
    ],
    [
      'a lot range upside down',
      { takers: [{ prefix: 't', count: 1, actor: { strategy: 'random', lots: [3, 1] } }] },
      'takers[0].actor.lots: the lowest must not exceed the highest',
    ],
    [
      'sats that are not whole',
      { makers: [{ name: 'maker1', fundSats: 1.5 }] },
      'makers[0].fundSats: must be a whole number of sats',
    ],
    [
      'a fault naming no maker',
      { faults: [{ kind: 'makerRestart', atSecs: 10, maker: 'maker9', downSecs: 5 }] },
      'faults[0].maker: no maker named maker9',
    ],
    [
      'a fault naming no taker',
      { faults: [{ kind: 'takerOffline', atSecs: 10, taker: 't4', rollovers: 1 }] },
      'faults[0].taker: no taker named t4',
    ],
    [
      'a partition with an unknown node',
      { faults: [{ kind: 'partition', atSecs: 10, forSecs: 5, between: ['maker1', 'nobody'] }] },
      'faults[0].between[1]: no node named nobody',
    ],
    [
      'a fault after the run',
      { faults: [{ kind: 'oracleSilent', atSecs: 590, forSecs: 20 }] },
      'faults[0]: ends at 610 s, after the run (600 s)',
    ],
    [
      'a shock after the run',
      { price: { kind: 'walk', shocks: [{ atSecs: 500, changePercent: -30, overSecs: 300 }] } },
      'price.shocks[0]: ends at 800 s, after the run',
    ],
    [
      'a leverage no maker offers',
      {
        takers: [{ prefix: 't', count: 1, actor: { strategy: 'random', leverages: [10] } }],
      },
      'takers[0].actor.leverages: no maker offers 10×',
    ],
    [
      'a name used twice',
      { makers: [{ name: 'maker1' }, { name: 'maker1' }] },
      'makers[1].name: maker1 is used twice',
    ],
    [
      'groups whose takers collide',
      {
        takers: [
          { prefix: 't', count: 1, actor: { strategy: 'random' } },
          { prefix: 't', count: 2, actor: { strategy: 'random' } },
        ],
      },
      'takers[1].prefix: t1 is used twice',
    ],
    [
      'a missing quotes file',
      { price: { kind: 'csv', file: 'research/data/nope.csv' } },
      'price.file: no such file: research/data/nope.csv',
    ],
    [
      'a missing plugin',
      { takers: [{ prefix: 't', count: 1, actor: { strategy: 'plugin:research/nope.ts' } }] },
      'takers[0].actor.strategy: no such file: research/nope.ts',
    ],
  ];
  for (const [what, over, line] of mistakes) {
    it(`refuses ${what}: "${line}"`, () => {
      assert.deepEqual(problems(rawScenario(over)), [line]);
    });
  }

  it('lists every mistake at once, each on its own line prefixed by the file', () => {
    const raw = rawScenario({ seed: -1, timeScale: 0 });
    let message = '';
    try {
      parseScenario(raw, ORIGIN);
    } catch (e) {
      message = (e as Error).message;
    }
    assert.equal(
      message,
      `${ORIGIN}: seed: must be 0 … 4294967295\n${ORIGIN}: timeScale: must be above 0`,
    );
  });

  it('refuses something that is not a mapping', () => {
    assert.deepEqual(problems('hello'), ['(top level): must be a mapping of scenario fields']);
  });

  it('parses the example in research/scenario/README.md, every field as it says', async () => {
    const doc = await readFile(resolveScenarioPath('research/scenario/README.md'), 'utf8');
    const example = /```yaml\n([\s\S]*?)```/.exec(doc)![1]!;
    const s = parseScenario(parseYaml(example), 'README.md');
    assert.equal(s.faults.length, 7);
    assert.equal(s.makers[1]!.fundSats, 1_000_000_000n);
    assert.deepEqual(s.ci, { takers: 6, durationSecs: 240, timeScale: 60 });
  });

  describe('files', () => {
    const dir = tempDir('dlcfd-scenario-');

    it('loads YAML, and names the line of a syntax error', async () => {
      const file = join(dir(), 'ok.yaml');
      await writeFile(
        file,
        'durationSecs: 60\nmakers: [{name: m}]\ntakers: [{prefix: t, count: 1, actor: {strategy: random}}]\n',
      );
      const s = await loadScenario(file);
      assert.equal(s.name, 'ok');
      const bad = join(dir(), 'bad.yaml');
      await writeFile(bad, 'durationSecs: 60\nmakers: [{name: m}\n');
      await assert.rejects(loadScenario(bad), (e: Error) => {
        assert.ok(e instanceof ScenarioError);
        assert.match(e.message, /bad\.yaml: line \d+: \w+: not valid YAML/);
        return true;
      });
    });

    it('loads a TypeScript module exporting the raw scenario', async () => {
      const file = join(dir(), 'typed.ts');
      await writeFile(file, `export default ${JSON.stringify(rawScenario({ seed: 7 }))};\n`);
      const s = await loadScenario(file);
      assert.equal(s.name, 'typed');
      assert.equal(s.seed, 7);
    });

    it('names the file of a module without a default export', async () => {
      const file = join(dir(), 'none.ts');
      await writeFile(file, 'export const scenario = {};\n');
      await assert.rejects(loadScenario(file), /none\.ts: \(module\): must export default/);
    });
  });
});
