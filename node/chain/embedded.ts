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
 * A fee market like Bitcoin Core's (see {@link ./fee-market.ts}):
 * - a raisable minimum relay fee (`minRelayFeeRate`, `setMinRelayFeeRate`, dlcfd-only RPC
 *   `setmempoolminfee`): below it `sendrawtransaction` fails with -26 `min relay fee not met`;
 *   `getmempoolinfo` answers Core's shape;
 * - blocks are assembled by ancestor (package) fee rate as Core's `addPackageTxs` does, up to
 *   `blockMaxWeight`, nothing below `blockMinTxFeeRate`: a low-fee parent with a high-fee child
 *   (CPFP) is mined as one package;
 * - `estimatesmartfee` answers from the blocks this node mined (rule in `estimateFee`);
 * - `submitpackage` (Core 28: child with its unconfirmed parents) lets a child pay for a parent
 *   below the minimum fee;
 * - replacement (full-RBF, BIP125 rules 3–6, as Core 28 by default) — stock bcoin refuses any
 *   double spend;
 * - a fee spike (`setFeeSpike`, dlcfd-only RPC `setfeespike`): before each block the node fills
 *   the mempool with its own filler transactions paying the spike rate, so blocks are full unless
 *   something pays more.
 *
 * Why this is one file (1,300+ lines): it is one thing, a bcoin node patched into Bitcoin Core's
 * behaviour. The RPC handlers, block assembly, the faucet, replacement, packages and the fee
 * spike all act on the same bcoin node, mempool and miner through shared private state (the
 * serial mining queue every miner and handler goes through, the faucet and filler keys and their
 * coins, the per-block fee records `estimatesmartfee` reads), and they patch bcoin's internals
 * (its mempool verify hook, its block template, its RPC table) in ways that only hold together.
 * Split into classes, each part would need the others' internals. What is pure lives beside it:
 * the fee market (fee-market.ts: package selection, estimation) and the RPC edge (embedded-rpc.ts:
 * Core's error codes and amounts, `submitpackage` decoding and answers). Test-only: the node's
 * runtime never loads it except for `dlcfd chain`.
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
import type {
  Address,
  BlockTemplate,
  Coin,
  FullNode,
  KeyRing,
  MempoolEntry,
  MTX,
  Script,
  TX,
} from 'bcoin';
import bcoin from 'bcoin';
import { type Logger, pino } from 'pino';
import { InvalidAmountError } from '../../model/errors.ts';
import { btcToSats } from './amount.ts';
import { COOKIE_FILE, COOKIE_USER } from './constants.ts';
import {
  type Accepted,
  formatBtc,
  NodeRpcError,
  PackagePolicyError,
  packageFailure,
  parsePackage,
  RPC_DESERIALIZATION_ERROR,
  RPC_INVALID_ADDRESS_OR_KEY,
  RPC_INVALID_PARAMETER,
  RPC_TYPE_ERROR,
  RPC_VERIFY_ALREADY_IN_CHAIN,
  RPC_VERIFY_ERROR,
  RPC_VERIFY_REJECTED,
  type SubmitPackageResult,
  satsToBtcNumber,
  toNodeRpcError,
  unevaluated,
} from './embedded-rpc.ts';
import { ChainNotRunningError, FaucetEmptyError, InvalidAddressError } from './errors.ts';
import {
  type BlockFeeStats,
  COINBASE_RESERVED_WEIGHT,
  DEFAULT_MIN_RELAY_SAT_PER_KVB,
  estimateFee,
  FULL_BLOCK_SHARE,
  feeFor,
  feeRate,
  MAX_BLOCK_WEIGHT,
  type PoolTx,
  type Selection,
  satPerKvBToBtc,
  satPerVbToKvB,
  selectPackages,
} from './fee-market.ts';

/**
 * Height at which segwit is active on a fresh regtest chain: BIP9 moves DEFINED → STARTED →
 * LOCKED_IN → ACTIVE one 144-block window at a time, so blocks from 432 (3 × 144) on enforce it.
 */
export const SEGWIT_ACTIVE_HEIGHT = 432;

/** Loopback: the node's RPC can mine and spend the faucet, so it is never exposed by default. */
export const DEFAULT_RPC_HOST = '127.0.0.1';

export type { SubmitPackageResult } from './embedded-rpc.ts';
export { COOKIE_FILE, COOKIE_USER };

/** Faucet private key file inside the data dir, so a persisted chain keeps its faucet coins. */
const FAUCET_KEY_FILE = 'faucet.key';

/** Filler key file (fee spike) inside the data dir: kept apart from the faucet's coins. */
const FILLER_KEY_FILE = 'filler.key';

/**
 * Faucet fee rate in sat/kvB: 2 sat/vB, above the default 1 sat/vB minimum relay fee. Raised to
 * the minimum relay fee, and above a fee spike, so a funding payment is accepted and confirms in
 * the next block.
 */
const FAUCET_FEE_RATE_SAT_PER_KVB = 2_000;

/** Core's `-incrementalrelayfee` (BIP125 rule 4), sat/kvB. */
const INCREMENTAL_RELAY_SAT_PER_KVB = 1_000;

/** BIP125 rule 5: at most this many transactions replaced (with descendants) at once. */
const MAX_REPLACEMENT_CANDIDATES = 100;

/** Consensus sigop budget of a block, minus what bcoin reserves for the coinbase. */
const MAX_BLOCK_SIGOPS_FOR_TXS = 80_000 - 400;

/** Value of each burn output a filler transaction pads itself with (above the P2WPKH dust). */
const FILLER_BURN_SATS = 330;

/** Weight of a filler without burn outputs: P2WPKH in, P2WPKH out, 72-byte signature. */
const FILLER_MIN_WEIGHT = 438;

/** vbytes a P2WPKH output adds. */
const P2WPKH_OUTPUT_VBYTES = 31;

/** Most burn outputs one filler carries (keeps one filler ~3,200 vB at most). */
const MAX_FILLER_BURNS = 100;

/** A filler coin is split off the faucet with enough for this many fillers of the largest size. */
const FILLER_COIN_USES = 20;

/** No amount can exceed the 21M BTC supply; also keeps sats inside bcoin's Number arithmetic. */
const MAX_MONEY_SATS = 21_000_000n * 100_000_000n;

// Bitcoin Core RPC error codes (src/rpc/protocol.h).
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
  /**
   * Minimum relay fee rate in sat/vB (Core's `-minrelaytxfee`, here also the mempool min fee):
   * `sendrawtransaction` refuses a transaction paying less with -26 `min relay fee not met`.
   * Raisable at run time ({@link EmbeddedChain.setMinRelayFeeRate}). @default 1
   */
  minRelayFeeRate?: number | bigint;
  /** Block weight limit used when mining (Core's `-blockmaxweight`). @default 4_000_000 */
  blockMaxWeight?: number;
  /** Packages paying less are not mined, in sat/vB (Core's `-blockmintxfee`). @default 1 */
  blockMinTxFeeRate?: number | bigint;
  /** Start with a fee spike (see {@link EmbeddedChain.setFeeSpike}). @default none */
  feeSpike?: FeeSpike;
  /** Logger; bcoin's own logging is off. @default silent */
  logger?: Logger;
}

