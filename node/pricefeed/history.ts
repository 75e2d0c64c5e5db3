/**
 * A bounded, in-memory history of quotes for the UI's price chart, so a page opened now shows the
 * last hour rather than an empty chart that fills in second by second.
 *
 * Downsampled to one point per `resolutionMs` bucket (the last quote received in the bucket, i.e.
 * the bucket's close) and cut to the last `windowMs`: at the defaults (5 s, 1 h) it never holds
 * more than 721 points, however fast the feed ticks. Nothing is written to disk: the history is a
 * convenience for the chart, and a restarted node simply starts a new one (BitMEX is the record).
 *
 * @example
 * const h = new QuoteHistory({ resolutionMs: 5_000, windowMs: 3_600_000 });
 * h.add({ bid, ask, receivedAt: Date.now() });
 * h.since(Date.now() - 600_000); // the last ten minutes, oldest first
 */
import type { Price } from '../../model/units.ts';

/** One point per this many ms. */
export const DEFAULT_HISTORY_RESOLUTION_MS = 5_000;
/** Kept for this long. */
export const DEFAULT_HISTORY_WINDOW_MS = 3_600_000;

export interface QuoteHistoryPoint {
  /** When the quote was received, unix ms. */
  readonly t: number;
  readonly bid: Price;
  readonly ask: Price;
}

export interface QuoteHistoryOptions {
  /** @default DEFAULT_HISTORY_RESOLUTION_MS */
  readonly resolutionMs?: number;
  /** @default DEFAULT_HISTORY_WINDOW_MS */
  readonly windowMs?: number;
}

export class QuoteHistory {
  readonly resolutionMs: number;
  readonly windowMs: number;
  /** Oldest first; at most one point per bucket. */
  #points: QuoteHistoryPoint[] = [];

  constructor(options: QuoteHistoryOptions = {}) {
    this.resolutionMs = options.resolutionMs ?? DEFAULT_HISTORY_RESOLUTION_MS;
    this.windowMs = options.windowMs ?? DEFAULT_HISTORY_WINDOW_MS;
    if (!(this.resolutionMs > 0) || !(this.windowMs >= this.resolutionMs)) {
      throw new RangeError('quote history: need 0 < resolutionMs ≤ windowMs');
    }
  }

  /** The most points it can hold: one per bucket the window touches. */
  get capacity(): number {
    return Math.ceil(this.windowMs / this.resolutionMs) + 1;
  }

  get size(): number {
    return this.#points.length;
  }

  /**
   * Records a quote. A quote in the same bucket as the newest point replaces it (the bucket keeps
   * its latest price); one older than the newest point is ignored (the local clock stepped back),
   * so the history stays ordered.
   */
  add(q: { readonly bid: Price; readonly ask: Price; readonly receivedAt: number }): void {
    const point: QuoteHistoryPoint = { t: q.receivedAt, bid: q.bid, ask: q.ask };
    const last = this.#points[this.#points.length - 1];
    if (last && point.t < last.t) return;
    if (last && this.#bucket(last.t) === this.#bucket(point.t)) {
      this.#points[this.#points.length - 1] = point;
    } else {
      this.#points.push(point);
    }
    this.#evict(point.t);
  }

  /**
   * Points received after `sinceMs` (exclusive) and within the window as of `now`, oldest first.
   * @param sinceMs unix ms; omitted: the whole window
   */
  since(sinceMs = Number.NEGATIVE_INFINITY, now: number = Date.now()): QuoteHistoryPoint[] {
    const from = Math.max(sinceMs, now - this.windowMs - 1);
    // The newest points are the ones usually asked for: search from the end.
    let i = this.#points.length;
    while (i > 0 && this.#points[i - 1]!.t > from) i--;
    return this.#points.slice(i);
  }

  #bucket(t: number): number {
    return Math.floor(t / this.resolutionMs);
  }

  #evict(now: number): void {
    let drop = 0;
    while (drop < this.#points.length && this.#points[drop]!.t < now - this.windowMs) drop++;
    if (drop > 0) this.#points.splice(0, drop);
  }
}
