/**
 * Bitcoin Core JSON-RPC client for the subset dlcfd needs. Works against bitcoind and against the
 * embedded regtest node (bcoin), whose answers differ in shape in places; the typed methods
 * normalise those differences, and amounts come back as exact `bigint` satoshis.
 *
 * Every call is bounded: it takes an optional `AbortSignal` and always also a timeout
 * ({@link DEFAULT_RPC_TIMEOUT_MS} unless overridden), and fails with a named error:
 * {@link RpcError} (the node answered with an error), {@link RpcTimeoutError},
 * {@link RpcUnreachableError}, {@link RpcAuthError} or {@link RpcResponseError}. {@link BitcoinRpc.health} reports whether
 * the node is reachable, its last known height and the last transport error.
 *
 * @example
 * const rpc = new BitcoinRpc({ url: 'http://127.0.0.1:18443', cookieFile: '~/.bitcoin/regtest/.cookie' });
 * const height = await rpc.getBlockCount();
 * const out = await rpc.getTxOut(txid, 0); // { value: 100000n, confirmations: 3, ... } | null
 */
import { readFile } from 'node:fs/promises';
import { type Logger, pino } from 'pino';
import { btcToSats } from './amount.ts';
import {
  RpcAuthError,
  RpcError,
  RpcResponseError,
  RpcTimeoutError,
  RpcUnreachableError,
} from './errors.ts';

/**
 * Default per-call timeout. A healthy node answers in milliseconds, but bitcoind holds its main
 * lock while connecting a block and can stall for seconds under load; 10 s rides that out without
 * letting a dead or wedged node hang a caller (or the health display) for long.
 */
export const DEFAULT_RPC_TIMEOUT_MS = 10_000;

// Bitcoin Core RPC error codes the client interprets (src/rpc/protocol.h).
/** Not found (tx not in mempool / no such transaction) in Bitcoin Core. */
export const RPC_INVALID_ADDRESS_OR_KEY = -5;
/** Missing or spent inputs. */
export const RPC_VERIFY_ERROR = -25;
/** Rejected by mempool policy or consensus; the message is the reject reason. */
export const RPC_VERIFY_REJECTED = -26;
/** Already in the chain. */
export const RPC_VERIFY_ALREADY_IN_CHAIN = -27;
/** Transaction could not be decoded. */
export const RPC_DESERIALIZATION_ERROR = -22;

/**
 * Keys whose JSON numbers are BTC amounts. They are kept as their exact source text when parsing
 * (never as a float) and converted to satoshis by the typed methods.
 */
const AMOUNT_KEYS = new Set([
  'value',
  'fee',
  'feerate',
  'base',
  'modified',
  'ancestor',
  'descendant',
  'mempoolminfee',
  'minrelaytxfee',
  'incrementalrelayfee',
  'total_fee',
  'effective-feerate',
]);

export interface BitcoinRpcOptions {
  /** Node URL, e.g. `http://127.0.0.1:18443`; `user:password@` in it is used as credentials. */
  url: string;
  /** RPC user (with `password`). */
  user?: string;
  /** RPC password (with `user`). */
  password?: string;
  /** Bitcoin Core style cookie file (`__cookie__:<hex>`), re-read when the node rejects it. */
  cookieFile?: string;
  /** Per-call timeout. @default DEFAULT_RPC_TIMEOUT_MS */
  timeoutMs?: number;
  /** @default silent */
  logger?: Logger;
}

export interface RpcCallOptions {
  /** Abort the call (the abort reason is rethrown unchanged). The timeout applies regardless. */
  signal?: AbortSignal;
  /** Override the client's timeout for this call. */
  timeoutMs?: number;
}

/** What the client knows about the node, for the health display. */
export interface RpcHealth {
  /** `undefined` until the first call completes; false after a transport, auth or shape failure. */
  reachable: boolean | undefined;
  /** Last height seen (from getblockcount or getblockchaininfo). */
  height: number | undefined;
  /** Last transport-level failure (RPC errors from a reachable node are not health problems). */
  lastError: { name: string; message: string; at: number } | undefined;
  /** When `reachable` took its current value (ms since epoch). */
  since: number;
}

