/**
 * The one chain follower: reads the node's tip, finds the fork point of a reorg, and hands each
 * consumer its disconnected and connected blocks in chain order; indexes the mempool by the
 * outpoints its transactions spend. The wallet and the chain monitor both follow the chain
 * through it (the daemon gives them one instance, so a block or a mempool transaction is fetched
 * once for both).
 *
 * Each consumer keeps its own cursor (its last applied height and the hashes of its recent
 * blocks), in its own storage: the wallet scans from its birthday, the monitor from where it
 * started watching, and either resumes where it stopped after a restart. The follower holds no
 * state of its own beyond caches.
 *
 * @example
 * const follower = new ChainFollower({ rpc });
 * const tip = await follower.tip({ signal });
 * await follower.follow(consumer, tip, { signal });   // disconnect…, connect… up to tip
 * const mempool = await follower.mempool({ signal }); // txids, spends, on-demand raw hex
 */
import { Block, Transaction } from 'bitcoinjs-lib';
import { ReorgTooDeepError } from './errors.ts';
import type { BitcoinRpc, RpcCallOptions } from './rpc.ts';

/** What the follower needs from a chain backend (Bitcoin Core's RPC or the embedded node). */
export type FollowerRpc = Pick<
  BitcoinRpc,
  'getBlockCount' | 'getBlockHash' | 'getBlockHex' | 'getRawMempool' | 'getRawTransaction'
>;

/** A block by height and hash (display hex). */
export interface BlockRef {
  height: number;
  hash: string;
}

/**
 * One consumer of the chain. It says where it stands; the follower calls `disconnect` for each of
 * its blocks no longer on the node's chain (highest first) and `connect` for each new block
 * (lowest first), awaiting each, so the consumer can persist its progress as it goes.
 */
export interface BlockConsumer {
  /** Last applied height. */
  height(): number;
  /** Hash of the applied block at `height`, if the consumer still remembers it. */
  hashAt(height: number): string | undefined;
  /** Heights at or below this are taken as given, never compared (the wallet's birthday − 1). */
  readonly floor?: number;
  disconnect(ref: BlockRef): void | Promise<void>;
  connect(ref: BlockRef, block: Block): void | Promise<void>;
}

/** What {@link ChainFollower.follow} did. */
export interface FollowResult {
  disconnected: number;
  connected: number;
}

/** The mempool as last listed: txids, and which outpoints each spends. */
export interface MempoolView {
  readonly txids: readonly string[];
  /** Spent outpoint (`<txid>:<vout>`) → the mempool txid spending it. */
  readonly spentBy: ReadonlyMap<string, string>;
  /** False if more transactions were listed than {@link MEMPOOL_FETCH_LIMIT} lets one call read. */
  readonly complete: boolean;
  /** What an indexed transaction spends (outpoints) and pays to (output scripts, hex). */
  entry(txid: string): MempoolEntry | undefined;
  /** The raw transaction (hex), from this listing or the node; null if it left the mempool. */
  hex(txid: string, options?: RpcCallOptions): Promise<string | null>;
}

/**
 * Mempool transactions fetched per {@link ChainFollower.mempool} call to index their inputs.
 * Bounds a call on a big mempool (one RPC each); the rest are fetched on the following calls.
 */
export const MEMPOOL_FETCH_LIMIT = 1_000;

/** Blocks kept parsed, so consumers following the same tip read each block once. */
const BLOCK_CACHE_SIZE = 16;

/** Rounds of walk-back and walk-forward in one `follow` when the chain moves under it. */
const FOLLOW_ROUNDS = 3;

/** An indexed mempool transaction. */
export interface MempoolEntry {
  readonly spends: readonly string[];
  readonly scripts: readonly string[];
}

/** Follows the node's chain for any number of consumers; see the module documentation. */
export class ChainFollower {
  readonly #rpc: FollowerRpc;
  readonly #blocks = new Map<string, Block>();
  readonly #mempool = new Map<string, MempoolEntry>();

  constructor(options: { rpc: FollowerRpc }) {
    this.#rpc = options.rpc;
  }

  /** The node's tip height. */
  tip(options: RpcCallOptions = {}): Promise<number> {
    return this.#rpc.getBlockCount(options);
  }

  /** The node's block hash at `height`. */
  hashAt(height: number, options: RpcCallOptions = {}): Promise<string> {
    return this.#rpc.getBlockHash(height, options);
  }

