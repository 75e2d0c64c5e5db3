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
 * It polls: each tick has the {@link ChainFollower} roll back disconnected blocks (it keeps the last
 * {@link DEFAULT_REORG_WINDOW} block hashes to find the fork point) and connect new ones, which the
 * {@link WatchRegistry} (pure: what a block means for each watch) turns into reports and the
 * {@link Rebroadcaster} into confirmed broadcasts; then it checks the mempool for spends.
 *
 * State (watches, processed height and recent hashes, what was reported, tracked broadcasts) lives
 * in its own LevelDB ({@link MonitorStore}). After a restart it resumes from the last processed
 * block, so anything that happened while it was down is reported, and nothing it had already
 * reported is reported again.
 * Delivery is at least once: reports of a block are delivered before that block's progress is
 * persisted, so a crash in between repeats them. **Consumers must be idempotent** (the CFD model
 * is: its events are facts keyed by txid).
 *
 * A listener that throws on a report holds back only that report's tag (one CFD), never the
 * chain; the tag's reports come again after a backoff ({@link ReportDelivery}). Blocks and the
 * other tags go on; `health().retrying` counts the tags held back, `lastError` names the failure.
 *
 * A failing RPC never stops it: the tick fails, {@link ChainMonitor.health} shows the error (the
 * `health` reporter is told), and the next tick retries from where it stopped. A reorg deeper than the hash window cannot be
 * followed safely; health then shows {@link ReorgTooDeepError} and the monitor does not advance.
 *
 * Mempool spends are found through the follower's mempool index, read only while some watched
 * outpoint has no confirmed spend.
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
import { Transaction } from 'bitcoinjs-lib';
import { type Logger, pino } from 'pino';
import {
  changesOnly,
  type HealthReporter,
  type HealthState,
  NO_HEALTH,
} from '../runtime/health.ts';
import { DEFAULT_BROADCAST_CONFIRM_MS } from './broadcast.ts';
import { InvalidWatchError, MonitorNotRunningError } from './errors.ts';
import { type BlockConsumer, type BlockRef, ChainFollower, locateTx } from './follower.ts';
import { CHAIN_KEY, type ChainState, MonitorStore } from './monitor-store.ts';
import { DEFAULT_TRACK_DEPTH, Rebroadcaster, TRACK_PREFIX } from './rebroadcaster.ts';
import {
  DEFAULT_REPORT_RETRY_MAX_MS,
  DEFAULT_REPORT_RETRY_MS,
  ReportDelivery,
} from './report-delivery.ts';
import type { BitcoinRpc } from './rpc.ts';
import {
  type ChainReport,
  checkTxid,
  type OutWatch,
  outKey,
  parseOutpoint,
  type ReportListener,
  txKey,
  type Watch,
  type WatchOutpointOptions,
  WatchRegistry,
  type WatchTxOptions,
} from './watch-registry.ts';

export { DEFAULT_TRACK_DEPTH } from './rebroadcaster.ts';
export { DEFAULT_REPORT_RETRY_MAX_MS, DEFAULT_REPORT_RETRY_MS } from './report-delivery.ts';
export type {
  ChainReport,
  ConfirmedReport,
  DepthReport,
  RebroadcastFailedReport,
  ReportListener,
  Spender,
  SpendReport,
  UnconfirmedReport,
  WatchOutpointOptions,
  WatchTxOptions,
} from './watch-registry.ts';

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

export interface ChainMonitorOptions {
  rpc: BitcoinRpc;
  /** Follows the chain; share one with the wallet. @default a follower of `rpc` */
  follower?: ChainFollower;
  /** Directory of the monitor's own LevelDB (created if missing). */
  dataDir: string;
  onReport?: ReportListener;
  /** Told of every change of {@link ChainMonitor.health} (status, error, what it watches). */
  health?: HealthReporter;
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

/** Follows watched transactions and outpoints on the chain; see the module documentation. */
export class ChainMonitor {
  readonly #rpc: BitcoinRpc;
  readonly #follower: ChainFollower;
  readonly #dataDir: string;
  /** Pushes health changes to the `health` reporter. */
  readonly #report: (state: HealthState) => void;
  readonly #interval: number;
  readonly #window: number;
  readonly #log: Logger;
  readonly #watches = new WatchRegistry();
  readonly #rebroadcaster: Rebroadcaster;
  readonly #delivery: ReportDelivery;

  #store: MonitorStore | undefined;
  /** Between start and stop; the database stays open until pending writes are done. */
  #running = false;
  #ac: AbortController | undefined;
  #timer: NodeJS.Timeout | undefined;
  #ticking: Promise<void> | undefined;
  #removeAbortListener: (() => void) | undefined;

