/**
 * The chain monitor's LevelDB: its processed height and recent block hashes (`chain`), its
 * watches (`tx!<txid>!<tag>`, `out!<txid>:<vout>!<tag>`) and tracked broadcasts (`bc!<txid>`),
 * each a JSON value. The layout is what earlier versions wrote, so an existing data directory
 * resumes. Writes run one at a time, in call order.
 */
import { Level } from 'level';
import { MonitorNotRunningError } from './errors.ts';
import { TRACK_PREFIX, type Tracked } from './rebroadcaster.ts';
import { OUT_PREFIX, TX_PREFIX, type Watch } from './watch-registry.ts';

/** Key of the processed chain state. */
export const CHAIN_KEY = 'chain';

/** The processed height and the recent hashes (height, hash), as persisted under `chain`. */
export interface ChainState {
  height: number;
  hashes: [number, string][];
}

/** Everything the monitor persisted. */
export interface MonitorRecords {
  chain: ChainState | undefined;
  watches: [string, Watch][];
  tracked: Tracked[];
}

/** The monitor's database; see the module documentation. */
export class MonitorStore {
  readonly #db: Level<string, string>;
  #writes: Promise<unknown> = Promise.resolve();
  #closed = false;

  private constructor(db: Level<string, string>) {
    this.#db = db;
  }

  /** Opens (creating if missing) the database in `dir`. */
  static async open(dir: string): Promise<MonitorStore> {
    const db = new Level<string, string>(dir, { keyEncoding: 'utf8', valueEncoding: 'utf8' });
    await db.open();
    return new MonitorStore(db);
  }

  /** Reads every record (after pending writes). */
  async load(): Promise<MonitorRecords> {
    await this.drain();
    const records: MonitorRecords = { chain: undefined, watches: [], tracked: [] };
    for await (const [key, value] of this.#db.iterator()) {
      const parsed: unknown = JSON.parse(value);
      if (key === CHAIN_KEY) records.chain = parsed as ChainState;
      else if (key.startsWith(TX_PREFIX) || key.startsWith(OUT_PREFIX)) {
        records.watches.push([key, parsed as Watch]);
      } else if (key.startsWith(TRACK_PREFIX)) records.tracked.push(parsed as Tracked);
    }
    return records;
  }

  /**
   * Writes the current value of each key (`value(key)`, undefined: delete), after every earlier
   * write. The value is read when the write runs, so the last write always holds the latest.
   */
  write(
    keys: readonly string[],
    value: (key: string) => string | undefined,
    sync: boolean,
  ): Promise<void> {
    if (keys.length === 0) return Promise.resolve();
    const run = this.#writes.then(async () => {
      if (this.#closed) throw new MonitorNotRunningError();
      const ops = keys.map((key) => {
        const v = value(key);
        return v === undefined
          ? { type: 'del' as const, key }
          : { type: 'put' as const, key, value: v };
      });
      await this.#db.batch(ops, { sync });
    });
    this.#writes = run.catch(() => {});
    return run;
  }

  /** Resolves when every write so far has run (failed or not). */
  async drain(): Promise<void> {
    await this.#writes.catch(() => {});
  }

  /** Waits for pending writes, then closes. */
  async close(): Promise<void> {
    await this.drain();
    this.#closed = true;
    await this.#db.close();
  }
}
