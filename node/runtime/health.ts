/**
 * One place that knows how every subsystem is doing, so the UI can always show it — even, and
 * especially, when something is down. Components report; the registry timestamps changes and tells
 * subscribers (the UI's live feed, metrics).
 *
 * One contract for every subsystem (feed, chain monitor, oracle, wallet, p2p, database): it is
 * given a {@link HealthReporter} bound to its name ({@link HealthRegistry.reporter}) and pushes
 * an update when its state changes. Nothing polls a subsystem for its health.
 */

export type HealthStatus = 'starting' | 'ok' | 'degraded' | 'down' | 'stopped';

export interface ComponentHealth {
  readonly name: string;
  readonly status: HealthStatus;
  /** Unix ms since when the status has been what it is. */
  readonly since: number;
  readonly lastError: { readonly message: string; readonly at: number } | undefined;
  /** Times a supervisor restarted it. */
  readonly restarts: number;
  /** What is being done about it, or other detail for a person ("retrying in 4 s"). */
  readonly detail: string | undefined;
}

export interface HealthUpdate {
  status?: HealthStatus;
  error?: unknown;
  detail?: string | undefined;
  restarted?: boolean;
}

/** A subsystem's handle on the registry, bound to its name: it pushes its own updates. */
export interface HealthReporter {
  readonly name: string;
  report(update: HealthUpdate): void;
}

/** Where a subsystem reports: a reporter, or a registry (under the subsystem's default name). */
export type HealthSink = HealthRegistry | HealthReporter;

/** The reporter for `sink`: itself, or the registry's reporter for `name`. */
export function reporterFor(sink: HealthSink, name: string): HealthReporter {
  return sink instanceof HealthRegistry ? sink.reporter(name) : sink;
}

/** A reporter that drops every update (a subsystem run without a registry, as in tests). */
export const NO_HEALTH: HealthReporter = { name: 'none', report: () => {} };

/** A subsystem's whole health state, as it pushes it (see {@link changesOnly}). */
export interface HealthState {
  status: HealthStatus;
  detail: string | undefined;
  /** Last failure; reported as a new error when `at` changes. */
  lastError: { readonly message: string; readonly at: number } | undefined;
}

/**
 * Wraps `reporter` for a subsystem that pushes its whole state after every step (a poll tick, a
 * sync): only a changed status or detail, or a new error, reaches the registry.
 */
export function changesOnly(reporter: HealthReporter): (state: HealthState) => void {
  let last: HealthState | undefined;
  return (state) => {
    const error = state.lastError?.at !== last?.lastError?.at ? state.lastError : undefined;
    if (state.status === last?.status && state.detail === last.detail && !error) return;
    last = state;
    reporter.report({
      status: state.status,
      detail: state.detail,
      ...(error && { error: new Error(error.message) }),
    });
  };
}

export class HealthRegistry {
  readonly #components = new Map<string, ComponentHealth>();
  readonly #listeners = new Set<(h: ComponentHealth) => void>();
  readonly #clock: () => number;

  constructor(clock: () => number = Date.now) {
    this.#clock = clock;
  }

  /** Adds a component in `starting`, if not known yet. */
  register(name: string): void {
    if (this.#components.has(name)) return;
    this.#set({
      name,
      status: 'starting',
      since: this.#clock(),
      lastError: undefined,
      restarts: 0,
      detail: undefined,
    });
  }

  /** Records a change; `since` moves only when the status does. */
  report(name: string, update: HealthUpdate): void {
    this.register(name);
    const prev = this.#components.get(name)!;
    const now = this.#clock();
    const status = update.status ?? prev.status;
    this.#set({
      name,
      status,
      since: status === prev.status ? prev.since : now,
      lastError:
        update.error === undefined
          ? prev.lastError
          : {
              message: update.error instanceof Error ? update.error.message : String(update.error),
              at: now,
            },
      restarts: prev.restarts + (update.restarted ? 1 : 0),
      detail: 'detail' in update ? update.detail : prev.detail,
    });
  }

  /** The reporter a subsystem named `name` is given (registered in `starting`). */
  reporter(name: string): HealthReporter {
    this.register(name);
    return { name, report: (update) => this.report(name, update) };
  }

  get(name: string): ComponentHealth | undefined {
    return this.#components.get(name);
  }

  /** Every component, sorted by name. */
  snapshot(): ComponentHealth[] {
    return [...this.#components.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  /** `ok` only if every component is; otherwise the worst status present. */
  overall(): HealthStatus {
    const order: HealthStatus[] = ['down', 'degraded', 'starting', 'stopped', 'ok'];
    const present = new Set(this.snapshot().map((c) => c.status));
    return order.find((s) => present.has(s)) ?? 'ok';
  }

  /** Calls `listener` on every change. Returns the unsubscribe function. */
  subscribe(listener: (h: ComponentHealth) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #set(h: ComponentHealth): void {
    this.#components.set(h.name, h);
    for (const l of this.#listeners) l(h);
  }
}