  /** Last processed height; undefined until the first tick on a fresh database. */
  #height: number | undefined;
  #hashes = new Map<number, string>();
  #chainDirty = false;
  /** After start: report what is on disk unreported (a listener failed on it before a stop). */
  #resume = true;
  #rebroadcastDue = true;

  #health: ChainMonitorHealth = {
    status: 'stopped',
    height: undefined,
    lastError: undefined,
    since: Date.now(),
    watching: 0,
    tracking: 0,
    retrying: 0,
  };

  /** The monitor's cursor on the chain, for the follower. */
  readonly #cursor: BlockConsumer = {
    height: () => this.#height ?? -1,
    hashAt: (height) => this.#hashes.get(height),
    disconnect: async (ref) => {
      this.#log.info(ref, 'block disconnected');
      const reports = this.#watches.disconnect(ref);
      this.#rebroadcaster.disconnect(ref);
      this.#hashes.delete(ref.height);
      this.#height = ref.height - 1;
      this.#chainDirty = true;
      await this.#delivery.deliver(reports);
      await this.#persist(false);
    },
    connect: async (ref, block) => {
      const txs = block.transactions ?? [];
      this.#watches.connect(ref, txs);
      this.#rebroadcaster.connect(ref, txs);
      this.#height = ref.height;
      this.#hashes.set(ref.height, ref.hash);
      for (const h of this.#hashes.keys()) {
        if (h <= ref.height - this.#window) this.#hashes.delete(h);
      }
      this.#chainDirty = true;
      await this.#delivery.deliver(this.#progress());
      await this.#persist(false);
    },
  };

