/**
 * The wallet's ledger: its coins and transactions as the chain has them, kept up to date by the
 * chain follower. It is the wallet's {@link BlockConsumer}: a connected block applies what pays
 * to or spends from the wallet's scripts, a disconnected block undoes what it confirmed, and the
 * mempool adds (and, once gone, removes) what is unconfirmed. It survives reorgs by remembering
 * the last {@link REORG_DEPTH} block hashes; a deeper reorg rescans from the birthday.
 */
import { type Block, Transaction } from 'bitcoinjs-lib';
import type { Logger } from 'pino';
import { ReorgTooDeepError } from '../chain/errors.ts';
import type { BlockConsumer, BlockRef, ChainFollower } from '../chain/follower.ts';
import type { RpcCallOptions } from '../chain/rpc.ts';
import { REORG_DEPTH } from './constants.ts';
import type { Chain } from './keys.ts';
import type { Utxo, WalletTx } from './types.ts';

/** The wallet's persisted state (one JSON value, `state`, in the wallet's LevelDB). */
export interface WalletState {
  birthday: number;
  tip: { height: number; hash: string } | undefined;
  /** height → block hash, the last {@link REORG_DEPTH} blocks scanned. */
  hashes: Record<number, string>;
  /** Next index never handed out, per chain. */
  next: [number, number];
  /** Highest index seen used on chain, per chain (−1: none). */
  used: [number, number];
  utxos: Record<string, Utxo>;
  txs: Record<string, WalletTx>;
}

export interface LedgerOptions {
  state: WalletState;
  follower: ChainFollower;
  /** The wallet key behind a script (hex), if it is one of the wallet's. */
  keyOf: (script: string) => { chain: Chain; index: number } | undefined;
  /** A key at `index` on `chain` was seen used: derive further (the gap limit). */
  onUsed: () => void;
  persist: () => Promise<void>;
  log: Logger;
}

const outpoint = (txid: string, vout: number): string => `${txid}:${vout}`;
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** The wallet's view of the chain; see the module documentation. */
export class WalletLedger implements BlockConsumer {
  readonly #o: LedgerOptions;

  constructor(options: LedgerOptions) {
    this.#o = options;
  }

  get floor(): number {
    return this.#o.state.birthday - 1;
  }

  height(): number {
    const s = this.#o.state;
    return s.tip?.height ?? s.birthday - 1;
  }

  hashAt(height: number): string | undefined {
    return this.#o.state.hashes[height];
  }

  disconnect(ref: BlockRef): void {
    this.#o.log.warn({ height: ref.height, hash: ref.hash }, 'block disconnected; rolling back');
    this.rollback(ref.height - 1);
  }

  async connect(ref: BlockRef, block: Block): Promise<void> {
    const s = this.#o.state;
    for (const tx of block.transactions ?? []) this.applyTx(tx, ref.height);
    s.hashes[ref.height] = ref.hash;
    delete s.hashes[ref.height - REORG_DEPTH];
    s.tip = { height: ref.height, hash: ref.hash };
    if (ref.height % 500 === 0) await this.#o.persist();
  }

  /** Follows the chain to the node's tip (rolling back a reorg first), then the mempool. */
  async sync(options: RpcCallOptions): Promise<void> {
    const { follower, state: s, log } = this.#o;
    const tip = await follower.tip(options);
    try {
      await follower.follow(this, tip, options);
    } catch (err) {
      if (!(err instanceof ReorgTooDeepError)) throw err;
      // Below the hashes we keep: scan everything again from the birthday.
      log.warn({ from: s.tip?.height, to: s.birthday - 1 }, 'chain reorganised; rolling back');
      this.rollback(s.birthday - 1);
      await follower.follow(this, tip, options);
    }
    await this.#syncMempool(options);
    await this.#o.persist();
  }

