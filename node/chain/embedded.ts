/**
 * The embedded regtest chain: a bcoin 1.0.2 full node in this process, made to look like Bitcoin
 * Core's regtest to everything outside it. It validates every script, signature and BIP68 sequence
 * lock, serves Bitcoin Core compatible JSON-RPC on loopback, mines on demand or on an interval,
 * and pays out of a faucet key it mines to.
 *
 * Differences from stock bcoin that make it behave like bitcoind (see DESIGN.md):
 * - address prefixes are Bitcoin Core's regtest ones (bech32 `bcrt`, base58 111/196, WIF 239);
 * - segwit is active from the start (the chain is mined to {@link SEGWIT_ACTIVE_HEIGHT});
 * - `sendrawtransaction` validates before it answers and returns Core's error codes (stock bcoin
 *   answers with the txid before validating and drops a rejection silently);
 * - `gettxout <txid> <n> true` answers null for an output spent by a mempool transaction, as Core
 *   does (stock bcoin still returns the confirmed coin); with `false` it reads only the confirmed
 *   UTXO set, ignoring the mempool, as Core does;
 * - RPC auth checks user and password, with a Core-style cookie (`__cookie__:<hex>`) by default;
 * - `sendtoaddress <address> <btc>` pays from the faucet; `generatetoaddress` is serialised with
 *   the auto-miner so two miners never race for the same tip.
 *
 * @example
 * const chain = await EmbeddedChain.start();          // in memory, free port, cookie auth
 * const { txid, vout } = await chain.fund('bcrt1q…', 100_000n);
 * await chain.mine(1);
 * const rpc = new BitcoinRpc({ url: chain.rpcUrl, ...chain.rpcAuth });
 * await chain.stop();
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Address, FullNode, KeyRing, TX } from 'bcoin';
import bcoin from 'bcoin';
import { type Logger, pino } from 'pino';
import { btcToSats } from './amount.ts';
import { COOKIE_FILE, COOKIE_USER } from './constants.ts';
import {
  ChainNotRunningError,
  FaucetEmptyError,
  InvalidAddressError,
  InvalidAmountError,
} from './errors.ts';

/**
 * Height at which segwit is active on a fresh regtest chain: BIP9 moves DEFINED → STARTED →
 * LOCKED_IN → ACTIVE one 144-block window at a time, so blocks from 432 (3 × 144) on enforce it.
 */
export const SEGWIT_ACTIVE_HEIGHT = 432;

/** Loopback: the node's RPC can mine and spend the faucet, so it is never exposed by default. */
export const DEFAULT_RPC_HOST = '127.0.0.1';

export { COOKIE_FILE, COOKIE_USER };

/** Faucet private key file inside the data dir, so a persisted chain keeps its faucet coins. */
const FAUCET_KEY_FILE = 'faucet.key';

/** Faucet fee rate in sat/kvB: 2 sat/vB, above bcoin's 1 sat/vB minimum relay fee. */
const FAUCET_FEE_RATE_SAT_PER_KVB = 2_000;

/** No amount can exceed the 21M BTC supply; also keeps sats inside bcoin's Number arithmetic. */
const MAX_MONEY_SATS = 21_000_000n * 100_000_000n;

// Bitcoin Core RPC error codes (src/rpc/protocol.h).
const RPC_MISC_ERROR = -1;
const RPC_TYPE_ERROR = -3;
const RPC_INVALID_ADDRESS_OR_KEY = -5;
const RPC_WALLET_INSUFFICIENT_FUNDS = -6;
const RPC_INVALID_PARAMETER = -8;
const RPC_DESERIALIZATION_ERROR = -22;
const RPC_VERIFY_ERROR = -25;
const RPC_VERIFY_REJECTED = -26;
const RPC_VERIFY_ALREADY_IN_CHAIN = -27;

