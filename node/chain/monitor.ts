/**
 * The chain monitor: follows every CFD's transactions on the node's chain backend and reports what
 * happens to them, in chain order, to one listener.
 *
 * - {@link ChainMonitor.watchTx} reports `confirmed` when the transaction enters a block and for
 *   each further confirmation count until `depth`, then `depth` once confirmations ≥ `depth`
 *   (relative timelocks count from the confirming block, so a 12-block CSV spend is valid in the
 *   block after `depth: 12` is reported). A disconnected confirming block reports `unconfirmed`.
 * - {@link ChainMonitor.watchOutpoint} reports `spent` with the spending transaction (txid and raw
 *   hex, so the caller can tell commit, revoked commit, CET, refund and close apart) when it is
 *   seen in the mempool (`confirmations: 0`) and again when it confirms; `spentReorged` when the
 *   block holding the spend is disconnected.
 * - {@link ChainMonitor.trackBroadcast} rebroadcasts a transaction we published whenever the tip
 *   changes, until it confirms (a reorg that removes its block resumes rebroadcasting); a
 *   rejection is reported once per distinct reason as `rebroadcastFailed`.
 *
 * It polls: each tick compares the tip, rolls back disconnected blocks (it keeps the last
 * {@link DEFAULT_REORG_WINDOW} block hashes to find the fork point), scans each new raw block for
 * watched txids and spends of watched outpoints, then checks the mempool for spends.
 *
 * State (watches, processed height and recent hashes, what was reported, tracked broadcasts) lives
 * in its own LevelDB. After a restart it resumes from the last processed block, so anything that
 * happened while it was down is reported, and nothing it had already reported is reported again.
 * Delivery is at least once: reports of a block are delivered before that block's progress is
 * persisted, so a crash in between repeats them. **Consumers must be idempotent** (the CFD model
 * is: its events are facts keyed by txid).
 *
 * A listener that throws on a report holds back only that report's tag (one CFD), never the
 * chain: the watch is marked unreported (durably: a restart reports it again), every later report
 * of the same tag waits with it (a CFD sees its chain in order), and the tag's reports are
 * delivered again, as the chain then stands, after a backoff ({@link DEFAULT_REPORT_RETRY_MS},
 * doubling to {@link DEFAULT_REPORT_RETRY_MAX_MS}). Blocks and the other tags go on meanwhile;
 * `health().retrying` counts the tags held back and `lastError` names the last failure.
 *
 * A failing RPC never stops it: the tick fails, {@link ChainMonitor.health} shows the error, and
 * the next tick retries from where it stopped. A reorg deeper than the hash window cannot be
 * followed safely; health then shows {@link ReorgTooDeepError} and the monitor does not advance.
 *
 * Finding mempool spends needs the inputs of every mempool transaction (`gettxout` says an output
 * is spent, never by what), fetched once per transaction and cached, and only while some watched
 * outpoint has no confirmed spend: cheap on regtest, a warm-up of many RPCs on a mainnet mempool.
 *
 * @example
 * const monitor = new ChainMonitor({ rpc, dataDir: join(dataDir, 'monitor'), logger,
 *   onReport: async (r) => { if (r.kind === 'depth') await cfds.cetTimelockExpired(r.tag); } });
 * await monitor.start({ signal });
 * await monitor.watchTx(commitTxid, { tag: cfdId, depth: 12 });
 * await monitor.watchOutpoint(`${lockTxid}:0`, { tag: cfdId });
 * await monitor.trackBroadcast(commitHex);
 * await monitor.stop();
 */
import { Block, Transaction } from 'bitcoinjs-lib';
import { Level } from 'level';
import { type Logger, pino } from 'pino';
import { broadcast, DEFAULT_BROADCAST_CONFIRM_MS } from './broadcast.ts';
import {
  BroadcastRejectedError,
  InvalidWatchError,
  MonitorNotRunningError,
  ReorgTooDeepError,
  ReportListenerError,
} from './errors.ts';
import type { BitcoinRpc } from './rpc.ts';

/**
 * Pause between ticks. Each idle tick costs one `getblockcount` plus a mempool listing while
 * outpoints are watched; 1 s makes regtest tests and the local testnet react at once. On mainnet
 * (10-minute blocks) 10–20 s is plenty: ItchySats polled every 20 s.
 */
export const DEFAULT_POLL_INTERVAL_MS = 1_000;

/**
 * Block hashes kept to find the fork point of a reorg. 100 is coinbase maturity, the depth at which
 * Bitcoin itself treats history as final; real reorgs are one or two blocks.
 */
export const DEFAULT_REORG_WINDOW = 100;

/**
 * A tracked broadcast is rebroadcast until its first confirmation but remembered until this
 * many, so that a reorg which removes its block (the node may drop it) resumes rebroadcasting.
 * Deeper reorgs (up to the hash window) are the watcher's to follow: the `unconfirmed` and
 * `spentReorged` reports tell the process manager, which rolls the CFD back and tracks again what
 * it needs (test/e2e/reorg.spec.ts).
 */
