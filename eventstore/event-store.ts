import { Level } from 'level';
import { type Logger, pino } from 'pino';
import { parse, stringify } from '../model/json.ts';
import {
  ConcurrencyError,
  CorruptRecordError,
  EventStoreClosedError,
  EventStoreFailedError,
  InvalidAppendError,
} from './errors.ts';

/** An event to append: a type name and JSON-able data (bigints allowed). */
export interface NewEvent<T extends string = string, D = unknown> {
  readonly type: T;
  readonly data: D;
}

/** An event as persisted: where it sits in its stream and in the global log. */
export interface RecordedEvent<E extends NewEvent = NewEvent> {
  /** 1-based position in the global log; contiguous. */
  readonly position: number;
  readonly streamId: string;
  /** 1-based version within the stream; contiguous. */
  readonly version: number;
  readonly type: E['type'];
  readonly data: E['data'];
  /** Unix milliseconds when the event was appended. */
  readonly recordedAt: number;
}

export interface AppendResult {
  /** The stream's version after the append. */
  readonly version: number;
  /** Global position of the last appended event. */
  readonly position: number;
}

export interface EventStoreOptions {
  /** Scoped logger; defaults to silent. */
  readonly logger?: Logger;
  /** Wall clock for `recordedAt` (unix ms); injectable for tests. */
  readonly clock?: () => number;
}

/** Counters since open: how well group commit is batching. */
export interface EventStoreStats {
  /** Synced batch writes. */
  readonly writes: number;
  /** Events written. */
  readonly events: number;
  /** Appends (calls) written. */
  readonly appends: number;
  /** Times a slow subscriber's live queue was dropped in favour of reading from disk. */
  readonly overflows: number;
}

export interface EventStoreHealth {
  readonly status: 'ok' | 'failed' | 'closed';
  /** Global position of the last durable event. */
  readonly head: number;
  readonly lastError: string | undefined;
}

/** Handler of a subscription: called with ordered, durable events; awaited before the next call. */
export type BatchHandler = (events: readonly RecordedEvent[]) => void | Promise<void>;

export interface Subscription {
  /** Position of the last event handed to the handler. */
  readonly position: number;
  /** Resolves once the subscription has caught up with the log as it was when it started. */
  readonly caughtUp: Promise<void>;
  /** Resolves when the subscription ends (closed, store closed, or the handler threw). */
  readonly done: Promise<void>;
  close(): void;
}

/**
 * A projection's own key space in the event store's database (keys `p:<name>:…`). Writes are
 * atomic but not fsync'd: a projection can always be rebuilt from the log, and keeping its rows
 * and its checkpoint in one batch keeps them consistent with each other after any crash.
 */
export interface ProjectionStorage {
  get(key: string): Promise<string | undefined>;
  /** Entries whose keys start with `prefix`, in key order (keys returned without `prefix`). */
  entries(prefix: string): Promise<[string, string][]>;
  /** `sync: true` fsyncs the batch (for side records an event will point at). */
  write(
    puts: readonly (readonly [string, string])[],
    dels?: readonly string[],
    options?: { readonly sync?: boolean },
  ): Promise<void>;
  /** Deletes every key of this projection. */
  clear(): Promise<void>;
}

/** Events read per page when catching up; bounds memory whatever the history. */
export const READ_PAGE_SIZE = 1000;
/** A slow subscriber's live queue is dropped past this and refilled from disk instead. */
export const MAX_LIVE_QUEUE = 10_000;

const STREAM_ID = /^[A-Za-z0-9_.-]{1,128}$/;
const POSITION_DIGITS = 16;
const VERSION_DIGITS = 10;
const globalKey = (position: number): string =>
  `g:${String(position).padStart(POSITION_DIGITS, '0')}`;
const streamKey = (id: string, version: number): string =>
  `s:${id}:${String(version).padStart(VERSION_DIGITS, '0')}`;
const GLOBAL_LT = 'g;'; // ';' sorts right after ':'

interface StoredRecord {
  s: string;
  v: number;
  t: string;
  d: unknown;
  at: number;
}

interface PendingAppend {
  readonly records: RecordedEvent[];
  readonly resolve: (r: AppendResult) => void;
  readonly reject: (e: Error) => void;
}

