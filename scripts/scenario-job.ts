// The remote scenario runner (research/run/remote.ts; usage in research/run/remote-cli.ts): runs a
// scenario against a deployed network by name — the Kubernetes Job `scenario`, or from any host
// that reaches the nodes' APIs and the feed's control endpoint. Exits 0 when every check passed,
// 1 when one failed, 2 on a usage or scenario problem (an unsupported fault, or one whose service
// was not given, included).
import { join, resolve } from 'node:path';
import { restrictUmask } from '../node/runtime/datadir.ts';
import {
  DeploymentMismatchError,
  FaultTargetMissingError,
  runRemoteScenario,
  UnsupportedFaultError,
} from '../research/run/remote.ts';
import {
  parseScenarioJobArgs,
  SCENARIO_JOB_USAGE,
  ScenarioJobUsageError,
} from '../research/run/remote-cli.ts';
import { loadScenario, ScenarioError } from '../research/scenario/parse.ts';
import { plan } from '../research/scenario/plan.ts';
import { ciScenario } from '../research/scenario/shrink.ts';
import { loadStrategies } from '../research/scenario/strategies.ts';

const fail = (message: string, usage = false): never => {
  process.stderr.write(`scenario-job: ${message}\n${usage ? `\n${SCENARIO_JOB_USAGE}` : ''}`);
  process.exit(2);
};

let args: ReturnType<typeof parseScenarioJobArgs>;
try {
  args = parseScenarioJobArgs(process.argv.slice(2), process.env);
} catch (err) {
  if (err instanceof ScenarioJobUsageError) fail(err.message, true);
  throw err;
}
if (args.help) {
  process.stdout.write(SCENARIO_JOB_USAGE);
  process.exit(0);
}

restrictUmask();
try {
  const loaded = await loadScenario(resolve(args.file));
  const scenario = args.ci ? ciScenario(loaded) : loaded;
  const dir = resolve(
    join(
      args.runs,
      `${scenario.name}-${scenario.seed}-${new Date().toISOString().replaceAll(':', '')}`,
    ),
  );
  const abort = new AbortController();
  process.once('SIGTERM', () => abort.abort());
  process.once('SIGINT', () => abort.abort());
  console.log(`scenario ${scenario.name} (seed ${scenario.seed}) → ${dir}`);
  const summary = await runRemoteScenario(
    scenario,
    plan(scenario, await loadStrategies(scenario)),
    args.targets,
    {
      dir,
      signal: abort.signal,
      readySecs: args.readySecs,
      drainSecs: args.drainSecs,
      progress: (stage) => console.log(`  ${stage}`),
    },
  );
  console.log(
    `cfds: ${summary.cfds.opened} opened, ${summary.cfds.open} open, closed by ${JSON.stringify(summary.cfds.closedBy)}`,
  );
  for (const c of summary.checks) console.log(`  ${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.detail}`);
  for (const c of summary.notChecked) console.log(`  n/a  ${c.name}: ${c.why}`);
  console.log(`results ${dir}`);
  process.exit(summary.checks.every((c) => c.ok) ? 0 : 1);
} catch (err) {
  if (
    err instanceof ScenarioError ||
    err instanceof UnsupportedFaultError ||
    err instanceof FaultTargetMissingError ||
    err instanceof DeploymentMismatchError
  ) {
    fail(err.message);
  }
  throw err;
}