export const DEFAULT_TRACK_DEPTH = 6;

/**
 * Mempool transactions fetched per tick to index their inputs. Bounds a tick on a big mempool
 * (one RPC each); the rest are fetched on the following ticks.
 */
export const MEMPOOL_FETCH_LIMIT = 1_000;

/**
 * First pause before the reports of a tag whose listener failed are delivered again. A failure is
 * a bug or a corrupt record more often than a passing condition, so retrying every poll would
 * only flood the log; a second is short enough that a passing one heals at once.
 */
export const DEFAULT_REPORT_RETRY_MS = 1_000;

/**
 * Longest pause between redeliveries (the pause doubles per failure): a stuck CFD is retried
 * every few minutes, well inside any timelock that matters (a CET lock is hours).
 */
export const DEFAULT_REPORT_RETRY_MAX_MS = 5 * 60_000;

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
  /** `<txid>:<vout>`, as given to {@link ChainMonitor.watchOutpoint}. */
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

export interface ChainMonitorOptions {
  rpc: BitcoinRpc;
  /** Directory of the monitor's own LevelDB (created if missing). */
  dataDir: string;
  onReport?: ReportListener;
  /** @default DEFAULT_POLL_INTERVAL_MS */
  pollIntervalMs?: number;
  /** @default DEFAULT_REORG_WINDOW */
  reorgWindow?: number;
  /** @default DEFAULT_TRACK_DEPTH */
  trackDepth?: number;
  /** How long a rebroadcast looks for the tx in the mempool. @default DEFAULT_BROADCAST_CONFIRM_MS */
  broadcastConfirmTimeoutMs?: number;
  /** Backoff of redelivery to a failing tag. @default DEFAULT_REPORT_RETRY_MS, …_MAX_MS */
  reportRetryMs?: { readonly first: number; readonly max: number };
  /** @default silent */
  logger?: Logger;
}

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

export interface ChainMonitorHealth {
  /** `degraded`: the last tick failed (see `lastError`); the next tick retries. */
  status: 'stopped' | 'starting' | 'ok' | 'degraded';
  /** Last processed block height. */
  height: number | undefined;
  /** Last failure (kept after recovery, as history). */
  lastError: { name: string; message: string; at: number } | undefined;
  /** When `status` took its current value (ms since epoch). */
  since: number;
  /** Number of transaction and outpoint watches. */
  watching: number;
  /** Number of tracked broadcasts. */
  tracking: number;
  /** Tags (CFDs) whose reports the listener failed on, waiting to be delivered again. */
  retrying: number;
}

/** A tag whose listener failed: its reports wait until `at`. */
interface HeldTag {
  attempts: number;
  at: number;
}

interface BlockRef {
  height: number;
  hash: string;
}

interface TxWatch {
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

interface OutWatch {
  tag: string;
  txid: string;
  vout: number;
  fromHeight: number | undefined;
  pending: boolean;
  spender: (Spender & { block: BlockRef | undefined }) | undefined;
  reported: { txid: string; confirmed: boolean } | undefined;
}

interface Tracked {
  txid: string;
  hex: string;
  conf: BlockRef | undefined;
  /** Last rejection reason reported. */
  failure: string | undefined;
}

interface ChainState {
  height: number;
  hashes: [number, string][];
}

// Database keys: `chain` (processed height + recent hashes), `tx!<txid>!<tag>`,
// `out!<txid>:<vout>!<tag>`, `bc!<txid>`; values are JSON. The fixed-length txid first keeps any
// tag unambiguous.
const CHAIN_KEY = 'chain';
const TX_PREFIX = 'tx!';
const OUT_PREFIX = 'out!';
const TRACK_PREFIX = 'bc!';

const TXID_RE = /^[0-9a-f]{64}$/;

/** Follows watched transactions and outpoints on the chain; see the module documentation. */
export class ChainMonitor {
  readonly #rpc: BitcoinRpc;
  readonly #dataDir: string;
  readonly #onReport: ReportListener;
  readonly #interval: number;
  readonly #window: number;
  readonly #trackDepth: number;
  readonly #confirmMs: number;
  readonly #retryMs: { readonly first: number; readonly max: number };
  readonly #log: Logger;

  #db: Level<string, string> | undefined;
  /** Between start and stop; the database stays open until pending writes are done. */
  #running = false;
  #ac: AbortController | undefined;
  #timer: NodeJS.Timeout | undefined;
  #ticking: Promise<void> | undefined;
  #writes: Promise<unknown> = Promise.resolve();
  #removeAbortListener: (() => void) | undefined;

  /** Last processed height; undefined until the first tick on a fresh database. */
  #height: number | undefined;
  #hashes = new Map<number, string>();
  #txWatches = new Map<string, TxWatch>();
  #outWatches = new Map<string, OutWatch>();
  #tracked = new Map<string, Tracked>();
  #dirty = new Set<string>();
  /** Tags whose listener failed, by tag (in memory: the unreported watches are on disk). */
  #held = new Map<string, HeldTag>();
  /** After start: report what is on disk unreported (a listener failed on it before a stop). */
  #resume = true;
  #rebroadcastDue = true;
  /** Mempool txid → outpoints it spends. */
  #mempool = new Map<string, string[]>();