  async #syncMempool(options: RpcCallOptions): Promise<void> {
    const s = this.#o.state;
    const view = await this.#o.follower.mempool(options);
    const mempool = new Set(view.txids);
    // Forget unconfirmed effects of transactions that left the mempool unconfirmed.
    for (const [key, u] of Object.entries(s.utxos)) {
      if (u.height === undefined && !mempool.has(u.txid)) delete s.utxos[key];
      else if (u.spentBy && u.spentBy.height === undefined && !mempool.has(u.spentBy.txid)) {
        s.utxos[key] = { ...u, spentBy: undefined };
      }
    }
    for (const [txid, t] of Object.entries(s.txs)) {
      if (t.height === undefined && !mempool.has(txid)) delete s.txs[txid];
    }
    for (const txid of view.txids) {
      if (s.txs[txid] || this.#known(txid)) continue;
      // Indexed and touching nothing of ours: no need to read it.
      const entry = view.entry(txid);
      if (
        entry &&
        !entry.spends.some((op) => s.utxos[op] !== undefined) &&
        !entry.scripts.some((script) => this.#o.keyOf(script) !== undefined)
      ) {
        continue;
      }
      const raw = await view.hex(txid, options);
      if (raw) this.applyTx(Transaction.fromHex(raw), undefined);
    }
  }

  /** True if the wallet already holds the mempool effects of `txid`. */
  #known(txid: string): boolean {
    return Object.values(this.#o.state.utxos).some(
      (u) => u.txid === txid || u.spentBy?.txid === txid,
    );
  }

  /** Applies what `tx` (confirmed at `height`, or in the mempool) does to the wallet's coins. */
  applyTx(tx: Transaction, height: number | undefined): void {
    const s = this.#o.state;
    const txid = tx.getId();
    // Seen unconfirmed (the mempool, or our own broadcast) after its block was applied: it stays
    // confirmed. Made unconfirmed, the next mempool scan would forget its coins.
    if (height === undefined && s.txs[txid]?.height !== undefined) return;
    let sent = 0n;
    let received = 0n;
    if (!tx.isCoinbase()) {
      for (const input of tx.ins) {
        const prev = outpoint(hex(Uint8Array.from(input.hash).reverse()), input.index);
        const u = s.utxos[prev];
        if (!u) continue;
        s.utxos[prev] = { ...u, spentBy: { txid, height } };
        sent += u.value;
      }
    }
    tx.outs.forEach((out, vout) => {
      const key = this.#o.keyOf(hex(out.script));
      if (!key) return;
      const op = outpoint(txid, vout);
      const existing = s.utxos[op];
      s.utxos[op] = {
        txid,
        vout,
        value: out.value,
        script: hex(out.script),
        chain: key.chain,
        index: key.index,
        height,
        spentBy: existing?.spentBy,
      };
      received += out.value;
      if (key.index > s.used[key.chain]) {
        s.used[key.chain] = key.index;
        if (s.next[key.chain] <= key.index) s.next[key.chain] = key.index + 1;
        this.#o.onUsed();
      }
    });
    if (sent > 0n || received > 0n) s.txs[txid] = { txid, height, received, sent };
  }

  /** Undoes everything confirmed above `height`; the mempool scan picks the rest up again. */
  rollback(height: number): void {
    const s = this.#o.state;
    for (const [key, u] of Object.entries(s.utxos)) {
      if (u.height !== undefined && u.height > height) delete s.utxos[key];
      else if (u.spentBy?.height !== undefined && u.spentBy.height > height) {
        s.utxos[key] = { ...u, spentBy: undefined };
      }
    }
    for (const [txid, t] of Object.entries(s.txs)) {
      if (t.height !== undefined && t.height > height) delete s.txs[txid];
    }
    for (const h of Object.keys(s.hashes).map(Number)) if (h > height) delete s.hashes[h];
    s.tip = height >= s.birthday ? { height, hash: s.hashes[height]! } : undefined;
  }
}
