import { type Logger, pino } from 'pino';
import {
  apply,
  CFD_EVENT_TYPES,
  type Cfd,
  EMPTY_CFD,
  ENDED_UI_STATES,
  uiState,
} from '../model/cfd.ts';
import { parse, stringify } from '../model/json.ts';
import { cfdEvent } from './cfd-events.ts';
import type { EventStore, ProjectionStorage, RecordedEvent, Subscription } from './event-store.ts';

/**
 * Bump when the stored shape of the read model changes: a mismatch on open rebuilds the
 * projection from the log instead of reading rows this code did not write.
 */
export const CFD_READ_MODEL_VERSION = 2;
const NAME = 'cfd';
const CFD_TYPES: ReadonlySet<string> = new Set(CFD_EVENT_TYPES);

/** JSON drops `undefined` fields; restore them so a stored CFD equals the live one. */
const revive = (row: string): Cfd => ({ ...EMPTY_CFD, ...parse<Partial<Cfd>>(row) });

/** True once a CFD can no longer change on its own (settled, refunded, rejected, failed…). */
export function isTerminal(cfd: Cfd): boolean {
  return ENDED_UI_STATES.has(uiState(cfd));
}

export interface CfdReadModelOptions {
  readonly logger?: Logger;
}

/**
 * The UI read model: every CFD's current state, kept up to date from the event log.
 *
 * Open CFDs live in memory. Terminal ones (closed, refunded, rejected…) are written to disk and
 * dropped from memory, so start-up reads the open ones and the log's tail after the checkpoint,
 * however long the history of closed CFDs grows. Rows and checkpoint are written in one batch, so
 * after a crash the projection resumes from a consistent point.
 */
export class CfdReadModel {
  readonly #storage: ProjectionStorage;
  readonly #log: Logger;
  readonly #open = new Map<string, Cfd>();
  readonly #waiters: { position: number; resolve: () => void }[] = [];
  readonly #listeners = new Set<(cfds: readonly Cfd[]) => void>();
  readonly #failureListeners = new Set<(err: Error) => void>();
  #position = 0;
  #applied = 0;
  #failure: Error | undefined;
  #subscription: Subscription | undefined;

  private constructor(storage: ProjectionStorage, logger: Logger) {
    this.#storage = storage;
    this.#log = logger;
  }

  /**
   * Loads the projection and catches up with the log; resolves once it reflects everything that
   * was durable when it was called, then keeps following the log live.
   */
  static async open(store: EventStore, options: CfdReadModelOptions = {}): Promise<CfdReadModel> {
    const log = options.logger ?? pino({ level: 'silent' });
    const model = new CfdReadModel(store.projectionStorage(NAME), log);
    await model.#load();
    const started = Date.now();
    const from = model.#position;
    model.#subscription = store.subscribe(from, async (events) => {
      try {
        await model.#applyBatch(events);
      } catch (err) {
        const failure = err instanceof Error ? err : new Error(String(err));
        model.#failure = failure;
        log.error({ err }, 'cfd read model stopped following the log');
        for (const listener of model.#failureListeners) listener(failure);
        throw err;
      }
    });
    await model.#subscription.caughtUp;
    log.info(
      { from, position: model.#position, open: model.#open.size, ms: Date.now() - started },
      'cfd read model caught up',
    );
    return model;
  }

  /** Deletes the stored projection, so the next {@link open} replays the whole log. */
  static async reset(store: EventStore): Promise<void> {
    await store.projectionStorage(NAME).clear();
  }

  /** Global position of the last event reflected. */
  get position(): number {
    return this.#position;
  }

  /** Events applied since this instance opened (0 after a restart with nothing new to replay). */
  get applied(): number {
    return this.#applied;
  }

  /** `failed` once applying a batch threw: the model no longer follows the log; reopen it. */
  health(): { status: 'ok' | 'failed'; position: number; lastError: string | undefined } {
    return {
      status: this.#failure ? 'failed' : 'ok',
      position: this.#position,
      lastError: this.#failure?.message,
    };
  }

