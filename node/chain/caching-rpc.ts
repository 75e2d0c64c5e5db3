/**
 * A {@link BitcoinRpc} that several nodes in one process share (research/scale/: a host of 25
 * takers), so the chain backend sees one reader per process instead of one poller per node. Each
 * node still follows the chain itself (its own follower, wallet and monitor); only the answers
 * are shared:
 *
 * - the tip and other answers that change with the chain (`getblockcount`, `getblockhash`,
 *   `getbestblockhash`, `getblockchaininfo`, `getrawmempool`, `getmempoolinfo`,
 *   `estimatesmartfee`, `getblock <hash> 1`, `getrawtransaction <txid> 1`) are served from cache
 *   for {@link CachingBitcoinRpcOptions.ttlMs} after they were asked — a reorg that changes the
 *   hash at a height is seen at most that late, as a poll that much slower would see it;
 * - answers that cannot change (`getblock <hash> 0`, `getrawtransaction <txid> 0`: content
 *   named by its hash) are kept, the most recently used {@link CachingBitcoinRpcOptions.maxKept};
 * - identical reads in flight are coalesced into one request;
 * - everything else (`sendrawtransaction`, `submitpackage`, `gettxout`, `getmempoolentry`, …)
 *   passes straight through, and a call that is not a cached read drops the changing answers, so
 *   a node reads its own broadcast at once.
 *
 * Errors are never cached ("not found" is asked again). A caller's `AbortSignal` ends its own
 * wait only; the shared request runs on under its timeout for the others.
 *
 * @example
 * const chain = new CachingBitcoinRpc({ url, user, password });
 * const a = await Daemon.start(configA, { chain });
 * const b = await Daemon.start(configB, { chain }); // both read through one cache
 */
import { BitcoinRpc, type BitcoinRpcOptions, type RpcCallOptions } from './rpc.ts';

/**
 * How long a changing answer is served from cache by default: well under a node's chain poll
 * (a fifth of a block in the scale bench, ≥ 1 s), so a shared tip is at most a poll late.
 */
export const DEFAULT_CHAIN_CACHE_TTL_MS = 1_000;

/** Immutable answers kept by default (block and transaction hex; a regtest block is small). */
export const DEFAULT_CHAIN_CACHE_KEPT = 256;

export interface CachingBitcoinRpcOptions extends BitcoinRpcOptions {
  /** How long a changing answer is served from cache. @default DEFAULT_CHAIN_CACHE_TTL_MS */
  ttlMs?: number;
  /** Immutable answers kept (least recently used dropped). @default DEFAULT_CHAIN_CACHE_KEPT */
  maxKept?: number;
  /** Unix ms; injectable for tests. */
  now?: () => number;
}

/** Reads whose answer changes with the chain: cached for the TTL. */
const CHANGING = new Set([
  'getblockcount',
  'getblockhash',
  'getbestblockhash',
  'getblockchaininfo',
  'getrawmempool',
  'getmempoolinfo',
  'estimatesmartfee',
]);

type Kind = 'changing' | 'immutable' | 'other';

/** How a call is cached; the verbosity argument decides for getblock and getrawtransaction. */
function kindOf(method: string, params: readonly unknown[]): Kind {
  if (CHANGING.has(method)) return 'changing';
  if (method === 'getblock' || method === 'getrawtransaction') {
    const verbose = params[1];
    return verbose === 0 || verbose === false || (method === 'getrawtransaction' && !verbose)
      ? 'immutable'
      : 'changing';
  }
  return 'other';
}

/** A {@link BitcoinRpc} sharing its answers between callers; see the module documentation. */
export class CachingBitcoinRpc extends BitcoinRpc {
  readonly #ttlMs: number;
  readonly #maxKept: number;
  readonly #now: () => number;
  /** Changing answers: key → value and when it was asked. */
  readonly #changing = new Map<string, { value: unknown; askedAt: number }>();
  /** Immutable answers in least-recently-used order (Map keeps insertion order). */
  readonly #kept = new Map<string, unknown>();
  /** Reads in flight of the current generation. */
  #inflight = new Map<string, Promise<unknown>>();
  /** Bumped by every call that may change the chain's state: older answers are not stored. */
  #generation = 0;

  constructor(options: CachingBitcoinRpcOptions) {
    super(options);
    this.#ttlMs = options.ttlMs ?? DEFAULT_CHAIN_CACHE_TTL_MS;
    this.#maxKept = options.maxKept ?? DEFAULT_CHAIN_CACHE_KEPT;
    this.#now = options.now ?? Date.now;
  }

  override async call<T = unknown>(
    method: string,
    params: readonly unknown[] = [],
    options: RpcCallOptions = {},
  ): Promise<T> {
    const kind = kindOf(method, params);
    if (kind === 'other') {
      this.#generation++;
      this.#changing.clear();
      this.#inflight = new Map();
      return super.call<T>(method, params, options);
    }
    options.signal?.throwIfAborted();
    const key = `${method} ${JSON.stringify(params)}`;
    const now = this.#now();
    if (kind === 'immutable' && this.#kept.has(key)) {
      const value = this.#kept.get(key);
      this.#kept.delete(key);
      this.#kept.set(key, value);
      return value as T;
    }
    const hit = this.#changing.get(key);
    if (kind === 'changing' && hit && now - hit.askedAt < this.#ttlMs) return hit.value as T;

    let shared = this.#inflight.get(key);
    if (!shared) {
      shared = this.#fetch(key, kind, method, params, options.timeoutMs, now);
      this.#inflight.set(key, shared);
    }
    return (await abortable(shared, options.signal)) as T;
  }

  /** One request for everyone waiting on `key`; stores the answer unless a write came since. */
  async #fetch(
    key: string,
    kind: Kind,
    method: string,
    params: readonly unknown[],
    timeoutMs: number | undefined,
    askedAt: number,
  ): Promise<unknown> {
    const generation = this.#generation;
    const inflight = this.#inflight;
    try {
      const value = await super.call(method, params, timeoutMs === undefined ? {} : { timeoutMs });
      if (generation === this.#generation) {
        if (kind === 'changing') this.#storeChanging(key, value, askedAt);
        else {
          this.#kept.set(key, value);
          for (const k of this.#kept.keys()) {
            if (this.#kept.size <= this.#maxKept) break;
            this.#kept.delete(k);
          }
        }
      }
      return value;
    } finally {
      inflight.delete(key);
    }
  }

  /** Stores a changing answer; past a few hundred keys (hashes by height) drops expired ones. */
  #storeChanging(key: string, value: unknown, askedAt: number): void {
    this.#changing.set(key, { value, askedAt });
    if (this.#changing.size <= this.#maxKept) return;
    const now = this.#now();
    for (const [k, e] of this.#changing) {
      if (now - e.askedAt >= this.#ttlMs) this.#changing.delete(k);
    }
  }
}

/** `p`, or the signal's reason as soon as it aborts (`p` runs on for its other callers). */
function abortable<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return p;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}