/** `getblock <hash> 1`. */
export interface BlockInfo {
  hash: string;
  height: number;
  /** -1 if the block is not on the main chain (Bitcoin Core); bcoin reports it relative to tip. */
  confirmations: number;
  previousBlockHash: string | undefined;
  time: number;
  /** Txids in block order. */
  tx: string[];
}

/** `getrawtransaction <txid> true`, normalised. */
export interface TxInfo {
  txid: string;
  hex: string;
  /** Containing block, if confirmed. */
  blockHash: string | undefined;
  /** 0 when unconfirmed. */
  confirmations: number;
}

/** `getmempoolentry <txid>`, the fields both nodes agree on. */
export interface MempoolEntry {
  /** Chain height when the tx entered the mempool. */
  height: number;
  /** Entry time (seconds since epoch). */
  time: number;
  /** Fee paid, if the node reports it. */
  fee: bigint | undefined;
  /**
   * It and its in-mempool descendants together, if the node reports them (Core: `fees.descendant`
   * and `descendantsize`; bcoin: `descendantfees` in sats): what pays for it with its children,
   * whoever sent them.
   */
  descendants: { readonly fee: bigint; readonly vsize: number } | undefined;
  /** Its unconfirmed parents' txids (`depends`), if the node reports them. */
  depends: readonly string[] | undefined;
}

/** `gettxout <txid> <n>`. */
export interface TxOut {
  value: bigint;
  /** 0 for an output of a mempool transaction. */
  confirmations: number;
  scriptPubKey: string;
  coinbase: boolean;
  bestBlock: string;
}

/** `estimatesmartfee <target>`, normalised. */
export interface FeeEstimate {
  /** sat per 1000 vbytes; undefined when the node has no estimate yet (usual on regtest). */
  satPerKvB: bigint | undefined;
  /** Confirmation target the estimate is for. */
  blocks: number;
}

/** `getmempoolinfo`, normalised (fee rates in sat per 1000 vbytes). */
export interface MempoolInfo {
  /** Transactions in the mempool. */
  size: number;
  /** Sum of their virtual sizes. */
  bytes: number;
  /** The fee rate a transaction must pay to enter the mempool now. */
  mempoolMinFeeSatPerKvB: bigint;
  /** The node's minimum relay fee rate. */
  minRelayTxFeeSatPerKvB: bigint;
}

/** One transaction's outcome in `submitpackage`. */
export interface PackageTxResult {
  wtxid: string;
  txid: string;
  /** Present when accepted (or already in the mempool). */
  vsize: number | undefined;
  /** Base fee, sat, when accepted. */
  fee: bigint | undefined;
  /** Why it was refused, or `unevaluated` when another transaction failed first. */
  error: string | undefined;
}

/** `submitpackage` (Bitcoin Core ≥ 28), normalised. */
export interface SubmitPackageResult {
  /** `success`, or the package-wide reason (e.g. `transaction failed`, `package-fee-too-low`). */
  packageMsg: string;
  /** In the order the node listed them. */
  txResults: PackageTxResult[];
  /** Txids evicted by package RBF. */
  replacedTransactions: string[];
}

/** `getblockchaininfo`, the fields dlcfd uses. */
export interface BlockchainInfo {
  /** `main`, `test`, `regtest`, `signet`. */
  chain: string;
  blocks: number;
  bestBlockHash: string;
}

interface JsonRpcResponse {
  result?: unknown;
  error?: { code?: unknown; message?: unknown } | null;
}

