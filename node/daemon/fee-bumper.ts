/**
 * Gets every transaction a CFD needs on chain confirmed before its deadline, in whatever fee
 * market there is, alone — without the counterparty.
 *
 * The pre-signed transactions pay the rate agreed when they were signed; a market that moved
 * since can leave them below what miners take, or below the mempool minimum so they do not even
 * relay (ItchySats users saw commits sit in mempools for days). Each block, for each transaction
 * it follows, the bumper asks the bump policy (model/fee-bump.ts) what package rate the deadline
 * needs now and, if the transaction (with what already pays for it) is below that, raises it:
 *
 * - commit: a child spending our own anchor output (CPFP, dlc/transactions.ts anchors);
 * - CET, refund, collaborative close: a child spending our own payout output (CPFP);
 * - punish (ours alone to sign): the punish itself again at a higher fee (BIP125 RBF).
 *
 * A parent below the mempool minimum goes out with its child as a package (`submitpackage`), as
 * Bitcoin Core relays it. A later child replaces the earlier one (same wallet coins, more fee).
 *
 * Both nodes send a CET, refund or close (and follow a commit either sent); two children would
 * pay twice for one package. The party it pays less waits a block for the other's child
 * ({@link BumpTarget.counterpartyPaysFirst}), and what a transaction's mempool descendants pay —
 * anyone's children — counts as paid when a miner would take them with it alone: none of them
 * has an unconfirmed parent outside the family (else a low-fee parent can pin a child that only
 * seems to pay). Within the deadline's urgent blocks no other child is relied on.
 * What one CFD's bumps may cost in all is the user's budget (`--bump-budget`); the rate never
 * exceeds `--max-fee-rate`. When either bites, the transaction is shown as capped.
 */
import { Transaction } from 'bitcoinjs-lib';
import { type Logger, pino } from 'pino';
import { type BumpKind, nextBumpRate } from '../../model/fee-bump.ts';
import type { FeeRate, Sats } from '../../model/units.ts';
import { locate } from '../chain/broadcast.ts';
import type { FeeEstimator } from '../chain/fee-estimator.ts';
import type { BitcoinRpc } from '../chain/rpc.ts';
import type { ForeignInput } from '../wallet/cpfp.ts';
import type { Wallet } from '../wallet/wallet.ts';

export type { BumpKind };

/** A transaction the node needs confirmed, and how it may be bumped. */
export interface BumpTarget {
  readonly cfdId: string;
  readonly kind: BumpKind;
  /** The transaction as published (signed). */
  readonly tx: { readonly txid: string; readonly hex: string };
  /** Its own fee: what it spends minus what it pays. */
  readonly fee: Sats;
  /**
   * When it must confirm by: `blocks` after the block that confirms `after` (a punish: the
   * revoked commit's CET lock; a CET: the refund lock of its commit). Absent: `confirmWithin`
   * blocks after it is first followed.
   */
  readonly deadline?: { readonly after: string; readonly blocks: number };
  /** CPFP: our output the child spends (our anchor of a commit, our payout of a CET…). */
  readonly cpfp?: () => ForeignInput | undefined;
  /** RBF: the same transaction at another fee (the punish). */
  readonly rbf?: (fee: Sats) => { readonly txid: string; readonly hex: string };
  /**
   * The counterparty sends this same transaction and pays for it first (it has more in it): our
   * child waits one block for theirs, so the two nodes do not both pay for one package. Not when
   * the deadline is near.
   */
  readonly counterpartyPaysFirst?: boolean;
}

/** How one followed transaction stands, for the CFD's view and health. */
export interface BumpStatus {
  readonly kind: BumpKind;
  /** The transaction now (a replaced punish: the latest). */
  readonly txid: string;
  /** `ended`: no longer followed because the CFD settled (see {@link FeeBumper.forget}). */
  readonly state: 'waiting' | 'mempool' | 'confirmed' | 'ended';
  /**
   * The package rate it pays now, sat/vB: with its child, or with what its descendants in the
   * mempool pay (the counterparty's child too) if that is more.
   */
  readonly rate: FeeRate;
  /** What the policy asked for at the last block. */
  readonly targetRate: FeeRate | undefined;
  readonly childTxid: string | undefined;
  readonly deadlineHeight: number;
  readonly blocksLeft: number | undefined;
  /** The budget or the cap kept the rate below what the policy asked for. */
  readonly capped: boolean;
  /** Sats this transaction's bumps cost now (child fee, or the punish's whole fee). */
  readonly spent: Sats;
  readonly lastError: string | undefined;
}

