/**
 * The oracle client's memory of what an oracle committed to: every nonce of every verified
 * announcement, every verified attestation's price, and whether the oracle was found compromised.
 * It is what lets the client notice an oracle that reuses a nonce across two events (once both are
 * attested, anyone can solve for its attestation key and attest any event to any price) or attests
 * two prices for one event — across restarts, not only within one run.
 *
 * File: `<datadir>/oracle-nonces-<olivia-v1 key hex>.jsonl`, mode 0600, one JSON object a line,
 * appended and fsync'd before what it records is used:
 * - `{"t":"announcement","e":<event id>,"n":[20 × x-only hex]}`
 * - `{"t":"attestation","e":<event id>,"p":<price>}`
 * - `{"t":"compromised","reason":…,"at":<unix ms>}`
 * One file per oracle key: configuring a new oracle key starts a new one.
 *
 * Bounded growth: only events the node watches are recorded (its CFDs' settlement and
 * liquidation events), ~1.4 KiB each; on open, events whose time is more than
 * {@link NONCE_RETENTION_S} (400 days) in the past are dropped and the file rewritten. Hourly
 * events for 400 days are at most ~9,600 entries, ~13 MiB — in practice far fewer. A reuse of a
 * nonce from an event older than that goes unnoticed; by then any CFD on it has long settled or
 * refunded. A `compromised` line is never dropped.
 *
 * Recovery (the user's decision, never automatic): investigate (the health detail and the log
 * name the nonce and both events), then either configure a new oracle key, or stop the node and
 * delete the file to trust the same oracle again.
 */
import {
  chmodSync,
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  writeSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { oracleEventTime } from '../../model/oracle-event.ts';
import { OracleError } from './errors.ts';

/** Entries of events older than this (by event time) are dropped when the log is opened. */
export const NONCE_RETENTION_S = 400 * 86_400;

/** The log's file name for an oracle's olivia-v1 key. */
export function nonceLogFile(datadir: string, oliviaPublicKeyHex: string): string {
  return join(datadir, `oracle-nonces-${oliviaPublicKeyHex}.jsonl`);
}

type Entry =
  | { t: 'announcement'; e: string; n: string[] }
  | { t: 'attestation'; e: string; p: number }
  | { t: 'compromised'; reason: string; at: number };

export interface Compromise {
  readonly reason: string;
  /** When it was found, unix ms. */
  readonly at: number;
}

/** In-memory view plus (optionally) the append-only file. */
export class NonceLog {
  /** The file, or null to keep everything in memory (tests, tools). */
  readonly path: string | null;
  readonly #eventOf = new Map<string, string>();
  readonly #noncesOf = new Map<string, readonly string[]>();
  readonly #prices = new Map<string, number>();
  #compromised: Compromise | null = null;

  /** Loads (and compacts) the log at `path`; throws {@link OracleError} if it is unreadable. */
  constructor(path: string | null, now: number = Date.now()) {
    this.path = path;
    if (path === null || !existsSync(path)) return;
    chmodSync(path, 0o600);
    const lines = readFileSync(path, 'utf8').split('\n');
    const keep: Entry[] = [];
    let dropped = 0;
    for (const [i, line] of lines.entries()) {
      if (line.trim() === '') continue;
      let entry: Entry;
      try {
        entry = JSON.parse(line) as Entry;
      } catch {
        // A torn last line (crash mid-append) is dropped; anything else is corruption.
        if (i >= lines.length - 2) {
          dropped++;
          continue;
        }
        throw new OracleError(`${path}: line ${i + 1} is not JSON; refusing to guess`);
      }
      if (entry.t !== 'compromised') {
        let time: number;
        try {
          time = oracleEventTime(entry.e);
        } catch {
          throw new OracleError(`${path}: line ${i + 1} has no valid event id`);
        }
        if (time < now / 1000 - NONCE_RETENTION_S) {
          dropped++;
          continue;
        }
      }
      this.#apply(entry);
      keep.push(entry);
    }
    if (dropped > 0) {
      const tmp = `${path}.tmp`;
      writeDurably(tmp, keep.map((e) => `${JSON.stringify(e)}\n`).join(''), 'w');
      renameSync(tmp, path);
    }
  }

  get compromised(): Compromise | null {
    return this.#compromised;
  }

  /** The nonces recorded for an event (x-only hex), if any. */
  nonces(eventId: string): readonly string[] | undefined {
    return this.#noncesOf.get(eventId);
  }

  /** The price recorded as attested for an event, if any. */
  price(eventId: string): number | undefined {
    return this.#prices.get(eventId);
  }

  /** Why these nonces cannot be `eventId`'s (one was seen in another event), or null. */
  reuse(eventId: string, nonces: readonly string[]): string | null {
    for (const n of nonces) {
      const other = this.#eventOf.get(n);
      if (other !== undefined && other !== eventId) {
        return `nonce ${n} of event ${eventId} was already used by event ${other}`;
      }
    }
    return null;
  }

  recordAnnouncement(eventId: string, nonces: readonly string[]): void {
    if (this.#noncesOf.has(eventId)) return;
    this.#append({ t: 'announcement', e: eventId, n: [...nonces] });
  }

  recordAttestation(eventId: string, price: number): void {
    if (this.#prices.has(eventId)) return;
    this.#append({ t: 'attestation', e: eventId, p: price });
  }

  markCompromised(reason: string, at: number = Date.now()): Compromise {
    if (!this.#compromised) this.#append({ t: 'compromised', reason, at });
    return this.#compromised!;
  }

  #append(entry: Entry): void {
    if (this.path !== null) {
      mkdirSync(dirname(this.path), { recursive: true, mode: 0o700 });
      writeDurably(this.path, `${JSON.stringify(entry)}\n`, 'a');
    }
    this.#apply(entry);
  }

  #apply(entry: Entry): void {
    switch (entry.t) {
      case 'announcement':
        this.#noncesOf.set(entry.e, entry.n);
        for (const n of entry.n) if (!this.#eventOf.has(n)) this.#eventOf.set(n, entry.e);
        break;
      case 'attestation':
        if (!this.#prices.has(entry.e)) this.#prices.set(entry.e, entry.p);
        break;
      case 'compromised':
        this.#compromised ??= { reason: entry.reason, at: entry.at };
        break;
    }
  }
}

function writeDurably(path: string, text: string, flags: 'a' | 'w'): void {
  const fd = openSync(path, flags, 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
