/**
 * The remote scenario runner (issue #16): drives an already-deployed network over the network,
 * as the Kubernetes Job `scenario` does (research/deploy/k8s.ts) — no process of the network runs
 * here. It reads the same scenario and plan as the in-process runner (runner.ts), maps the
 * scenario's makers and takers onto the deployed nodes in order, logs in to each node's HTTP API
 * with the one UI password, sets each maker's policy from the scenario, then in run time serves
 * the plan's prices through the price feed's control endpoint (from another host it needs the
 * feed's control token), and has each taker take the best offer and close through its API — the
 * same driver as runner.ts (driver.ts: same actions, retries and outcomes). It ends by itself at `durationSecs`, drains
 * (closes what is open, waits until every CFD is in a final state; the deployed chain mines on
 * its own), and writes the results folder from the nodes' APIs.
 *
 * Faults go through the deployed services' own interfaces (remote-faults.ts): the feed's and the
 * oracle's control endpoints, the chain's RPC, a taker's API refusing a maker (`partition`). What
 * it cannot do from outside is stop a node's process, so `makerRestart` and `takerOffline` are
 * refused up front ({@link UnsupportedFaultError}), as is a fault whose service it was not given
 * ({@link FaultTargetMissingError}). Likewise it funds no wallet
 * (the deployment does) and reads no chain, so the checks that need the chain (`satsConserved`,
 * `liquidationsPaid`) and the files that need the nodes' event logs (`events.jsonl`,
 * `protocols.csv`) are not made: summary.json lists them under `notChecked` with the reason.
 * The network's intervals are its own flags' (the scenario's `timeScale` is not applied).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Logger, pino } from 'pino';
import { ENDED_UI_STATES } from '../../model/cfd.ts';
import { NamedError } from '../../model/named-error.ts';
import { formatPrice, parsePrice } from '../../model/units.ts';
import type { PositionHistoryView } from '../../node/app/views/history.ts';
import { takerNames } from '../scenario/parse.ts';
import { type Plan, RESULT_FILES, type RunSummary, type Scenario } from '../scenario/types.ts';
import {
  emptyRows,
  message,
  poll,
  RunDriver,
  type RunRows,
  type RunWorld,
  type TakerPort,
} from './driver.ts';
import { type Json, RemoteApiError, RemoteNode } from './remote-api.ts';
import {
  checkFaultTargets,
  type FaultTargets,
  RemoteFaults,
  UnsupportedFaultError,
  unsupportedFaults,
} from './remote-faults.ts';
import { writeRunResults, writeSummary } from './results.ts';

export { REMOTE_REQUEST_TIMEOUT_MS, RemoteApiError, RemoteNode } from './remote-api.ts';
export {
  FaultTargetMissingError,
  REMOTE_FAULTS,
  UnsupportedFaultError,
  unsupportedFaults,
} from './remote-faults.ts';
/** How long the runner waits for every node to answer, have coins and see every maker's offers. */
export const REMOTE_READY_WAIT_SECS = 300;
/** How often the runner asks again while it waits for the network to be ready. */
const READY_POLL_MS = 500;
/** Longest drain, seconds, by default. */
export const REMOTE_DRAIN_SECS = 120;
/** The deployment does not fit the scenario (too few nodes, a node of the wrong role). */
export class DeploymentMismatchError extends NamedError {}

/** The deployed network, as the runner reaches it (the faults' services: {@link FaultTargets}). */
export interface RemoteTargets extends FaultTargets {
  /** Each maker's API base URL (`http://maker-0.maker:8000`), in the order of the scenario's makers. */
  readonly makers: readonly string[];
  /** Each taker's API base URL, in the order of the scenario's taker names. */
  readonly takers: readonly string[];
  /** Every node's UI password (the deployment's Secret). */
  readonly password: string;
}

export interface RemoteRunOptions {
  /** The results folder (created). */
  readonly dir: string;
  readonly logger?: Logger;
  /** Aborting ends the run's timeline early; the drain and the results still happen. */
  readonly signal?: AbortSignal;
  /** @default REMOTE_READY_WAIT_SECS */
  readonly readySecs?: number;
  /** @default REMOTE_DRAIN_SECS */
  readonly drainSecs?: number;
  /** Equity sampling period, run seconds. @default 2 */
  readonly equityEverySecs?: number;
  /** Told each stage of the run as it begins. */
  readonly progress?: (stage: string) => void;
}