export interface FeeBumperDeps {
  readonly rpc: () => BitcoinRpc | undefined;
  readonly wallet: () =>
    | Pick<Wallet, 'buildChild' | 'release' | 'recordOwnTransaction'>
    | undefined;
  readonly fees: Pick<FeeEstimator, 'estimateFor' | 'floor' | 'cap' | 'refresh'>;
  /** Most sats all bumps of one CFD may cost together. */
  readonly budgetSats: Sats;
  /** Blocks a commit or close has to confirm when it has no deadline of its own. */
  readonly confirmWithin: number;
  /** A replaced punish (record it so its confirmation is recognised). */
  readonly onReplaced?: (
    target: BumpTarget,
    replaced: string,
    tx: { txid: string; hex: string },
  ) => Promise<void>;
  readonly logger?: Logger;
}

interface Followed {
  target: BumpTarget;
  /** The transaction now: the target's, or the latest RBF replacement. */
  current: { txid: string; hex: string; fee: Sats };
  readonly vsize: number;
  firstHeight: number | undefined;
  /** Resolved from {@link BumpTarget.deadline} once `after` confirmed. */
  deadlineHeight: number | undefined;
  child: { txid: string; hex: string; fee: Sats; vsize: number } | undefined;
  /** What it and all its mempool descendants paid at the last look (anyone's children). */
  seenRate: FeeRate | undefined;
  /** The height at which it began waiting for the counterparty's child. */
  waitingSince: number | undefined;
  state: BumpStatus['state'];
  targetRate: FeeRate | undefined;
  previousRate: FeeRate | undefined;
  blocksLeft: number | undefined;
  capped: boolean;
  lastError: string | undefined;
}

/**
 * vbytes to allow for a child when working out the rate a budget affords: an anchor or payout
 * input, up to two wallet inputs and a change output (the wallet then builds it exactly).
 */
const CHILD_VBYTES_ALLOWANCE = 250;

/** Most mempool descendants looked at to tell whether another's child pays for a parent. */
const MAX_DESCENDANTS_CHECKED = 24;

/** The name of the wallet reservation a child's coins are held under. */
const reservation = (key: string): string => `bump:${key}`;

const keyOf = (t: Pick<BumpTarget, 'cfdId' | 'kind'>, txid: string): string =>
  `${t.cfdId}:${t.kind}:${txid}`;

/** ceil(fee / vsize). */
function rateOf(fee: Sats, vsize: number): FeeRate {
  return (fee + BigInt(vsize) - 1n) / BigInt(vsize);
}

export class FeeBumper {
  readonly #d: FeeBumperDeps;
  readonly #log: Logger;
  readonly #followed = new Map<string, Followed>();
  /** The last statuses of CFDs no longer followed. */
  readonly #history = new Map<string, BumpStatus[]>();
  #pass: Promise<void> | undefined;
  #height: number | undefined;

  constructor(deps: FeeBumperDeps) {
    this.#d = deps;
    this.#log = deps.logger ?? pino({ level: 'silent' });
  }