/**
 * An append-only event log on LevelDB.
 *
 * - `append(stream, expectedVersion, events)` writes the batch atomically and durably (fsync), or
 *   not at all; a writer whose expected version is stale gets a {@link ConcurrencyError} and
 *   nothing is written.
 * - Appends waiting while a write is in flight are committed together in the next write: one
 *   fsync for many appends (group commit).
 * - Every event gets a global position. Subscribers catch up from a position, then receive new
 *   events live, in order, only after they are durable: persist, then broadcast.
 *
 * One process owns the database (LevelDB locks it), so the version check in memory is the whole
 * truth: versions are loaded from disk once per stream and reserved synchronously.
 */
export class EventStore {
  readonly #db: Level<string, string>;
  readonly #log: Logger;
  readonly #clock: () => number;
  readonly #versions = new Map<string, number>();
  readonly #loading = new Map<string, Promise<void>>();
  readonly #listeners = new Set<(events: readonly RecordedEvent[]) => void>();
  readonly #closers = new Set<() => void>();
  #queue: PendingAppend[] = [];
  #writing: Promise<void> | undefined;
  /** Next position to hand out (reserved, maybe not yet durable). */
  #nextPosition: number;
  /** Last durable position. */
  #head: number;
  #failure: Error | undefined;
  #closed = false;
  #stats = { writes: 0, events: 0, appends: 0, overflows: 0 };

  private constructor(db: Level<string, string>, head: number, options: EventStoreOptions) {
    this.#db = db;
    this.#head = head;
    this.#nextPosition = head + 1;
    this.#log = options.logger ?? pino({ level: 'silent' });
    this.#clock = options.clock ?? Date.now;
  }

  /** Opens (or creates) the log in directory `location`. */
  static async open(location: string, options: EventStoreOptions = {}): Promise<EventStore> {
    const db = new Level<string, string>(location, { keyEncoding: 'utf8', valueEncoding: 'utf8' });
    await db.open();
    const last = await db.keys({ gt: 'g:', lt: GLOBAL_LT, reverse: true, limit: 1 }).all();
    const head = last[0] ? Number(last[0].slice(2)) : 0;
    const store = new EventStore(db, head, options);
    store.#log.info({ location, head }, 'event store opened');
    return store;
  }

  /** Last durable global position (0 when empty). */
  get head(): number {
    return this.#head;
  }