/** A fee spike: every block the chain mines is filled by filler transactions paying `rate`. */
export interface FeeSpike {
  /** Filler fee rate, sat/vB. */
  rate: number | bigint;
  /** Filler vbytes per block. @default the whole block (`(blockMaxWeight - 4000) / 4`) */
  vbytesPerBlock?: number;
}

/** Where a funding payment landed. */
export interface FaucetPayment {
  txid: string;
  vout: number;
}

/** bcoin's mempool rejection (`VerifyError`): reason is the BIP61 reject reason. */
interface BcoinVerifyError {
  type: 'VerifyError';
  code: string;
  reason: string;
  message: string;
}

/** Thrown from bcoin's `Mempool#verify` hook: bcoin handles it as its own `VerifyError`. */
class MinFeeVerifyError extends Error {
  readonly type = 'VerifyError';
  readonly code = 'insufficientfee';
  readonly reason = 'min relay fee not met';
  readonly score = 0;
  readonly malleated = false;
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
  readonly #filler: KeyRing;
  readonly #fillerAddress: Address;
  readonly #burnScript: Script;
  /** Minimum relay / mempool min fee, sat/kvB. */
  #minRelay: number;
  readonly #blockMaxWeight: number;
  readonly #blockMinFeeRate: number;
  #spike: { rate: number; vbytesPerBlock: number | undefined } | undefined;
  readonly #initialSpike: { rate: number; vbytesPerBlock: number | undefined } | undefined;
  /** Filler transactions (internal hash) the node put in its mempool. */
  readonly #fillers = new Set<string>();
  /** Faucet → filler key splits (internal hash) whose unconfirmed outputs fillers may spend. */
  readonly #splits = new Set<string>();
  /** Fee statistics of the blocks mined, oldest first. */
  #feeHistory: BlockFeeStats[] = [];
  /**
   * True only while the serial queue adds a package's transactions, a failed replacement's
   * evictees or a reorg's transactions: the mempool then takes them below the minimum relay fee
   * (never below 1 sat/vB). Nothing else can add meanwhile (all adds are serialised).
   */
  #bypassMinFee = false;
  /** Set by the block assembler for the block being mined. */
  #lastSelection: Selection | undefined;
  /** The transactions {@link EmbeddedChain.mineTransactions} puts in the block being mined. */
  #forced: BlockTemplate['items'] | undefined;
  #cookieFile: string | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  #timer: NodeJS.Timeout | undefined;
  #running = false;
  #stopping: Promise<void> | undefined;

