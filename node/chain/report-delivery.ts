/**
 * Delivery of the chain monitor's reports to its one listener, in order, at least once, with a
 * per-tag hold-back: a listener that throws on a report holds back only that report's tag (one
 * CFD). The rest of the tag's reports in the batch are not delivered but marked unreported with it
 * (the caller's `unreport`), and the tag waits a backoff ({@link DEFAULT_REPORT_RETRY_MS},
 * doubling to {@link DEFAULT_REPORT_RETRY_MAX_MS}) before its reports are produced and delivered
 * again. Other tags go on. Held tags live in memory: the unreported watches are on disk, so a
 * restart reports them again anyway.
 */
import type { Logger } from 'pino';
import { ReportListenerError } from './errors.ts';
import type { ChainReport, ReportListener } from './watch-registry.ts';

/**
 * First pause before the reports of a tag whose listener failed are delivered again. A failure is
 * a bug or a corrupt record more often than a passing condition, so retrying every poll would
 * only flood the log; a second is short enough that a passing one heals at once.
 */
export const DEFAULT_REPORT_RETRY_MS = 1_000;

/**
 * Longest pause between redeliveries (the pause doubles per failure): a stuck CFD is retried
 * every few minutes, well inside any timelock that matters (a CET lock is hours).
 */
export const DEFAULT_REPORT_RETRY_MAX_MS = 5 * 60_000;

/** A tag whose listener failed: its reports wait until `at`. */
interface HeldTag {
  attempts: number;
  at: number;
}

export interface ReportDeliveryOptions {
  listener: ReportListener;
  retryMs: { readonly first: number; readonly max: number };
  /** Marks the watch a report came from as not reported, so it is produced again. */
  unreport: (report: ChainReport) => void;
  /** A listener failure, for health. */
  onFailure: (error: { name: string; message: string; at: number }) => void;
  log: Logger;
}

/** Hands reports to the listener with per-tag hold-back; see the module documentation. */
export class ReportDelivery {
  readonly #options: ReportDeliveryOptions;
  readonly #held = new Map<string, HeldTag>();

  constructor(options: ReportDeliveryOptions) {
    this.#options = options;
  }

  /** Tags held back (their listener failed), due or not. */
  get heldCount(): number {
    return this.#held.size;
  }

  /** Whether `tag`'s reports are held back now (its listener failed, the backoff not over). */
  isHeld(tag: string): boolean {
    const held = this.#held.get(tag);
    return held !== undefined && held.at > Date.now();
  }

  /** Held tags whose pause is over: their reports are to be produced and delivered again. */
  due(): Set<string> {
    const now = Date.now();
    return new Set([...this.#held].filter(([, h]) => h.at <= now).map(([tag]) => tag));
  }

  /** Forgets a held tag (its watches are gone, or nothing is left to report). */
  release(tag: string): void {
    this.#held.delete(tag);
  }

  /** Delivers `reports` in order; see the module documentation for a failing listener. */
  async deliver(reports: readonly ChainReport[]): Promise<void> {
    const { listener, retryMs, unreport, onFailure, log } = this.#options;
    const failed = new Set<string>();
    const delivered = new Set<string>();
    for (const report of reports) {
      const tag = report.kind === 'rebroadcastFailed' ? undefined : report.tag;
      if (tag !== undefined && failed.has(tag)) {
        unreport(report);
        continue;
      }
      log.debug({ report: { ...report, spender: undefined } }, 'report');
      try {
        await listener(report);
        if (tag !== undefined) delivered.add(tag);
      } catch (err) {
        const e = new ReportListenerError({ cause: err });
        onFailure({
          name: e.name,
          message: `${tag ?? report.txid}: ${err instanceof Error ? err.message : String(err)}`,
          at: Date.now(),
        });
        if (tag === undefined) {
          // A rebroadcast rejection: the listener only logs it, and the next distinct one comes.
          log.error({ err, txid: report.txid }, 'report listener failed; dropped');
          continue;
        }
        failed.add(tag);
        unreport(report);
        const held = this.#held.get(tag) ?? { attempts: 0, at: 0 };
        held.attempts++;
        const pause = Math.min(retryMs.max, retryMs.first * 2 ** (held.attempts - 1));
        held.at = Date.now() + pause;
        this.#held.set(tag, held);
        log.error(
          { err, tag, kind: report.kind, attempts: held.attempts, retryInMs: pause },
          'report listener failed; this tag is held back and retried, the others go on',
        );
      }
    }
    for (const tag of delivered) if (!failed.has(tag)) this.#held.delete(tag);
  }
}
