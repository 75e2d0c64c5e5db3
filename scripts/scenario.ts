// `npm run scenario -- <file> [--dir DIR]`: runs a research scenario (issue #16) on this machine —
// the embedded chain, feed, oracle and every maker and taker in this one process — and writes its
// results folder (research/scenario/types.ts RESULT_FILES), by default runs/<name>-<seed>-<time>/.
// Prints each stage, then every check of summary.json; exits 1 when a check failed.
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { parseArgsProblem } from '../node/cli-support.ts';
import { restrictUmask } from '../node/runtime/datadir.ts';
import { runScenario } from '../research/run/runner.ts';
import { loadScenario } from '../research/scenario/parse.ts';
import { plan } from '../research/scenario/plan.ts';
import { ciScenario } from '../research/scenario/shrink.ts';
import { loadStrategies } from '../research/scenario/strategies.ts';

const USAGE = `usage: npm run scenario -- <scenario file> [--dir DIR]

  <scenario file>  scenarios/<name>.yaml, or a TypeScript module exporting one
  --dir DIR        the results folder (default runs/<name>-<seed>-<time>)
  --ci             the scenario's CI size (its \`ci:\` block: fewer takers, shorter)
  -h, --help       this text
`;

function fail(message: string): never {
  console.error(`npm run scenario: ${message}\n\n${USAGE}`);
  process.exit(2);
}

let parsed: ReturnType<typeof parseOptions>;
function parseOptions() {
  return parseArgs({
    allowPositionals: true,
    options: {
      dir: { type: 'string' },
      ci: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
}
try {
  parsed = parseOptions();
} catch (err) {
  fail(parseArgsProblem(err) ?? (err as Error).message);
}
if (parsed.values.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}
const file = parsed.positionals[0];
if (!file || parsed.positionals.length > 1) fail('give exactly one scenario file');

// The node datadirs hold keys: owner-only.
restrictUmask();

const loaded = await loadScenario(resolve(file)).catch((e: unknown) => fail(String(e)));
// --ci: the file's `ci:` size (what npm test runs), else full size.
const scenario = parsed.values.ci ? ciScenario(loaded) : loaded;
const dir = resolve(
  parsed.values.dir ??
    join(
      'runs',
      `${scenario.name}-${scenario.seed}-${new Date().toISOString().replaceAll(':', '')}`,
    ),
);
const abort = new AbortController();
process.once('SIGINT', () => {
  console.log('interrupted: draining and writing the results');
  abort.abort();
});
console.log(`scenario ${scenario.name} (seed ${scenario.seed}) → ${dir}`);
const summary = await runScenario(scenario, plan(scenario, await loadStrategies(scenario)), {
  dir,
  signal: abort.signal,
  progress: (stage) => console.log(`  ${stage}`),
});
console.log(
  `cfds: ${summary.cfds.opened} opened, ${summary.cfds.open} open, closed by ${JSON.stringify(summary.cfds.closedBy)}`,
);
for (const c of summary.checks) console.log(`  ${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.detail}`);
console.log(`results in ${dir}`);
process.exit(summary.checks.every((c) => c.ok) ? 0 : 1);
