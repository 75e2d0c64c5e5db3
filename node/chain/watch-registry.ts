/**
 * The watch registry: what the chain monitor watches (transactions for confirmations, outpoints
 * for their spender) and the pure logic of what a connected block, a disconnected block or a
 * mempool spend means for each watch. No IO: the monitor feeds it blocks from the chain follower,
 * delivers the reports it returns and persists the records it marks dirty (keyed by their
 * database key, see {@link txKey}/{@link outKey}). Unit-testable without a chain.
 *
 * A watch remembers what it last reported, so {@link WatchRegistry.progress} reports only what
 * moved past that: nothing twice, and everything again after {@link WatchRegistry.unreport}.
 */
import type { Transaction } from 'bitcoinjs-lib';
import { InvalidWatchError } from './errors.ts';
import { type BlockRef, toTxid } from './follower.ts';

/** Shared fields of the reports about a watched transaction. */
interface TxReportBase {
  /** The caller's tag of the watch (e.g. a CFD id). */
  tag: string;
  /** The watched txid. */
  txid: string;
  /** Height of the confirming block (for `unconfirmed`: of the block that was disconnected). */
  height: number;
  /** Tip height − confirming height + 1; 0 for `unconfirmed`. */
  confirmations: number;
}

/** The watched transaction has `confirmations` confirmations (reported for each count ≤ depth). */
export interface ConfirmedReport extends TxReportBase {
  kind: 'confirmed';
}

/** The watched transaction has at least the watch's depth (reported once per confirmation). */
export interface DepthReport extends TxReportBase {
  kind: 'depth';
}

/** The block that confirmed the watched transaction was disconnected (reorg). */
export interface UnconfirmedReport extends TxReportBase {
  kind: 'unconfirmed';
}

/** The transaction that spends a watched outpoint. */
export interface Spender {
  txid: string;
  /** Raw transaction, hex. */
  hex: string;
}

/** A watched outpoint was spent (`confirmations: 0`: seen in the mempool), or that spend reorged. */
export interface SpendReport {
  kind: 'spent' | 'spentReorged';
  tag: string;
  /** Txid of the watched outpoint. */
  txid: string;
  vout: number;
  /** `<txid>:<vout>`, as given to `ChainMonitor.watchOutpoint`. */
  outpoint: string;
  /** Height of the block holding the spend; undefined while it is in the mempool. */
  height: number | undefined;
  /** 0 in the mempool and for `spentReorged`. */
  confirmations: number;
  spender: Spender;
}

/** A tracked transaction was rejected when rebroadcast (reported once per distinct reason). */
export interface RebroadcastFailedReport {
  kind: 'rebroadcastFailed';
  txid: string;
  /** The node's reject reason, e.g. `bad-txns-inputs-missingorspent` for a double-spent CET. */
  reason: string;
}

export type ChainReport =
  | ConfirmedReport
  | DepthReport
  | UnconfirmedReport
  | SpendReport
  | RebroadcastFailedReport;

/**
 * Receives every report, in chain order; awaited before the next. If it throws, that report's tag
 * is held back and its reports are delivered again after a backoff (module doc); other tags and
 * the chain go on.
 */
export type ReportListener = (report: ChainReport) => void | Promise<void>;

export interface WatchTxOptions {
  tag: string;
  /** Confirmations to report up to (a CET timelock: 12). @default 1 */
  depth?: number;
  /**
   * Rescan from this height if the transaction cannot be located by txid (bitcoind without
   * `-txindex`) and may have confirmed before the watch was added.
   */
  fromHeight?: number;
}

export interface WatchOutpointOptions {
  tag: string;
  /** Rescan blocks from this height for a spend that happened before the watch was added. */
  fromHeight?: number;
}

/** A transaction watch as persisted (`tx!<txid>!<tag>`). */
export interface TxWatch {
  tag: string;
  txid: string;
  depth: number;
  fromHeight: number | undefined;
  /** Needs a lookup (just added or changed). */
  pending: boolean;
  conf: BlockRef | undefined;
  /** Highest confirmation count reported. */
  reported: number;
}

/** An outpoint watch as persisted (`out!<txid>:<vout>!<tag>`). */
export interface OutWatch {
  tag: string;
  txid: string;
  vout: number;
  fromHeight: number | undefined;
  pending: boolean;
  spender: (Spender & { block: BlockRef | undefined }) | undefined;
  reported: { txid: string; confirmed: boolean } | undefined;
}