  /** Follows `target` until it confirms (idempotent: the same transaction is followed once). */
  follow(target: BumpTarget): void {
    const key = keyOf(target, target.tx.txid);
    if (this.#followed.has(key)) return;
    for (const f of this.#followed.values()) {
      // A replaced punish is followed under its first txid.
      if (f.target.cfdId === target.cfdId && f.current.txid === target.tx.txid) return;
    }
    const vsize = Transaction.fromHex(target.tx.hex).virtualSize();
    this.#followed.set(key, {
      target,
      current: { ...target.tx, fee: target.fee },
      vsize,
      // Set by its first pass (a kick's is at the tip; the last pass's height may be blocks old).
      firstHeight: undefined,
      deadlineHeight: undefined,
      child: undefined,
      seenRate: undefined,
      waitingSince: undefined,
      state: 'waiting',
      targetRate: undefined,
      previousRate: undefined,
      blocksLeft: undefined,
      capped: false,
      lastError: undefined,
    });
  }

  /** The height of the last pass (undefined before the first block). */
  get height(): number | undefined {
    return this.#height;
  }

  /**
   * A pass for `cfdId` now, at the last block's height: a transaction just handed over goes out
   * (with a child if it needs one) without waiting for the next block. Never throws.
   */
  async kick(cfdId: string): Promise<void> {
    if (this.#height === undefined) return;
    // At the chain's tip: the block that handed it over may not have had its pass yet, and a
    // wait for the counterparty's child must not end at that block.
    const tip = await this.#d
      .rpc()
      ?.getBlockCount()
      .catch(() => undefined);
    const height = Math.max(tip ?? 0, this.#height);
    await this.onBlock(height, { cfdId }).catch((err: unknown) =>
      this.#log.warn({ err, cfdId }, 'bump pass failed'),
    );
  }

  /**
   * Stops following one transaction of a CFD (e.g. our commit lost the race to another live
   * commit that confirmed: it can never confirm) and frees its child's coins.
   */
  unfollow(cfdId: string, txid: string): void {
    for (const [key, f] of this.#followed) {
      if (f.target.cfdId !== cfdId || (f.target.tx.txid !== txid && f.current.txid !== txid)) {
        continue;
      }
      this.#followed.delete(key);
      this.#d.wallet()?.release(reservation(key));
    }
  }

  /** Stops following a CFD's transactions (it settled another way) and frees their coins. */
  forget(cfdId: string): void {
    const done: BumpStatus[] = [];
    for (const [key, f] of this.#followed) {
      if (f.target.cfdId !== cfdId) continue;
      // The CFD settled: what was not seen confirmed is no longer followed (it confirmed in the
      // block that settled it, or lost to the transaction that did).
      done.push({ ...this.#statusOf(f), state: f.state === 'confirmed' ? 'confirmed' : 'ended' });
      this.#followed.delete(key);
      this.#d.wallet()?.release(reservation(key));
    }
    // What it took to confirm stays visible on the settled CFD (this run of the node).
    if (done.length > 0) this.#history.set(cfdId, done);
  }

  /** How each followed transaction of `cfdId` stands. */
  status(cfdId: string): BumpStatus[] {
    const out: BumpStatus[] = [...(this.#history.get(cfdId) ?? [])];
    for (const f of this.#followed.values()) {
      if (f.target.cfdId !== cfdId) continue;
      out.push(this.#statusOf(f));
    }
    return out;
  }

  /** Every followed transaction not yet confirmed, for health. */
  pending(): (BumpStatus & { cfdId: string })[] {
    return [...this.#followed.values()]
      .filter((f) => f.state !== 'confirmed')
      .map((f) => ({ ...this.#statusOf(f), cfdId: f.target.cfdId }));
  }

  /** Sats the bumps of `cfdId` cost now. */
  spent(cfdId: string): Sats {
    let total = (this.#history.get(cfdId) ?? []).reduce((a, s) => a + s.spent, 0n);
    for (const f of this.#followed.values()) if (f.target.cfdId === cfdId) total += spentOn(f);
    return total;
  }

  /**
   * One pass over everything followed, at `height` (every block), or now with `urgent` for one
   * CFD (the UI's "bump now": aim for the next block). Passes never overlap.
   */
  async onBlock(height: number, options: { cfdId?: string; urgent?: boolean } = {}): Promise<void> {
    while (this.#pass) await this.#pass;
    this.#height = height;
    this.#pass = this.#run(height, options).finally(() => {
      this.#pass = undefined;
    });
    await this.#pass;
  }

  async #run(height: number, options: { cfdId?: string; urgent?: boolean }): Promise<void> {
    const rpc = this.#d.rpc();
    if (!rpc) return;
    for (const [key, f] of this.#followed) {
      if (options.cfdId !== undefined && f.target.cfdId !== options.cfdId) continue;
      if (f.state === 'confirmed') continue;
      f.firstHeight ??= height;
      try {
        await this.#step(rpc, key, f, height, options.urgent ?? false);
        f.lastError = undefined;
      } catch (err) {
        f.lastError = (err as Error).message;
        this.#log.warn({ err, cfdId: f.target.cfdId, kind: f.target.kind }, 'bump failed');
      }
    }
  }

  async #step(
    rpc: BitcoinRpc,
    key: string,
    f: Followed,
    height: number,
    urgent: boolean,
  ): Promise<void> {
    const where = await locate(rpc, f.current.txid, Transaction.fromHex(f.current.hex).outs.length);
    if (where === 'confirmed') {
      f.state = 'confirmed';
      this.#d.wallet()?.release(reservation(key));
      return;
    }
    f.state = where === 'mempool' ? 'mempool' : 'waiting';
    if (f.deadlineHeight === undefined && f.target.deadline) {
      const after = await rpc.getTransaction(f.target.deadline.after);
      if (after && after.confirmations > 0) {
        f.deadlineHeight = height - after.confirmations + 1 + f.target.deadline.blocks;
      }
    }
    const deadline = this.#deadline(f);
    const budgetLeft = this.#d.budgetSats - (this.spent(f.target.cfdId) - spentOn(f));
    const decision = nextBumpRate({
      height: urgent ? Math.max(height, deadline - 1) : height,
      deadlineHeight: deadline,
      ...(f.firstHeight !== undefined && { startHeight: f.firstHeight }),
      estimate: (blocks) => this.#d.fees.estimateFor(blocks),
      floor: this.#d.fees.floor(),
      maxRate: this.#d.fees.cap,
      ...(f.previousRate !== undefined && { previous: f.previousRate }),
      incremental: 1n,
    });
    f.targetRate = decision.rate;
    f.blocksLeft = decision.blocksLeft;
    f.capped = decision.capped;
    const paying = this.#packageRate(f);
    f.seenRate = undefined;
    if (where === 'mempool') {
      if (paying >= decision.rate) return;
      // The counterparty's child may pay for it already (module doc). Not relied on near the
      // deadline: a child can still be evicted.
      f.seenRate = await familyRate(rpc, f.current.txid);
      if (f.seenRate !== undefined && f.seenRate >= decision.rate && !decision.urgent) {
        this.#log.debug(
          { cfdId: f.target.cfdId, kind: f.target.kind, rate: f.seenRate },
          'its descendants pay enough',
        );
        return;
      }
    }
    if (f.target.counterpartyPaysFirst && !f.child && !decision.urgent) {
      f.waitingSince ??= height;
      if (height <= f.waitingSince) {
        if (where === null) await this.#send(rpc, [f.current.hex]).catch(() => undefined);
        this.#log.info(
          { cfdId: f.target.cfdId, kind: f.target.kind, txid: f.current.txid },
          'the counterparty pays for it first: our child waits a block',
        );
        return;
      }
    }
    if (where === null && !f.child && paying >= decision.rate) {
      // Pays enough alone: it only needs to be offered again (a child is for when it does not).
      try {
        await this.#send(rpc, [f.current.hex]);
        return;
      } catch (err) {
        this.#log.debug({ err, txid: f.current.txid }, 'not accepted alone; trying with a child');
      }
    }

    if (f.target.rbf) {
      const fee = decision.rate * BigInt(f.vsize);
      const affordable = fee <= budgetLeft ? fee : budgetLeft;
      if (affordable <= f.current.fee) {
        f.capped = true;
        if (where === null) await this.#send(rpc, [f.current.hex]);
        return;
      }
      if (affordable < fee) f.capped = true;
      const next = f.target.rbf(affordable);
      await this.#send(rpc, [next.hex]);
      const replaced = f.current.txid;
      f.current = { ...next, fee: affordable };
      f.previousRate = rateOf(affordable, f.vsize);
      await this.#d.onReplaced?.(f.target, replaced, next);
      this.#log.info(
        { cfdId: f.target.cfdId, kind: f.target.kind, txid: next.txid, fee: affordable },
        'replaced at a higher fee',
      );
      return;
    }

    const input = f.target.cpfp?.();
    const wallet = this.#d.wallet();
    if (!input || !wallet) {
      // Nothing of ours to pay through: all we can do is offer it as it is.
      if (where === null) await this.#send(rpc, [f.current.hex]);
      return;
    }
    if (budgetLeft <= 0n) {
      f.capped = true;
      if (where === null) await this.#send(rpc, [f.current.hex]);
      return;
    }
    const previous = f.child;
    const build = (packageRate: FeeRate) =>
      wallet.buildChild({
        inputs: [input],
        parents: [{ vsize: f.vsize, fee: f.current.fee }],
        packageRate,
        maxFee: budgetLeft,
        reservationId: reservation(key),
        ...(previous && { replaces: { fee: previous.fee } }),
      });
    let child: ReturnType<typeof build>;
    try {
      child = build(decision.rate);
    } catch (err) {
      if ((err as Error).name !== 'FeeBudgetExceededError') throw err;
      // The best the budget allows, if that is still more than what pays now.
      f.capped = true;
      const affordable = (budgetLeft + f.current.fee) / BigInt(f.vsize + CHILD_VBYTES_ALLOWANCE);
      if (affordable <= paying || affordable < 1n) {
        if (where === null) await this.#send(rpc, [f.current.hex]).catch(() => undefined);
        return;
      }
      child = build(affordable);
    }
    try {
      await this.#send(rpc, where === 'mempool' ? [child.hex] : [f.current.hex, child.hex]);
    } catch (err) {
      const ins = Transaction.fromHex(child.hex).ins.map(
        (i) => `${Buffer.from(i.hash).reverse().toString('hex')}:${i.index}`,
      );
      throw new Error(
        `${(err as Error).message} [parent ${f.current.txid}, child spends ${ins.join(' ')}]`,
      );
    }
    await wallet.recordOwnTransaction(child.hex);
    f.child = { txid: child.txid, hex: child.hex, fee: child.fee, vsize: child.vsize };
    f.previousRate = this.#packageRate(f);
    this.#log.info(
      {
        cfdId: f.target.cfdId,
        kind: f.target.kind,
        parent: f.current.txid,
        child: child.txid,
        fee: child.fee,
        packageRate: f.previousRate,
      },
      'child pays for its parent',
    );
  }

  /** Sends one transaction, or a parent with its child as a package. */
  async #send(rpc: BitcoinRpc, hexes: readonly string[]): Promise<void> {
    if (hexes.length === 1) {
      await rpc.sendRawTransaction(hexes[0]!);
      return;
    }
    const r = await rpc.submitPackage([...hexes]);
    if (r.packageMsg !== 'success') {
      const why = r.txResults.map((t) => t.error).filter(Boolean);
      throw new Error(
        `package refused: ${r.packageMsg}${why.length ? ` (${why.join('; ')})` : ''}`,
      );
    }
  }

  #deadline(f: Followed): number {
    return f.deadlineHeight ?? (f.firstHeight ?? this.#height ?? 0) + this.#d.confirmWithin;
  }

  #packageRate(f: Followed): FeeRate {
    const fee = f.current.fee + (f.child?.fee ?? 0n);
    return (fee * 1n) / BigInt(f.vsize + (f.child?.vsize ?? 0));
  }

  /** {@link BumpStatus.rate}. */
  #paysNow(f: Followed): FeeRate {
    const own = this.#packageRate(f);
    return f.seenRate !== undefined && f.seenRate > own ? f.seenRate : own;
  }

  #statusOf(f: Followed): BumpStatus {
    return {
      kind: f.target.kind,
      txid: f.current.txid,
      state: f.state,
      rate: this.#paysNow(f),
      targetRate: f.targetRate,
      childTxid: f.child?.txid,
      deadlineHeight: this.#deadline(f),
      blocksLeft: f.blocksLeft,
      capped: f.capped,
      spent: spentOn(f),
      lastError: f.lastError,
    };
  }
}

/**
 * The rate `txid` pays with its mempool descendants, when a miner would take them for that: every
 * one depends only on `txid` and each other. Undefined if not (or not in the mempool, or more
 * descendants than are looked at): then it counts as paying nothing beyond our own.
 */
async function familyRate(rpc: BitcoinRpc, txid: string): Promise<FeeRate | undefined> {
  const d = (await rpc.getMempoolEntry(txid))?.descendants;
  if (!d) return undefined;
  const descendants = await rpc.getMempoolDescendants(txid);
  if (!descendants || descendants.length > MAX_DESCENDANTS_CHECKED) return undefined;
  const family = new Set([txid, ...descendants]);
  for (const c of descendants) {
    const parents = (await rpc.getMempoolEntry(c))?.depends;
    if (!parents || parents.some((p) => !family.has(p))) return undefined;
  }
  return d.fee / BigInt(d.vsize);
}

/** What a followed transaction's bumps cost: its child's fee, or a replaced punish's fee. */
function spentOn(f: Followed): Sats {
  if (f.target.rbf) return f.current.fee;
  return f.child?.fee ?? 0n;
}
