/**
 * Taker-side cadence of rollovers: roll a CFD over once its settlement event is less than
 * `settlementInterval − rolloverInterval` away (ItchySats rolls over hourly, keeping the event
 * about one interval ahead). The daemon wires {@link RolloverScheduler} to its open CFDs.
 */
import { type Logger, pino } from 'pino';
import { type Cfd, isOpen } from '../../model/cfd.ts';
import { oracleEventTime } from '../../model/oracle-event.ts';
import { DEFAULT_ROLLOVER_INTERVAL_SECS } from './constants.ts';

/** Whether `cfd` (a taker's, open, not rolling over) is due for a rollover at `now`. */
export function rolloverDue(
  cfd: Cfd,
  now: number,
  rolloverIntervalSecs: number = DEFAULT_ROLLOVER_INTERVAL_SECS,
): boolean {
  const t = cfd.terms;
  if (t?.role !== 'taker' || !cfd.dlc || !isOpen(cfd) || cfd.rollover) return false;
  const remaining = oracleEventTime(cfd.dlc.settlementEventId) - now;
  return remaining < t.settlementIntervalSecs - rolloverIntervalSecs;
}

export interface RolloverSchedulerInit {
  /** The CFDs to consider (the daemon's open taker CFDs). */
  readonly cfds: () => Promise<readonly Cfd[]>;
  /** Rolls one CFD over (e.g. `protocol.rollover(makerPeer, id)`); errors are logged. */
  readonly rollover: (cfd: Cfd) => Promise<unknown>;
  readonly rolloverIntervalSecs?: number;
  /** How often to look. @default 60 s */
  readonly tickMs?: number;
  readonly clock?: () => number;
  readonly logger?: Logger;
}

/** Looks every `tickMs` and rolls over each due CFD, one at a time. */
export class RolloverScheduler {
  readonly #init: RolloverSchedulerInit;
  readonly #log: Logger;
  #timer: NodeJS.Timeout | undefined;
  #busy = false;

  constructor(init: RolloverSchedulerInit) {
    this.#init = init;
    this.#log = init.logger ?? pino({ level: 'silent' });
  }

  start(): void {
    this.#timer ??= setInterval(() => void this.tick(), this.#init.tickMs ?? 60_000);
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** One pass: rolls over every due CFD; resolves when done (skips if a pass is running). */
  async tick(): Promise<void> {
    if (this.#busy) return;
    this.#busy = true;
    try {
      const now = (this.#init.clock ?? (() => Math.floor(Date.now() / 1000)))();
      for (const cfd of await this.#init.cfds()) {
        if (!rolloverDue(cfd, now, this.#init.rolloverIntervalSecs)) continue;
        try {
          await this.#init.rollover(cfd);
        } catch (err) {
          this.#log.warn({ err, cfdId: cfd.terms?.id }, 'rollover did not start');
        }
      }
    } catch (err) {
      this.#log.warn({ err }, 'rollover scheduler pass failed');
    } finally {
      this.#busy = false;
    }
  }
}