/** summary.json of a remote run: the in-process summary, plus what could not be checked and why. */
export interface RemoteRunSummary extends RunSummary {
  /** Scenario node name → the URL it ran on. */
  readonly deployment: Readonly<Record<string, string>>;
  readonly notChecked: readonly { readonly name: string; readonly why: string }[];
}

/**
 * Runs `scenario` as `plan` says against the deployed network `targets`; writes the results
 * folder and answers its summary.
 * @throws UnsupportedFaultError before anything is done, for a fault it cannot cause.
 * @throws FaultTargetMissingError before anything is done, for a fault whose service is not given.
 * @throws DeploymentMismatchError when the deployment has too few nodes or a wrong role.
 */
export async function runRemoteScenario(
  scenario: Scenario,
  plan: Plan,
  targets: RemoteTargets,
  options: RemoteRunOptions,
): Promise<RemoteRunSummary> {
  const unsupported = unsupportedFaults(scenario);
  if (unsupported.length) throw new UnsupportedFaultError(unsupported);
  checkFaultTargets(scenario, targets);
  const names = takerNames(scenario);
  if (targets.makers.length < scenario.makers.length || targets.takers.length < names.length) {
    throw new DeploymentMismatchError(
      `the scenario has ${scenario.makers.length} makers and ${names.length} takers; ` +
        `the deployment ${targets.makers.length} and ${targets.takers.length}`,
    );
  }
  const logger = options.logger ?? pino({ level: 'silent' });
  const startedAt = Date.now();
  const progress = (stage: string) =>
    options.progress?.(`${((Date.now() - startedAt) / 1000).toFixed(1)} s ${stage}`);
  const makers = scenario.makers.map(
    (m, i) => new RemoteNode(m.name, targets.makers[i]!, targets.password),
  );
  const takers = names.map((n, i) => new RemoteNode(n, targets.takers[i]!, targets.password));
  const rows = emptyRows();
  const faults = new RemoteFaults(targets, { makers, takers }, rows.faults, logger);
  await mkdir(join(options.dir, RESULT_FILES.metrics), { recursive: true, mode: 0o700 });

  progress(`waiting for ${makers.length + takers.length} nodes`);
  await ready(scenario, plan, makers, takers, faults, targets.password, options);

  progress(`running ${scenario.durationSecs} s`);
  const run = new RunDriver(
    { scenario, plan },
    remoteWorld(faults, [...makers, ...takers]),
    { makers, takers: takers.map(remoteTaker) },
    rows,
    logger,
  );
  await run.drive(options.signal, options.equityEverySecs ?? 2);
  progress('draining');
  await run.drain((options.drainSecs ?? REMOTE_DRAIN_SECS) * 1000);
  progress('writing results');
  return writeRemoteResults(scenario, options.dir, startedAt, makers, takers, rows);
}

/**
 * Until every node answers with the role it stands for, each maker has the scenario's policy,
 * the feed the plan's first price, every wallet coins and every taker every maker's offers; and
 * the services the scenario's faults act on answer and take the credentials.
 */
