import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { type Psbt, Transaction } from 'bitcoinjs-lib';
import coinSelect, { type CoinSelectResult } from 'coinselect';
import split from 'coinselect/split.js';
import { Level } from 'level';
import { type Logger, pino } from 'pino';
import { parse, stringify } from '../../model/json.ts';
import type { Sats } from '../../model/units.ts';
import { ChainFollower, type FollowerRpc } from '../chain/follower.ts';
import type { RpcCallOptions } from '../chain/rpc.ts';
import { type Candidate, candidates, type Target, toNumber } from './coin-selection.ts';
import { GAP_LIMIT, P2WPKH_DUST_LIMIT } from './constants.ts';
import {
  type BuildChildRequest,
  type BuiltChild,
  childFee,
  childVsize,
  type ForeignInput,
  inputWeight,
  P2WPKH_INPUT_WEIGHT,
  packageRateOf,
} from './cpfp.ts';
import {
  FeeBudgetExceededError,
  InsufficientFundsError,
  InvalidSpendError,
  UnknownReservationError,
} from './errors.ts';
import { Account, type BitcoinNetwork, type Chain, outputScript } from './keys.ts';
import { WalletLedger, type WalletState } from './ledger.ts';
import { loadOrCreateMnemonic } from './mnemonic.ts';
import { planSplit } from './pool-split.ts';
import { Reservations } from './reservations.ts';
import { p2wpkhInput, rbfPsbt, signChild, signWalletInputs } from './signing.ts';
import type {
  Balance,
  CoinPoolTarget,
  Funding,
  PoolSplit,
  SignedWithdrawal,
  Utxo,
  WalletTx,
} from './types.ts';

/** What the wallet needs from a chain backend (Bitcoin Core's RPC or the embedded node). */
export type WalletChain = FollowerRpc;

export type * from './types.ts';

export interface WalletOptions {
  /** Directory for the mnemonic file and the wallet database. */
  readonly datadir: string;
  readonly network: BitcoinNetwork;
  readonly chain: WalletChain;
  /** Follows the chain; share one with the chain monitor. @default a follower of `chain` */
  readonly follower?: ChainFollower;
  readonly logger?: Logger;
  /** Injectable clock (unix ms) for reservation expiry. */
  readonly clock?: () => number;
}

const outpoint = (txid: string, vout: number): string => `${txid}:${vout}`;
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/**
 * The node's own BIP84 wallet. It finds its coins by scanning blocks from its birthday (the chain
 * height when its mnemonic was created) through the chain follower, never relying on the node's
 * wallet; its {@link WalletLedger} survives reorgs by remembering recent block hashes and rolling
 * back what a disconnected block did.
 *
 * Coins for a contract setup are reserved until the setup completes, fails, or the reservation
 * expires, so two setups never fund from the same coin and a failed one never leaves coins locked.
 */
export class Wallet {
  readonly network: BitcoinNetwork;
  readonly #account: Account;
  readonly #mnemonic: string;
  readonly #db: Level<string, string>;
  readonly #ledger: WalletLedger;
  readonly #log: Logger;
  readonly #state: WalletState;
  /** script hex → key; every derived key up to `used + GAP_LIMIT` (and `next`). */
  readonly #scripts = new Map<string, { chain: Chain; index: number }>();
  readonly #derived: [number, number] = [0, 0];
  readonly #reservations: Reservations;
  #syncing: Promise<void> | undefined;