export interface EmbeddedChainOptions {
  /** RPC port; 0 picks a free one (read it back from {@link EmbeddedChain.rpcUrl}). @default 0 */
  rpcPort?: number;
  /** RPC bind address. @default '127.0.0.1' */
  rpcHost?: string;
  /** RPC user; with `rpcPassword`, replaces the cookie. */
  rpcUser?: string;
  /** RPC password; with `rpcUser`, replaces the cookie. */
  rpcPassword?: string;
  /** Chain data directory; absent = in memory (gone on stop). */
  datadir?: string;
  /** Where to write the cookie. @default `<datadir>/.cookie`, or none when in memory */
  cookieFile?: string;
  /** Mine one block every this many seconds; 0 = only on demand. @default 0 */
  blockIntervalSeconds?: number;
  /** Mine up to this height at start (never fewer than needed for segwit). @default 432 */
  initialHeight?: number;
  /** Reject non-standard transactions, as Bitcoin Core's regtest does by default. @default true */
  requireStandard?: boolean;
  /**
   * Validate in `sendrawtransaction` and answer with Core's error codes. `false` keeps stock
   * bcoin behaviour (answer first, drop rejections silently); tests use it to prove that
   * `broadcast()` copes with such a node. @default true
   */
  validatingSendRawTransaction?: boolean;
  /** Logger; bcoin's own logging is off. @default silent */
  logger?: Logger;
}

/** Where a funding payment landed. */
export interface FaucetPayment {
  txid: string;
  vout: number;
}

/** Error shape bcoin's RPC dispatcher turns into `{code, message}` (it checks `type`). */
class NodeRpcError extends Error {
  readonly type = 'RPCError';
  readonly code: number;

  constructor(code: number, message: string) {
    super(message);
    this.code = code;
  }
}

/** bcoin's mempool rejection (`VerifyError`): reason is the BIP61 reject reason. */
interface BcoinVerifyError {
  type: 'VerifyError';
  code: string;
  reason: string;
}

function isVerifyError(err: unknown): err is BcoinVerifyError {
  return (err as { type?: unknown } | null)?.type === 'VerifyError';
}

/**
 * Switches bcoin's regtest to Bitcoin Core's address and key prefixes. Must run before a
 * regtest address is parsed or printed; idempotent. bcoin's `Network` objects share these
 * prefix objects, so this also fixes a regtest network bcoin already created.
 */
export function useBitcoinCoreRegtestPrefixes(): void {
  const regtest = bcoin.networks.regtest;
  if (!regtest) throw new Error('bcoin has no regtest network');
  regtest.addressPrefix.pubkeyhash = 111;
  regtest.addressPrefix.scripthash = 196;
  regtest.addressPrefix.bech32 = 'bcrt';
  regtest.keyPrefix.privkey = 239;
}

/** An embedded regtest full node. Create with {@link EmbeddedChain.start}. */
export class EmbeddedChain {
  readonly #node: FullNode;
  readonly #log: Logger;
  readonly #faucet: KeyRing;
  readonly #faucetAddress: Address;
  readonly #user: string;
  readonly #password: string;
  readonly #validatingSend: boolean;
  #cookieFile: string | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  #timer: NodeJS.Timeout | undefined;
  #running = false;
  #stopping: Promise<void> | undefined;

  private constructor(
    node: FullNode,
    faucet: KeyRing,
    auth: { user: string; password: string },
    options: EmbeddedChainOptions,
    log: Logger,
  ) {
    this.#node = node;
    this.#faucet = faucet;
    this.#faucetAddress = faucet.getAddress();
    this.#user = auth.user;
    this.#password = auth.password;
    this.#validatingSend = options.validatingSendRawTransaction ?? true;
    this.#log = log;
  }