async function ready(
  scenario: Scenario,
  plan: Plan,
  makers: readonly RemoteNode[],
  takers: readonly RemoteNode[],
  faults: RemoteFaults,
  password: string,
  options: RemoteRunOptions,
): Promise<void> {
  const deadline = Date.now() + (options.readySecs ?? REMOTE_READY_WAIT_SECS) * 1000;
  const left = () => Math.max(0, deadline - Date.now());
  const nodes = [...makers, ...takers];
  for (const n of nodes) {
    let last: unknown;
    const info = await poll(
      left(),
      async () => {
        try {
          return await n.get('/api/node');
        } catch (e) {
          last = e;
          return undefined;
        }
      },
      READY_POLL_MS,
    );
    if (!info)
      throw new DeploymentMismatchError(`${n.name} (${n.url}) did not answer: ${message(last)}`);
    const want = makers.includes(n) ? 'maker' : 'taker';
    if (info.role !== want) {
      throw new DeploymentMismatchError(`${n.name} (${n.url}) is a ${info.role}, not a ${want}`);
    }
    n.role = want;
    n.peerId = info.peerId;
  }
  for (const [i, m] of makers.entries()) {
    const spec = scenario.makers[i]!;
    const { lotSize } = await m.get('/api/maker/policy');
    const r = await m.call('PUT', '/api/maker/policy', {
      spreadBps: spec.spreadBps,
      fundingRate: spec.fundingRate,
      leverageChoices: [...spec.leverages],
      maxQuantity: String(BigInt(spec.maxLots) * BigInt(lotSize)),
      password,
    });
    if (r.status !== 200)
      throw new RemoteApiError(`${m.name} PUT /api/maker/policy`, r.status, r.body);
  }
  const startUsd =
    plan.prices[0]?.price ?? (scenario.price.kind === 'walk' ? scenario.price.start : 50_000);
  await faults.feed.post('/price', { price: formatUsd(startUsd) });
  await faults.check(scenario).catch((e: unknown) => {
    throw new DeploymentMismatchError(`a service of the scenario's faults: ${message(e)}`);
  });
  for (const n of nodes) {
    // Coins confirmed, nothing in flight, and the same at a later block: a maker splits its
    // funding into its coin pool after a block (refusing orders until the split confirmed), so
    // one reading between that block and its split is not enough.
    let seen: { height: number; spendable: bigint } | undefined;
    const funded = await poll(
      left(),
      async () => {
        const r = await n.call('GET', '/api/wallet');
        const b = r.body?.balance;
        const height = r.body?.height;
        if (r.status !== 200 || typeof height !== 'number') return false;
        const spendable = BigInt(b.spendable);
        if (spendable === 0n || BigInt(b.unconfirmed) !== 0n) {
          seen = undefined;
          return false;
        }
        if (seen === undefined || spendable !== seen.spendable) {
          seen = { height, spendable };
          return false;
        }
        return height > seen.height;
      },
      READY_POLL_MS,
    );
    if (!funded) {
      throw new DeploymentMismatchError(`${n.name} has no settled spendable coins (fund it)`);
    }
  }
  const makerIds = new Set(makers.map((m) => m.peerId));
  for (const t of takers) {
    const seen = await poll(
      left(),
      async () => {
        const { offers } = await t.get('/api/offers');
        const from = new Set((offers as Json[]).map((o) => o.maker));
        return [...makerIds].every((id) => from.has(id));
      },
      READY_POLL_MS,
    );
    if (!seen) throw new DeploymentMismatchError(`${t.name} does not see every maker's offers`);
  }
}

/**
 * A scenario USD price as the feed's control takes it, on its 0.5 USD tick (as network.ts
 * `feedPrice`; not imported: that module starts whole nodes, which the Job's image need not load).
 */
const formatUsd = (usd: number): string =>
  formatPrice(parsePrice((Math.round(usd * 2) / 2).toFixed(1)));

/** States in which a taker's CFD holds coins and has not begun to close. */
const NOT_OPEN: ReadonlySet<string> = new Set(['pendingSetup', 'contractSetup', 'pendingClose']);
const closing = (c: Json): boolean => (c.transactions as Json[]).some((t) => t.kind === 'close');

/** A deployed taker, through its HTTP API: the driver's port. */
function remoteTaker(node: RemoteNode): TakerPort {
  return {
    name: node.name,
    online: true,
    unreadable: 'the taker does not answer',
    openIds: async () => {
      const { cfds } = await node.get('/api/cfds');
      return (cfds as Json[])
        .filter((c) => !ENDED_UI_STATES.has(c.state) && !NOT_OPEN.has(c.state) && !closing(c))
        .map((c) => c.id);
    },
    cfd: async (id) => {
      const r = await node.call('GET', `/api/cfds/${id}`);
      if (r.status !== 200) return undefined;
      const c = r.body;
      return {
        state: c.state,
        counterparty: c.counterparty,
        closing: closing(c),
        canSettle: (c.actions as string[]).includes('settle'),
        proposing: Boolean(c.settlementProposal),
        closePrice: c.closingPrice ?? '',
        failureReason: c.failureReason ?? undefined,
      };
    },
    takeBest: async (order) => {
      const r = await node.call('POST', '/api/orders/best', order);
      if (r.status === 202) return { placed: r.body };
      // 503: no offer or no answer right now, worth another try; any other status is a refusal.
      return {
        refused: new RemoteApiError('order', r.status, r.body).message,
        transient: r.status === 503,
      };
    },
    close: async (id) => {
      const r = await node.call('POST', `/api/cfds/${id}/close`);
      return r.status === 202 ? undefined : new RemoteApiError('close', r.status, r.body).message;
    },
  };
}

