/**
 * The oracle's outcome log: one JSON line per attested event in `<datadir>/oracle-outcomes.jsonl`,
 * appended and fsync'd BEFORE the outcome is served. Once a line is durable it is the event's
 * outcome forever: attesting two prices for one event reveals both nonce secrets' relation and
 * hence the oracle key (s − s' = (d − d')·r), so the log refuses a second record per event and
 * the oracle refuses to start from a log that holds two.
 *
 * Crash safety: a crash mid-append leaves at most one torn last line. That record was never
 * served (serving waits for the fsync), so opening the log truncates it away; any other
 * unparsable line is corruption and stops the oracle.
 */
import { constants } from 'node:fs';
import { type FileHandle, open, readFile, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import { assertPrice } from '../../dlc/digits.ts';
import { OUTCOMES_FILE } from './constants.ts';
import { OutcomeExistsError, OutcomeLogCorruptError } from './errors.ts';
import { syncDir } from './keys.ts';

/** One attested event, as logged. */
export interface OutcomeRecord {
  readonly eventId: string;
  /** The attested whole-dollar price (capped to 2^20 − 1). */
  readonly outcome: number;
  /** When it was attested, olivia time format (the attestation's `time`). */
  readonly time: string;
  /** The quote it came from, for audit: decimal USD strings and receipt time (unix ms). */
  readonly quote?: { readonly bid: string; readonly ask: string; readonly receivedAt: number };
}

function parseRecord(line: string, where: string): OutcomeRecord {
  let r: Record<string, unknown>;
  try {
    r = JSON.parse(line) as Record<string, unknown>;
  } catch {
    throw new OutcomeLogCorruptError(`${where}: not JSON`);
  }
  if (typeof r.eventId !== 'string' || typeof r.time !== 'string') {
    throw new OutcomeLogCorruptError(`${where}: eventId and time must be strings`);
  }
  if (typeof r.outcome !== 'number') throw new OutcomeLogCorruptError(`${where}: bad outcome`);
  try {
    assertPrice(r.outcome);
  } catch (err) {
    throw new OutcomeLogCorruptError(`${where}: ${(err as Error).message}`);
  }
  return r as unknown as OutcomeRecord;
}

/** Append-only, fsync'd, never-overwrite map from event id to outcome. */
export class OutcomeLog {
  readonly path: string;
  readonly #records = new Map<string, OutcomeRecord>();
  readonly #pending = new Set<string>();
  #fh: FileHandle;
  #tail: Promise<void> = Promise.resolve();
  /** Set after a failed append: the file may end in a torn line, so stop until reopened. */
  #broken: Error | undefined;

  private constructor(path: string, fh: FileHandle, records: readonly OutcomeRecord[]) {
    this.path = path;
    this.#fh = fh;
    for (const r of records) this.#records.set(r.eventId, r);
  }

  /**
   * Opens (creating) the log in `datadir`, drops a torn last line, and refuses a log with two
   * different outcomes for one event ({@link OutcomeLogCorruptError}). With `mustExist` (an
   * oracle whose seed already existed) a missing log is refused too: the oracle would forget
   * what it attested and could attest those events again, differently.
   */
  static async open(datadir: string, options: { mustExist?: boolean } = {}): Promise<OutcomeLog> {
    const path = join(datadir, OUTCOMES_FILE);
    let text = '';
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      if (options.mustExist) {
        throw new OutcomeLogCorruptError(
          `${path} is missing but the oracle seed exists: restore it from a backup (if this oracle never attested anything, create it empty)`,
        );
      }
    }
    if (text.length > 0 && !text.endsWith('\n')) {
      // Torn last append: never fsync'd, so never served. Cut it before appending after it.
      const keep = text.lastIndexOf('\n') + 1;
      await truncate(path, Buffer.byteLength(text.slice(0, keep)));
      text = text.slice(0, keep);
    }
    const byId = new Map<string, OutcomeRecord>();
    text
      .split('\n')
      .filter((l) => l.length > 0)
      .forEach((line, i) => {
        const r = parseRecord(line, `${path} line ${i + 1}`);
        const prev = byId.get(r.eventId);
        if (prev && prev.outcome !== r.outcome) {
          throw new OutcomeLogCorruptError(
            `${path}: two outcomes (${prev.outcome}, ${r.outcome}) for ${r.eventId}`,
          );
        }
        if (!prev) byId.set(r.eventId, r);
      });
    const fh = await open(path, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT, 0o600);
    if (text.length === 0) await syncDir(datadir);
    return new OutcomeLog(path, fh, [...byId.values()]);
  }

  get(eventId: string): OutcomeRecord | undefined {
    return this.#records.get(eventId);
  }

  has(eventId: string): boolean {
    return this.#records.has(eventId);
  }

  get size(): number {
    return this.#records.size;
  }

  /**
   * Appends `record` and fsyncs it; only then does {@link get} return it. Refuses a second record
   * for an event ({@link OutcomeExistsError}), also while the first is still being written.
   */
  record(record: OutcomeRecord): Promise<void> {
    if (this.#broken) return Promise.reject(this.#broken);
    if (this.#records.has(record.eventId) || this.#pending.has(record.eventId)) {
      return Promise.reject(new OutcomeExistsError(record.eventId));
    }
    assertPrice(record.outcome);
    this.#pending.add(record.eventId);
    const line = `${JSON.stringify(record)}\n`;
    const write = this.#tail.then(async () => {
      try {
        await this.#fh.write(line);
        await this.#fh.datasync();
        this.#records.set(record.eventId, record);
      } catch (err) {
        this.#broken = new OutcomeLogCorruptError(
          `append to ${this.path} failed (${(err as Error).message}); restart the oracle`,
        );
        throw err;
      } finally {
        this.#pending.delete(record.eventId);
      }
    });
    this.#tail = write.catch(() => {});
    return write;
  }

  /** Waits for pending appends, then closes the file. */
  async close(): Promise<void> {
    await this.#tail;
    await this.#fh.close();
  }
}