export type Watch = TxWatch | OutWatch;

// Database keys: `tx!<txid>!<tag>`, `out!<txid>:<vout>!<tag>`; the fixed-length txid first keeps
// any tag unambiguous.
export const TX_PREFIX = 'tx!';
export const OUT_PREFIX = 'out!';

const TXID_RE = /^[0-9a-f]{64}$/;

export function txKey(w: { txid: string; tag: string }): string {
  return `${TX_PREFIX}${w.txid}!${w.tag}`;
}

export function outKey(w: { txid: string; vout: number; tag: string }): string {
  return `${OUT_PREFIX}${w.txid}:${w.vout}!${w.tag}`;
}

export function keyOf(w: Watch): string {
  return 'depth' in w ? txKey(w) : outKey(w);
}

/** The lower-case txid, or {@link InvalidWatchError}. */
export function checkTxid(txid: string): string {
  const id = txid.toLowerCase();
  if (!TXID_RE.test(id)) throw new InvalidWatchError(`not a txid: '${txid}'`);
  return id;
}

/** `<txid>:<vout>` parsed, or {@link InvalidWatchError}. */
export function parseOutpoint(outpoint: string): { txid: string; vout: number } {
  const [txid = '', vout = '', ...rest] = outpoint.split(':');
  const n = Number(vout);
  if (rest.length > 0 || !/^\d+$/.test(vout) || !Number.isSafeInteger(n) || n > 0xffffffff) {
    throw new InvalidWatchError(`not an outpoint (<txid>:<vout>): '${outpoint}'`);
  }
  return { txid: checkTxid(txid), vout: n };
}

function spendFields(w: OutWatch): { tag: string; txid: string; vout: number; outpoint: string } {
  return { tag: w.tag, txid: w.txid, vout: w.vout, outpoint: `${w.txid}:${w.vout}` };
}

/** The mempool as the registry needs it (a {@link MempoolView} fits). */
export interface MempoolSpends {
  readonly spentBy: ReadonlyMap<string, string>;
  /** Whether every mempool transaction is indexed (else a missing spend may just be unread). */
  readonly complete: boolean;
}

/** Every watch of the monitor, and what the chain means for them; see the module documentation. */
export class WatchRegistry {
  readonly txWatches = new Map<string, TxWatch>();
  readonly outWatches = new Map<string, OutWatch>();
  /** Keys of records changed since the owner last took them ({@link takeDirty}). */
  readonly #dirty = new Set<string>();

  get size(): number {
    return this.txWatches.size + this.outWatches.size;
  }