/**
 * The deployed network as the driver acts on it: prices through the feed's control, the nodes'
 * accounts over their APIs, the faults through the services' interfaces; drained once every
 * CFD is in a final state (the deployed chain mines on its own).
 */
function remoteWorld(faults: RemoteFaults, nodes: readonly RemoteNode[]): RunWorld {
  return {
    price: async (usd) => {
      const q = await faults.feed.post('/price', { price: formatUsd(usd) });
      return faults.feedPaused ? undefined : q.price;
    },
    accounts: async () => {
      const out = [];
      for (const n of nodes) {
        const a = await n.get('/api/account').catch(() => undefined);
        if (a) out.push({ name: n.name, wallet: a.wallet, equity: a.equity });
      }
      return out;
    },
    faults: {
      // Every fault the runner causes lasts `forSecs` (makerRestart and takerOffline are refused).
      endSecs: (f) => f.atSecs + (f as { forSecs: number }).forSecs,
      start: (f) => faults.start(f),
      end: (f) => faults.end(f),
      endAll: () => faults.endAll(),
    },
    drained: async () => (await unendedOf(nodes).catch(() => ['?'])).length === 0,
  };
}

/** CFDs of the nodes not in a final state, as `node:cfdId:state`. */
async function unendedOf(nodes: readonly RemoteNode[]): Promise<string[]> {
  const out: string[] = [];
  for (const n of nodes) {
    const { cfds } = await n.get('/api/cfds');
    for (const c of cfds as Json[]) {
      if (!ENDED_UI_STATES.has(c.state)) out.push(`${n.name}:${c.id}:${c.state}`);
    }
  }
  return out;
}

/** Why each check the in-process runner makes is not made here. */
const NOT_CHECKED: readonly { name: string; why: string }[] = [
  {
    name: 'satsConserved',
    why: 'needs the funding sent to every wallet and the fee of every transaction: the remote runner funds nothing and reads no chain',
  },
  {
    name: 'liquidationsPaid',
    why: "needs each liquidation's CET from the chain, which the remote runner does not read",
  },
  {
    name: RESULT_FILES.protocols,
    why: "needs the nodes' event logs, which their APIs do not serve",
  },
  { name: RESULT_FILES.events, why: "needs the nodes' event logs, which their APIs do not serve" },
];

/** Reads the nodes' histories, CFDs and metrics over their APIs; writes the results folder. */
async function writeRemoteResults(
  scenario: Scenario,
  dir: string,
  startedAt: number,
  makers: readonly RemoteNode[],
  takers: readonly RemoteNode[],
  rows: RunRows,
): Promise<RemoteRunSummary> {
  const nodes = [...makers, ...takers];
  const histories = new Map<string, readonly PositionHistoryView[]>();
  for (const n of nodes) histories.set(n.name, (await n.get('/api/history')).positions);
  for (const n of nodes) {
    const metrics = await n.call('GET', '/metrics');
    if (metrics.status === 200) {
      await writeFile(join(dir, RESULT_FILES.metrics, `${n.name}.prom`), String(metrics.body), {
        mode: 0o600,
      });
    }
  }
  const common = await writeRunResults({
    scenario,
    dir,
    startedAt,
    makers,
    takers,
    histories,
    rows,
    stuck: await unendedOf(nodes),
    // No chain is read: no fees, no chain checks (NOT_CHECKED says why).
    chain: { onchainFee: async () => '', onchainFeesSats: '', checks: async () => [] },
  });
  const e = scenario.expect;
  const summary: RemoteRunSummary = {
    ...common,
    deployment: Object.fromEntries(nodes.map((n) => [n.name, n.url])),
    notChecked: NOT_CHECKED.filter(
      (c) =>
        (c.name !== 'satsConserved' || e.satsConserved) &&
        (c.name !== 'liquidationsPaid' || e.liquidationsPaid),
    ),
  };
  await writeSummary(dir, summary);
  return summary;
}