  stats(): EventStoreStats {
    return { ...this.#stats };
  }

  health(): EventStoreHealth {
    return {
      status: this.#closed ? 'closed' : this.#failure ? 'failed' : 'ok',
      head: this.#head,
      lastError: this.#failure?.message,
    };
  }

  /** Current version of a stream (0 if it has no events), including reserved appends. */
  async version(streamId: string): Promise<number> {
    await this.#loadVersion(streamId);
    return this.#versions.get(streamId)!;
  }

  /**
   * Appends `events` to `streamId` if the stream is at `expectedVersion`. Resolves once the events
   * are on disk (fsync'd); rejects with {@link ConcurrencyError} if another writer got there first.
   */
  async append(
    streamId: string,
    expectedVersion: number,
    events: readonly NewEvent[],
  ): Promise<AppendResult> {
    this.#assertWritable();
    if (!STREAM_ID.test(streamId)) {
      throw new InvalidAppendError(`stream id '${streamId}' must match ${STREAM_ID}`);
    }
    if (!Number.isInteger(expectedVersion) || expectedVersion < 0) {
      throw new InvalidAppendError(`expected version must be a whole number ≥ 0`);
    }
    if (events.length === 0) throw new InvalidAppendError('nothing to append');
    await this.#loadVersion(streamId);
    // From here to the queue push everything is synchronous: the check and the reservation
    // cannot interleave with another append.
    this.#assertWritable();
    const actual = this.#versions.get(streamId)!;
    if (actual !== expectedVersion) throw new ConcurrencyError(streamId, expectedVersion, actual);
    const recordedAt = this.#clock();
    const records = events.map(
      (e, i): RecordedEvent => ({
        position: this.#nextPosition + i,
        streamId,
        version: expectedVersion + 1 + i,
        type: e.type,
        data: e.data,
        recordedAt,
      }),
    );
    this.#nextPosition += events.length;
    this.#versions.set(streamId, expectedVersion + events.length);
    const done = new Promise<AppendResult>((resolve, reject) => {
      this.#queue.push({ records, resolve, reject });
    });
    this.#flush();
    return done;
  }

  /** All events of a stream from `fromVersion` (inclusive, 1-based), in order. */
  async readStream(streamId: string, fromVersion = 1): Promise<RecordedEvent[]> {
    const positions = await this.#db
      .values({ gte: streamKey(streamId, fromVersion), lt: `s:${streamId};` })
      .all();
    if (positions.length === 0) return [];
    const values = await this.#db.getMany(positions.map((p) => globalKey(Number(p))));
    return values.map((v, i) => decode(Number(positions[i]), v));
  }

  /** Durable events with `from < position ≤ to`, at most `limit` of them, in order. */
  async readAll(from: number, limit = READ_PAGE_SIZE, to = this.#head): Promise<RecordedEvent[]> {
    if (from >= to) return [];
    const entries = await this.#db
      .iterator({ gt: globalKey(from), lte: globalKey(to), limit })
      .all();
    return entries.map(([k, v]) => decode(Number(k.slice(2)), v));
  }

  /**
   * Calls `handler` with every durable event after position `from`: first the history, page by
   * page, then live batches as they become durable. Ordered and gap-free; the handler is awaited
   * before the next call. If the handler throws, the subscription ends (see `done`).
   */
  subscribe(from: number, handler: BatchHandler): Subscription {
    let position = from;
    let closed = false;
    let live: RecordedEvent[] = [];
    let overflow = false;
    let wake: (() => void) | undefined;
    let markCaughtUp!: () => void;
    const caughtUp = new Promise<void>((r) => {
      markCaughtUp = r;
    });
    const listener = (events: readonly RecordedEvent[]): void => {
      if (overflow) return;
      live.push(...events);
      if (live.length > MAX_LIVE_QUEUE) {
        overflow = true;
        this.#stats.overflows += 1;
        live = [];
      }
      wake?.();
    };
    const onClose = (): void => {
      closed = true;
      wake?.();
    };
    this.#listeners.add(listener);
    const target = this.#head;
    const run = async (): Promise<void> => {
      try {
        let reachedTarget = false;
        let prefetch: { from: number; page: Promise<RecordedEvent[]> } | undefined;
        while (!closed && !this.#closed) {
          if (!reachedTarget && position >= target) {
            reachedTarget = true;
            markCaughtUp();
          }
          if (overflow) {
            overflow = false;
            live = [];
          }
          let stale = 0;
          while (stale < live.length && live[stale]!.position <= position) stale++;
          if (stale > 0) live = live.slice(stale);
          if (live.length > 0 && live[0]!.position === position + 1) {
            const batch = live;
            live = [];
            await handler(batch);
            position = batch[batch.length - 1]!.position;
          } else if (position < this.#head) {
            // Behind (history, or a live queue with a gap): read from disk, page by page,
            // reading the next page while the handler works on this one.
            const page =
              prefetch?.from === position ? await prefetch.page : await this.readAll(position);
            prefetch = undefined;
            const last = page[page.length - 1]!.position;
            if (last < this.#head) {
              const next = this.readAll(last);
              next.catch(() => undefined); // awaited below, or dropped if the subscription ends
              prefetch = { from: last, page: next };
            }
            await handler(page);
            position = last;
          } else {
            await new Promise<void>((r) => {
              wake = r;
            });
            wake = undefined;
          }
        }
      } finally {
        this.#listeners.delete(listener);
        this.#closers.delete(onClose);
        markCaughtUp();
      }
    };
    this.#closers.add(onClose);
    const done = run();
    done.catch((err: unknown) => {
      this.#log.error({ err }, 'subscription handler failed; subscription ended');
    });
    return {
      get position() {
        return position;
      },
      caughtUp,
      done: done.catch(() => undefined),
      close: onClose,
    };
  }

  /** The key space of projection `name`. */
  projectionStorage(name: string): ProjectionStorage {
    if (!STREAM_ID.test(name)) throw new InvalidAppendError(`bad projection name '${name}'`);
    const db = this.#db;
    const base = `p:${name}:`;
    return {
      get: (key) => db.get(base + key),
      entries: async (prefix) => {
        const from = base + prefix;
        const rows = await db.iterator({ gte: from, lt: `${from}\uffff` }).all();
        return rows.map(([k, v]) => [k.slice(from.length), v]);
      },
      write: (puts, dels = [], options = {}) =>
        db.batch(
          [
            ...puts.map(([key, value]) => ({ type: 'put' as const, key: base + key, value })),
            ...dels.map((key) => ({ type: 'del' as const, key: base + key })),
          ],
          { sync: options.sync ?? false },
        ),
      clear: () => db.clear({ gte: base, lt: `p:${name};` }),
    };
  }

  /** Waits for in-flight writes, ends subscriptions and closes the database. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    while (this.#writing) await this.#writing;
    for (const close of [...this.#closers]) close();
    await this.#db.close();
    this.#log.info({ head: this.#head }, 'event store closed');
  }

  #assertWritable(): void {
    if (this.#closed) throw new EventStoreClosedError();
    if (this.#failure) {
      throw new EventStoreFailedError(
        `the event store failed and must be reopened: ${this.#failure.message}`,
        {
          cause: this.#failure,
        },
      );
    }
  }

  async #loadVersion(streamId: string): Promise<void> {
    if (this.#versions.has(streamId)) return;
    let loading = this.#loading.get(streamId);
    if (!loading) {
      loading = (async () => {
        const last = await this.#db
          .keys({ gt: `s:${streamId}:`, lt: `s:${streamId};`, reverse: true, limit: 1 })
          .all();
        const version = last[0] ? Number(last[0].slice(-VERSION_DIGITS)) : 0;
        // An append may have reserved versions while we read: never move backwards.
        if (!this.#versions.has(streamId)) this.#versions.set(streamId, version);
      })().finally(() => this.#loading.delete(streamId));
      this.#loading.set(streamId, loading);
    }
    await loading;
  }

  /** Writes everything queued in one synced batch; appends arriving meanwhile wait for the next. */
  #flush(): void {
    if (this.#writing || this.#queue.length === 0) return;
    const group = this.#queue;
    this.#queue = [];
    this.#writing = this.#write(group).finally(() => {
      this.#writing = undefined;
      this.#flush();
    });
  }

  async #write(group: PendingAppend[]): Promise<void> {
    const ops: { type: 'put'; key: string; value: string }[] = [];
    for (const p of group) {
      for (const r of p.records) {
        const stored: StoredRecord = {
          s: r.streamId,
          v: r.version,
          t: r.type,
          d: r.data,
          at: r.recordedAt,
        };
        ops.push({ type: 'put', key: globalKey(r.position), value: stringify(stored) });
        ops.push({ type: 'put', key: streamKey(r.streamId, r.version), value: String(r.position) });
      }
    }
    try {
      if (this.#failure) throw this.#failure;
      await this.#db.batch(ops, { sync: true });
    } catch (err) {
      // Reserved versions and positions no longer match the disk: refuse everything until reopened.
      const failure = err instanceof Error ? err : new Error(String(err));
      if (!this.#failure) this.#log.error({ err: failure }, 'event store write failed');
      this.#failure = failure;
      const rejection = new EventStoreFailedError(`write failed: ${failure.message}`, {
        cause: failure,
      });
      for (const p of [...group, ...this.#queue]) p.reject(rejection);
      this.#queue = [];
      return;
    }
    this.#stats.writes += 1;
    this.#stats.appends += group.length;
    this.#stats.events += ops.length / 2;
    const last = group[group.length - 1]!.records;
    this.#head = last[last.length - 1]!.position;
    const all = group.flatMap((p) => p.records);
    for (const p of group) {
      const r = p.records[p.records.length - 1]!;
      p.resolve({ version: r.version, position: r.position });
    }
    for (const listener of this.#listeners) listener(all);
  }
}

function decode(position: number, value: string | undefined): RecordedEvent {
  if (value === undefined) throw new CorruptRecordError(`event at position ${position} is missing`);
  let r: StoredRecord;
  try {
    r = parse<StoredRecord>(value);
  } catch (err) {
    throw new CorruptRecordError(`event at position ${position} is not valid JSON`, { cause: err });
  }
  if (typeof r.s !== 'string' || typeof r.v !== 'number' || typeof r.t !== 'string') {
    throw new CorruptRecordError(`event at position ${position} lacks stream, version or type`);
  }
  return { position, streamId: r.s, version: r.v, type: r.t, data: r.d, recordedAt: r.at };
}
