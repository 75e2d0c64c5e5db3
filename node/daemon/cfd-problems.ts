/**
 * Isolation of CFDs from one another: every per-CFD reaction of the process manager (a chain
 * report, reconciling with the chain, an attestation) runs through {@link CfdProblems.run}, so a
 * failure handling one CFD — a corrupt or missing record, a commit its record does not know, a
 * builder that throws — is caught there, logged with the CFD id, kept as that CFD's problem (health
 * and the CFD's view show it) and retried with backoff, while every other CFD goes on.
 *
 * Retrying is the caller's: a chain report is rethrown to the chain monitor, which holds back only
 * that CFD's reports and delivers them again later (durably: the watch is unreported on disk); a
 * reconcile or attestation is retried by a timer here that reconciles the CFD again (reconcile is
 * idempotent and re-applies a cached attestation). A success clears the problem.
 */
import type { Logger } from 'pino';

/**
 * What was being done for the CFD when it failed: the process manager's reactions, or a command
 * of the API that ran on after its answer (node/app: placing an order, a collaborative close).
 */
export type CfdActivity = 'chain report' | 'reconcile' | 'attestation' | 'order' | 'close';

/** Why one CFD's handling is failing, until it succeeds again. */
export interface CfdProblem {
  readonly during: CfdActivity;
  /** The error's message. */
  readonly reason: string;
  /** Unix ms of the first failure of this run of failures. */
  readonly since: number;
  /** Failures since `since` after the first (each is followed by another attempt). */
  readonly retries: number;
}

/**
 * First pause before a failed reconcile or attestation is retried; doubles per failure. Short,
 * so a passing condition heals at once; the doubling keeps a persistent bug from flooding the log.
 */
export const DEFAULT_CFD_RETRY_MS = 1_000;
/** Longest pause between retries: a stuck CFD is tried again every few minutes. */
export const DEFAULT_CFD_RETRY_MAX_MS = 5 * 60_000;

export interface CfdProblemsOptions {
  readonly logger: Logger;
  /** @default DEFAULT_CFD_RETRY_MS, DEFAULT_CFD_RETRY_MAX_MS */
  readonly retryMs?: { readonly first: number; readonly max: number };
  /** Unix ms; injectable for tests. */
  readonly clock?: () => number;
}

export interface RunOptions {
  /** The caller retries (the chain monitor redelivers): record, then rethrow. */
  readonly rethrow?: boolean;
  /** Called after the backoff to try again (when not `rethrow`). */
  readonly retry?: () => void;
  /** Other activities a success also proves healthy (a reconcile re-applies attestations). */
  readonly clears?: readonly CfdActivity[];
}

/** The per-CFD failures of the process manager (module doc). */
export class CfdProblems {
  readonly #log: Logger;
  readonly #retryMs: { readonly first: number; readonly max: number };
  readonly #clock: () => number;
  /** CFD id → activity → problem. */
  readonly #problems = new Map<string, Map<CfdActivity, CfdProblem>>();
  /** `<cfd id> <activity>` → the pending retry. */
  readonly #timers = new Map<string, NodeJS.Timeout>();
  readonly #listeners = new Set<(cfdId: string) => void>();
  #stopped = false;

  constructor(options: CfdProblemsOptions) {
    this.#log = options.logger;
    this.#retryMs = options.retryMs ?? {
      first: DEFAULT_CFD_RETRY_MS,
      max: DEFAULT_CFD_RETRY_MAX_MS,
    };
    this.#clock = options.clock ?? Date.now;
  }

  /** Runs one CFD's reaction in isolation: never throws unless `rethrow` (module doc). */
  async run(
    cfdId: string,
    during: CfdActivity,
    fn: () => Promise<void>,
    options: RunOptions = {},
  ): Promise<void> {
    try {
      await fn();
    } catch (err) {
      const problem = this.#record(cfdId, during, err);
      if (options.rethrow) throw err;
      this.#retryLater(cfdId, during, problem.retries, options.retry);
      return;
    }
    this.#clear(cfdId, [during, ...(options.clears ?? [])]);
  }

  /** The CFD's oldest current problem, if any. */
  get(cfdId: string): CfdProblem | undefined {
    const all = [...(this.#problems.get(cfdId)?.values() ?? [])];
    return all.sort((a, b) => a.since - b.since)[0];
  }

  /** Every failing CFD with its oldest problem. */
  all(): ReadonlyMap<string, CfdProblem> {
    const out = new Map<string, CfdProblem>();
    for (const id of this.#problems.keys()) out.set(id, this.get(id)!);
    return out;
  }

  /** Calls `listener` with the CFD id whenever a CFD's problem appears, changes or clears. */
  onChange(listener: (cfdId: string) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Cancels pending retries. */
  stop(): void {
    this.#stopped = true;
    for (const t of this.#timers.values()) clearTimeout(t);
    this.#timers.clear();
  }

  #record(cfdId: string, during: CfdActivity, err: unknown): CfdProblem {
    const byActivity = this.#problems.get(cfdId) ?? new Map<CfdActivity, CfdProblem>();
    const prev = byActivity.get(during);
    const problem: CfdProblem = {
      during,
      reason: err instanceof Error ? err.message : String(err),
      since: prev?.since ?? this.#clock(),
      retries: prev ? prev.retries + 1 : 0,
    };
    byActivity.set(during, problem);
    this.#problems.set(cfdId, byActivity);
    this.#log.error(
      { err, cfdId, during, retries: problem.retries },
      'handling this CFD failed; it is retried, the other CFDs go on',
    );
    this.#emit(cfdId);
    return problem;
  }

  #retryLater(cfdId: string, during: CfdActivity, retries: number, retry?: () => void): void {
    const key = `${cfdId} ${during}`;
    if (!retry || this.#stopped || this.#timers.has(key)) return;
    const pause = Math.min(this.#retryMs.max, this.#retryMs.first * 2 ** retries);
    const timer = setTimeout(() => {
      this.#timers.delete(key);
      retry();
    }, pause);
    timer.unref?.();
    this.#timers.set(key, timer);
  }

  #clear(cfdId: string, activities: readonly CfdActivity[]): void {
    const byActivity = this.#problems.get(cfdId);
    if (!byActivity) return;
    let changed = false;
    for (const a of activities) {
      changed = byActivity.delete(a) || changed;
      const key = `${cfdId} ${a}`;
      clearTimeout(this.#timers.get(key));
      this.#timers.delete(key);
    }
    if (byActivity.size === 0) this.#problems.delete(cfdId);
    if (!changed) return;
    this.#log.info({ cfdId, cleared: activities }, 'this CFD is handled again');
    this.#emit(cfdId);
  }

  #emit(cfdId: string): void {
    for (const l of this.#listeners) {
      try {
        l(cfdId);
      } catch (err) {
        this.#log.warn({ err, cfdId }, 'problem listener failed');
      }
    }
  }
}
