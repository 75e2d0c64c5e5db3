import { setTimeout as sleep } from 'node:timers/promises';
import { type Logger, pino } from 'pino';
import { type HealthReporter, type HealthSink, reporterFor } from './health.ts';

/** First restart delay: quick enough that a blip heals before a user notices. */
export const DEFAULT_MIN_BACKOFF_MS = 250;
/** Ceiling of the restart delay: a component down for long is retried twice a minute. */
export const DEFAULT_MAX_BACKOFF_MS = 30_000;
/** A run that lasted this long was healthy: the next failure starts the backoff afresh. */
export const DEFAULT_RESET_AFTER_MS = 60_000;

export interface SupervisorOptions {
  /** Name in the health registry and logs, e.g. `chain`, `peer:12D3…`, `pricefeed`. */
  readonly name: string;
  /** Where it reports: a registry (under `name`) or a reporter. */
  readonly health: HealthSink;
  /**
   * Runs the component until `signal` aborts. Call `ready()` once it works (health → ok);
   * `degraded(detail)` when it works partly. Returning or throwing before the abort is a
   * failure: the supervisor records it and restarts the component after a backoff.
   */
  readonly run: (ctx: {
    signal: AbortSignal;
    ready: () => void;
    degraded: (detail: string, error?: unknown) => void;
  }) => Promise<void>;
  readonly logger?: Logger;
  readonly minBackoffMs?: number;
  readonly maxBackoffMs?: number;
  readonly resetAfterMs?: number;
  /** Source of jitter in [0, 1); injectable for tests. */
  readonly random?: () => number;
}

/**
 * Keeps one long-lived component running: restarts it with exponential backoff and jitter when it
 * fails, and reports every step to the health registry. A component's failure never reaches the
 * process: the node stays up, degraded, and heals.
 */
export class Supervisor {
  readonly name: string;
  readonly #o: SupervisorOptions;
  readonly #log: Logger;
  readonly #health: HealthReporter;
  #controller: AbortController | undefined;
  #loop: Promise<void> | undefined;

  constructor(options: SupervisorOptions) {
    this.name = options.name;
    this.#o = options;
    this.#log = (options.logger ?? pino({ level: 'silent' })).child({ component: options.name });
    this.#health = reporterFor(options.health, options.name);
  }

  get running(): boolean {
    return this.#loop !== undefined;
  }

  start(): void {
    if (this.#loop) return;
    const controller = new AbortController();
    this.#controller = controller;
    this.#loop = this.#supervise(controller.signal);
  }

  /** Aborts the component and waits until it has returned. */
  async stop(): Promise<void> {
    this.#controller?.abort();
    await this.#loop;
    this.#loop = undefined;
    this.#health.report({ status: 'stopped', detail: undefined });
  }

  async #supervise(signal: AbortSignal): Promise<void> {
    const { run } = this.#o;
    const health = this.#health;
    const min = this.#o.minBackoffMs ?? DEFAULT_MIN_BACKOFF_MS;
    const max = this.#o.maxBackoffMs ?? DEFAULT_MAX_BACKOFF_MS;
    const resetAfter = this.#o.resetAfterMs ?? DEFAULT_RESET_AFTER_MS;
    const random = this.#o.random ?? Math.random;
    let failures = 0;
    let restarted = false;
    while (!signal.aborted) {
      health.report({ status: 'starting', restarted, detail: undefined });
      const started = Date.now();
      let error: unknown;
      try {
        await run({
          signal,
          ready: () => health.report({ status: 'ok', detail: undefined }),
          degraded: (detail, err) =>
            health.report({
              status: 'degraded',
              detail,
              ...(err ? { error: err } : {}),
            }),
        });
        if (signal.aborted) break;
        error = new Error(`${this.name} stopped by itself`);
      } catch (err) {
        if (signal.aborted) break;
        error = err;
      }
      failures = Date.now() - started >= resetAfter ? 1 : failures + 1;
      const base = Math.min(max, min * 2 ** (failures - 1));
      const delay = Math.round(base / 2 + (random() * base) / 2);
      this.#log.warn({ err: error, delay, failures }, 'component failed; restarting');
      health.report({
        status: 'down',
        error,
        detail: `restarting in ${(delay / 1000).toFixed(1)} s`,
      });
      try {
        await sleep(delay, undefined, { signal });
      } catch {
        break;
      }
      restarted = true;
    }
  }
}