  private constructor(
    options: WalletOptions,
    account: Account,
    mnemonic: string,
    db: Level<string, string>,
    state: WalletState,
  ) {
    this.network = options.network;
    this.#account = account;
    this.#mnemonic = mnemonic;
    this.#db = db;
    this.#log = options.logger ?? pino({ level: 'silent' });
    this.#reservations = new Reservations(options.clock ?? Date.now, (reservationId) =>
      this.#log.info({ reservationId }, 'coin reservation expired'),
    );
    this.#state = state;
    this.#ledger = new WalletLedger({
      state,
      follower: options.follower ?? new ChainFollower({ rpc: options.chain }),
      keyOf: (script) => this.#scripts.get(script),
      onUsed: () => this.#extendLookahead(),
      persist: () => this.#persist(),
      log: this.#log,
    });
    this.#extendLookahead();
  }

  /**
   * Opens the wallet in `datadir`, creating the mnemonic on first start. The birthday is the
   * chain height at creation if the chain answers, else 0 (scan everything: slower, never wrong).
   */
  static async open(options: WalletOptions): Promise<Wallet> {
    const { mnemonic, seed, created } = await loadOrCreateMnemonic(options.datadir);
    const account = new Account(seed, options.network);
    const db = new Level<string, string>(join(options.datadir, 'wallet'), {
      keyEncoding: 'utf8',
      valueEncoding: 'utf8',
    });
    await db.open();
    const stored = await db.get('state');
    let state: WalletState;
    if (stored !== undefined) {
      state = parse<WalletState>(stored);
    } else {
      let birthday = 0;
      if (created) {
        birthday = await options.chain.getBlockCount().catch(() => 0);
      }
      state = {
        birthday,
        tip: undefined,
        hashes: {},
        next: [0, 0],
        used: [-1, -1],
        utxos: {},
        txs: {},
      };
      await db.put('state', stringify(state), { sync: true });
    }
    const wallet = new Wallet(options, account, mnemonic, db, state);
    wallet.#log.info(
      { created, birthday: state.birthday, tip: state.tip?.height },
      'wallet opened',
    );
    return wallet;
  }

  /** The BIP39 words. The UI asks for the password again before showing them. */
  exportMnemonic(): string {
    return this.#mnemonic;
  }

  /** Height the wallet has scanned to, or undefined before the first sync. */
  get height(): number | undefined {
    return this.#state.tip?.height;
  }

  get birthday(): number {
    return this.#state.birthday;
  }

  /** A fresh receive address (never handed out before). */
  async receiveAddress(): Promise<string> {
    return this.#nextAddress(0).address;
  }

  /**
   * Scans new blocks (rolling back a reorg first) and the mempool. Concurrent calls share one
   * scan. Safe to call on every new block.
   */
  sync(options: RpcCallOptions = {}): Promise<void> {
    this.#syncing ??= this.#ledger.sync(options).finally(() => {
      this.#syncing = undefined;
    });
    return this.#syncing;
  }

  balance(): Balance {
    this.#reservations.expire();
    const reserved = this.#reservations.outpoints();
    let confirmed = 0n;
    let unconfirmed = 0n;
    let held = 0n;
    for (const [key, u] of Object.entries(this.#state.utxos)) {
      if (u.spentBy) continue;
      if (u.height === undefined) unconfirmed += u.value;
      else {
        confirmed += u.value;
        if (reserved.has(key)) held += u.value;
      }
    }
    return { confirmed, unconfirmed, reserved: held, spendable: confirmed - held };
  }

  /** Unspent outputs, confirmed first. */
  utxos(): Utxo[] {
    return Object.values(this.#state.utxos)
      .filter((u) => !u.spentBy)
      .sort((a, b) => (a.height ?? Infinity) - (b.height ?? Infinity));
  }

  /** Transactions that touched the wallet, newest first (mempool on top). */
  history(): WalletTx[] {
    return Object.values(this.#state.txs).sort(
      (a, b) => (b.height ?? Infinity) - (a.height ?? Infinity),
    );
  }

  /**
   * Selects and reserves coins paying `amount` plus the fee of this party's inputs and change at
   * `feeRate` (sat/vB), for a lock transaction. `extraVbytes` adds this party's share of the
   * shared parts of the transaction. Release with {@link release} when the setup ends.
   */
  reserveFunding(
    amount: Sats,
    feeRate: bigint,
    options: { extraVbytes?: number; ttlMs?: number } = {},
  ): Funding {
    if (amount <= 0n) throw new InvalidSpendError('funding amount must be positive');
    this.#reservations.expire();
    const candidates = this.#spendable();
    const rate = Number(feeRate);
    // The lock output is shared; this party pays for what it adds: its inputs and change.
    const target: Target = {
      value: toNumber(amount) + Math.ceil((options.extraVbytes ?? 0) * rate),
      script: { length: 0 },
    };
    const result = coinSelect(candidates, [target], rate);
    const selection = this.#checkSelection(result, amount);
    const change = selection.change;
    const id = randomUUID();
    const outpoints = selection.inputs.map((i) => outpoint(i.txid, i.vout));
    const expiresAt = this.#reservations.set(id, outpoints, options.ttlMs);
    const inputsTotal = selection.inputs.reduce((s, i) => s + i.value, 0n);
    return {
      reservationId: id,
      inputs: selection.inputs,
      change,
      fee: inputsTotal - amount - (change?.value ?? 0n),
      expiresAt,
    };
  }

  /** Confirmed, unreserved coins: what can fund a setup now. */
  fundingCoins(): Utxo[] {
    this.#reservations.expire();
    return this.#spendable().map((c) => c.utxo);
  }

  /**
   * Plans and signs a split topping the coin pool up to `target.count` coins of at least
   * `target.value` (coins already that size count; a coin of twice the size or more is a source).
   * It spends the largest sources into as many pool coins as they hold, up to the shortfall, plus
   * the rest as one change coin, at `feeRate` sat/vB. The sources are reserved at once, so a
   * concurrent setup cannot pick them; the caller broadcasts, then {@link recordOwnTransaction}
   * and {@link release}s. The new coins fund setups once the split confirms (locks spend only
   * confirmed coins: a counterparty refuses unconfirmed lock inputs). Undefined when the pool is
   * full or nothing is large enough to split.
   */
  planPoolSplit(target: CoinPoolTarget, feeRate: bigint): PoolSplit | undefined {
    if (!Number.isInteger(target.count) || target.count < 1 || target.value < P2WPKH_DUST_LIMIT) {
      throw new InvalidSpendError('a coin pool needs a positive count and a value above dust');
    }
    const coins = this.fundingCoins();
    // Pool coins still in the mempool (an earlier split) count: no second split for them.
    const reserved = this.#reservations.outpoints();
    const sized = this.utxos().filter(
      (u) =>
        !reserved.has(outpoint(u.txid, u.vout)) &&
        u.value >= target.value &&
        u.value < 2n * target.value,
    );
    const plan = planSplit(coins, sized.length, target, feeRate);
    if (!plan) return undefined;
    const { used, n, change } = plan;
    const psbt = rbfPsbt(this.network, used);
    const values = Array.from({ length: n }, () => target.value);
    // Change below dust goes to the fee; otherwise it is a coin of its own (maybe a later source).
    if (change >= P2WPKH_DUST_LIMIT) values.push(change);
    for (const value of values) {
      psbt.addOutput({ script: Buffer.from(this.#nextAddress(1).script, 'hex'), value });
    }
    this.signPsbt(psbt);
    psbt.finalizeAllInputs();
    const tx = psbt.extractTransaction();
    const reservationId = `pool-split-${tx.getId()}`;
    this.#reservations.set(
      reservationId,
      used.map((u) => outpoint(u.txid, u.vout)),
    );
    return {
      txid: tx.getId(),
      hex: tx.toHex(),
      fee: psbt.getFee(),
      vsize: tx.virtualSize(),
      reservationId,
      coins: n,
    };
  }

  /** Releases a reservation (the setup completed, failed or timed out). Idempotent. */
  release(reservationId: string): void {
    this.#reservations.release(reservationId);
  }

  /**
   * Reserves, under `reservationId` and without expiry, those of `outpoints` that are this
   * wallet's unspent coins; returns them. For the inputs of a lock our signature may have left
   * with (a restart forgets in-memory reservations): no new contract may fund from them until the
   * lock is adopted or can no longer confirm. Release with {@link release}.
   */
  reserveOutpoints(reservationId: string, outpoints: readonly string[]): string[] {
    const own = outpoints.filter((o) => {
      const u = this.#state.utxos[o];
      return u !== undefined && !u.spentBy;
    });
    this.#reservations.set(reservationId, own, Number.POSITIVE_INFINITY);
    return own;
  }

  /**
   * Builds and signs a transaction spending exactly `outpoints` (unspent wallet coins) back to a
   * fresh change address of this wallet at `feeRate` sat/vB: the node double-spends its own lock
   * input so an abandoned lock can never confirm. The caller broadcasts it.
   */
  sweepOutpoints(outpoints: readonly string[], feeRate: bigint): SignedWithdrawal {
    const coins = outpoints.map((o) => {
      const u = this.#state.utxos[o];
      if (!u || u.spentBy)
        throw new InvalidSpendError(`${o} is not an unspent coin of this wallet`);
      return u;
    });
    if (coins.length === 0) throw new InvalidSpendError('nothing to sweep');
    const to = this.#nextAddress(1);
    const psbt = rbfPsbt(this.network, coins);
    const total = coins.reduce((s, c) => s + c.value, 0n);
    // One P2WPKH output: 10.5 + 68 per input + 31 vbytes, rounded up.
    const vbytes = BigInt(11 + 68 * coins.length + 31);
    const value = total - vbytes * feeRate;
    if (value < P2WPKH_DUST_LIMIT) throw new InsufficientFundsError('the sweep would be dust');
    psbt.addOutput({ script: Buffer.from(to.script, 'hex'), value });
    this.signPsbt(psbt);
    psbt.finalizeAllInputs();
    const tx = psbt.extractTransaction();
    return { txid: tx.getId(), hex: tx.toHex(), fee: total - value, vsize: tx.virtualSize() };
  }

  /**
   * The output `txid:vout` of an unconfirmed parent (our payout of a CET, refund or close) as an
   * input of a CPFP child, signed with the wallet key; undefined if `scriptPubKey` is not one of
   * the wallet's scripts.
   */
  ownOutputInput(
    txid: string,
    vout: number,
    value: Sats,
    scriptPubKey: Uint8Array,
  ): ForeignInput | undefined {
    const key = this.#scripts.get(hex(scriptPubKey));
    if (!key) return undefined;
    return p2wpkhInput(this.#account, { txid, vout, value, script: scriptPubKey }, key);
  }

  /**
   * Builds and signs a child spending `request.inputs` that lifts its unconfirmed parents to
   * `request.packageRate` (see {@link childFee} for the fee rule). Confirmed wallet coins are added,
   * largest first, only when the inputs cannot pay the fee and leave a change output above dust;
   * they stay reserved under `request.reservationId` (no expiry) and a later call with the same id
   * spends them again (plus more if needed), so the new child replaces the old under BIP125. The
   * only output is change to an internal address, the same one for every child of a reservation.
   * Every input signals RBF (nSequence 0xfffffffd) unless it sets its own sequence.
   *
   * Throws {@link FeeBudgetExceededError} when the fee would exceed `request.maxFee`, and
   * {@link InsufficientFundsError} when the wallet cannot pay it; either way before signing. The
   * caller broadcasts, then {@link recordOwnTransaction}s it (the change counts, unconfirmed) and
   * {@link release}s the reservation once the package confirmed.
   */
  buildChild(request: BuildChildRequest): BuiltChild {
    if (request.inputs.length === 0) throw new InvalidSpendError('a child needs an input');
    if (request.packageRate < 1n) throw new InvalidSpendError('package rate must be ≥ 1 sat/vB');
    this.#reservations.expire();
    const previous = this.#reservations.get(request.reservationId);
    // Coins of an earlier child of this reservation: still ours, maybe spent by that child.
    const coins: Utxo[] = (previous?.outpoints ?? [])
      .map((o) => this.#state.utxos[o])
      .filter((u): u is Utxo => u !== undefined && u.spentBy?.height === undefined);
    const foreignValue = request.inputs.reduce((s, i) => s + i.value, 0n);
    const weights = request.inputs.map((i) => inputWeight(i.vbytes));
    const plan = (n: Utxo[]) => {
      const vsize = childVsize([...weights, ...n.map(() => P2WPKH_INPUT_WEIGHT)]);
      const fee = childFee(request, vsize);
      const total = n.reduce((s, u) => s + u.value, foreignValue);
      return { vsize, fee, change: total - fee };
    };
    let estimate = plan(coins);
    if (estimate.change < P2WPKH_DUST_LIMIT) {
      const sources = this.#spendable()
        .map((c) => c.utxo)
        .sort((a, b) => (b.value > a.value ? 1 : b.value < a.value ? -1 : 0));
      for (const u of sources) {
        if (estimate.fee > request.maxFee) break;
        coins.push(u);
        estimate = plan(coins);
        if (estimate.change >= P2WPKH_DUST_LIMIT) break;
      }
    }
    if (estimate.fee > request.maxFee) {
      throw new FeeBudgetExceededError(
        `the child needs ${estimate.fee} sats of fee for ${request.packageRate} sat/vB; the budget is ${request.maxFee}`,
      );
    }
    if (estimate.change < P2WPKH_DUST_LIMIT) {
      throw new InsufficientFundsError(
        `a child paying ${estimate.fee} sats of fee needs ${P2WPKH_DUST_LIMIT - estimate.change} sats more than the wallet can spend`,
      );
    }
    const walletInputs = coins.map((u) => outpoint(u.txid, u.vout));
    const changeScript = previous?.changeScript ?? this.#nextAddress(1).script;
    this.#reservations.set(
      request.reservationId,
      walletInputs,
      Number.POSITIVE_INFINITY,
      changeScript,
    );
    const inputs = [
      ...request.inputs,
      ...coins.map((u) => {
        const script = Buffer.from(u.script, 'hex');
        return p2wpkhInput(this.#account, { ...u, script }, u);
      }),
    ];
    const total = foreignValue + coins.reduce((s, u) => s + u.value, 0n);
    // Sign for the estimated (worst-case) size, then again for the size the signatures gave, until
    // the fee matches the real size; should signatures keep changing length, keep the estimate's.
    let vsize = estimate.vsize;
    let tx = signChild(inputs, total - estimate.fee, changeScript);
    for (let round = 0; round < 4 && tx.virtualSize() !== vsize; round++) {
      vsize = tx.virtualSize();
      tx = signChild(inputs, total - childFee(request, vsize), changeScript);
    }
    if (tx.virtualSize() !== vsize) {
      tx = signChild(inputs, total - estimate.fee, changeScript);
    }
    const fee = total - tx.outs[0]!.value;
    return {
      hex: tx.toHex(),
      txid: tx.getId(),
      fee,
      vsize: tx.virtualSize(),
      packageRate: packageRateOf(request.parents, fee, tx.virtualSize()),
      walletInputs,
      change: { vout: 0, value: tx.outs[0]!.value, script: changeScript },
    };
  }

  /** Throws {@link UnknownReservationError} if the reservation is gone (expired or released). */
  assertReserved(reservationId: string): void {
    this.#reservations.assert(reservationId);
  }

  /**
   * Builds and signs a withdrawal of `amount` (or everything, when `amount` is undefined) to
   * `address`, paying `feeRate` sat/vB, signalling RBF. Refuses addresses of other networks.
   * The caller broadcasts it; {@link recordOwnTransaction} makes the balance reflect it at once.
   */
  withdraw(address: string, amount: Sats | undefined, feeRate: bigint): SignedWithdrawal {
    const script = outputScript(address, this.network);
    if (feeRate < 1n) throw new InvalidSpendError('fee rate must be at least 1 sat/vB');
    if (amount !== undefined && amount < P2WPKH_DUST_LIMIT) {
      throw new InvalidSpendError(`${amount} sats is below the dust limit (${P2WPKH_DUST_LIMIT})`);
    }
    this.#reservations.expire();
    const candidates = this.#spendable();
    const rate = Number(feeRate);
    const target: Target =
      amount === undefined ? { address, script } : { address, script, value: toNumber(amount) };
    const result =
      amount === undefined
        ? split(candidates, [target], rate)
        : coinSelect(candidates, [target], rate);
    const needed = amount ?? 1n;
    const selection = this.#checkSelection(result, needed);
    const sendValue = amount ?? BigInt(result.outputs?.find((o) => 'script' in o)?.value ?? 0);
    if (sendValue < P2WPKH_DUST_LIMIT) {
      throw new InsufficientFundsError('after fees, what is left to withdraw is dust');
    }

    const psbt = rbfPsbt(this.network, selection.inputs);
    psbt.addOutput({ script, value: sendValue });
    if (selection.change) {
      psbt.addOutput({
        script: Buffer.from(selection.change.script, 'hex'),
        value: selection.change.value,
      });
    }
    this.signPsbt(psbt);
    psbt.finalizeAllInputs();
    const tx = psbt.extractTransaction();
    const fee = psbt.getFee();
    const vsize = tx.virtualSize();
    if (fee < BigInt(vsize) * feeRate) {
      throw new Error(`internal: fee ${fee} below ${feeRate} sat/vB for ${vsize} vB`);
    }
    return { txid: tx.getId(), hex: tx.toHex(), fee, vsize };
  }

  /** Signs every input of `psbt` that spends a wallet coin. Returns how many it signed. */
  signPsbt(psbt: Psbt): number {
    return signWalletInputs(psbt, this.#account, (script) => this.#scripts.get(script));
  }

  /** Applies a transaction this wallet just broadcast, so balance and coins reflect it now. */
  async recordOwnTransaction(txHex: string): Promise<void> {
    this.#ledger.applyTx(Transaction.fromHex(txHex), undefined);
    await this.#persist();
  }

  async close(): Promise<void> {
    await this.#syncing?.catch(() => undefined);
    await this.#db.close();
  }

  // -------------------------------------------------------------------------------------------

  #extendLookahead(): void {
    for (const chain of [0, 1] as const) {
      const upto = Math.max(this.#state.used[chain], this.#state.next[chain] - 1) + GAP_LIMIT;
      for (let i = this.#derived[chain]; i <= upto; i++) {
        const k = this.#account.key(chain, i);
        this.#scripts.set(k.script, { chain, index: i });
      }
      this.#derived[chain] = Math.max(this.#derived[chain], upto + 1);
    }
  }

  #nextAddress(chain: Chain): { address: string; script: string } {
    const index = this.#state.next[chain]++;
    this.#extendLookahead();
    // Persisted in the background; a crash before it lands only re-hands out the same address.
    this.#persist().catch((err: unknown) => this.#log.error({ err }, 'wallet state not saved'));
    const k = this.#account.key(chain, index);
    return { address: k.address, script: k.script };
  }

  #spendable(): Candidate[] {
    return candidates(this.utxos(), this.#reservations.outpoints());
  }

  #checkSelection(result: CoinSelectResult<Candidate, Target>, amount: Sats) {
    if (!result.inputs || !result.outputs) {
      const { spendable } = this.balance();
      throw new InsufficientFundsError(
        `${amount} sats plus fees (about ${result.fee} sats) exceed the spendable ${spendable} sats`,
      );
    }
    const changeOut = result.outputs.find((o) => !('script' in o));
    let change: Funding['change'];
    if (changeOut?.value !== undefined && BigInt(changeOut.value) >= P2WPKH_DUST_LIMIT) {
      const c = this.#nextAddress(1);
      change = { address: c.address, script: c.script, value: BigInt(changeOut.value) };
    }
    return {
      inputs: result.inputs.map((i) => ({
        txid: i.utxo.txid,
        vout: i.utxo.vout,
        value: i.utxo.value,
        script: i.utxo.script,
      })),
      change,
    };
  }

  async #persist(): Promise<void> {
    await this.#db.put('state', stringify(this.#state), { sync: true });
  }
}
