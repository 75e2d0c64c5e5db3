/**
 * The scenario format: a YAML file (or a TypeScript module whose default export is the same
 * object) checked into a {@link Scenario}, with every default filled in. Each mistake becomes one
 * line naming its file and path (`scenarios/crash.yaml: takers[0].count: must be 1 … 500`), all of
 * them in one {@link ScenarioError}, so a researcher fixes a file in one go.
 *
 * Paths inside a scenario (a CSV of quotes, a `plugin:` strategy) are relative to the repository
 * root, where `npm run scenario` runs; absolute paths are taken as they are.
 */

import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, extname, isAbsolute, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { type ZodType, z } from 'zod';
import { NamedError } from '../../model/named-error.ts';
import { MAX_ORACLE_PRICE, PRICE_SCALE } from '../../model/units.ts';
import { makerPolicyFields } from '../../node/daemon/maker-policy.ts';
import type { FaultSpec, Scenario, StrategyName } from './types.ts';

/** A scenario that does not pass the checks: one line per mistake, each naming file and path. */
export class ScenarioError extends NamedError {
  /** The file (or scenario) at fault. */
  readonly origin: string;
  /** Each mistake, `<path>: <what is wrong>`. */
  readonly problems: readonly string[];

  constructor(origin: string, problems: readonly string[]) {
    super(problems.map((p) => `${origin}: ${p}`).join('\n'));
    this.origin = origin;
    this.problems = problems;
  }
}

/** The built-in strategies, by the name a scenario gives. */
export const STRATEGY_NAMES: readonly StrategyName[] = [
  'random',
  'trendFollowing',
  'meanReverting',
  'holdToLiquidation',
];
/** Takers in one group: the scale work aims at a hundred, this bounds typos. */
export const MAX_GROUP_TAKERS = 500;
/** A week of run seconds: longer is a typo, not a run. */
export const MAX_DURATION_SECS = 7 * 24 * 3600;
const MAX_LOTS = 1_000_000;
const MAX_SEED = 2 ** 32 - 1;

/** The repository root: relative paths in a scenario start here. */
export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** A path a scenario gives, made absolute. */
export function resolveScenarioPath(path: string): string {
  return isAbsolute(path) ? path : join(REPO_ROOT, path);
}

/** `message` for a wrong value; "is required" for a missing one. */
const says = (message: string) => ({
  error: (issue: { input?: unknown }) => (issue.input === undefined ? 'is required' : message),
});

const int = (lo: number, hi: number) =>
  z
    .int(says(`must be a whole number ${lo} … ${hi}`))
    .min(lo, `must be ${lo} … ${hi}`)
    .max(hi, `must be ${lo} … ${hi}`);

const positive = z.number(says('must be a number')).positive('must be above 0');
const atSecs = z.number(says('must be a number of run seconds')).min(0, 'must not be negative');

const sats = z
  .union([z.int().min(1), z.string().regex(/^[1-9]\d*$/)], says('must be a whole number of sats'))
  .transform((v) => BigInt(v));

const nodeName = z
  .string(says('must be a name'))
  .regex(/^[a-z][a-z0-9-]*$/, 'must be lower-case letters, digits and -, starting with a letter');

const leverages = makerPolicyFields.leverageChoices;

const shock = z.strictObject({
  atSecs,
  changePercent: z
    .number(says('must be a number'))
    .gt(-100, 'must be above -100')
    .max(1000, 'must be at most 1000'),
  overSecs: positive,
});

const walk = z.strictObject({
  kind: z.literal('walk'),
  start: z
    .number(says('must be a number'))
    .positive('must be above 0')
    .max(
      Number(MAX_ORACLE_PRICE / PRICE_SCALE),
      `must be at most ${MAX_ORACLE_PRICE / PRICE_SCALE}`,
    )
    .default(100_000),
  volatility: z
    .number(says('must be a number'))
    .min(0, 'must be 0 … 0.1')
    .max(0.1, 'must be 0 … 0.1')
    .default(0.0005),
  stepSecs: int(1, 3600).default(1),
  shocks: z.array(shock, says('must be a list')).default([]),
});

const csv = z.strictObject({
  kind: z.literal('csv'),
  file: z.string(says('must be a path')).min(1, 'must be a path'),
  shocks: z.array(shock, says('must be a list')).default([]),
});

const price = z.discriminatedUnion('kind', [walk, csv], says('must be walk or csv'));

const maker = z.strictObject({
  name: nodeName,
  spreadBps: makerPolicyFields.spreadBps.default(10),
  fundingRate: makerPolicyFields.fundingRate.default('0.0001'),
  leverages: leverages.default([1, 2, 5]),
  maxLots: int(1, MAX_LOTS).default(100),
  fundSats: sats.default(1_000_000_000n),
});