  /** Keys changed since the last call; the owner persists them. */
  takeDirty(): string[] {
    const keys = [...this.#dirty];
    this.#dirty.clear();
    return keys;
  }

  markDirty(key: string): void {
    this.#dirty.add(key);
  }

  /** The record under `key` (a tx or out key), if any. */
  get(key: string): Watch | undefined {
    return this.txWatches.get(key) ?? this.outWatches.get(key);
  }

  /** Replaces the records with loaded ones. */
  load(records: Iterable<[string, Watch]>): void {
    this.txWatches.clear();
    this.outWatches.clear();
    this.#dirty.clear();
    for (const [key, w] of records) {
      if ('depth' in w) this.txWatches.set(key, w);
      else this.outWatches.set(key, w);
    }
  }

  /** Adds or updates a transaction watch; returns its key. */
  watchTx(txid: string, tag: string, depth: number, fromHeight: number | undefined): string {
    const key = txKey({ txid, tag });
    const existing = this.txWatches.get(key);
    if (existing) {
      existing.depth = depth;
      existing.pending = true;
    } else {
      this.txWatches.set(key, {
        tag,
        txid,
        depth,
        fromHeight,
        pending: true,
        conf: undefined,
        reported: 0,
      });
    }
    return key;
  }

  /** Adds or re-checks an outpoint watch; returns its key. */
  watchOutpoint(txid: string, vout: number, tag: string, fromHeight: number | undefined): string {
    const key = outKey({ txid, vout, tag });
    const existing = this.outWatches.get(key);
    if (existing) {
      existing.pending = true;
    } else {
      this.outWatches.set(key, {
        tag,
        txid,
        vout,
        fromHeight,
        pending: true,
        spender: undefined,
        reported: undefined,
      });
    }
    return key;
  }

  /** Removes the watch under `key`. */
  remove(key: string): void {
    this.txWatches.delete(key);
    this.outWatches.delete(key);
  }

  /** Removes every watch carrying `tag`; returns their keys. */
  removeTag(tag: string): string[] {
    const keys: string[] = [];
    for (const [key, w] of this.txWatches) if (w.tag === tag) keys.push(key);
    for (const [key, w] of this.outWatches) if (w.tag === tag) keys.push(key);
    for (const key of keys) this.remove(key);
    return keys;
  }

  /** Watches added or changed that still need a lookup. */
  pending(): { txs: TxWatch[]; outs: OutWatch[] } {
    return {
      txs: [...this.txWatches.values()].filter((w) => w.pending),
      outs: [...this.outWatches.values()].filter((w) => w.pending),
    };
  }

  /** Marks looked-up watches as done (those still registered: an unwatch may have raced). */
  settle(watches: Iterable<Watch>): void {
    for (const w of watches) {
      const key = keyOf(w);
      if (!this.txWatches.has(key) && !this.outWatches.has(key)) continue;
      w.pending = false;
      w.fromHeight = undefined;
      this.#dirty.add(key);
    }
  }

  /** Outpoint watches with no confirmed spend: the mempool may hold their spender. */
  openOutpoints(): OutWatch[] {
    return [...this.outWatches.values()].filter((w) => !w.spender?.block);
  }

  /** Records what a rescanned block at `ref` holds for `watches` (found before they were added). */
  rescanBlock(ref: BlockRef, txs: readonly Transaction[], watches: ReadonlySet<Watch>): void {
    for (const tx of txs) {
      const txid = tx.getId();
      for (const w of watches) {
        if ('depth' in w) {
          if (!w.conf && w.txid === txid) w.conf = ref;
          continue;
        }
        if (w.spender?.block) continue;
        for (const input of tx.ins) {
          if (input.index === w.vout && toTxid(input.hash) === w.txid) {
            w.spender = { txid, hex: tx.toHex(), block: ref };
          }
        }
      }
    }
  }

  /** Applies a connected block: what it confirms and spends. Reports follow from {@link progress}. */
  connect(ref: BlockRef, txs: readonly Transaction[]): void {
    const byTxid = new Map<string, TxWatch[]>();
    for (const w of this.txWatches.values()) {
      if (!w.conf) byTxid.set(w.txid, [...(byTxid.get(w.txid) ?? []), w]);
    }
    const byOutpoint = new Map<string, OutWatch[]>();
    for (const w of this.outWatches.values()) {
      const op = `${w.txid}:${w.vout}`;
      if (!w.spender?.block) byOutpoint.set(op, [...(byOutpoint.get(op) ?? []), w]);
    }
    if (byTxid.size === 0 && byOutpoint.size === 0) return;
    for (const tx of txs) {
      const txid = tx.getId();
      for (const w of byTxid.get(txid) ?? []) {
        w.conf = ref;
        this.#dirty.add(txKey(w));
      }
      if (byOutpoint.size === 0) continue;
      for (const input of tx.ins) {
        for (const w of byOutpoint.get(`${toTxid(input.hash)}:${input.index}`) ?? []) {
          w.spender = { txid, hex: tx.toHex(), block: ref };
          this.#dirty.add(outKey(w));
        }
      }
    }
  }

  /**
   * Rolls back a disconnected block: reports `unconfirmed` / `spentReorged` for what it had
   * reported from that block, and forgets the confirmation or spend.
   */
  disconnect(ref: BlockRef): ChainReport[] {
    const { height, hash } = ref;
    const reports: ChainReport[] = [];
    for (const w of this.txWatches.values()) {
      if (w.conf?.hash !== hash) continue;
      if (w.reported > 0) {
        reports.push({ kind: 'unconfirmed', tag: w.tag, txid: w.txid, height, confirmations: 0 });
      }
      w.conf = undefined;
      w.reported = 0;
      this.#dirty.add(txKey(w));
    }
    for (const w of this.outWatches.values()) {
      const s = w.spender;
      if (s?.block?.hash !== hash) continue;
      if (w.reported) {
        reports.push({
          ...spendFields(w),
          kind: 'spentReorged',
          height,
          confirmations: 0,
          spender: { txid: s.txid, hex: s.hex },
        });
      }
      // If the spend returns to the mempool, the mempool scan reports it again.
      w.spender = undefined;
      w.reported = undefined;
      this.#dirty.add(outKey(w));
    }
    return reports;
  }

  /**
   * Applies the mempool's spends to `open` (from {@link openOutpoints}): a new spender is
   * returned for the owner to fetch ({@link setMempoolSpender}); a spend that left a complete
   * mempool is forgotten. Returns the watches whose spender must be fetched, with its txid.
   */
  applyMempool(
    open: readonly OutWatch[],
    mempool: MempoolSpends,
  ): { gone: OutWatch[]; fetch: [OutWatch, string][] } {
    const gone: OutWatch[] = [];
    const fetch: [OutWatch, string][] = [];
    for (const w of open) {
      // A confirmed spend may have arrived while the mempool was read.
      if (w.spender?.block) continue;
      const txid = mempool.spentBy.get(`${w.txid}:${w.vout}`);
      if (txid === undefined) {
        if (w.spender && mempool.complete) {
          gone.push(w);
          w.spender = undefined;
          w.reported = undefined;
          this.#dirty.add(outKey(w));
        }
        continue;
      }
      if (w.spender?.txid === txid) continue;
      fetch.push([w, txid]);
    }
    return { gone, fetch };
  }

  /** Records a mempool spender fetched after {@link applyMempool}. */
  setMempoolSpender(w: OutWatch, spender: Spender): void {
    if (w.spender?.block) return;
    w.spender = { ...spender, block: undefined };
    this.#dirty.add(outKey(w));
  }

  /**
   * Reports every watch whose state moved past what it last reported, at chain height `tip`,
   * and records them as reported. `only` limits it to some watches; tags for which `held` is true
   * are skipped (their listener failed and waits).
   */
  progress(
    tip: number,
    options: { only?: ReadonlySet<Watch>; held?: (tag: string) => boolean } = {},
  ): ChainReport[] {
    const { only, held = () => false } = options;
    const reports: ChainReport[] = [];
    for (const w of this.txWatches.values()) {
      if (only && !only.has(w)) continue;
      if (held(w.tag)) continue;
      if (!w.conf || w.reported >= w.depth) continue;
      const confirmations = tip - w.conf.height + 1;
      if (confirmations <= w.reported) continue;
      const base = { tag: w.tag, txid: w.txid, height: w.conf.height, confirmations };
      reports.push({ kind: 'confirmed', ...base });
      if (confirmations >= w.depth) reports.push({ kind: 'depth', ...base });
      w.reported = confirmations;
      this.#dirty.add(txKey(w));
    }
    for (const w of this.outWatches.values()) {
      if (only && !only.has(w)) continue;
      if (held(w.tag)) continue;
      const s = w.spender;
      if (!s) continue;
      const confirmed = s.block !== undefined;
      if (w.reported?.txid === s.txid && (w.reported.confirmed || !confirmed)) continue;
      reports.push({
        ...spendFields(w),
        kind: 'spent',
        height: s.block?.height,
        confirmations: s.block ? tip - s.block.height + 1 : 0,
        spender: { txid: s.txid, hex: s.hex },
      });
      w.reported = { txid: s.txid, confirmed };
      this.#dirty.add(outKey(w));
    }
    return reports;
  }

  /**
   * Marks the watch a report came from as not reported, so that {@link progress} reports it
   * again. Returns false for a reorg report (the watch is already rolled back; what the chain does
   * next is reported anew) and for a rebroadcast failure (no watch).
   */
  unreport(report: ChainReport): boolean {
    if (report.kind === 'confirmed' || report.kind === 'depth') {
      const key = txKey(report);
      const w = this.txWatches.get(key);
      if (w) {
        w.reported = 0;
        this.#dirty.add(key);
      }
      return true;
    }
    if (report.kind === 'spent') {
      const key = `${OUT_PREFIX}${report.outpoint}!${report.tag}`;
      const w = this.outWatches.get(key);
      if (w) {
        w.reported = undefined;
        this.#dirty.add(key);
      }
      return true;
    }
    return false;
  }

  /** The watches of the given tags. */
  ofTags(tags: ReadonlySet<string>): Set<Watch> {
    const watches = new Set<Watch>();
    for (const w of this.txWatches.values()) if (tags.has(w.tag)) watches.add(w);
    for (const w of this.outWatches.values()) if (tags.has(w.tag)) watches.add(w);
    return watches;
  }
}