/** A JSON-RPC client for one node. Cheap to create; holds no connection. */
export class BitcoinRpc {
  readonly url: string;
  readonly #timeoutMs: number;
  readonly #cookieFile: string | undefined;
  readonly #log: Logger;
  #authHeader: string | undefined;
  #id = 0;
  #health: RpcHealth = {
    reachable: undefined,
    height: undefined,
    lastError: undefined,
    since: Date.now(),
  };

  constructor(options: BitcoinRpcOptions) {
    const url = new URL(options.url);
    let user = options.user;
    let password = options.password;
    if (url.username) {
      user ??= decodeURIComponent(url.username);
      password ??= decodeURIComponent(url.password);
      url.username = '';
      url.password = '';
    }
    this.url = url.toString();
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_RPC_TIMEOUT_MS;
    this.#cookieFile = options.cookieFile;
    this.#log = (options.logger ?? pino({ level: 'silent' })).child({ component: 'chain:rpc' });
    if (user !== undefined && password !== undefined) this.#authHeader = basic(user, password);
  }

  /** A snapshot of the node's health as seen by this client. */
  health(): RpcHealth {
    return { ...this.#health };
  }

  /**
   * Calls any RPC method. BTC amount fields (`value`, `fee`, `feerate`, ...) come back as their
   * exact decimal text (a string), never as a float.
   */
  async call<T = unknown>(
    method: string,
    params: readonly unknown[] = [],
    options: RpcCallOptions = {},
  ): Promise<T> {
    try {
      const result = await this.#call(method, params, options, true);
      this.#setReachable(true);
      return result as T;
    } catch (err) {
      if (err instanceof RpcError) {
        this.#setReachable(true);
      } else if (
        err instanceof RpcTimeoutError ||
        err instanceof RpcUnreachableError ||
        err instanceof RpcAuthError ||
        err instanceof RpcResponseError
      ) {
        this.#health.lastError = { name: err.name, message: err.message, at: Date.now() };
        this.#setReachable(false);
        this.#log.debug({ err, method }, 'rpc call failed');
      }
      throw err;
    }
  }

  async getBlockCount(options?: RpcCallOptions): Promise<number> {
    const height = asNumber(await this.call('getblockcount', [], options), 'getblockcount');
    this.#health.height = height;
    return height;
  }

  async getBlockHash(height: number, options?: RpcCallOptions): Promise<string> {
    return asString(await this.call('getblockhash', [height], options), 'getblockhash');
  }

  /** Block header fields and txids (`getblock <hash> 1`). */
  async getBlock(hash: string, options?: RpcCallOptions): Promise<BlockInfo> {
    const b = asObject(await this.call('getblock', [hash, 1], options), 'getblock');
    return {
      hash: asString(b.hash, 'getblock.hash'),
      height: asNumber(b.height, 'getblock.height'),
      confirmations: asNumber(b.confirmations, 'getblock.confirmations'),
      previousBlockHash: typeof b.previousblockhash === 'string' ? b.previousblockhash : undefined,
      time: asNumber(b.time, 'getblock.time'),
      tx: asArray(b.tx, 'getblock.tx').map((t) => asString(t, 'getblock.tx[]')),
    };
  }

  /** The serialized block (`getblock <hash> 0`), hex. */
  async getBlockHex(hash: string, options?: RpcCallOptions): Promise<string> {
    return asString(await this.call('getblock', [hash, 0], options), 'getblock');
  }

  /**
   * The raw transaction hex, or null if the node does not know it. Bitcoind finds confirmed
   * transactions only with `-txindex`; the embedded node always indexes them.
   */
  async getRawTransaction(txid: string, options?: RpcCallOptions): Promise<string | null> {
    const r = await this.#orNull(() => this.call('getrawtransaction', [txid, 0], options));
    return r === null ? null : asString(r, 'getrawtransaction');
  }

  /** Where a transaction is (`getrawtransaction <txid> 1`), or null if unknown to the node. */
  async getTransaction(txid: string, options?: RpcCallOptions): Promise<TxInfo | null> {
    const r = await this.#orNull(() => this.call('getrawtransaction', [txid, 1], options));
    if (r === null) return null;
    const t = asObject(r, 'getrawtransaction');
    const blockHash = typeof t.blockhash === 'string' ? t.blockhash : undefined;
    return {
      txid: asString(t.txid, 'getrawtransaction.txid'),
      hex: asString(t.hex, 'getrawtransaction.hex'),
      blockHash,
      confirmations: blockHash && typeof t.confirmations === 'number' ? t.confirmations : 0,
    };
  }

  /**
   * Submits a transaction; resolves with its txid. Against stock bcoin this only means "received":
   * use `broadcast()` to know the transaction reached the mempool or a block.
   */
  async sendRawTransaction(hex: string, options?: RpcCallOptions): Promise<string> {
    return asString(await this.call('sendrawtransaction', [hex], options), 'sendrawtransaction');
  }

  async getRawMempool(options?: RpcCallOptions): Promise<string[]> {
    const r = asArray(await this.call('getrawmempool', [], options), 'getrawmempool');
    return r.map((t) => asString(t, 'getrawmempool[]'));
  }

  /** The mempool entry, or null if the transaction is not in the mempool. */
  async getMempoolEntry(txid: string, options?: RpcCallOptions): Promise<MempoolEntry | null> {
    const r = await this.#orNull(() => this.call('getmempoolentry', [txid], options));
    if (r === null) return null;
    const e = asObject(r, 'getmempoolentry');
    // Bitcoin Core: fees.base; older Core and bcoin: fee.
    const fees =
      typeof e.fees === 'object' && e.fees !== null
        ? (e.fees as { base?: unknown; descendant?: unknown })
        : {};
    const fee = typeof fees.base === 'string' ? fees.base : e.fee;
    const descendantFee =
      typeof fees.descendant === 'string'
        ? btcToSats(fees.descendant)
        : Number.isSafeInteger(e.descendantfees)
          ? BigInt(e.descendantfees as number)
          : undefined;
    const descendantVsize = e.descendantsize;
    return {
      height: asNumber(e.height, 'getmempoolentry.height'),
      time: asNumber(e.time, 'getmempoolentry.time'),
      fee: typeof fee === 'string' ? btcToSats(fee) : undefined,
      descendants:
        descendantFee !== undefined &&
        typeof descendantVsize === 'number' &&
        Number.isSafeInteger(descendantVsize) &&
        descendantVsize > 0
          ? { fee: descendantFee, vsize: descendantVsize }
          : undefined,
      depends: Array.isArray(e.depends)
        ? e.depends.map((t) => asString(t, 'getmempoolentry.depends[]'))
        : undefined,
    };
  }

  /**
   * `getmempooldescendants <txid>`: the txids of its in-mempool descendants (children, their
   * children…), or null if it is not in the mempool.
   */
  async getMempoolDescendants(txid: string, options?: RpcCallOptions): Promise<string[] | null> {
    const r = await this.#orNull(() => this.call('getmempooldescendants', [txid], options));
    if (r === null) return null;
    return asArray(r, 'getmempooldescendants').map((t) => asString(t, 'getmempooldescendants[]'));
  }

  /** Fee rate estimate for confirmation within `confTarget` blocks. */
  async estimateSmartFee(confTarget: number, options?: RpcCallOptions): Promise<FeeEstimate> {
    const e = asObject(
      await this.call('estimatesmartfee', [confTarget], options),
      'estimatesmartfee',
    );
    // Bitcoin Core: feerate (absent when no estimate); bcoin: fee (-1 when no estimate).
    const rate = e.feerate ?? e.fee;
    const satPerKvB =
      typeof rate === 'string' && !rate.startsWith('-') ? btcToSats(rate) : undefined;
    return { satPerKvB, blocks: typeof e.blocks === 'number' ? e.blocks : confTarget };
  }

  /** Mempool size and the fee rates it takes (`getmempoolinfo`). */
  async getMempoolInfo(options?: RpcCallOptions): Promise<MempoolInfo> {
    const i = asObject(await this.call('getmempoolinfo', [], options), 'getmempoolinfo');
    const min = asString(i.mempoolminfee, 'getmempoolinfo.mempoolminfee');
    // bcoin's own answer has no minrelaytxfee: it is the same floor there.
    const relay = typeof i.minrelaytxfee === 'string' ? i.minrelaytxfee : min;
    return {
      size: asNumber(i.size, 'getmempoolinfo.size'),
      bytes: asNumber(i.bytes, 'getmempoolinfo.bytes'),
      mempoolMinFeeSatPerKvB: btcToSats(min),
      minRelayTxFeeSatPerKvB: btcToSats(relay),
    };
  }

  /**
   * Submits a child with its unconfirmed parents, parents first (`submitpackage`, Bitcoin Core
   * ≥ 28 and the embedded node). Resolves with the node's verdict also when the package was
   * refused (`packageMsg` other than `success`); rejects only on malformed input or transport
   * errors.
   */
  async submitPackage(
    hexes: readonly string[],
    options?: RpcCallOptions,
  ): Promise<SubmitPackageResult> {
    const r = asObject(await this.call('submitpackage', [hexes], options), 'submitpackage');
    const results = asObject(r['tx-results'], 'submitpackage.tx-results');
    const replaced = r['replaced-transactions'];
    return {
      packageMsg: asString(r.package_msg, 'submitpackage.package_msg'),
      txResults: Object.entries(results).map(([wtxid, v]) => {
        const t = asObject(v, 'submitpackage.tx-results[]');
        const fees =
          typeof t.fees === 'object' && t.fees !== null ? (t.fees as { base?: unknown }) : {};
        return {
          wtxid,
          txid: asString(t.txid, 'submitpackage.tx-results[].txid'),
          vsize: typeof t.vsize === 'number' ? t.vsize : undefined,
          fee: typeof fees.base === 'string' ? btcToSats(fees.base) : undefined,
          error: typeof t.error === 'string' ? t.error : undefined,
        };
      }),
      replacedTransactions: Array.isArray(replaced)
        ? replaced.map((t) => asString(t, 'submitpackage.replaced-transactions[]'))
        : [],
    };
  }

  /** An unspent output (mempool included unless `includeMempool` is false), or null. */
  async getTxOut(
    txid: string,
    vout: number,
    includeMempool = true,
    options?: RpcCallOptions,
  ): Promise<TxOut | null> {
    const r = await this.call('gettxout', [txid, vout, includeMempool], options);
    if (r === null || r === undefined) return null;
    const o = asObject(r, 'gettxout');
    const spk = asObject(o.scriptPubKey, 'gettxout.scriptPubKey');
    return {
      value: btcToSats(asString(o.value, 'gettxout.value')),
      confirmations: asNumber(o.confirmations, 'gettxout.confirmations'),
      scriptPubKey: asString(spk.hex, 'gettxout.scriptPubKey.hex'),
      coinbase: o.coinbase === true,
      bestBlock: asString(o.bestblock, 'gettxout.bestblock'),
    };
  }

  async getBlockchainInfo(options?: RpcCallOptions): Promise<BlockchainInfo> {
    const i = asObject(await this.call('getblockchaininfo', [], options), 'getblockchaininfo');
    const info = {
      chain: asString(i.chain, 'getblockchaininfo.chain'),
      blocks: asNumber(i.blocks, 'getblockchaininfo.blocks'),
      bestBlockHash: asString(i.bestblockhash, 'getblockchaininfo.bestblockhash'),
    };
    this.#health.height = info.blocks;
    return info;
  }

  async #call(
    method: string,
    params: readonly unknown[],
    options: RpcCallOptions,
    retryAuth: boolean,
    retryReset = true,
  ): Promise<unknown> {
    const timeoutMs = options.timeoutMs ?? this.#timeoutMs;
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
    const auth = await this.#auth(method);
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (auth) headers.authorization = auth;
    const id = ++this.#id;
    const body = JSON.stringify({ jsonrpc: '1.0', id, method, params });

    let status: number;
    let text: string;
    try {
      const res = await fetch(this.url, { method: 'POST', headers, body, signal });
      status = res.status;
      text = await res.text();
    } catch (err) {
      if (options.signal?.aborted) throw options.signal.reason;
      if (timeout.aborted) throw new RpcTimeoutError(method, timeoutMs);
      // A kept-alive connection the node closed as we reused it: the request never arrived
      // (Node's server drops idle sockets after 5 s, a busy client may reuse one a moment late).
      if (retryReset && isConnectionReset(err)) {
        return this.#call(method, params, options, retryAuth, false);
      }
      throw new RpcUnreachableError(method, this.url, describeFetchError(err), { cause: err });
    }

    if (status === 401 || status === 403) {
      if (retryAuth && this.#cookieFile) {
        // The node may have restarted with a new cookie.
        this.#authHeader = undefined;
        return this.#call(method, params, options, false);
      }
      throw new RpcAuthError(method, this.url, status);
    }
    let json: JsonRpcResponse;
    try {
      json = JSON.parse(text, keepAmountsExact) as JsonRpcResponse;
    } catch {
      throw new RpcResponseError(method, `HTTP ${status}, not JSON`);
    }
    if (typeof json !== 'object' || json === null) {
      throw new RpcResponseError(method, `HTTP ${status}, not a JSON-RPC response`);
    }
    if (json.error) {
      const code = typeof json.error.code === 'number' ? json.error.code : -1;
      const message = typeof json.error.message === 'string' ? json.error.message : 'unknown error';
      throw new RpcError(method, code, message);
    }
    if (!('result' in json)) {
      throw new RpcResponseError(method, `HTTP ${status}, no result in JSON-RPC response`);
    }
    return json.result;
  }

  async #auth(method: string): Promise<string | undefined> {
    if (this.#authHeader || !this.#cookieFile) return this.#authHeader;
    let cookie: string;
    try {
      cookie = (await readFile(this.#cookieFile, 'utf8')).trim();
    } catch (err) {
      throw new RpcUnreachableError(
        method,
        this.url,
        `cannot read cookie file ${this.#cookieFile} (${(err as Error).message})`,
        { cause: err },
      );
    }
    const colon = cookie.indexOf(':');
    if (colon < 0) {
      throw new RpcUnreachableError(method, this.url, `malformed cookie file ${this.#cookieFile}`);
    }
    this.#authHeader = basic(cookie.slice(0, colon), cookie.slice(colon + 1));
    return this.#authHeader;
  }

  /** Runs a lookup; "not found" (Core -5, bcoin -1 "... not found / not in mempool") → null. */
  async #orNull(lookup: () => Promise<unknown>): Promise<unknown> {
    try {
      return await lookup();
    } catch (err) {
      if (err instanceof RpcError && isNotFound(err)) return null;
      throw err;
    }
  }

  #setReachable(reachable: boolean): void {
    if (this.#health.reachable === reachable) return;
    this.#health.reachable = reachable;
    this.#health.since = Date.now();
    this.#log.info({ reachable }, reachable ? 'chain backend reachable' : 'chain backend down');
  }
}