  constructor(options: ChainMonitorOptions) {
    this.#rpc = options.rpc;
    this.#follower = options.follower ?? new ChainFollower({ rpc: options.rpc });
    this.#dataDir = options.dataDir;
    this.#report = changesOnly(options.health ?? NO_HEALTH);
    this.#interval = options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
    this.#window = Math.max(1, options.reorgWindow ?? DEFAULT_REORG_WINDOW);
    this.#log = (options.logger ?? pino({ level: 'silent' })).child({ component: 'chain:monitor' });
    this.#delivery = new ReportDelivery({
      listener: options.onReport ?? (() => {}),
      retryMs: options.reportRetryMs ?? {
        first: DEFAULT_REPORT_RETRY_MS,
        max: DEFAULT_REPORT_RETRY_MAX_MS,
      },
      unreport: (report) => {
        if (this.#watches.unreport(report) || report.kind === 'rebroadcastFailed') return;
        // A reorg report: the watch is already rolled back, and what the chain does next is
        // reported anew; this one is lost (the listener only needs the state that follows).
        this.#log.error({ tag: report.tag, kind: report.kind }, 'reorg report not delivered');
      },
      onFailure: (error) => {
        this.#health.lastError = error;
      },
      log: this.#log,
    });
    this.#rebroadcaster = new Rebroadcaster({
      rpc: options.rpc,
      trackDepth: Math.max(1, options.trackDepth ?? DEFAULT_TRACK_DEPTH),
      confirmTimeoutMs: options.broadcastConfirmTimeoutMs ?? DEFAULT_BROADCAST_CONFIRM_MS,
      locate: (txid, signal) => this.#locate(txid, signal),
      log: this.#log,
    });
  }

  /**
   * Opens the database, loads the persisted state and starts polling (the first tick runs at
   * once). Never fails because the chain backend is down. Aborting `signal` stops the monitor.
   */
  async start(options: { signal?: AbortSignal } = {}): Promise<void> {
    if (this.#running || this.#store) return;
    this.#store = await MonitorStore.open(this.#dataDir);
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
    this.#log.info({ height: this.#height, watching: this.#watches.size }, 'chain monitor started');
  }

  /** Stops polling, aborts in-flight RPC calls, waits for pending writes and closes the database. */
  async stop(): Promise<void> {
    const store = this.#store;
    if (!this.#running || !store) return;
    this.#running = false;
    this.#removeAbortListener?.();
    this.#removeAbortListener = undefined;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#ac?.abort(new MonitorNotRunningError('chain monitor stopped'));
    await this.#ticking;
    this.#store = undefined;
    await store.close();
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
      watching: this.#watches.size,
      tracking: this.#rebroadcaster.size,
      retrying: this.#delivery.heldCount,
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
    const key = this.#watches.watchTx(id, options.tag, depth, options.fromHeight);
    await this.#persistKeys([key], true);
    this.#schedule(0);
  }

  /**
   * The height of the block that confirmed `txid` as watched under `tag`, as the monitor last saw
   * it; undefined when it is not watched or not confirmed. For showing timelocks, not deciding.
   */
  confirmedAt(txid: string, tag: string): number | undefined {
    const w = this.#watches.get(txKey({ txid, tag }));
    return w && 'conf' in w ? w.conf?.height : undefined;
  }

  /**
   * Watches `outpoint` (`<txid>:<vout>`) for the transaction that spends it. Resolves once the
   * watch is durable. The outpoint need not exist yet (e.g. a commit output before the commit is
   * published).
   */
  async watchOutpoint(outpoint: string, options: WatchOutpointOptions): Promise<void> {
    this.#requireRunning();
    const { txid, vout } = parseOutpoint(outpoint);
    const key = this.#watches.watchOutpoint(txid, vout, options.tag, options.fromHeight);
    await this.#persistKeys([key], true);
    this.#schedule(0);
  }

  /** Stops watching `txid` for `tag`. */
  async unwatchTx(txid: string, options: { tag: string }): Promise<void> {
    this.#requireRunning();
    const key = txKey({ txid: checkTxid(txid), tag: options.tag });
    this.#watches.remove(key);
    await this.#persistKeys([key], true);
  }

  /** Stops watching `outpoint` for `tag`. */
  async unwatchOutpoint(outpoint: string, options: { tag: string }): Promise<void> {
    this.#requireRunning();
    const key = outKey({ ...parseOutpoint(outpoint), tag: options.tag });
    this.#watches.remove(key);
    await this.#persistKeys([key], true);
  }

  /** Removes every watch carrying `tag` (e.g. a closed CFD); resolves with how many. */
  async unwatchTag(tag: string): Promise<number> {
    this.#requireRunning();
    const keys = this.#watches.removeTag(tag);
    this.#delivery.release(tag);
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
    const key = this.#rebroadcaster.track(txid, hex);
    if (key !== undefined) await this.#persistKeys([key], true);
    return txid;
  }

  /** Stops rebroadcasting `txid`. */
  async untrackBroadcast(txid: string): Promise<void> {
    this.#requireRunning();
    await this.#persistKeys([this.#rebroadcaster.untrack(checkTxid(txid))], true);
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
      const tip = await this.#follower.tip(opts);
      if (this.#height === undefined) {
        // Fresh database: nothing is watched before now, so start at the tip.
        const hash = await this.#follower.hashAt(tip, opts);
        this.#height = tip;
        this.#hashes.set(tip, hash);
        this.#chainDirty = true;
        await this.#persist(false);
      }
      const moved = await this.#follower.follow(this.#cursor, tip, opts);
      if (moved.connected + moved.disconnected > 0) this.#rebroadcastDue = true;
      await this.#catchUp(signal);
      if (this.#resume) {
        this.#resume = false;
        await this.#delivery.deliver(this.#progress());
        await this.#persist(false);
      }
      if (this.#rebroadcastDue) {
        this.#rebroadcastDue = false;
        try {
          await this.#delivery.deliver(await this.#rebroadcaster.rebroadcast(signal));
          await this.#persist(false);
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
    } finally {
      this.#pushHealth();
    }
  }

  /** Reports every watch (or those in `only`) whose state moved past what it last reported. */
  #progress(only?: ReadonlySet<Watch>): ChainReport[] {
    if (this.#height === undefined) return [];
    return this.#watches.progress(this.#height, {
      only,
      held: (tag) => this.#delivery.isHeld(tag),
    });
  }

  /** Locates newly added watches that may already have confirmed or been spent. */
  async #catchUp(signal: AbortSignal): Promise<void> {
    const tip = this.#height;
    const { txs, outs } = this.#watches.pending();
    if (tip === undefined || txs.length + outs.length === 0) return;
    const rescan = new Set<Watch>();
    for (const w of txs) {
      if (!w.conf) w.conf = await this.#locate(w.txid, signal);
      if (!w.conf && w.fromHeight !== undefined && w.fromHeight <= tip) rescan.add(w);
    }
    for (const w of outs) {
      if (!w.spender?.block && w.fromHeight !== undefined && w.fromHeight <= tip) rescan.add(w);
    }
    if (rescan.size > 0) await this.#rescan(rescan, tip, signal);
    const touched = new Set<Watch>([...txs, ...outs]);
    this.#watches.settle(touched);
    await this.#delivery.deliver(this.#progress(touched));
    await this.#persist(false);
  }

  /** The processed block holding `txid`, via the node's transaction index; else undefined. */
  #locate(txid: string, signal: AbortSignal): Promise<BlockRef | undefined> {
    const tip = this.#height;
    if (tip === undefined) return Promise.resolve(undefined);
    return locateTx(this.#rpc, txid, { tip, hashAt: (h) => this.#hashes.get(h) }, { signal });
  }

  /** Scans processed blocks from the lowest `fromHeight` for the given watches only. */
  async #rescan(watches: ReadonlySet<Watch>, tip: number, signal: AbortSignal): Promise<void> {
    let from = tip;
    for (const w of watches) from = Math.min(from, w.fromHeight ?? tip);
    this.#log.info({ from, to: tip, watches: watches.size }, 'rescanning for new watches');
    const hashAt = (h: number) => this.#hashes.get(h);
    await this.#follower.scan(Math.max(0, from), tip, hashAt, { signal }, (ref, block) =>
      this.#watches.rescanBlock(ref, block.transactions ?? [], watches),
    );
  }

  /** Finds mempool spends of watched outpoints that have no confirmed spend. */
  async #scanMempool(signal: AbortSignal): Promise<void> {
    const open = this.#watches.openOutpoints();
    if (open.length === 0) return;
    const mempool = await this.#follower.mempool({ signal });
    const { gone, fetch } = this.#watches.applyMempool(open, mempool);
    for (const w of gone) this.#log.info({ tag: w.tag }, 'mempool spend disappeared');
    for (const [w, txid] of fetch) {
      const hex = await mempool.hex(txid, { signal });
      if (hex !== null) this.#watches.setMempoolSpender(w, { txid, hex });
    }
    await this.#delivery.deliver(this.#progress(new Set<OutWatch>(open)));
    await this.#persist(false);
  }

  /** Delivers again, as the chain now stands, the reports of every held tag whose pause is over. */
  async #redeliver(): Promise<void> {
    const due = this.#delivery.due();
    if (due.size === 0) return;
    const reports = this.#progress(this.#watches.ofTags(due));
    // A due tag with nothing left to report (its watches gone) is no longer held.
    for (const tag of due) {
      if (!reports.some((r) => r.kind !== 'rebroadcastFailed' && r.tag === tag)) {
        this.#delivery.release(tag);
      }
    }
    await this.#delivery.deliver(reports);
    await this.#persist(false);
  }

  // --- persistence ---

  /** Writes the dirty records (synced when a caller waits on a new watch). */
  #persist(sync: boolean): Promise<void> {
    const keys = [...this.#watches.takeDirty(), ...this.#rebroadcaster.takeDirty()];
    if (this.#chainDirty) {
      this.#chainDirty = false;
      keys.push(CHAIN_KEY);
    }
    return this.#persistKeys(keys, sync);
  }

  #persistKeys(keys: readonly string[], sync: boolean): Promise<void> {
    const store = this.#store;
    if (!store)
      return keys.length === 0 ? Promise.resolve() : Promise.reject(new MonitorNotRunningError());
    return store.write(keys, (key) => this.#serialize(key), sync);
  }

  #serialize(key: string): string | undefined {
    if (key === CHAIN_KEY) {
      if (this.#height === undefined) return undefined;
      const state: ChainState = { height: this.#height, hashes: [...this.#hashes] };
      return JSON.stringify(state);
    }
    const record = key.startsWith(TRACK_PREFIX)
      ? this.#rebroadcaster.tracked.get(key.slice(TRACK_PREFIX.length))
      : this.#watches.get(key);
    return record === undefined ? undefined : JSON.stringify(record);
  }

  /** Replaces the in-memory state with the persisted one. */
  async #load(): Promise<void> {
    const store = this.#store;
    if (!store) throw new MonitorNotRunningError();
    const records = await store.load();
    this.#height = records.chain?.height;
    this.#hashes = new Map(records.chain?.hashes ?? []);
    this.#chainDirty = false;
    this.#watches.load(records.watches);
    this.#rebroadcaster.load(records.tracked);
  }

  #requireRunning(): void {
    if (!this.#running) throw new MonitorNotRunningError();
  }

  #setStatus(status: ChainMonitorHealth['status']): void {
    if (this.#health.status === status) return;
    this.#health.status = status;
    this.#health.since = Date.now();
    this.#log.info({ status }, 'chain monitor health');
    this.#pushHealth();
  }

  /** Tells the health reporter what changed since it was last told. */
  #pushHealth(): void {
    const h = this.health();
    const held = h.retrying ? `, ${h.retrying} CFDs' reports held back for retry` : '';
    const detail = `watching ${h.watching}, tracking ${h.tracking}${held}`;
    this.#report({ status: h.status, detail, lastError: h.lastError });
  }
}