const strategy = z
  .string(says('must be a strategy name'))
  .refine((s) => STRATEGY_NAMES.includes(s as StrategyName) || /^plugin:.+/.test(s), {
    message: `must be one of ${STRATEGY_NAMES.join(', ')}, or plugin:<path>`,
  })
  .transform((s) => s as StrategyName | `plugin:${string}`);

const actor = z.strictObject({
  strategy,
  everySecs: int(1, 86_400).default(30),
  lots: z
    .tuple([int(1, MAX_LOTS), int(1, MAX_LOTS)], says('must be [lowest, highest]'))
    .refine(([lo, hi]) => lo <= hi, 'the lowest must not exceed the highest')
    .default([1, 3]),
  leverages: leverages.default([2]),
  side: z.enum(['long', 'short'], says('must be long or short')).optional(),
});

const takerGroup = z.strictObject({
  prefix: nodeName.regex(/[a-z-]$/, 'must not end in a digit (names are <prefix><n>)'),
  count: int(1, MAX_GROUP_TAKERS),
  fundSats: sats.default(10_000_000n),
  actor,
});

const lasting = { atSecs, forSecs: positive };
const fault = z.discriminatedUnion(
  'kind',
  [
    z.strictObject({ kind: z.literal('oracleSilent'), ...lasting }),
    z.strictObject({ kind: z.literal('oracleLate'), ...lasting, delaySecs: positive }),
    z.strictObject({ kind: z.literal('feedStale'), ...lasting }),
    z.strictObject({
      kind: z.literal('makerRestart'),
      atSecs,
      maker: nodeName,
      downSecs: positive,
    }),
    z.strictObject({
      kind: z.literal('takerOffline'),
      atSecs,
      taker: nodeName,
      rollovers: int(1, 1000),
    }),
    z.strictObject({
      kind: z.literal('partition'),
      ...lasting,
      between: z.tuple([nodeName, nodeName], says('must be [node, node]')),
    }),
    z.strictObject({ kind: z.literal('feeSpike'), ...lasting, satPerVb: int(1, 1000) }),
  ],
  says(
    'must be oracleSilent, oracleLate, feedStale, makerRestart, takerOffline, partition or feeSpike',
  ),
);

const bool = z.boolean(says('must be true or false'));

const size = z.strictObject({
  takers: int(1, MAX_GROUP_TAKERS),
  durationSecs: int(1, MAX_DURATION_SECS),
  timeScale: positive.optional(),
});

const scenarioSchema = z.strictObject(
  {
    name: nodeName,
    seed: int(0, MAX_SEED).default(1),
    durationSecs: int(1, MAX_DURATION_SECS),
    timeScale: positive.default(60),
    makers: z.array(maker, says('must be a list')).min(1, 'needs at least one maker'),
    takers: z.array(takerGroup, says('must be a list')).min(1, 'needs at least one taker group'),
    price: price.prefault({ kind: 'walk' }),
    faults: z.array(fault, says('must be a list')).default([]),
    expect: z
      .strictObject({
        fundingConserved: bool.default(true),
        noneStuck: bool.default(true),
        satsConserved: bool.default(true),
        liquidationsPaid: bool.default(true),
        minLiquidations: int(0, 1_000_000).default(0),
      })
      .prefault({}),
    ci: size.optional(),
  },
  says('must be a mapping of scenario fields'),
) satisfies ZodType<Scenario, unknown>;

/** `takers[0].count` from a zod path. */
function formatPath(path: readonly PropertyKey[]): string {
  return path
    .map((k, i) => (typeof k === 'number' ? `[${k}]` : `${i === 0 ? '' : '.'}${String(k)}`))
    .join('');
}

/** A path and a message as one line (`expect: …` for the top level). */
const line = (path: readonly PropertyKey[], message: string) =>
  `${path.length ? formatPath(path) : '(top level)'}: ${message}`;

/** One line per zod issue; an unknown key is a line of its own, named. */
function issueLines(issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.flatMap((issue) =>
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((k) => line([...issue.path, k], 'unknown field'))
      : [line(issue.path, issue.message)],
  );
}

/** Every taker's node name, in group order: `<prefix>1 … <prefix><count>`. */
export function takerNames(scenario: Pick<Scenario, 'takers'>): string[] {
  return scenario.takers.flatMap((g) =>
    Array.from({ length: g.count }, (_, i) => `${g.prefix}${i + 1}`),
  );
}

/** How long a fault lasts in run seconds (a taker offline for N rollovers: from its start only). */
function faultSecs(f: FaultSpec): number {
  switch (f.kind) {
    case 'makerRestart':
      return f.downSecs;
    case 'takerOffline':
      return 0;
    default:
      return f.forSecs;
  }
}

