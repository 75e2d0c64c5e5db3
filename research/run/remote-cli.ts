/**
 * The command line of the remote scenario runner (scripts/scenario-job.ts, the Kubernetes Job
 * `scenario`), parsed without running anything, so the manifests' args can be checked against it.
 */
import { parseArgs } from 'node:util';
import { NamedError } from '../../model/named-error.ts';
import { parseArgsProblem } from '../../node/cli-support.ts';
import { REMOTE_DRAIN_SECS, REMOTE_READY_WAIT_SECS, type RemoteTargets } from './remote.ts';

export const SCENARIO_JOB_USAGE = `usage: DLCFD_UI_PASSWORD=… [DLCFD_PRICEFEED_CONTROL_TOKEN=…] \\
       [DLCFD_CHAIN_PASSWORD=…] [DLCFD_ORACLE_CONTROL_TOKEN=…] \\
       node scripts/scenario-job.ts <scenario.yaml> --feed-control URL --maker URL … --taker URL …
       [--chain-rpc URL --chain-user NAME] [--oracle-control URL]
       [--runs DIR] [--ci] [--ready-wait SECS] [--drain SECS]

Runs a scenario against a deployed network over the network (research/run/remote.ts): the
scenario's makers and takers are the --maker and --taker URLs in order (each node's API, e.g.
http://maker-0.maker:8000); prices go to the feed's control endpoint (--feed-control, e.g.
http://pricefeed:8088/control), with the feed's control token from another host. Writes the
results folder <runs>/<name>-<seed>-<time>/ and prints "results <dir>" and every check.

Faults: feedStale (the feed's control), oracleSilent and oracleLate (the oracle's control endpoint,
--oracle-control, e.g. https://oracle:8443/control, with DLCFD_ORACLE_CONTROL_TOKEN), feeSpike (the
chain's RPC setfeespike, --chain-rpc with --chain-user and DLCFD_CHAIN_PASSWORD), partition between
a taker and a maker (the taker's API blocks the maker, then unblocks it). Refused: makerRestart
and takerOffline (they stop a node's process, which no API offers), a partition between two
makers or two takers, and a fault whose service was not given.

  --runs DIR         where the results folder goes (default runs)
  --ci               the scenario's CI size (its ci: block)
  --ready-wait SECS  how long to wait for the nodes, their coins and offers (default ${REMOTE_READY_WAIT_SECS})
  --drain SECS       longest drain after the run (default ${REMOTE_DRAIN_SECS})
  -h, --help         this text
Exit: 0 every check passed, 1 a check failed, 2 a usage, scenario or deployment problem.
`;

/** The command line is wrong (exit 2 with the usage). */
export class ScenarioJobUsageError extends NamedError {}

export interface ScenarioJobArgs {
  readonly file: string;
  readonly runs: string;
  readonly ci: boolean;
  readonly readySecs: number;
  readonly drainSecs: number;
  readonly targets: RemoteTargets;
  readonly help: boolean;
}

const URL_RE = /^https?:\/\/[^\s/]+(\/\S*)?$/;

/**
 * `argv` (after the script) and the environment (the passwords and tokens are secrets: never
 * flags, which `ps` shows).
 * @throws ScenarioJobUsageError naming what is wrong.
 */
export function parseScenarioJobArgs(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): ScenarioJobArgs {
  let parsed: ReturnType<typeof parse>;
  function parse() {
    return parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        'feed-control': { type: 'string' },
        'chain-rpc': { type: 'string' },
        'chain-user': { type: 'string' },
        'oracle-control': { type: 'string' },
        maker: { type: 'string', multiple: true },
        taker: { type: 'string', multiple: true },
        runs: { type: 'string', default: 'runs' },
        ci: { type: 'boolean', default: false },
        'ready-wait': { type: 'string', default: String(REMOTE_READY_WAIT_SECS) },
        drain: { type: 'string', default: String(REMOTE_DRAIN_SECS) },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  }
  try {
    parsed = parse();
  } catch (err) {
    throw new ScenarioJobUsageError(parseArgsProblem(err) ?? (err as Error).message);
  }
  const { values, positionals } = parsed;
  const base = {
    runs: values.runs,
    ci: values.ci,
    help: values.help,
  };
  if (values.help) {
    return {
      ...base,
      file: '',
      readySecs: 0,
      drainSecs: 0,
      targets: { makers: [], takers: [], password: '', feedControl: '' },
    };
  }
  const wrong = (m: string): never => {
    throw new ScenarioJobUsageError(m);
  };
  if (positionals.length !== 1) wrong('give exactly one scenario file');
  const secs = (name: string, text: string) =>
    /^\d+$/.test(text) && Number(text) > 0
      ? Number(text)
      : wrong(`--${name} must be whole seconds`);
  const urls = (name: string, list: readonly string[] | undefined) => {
    if (!list?.length) wrong(`give at least one --${name}`);
    for (const u of list!) if (!URL_RE.test(u)) wrong(`--${name} '${u}' is not an http(s) URL`);
    return list!.map((u) => u.replace(/\/$/, ''));
  };
  const feedControl = values['feed-control'];
  if (!feedControl || !URL_RE.test(feedControl)) wrong('--feed-control must be an http(s) URL');
  const password = env.DLCFD_UI_PASSWORD;
  if (!password) wrong('DLCFD_UI_PASSWORD (every node’s UI password) is not set');
  const token = env.DLCFD_PRICEFEED_CONTROL_TOKEN;
  const chainUrl = values['chain-rpc'];
  let chainRpc: RemoteTargets['chainRpc'];
  if (chainUrl !== undefined) {
    if (!URL_RE.test(chainUrl)) wrong('--chain-rpc must be an http(s) URL');
    if (!values['chain-user']) wrong('--chain-rpc needs --chain-user');
    if (!env.DLCFD_CHAIN_PASSWORD)
      wrong('--chain-rpc needs DLCFD_CHAIN_PASSWORD (the RPC password)');
    chainRpc = { url: chainUrl, user: values['chain-user']!, password: env.DLCFD_CHAIN_PASSWORD! };
  } else if (values['chain-user'] !== undefined) {
    wrong('--chain-user without --chain-rpc');
  }
  const oracleControl = values['oracle-control'];
  const oracleToken = env.DLCFD_ORACLE_CONTROL_TOKEN;
  if (oracleControl !== undefined) {
    if (!URL_RE.test(oracleControl)) wrong('--oracle-control must be an http(s) URL');
    // The oracle's control endpoint is off without its token: no call could succeed.
    if (!oracleToken) wrong('--oracle-control needs DLCFD_ORACLE_CONTROL_TOKEN');
  }
  return {
    ...base,
    file: positionals[0]!,
    readySecs: secs('ready-wait', values['ready-wait']),
    drainSecs: secs('drain', values.drain),
    targets: {
      makers: urls('maker', values.maker),
      takers: urls('taker', values.taker),
      password: password!,
      feedControl: feedControl!.replace(/\/$/, ''),
      ...(token && { feedToken: token }),
      ...(chainRpc && { chainRpc }),
      ...(oracleControl !== undefined && {
        oracleControl: oracleControl.replace(/\/$/, ''),
        oracleToken: oracleToken!,
      }),
    },
  };
}
