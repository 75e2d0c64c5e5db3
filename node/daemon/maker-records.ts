/**
 * Each maker's record as this taker saw it (issue #17, the order book's "record"): when it first
 * saw the maker, how long it was connected since, when its last offers came, and how the
 * protocols with it ended — setups completed, failed and refused, rollovers completed, failed and
 * refused — counted from this node's own event log (each CFD's `OrderPlaced` names its maker).
 * The outcome counts are rebuilt from the log on every start, so they cover the node's whole
 * history; connection time is measured while this node runs.
 */
import type { PeerId } from '@libp2p/interface';
import type { EventStore, RecordedEvent, Subscription } from '../../eventstore/event-store.ts';
import { type MakerRecord, NO_OUTCOMES, type OutcomeCounts } from '../app/views/order-book.ts';

type Counter = keyof OutcomeCounts;

/**
 * Most records kept of makers this node never placed an order with: every peer that connects or
 * announces offers gets one, and peer ids cost nothing to mint, so past this the one heard least
 * recently (and not connected) is forgotten. Records of makers traded with are never forgotten
 * (their outcome counts come back from the log anyway).
 */
export const MAX_UNTRADED_RECORDS = 1_024;

/** Which event counts where. */
const COUNTED: Readonly<Record<string, Counter>> = {
  ContractSetupCompleted: 'setupsCompleted',
  ContractSetupFailed: 'setupsFailed',
  OrderRejected: 'setupsRejected',
  RolloverCompleted: 'rolloversCompleted',
  RolloverFailed: 'rolloversFailed',
  RolloverRejected: 'rolloversRejected',
};

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** The p2p events the records follow (the libp2p node's). */
export interface PeerEvents {
  addEventListener(
    type: 'peer:connect' | 'peer:disconnect',
    l: (e: CustomEvent<PeerId>) => void,
  ): void;
  removeEventListener(
    type: 'peer:connect' | 'peer:disconnect',
    l: (e: CustomEvent<PeerId>) => void,
  ): void;
}

export class MakerRecords {
  readonly #records = new Map<string, Mutable<MakerRecord>>();
  /** CFD id → its maker, from `OrderPlaced`. */
  readonly #makerOf = new Map<string, string>();
  /** Makers this node placed an order with. */
  readonly #traded = new Set<string>();
  readonly #clock: () => number;
  #subscription: Subscription | undefined;
  #off: (() => void) | undefined;

  readonly #maxUntraded: number;

  constructor(clock: () => number = Date.now, maxUntraded: number = MAX_UNTRADED_RECORDS) {
    this.#clock = clock;
    this.#maxUntraded = maxUntraded;
  }

  /** Follows `peers`' connections and the whole of `store`'s log until {@link stop}. */
  start(store: EventStore, peers: PeerEvents): void {
    const connect = (e: CustomEvent<PeerId>) => this.connected(e.detail.toString());
    const disconnect = (e: CustomEvent<PeerId>) => this.disconnected(e.detail.toString());
    peers.addEventListener('peer:connect', connect);
    peers.addEventListener('peer:disconnect', disconnect);
    this.#off = () => {
      peers.removeEventListener('peer:connect', connect);
      peers.removeEventListener('peer:disconnect', disconnect);
    };
    this.#subscription = store.subscribe(0, (events) => this.apply(events));
  }

  stop(): void {
    this.#off?.();
    this.#subscription?.close();
  }

  /** The records now, by peer id. */
  get all(): ReadonlyMap<string, MakerRecord> {
    return this.#records;
  }

  /** Whether this node ever placed an order with `peer` (so its CFDs may need it). */
  traded(peer: string): boolean {
    return this.#traded.has(peer);
  }

  connected(peer: string): void {
    const r = this.#seen(peer);
    r.connectedSinceMs ??= this.#clock();
  }

  disconnected(peer: string): void {
    const r = this.#records.get(peer);
    if (r?.connectedSinceMs === undefined) return;
    r.connectedMs += this.#clock() - r.connectedSinceMs;
    r.connectedSinceMs = undefined;
  }

  /** `peer` sent offers now. */
  offered(peer: string): void {
    this.#seen(peer).lastOfferMs = this.#clock();
  }

  /** Counts the outcomes among `events` (the log, in order). */
  apply(events: readonly RecordedEvent[]): void {
    for (const e of events) {
      if (e.type === 'OrderPlaced') {
        const terms = (e.data as { terms: { counterpartyPeerId: string } }).terms;
        this.#makerOf.set(e.streamId, terms.counterpartyPeerId);
        this.#traded.add(terms.counterpartyPeerId);
        continue;
      }
      const counter = COUNTED[e.type];
      const maker = counter && this.#makerOf.get(e.streamId);
      if (counter && maker) this.#record(maker)[counter] += 1;
    }
  }

  #record(peer: string): Mutable<MakerRecord> {
    let r = this.#records.get(peer);
    if (!r) {
      r = {
        peerId: peer,
        firstSeenMs: undefined,
        connectedSinceMs: undefined,
        connectedMs: 0,
        lastOfferMs: undefined,
        ...NO_OUTCOMES,
      };
      this.#records.set(peer, r);
    }
    return r;
  }

  #seen(peer: string): Mutable<MakerRecord> {
    const known = this.#records.has(peer);
    const r = this.#record(peer);
    r.firstSeenMs ??= this.#clock();
    if (!known && this.#untraded() > this.#maxUntraded) this.#forget(peer);
    return r;
  }

  #untraded(): number {
    let n = 0;
    for (const peer of this.#records.keys()) if (!this.#traded.has(peer)) n += 1;
    return n;
  }

  /** Forgets the untraded, unconnected record heard least recently (never `except`). */
  #forget(except: string): void {
    let oldest: MakerRecord | undefined;
    const heard = (r: MakerRecord) => r.lastOfferMs ?? r.firstSeenMs ?? 0;
    for (const r of this.#records.values()) {
      if (r.peerId === except || this.#traded.has(r.peerId) || r.connectedSinceMs !== undefined)
        continue;
      if (!oldest || heard(r) < heard(oldest)) oldest = r;
    }
    if (oldest) this.#records.delete(oldest.peerId);
  }
}
