/**
 * The faults the remote scenario runner (remote.ts) causes in a deployed network, each through an
 * interface the deployed service really has:
 * - `feedStale`: the price feed's control endpoint, `POST /pause` then `/resume`;
 * - `oracleSilent`, `oracleLate`: the oracle's control endpoint (node/oracle/server.ts, on only
 *   with its control token), `POST {"silent": true}` / `{"attestDelaySecs": n}`, then back;
 * - `feeSpike`: the chain's RPC `setfeespike <sat/vB>` (dlcfd's embedded chain only; 0 stops);
 * - `partition` between a taker and a maker: the taker's API, `POST /api/makers/{peerId}/block`
 *   then `/unblock` — the taker hangs up on the maker and refuses it until unblocked. In-process
 *   (runner.ts) both daemons block each other; a maker never dials a taker, so the taker refusing
 *   cuts the same link. The block is the taker's durable choice: the runner's drain (also on
 *   SIGTERM) unblocks; a runner killed outright leaves it for `POST …/unblock` by hand.
 *
 * Refused before anything is done ({@link UnsupportedFaultError}, with the reason): `makerRestart`
 * and `takerOffline` stop a node's process, which no API of the deployment offers (it takes a pod
 * delete, and keeping a pod down takes scaling its StatefulSet); a `partition` between two makers
 * or two takers (no API refuses a node of its own kind, and such nodes do not talk anyway).
 *
 * Faults on the same thing that overlap: the one started last is in force; the thing is restored
 * when the last of them ends.
 */
import type { Logger } from 'pino';
import { NamedError } from '../../model/named-error.ts';
import { BitcoinRpc } from '../../node/chain/rpc.ts';
import type { CsvField } from '../report/csv.ts';
import { takerNames } from '../scenario/parse.ts';
import type { FaultSpec, Scenario } from '../scenario/types.ts';
import { ControlEndpoint, RemoteApiError, type RemoteNode } from './remote-api.ts';

/** The faults the remote runner can cause. */
export const REMOTE_FAULTS: ReadonlySet<FaultSpec['kind']> = new Set([
  'feedStale',
  'oracleSilent',
  'oracleLate',
  'feeSpike',
  'partition',
]);

/** Why the faults the remote runner refuses cannot be caused remotely. */
const PROCESS_CONTROL =
  "stops a node's process: that takes deleting its pod (and scaling its StatefulSet to keep it " +
  'down), which no API of the deployment offers';
const REFUSED: Partial<Record<FaultSpec['kind'], string>> = {
  makerRestart: PROCESS_CONTROL,
  takerOffline: PROCESS_CONTROL,
};

/** A fault of a scenario the remote runner cannot cause, and why. */
export interface UnsupportedFault {
  readonly kind: string;
  readonly why: string;
}

/** The scenario asks for faults the remote runner cannot cause. */
export class UnsupportedFaultError extends NamedError {
  readonly kinds: readonly string[];
  constructor(faults: readonly UnsupportedFault[]) {
    super(
      `the remote runner cannot cause ${faults.map((f) => `${f.kind} (${f.why})`).join(', ')}; ` +
        `it causes ${[...REMOTE_FAULTS].join(', ')}: run the scenario in-process ` +
        '(npm run scenario) for the others',
    );
    this.kinds = [...new Set(faults.map((f) => f.kind))];
  }
}

/** The scenario has a fault whose service the runner was not given (a URL or its credentials). */
export class FaultTargetMissingError extends NamedError {}

/** The scenario's faults the remote runner cannot cause, each kind (or partition) once. */
export function unsupportedFaults(scenario: Scenario): UnsupportedFault[] {
  const out = new Map<string, UnsupportedFault>();
  const makers = new Set(scenario.makers.map((m) => m.name));
  const takers = new Set(takerNames(scenario));
  for (const f of scenario.faults) {
    const why = REFUSED[f.kind];
    if (why) out.set(f.kind, { kind: f.kind, why });
    if (f.kind === 'partition') {
      const [a, b] = f.between;
      const both = (set: ReadonlySet<string>) => set.has(a) && set.has(b);
      if (both(makers) || both(takers)) {
        out.set(`partition ${a}|${b}`, {
          kind: 'partition',
          why:
            `${a}|${b} are both ${both(makers) ? 'makers' : 'takers'}: it partitions a taker ` +
            "from a maker only, through the taker's API",
        });
      }
    }
  }
  return [...out.values()];
}