  /** The parsed block `hash` (cached: do not modify it). */
  async block(hash: string, options: RpcCallOptions = {}): Promise<Block> {
    const cached = this.#blocks.get(hash);
    if (cached) return cached;
    const block = Block.fromHex(await this.#rpc.getBlockHex(hash, options));
    this.#blocks.set(hash, block);
    for (const key of this.#blocks.keys()) {
      if (this.#blocks.size <= BLOCK_CACHE_SIZE) break;
      this.#blocks.delete(key);
    }
    return block;
  }

  /**
   * Brings `consumer` to `tip`: disconnects its blocks above the fork point, then connects the
   * node's blocks one at a time. Throws {@link ReorgTooDeepError} if the fork is below the hashes
   * the consumer remembers. If the chain moves again meanwhile it starts over, a few times; what
   * is left is for the next call.
   */
  async follow(
    consumer: BlockConsumer,
    tip: number,
    options: RpcCallOptions = {},
  ): Promise<FollowResult> {
    const result: FollowResult = { disconnected: 0, connected: 0 };
    for (let round = 0; round < FOLLOW_ROUNDS; round++) {
      result.disconnected += await this.#rollBack(consumer, tip, options);
      const { connected, moved } = await this.#rollForward(consumer, tip, options);
      result.connected += connected;
      if (!moved) break;
    }
    return result;
  }

  /**
   * Lists the mempool and indexes the inputs of transactions not seen before (up to
   * {@link MEMPOOL_FETCH_LIMIT} per call). The index is kept between calls.
   */
  async mempool(options: RpcCallOptions = {}): Promise<MempoolView> {
    const txids = await this.#rpc.getRawMempool(options);
    const current = new Set(txids);
    for (const txid of this.#mempool.keys()) if (!current.has(txid)) this.#mempool.delete(txid);
    const hexes = new Map<string, string>();
    const left = new Set<string>();
    let fetched = 0;
    for (const txid of txids) {
      if (this.#mempool.has(txid)) continue;
      if (fetched++ >= MEMPOOL_FETCH_LIMIT) break;
      const hex = await this.#rpc.getRawTransaction(txid, options);
      if (hex === null) {
        left.add(txid); // left the mempool meanwhile
        continue;
      }
      hexes.set(txid, hex);
      const tx = Transaction.fromHex(hex);
      this.#mempool.set(txid, {
        spends: tx.ins.map((input) => `${toTxid(input.hash)}:${input.index}`),
        scripts: tx.outs.map((out) => Buffer.from(out.script).toString('hex')),
      });
    }
    // From this listing's own entries: another consumer's call may change the index meanwhile.
    const entries = new Map<string, MempoolEntry>();
    for (const txid of txids) {
      const entry = this.#mempool.get(txid);
      if (entry) entries.set(txid, entry);
    }
    const spentBy = new Map<string, string>();
    for (const [txid, entry] of entries) {
      for (const op of entry.spends) spentBy.set(op, txid);
    }
    const rpc = this.#rpc;
    return {
      txids,
      spentBy,
      complete: txids.every((txid) => entries.has(txid) || left.has(txid)),
      entry: (txid) => entries.get(txid),
      hex: async (txid, opts = options) => hexes.get(txid) ?? rpc.getRawTransaction(txid, opts),
    };
  }

  /**
   * Reads the blocks `from`..`to` (the known hash at a height, else the node's) and hands each to
   * `onBlock`, in order: a rescan for watches added after their transaction confirmed.
   */
  async scan(
    from: number,
    to: number,
    hashAt: (height: number) => string | undefined,
    options: RpcCallOptions,
    onBlock: (ref: BlockRef, block: Block) => void | Promise<void>,
  ): Promise<void> {
    for (let height = from; height <= to; height++) {
      const hash = hashAt(height) ?? (await this.#rpc.getBlockHash(height, options));
      await onBlock({ height, hash }, await this.block(hash, options));
    }
  }

  /** Forgets the mempool index (nothing needs it now). */
  clearMempool(): void {
    this.#mempool.clear();
  }

  async #rollBack(consumer: BlockConsumer, tip: number, options: RpcCallOptions): Promise<number> {
    const floor = consumer.floor ?? Number.NEGATIVE_INFINITY;
    let count = 0;
    for (;;) {
      const height = consumer.height();
      if (height <= floor) return count;
      const known = consumer.hashAt(height);
      if (known === undefined) throw new ReorgTooDeepError(height);
      if (height <= tip && (await this.#rpc.getBlockHash(height, options)) === known) return count;
      await consumer.disconnect({ height, hash: known });
      count++;
    }
  }

  async #rollForward(
    consumer: BlockConsumer,
    tip: number,
    options: RpcCallOptions,
  ): Promise<{ connected: number; moved: boolean }> {
    const floor = consumer.floor ?? Number.NEGATIVE_INFINITY;
    let connected = 0;
    while (consumer.height() < tip) {
      const height = consumer.height() + 1;
      const hash = await this.#rpc.getBlockHash(height, options);
      const block = await this.block(hash, options);
      const prev = block.prevHash ? toTxid(block.prevHash) : undefined;
      // The chain moved under us: walk back to the new fork point first.
      if (height - 1 > floor && prev !== consumer.hashAt(height - 1)) {
        return { connected, moved: true };
      }
      await consumer.connect({ height, hash }, block);
      connected++;
    }
    return { connected, moved: false };
  }
}

/**
 * The block holding `txid` on the chain as `view` knows it (up to `view.tip`, matching its
 * hashes), via the node's transaction index; undefined if not there (or no index).
 */
export async function locateTx(
  rpc: Pick<BitcoinRpc, 'getTransaction' | 'getBlock'>,
  txid: string,
  view: { tip: number; hashAt(height: number): string | undefined },
  options: RpcCallOptions = {},
): Promise<BlockRef | undefined> {
  const info = await rpc.getTransaction(txid, options);
  if (!info?.blockHash) return undefined;
  const block = await rpc.getBlock(info.blockHash, options);
  if (block.confirmations < 0 || block.height > view.tip) return undefined; // side chain / not yet
  const known = view.hashAt(block.height);
  if (known !== undefined && known !== block.hash) return undefined;
  return { height: block.height, hash: block.hash };
}

/** Txid display form (byte-reversed hex) of an internal-order hash. */
export function toTxid(hash: Uint8Array): string {
  return Buffer.from(hash).reverse().toString('hex');
}