  private constructor(
    node: FullNode,
    faucet: KeyRing,
    filler: KeyRing,
    auth: { user: string; password: string },
    options: EmbeddedChainOptions,
    log: Logger,
  ) {
    this.#node = node;
    this.#faucet = faucet;
    this.#faucetAddress = faucet.getAddress();
    this.#filler = filler;
    this.#fillerAddress = filler.getAddress();
    // Nobody holds this key: burn outputs (P2WPKH) are padding, never spent.
    const burn = bcoin.KeyRing.generate(true);
    burn.witness = true;
    this.#burnScript = bcoin.Script.fromAddress(burn.getAddress());
    this.#minRelay = satPerVbToKvB(options.minRelayFeeRate ?? 1, 'minRelayFeeRate');
    this.#blockMinFeeRate = satPerVbToKvB(options.blockMinTxFeeRate ?? 1, 'blockMinTxFeeRate');
    this.#blockMaxWeight = options.blockMaxWeight ?? MAX_BLOCK_WEIGHT;
    if (
      !Number.isSafeInteger(this.#blockMaxWeight) ||
      this.#blockMaxWeight < 2 * COINBASE_RESERVED_WEIGHT ||
      this.#blockMaxWeight > MAX_BLOCK_WEIGHT
    ) {
      throw new RangeError(`blockMaxWeight must be an integer in 8000..${MAX_BLOCK_WEIGHT}`);
    }
    // Validated now, applied once the initial blocks are mined (the faucet has nothing before).
    this.#initialSpike = options.feeSpike && this.#spikeOf(options.feeSpike);
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

    // Fees are checked by #accept (min relay fee, packages): turn off bcoin's free-tx policies.
    node.mempool.options.relayPriority = false;
    node.mempool.options.limitFree = false;
    const faucet = await loadKey(datadir, FAUCET_KEY_FILE);
    const filler = await loadKey(datadir, FILLER_KEY_FILE);
    const chain = new EmbeddedChain(node, faucet, filler, auth, options, log);
    node.miner.assemble = (attempt) => chain.#assemble(attempt);
    // Every way into the mempool (also stock bcoin's sendrawtransaction and REST) pays the floor.
    const verify = node.mempool.verify.bind(node.mempool);
    node.mempool.verify = async (entry, view) => {
      chain.#checkMinFee(entry);
      return verify(entry, view);
    };
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
      chain.#spike = chain.#initialSpike;
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
        if (this.#spike) await this.#topUpFillers(this.#spike);
        this.#lastSelection = undefined;
        // bcoin's miner calls our #assemble (installed at start) to choose the transactions.
        const block = await this.#node.miner.mineBlock(null, to);
        const entry = await this.#node.chain.add(block);
        if (!entry) throw new Error('mined block was not connected');
        this.#recordBlock(entry.height, this.#lastSelection);
        hashes.push(entry.rhash());
      }
      return hashes;
    });
  }

  /** The minimum relay fee rate (also the mempool min fee), sat/vB. */
  get minRelayFeeRate(): number {
    return this.#minRelay / 1000;
  }

  /**
   * Sets the minimum relay fee rate in sat/vB (fractions allowed): later transactions paying
   * less are refused (`min relay fee not met`); transactions already in the mempool stay.
   */
  setMinRelayFeeRate(satPerVb: number | bigint): void {
    this.#minRelay = satPerVbToKvB(satPerVb, 'minimum relay fee rate');
    this.#log.info({ satPerVb: this.minRelayFeeRate }, 'minimum relay fee set');
  }

  /**
   * Starts (or changes, or with `undefined` / rate 0 stops) a fee spike: before every block it
   * mines, the chain fills the block with its own filler transactions paying `rate` sat/vB
   * (funded from the faucet, held by a separate filler key), so the block is full unless
   * something pays more. Stopping removes the fillers still in the mempool.
   */
  setFeeSpike(spike: FeeSpike | undefined): Promise<void> {
    let next: { rate: number; vbytesPerBlock: number | undefined } | undefined;
    try {
      next = spike && this.#spikeOf(spike);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#serial(async () => {
      this.#spike = next;
      if (!next) this.#evictFillers();
      this.#log.info({ spike: next }, next ? 'fee spike set' : 'fee spike stopped');
    });
  }

  /** The current fee spike, if any (rate in sat/vB). */
  get feeSpike(): { rate: number; vbytesPerBlock: number | undefined } | undefined {
    return (
      this.#spike && { rate: this.#spike.rate / 1000, vbytesPerBlock: this.#spike.vbytesPerBlock }
    );
  }

  /**
   * Core 28's `submitpackage`: a child and its unconfirmed parents (parents first, at most 25
   * transactions), each fully validated. A parent below the minimum relay fee is accepted when
   * the package (the transactions not already in the mempool) pays the minimum on average;
   * nothing of a refused package stays in the mempool. Package RBF is not supported (a package
   * transaction that conflicts with the mempool is refused, as in Core 28 outside 1p1c).
   */
  submitPackage(rawTxs: readonly string[]): Promise<SubmitPackageResult> {
    let txs: TX[];
    try {
      txs = parsePackage(rawTxs);
    } catch (err) {
      if (err instanceof PackagePolicyError) {
        return this.#serial(async () => ({
          package_msg: err.message,
          'tx-results': unevaluated(err.txs),
          'replaced-transactions': [],
        }));
      }
      return Promise.reject(err);
    }
    return this.#serial(() => this.#submitPackage(txs));
  }

  /**
   * Mines one block holding exactly `rawTxs`, in order, whatever the mempool's policy says (fee
   * floor, standardness) — as a miner paid out of band would; Bitcoin Core's `generateblock`.
   * Consensus still applies: an invalid transaction makes the block invalid and nothing is mined.
   * Each transaction's inputs must be confirmed or in the mempool. Resolves with the block hash.
   */
  mineTransactions(rawTxs: readonly string[], address?: string): Promise<string> {
    let to: Address;
    let txs: TX[];
    try {
      to = address === undefined ? this.#faucetAddress : this.#parseAddress(address);
      txs = rawTxs.map((hex) => bcoin.TX.fromRaw(Buffer.from(hex, 'hex')));
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#serial(async () => {
      const items: BlockTemplate['items'] = [];
      for (const tx of txs) {
        const view = await this.#node.mempool.getCoinView(tx);
        if (!tx.hasCoins(view)) {
          throw new NodeRpcError(RPC_VERIFY_ERROR, 'bad-txns-inputs-missingorspent');
        }
        // Witness sigops count (VERIFY_P2SH | VERIFY_WITNESS), as in a block.
        const sigops = tx.getSigopsCost(view, (1 << 0) | (1 << 11));
        items.push({ tx, hash: tx.hash('hex'), fee: tx.getFee(view), sigops });
      }
      this.#forced = items;
      let block: Awaited<ReturnType<FullNode['miner']['mineBlock']>>;
      try {
        block = await this.#node.miner.mineBlock(null, to);
      } finally {
        this.#forced = undefined;
      }
      const entry = await this.#node.chain.add(block);
      if (!entry) throw new Error('mined block was not connected');
      this.#recordBlock(entry.height, undefined);
      return entry.rhash();
    });
  }

  /**
   * Disconnects block `hash` (RPC byte order) and every block above it, as Bitcoin Core's
   * `invalidateblock`: the disconnected blocks' transactions go back to the mempool (where still
   * valid), so tests can simulate a reorg. Stock bcoin leaves its mempool pointing at the old tip
   * (mining then refuses to work) and drops those transactions.
   *
   * With `toMempool: false` they do not come back: the reorg as a node sees it whose mempool never
   * held them again (it restarted, or the winning chain came from miners who never saw them), so
   * only whoever rebroadcasts them gets them confirmed again.
   */
  invalidate(hash: string, options: { toMempool?: boolean } = {}): Promise<void> {
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
      this.#feeHistory = this.#feeHistory.filter((b) => b.height < entry.height);
      await node.mempool.reset();
      node.mempool.tip = node.chain.tip.hash;
      await this.#belowMinFee(async () => {
        const back = options.toMempool === false ? [] : disconnected;
        for (const tx of [...back, ...pending]) {
          await node.mempool.addTX(tx).catch(() => undefined); // no longer valid: gone, as in Core
        }
      });
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
      const tx = await this.#payFromFaucet([{ script: bcoin.Script.fromAddress(to), sats }]);
      // bcoin's fund() appends change after our outputs and does not reorder.
      return { txid: tx.txid(), vout: 0 };
    });
  }

  /** Pays `outputs` from the faucet, adds the payment to the mempool. Inside the queue only. */
  async #payFromFaucet(outputs: { script: Script; sats: bigint }[]): Promise<TX> {
    const coins = await this.#node.getCoinsByAddress([this.#faucetAddress]);
    const mtx = new bcoin.MTX();
    for (const o of outputs) mtx.addOutput(o.script, Number(o.sats));
    const total = outputs.reduce((sum, o) => sum + o.sats, 0n);
    try {
      await mtx.fund(coins, {
        rate: this.#faucetFeeRate(),
        changeAddress: this.#faucetAddress,
        // Skips coinbase outputs younger than 100 blocks.
        height: this.#node.chain.height,
      });
    } catch (err) {
      throw new FaucetEmptyError(
        `faucet cannot pay ${total} sats: ${(err as Error).message} (mine more blocks)`,
      );
    }
    mtx.sign(this.#faucet);
    const tx = mtx.toTX();
    await this.#accept(tx);
    return tx;
  }

  /**
   * sat/kvB: 2 sat/vB, 1 sat/vB above the minimum relay fee (bcoin's size estimate may be a
   * vbyte short) and above a fee spike.
   */
  #faucetFeeRate(): number {
    return Math.max(
      FAUCET_FEE_RATE_SAT_PER_KVB,
      this.#minRelay + 1000,
      this.#spike ? this.#spike.rate + 1000 : 0,
    );
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
   * Core's code and reject reason. Already in the mempool counts as success, as in Core. A
   * transaction that spends what mempool transactions spend replaces them (and their
   * descendants) if it pays more by BIP125's rules; no signalling needed (full-RBF, Core 28).
   * Call it inside the serial queue only: the package path lowers the fee check for its own
   * transactions (`checkMinFee: false`) and nothing else may be added meanwhile.
   */
  async #accept(tx: TX, { checkMinFee = true } = {}): Promise<Accepted> {
    const mempool = this.#node.mempool;
    const hash = tx.hash('hex');
    const existing = mempool.getEntry(hash);
    if (existing) return { fee: existing.fee, vsize: existing.size, replaced: [], added: false };

    const view = await mempool.getCoinView(tx);
    let fee = 0;
    let vsize = tx.getVirtualSize();
    let evicted: MempoolEntry[] = [];
    if (tx.hasCoins(view)) {
      fee = tx.getFee(view);
      vsize = tx.getSigopsSize(tx.getSigopsCost(view, bcoin.Script.flags.STANDARD_VERIFY_FLAGS));
      // Core's PreChecks order: the fee floor, then the replacement rules.
      const floor = checkMinFee ? this.#minRelay : DEFAULT_MIN_RELAY_SAT_PER_KVB;
      const required = feeFor(floor, vsize);
      if (fee < required) {
        throw new NodeRpcError(RPC_VERIFY_REJECTED, `min relay fee not met, ${fee} < ${required}`);
      }
      evicted = this.#replacementCheck(tx, fee, vsize);
    }

    // Evict what it replaces; put it back if the replacement itself turns out invalid.
    const restore = evicted.map((e) => e.tx);
    for (const entry of evicted) {
      const still = mempool.getEntry(entry.hash('hex'));
      if (still) mempool.evictEntry(still);
    }
    let missing: string[] | null;
    try {
      missing = checkMinFee
        ? await mempool.addTX(tx)
        : await this.#belowMinFee(() => mempool.addTX(tx));
    } catch (err) {
      await this.#restore(restore);
      if (!isVerifyError(err)) throw err;
      if (err.reason === 'txn-already-in-mempool') {
        return { fee, vsize, replaced: [], added: false };
      }
      if (err.reason === 'txn-already-known') {
        throw new NodeRpcError(RPC_VERIFY_ALREADY_IN_CHAIN, 'Transaction already in block chain');
      }
      throw new NodeRpcError(
        RPC_VERIFY_REJECTED,
        err.message.startsWith(err.reason) ? err.message : err.reason,
      );
    }
    if (missing) {
      await this.#restore(restore);
      // bcoin would keep it as an orphan; Core rejects it outright.
      mempool.removeOrphan(hash);
      throw new NodeRpcError(RPC_VERIFY_ERROR, 'bad-txns-inputs-missingorspent');
    }
    for (const t of restore) this.#fillers.delete(t.hash('hex'));
    return { fee, vsize, replaced: restore.map((t) => t.txid()), added: true };
  }

  /**
   * BIP125 as Core 28 applies it (full-RBF): the mempool transactions `tx` would replace, with
   * their descendants, or a -26 `insufficient fee` / `too many potential replacements` /
   * `bad-txns-spends-conflicting-tx` error. Empty when `tx` conflicts with nothing.
   */
  #replacementCheck(tx: TX, fee: number, vsize: number): MempoolEntry[] {
    const mempool = this.#node.mempool;
    const direct = new Map<string, MempoolEntry>();
    for (const { prevout } of tx.inputs) {
      const spender = mempool.getSpent(prevout.hash, prevout.index);
      if (spender) direct.set(spender.hash('hex'), spender);
    }
    if (direct.size === 0) return [];
    const all = new Map(direct);
    for (const entry of direct.values()) {
      for (const d of mempool.getDescendants(entry)) all.set(d.hash('hex'), d);
    }
    const txid = tx.txid();
    if (all.size > MAX_REPLACEMENT_CANDIDATES) {
      throw new NodeRpcError(
        RPC_VERIFY_REJECTED,
        `too many potential replacements, rejecting replacement ${txid}; too many potential replacements (${all.size} > ${MAX_REPLACEMENT_CANDIDATES})`,
      );
    }
    for (const { prevout } of tx.inputs) {
      if (all.has(prevout.hash)) {
        throw new NodeRpcError(
          RPC_VERIFY_REJECTED,
          `bad-txns-spends-conflicting-tx, ${txid} spends conflicting transaction ${Buffer.from(prevout.hash, 'hex').reverse().toString('hex')}`,
        );
      }
    }
    // Rule 6: a higher fee rate than each transaction it directly replaces.
    const rate = feeRate(fee, vsize);
    for (const entry of direct.values()) {
      const old = feeRate(entry.fee, entry.size);
      if (rate <= old) {
        throw new NodeRpcError(
          RPC_VERIFY_REJECTED,
          `insufficient fee, rejecting replacement ${txid}; new feerate ${formatBtc(rate)} BTC/kvB <= old feerate ${formatBtc(old)} BTC/kvB`,
        );
      }
    }
    // Rules 3 and 4: pays for everything it evicts, plus its own relay at the incremental rate.
    let replacedFees = 0;
    for (const entry of all.values()) replacedFees += entry.fee;
    if (fee < replacedFees) {
      throw new NodeRpcError(
        RPC_VERIFY_REJECTED,
        `insufficient fee, rejecting replacement ${txid}, less fees than conflicting txs; ${formatBtc(fee)} < ${formatBtc(replacedFees)}`,
      );
    }
    const relay = feeFor(INCREMENTAL_RELAY_SAT_PER_KVB, vsize);
    if (fee - replacedFees < relay) {
      throw new NodeRpcError(
        RPC_VERIFY_REJECTED,
        `insufficient fee, rejecting replacement ${txid}, not enough additional fees to relay; ${formatBtc(fee - replacedFees)} < ${formatBtc(relay)}`,
      );
    }
    return [...all.values()];
  }

  /** Puts back transactions evicted for a replacement that failed (parents first, best effort). */
  #restore(txs: TX[]): Promise<void> {
    return this.#belowMinFee(() => this.#readd(txs));
  }

  async #readd(txs: TX[]): Promise<void> {
    let pending = txs;
    while (pending.length > 0) {
      const left: TX[] = [];
      for (const tx of pending) {
        try {
          if (await this.#node.mempool.addTX(tx)) left.push(tx);
        } catch {
          // no longer valid: gone
        }
      }
      if (left.length === pending.length) break;
      for (const tx of left) this.#node.mempool.removeOrphan(tx.hash('hex'));
      pending = left;
    }
  }

  async #submitPackage(txs: TX[]): Promise<SubmitPackageResult> {
    const mempool = this.#node.mempool;
    const result: SubmitPackageResult = {
      package_msg: 'success',
      'tx-results': {},
      'replaced-transactions': [],
    };
    const added: TX[] = [];
    const accepted = new Map<string, Accepted>();
    const rollback = (): void => {
      for (const tx of [...added].reverse()) {
        const entry = mempool.getEntry(tx.hash('hex'));
        if (entry) mempool.evictEntry(entry);
      }
    };
    for (const tx of txs) {
      const inMempool = mempool.getEntry(tx.hash('hex')) !== undefined;
      for (const { prevout } of tx.inputs) {
        if (!inMempool && mempool.getSpent(prevout.hash, prevout.index)) {
          rollback();
          return packageFailure(txs, tx, 'bad-txns-inputs-spent', accepted);
        }
      }
      try {
        const a = await this.#accept(tx, { checkMinFee: false });
        accepted.set(tx.hash('hex'), a);
        if (a.added) added.push(tx);
      } catch (err) {
        rollback();
        if (!(err instanceof NodeRpcError)) throw err;
        return packageFailure(txs, tx, err.message, new Map());
      }
    }
    // The package pays the minimum on average (Core's package fee rate: new transactions only).
    let fee = 0;
    let vsize = 0;
    for (const tx of added) {
      const a = accepted.get(tx.hash('hex'))!;
      fee += a.fee;
      vsize += a.vsize;
    }
    if (added.length > 0 && fee < feeFor(this.#minRelay, vsize)) {
      rollback();
      return {
        package_msg: 'package-fee-too-low',
        'tx-results': unevaluated(txs),
        'replaced-transactions': [],
      };
    }
    const rate = satPerKvBToBtc(feeRate(fee, vsize));
    const includes = added.map((t) => t.wtxid());
    for (const tx of txs) {
      const a = accepted.get(tx.hash('hex'))!;
      const base = satsToBtcNumber(a.fee);
      result['tx-results'][tx.wtxid()] = {
        txid: tx.txid(),
        vsize: a.vsize,
        fees: a.added
          ? { base, 'effective-feerate': rate, 'effective-includes': includes }
          : { base },
      };
    }
    return result;
  }

  /**
   * Chooses the block's transactions by ancestor fee rate (replaces bcoin's `Miner#assemble`,
   * which orders single transactions by their own rate and so never mines CPFP first).
   */
  #assemble(attempt: BlockTemplate): void {
    if (this.#forced) {
      for (const item of this.#forced) {
        attempt.items.push(item);
        attempt.weight += item.tx.getWeight();
        attempt.sigops += item.sigops;
        attempt.fees += item.fee;
      }
      attempt.refresh();
      return;
    }
    const mempool = this.#node.mempool;
    if (mempool.tip !== this.#node.chain.tip.hash) {
      throw new Error('Mempool/chain tip mismatch! Unsafe to create block.');
    }
    const selection = selectPackages(this.#poolTxs(attempt.height, attempt.locktime), {
      maxWeight: this.#blockMaxWeight - COINBASE_RESERVED_WEIGHT,
      maxSigops: MAX_BLOCK_SIGOPS_FOR_TXS,
      minFeeRate: this.#blockMinFeeRate,
    });
    for (const t of selection.txs) {
      const entry = mempool.map.get(t.id)!;
      attempt.items.push({ tx: entry.tx, hash: t.id, fee: t.fee, sigops: t.sigops });
    }
    attempt.weight += selection.weight;
    attempt.sigops += selection.sigops;
    attempt.fees += selection.fees;
    attempt.refresh();
    this.#lastSelection = selection;
  }

  #poolTxs(height: number, locktime: number): PoolTx[] {
    const mempool = this.#node.mempool;
    const pool: PoolTx[] = [];
    for (const [id, entry] of mempool.map) {
      const tx = entry.tx;
      const parents = new Set<string>();
      for (const { prevout } of tx.inputs) {
        if (mempool.map.has(prevout.hash)) parents.add(prevout.hash);
      }
      pool.push({
        id,
        weight: tx.getWeight(),
        vsize: entry.size,
        fee: entry.getDeltaFee(),
        sigops: entry.sigops,
        parents: [...parents],
        eligible: tx.isFinal(height, locktime),
      });
    }
    return pool;
  }

  #recordBlock(height: number, selection: Selection | undefined): void {
    const weight = COINBASE_RESERVED_WEIGHT + (selection?.weight ?? 0);
    const rates = selection?.packageRates ?? [];
    this.#feeHistory.push({
      height,
      full: weight >= FULL_BLOCK_SHARE * this.#blockMaxWeight,
      minPackageRate: rates.length > 0 ? Math.min(...rates) : undefined,
    });
    if (this.#feeHistory.length > 1_000)
      this.#feeHistory.splice(0, this.#feeHistory.length - 1_000);
    for (const id of this.#splits) if (!this.#node.mempool.map.has(id)) this.#splits.delete(id);
  }

  /** The mempool's fee floor (installed into bcoin's `Mempool#verify`). */
  #checkMinFee(entry: MempoolEntry): void {
    const floor = this.#bypassMinFee ? DEFAULT_MIN_RELAY_SAT_PER_KVB : this.#minRelay;
    const required = feeFor(floor, entry.size);
    if (entry.fee < required) {
      throw new MinFeeVerifyError(`min relay fee not met, ${entry.fee} < ${required}`);
    }
  }

  /** Runs `fn` with the minimum relay fee check lowered to 1 sat/vB (see `#bypassMinFee`). */
  async #belowMinFee<T>(fn: () => Promise<T>): Promise<T> {
    this.#bypassMinFee = true;
    try {
      return await fn();
    } finally {
      this.#bypassMinFee = false;
    }
  }

  #spikeOf(spike: FeeSpike): { rate: number; vbytesPerBlock: number | undefined } | undefined {
    const rate = satPerVbToKvB(spike.rate, 'fee spike rate');
    if (rate === 0) return undefined;
    const vbytes = spike.vbytesPerBlock;
    if (vbytes !== undefined && (!Number.isSafeInteger(vbytes) || vbytes <= 0)) {
      throw new RangeError('vbytesPerBlock must be a positive integer');
    }
    return { rate, vbytesPerBlock: vbytes };
  }

  /** Removes the filler transactions still in the mempool (their coins become spendable again). */
  #evictFillers(): void {
    const mempool = this.#node.mempool;
    for (const id of this.#fillers) {
      const entry = mempool.getEntry(id);
      if (entry) mempool.evictEntry(entry);
    }
    this.#fillers.clear();
  }

  /**
   * Before a block under a fee spike: replaces last block's leftover fillers with fresh ones so
   * that what pays more than the spike plus the fillers fills the block (or `vbytesPerBlock`)
   * to within one output's weight, leaving no room for anything paying less.
   */
  async #topUpFillers(spike: { rate: number; vbytesPerBlock: number | undefined }): Promise<void> {
    this.#evictFillers();
    const room = this.#blockMaxWeight - COINBASE_RESERVED_WEIGHT;
    const capacity = Math.min(room, (spike.vbytesPerBlock ?? room) * 4);
    // Big enough that half of one plus 124 WU is still at most one (see the loop below).
    const maxFillerVb = Math.min(
      110 + MAX_FILLER_BURNS * P2WPKH_OUTPUT_VBYTES,
      Math.max(300, Math.floor(room / 4 / 40)),
    );
    const maxBurns = Math.floor((maxFillerVb - 110) / P2WPKH_OUTPUT_VBYTES);
    const perUse = feeFor(spike.rate, maxFillerVb + 1) + maxBurns * FILLER_BURN_SATS;
    const coinValue = Math.max(100_000, perUse * FILLER_COIN_USES);

    const height = this.#node.chain.height;
    const locktime = await this.#node.chain.getMedianTime(this.#node.chain.tip);
    const higher = (): number =>
      selectPackages(this.#poolTxs(height + 1, locktime), {
        maxWeight: room,
        maxSigops: MAX_BLOCK_SIGOPS_FOR_TXS,
        minFeeRate: spike.rate + 1,
      }).weight;

    let coins = await this.#fillerCoins(perUse + 1_000);
    const needed = Math.ceil(Math.max(0, capacity - higher()) / (maxFillerVb * 4)) + 2;
    if (coins.length < needed) {
      // Keep the split small next to the block so the fillers spending it still fit.
      const outputs = Math.max(
        1,
        Math.min(needed - coins.length + 4, Math.floor(room / 4 / 4 / P2WPKH_OUTPUT_VBYTES)),
      );
      const script = bcoin.Script.fromAddress(this.#fillerAddress);
      try {
        const split = await this.#payFromFaucet(
          Array.from({ length: outputs }, () => ({ script, sats: BigInt(coinValue) })),
        );
        this.#splits.add(split.hash('hex'));
        coins = await this.#fillerCoins(perUse + 1_000);
      } catch (err) {
        // The block is mined anyway, less full: a spike must not stop the chain.
        this.#log.warn({ err }, 'fee spike: the faucet cannot fund filler coins');
      }
    }

    let remaining = capacity - higher();
    const minWeight = FILLER_MIN_WEIGHT;
    const maxWeight = maxFillerVb * 4;
    for (const coin of coins) {
      if (remaining < minWeight) break;
      // Full-size fillers, then the last stretch in two about equal ones, so what is left over
      // is less than one burn output (124 WU): too little for any transaction paying less.
      const target =
        remaining >= maxWeight + minWeight
          ? maxWeight
          : remaining > maxWeight
            ? Math.floor(remaining / 2)
            : remaining;
      const burns = Math.max(
        0,
        Math.min(maxBurns, Math.floor((target - minWeight) / (P2WPKH_OUTPUT_VBYTES * 4))),
      );
      const tx = this.#fillerTx(coin, burns, spike.rate);
      try {
        await this.#accept(tx);
      } catch (err) {
        this.#log.warn({ err }, 'fee spike: filler refused');
        break;
      }
      this.#fillers.add(tx.hash('hex'));
      remaining -= tx.getWeight();
    }
    if (remaining >= minWeight) {
      this.#log.warn({ remaining }, 'fee spike: not enough filler coins to fill the block');
    }
  }

  /** Filler key coins a filler can spend: confirmed, or outputs of a pending faucet split. */
  async #fillerCoins(minValue: number): Promise<Coin[]> {
    const mempool = this.#node.mempool;
    const coins = await this.#node.getCoinsByAddress([this.#fillerAddress]);
    return coins.filter(
      (c) =>
        c.value >= minValue &&
        !mempool.isSpent(c.hash, c.index) &&
        (c.height !== -1 || this.#splits.has(c.hash)),
    );
  }

  /** Spends `coin` back to the filler key with `burns` padding outputs, paying `rate` sat/kvB. */
  #fillerTx(coin: Coin, burns: number, rate: number): TX {
    const build = (fee: number): MTX => {
      const mtx = new bcoin.MTX();
      mtx.addCoin(coin);
      mtx.addOutput(this.#fillerAddress, coin.value - burns * FILLER_BURN_SATS - fee);
      for (let i = 0; i < burns; i++) mtx.addOutput(this.#burnScript, FILLER_BURN_SATS);
      mtx.sign(this.#filler);
      return mtx;
    };
    // A signature may be a byte longer on the second signing: price one vbyte more.
    const vsize = build(0).getVirtualSize();
    return build(Math.ceil((rate * (vsize + 1)) / 1000)).toTX();
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
        // Serialised with mining and funding: a package may be lowering the fee check.
        await this.#serial(() => this.#accept(tx)).catch((err: unknown) => {
          throw toNodeRpcError(err);
        });
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
    calls.getmempoolinfo = async () => {
      const mempool = this.#node.mempool;
      let bytes = 0;
      let fees = 0;
      for (const entry of mempool.map.values()) {
        bytes += entry.size;
        fees += entry.fee;
      }
      const min = satPerKvBToBtc(this.#minRelay);
      return {
        loaded: true,
        size: mempool.map.size,
        bytes,
        usage: mempool.getSize(),
        total_fee: satsToBtcNumber(fees),
        maxmempool: mempool.options.maxSize,
        mempoolminfee: min,
        minrelaytxfee: min,
        incrementalrelayfee: satPerKvBToBtc(INCREMENTAL_RELAY_SAT_PER_KVB),
        unbroadcastcount: 0,
        fullrbf: true,
      };
    };
    calls.estimatesmartfee = async (params) => {
      const [target] = params;
      if (typeof target !== 'number' || !Number.isInteger(target)) {
        throw new NodeRpcError(RPC_TYPE_ERROR, 'estimatesmartfee conf_target ( "estimate_mode" )');
      }
      if (target < 1 || target > 1008) {
        throw new NodeRpcError(
          RPC_INVALID_PARAMETER,
          'Invalid conf_target, must be between 1 and 1008',
        );
      }
      const estimate = estimateFee(this.#feeHistory, target, this.#minRelay);
      return estimate.satPerKvB === undefined
        ? { errors: ['Insufficient data or no feerate found'], blocks: estimate.blocks }
        : { feerate: satPerKvBToBtc(estimate.satPerKvB), blocks: estimate.blocks };
    };
    // dlcfd only (not in Bitcoin Core): raise or lower the minimum relay fee, sat/vB.
    calls.setmempoolminfee = async (params) => {
      const [rate] = params;
      if (typeof rate !== 'number') {
        throw new NodeRpcError(RPC_TYPE_ERROR, 'setmempoolminfee <sat/vB>');
      }
      try {
        this.setMinRelayFeeRate(rate);
      } catch (err) {
        throw toNodeRpcError(err);
      }
      return null;
    };
    // dlcfd only (not in Bitcoin Core): fill every mined block with fillers at <sat/vB>; 0 stops.
    calls.setfeespike = async (params) => {
      const [rate, vbytesPerBlock] = params;
      if (
        typeof rate !== 'number' ||
        (vbytesPerBlock !== undefined &&
          vbytesPerBlock !== null &&
          typeof vbytesPerBlock !== 'number')
      ) {
        throw new NodeRpcError(RPC_TYPE_ERROR, 'setfeespike <sat/vB> [vbytes_per_block]');
      }
      try {
        await this.setFeeSpike(
          typeof vbytesPerBlock === 'number' ? { rate, vbytesPerBlock } : { rate },
        );
      } catch (err) {
        throw toNodeRpcError(err);
      }
      return null;
    };
    calls.submitpackage = async (params) => {
      const [rawTxs] = params;
      if (!Array.isArray(rawTxs)) {
        throw new NodeRpcError(
          RPC_TYPE_ERROR,
          'submitpackage ["rawtx",...] ( maxfeerate maxburnamount )',
        );
      }
      try {
        return await this.submitPackage(rawTxs);
      } catch (err) {
        throw toNodeRpcError(err);
      }
    };
    calls.generateblock = async (params) => {
      const [address, txs] = params;
      if (
        typeof address !== 'string' ||
        !Array.isArray(txs) ||
        !txs.every((t) => typeof t === 'string' && /^([0-9a-fA-F]{2})+$/.test(t))
      ) {
        // Core also takes txids of mempool transactions; here only raw transactions.
        throw new NodeRpcError(RPC_TYPE_ERROR, 'generateblock "output" ["rawtx",...]');
      }
      try {
        return { hash: await this.mineTransactions(txs as string[], address) };
      } catch (err) {
        throw toNodeRpcError(err);
      }
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

/** A key (faucet, filler): persisted in the data dir (0600) so restarts keep the coins; else fresh. */
async function loadKey(datadir: string | undefined, name: string): Promise<KeyRing> {
  let ring: KeyRing;
  if (!datadir) {
    ring = bcoin.KeyRing.generate(true);
  } else {
    const file = join(datadir, name);
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