/** The services the faults act on, as the runner reaches them. */
export interface FaultTargets {
  /** The feed's control endpoint base: `http://pricefeed:8088/control`. */
  readonly feedControl: string;
  /** The feed's control token (the deployment's Secret); none: the feed must be on loopback. */
  readonly feedToken?: string;
  /** The chain's RPC and its credentials (the Secret), for `feeSpike`: `http://chain:18443`. */
  readonly chainRpc?: { readonly url: string; readonly user: string; readonly password: string };
  /** The oracle's control endpoint, for `oracleSilent`/`oracleLate`: `https://oracle:8443/control`. */
  readonly oracleControl?: string;
  /** The oracle's control token (the Secret): without one its control endpoint is off. */
  readonly oracleToken?: string;
}

/** What each fault kind needs of the targets, as the command line names it. */
const NEEDS: Partial<
  Record<FaultSpec['kind'], { has: (t: FaultTargets) => boolean; say: string }>
> = {
  feeSpike: {
    has: (t) => t.chainRpc !== undefined,
    say: "the chain's RPC (--chain-rpc, DLCFD_CHAIN_PASSWORD)",
  },
  oracleSilent: {
    has: (t) => t.oracleControl !== undefined && t.oracleToken !== undefined,
    say: "the oracle's control endpoint and token (--oracle-control, DLCFD_ORACLE_CONTROL_TOKEN)",
  },
};
NEEDS.oracleLate = NEEDS.oracleSilent;

/**
 * @throws FaultTargetMissingError naming each fault kind of `scenario` whose service `targets`
 * lacks.
 */
export function checkFaultTargets(scenario: Scenario, targets: FaultTargets): void {
  const missing = [...new Set(scenario.faults.map((f) => f.kind))].flatMap((kind) => {
    const need = NEEDS[kind];
    return need && !need.has(targets) ? [`${kind} needs ${need.say}`] : [];
  });
  if (missing.length) {
    throw new FaultTargetMissingError(`the scenario's faults: ${missing.join('; ')}`);
  }
}

/** One thing a fault changes: how to change it, how to restore it, what faults.csv says. */
interface Effect {
  /** Faults with the same key change the same thing. */
  readonly key: string;
  readonly target: string;
  readonly detail: string;
  apply(): Promise<unknown>;
  restore(): Promise<unknown>;
}

/** Starts and ends the run's faults in the deployed network; writes their faults.csv rows. */
export class RemoteFaults {
  /** The feed's control endpoint (the run sets its prices through it too). */
  readonly feed: ControlEndpoint;
  readonly #oracle: ControlEndpoint | undefined;
  readonly #chain: BitcoinRpc | undefined;
  readonly #makers: readonly RemoteNode[];
  readonly #takers: readonly RemoteNode[];
  readonly #rows: (readonly CsvField[])[];
  readonly #log: Logger;
  /** Faults under way, in the order they started. */
  readonly #active = new Map<FaultSpec, Effect>();

  /**
   * @param nodes the run's nodes; a maker's `peerId` must be known before a partition names it.
   * @param rows faults.csv rows (time, kind, target, phase, detail) are pushed here.
   */
  constructor(
    targets: FaultTargets,
    nodes: { readonly makers: readonly RemoteNode[]; readonly takers: readonly RemoteNode[] },
    rows: (readonly CsvField[])[],
    log: Logger,
  ) {
    this.feed = new ControlEndpoint('feed', targets.feedControl, targets.feedToken);
    this.#oracle =
      targets.oracleControl === undefined
        ? undefined
        : new ControlEndpoint('oracle', targets.oracleControl, targets.oracleToken);
    this.#chain =
      targets.chainRpc &&
      new BitcoinRpc({ ...targets.chainRpc, logger: log.child({ part: 'chain-rpc' }) });
    this.#makers = nodes.makers;
    this.#takers = nodes.takers;
    this.#rows = rows;
    this.#log = log;
  }

