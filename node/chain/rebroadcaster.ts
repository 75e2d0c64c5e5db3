/**
 * The rebroadcaster: transactions we published (or must publish), broadcast again whenever the
 * tip changes until they confirm, and remembered until {@link DEFAULT_TRACK_DEPTH} so that a reorg
 * removing their block resumes rebroadcasting. A rejection is reported once per distinct reason
 * (`rebroadcastFailed`). Part of the chain monitor, which feeds it blocks, delivers its reports
 * and persists the records it marks dirty (`bc!<txid>`).
 */
import type { Transaction } from 'bitcoinjs-lib';
import { broadcast } from './broadcast.ts';
import { BroadcastRejectedError } from './errors.ts';
import type { BlockRef } from './follower.ts';
import type { BitcoinRpc } from './rpc.ts';
import type { RebroadcastFailedReport } from './watch-registry.ts';

/**
 * A tracked broadcast is rebroadcast until its first confirmation but remembered until this
 * many, so that a reorg which removes its block (the node may drop it) resumes rebroadcasting.
 * Deeper reorgs (up to the hash window) are the watcher's to follow: the `unconfirmed` and
 * `spentReorged` reports tell the process manager, which rolls the CFD back and tracks again what
 * it needs (test/e2e/reorg.spec.ts).
 */
export const DEFAULT_TRACK_DEPTH = 6;

/** Database key prefix of a tracked broadcast: `bc!<txid>`. */
export const TRACK_PREFIX = 'bc!';

/** A tracked broadcast as persisted. */
export interface Tracked {
  txid: string;
  hex: string;
  conf: BlockRef | undefined;
  /** Last rejection reason reported. */
  failure: string | undefined;
}

export function trackKey(txid: string): string {
  return `${TRACK_PREFIX}${txid}`;
}

export interface RebroadcasterOptions {
  rpc: BitcoinRpc;
  trackDepth: number;
  confirmTimeoutMs: number;
  /** Where a transaction the node says is confirmed sits on the processed chain, if it does. */
  locate: (txid: string, signal: AbortSignal) => Promise<BlockRef | undefined>;
  log: { debug: (o: object, m: string) => void; warn: (o: object, m: string) => void };
}

/** Tracked broadcasts and their rebroadcast; see the module documentation. */
export class Rebroadcaster {
  readonly tracked = new Map<string, Tracked>();
  readonly #options: RebroadcasterOptions;
  readonly #dirty = new Set<string>();

  constructor(options: RebroadcasterOptions) {
    this.#options = options;
  }

  get size(): number {
    return this.tracked.size;
  }

  /** Keys changed since the last call; the owner persists them. */
  takeDirty(): string[] {
    const keys = [...this.#dirty];
    this.#dirty.clear();
    return keys;
  }

  /** Replaces the records with loaded ones. */
  load(records: Iterable<Tracked>): void {
    this.tracked.clear();
    this.#dirty.clear();
    for (const t of records) this.tracked.set(t.txid, t);
  }

  /** Starts tracking; returns the key to persist, or undefined if already tracked. */
  track(txid: string, hex: string): string | undefined {
    if (this.tracked.has(txid)) return undefined;
    this.tracked.set(txid, { txid, hex, conf: undefined, failure: undefined });
    return trackKey(txid);
  }

  /** Stops tracking; returns the key to persist. */
  untrack(txid: string): string {
    this.tracked.delete(txid);
    return trackKey(txid);
  }

  /** A connected block: what it confirms, and what is now deep enough to forget. */
  connect(ref: BlockRef, txs: readonly Transaction[]): void {
    if (this.tracked.size > 0) {
      for (const tx of txs) {
        const t = this.tracked.get(tx.getId());
        if (!t) continue;
        t.conf = ref;
        t.failure = undefined;
        this.#dirty.add(trackKey(t.txid));
      }
    }
    for (const t of this.tracked.values()) {
      if (t.conf && ref.height - t.conf.height + 1 >= this.#options.trackDepth) {
        this.tracked.delete(t.txid);
        this.#dirty.add(trackKey(t.txid));
      }
    }
  }

  /** A disconnected block: what it confirmed is rebroadcast again. */
  disconnect(ref: BlockRef): void {
    for (const t of this.tracked.values()) {
      if (t.conf?.hash !== ref.hash) continue;
      t.conf = undefined;
      this.#dirty.add(trackKey(t.txid));
    }
  }

  /**
   * Rebroadcasts tracked transactions that have no confirmation; returns a report per new
   * rejection reason. Other failures (the node unreachable) throw.
   */
  async rebroadcast(signal: AbortSignal): Promise<RebroadcastFailedReport[]> {
    const { rpc, confirmTimeoutMs, locate, log } = this.#options;
    const reports: RebroadcastFailedReport[] = [];
    for (const t of [...this.tracked.values()]) {
      if (t.conf) continue;
      try {
        const { status } = await broadcast(rpc, t.hex, { signal, confirmTimeoutMs });
        log.debug({ txid: t.txid, status }, 'rebroadcast');
        if (status === 'confirmed') {
          // Confirmed before it was tracked: remember where, so it is forgotten at depth.
          t.conf = await locate(t.txid, signal);
        }
        if (t.failure !== undefined || t.conf) {
          t.failure = undefined;
          this.#dirty.add(trackKey(t.txid));
        }
      } catch (err) {
        if (!(err instanceof BroadcastRejectedError)) throw err;
        log.warn({ txid: t.txid, reason: err.reason }, 'rebroadcast rejected');
        if (t.failure === err.reason) continue;
        t.failure = err.reason;
        this.#dirty.add(trackKey(t.txid));
        reports.push({ kind: 'rebroadcastFailed', txid: t.txid, reason: err.reason });
      }
    }
    return reports;
  }
}
