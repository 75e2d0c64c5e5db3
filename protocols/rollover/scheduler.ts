/**
 * Taker-side cadence of rollovers: roll a CFD over once doing so moves its settlement event a whole
 * rollover interval later, so the taker rolls over every `rolloverInterval` (hourly in production,
 * as ItchySats; every minute on a ×60 testnet) and each rollover charges one interval of funding.
 * The daemon wires {@link RolloverScheduler} to its open CFDs.
 *
 * Why not "once the event is less than `settlementInterval − rolloverInterval` away": the maker
 * picks the new event as the first on the oracle's grid at or after `now + settlementInterval`
 * (contract.ts `nextSettlementEventId`), up to one spacing beyond it. Counting the interval from
 * that rounded-up event made the cadence `rolloverInterval` plus the rounding, and with the
 * rollover interval equal to the spacing (production and the testnet) exactly twice the
 * configured interval: every 2 hours, or every 2 minutes on a testnet that said 60 s.
 *
 * A rollover the taker refused because the maker's terms were outside its limits pauses
 * auto-rollover of that CFD (asking again every tick would only get the same terms and cost the
 * maker and us a run each time). It resumes when the user changes the limits, when the maker's
 * published terms come back within them (at most every `pausedRetryMinSecs`), and otherwise is
 * tried again once per `pausedRetrySecs` in case its rollover terms differ from its offers.
 */
import { type Logger, pino } from 'pino';
import { type Cfd, isOpen } from '../../model/cfd.ts';
import { rolloverTermsOutsideLimits } from '../../model/limits.ts';
import { oracleEventTime } from '../../model/oracle-event.ts';
import type { FeeRate, FundingRate } from '../../model/units.ts';
import { DEFAULT_EVENT_SPACING_SECS, DEFAULT_ROLLOVER_INTERVAL_SECS } from './constants.ts';

/** How often the taker rolls over, and the oracle's event grid the new settlement event is on. */
export interface RolloverCadence {
  /** @default 1 h */
  readonly rolloverIntervalSecs?: number;
  /** @default 1 h */
  readonly eventSpacingSecs?: number;
}

/**
 * The first unix second at which a contract whose settlement event is at `eventTimeSecs` is due
 * for a rollover: from then on a rollover moves the event (to the first grid event at or after
 * `now + settlementInterval`) at least one rollover interval later. Undefined when the cadence is
 * no shorter than the settlement interval: no rollover then, the contract settles at its event.
 */
export function rolloverDueSecs(
  eventTimeSecs: number,
  settlementIntervalSecs: number,
  cadence: RolloverCadence = {},
): number | undefined {
  const interval = cadence.rolloverIntervalSecs ?? DEFAULT_ROLLOVER_INTERVAL_SECS;
  const spacing = cadence.eventSpacingSecs ?? DEFAULT_EVENT_SPACING_SECS;
  if (interval >= settlementIntervalSecs) return undefined;
  // The first grid event at least one interval after the current one; a rollover at `now` picks
  // it (or a later one) once ceil((now + S) / spacing) · spacing ≥ target, i.e. now + S > target − spacing.
  const target = Math.ceil((eventTimeSecs + interval) / spacing) * spacing;
  return target - spacing - settlementIntervalSecs + 1;
}

/** Whether `cfd` (a taker's, open, not rolling over) is due for a rollover at `now`. */
export function rolloverDue(cfd: Cfd, now: number, cadence: RolloverCadence = {}): boolean {
  const t = cfd.terms;
  if (t?.role !== 'taker' || !cfd.dlc || !isOpen(cfd) || cfd.rollover) return false;
  const due = rolloverDueSecs(
    oracleEventTime(cfd.dlc.settlementEventId),
    t.settlementIntervalSecs,
    cadence,
  );
  return due !== undefined && now >= due;
}

/** Rollover terms: what the maker set, or what it publishes now. */
export interface RolloverTerms {
  readonly fundingRate: FundingRate;
  readonly feeRate: FeeRate;
}

/** The taker's limits on rollover terms, with a version that moves on every change. */
export interface RolloverLimits {
  readonly version: number;
  readonly maxFundingRate: FundingRate;
  readonly maxFeeRate: FeeRate;
  /** The chain's mempool minimum (not the user's): terms below it are outside too. */
  readonly minFeeRate?: FeeRate;
}

/** What a rollover attempt says, as far as the scheduler cares. */
export interface RolloverAttempt {
  /** Set when the taker refused the maker's terms for its limits. */
  readonly limitRefusal?: { readonly reason: string } & RolloverTerms;
}

/** Auto-rollover of one CFD is paused: why, and since when (unix seconds). */
export interface RolloverPause {
  readonly cfdId: string;
  readonly reason: string;
  readonly sinceSecs: number;
  /** The terms refused. */
  readonly terms: RolloverTerms;
}