/** The checks across fields (names, references, times, files), as path-prefixed lines. */
export function crossCheck(s: Scenario): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  const makers = new Set(s.makers.map((m) => m.name));
  s.makers.forEach((m, i) => {
    if (seen.has(m.name)) problems.push(line(['makers', i, 'name'], `${m.name} is used twice`));
    seen.add(m.name);
  });
  s.takers.forEach((g, i) => {
    const clash = takerNames({ takers: [g] }).find((n) => seen.has(n));
    if (clash) problems.push(line(['takers', i, 'prefix'], `${clash} is used twice`));
    for (const n of takerNames({ takers: [g] })) seen.add(n);
  });
  const takers = new Set(takerNames(s));
  const offered = new Set(s.makers.flatMap((m) => m.leverages));
  const maxLots = Math.max(...s.makers.map((m) => m.maxLots));
  s.takers.forEach((g, i) => {
    for (const l of g.actor.leverages) {
      if (!offered.has(l)) {
        problems.push(line(['takers', i, 'actor', 'leverages'], `no maker offers ${l}×`));
      }
    }
    if (g.actor.lots[1] > maxLots) {
      problems.push(
        line(['takers', i, 'actor', 'lots'], `${g.actor.lots[1]} is above every maker's maxLots`),
      );
    }
    const plugin = g.actor.strategy.startsWith('plugin:') && g.actor.strategy.slice(7);
    if (plugin && !existsSync(resolveScenarioPath(plugin))) {
      problems.push(line(['takers', i, 'actor', 'strategy'], `no such file: ${plugin}`));
    }
  });
  if (s.price.kind === 'csv' && !existsSync(resolveScenarioPath(s.price.file))) {
    problems.push(line(['price', 'file'], `no such file: ${s.price.file}`));
  }
  s.price.shocks.forEach((k, i) => {
    if (k.atSecs + k.overSecs > s.durationSecs) {
      problems.push(
        line(['price', 'shocks', i], `ends at ${k.atSecs + k.overSecs} s, after the run`),
      );
    }
  });
  s.faults.forEach((f, i) => {
    const end = f.atSecs + faultSecs(f);
    if (f.atSecs >= s.durationSecs || end > s.durationSecs) {
      problems.push(line(['faults', i], `ends at ${end} s, after the run (${s.durationSecs} s)`));
    }
    if (f.kind === 'makerRestart' && !makers.has(f.maker)) {
      problems.push(line(['faults', i, 'maker'], `no maker named ${f.maker}`));
    }
    if (f.kind === 'takerOffline' && !takers.has(f.taker)) {
      problems.push(line(['faults', i, 'taker'], `no taker named ${f.taker}`));
    }
    if (f.kind === 'partition') {
      f.between.forEach((n, j) => {
        if (!seen.has(n)) problems.push(line(['faults', i, 'between', j], `no node named ${n}`));
      });
      if (f.between[0] === f.between[1]) {
        problems.push(line(['faults', i, 'between'], 'names the same node twice'));
      }
    }
  });
  if (s.ci && s.ci.takers < s.takers.length) {
    problems.push(line(['ci', 'takers'], `must be at least ${s.takers.length} (one per group)`));
  }
  return problems;
}

/**
 * Checks `raw` (parsed YAML, or a module's default export) into a {@link Scenario}, defaults
 * filled; `origin` names it in errors and gives the default `name` (its file name).
 * @throws ScenarioError listing every mistake.
 */
export function parseScenario(raw: unknown, origin: string): Scenario {
  const named =
    raw && typeof raw === 'object' && !Array.isArray(raw) && !('name' in raw)
      ? { name: basename(origin, extname(origin)), ...raw }
      : raw;
  const parsed = scenarioSchema.safeParse(named);
  if (!parsed.success) throw new ScenarioError(origin, issueLines(parsed.error.issues));
  const problems = crossCheck(parsed.data);
  if (problems.length) throw new ScenarioError(origin, problems);
  return parsed.data;
}

/**
 * Reads a scenario file: `.yaml`/`.yml`, or a TypeScript/JavaScript module that `export default`s
 * the raw object. Relative `file` is taken from the working directory.
 */
export async function loadScenario(file: string): Promise<Scenario> {
  const ext = extname(file);
  if (ext === '.yaml' || ext === '.yml') {
    let raw: unknown;
    try {
      raw = parseYaml(await readFile(file, 'utf8'));
    } catch (e) {
      if (!(e instanceof YAMLParseError)) throw e;
      const at = e.linePos?.[0];
      throw new ScenarioError(file, [`${at ? `line ${at.line}: ` : ''}${e.code}: not valid YAML`]);
    }
    return parseScenario(raw, file);
  }
  if (['.ts', '.js', '.mjs', '.mts'].includes(ext)) {
    const mod = (await import(
      pathToFileURL(isAbsolute(file) ? file : join(process.cwd(), file)).href
    )) as { default?: unknown };
    if (mod.default === undefined) {
      throw new ScenarioError(file, ['(module): must export default the scenario']);
    }
    return parseScenario(mod.default, file);
  }
  throw new ScenarioError(file, ['(file): must be .yaml, .yml, .ts or .js']);
}