  /** CFDs that are not terminal, from memory. */
  openCfds(): Cfd[] {
    return [...this.#open.values()];
  }

  /** Terminal CFDs, from disk. */
  async closedCfds(): Promise<Cfd[]> {
    const rows = await this.#storage.entries('closed:');
    return rows.map(([, v]) => revive(v));
  }

  /** Every CFD, open and terminal, ordered by id. */
  async all(): Promise<Cfd[]> {
    const all = [...this.openCfds(), ...(await this.closedCfds())];
    return all.sort((a, b) => (a.terms!.id < b.terms!.id ? -1 : 1));
  }

  async get(id: string): Promise<Cfd | undefined> {
    const open = this.#open.get(id);
    if (open) return open;
    const row = await this.#storage.get(`closed:${id}`);
    return row === undefined ? undefined : revive(row);
  }

  /** Resolves once the projection reflects global position `position`. */
  waitFor(position: number): Promise<void> {
    if (this.#position >= position) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ position, resolve }));
  }

  /** Calls `listener` once, when the model stops following the log. Returns an unsubscribe function. */
  onFailure(listener: (err: Error) => void): () => void {
    this.#failureListeners.add(listener);
    return () => this.#failureListeners.delete(listener);
  }

  /** Calls `listener` with the CFDs each applied batch changed. Returns an unsubscribe function. */
  onChange(listener: (cfds: readonly Cfd[]) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Stops following the log. */
  async close(): Promise<void> {
    this.#subscription?.close();
    await this.#subscription?.done;
  }

  async #load(): Promise<void> {
    const version = await this.#storage.get('meta:version');
    if (version !== String(CFD_READ_MODEL_VERSION)) {
      if (version !== undefined) {
        this.#log.warn(
          { stored: version, current: CFD_READ_MODEL_VERSION },
          'rebuilding cfd read model',
        );
      }
      await this.#storage.clear();
      await this.#storage.write([['meta:version', String(CFD_READ_MODEL_VERSION)]]);
      return;
    }
    this.#position = Number((await this.#storage.get('meta:checkpoint')) ?? 0);
    for (const [id, row] of await this.#storage.entries('open:')) this.#open.set(id, revive(row));
  }

  async #applyBatch(events: readonly RecordedEvent[]): Promise<void> {
    const changed = new Map<string, Cfd>();
    for (const e of events) {
      if (!CFD_TYPES.has(e.type)) continue;
      let cfd = changed.get(e.streamId) ?? this.#open.get(e.streamId);
      if (!cfd && e.version > 1) {
        // Not in memory and not new: a terminal CFD receiving a late event.
        const row = await this.#storage.get(`closed:${e.streamId}`);
        cfd = row === undefined ? EMPTY_CFD : revive(row);
      }
      cfd ??= EMPTY_CFD;
      if (e.version <= cfd.version) continue; // already reflected
      this.#applied += 1;
      changed.set(e.streamId, apply(cfd, cfdEvent(e)));
    }
    const puts: [string, string][] = [];
    const dels: string[] = [];
    for (const [id, cfd] of changed) {
      if (isTerminal(cfd)) {
        puts.push([`closed:${id}`, stringify(cfd)]);
        dels.push(`open:${id}`);
        this.#open.delete(id);
      } else {
        puts.push([`open:${id}`, stringify(cfd)]);
        this.#open.set(id, cfd);
      }
    }
    const position = events[events.length - 1]!.position;
    puts.push(['meta:checkpoint', String(position)]);
    await this.#storage.write(puts, dels);
    this.#position = position;
    for (let i = this.#waiters.length - 1; i >= 0; i--) {
      const w = this.#waiters[i]!;
      if (w.position <= position) {
        this.#waiters.splice(i, 1);
        w.resolve();
      }
    }
    if (changed.size > 0) {
      const cfds = [...changed.values()];
      for (const listener of this.#listeners) listener(cfds);
    }
  }
}