export interface RolloverSchedulerInit extends RolloverCadence {
  /** The CFDs to consider (the daemon's open taker CFDs). */
  readonly cfds: () => Promise<readonly Cfd[]>;
  /** Rolls one CFD over (e.g. `protocol.rollover(makerPeer, id)`); errors are logged. */
  readonly rollover: (cfd: Cfd) => Promise<RolloverAttempt | undefined>;
  /** How often to look. @default 60 s */
  readonly tickMs?: number;
  readonly clock?: () => number;
  readonly logger?: Logger;
  /** The taker's limits now (a paused CFD resumes when their version moves). */
  readonly limits?: () => RolloverLimits;
  /** The rollover terms the CFD's maker publishes now (its offers), if any. */
  readonly makerTerms?: (cfd: Cfd) => RolloverTerms | undefined;
  /** Least time between two tries of a paused CFD on the maker's published terms. @default rolloverInterval / 6 */
  readonly pausedRetryMinSecs?: number;
  /** A paused CFD is tried again after this long whatever the terms. @default rolloverInterval */
  readonly pausedRetrySecs?: number;
  /** Called when a CFD's pause starts or ends. */
  readonly onPause?: (cfdId: string, pause: RolloverPause | undefined) => void;
}

interface PauseState extends RolloverPause {
  readonly limitsVersion: number | undefined;
  readonly lastTrySecs: number;
}

/** Looks every `tickMs` and rolls over each due CFD, one at a time. */
export class RolloverScheduler {
  readonly #init: RolloverSchedulerInit;
  readonly #log: Logger;
  readonly #paused = new Map<string, PauseState>();
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

  /** Why auto-rollover of `cfdId` is paused, or undefined when it is not. */
  paused(cfdId: string): RolloverPause | undefined {
    const p = this.#paused.get(cfdId);
    return p && { cfdId: p.cfdId, reason: p.reason, sinceSecs: p.sinceSecs, terms: p.terms };
  }

  /** One pass: rolls over every due CFD; resolves when done (skips if a pass is running). */
  async tick(): Promise<void> {
    if (this.#busy) return;
    this.#busy = true;
    try {
      const now = (this.#init.clock ?? (() => Math.floor(Date.now() / 1000)))();
      const cfds = await this.#init.cfds();
      const open = new Set(cfds.map((c) => c.terms?.id));
      for (const id of [...this.#paused.keys()]) if (!open.has(id)) this.#resume(id, 'closed');
      for (const cfd of cfds) {
        if (!rolloverDue(cfd, now, this.#init)) continue;
        const id = cfd.terms!.id;
        if (!this.#mayTry(cfd, now)) continue;
        try {
          const attempt = await this.#init.rollover(cfd);
          const refusal = attempt?.limitRefusal;
          if (refusal) this.#pause(id, refusal, now);
          else this.#resume(id, 'rollover ran');
        } catch (err) {
          this.#log.warn({ err, cfdId: id }, 'rollover did not start');
        }
      }
    } catch (err) {
      this.#log.warn({ err }, 'rollover scheduler pass failed');
    } finally {
      this.#busy = false;
    }
  }

  /** Whether a due CFD is tried now: not paused, or a reason to resume has come. */
  #mayTry(cfd: Cfd, now: number): boolean {
    const p = this.#paused.get(cfd.terms!.id);
    if (!p) return true;
    const interval = this.#init.rolloverIntervalSecs ?? DEFAULT_ROLLOVER_INTERVAL_SECS;
    const limits = this.#init.limits?.();
    if (limits && limits.version !== p.limitsVersion) return true;
    if (now - p.lastTrySecs >= (this.#init.pausedRetrySecs ?? interval)) return true;
    const minSecs = this.#init.pausedRetryMinSecs ?? Math.floor(interval / 6);
    if (now - p.lastTrySecs < minSecs) return false;
    const terms = this.#init.makerTerms?.(cfd);
    return (
      terms !== undefined &&
      (terms.fundingRate !== p.terms.fundingRate || terms.feeRate !== p.terms.feeRate) &&
      (!limits || rolloverTermsOutsideLimits(terms, limits) === undefined)
    );
  }

  #pause(cfdId: string, refusal: { reason: string } & RolloverTerms, now: number): void {
    const before = this.#paused.get(cfdId);
    const pause: PauseState = {
      cfdId,
      reason: refusal.reason,
      sinceSecs: before?.sinceSecs ?? now,
      terms: { fundingRate: refusal.fundingRate, feeRate: refusal.feeRate },
      limitsVersion: this.#init.limits?.().version,
      lastTrySecs: now,
    };
    this.#paused.set(cfdId, pause);
    if (!before) {
      this.#log.warn({ cfdId, reason: refusal.reason }, 'auto-rollover paused');
    }
    this.#init.onPause?.(cfdId, this.paused(cfdId));
  }

  #resume(cfdId: string, why: string): void {
    if (!this.#paused.delete(cfdId)) return;
    this.#log.info({ cfdId, why }, 'auto-rollover resumed');
    this.#init.onPause?.(cfdId, undefined);
  }
}