  #health: ChainMonitorHealth = {
    status: 'stopped',
    height: undefined,
    lastError: undefined,
    since: Date.now(),
    watching: 0,
    tracking: 0,
    retrying: 0,
  };

  constructor(options: ChainMonitorOptions) {
    this.#rpc = options.rpc;
    this.#dataDir = options.dataDir;
    this.#onReport = options.onReport ?? (() => {});
    this.#interval = options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
    this.#window = Math.max(1, options.reorgWindow ?? DEFAULT_REORG_WINDOW);
    this.#trackDepth = Math.max(1, options.trackDepth ?? DEFAULT_TRACK_DEPTH);
    this.#confirmMs = options.broadcastConfirmTimeoutMs ?? DEFAULT_BROADCAST_CONFIRM_MS;
    this.#retryMs = options.reportRetryMs ?? {
      first: DEFAULT_REPORT_RETRY_MS,
      max: DEFAULT_REPORT_RETRY_MAX_MS,
    };
    this.#log = (options.logger ?? pino({ level: 'silent' })).child({ component: 'chain:monitor' });
  }

  /**
   * Opens the database, loads the persisted state and starts polling (the first tick runs at
   * once). Never fails because the chain backend is down. Aborting `signal` stops the monitor.
   */
  async start(options: { signal?: AbortSignal } = {}): Promise<void> {
    if (this.#running || this.#db) return;
    const db = new Level<string, string>(this.#dataDir, {
      keyEncoding: 'utf8',
      valueEncoding: 'utf8',
    });
    await db.open();
    this.#db = db;
    this.#running = true;
    this.#ac = new AbortController();
    await this.#load();
    this.#rebroadcastDue = true;
    this.#resume = true;
    this.#setStatus('starting');
    const { signal } = options;
    if (signal) {
      const onAbort = (): void => void this.stop();
      signal.addEventListener('abort', onAbort, { once: true });
      this.#removeAbortListener = () => signal.removeEventListener('abort', onAbort);
      if (signal.aborted) return this.stop();
    }
    this.#schedule(0);
    this.#log.info({ height: this.#height, watching: this.#watching() }, 'chain monitor started');
  }

  /** Stops polling, aborts in-flight RPC calls, waits for pending writes and closes the database. */
  async stop(): Promise<void> {
    const db = this.#db;
    if (!this.#running || !db) return;
    this.#running = false;
    this.#removeAbortListener?.();
    this.#removeAbortListener = undefined;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#ac?.abort(new MonitorNotRunningError('chain monitor stopped'));
    await this.#ticking;
    await this.#writes.catch(() => {});
    this.#db = undefined;
    await db.close();
    this.#setStatus('stopped');
    this.#log.info('chain monitor stopped');
  }

  /** Runs a tick now (after the one in progress, if any); resolves when it is done. */
  async sync(): Promise<void> {
    this.#requireRunning();
    while (this.#ticking) await this.#ticking;
    if (!this.#running) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#tick();
  }

  /** What the monitor is doing, for the health display. */
  health(): ChainMonitorHealth {
    return {
      ...this.#health,
      height: this.#height,
      watching: this.#watching(),
      tracking: this.#tracked.size,
      retrying: this.#held.size,
    };
  }

  /**
   * Watches `txid` for confirmations up to `depth`. Resolves once the watch is durable. If the
   * transaction already confirmed, the next tick reports its current count (and `depth` if
   * reached). Watching again with the same tag changes the depth; nothing is reported twice.
   */
  async watchTx(txid: string, options: WatchTxOptions): Promise<void> {
    this.#requireRunning();
    const id = checkTxid(txid);
    const depth = options.depth ?? 1;
    if (!Number.isSafeInteger(depth) || depth < 1) {
      throw new InvalidWatchError(`depth must be a positive integer, got ${depth}`);
    }
    const key = `${TX_PREFIX}${id}!${options.tag}`;
    const existing = this.#txWatches.get(key);
    if (existing) {
      existing.depth = depth;
      existing.pending = true;
    } else {
      this.#txWatches.set(key, {
        tag: options.tag,
        txid: id,
        depth,
        fromHeight: options.fromHeight,
        pending: true,
        conf: undefined,
        reported: 0,
      });
    }
    await this.#persistKeys([key], true);
    this.#schedule(0);
  }

  /**
   * Watches `outpoint` (`<txid>:<vout>`) for the transaction that spends it. Resolves once the
   * watch is durable. The outpoint need not exist yet (e.g. a commit output before the commit is
   * published).
   */
  async watchOutpoint(outpoint: string, options: WatchOutpointOptions): Promise<void> {
    this.#requireRunning();
    const { txid, vout } = parseOutpoint(outpoint);
    const key = `${OUT_PREFIX}${txid}:${vout}!${options.tag}`;
    const existing = this.#outWatches.get(key);
    if (existing) {
      existing.pending = true;
    } else {
      this.#outWatches.set(key, {
        tag: options.tag,
        txid,
        vout,
        fromHeight: options.fromHeight,
        pending: true,
        spender: undefined,
        reported: undefined,
      });
    }
    await this.#persistKeys([key], true);
    this.#schedule(0);
  }

  /** Stops watching `txid` for `tag`. */
  async unwatchTx(txid: string, options: { tag: string }): Promise<void> {
    this.#requireRunning();
    const key = `${TX_PREFIX}${checkTxid(txid)}!${options.tag}`;
    this.#txWatches.delete(key);
    await this.#persistKeys([key], true);
  }

  /** Stops watching `outpoint` for `tag`. */
  async unwatchOutpoint(outpoint: string, options: { tag: string }): Promise<void> {
    this.#requireRunning();
    const { txid, vout } = parseOutpoint(outpoint);
    const key = `${OUT_PREFIX}${txid}:${vout}!${options.tag}`;
    this.#outWatches.delete(key);
    await this.#persistKeys([key], true);
  }

  /** Removes every watch carrying `tag` (e.g. a closed CFD); resolves with how many. */
  async unwatchTag(tag: string): Promise<number> {
    this.#requireRunning();
    const keys: string[] = [];
    for (const [key, w] of this.#txWatches) if (w.tag === tag) keys.push(key);
    for (const [key, w] of this.#outWatches) if (w.tag === tag) keys.push(key);
    for (const key of keys) {
      this.#txWatches.delete(key);
      this.#outWatches.delete(key);
    }
    this.#held.delete(tag);
    await this.#persistKeys(keys, true);
    return keys.length;
  }

  /**
   * Records a transaction we published (or must publish): it is rebroadcast on every tip change
   * (and at start) until it confirms. Resolves with its txid once the record is durable. Does
   * not broadcast by itself.
   */
  async trackBroadcast(hex: string): Promise<string> {
    this.#requireRunning();
    let txid: string;
    try {
      txid = Transaction.fromHex(hex).getId();
    } catch (err) {
      throw new InvalidWatchError(`not a transaction: ${(err as Error).message}`);
    }
    const key = `${TRACK_PREFIX}${txid}`;
    if (!this.#tracked.has(txid)) {
      this.#tracked.set(txid, { txid, hex, conf: undefined, failure: undefined });
      await this.#persistKeys([key], true);
    }
    return txid;
  }

  /** Stops rebroadcasting `txid`. */
  async untrackBroadcast(txid: string): Promise<void> {
    this.#requireRunning();
    const id = checkTxid(txid);
    this.#tracked.delete(id);
    await this.#persistKeys([`${TRACK_PREFIX}${id}`], true);
  }

  // --- polling ---

  #schedule(delayMs: number): void {
    if (!this.#running || this.#ticking) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#tick();
    }, delayMs);
  }

  #tick(): Promise<void> {
    const run = this.#runTick().finally(() => {
      this.#ticking = undefined;
      this.#schedule(this.#interval);
    });
    this.#ticking = run;
    return run;
  }

  async #runTick(): Promise<void> {
    const signal = this.#ac?.signal;
    if (!this.#running || !signal || signal.aborted) return;
    try {
      const opts = { signal };
      const tip = await this.#rpc.getBlockCount(opts);
      if (this.#height === undefined) {
        // Fresh database: nothing is watched before now, so start at the tip.
        const hash = await this.#rpc.getBlockHash(tip, opts);
        this.#height = tip;
        this.#hashes.set(tip, hash);
        this.#dirty.add(CHAIN_KEY);
        await this.#persist(false);
      }
      const moved = (await this.#rollBack(tip, signal)) + (await this.#rollForward(tip, signal));
      if (moved > 0) this.#rebroadcastDue = true;
      await this.#catchUp(signal);
      if (this.#resume) {
        this.#resume = false;
        await this.#deliver(this.#progress());
        await this.#persist(false);
      }
      if (this.#rebroadcastDue) {
        this.#rebroadcastDue = false;
        try {
          await this.#rebroadcast(signal);
        } catch (err) {
          this.#rebroadcastDue = true;
          throw err;
        }
      }
      await this.#scanMempool(signal);
      await this.#redeliver();
      this.#setStatus('ok');
    } catch (err) {
      if (signal.aborted) return;
      const e = err instanceof Error ? err : new Error(String(err));
      this.#health.lastError = { name: e.name, message: e.message, at: Date.now() };
      this.#setStatus('degraded');
      this.#log.warn({ err: e }, 'chain monitor tick failed; retrying');
    }
  }

  /** Disconnects processed blocks no longer on the node's chain; returns how many. */
  async #rollBack(tip: number, signal: AbortSignal): Promise<number> {
    let count = 0;
    for (;;) {
      const height = this.#height;
      if (height === undefined) return count;
      const known = this.#hashes.get(height);
      if (known === undefined) throw new ReorgTooDeepError(height);
      if (height <= tip && (await this.#rpc.getBlockHash(height, { signal })) === known) {
        return count;
      }
      this.#log.info({ height, hash: known }, 'block disconnected');
      await this.#deliver(this.#disconnect(height, known));
      await this.#persist(false);
      count++;
    }
  }

  /** Connects the node's blocks above the processed height, one at a time; returns how many. */
  async #rollForward(tip: number, signal: AbortSignal): Promise<number> {
    let count = 0;
    while (this.#height !== undefined && this.#height < tip) {
      const height = this.#height + 1;
      const hash = await this.#rpc.getBlockHash(height, { signal });
      const block = Block.fromHex(await this.#rpc.getBlockHex(hash, { signal }));
      const prev = block.prevHash ? toTxid(block.prevHash) : undefined;
      // The chain moved under us: the next tick finds the fork point.
      if (prev !== this.#hashes.get(height - 1)) break;
      await this.#deliver(this.#connect({ height, hash }, block.transactions ?? []));
      await this.#persist(false);
      count++;
    }
    return count;
  }

  #connect(ref: BlockRef, txs: readonly Transaction[]): ChainReport[] {
    const byTxid = new Map<string, TxWatch[]>();
    for (const w of this.#txWatches.values()) {
      if (!w.conf) byTxid.set(w.txid, [...(byTxid.get(w.txid) ?? []), w]);
    }
    const byOutpoint = new Map<string, OutWatch[]>();
    for (const w of this.#outWatches.values()) {
      const op = `${w.txid}:${w.vout}`;
      if (!w.spender?.block) byOutpoint.set(op, [...(byOutpoint.get(op) ?? []), w]);
    }
    for (const tx of txs) {
      const txid = tx.getId();
      for (const w of byTxid.get(txid) ?? []) {
        w.conf = ref;
        this.#dirty.add(txKey(w));
      }
      const tracked = this.#tracked.get(txid);
      if (tracked) {
        tracked.conf = ref;
        tracked.failure = undefined;
        this.#dirty.add(`${TRACK_PREFIX}${txid}`);
      }
      if (byOutpoint.size === 0) continue;
      for (const input of tx.ins) {
        for (const w of byOutpoint.get(`${toTxid(input.hash)}:${input.index}`) ?? []) {
          w.spender = { txid, hex: tx.toHex(), block: ref };
          this.#dirty.add(outKey(w));
        }
      }
    }
    this.#height = ref.height;
    this.#hashes.set(ref.height, ref.hash);
    for (const h of this.#hashes.keys()) if (h <= ref.height - this.#window) this.#hashes.delete(h);
    this.#dirty.add(CHAIN_KEY);
    for (const t of this.#tracked.values()) {
      if (t.conf && ref.height - t.conf.height + 1 >= this.#trackDepth) {
        this.#tracked.delete(t.txid);
        this.#dirty.add(`${TRACK_PREFIX}${t.txid}`);
      }
    }
    return this.#progress();
  }

  #disconnect(height: number, hash: string): ChainReport[] {
    const reports: ChainReport[] = [];
    for (const w of this.#txWatches.values()) {
      if (w.conf?.hash !== hash) continue;
      if (w.reported > 0) {
        reports.push({ kind: 'unconfirmed', tag: w.tag, txid: w.txid, height, confirmations: 0 });
      }
      w.conf = undefined;
      w.reported = 0;
      this.#dirty.add(txKey(w));
    }
    for (const w of this.#outWatches.values()) {
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
    for (const t of this.#tracked.values()) {
      if (t.conf?.hash !== hash) continue;
      t.conf = undefined;
      this.#dirty.add(`${TRACK_PREFIX}${t.txid}`);
    }
    this.#hashes.delete(height);
    this.#height = height - 1;
    this.#dirty.add(CHAIN_KEY);
    return reports;
  }

  /** Reports every watch whose state moved past what it last reported. */
  #progress(only?: ReadonlySet<TxWatch | OutWatch>): ChainReport[] {
    const tip = this.#height;
    const reports: ChainReport[] = [];
    if (tip === undefined) return reports;
    for (const w of this.#txWatches.values()) {
      if (only && !only.has(w)) continue;
      if (this.#isHeld(w.tag)) continue;
      if (!w.conf || w.reported >= w.depth) continue;
      const confirmations = tip - w.conf.height + 1;
      if (confirmations <= w.reported) continue;
      const base = { tag: w.tag, txid: w.txid, height: w.conf.height, confirmations };
      reports.push({ kind: 'confirmed', ...base });
      if (confirmations >= w.depth) reports.push({ kind: 'depth', ...base });
      w.reported = confirmations;
      this.#dirty.add(txKey(w));
    }
    for (const w of this.#outWatches.values()) {
      if (only && !only.has(w)) continue;
      if (this.#isHeld(w.tag)) continue;
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

  /** Locates newly added watches that may already have confirmed or been spent. */
  async #catchUp(signal: AbortSignal): Promise<void> {
    const tip = this.#height;
    const txs = [...this.#txWatches.values()].filter((w) => w.pending);
    const outs = [...this.#outWatches.values()].filter((w) => w.pending);
    if (tip === undefined || txs.length + outs.length === 0) return;
    const rescan = new Set<TxWatch | OutWatch>();
    for (const w of txs) {
      if (!w.conf) w.conf = await this.#locate(w.txid, tip, signal);
      if (!w.conf && w.fromHeight !== undefined && w.fromHeight <= tip) rescan.add(w);
    }
    for (const w of outs) {
      if (!w.spender?.block && w.fromHeight !== undefined && w.fromHeight <= tip) rescan.add(w);
    }
    if (rescan.size > 0) await this.#rescan(rescan, tip, signal);
    const touched = new Set<TxWatch | OutWatch>([...txs, ...outs]);
    for (const w of touched) {
      // Still registered: an unwatch may have raced with the lookups.
      const key = 'depth' in w ? txKey(w) : outKey(w);
      if (!this.#txWatches.has(key) && !this.#outWatches.has(key)) continue;
      w.pending = false;
      w.fromHeight = undefined;
      this.#dirty.add(key);
    }
    await this.#deliver(this.#progress(touched));
    await this.#persist(false);
  }

  /** The processed block holding `txid`, via the node's transaction index; else undefined. */
  async #locate(txid: string, tip: number, signal: AbortSignal): Promise<BlockRef | undefined> {
    const info = await this.#rpc.getTransaction(txid, { signal });
    if (!info?.blockHash) return undefined;
    const block = await this.#rpc.getBlock(info.blockHash, { signal });
    if (block.confirmations < 0 || block.height > tip) return undefined; // side chain / not yet
    const known = this.#hashes.get(block.height);
    if (known !== undefined && known !== block.hash) return undefined;
    return { height: block.height, hash: block.hash };
  }

  /** Scans processed blocks from the lowest `fromHeight` for the given watches only. */
  async #rescan(
    watches: ReadonlySet<TxWatch | OutWatch>,
    tip: number,
    signal: AbortSignal,
  ): Promise<void> {
    let from = tip;
    for (const w of watches) from = Math.min(from, w.fromHeight ?? tip);
    this.#log.info({ from, to: tip, watches: watches.size }, 'rescanning for new watches');
    for (let height = Math.max(0, from); height <= tip; height++) {
      const hash = this.#hashes.get(height) ?? (await this.#rpc.getBlockHash(height, { signal }));
      const block = Block.fromHex(await this.#rpc.getBlockHex(hash, { signal }));
      for (const tx of block.transactions ?? []) {
        const txid = tx.getId();
        for (const w of watches) {
          if ('depth' in w) {
            if (!w.conf && w.txid === txid) w.conf = { height, hash };
            continue;
          }
          if (w.spender?.block) continue;
          for (const input of tx.ins) {
            if (input.index === w.vout && toTxid(input.hash) === w.txid) {
              w.spender = { txid, hex: tx.toHex(), block: { height, hash } };
            }
          }
        }
      }
    }
  }

  /** Rebroadcasts tracked transactions that have no confirmation. */
  async #rebroadcast(signal: AbortSignal): Promise<void> {
    const reports: ChainReport[] = [];
    for (const t of [...this.#tracked.values()]) {
      if (t.conf) continue;
      try {
        const { status } = await broadcast(this.#rpc, t.hex, {
          signal,
          confirmTimeoutMs: this.#confirmMs,
        });
        this.#log.debug({ txid: t.txid, status }, 'rebroadcast');
        if (status === 'confirmed' && this.#height !== undefined) {
          // Confirmed before it was tracked: remember where, so it is forgotten at depth.
          t.conf = await this.#locate(t.txid, this.#height, signal);
        }
        if (t.failure !== undefined || t.conf) {
          t.failure = undefined;
          this.#dirty.add(`${TRACK_PREFIX}${t.txid}`);
        }
      } catch (err) {
        if (!(err instanceof BroadcastRejectedError)) throw err;
        this.#log.warn({ txid: t.txid, reason: err.reason }, 'rebroadcast rejected');
        if (t.failure === err.reason) continue;
        t.failure = err.reason;
        this.#dirty.add(`${TRACK_PREFIX}${t.txid}`);
        reports.push({ kind: 'rebroadcastFailed', txid: t.txid, reason: err.reason });
      }
    }
    await this.#deliver(reports);
    await this.#persist(false);
  }

  /** Finds mempool spends of watched outpoints that have no confirmed spend. */
  async #scanMempool(signal: AbortSignal): Promise<void> {
    const open = [...this.#outWatches.values()].filter((w) => !w.spender?.block);
    if (open.length === 0) {
      this.#mempool.clear();
      return;
    }
    const txids = await this.#rpc.getRawMempool({ signal });
    const current = new Set(txids);
    for (const txid of this.#mempool.keys()) if (!current.has(txid)) this.#mempool.delete(txid);
    const hexes = new Map<string, string>();
    let fetched = 0;
    for (const txid of txids) {
      if (this.#mempool.has(txid)) continue;
      if (fetched++ >= MEMPOOL_FETCH_LIMIT) break;
      const hex = await this.#rpc.getRawTransaction(txid, { signal });
      if (hex === null) continue; // left the mempool meanwhile
      hexes.set(txid, hex);
      this.#mempool.set(txid, spentOutpoints(hex));
    }
    const complete = fetched <= MEMPOOL_FETCH_LIMIT;
    const spentBy = new Map<string, string>();
    for (const [txid, outpoints] of this.#mempool) {
      for (const op of outpoints) spentBy.set(op, txid);
    }
    for (const w of open) {
      // A confirmed spend may have arrived while this scan was awaiting.
      if (w.spender?.block) continue;
      const txid = spentBy.get(`${w.txid}:${w.vout}`);
      if (txid === undefined) {
        if (w.spender && complete) {
          this.#log.info({ tag: w.tag, spender: w.spender.txid }, 'mempool spend disappeared');
          w.spender = undefined;
          w.reported = undefined;
          this.#dirty.add(outKey(w));
        }
        continue;
      }
      if (w.spender?.txid === txid) continue;
      const hex = hexes.get(txid) ?? (await this.#rpc.getRawTransaction(txid, { signal }));
      if (hex === null) continue;
      w.spender = { txid, hex, block: undefined };
      this.#dirty.add(outKey(w));
    }
    await this.#deliver(this.#progress(new Set(open)));
    await this.#persist(false);
  }

  /**
   * Hands reports to the listener. One that throws holds its tag back (module doc): the rest of
   * the tag's reports here are not delivered but marked unreported with it; other tags go on.
   */
  async #deliver(reports: readonly ChainReport[]): Promise<void> {
    const failed = new Set<string>();
    const delivered = new Set<string>();
    for (const report of reports) {
      const tag = report.kind === 'rebroadcastFailed' ? undefined : report.tag;
      if (tag !== undefined && failed.has(tag)) {
        this.#unreport(report);
        continue;
      }
      this.#log.debug({ report: { ...report, spender: undefined } }, 'report');
      try {
        await this.#onReport(report);
        if (tag !== undefined) delivered.add(tag);
      } catch (err) {
        const e = new ReportListenerError({ cause: err });
        this.#health.lastError = {
          name: e.name,
          message: `${tag ?? report.txid}: ${err instanceof Error ? err.message : String(err)}`,
          at: Date.now(),
        };
        if (tag === undefined) {
          // A rebroadcast rejection: the listener only logs it, and the next distinct one comes.
          this.#log.error({ err, txid: report.txid }, 'report listener failed; dropped');
          continue;
        }
        failed.add(tag);
        this.#unreport(report);
        const held = this.#held.get(tag) ?? { attempts: 0, at: 0 };
        held.attempts++;
        const pause = Math.min(this.#retryMs.max, this.#retryMs.first * 2 ** (held.attempts - 1));
        held.at = Date.now() + pause;
        this.#held.set(tag, held);
        this.#log.error(
          { err, tag, kind: report.kind, attempts: held.attempts, retryInMs: pause },
          'report listener failed; this tag is held back and retried, the others go on',
        );
      }
    }
    for (const tag of delivered) if (!failed.has(tag)) this.#held.delete(tag);
  }

  /** Marks the watch a report came from as not reported, so that it is reported again. */
  #unreport(report: ChainReport): void {
    if (report.kind === 'confirmed' || report.kind === 'depth') {
      const key = `${TX_PREFIX}${report.txid}!${report.tag}`;
      const w = this.#txWatches.get(key);
      if (!w) return;
      w.reported = 0;
      this.#dirty.add(key);
    } else if (report.kind === 'spent') {
      const key = `${OUT_PREFIX}${report.outpoint}!${report.tag}`;
      const w = this.#outWatches.get(key);
      if (!w) return;
      w.reported = undefined;
      this.#dirty.add(key);
    } else if (report.kind !== 'rebroadcastFailed') {
      // A reorg report: the watch is already rolled back, and what the chain does next is
      // reported anew; this one is lost (the listener only needs the state that follows).
      this.#log.error({ tag: report.tag, kind: report.kind }, 'reorg report not delivered');
    }
  }

  /** Whether `tag`'s reports are held back now (its listener failed, the backoff not over). */
  #isHeld(tag: string): boolean {
    const held = this.#held.get(tag);
    return held !== undefined && held.at > Date.now();
  }

  /** Delivers again, as the chain now stands, the reports of every held tag whose pause is over. */
  async #redeliver(): Promise<void> {
    const now = Date.now();
    const due = new Set([...this.#held].filter(([, h]) => h.at <= now).map(([tag]) => tag));
    if (due.size === 0) return;
    const watches = new Set<TxWatch | OutWatch>();
    for (const w of this.#txWatches.values()) if (due.has(w.tag)) watches.add(w);
    for (const w of this.#outWatches.values()) if (due.has(w.tag)) watches.add(w);
    const reports = this.#progress(watches);
    // A due tag with nothing left to report (its watches gone) is no longer held.
    for (const tag of due) {
      if (!reports.some((r) => r.kind !== 'rebroadcastFailed' && r.tag === tag)) {
        this.#held.delete(tag);
      }
    }
    await this.#deliver(reports);
    await this.#persist(false);
  }

  // --- persistence ---

  /** Writes the dirty records (synced when a caller waits on a new watch). */
  #persist(sync: boolean): Promise<void> {
    const keys = [...this.#dirty];
    this.#dirty.clear();
    return this.#persistKeys(keys, sync);
  }

  /**
   * Writes the current value of each key (or deletes it), after every earlier write: writes run
   * one at a time and read the state when they run, so the last write always holds the latest.
   */
  #persistKeys(keys: readonly string[], sync: boolean): Promise<void> {
    if (keys.length === 0) return Promise.resolve();
    const run = this.#writes.then(async () => {
      const db = this.#db;
      if (!db) throw new MonitorNotRunningError();
      const ops = keys.map((key) => {
        const value = this.#serialize(key);
        return value === undefined
          ? { type: 'del' as const, key }
          : { type: 'put' as const, key, value };
      });
      await db.batch(ops, { sync });
    });
    this.#writes = run.catch(() => {});
    return run;
  }

  #serialize(key: string): string | undefined {
    if (key === CHAIN_KEY) {
      if (this.#height === undefined) return undefined;
      const state: ChainState = { height: this.#height, hashes: [...this.#hashes] };
      return JSON.stringify(state);
    }
    const record = key.startsWith(TX_PREFIX)
      ? this.#txWatches.get(key)
      : key.startsWith(OUT_PREFIX)
        ? this.#outWatches.get(key)
        : this.#tracked.get(key.slice(TRACK_PREFIX.length));
    return record === undefined ? undefined : JSON.stringify(record);
  }

  /** Replaces the in-memory state with the persisted one. */
  async #load(): Promise<void> {
    const db = this.#db;
    if (!db) throw new MonitorNotRunningError();
    await this.#writes.catch(() => {});
    this.#height = undefined;
    this.#hashes.clear();
    this.#txWatches.clear();
    this.#outWatches.clear();
    this.#tracked.clear();
    this.#dirty.clear();
    for await (const [key, value] of db.iterator()) {
      const parsed: unknown = JSON.parse(value);
      if (key === CHAIN_KEY) {
        const state = parsed as ChainState;
        this.#height = state.height;
        this.#hashes = new Map(state.hashes);
      } else if (key.startsWith(TX_PREFIX)) {
        this.#txWatches.set(key, parsed as TxWatch);
      } else if (key.startsWith(OUT_PREFIX)) {
        this.#outWatches.set(key, parsed as OutWatch);
      } else if (key.startsWith(TRACK_PREFIX)) {
        const t = parsed as Tracked;
        this.#tracked.set(t.txid, t);
      }
    }
  }

  #requireRunning(): void {
    if (!this.#running) throw new MonitorNotRunningError();
  }

  #watching(): number {
    return this.#txWatches.size + this.#outWatches.size;
  }

  #setStatus(status: ChainMonitorHealth['status']): void {
    if (this.#health.status === status) return;
    this.#health.status = status;
    this.#health.since = Date.now();
    this.#log.info({ status }, 'chain monitor health');
  }
}

function txKey(w: TxWatch): string {
  return `${TX_PREFIX}${w.txid}!${w.tag}`;
}

function outKey(w: OutWatch): string {
  return `${OUT_PREFIX}${w.txid}:${w.vout}!${w.tag}`;
}

function spendFields(w: OutWatch): { tag: string; txid: string; vout: number; outpoint: string } {
  return { tag: w.tag, txid: w.txid, vout: w.vout, outpoint: `${w.txid}:${w.vout}` };
}

/** Txid display form (byte-reversed hex) of an internal-order hash. */
function toTxid(hash: Uint8Array): string {
  return Buffer.from(hash).reverse().toString('hex');
}

function spentOutpoints(hex: string): string[] {
  return Transaction.fromHex(hex).ins.map((input) => `${toTxid(input.hash)}:${input.index}`);
}

function checkTxid(txid: string): string {
  const id = txid.toLowerCase();
  if (!TXID_RE.test(id)) throw new InvalidWatchError(`not a txid: '${txid}'`);
  return id;
}

function parseOutpoint(outpoint: string): { txid: string; vout: number } {
  const [txid = '', vout = '', ...rest] = outpoint.split(':');
  const n = Number(vout);
  if (rest.length > 0 || !/^\d+$/.test(vout) || !Number.isSafeInteger(n) || n > 0xffffffff) {
    throw new InvalidWatchError(`not an outpoint (<txid>:<vout>): '${outpoint}'`);
  }
  return { txid: checkTxid(txid), vout: n };
}