  /**
   * Creates, opens and prepares a node: RPC listening, segwit active, faucet funded by every
   * coinbase, auto-mining if asked. Resolves once everything is ready to use.
   */
  static async start(options: EmbeddedChainOptions = {}): Promise<EmbeddedChain> {
    const log = (options.logger ?? pino({ level: 'silent' })).child({
      component: 'chain:embedded',
    });
    useBitcoinCoreRegtestPrefixes();
    const datadir = options.datadir;
    if (datadir) await mkdir(datadir, { recursive: true });

    const custom = options.rpcUser !== undefined || options.rpcPassword !== undefined;
    if (custom && (!options.rpcUser || !options.rpcPassword)) {
      throw new Error('rpcUser and rpcPassword go together (or neither, for cookie auth)');
    }
    const auth = custom
      ? { user: options.rpcUser!, password: options.rpcPassword! }
      : { user: COOKIE_USER, password: randomBytes(32).toString('hex') };

    const node = new bcoin.FullNode({
      network: 'regtest',
      memory: !datadir,
      ...(datadir ? { prefix: datadir } : {}),
      workers: false,
      logLevel: 'none',
      logConsole: false,
      logFile: false,
      // getrawtransaction for confirmed txs, and the faucet's coin lookup.
      indexTX: true,
      indexAddress: true,
      requireStandard: options.requireStandard ?? true,
      // Our wallet signals RBF; stock bcoin rejects that as non-standard.
      replaceByFee: true,
      listen: false,
      httpHost: options.rpcHost ?? DEFAULT_RPC_HOST,
      httpPort: options.rpcPort ?? 0,
      // bcoin checks only this password (also for its websocket API); we add the user check.
      apiKey: auth.password,
    });
    if (datadir) dropNullRangeOptions(node.chain.db.db.binding);
    // bcoin reports internal failures (e.g. a rejected relay) as 'error' events: never crash.
    node.on('error', (err: unknown) => log.debug({ err }, 'bcoin reported an error'));

    const faucet = await loadFaucetKey(datadir);
    const chain = new EmbeddedChain(node, faucet, auth, options, log);
    chain.#installAuth();
    chain.#installRpcMethods();
    await node.ensure(); // creates <datadir>/regtest for the on-disk databases
    try {
      await node.open();
    } catch (err) {
      // e.g. EADDRINUSE from the HTTP server, opened last: release what bcoin opened before it
      // (node.close() would stop at the HTTP server that never listened).
      for (const part of [node.pool, node.miner, node.mempool, node.chain]) {
        await part.close().catch(() => {});
      }
      throw err;
    }
    chain.#running = true;
    try {
      const target = Math.max(options.initialHeight ?? SEGWIT_ACTIVE_HEIGHT, SEGWIT_ACTIVE_HEIGHT);
      const missing = target - node.chain.height;
      if (missing > 0) await chain.mine(missing);
      if (!node.chain.state.hasWitness()) throw new Error('segwit is not active after mining');
      if (!custom) {
        chain.#cookieFile = options.cookieFile ?? (datadir && join(datadir, COOKIE_FILE));
        if (chain.#cookieFile) {
          await writeFile(chain.#cookieFile, `${COOKIE_USER}:${auth.password}`, { mode: 0o600 });
        }
      }
      chain.#startAutoMining(options.blockIntervalSeconds ?? 0);
    } catch (err) {
      await chain.stop();
      throw err;
    }
    log.info({ url: chain.rpcUrl, height: chain.height }, 'embedded regtest chain ready');
    return chain;
  }

  /** JSON-RPC endpoint, e.g. `http://127.0.0.1:18443`. Credentials are in {@link rpcAuth}. */
  get rpcUrl(): string {
    const { address, port } = this.#node.http.address();
    const host = address.includes(':') ? `[${address}]` : address;
    return `http://${host}:${port}`;
  }

  /** RPC credentials: the configured user/password, or `__cookie__` and the cookie secret. */
  get rpcAuth(): { user: string; password: string } {
    return { user: this.#user, password: this.#password };
  }

  /** The cookie file written at start (removed at stop); none with user/password auth. */
  get cookieFile(): string | undefined {
    return this.#cookieFile;
  }

  /** Current tip height. */
  get height(): number {
    return this.#node.chain.height;
  }

  /** The faucet's P2WPKH address; blocks mined without an explicit address pay it. */
  get faucetAddress(): string {
    return this.#faucetAddress.toString(this.#node.network);
  }

  /** True between a successful start and stop. */
  get running(): boolean {
    return this.#running;
  }

  /**
   * Mines `blocks` blocks (including mempool transactions) paying the coinbase to `address`,
   * or to the faucet so mining refills it. Resolves with the block hashes, oldest first.
   */
  mine(blocks = 1, address?: string): Promise<string[]> {
    if (!Number.isSafeInteger(blocks) || blocks < 0) {
      return Promise.reject(new RangeError(`cannot mine ${blocks} blocks`));
    }
    let to: Address;
    try {
      to = address === undefined ? this.#faucetAddress : this.#parseAddress(address);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#serial(async () => {
      const hashes: string[] = [];
      for (let i = 0; i < blocks; i++) {
        const block = await this.#node.miner.mineBlock(null, to);
        const entry = await this.#node.chain.add(block);
        if (!entry) throw new Error('mined block was not connected');
        hashes.push(entry.rhash());
      }
      return hashes;
    });
  }

  /**
   * Disconnects block `hash` (RPC byte order) and every block above it, as Bitcoin Core's
   * `invalidateblock`: the disconnected blocks' transactions go back to the mempool (where still
   * valid), so tests can simulate a reorg. Stock bcoin leaves its mempool pointing at the old tip
   * (mining then refuses to work) and drops those transactions.
   */
  invalidate(hash: string): Promise<void> {
    return this.#serial(async () => {
      const node = this.#node;
      const internal = Buffer.from(hash, 'hex').reverse().toString('hex');
      const entry = await node.chain.getEntry(internal);
      if (!entry) throw new NodeRpcError(RPC_INVALID_ADDRESS_OR_KEY, 'Block not found');
      const disconnected: TX[] = [];
      for (let h = entry.height; h <= node.chain.height; h++) {
        const block = await node.chain.getBlock((await node.chain.getHash(h))!);
        disconnected.push(...(block?.txs.slice(1) ?? []));
      }
      const pending = [...node.mempool.map.values()].map((e) => e.tx);
      await node.chain.invalidate(internal);
      await node.mempool.reset();
      node.mempool.tip = node.chain.tip.hash;
      for (const tx of [...disconnected, ...pending]) {
        await node.mempool.addTX(tx).catch(() => undefined); // no longer valid: gone, as in Core
      }
    });
  }

  /**
   * Pays `sats` to `address` from the faucet's matured coinbase coins. The payment is in the
   * mempool when this resolves; mine a block to confirm it.
   */
  fund(address: string, sats: bigint): Promise<FaucetPayment> {
    if (sats <= 0n || sats > MAX_MONEY_SATS) {
      return Promise.reject(new InvalidAmountError(`cannot fund ${sats} sats`));
    }
    let to: Address;
    try {
      to = this.#parseAddress(address);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#serial(async () => {
      const coins = await this.#node.getCoinsByAddress([this.#faucetAddress]);
      const mtx = new bcoin.MTX();
      mtx.addOutput(to, Number(sats));
      try {
        await mtx.fund(coins, {
          rate: FAUCET_FEE_RATE_SAT_PER_KVB,
          changeAddress: this.#faucetAddress,
          // Skips coinbase outputs younger than 100 blocks.
          height: this.#node.chain.height,
        });
      } catch (err) {
        throw new FaucetEmptyError(
          `faucet cannot pay ${sats} sats: ${(err as Error).message} (mine more blocks)`,
        );
      }
      mtx.sign(this.#faucet);
      const tx = mtx.toTX();
      await this.#accept(tx);
      // bcoin's fund() appends change after our output and does not reorder.
      return { txid: tx.txid(), vout: 0 };
    });
  }

  /** Stops auto-mining, waits for in-flight work, closes the node and removes the cookie. */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#queue.catch(() => {});
    if (this.#running) {
      this.#running = false;
      // bcoin queues a peer broadcast (with a 60 s timer) for transactions it could not validate;
      // with no peers it would hold the process open. Settle them, as a network disconnect does.
      for (const item of this.#node.pool.invMap.values()) item.resolve();
      await this.#node.close();
    }
    if (this.#cookieFile) await rm(this.#cookieFile, { force: true });
    this.#log.info('embedded regtest chain stopped');
  }

  /** Runs `fn` after everything queued before it: mining and funding never interleave. */
  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(() => {
      if (!this.#running) throw new ChainNotRunningError();
      return fn();
    });
    this.#queue = run.catch(() => {});
    return run;
  }

  #startAutoMining(seconds: number): void {
    if (!(seconds > 0)) return;
    const tick = (): void => {
      this.mine(1)
        .catch((err: unknown) => {
          if (this.#running) this.#log.warn({ err }, 'auto-mining failed');
        })
        .finally(() => {
          if (this.#running && this.#timer) this.#timer = setTimeout(tick, seconds * 1000);
        });
    };
    this.#timer = setTimeout(tick, seconds * 1000);
  }

  #parseAddress(address: string): Address {
    try {
      return bcoin.Address.fromString(address, this.#node.network);
    } catch (err) {
      throw new InvalidAddressError(
        `not a regtest address: '${address}' (${(err as Error).message})`,
      );
    }
  }

  /**
   * Adds `tx` to the mempool, validating it fully; throws a {@link NodeRpcError} with Bitcoin
   * Core's code and reject reason. Already in the mempool counts as success, as in Core.
   */
  async #accept(tx: TX): Promise<void> {
    let missing: string[] | null;
    try {
      missing = await this.#node.mempool.addTX(tx);
    } catch (err) {
      if (!isVerifyError(err)) throw err;
      if (err.reason === 'txn-already-in-mempool') return;
      if (err.reason === 'txn-already-known') {
        throw new NodeRpcError(RPC_VERIFY_ALREADY_IN_CHAIN, 'Transaction already in block chain');
      }
      throw new NodeRpcError(RPC_VERIFY_REJECTED, err.reason);
    }
    if (missing) {
      // bcoin would keep it as an orphan; Core rejects it outright.
      this.#node.mempool.removeOrphan(tx.hash('hex'));
      throw new NodeRpcError(RPC_VERIFY_ERROR, 'bad-txns-inputs-missingorspent');
    }
  }

  /** Adds a username check in front of bcoin's password-only basic auth. */
  #installAuth(): void {
    const http = this.#node.http;
    http.use(http.basicAuth({ username: this.#user, password: this.#password, realm: 'node' }));
    const hook = http.stack.pop();
    if (hook) http.stack.unshift(hook);
  }

  #installRpcMethods(): void {
    const calls = this.#node.rpc.calls;
    if (this.#validatingSend) {
      calls.sendrawtransaction = async (params) => {
        const [hex] = params;
        if (typeof hex !== 'string' || !/^([0-9a-fA-F]{2})+$/.test(hex)) {
          throw new NodeRpcError(RPC_TYPE_ERROR, 'Invalid hex string.');
        }
        let tx: TX;
        try {
          tx = bcoin.TX.fromRaw(Buffer.from(hex, 'hex'));
        } catch {
          throw new NodeRpcError(RPC_DESERIALIZATION_ERROR, 'TX decode failed');
        }
        await this.#accept(tx);
        return tx.txid();
      };
    }
    const gettxout = calls.gettxout;
    if (gettxout) {
      calls.gettxout = async (params, help) => {
        const [txid, n, includeMempool = true] = params;
        if (
          !help &&
          includeMempool !== false &&
          typeof txid === 'string' &&
          /^[0-9a-fA-F]{64}$/.test(txid) &&
          typeof n === 'number' &&
          this.#node.mempool.isSpent(Buffer.from(txid, 'hex').reverse().toString('hex'), n)
        ) {
          return null;
        }
        return gettxout.call(this.#node.rpc, params, help); // bweb calls handlers on the RPC
      };
    }
    calls.sendtoaddress = async (params) => {
      const [address, amount] = params;
      if (typeof address !== 'string') {
        throw new NodeRpcError(RPC_INVALID_ADDRESS_OR_KEY, 'Invalid address');
      }
      if (typeof amount !== 'string' && typeof amount !== 'number') {
        throw new NodeRpcError(RPC_TYPE_ERROR, 'Amount is not a number or string');
      }
      try {
        // A JSON number arrives as a double; its shortest decimal text is what the caller wrote.
        const payment = await this.fund(address, btcToSats(String(amount)));
        return payment.txid;
      } catch (err) {
        throw toNodeRpcError(err);
      }
    };
    calls.invalidateblock = async (params) => {
      const [hash] = params;
      if (typeof hash !== 'string' || !/^[0-9a-fA-F]{64}$/.test(hash)) {
        throw new NodeRpcError(RPC_TYPE_ERROR, 'invalidateblock "blockhash"');
      }
      await this.invalidate(hash);
      return null;
    };
    calls.generatetoaddress = async (params) => {
      const [blocks, address] = params;
      if (typeof blocks !== 'number' || typeof address !== 'string') {
        throw new NodeRpcError(RPC_TYPE_ERROR, 'generatetoaddress nblocks "address"');
      }
      try {
        return await this.mine(blocks, address);
      } catch (err) {
        throw toNodeRpcError(err);
      }
    };
  }
}

function toNodeRpcError(err: unknown): unknown {
  if (!(err instanceof Error)) return err;
  switch (err.name) {
    case 'InvalidAddressError':
      return new NodeRpcError(RPC_INVALID_ADDRESS_OR_KEY, err.message);
    case 'InvalidAmountError':
    case 'RangeError':
      return new NodeRpcError(RPC_INVALID_PARAMETER, err.message);
    case 'FaucetEmptyError':
      return new NodeRpcError(RPC_WALLET_INSUFFICIENT_FUNDS, err.message);
    case 'ChainNotRunningError':
      return new NodeRpcError(RPC_MISC_ERROR, err.message);
    default:
      return err;
  }
}

/**
 * bcoin's database layer (bdb 0.2) passes unset range bounds as `null`; leveldown 6 (the version
 * that loads on current Node) turns `null` into the key "null", so every on-disk range scan (e.g.
 * the address index the faucet reads) comes back empty. Drop the nulls before they reach it.
 */
function dropNullRangeOptions(binding: { iterator(options: Record<string, unknown>): unknown }) {
  const iterator = binding.iterator.bind(binding);
  binding.iterator = (options) => {
    const clean = { ...options };
    for (const k of ['gt', 'gte', 'lt', 'lte']) if (clean[k] == null) delete clean[k];
    return iterator(clean);
  };
}

/** The faucet key: persisted in the data dir (0600) so restarts keep the coins; else fresh. */
async function loadFaucetKey(datadir: string | undefined): Promise<KeyRing> {
  let ring: KeyRing;
  if (!datadir) {
    ring = bcoin.KeyRing.generate(true);
  } else {
    const file = join(datadir, FAUCET_KEY_FILE);
    let hex: string | undefined;
    try {
      hex = (await readFile(file, 'utf8')).trim();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    if (hex === undefined) {
      hex = randomBytes(32).toString('hex');
      await writeFile(file, hex, { mode: 0o600, flag: 'wx' });
    }
    ring = bcoin.KeyRing.fromPrivate(Buffer.from(hex, 'hex'), true);
  }
  ring.witness = true;
  return ring;
}