  /** Whether the feed is paused by a `feedStale` now (its prices are not sent to anyone). */
  get feedPaused(): boolean {
    return [...this.#active.values()].some((e) => e.key === 'feed');
  }

  /**
   * Checks, before the run, that each service the scenario's faults act on answers and takes
   * the credentials: the oracle's control endpoint (`GET`), the chain's RPC (`getblockcount`).
   * @throws what the failing request threw.
   */
  async check(scenario: Scenario): Promise<void> {
    const kinds = new Set(scenario.faults.map((f) => f.kind));
    if (this.#oracle && (kinds.has('oracleSilent') || kinds.has('oracleLate'))) {
      await this.#oracle.request('GET', '');
    }
    if (this.#chain && kinds.has('feeSpike')) await this.#chain.getBlockCount();
  }

  /** Starts `f` (its faults.csv row first, as runner.ts). */
  async start(f: FaultSpec): Promise<void> {
    const effect = this.#effect(f);
    this.#row(f, effect, 'start');
    this.#active.set(f, effect);
    await effect.apply();
    this.#log.info({ fault: f.kind, target: effect.target }, 'fault started');
  }

  /** Ends `f` if under way: restores what it changed, unless a later fault on it still runs. */
  async end(f: FaultSpec): Promise<void> {
    const effect = this.#active.get(f);
    if (!effect) return;
    this.#active.delete(f);
    const still = [...this.#active.values()].filter((e) => e.key === effect.key);
    await (still.length ? still.at(-1)!.apply() : effect.restore());
    this.#row(f, effect, 'end');
    this.#log.info({ fault: f.kind, target: effect.target }, 'fault ended');
  }

  /** Ends every fault under way (the drain). */
  async endAll(): Promise<void> {
    for (const f of [...this.#active.keys()].reverse()) {
      await this.end(f).catch((err: unknown) => this.#log.warn({ err }, 'ending a fault failed'));
    }
  }

  #row(f: FaultSpec, effect: Effect, phase: 'start' | 'end'): void {
    this.#rows.push([Date.now(), f.kind, effect.target, phase, effect.detail]);
  }

  #effect(f: FaultSpec): Effect {
    switch (f.kind) {
      case 'feedStale':
        return {
          key: 'feed',
          target: 'pricefeed',
          detail: '',
          apply: () => this.feed.post('/pause'),
          restore: () => this.feed.post('/resume'),
        };
      case 'oracleSilent':
        return this.#oracleEffect(f, '', { silent: true }, { silent: false });
      case 'oracleLate':
        return this.#oracleEffect(
          f,
          `delay ${f.delaySecs} s`,
          { attestDelaySecs: f.delaySecs },
          { attestDelaySecs: 0 },
        );
      case 'feeSpike': {
        const chain = this.#chain;
        if (!chain) throw new FaultTargetMissingError(`feeSpike: ${NEEDS.feeSpike!.say} not given`);
        return {
          key: 'chain-spike',
          target: 'chain',
          detail: `${f.satPerVb} sat/vB`,
          apply: () => chain.call('setfeespike', [f.satPerVb]),
          restore: () => chain.call('setfeespike', [0]),
        };
      }
      case 'partition': {
        const taker = this.#takers.find((t) => f.between.includes(t.name));
        const maker = this.#makers.find((m) => f.between.includes(m.name));
        if (!taker || !maker) {
          const why = `${f.between.join('|')} is not a taker and a maker of the run`;
          throw new UnsupportedFaultError([{ kind: f.kind, why }]);
        }
        const choice = async (verb: 'block' | 'unblock') => {
          if (!maker.peerId) throw new Error(`${maker.name}'s peer id is not known yet`);
          const path = `/api/makers/${maker.peerId}/${verb}`;
          const r = await taker.call('POST', path);
          if (r.status !== 200)
            throw new RemoteApiError(`${taker.name} POST ${path}`, r.status, r.body);
        };
        return {
          key: `partition:${taker.name}|${maker.name}`,
          target: f.between.join('|'),
          detail: `${taker.name} refuses ${maker.name}`,
          apply: () => choice('block'),
          restore: () => choice('unblock'),
        };
      }
      default:
        throw new UnsupportedFaultError([{ kind: f.kind, why: REFUSED[f.kind] ?? 'unknown' }]);
    }
  }

  #oracleEffect(f: FaultSpec, detail: string, on: object, off: object): Effect {
    const oracle = this.#oracle;
    if (!oracle) {
      throw new FaultTargetMissingError(`${f.kind}: ${NEEDS.oracleSilent!.say} not given`);
    }
    return {
      // Silence and delay are separate settings of the oracle.
      key: f.kind,
      target: 'oracle',
      detail,
      apply: () => oracle.post('', on),
      restore: () => oracle.post('', off),
    };
  }
}