function isNotFound(err: RpcError): boolean {
  return (
    err.code === RPC_INVALID_ADDRESS_OR_KEY || /not found|not in mempool/i.test(err.rpcMessage)
  );
}

function basic(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

/** JSON.parse reviver: BTC amounts keep their source text (Node ≥ 21 passes `context.source`). */
function keepAmountsExact(
  this: unknown,
  key: string,
  value: unknown,
  context?: { source?: string },
): unknown {
  if (typeof value === 'number' && AMOUNT_KEYS.has(key) && context?.source) return context.source;
  return value;
}

/** The connection was reset or closed under the request (not refused, not timed out). */
function isConnectionReset(err: unknown): boolean {
  const code = (err as { cause?: { code?: unknown } } | null)?.cause?.code;
  return code === 'ECONNRESET' || code === 'EPIPE' || code === 'UND_ERR_SOCKET';
}

function describeFetchError(err: unknown): string {
  const cause = (err as { cause?: { code?: unknown; message?: unknown } } | null)?.cause;
  if (typeof cause?.code === 'string') return cause.code;
  if (typeof cause?.message === 'string') return cause.message;
  return err instanceof Error ? err.message : String(err);
}

function malformed(what: string): RpcResponseError {
  return new RpcResponseError(what.split('.')[0] ?? what, `bad or missing ${what}`);
}

function asNumber(v: unknown, what: string): number {
  if (typeof v !== 'number') throw malformed(what);
  return v;
}

function asString(v: unknown, what: string): string {
  if (typeof v !== 'string') throw malformed(what);
  return v;
}

function asArray(v: unknown, what: string): unknown[] {
  if (!Array.isArray(v)) throw malformed(what);
  return v;
}

function asObject(v: unknown, what: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw malformed(what);
  return v as Record<string, unknown>;
}
