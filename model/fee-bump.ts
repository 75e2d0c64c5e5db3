/**
 * Fee bumping policy, pure: which fee rate to aim for each block so a CFD transaction confirms
 * before its deadline, and how each transaction can be bumped and what its deadline is.
 *
 * {@link nextBumpRate}'s rules, for blocks left `L = deadlineHeight − height`:
 * 1. aim to confirm with two blocks of margin: target `t = max(1, L − 2)` blocks, rate
 *    `max(estimate(t), floor)`, or `floor` when the estimator has no answer for `t` (the floor
 *    applies before the escalations below, so they escalate from at least the floor);
 * 2. past half the window (when `startHeight` is given and `height − startHeight ≥
 *    ⌈(deadlineHeight − startHeight) / 2⌉`): ×1.5 over that estimate, rounded up;
 * 3. urgent, within {@link URGENT_BLOCKS} blocks of the deadline (or past it): twice the one-block
 *    rate of rule 1 — the next block must take it;
 * 4. never below `floor` (the mempool minimum), nor below `previous + incremental` when a rate
 *    was already paid and did not confirm (a BIP125 replacement must pay strictly more);
 * 5. never above `maxRate` (the user's cap): then `capped` is true. The cap wins over 4.
 *
 * With an estimator that asks no less for fewer blocks (`estimate(a) ≥ estimate(b)` for `a < b`),
 * the rate never falls as the height rises.
 */
import { InvalidAmountError } from './errors.ts';
import type { FeeRate, Role, Sats } from './units.ts';

/** Blocks before the deadline from which a bump is urgent (rule 3). */
export const URGENT_BLOCKS = 3;
/** Blocks of margin the target leaves before the deadline (rule 1). */
export const DEADLINE_MARGIN_BLOCKS = 2;

export interface BumpRateInput {
  /** Current chain height (the tip). */
  readonly height: number;
  /** Last height at which the transaction must be confirmed. */
  readonly deadlineHeight: number;
  /** Height the transaction was first broadcast at; enables the half-window escalation. */
  readonly startHeight?: number;
  /** Fee rate estimated to confirm within `targetBlocks`, or undefined when unknown. */
  readonly estimate: (targetBlocks: number) => FeeRate | undefined;
  /** Mempool minimum: nothing below this relays. */
  readonly floor: FeeRate;
  /** The user's cap. */
  readonly maxRate: FeeRate;
  /** The rate paid last time, if that transaction (or package) did not confirm. */
  readonly previous?: FeeRate;
  /** Incremental relay fee rate (1 sat/vB in Bitcoin Core). */
  readonly incremental: FeeRate;
}

export interface BumpRate {
  readonly rate: FeeRate;
  /** True when the rules asked for more than `maxRate`. */
  readonly capped: boolean;
  /** `deadlineHeight − height`; zero or negative once the deadline is reached. */
  readonly blocksLeft: number;
  /** Within {@link URGENT_BLOCKS} of the deadline. */
  readonly urgent: boolean;
  /** The confirmation target used for the estimate. */
  readonly target: number;
}

/** The package fee rate to aim for at `height`; see the module comment for the rules. */
export function nextBumpRate(input: BumpRateInput): BumpRate {
  const { height, deadlineHeight, floor, maxRate, incremental } = input;
  if (floor < 1n || maxRate < 1n || incremental < 0n) {
    throw new InvalidAmountError('fee rates must be at least 1 sat/vB');
  }
  const blocksLeft = deadlineHeight - height;
  const urgent = blocksLeft <= URGENT_BLOCKS;
  const target = Math.max(1, blocksLeft - DEADLINE_MARGIN_BLOCKS);
  // The floor applies before escalating: an estimate below it (or none) counts as the floor.
  const estimate = (t: number): FeeRate => {
    const e = input.estimate(t);
    return e === undefined || e < floor ? floor : e;
  };
  let rate = estimate(target);
  if (urgent) {
    rate = 2n * estimate(1);
  } else if (input.startHeight !== undefined) {
    const window = deadlineHeight - input.startHeight;
    if (2 * (height - input.startHeight) >= window) rate = ceilDiv(rate * 3n, 2n);
  }
  if (rate < floor) rate = floor;
  if (input.previous !== undefined && rate < input.previous + incremental) {
    rate = input.previous + incremental;
  }
  const capped = rate > maxRate;
  if (capped) rate = maxRate;
  return { rate, capped, blocksLeft, urgent, target };
}

/** Fee of `vbytes` virtual bytes at `rate`: `rate × ⌈vbytes⌉`. */
export function feeForRate(rate: FeeRate, vbytes: number): Sats {
  assertVbytes(vbytes);
  return rate * BigInt(Math.ceil(vbytes));
}

/** The highest whole rate `budgetSats` pays for `vbytes`: `⌊budget / ⌈vbytes⌉⌋` (0 if none). */
export function budgetRate(budgetSats: Sats, vbytes: number): FeeRate {
  assertVbytes(vbytes);
  if (budgetSats <= 0n) return 0n;
  return budgetSats / BigInt(Math.ceil(vbytes));
}

function assertVbytes(vbytes: number): void {
  if (!Number.isFinite(vbytes) || vbytes <= 0) {
    throw new InvalidAmountError(`a transaction size must be positive, got ${vbytes}`);
  }
}

function ceilDiv(a: bigint, b: bigint): bigint {
  return (a + b - 1n) / b;
}

// ---- What to bump, how, and by when ----------------------------------------------------------

/** A CFD transaction we need confirmed. */
export type BumpKind = 'commit' | 'cet' | 'refund' | 'close' | 'punish';

/**
 * How it is bumped: a child spending our anchor of the commit; a child spending our payout output
 * (CET, refund, collaborative close pay each party to its own wallet address); or replacing it
 * (the punish pays us alone, so we re-sign it at a higher rate).
 */
export type BumpMethod = 'cpfp-anchor' | 'cpfp-output' | 'rbf';

export interface BumpPlan {
  readonly kind: BumpKind;
  readonly method: BumpMethod;
  /** Last height at which it must be confirmed. */
  readonly deadlineHeight: number;
}

/** How each kind is bumped. */
export function bumpMethod(kind: BumpKind): BumpMethod {
  switch (kind) {
    case 'commit':
      return 'cpfp-anchor';
    case 'cet':
    case 'refund':
    case 'close':
      return 'cpfp-output';
    case 'punish':
      return 'rbf';
  }
}

/**
 * Who pays first for a transaction both parties send (CET, refund, collaborative close — each
 * could add a child through its own payout, and two children for one package pay twice): the
 * party it pays more, the maker on a tie. Both nodes derive the same answer from the transaction.
 * The other waits a block for that child before paying one of its own (node/daemon/fee-bumper.ts).
 */
export function counterpartyPaysFirst(
  role: Role,
  paid: { readonly ours: Sats; readonly theirs: Sats },
): boolean {
  if (paid.theirs !== paid.ours) return paid.theirs > paid.ours;
  return role === 'taker';
}

/**
 * The punish must confirm before the cheater's CET can: a CET spends the revoked commit with a
 * relative lock of `cetTimelock` blocks, so it is valid in block `commitHeight + cetTimelock`;
 * the punish's deadline is the block before.
 */
export function punishDeadline(revokedCommitHeight: number, cetTimelock: number): number {
  assertHeight(revokedCommitHeight);
  assertTimelock(cetTimelock);
  return revokedCommitHeight + cetTimelock - 1;
}

/**
 * A CET must confirm before the refund can: the refund spends the commit with a relative lock of
 * `refundTimelock` blocks, valid in block `commitHeight + refundTimelock`; the CET's deadline is
 * the block before (the same rule as {@link punishDeadline}).
 */
export function cetDeadline(commitHeight: number, refundTimelock: number): number {
  assertHeight(commitHeight);
  assertTimelock(refundTimelock);
  return commitHeight + refundTimelock - 1;
}

/** Commit, close and refund: no competitor, a user-configured target from first broadcast. */
export function targetDeadline(firstBroadcastHeight: number, targetBlocks: number): number {
  assertHeight(firstBroadcastHeight);
  assertTimelock(targetBlocks);
  return firstBroadcastHeight + targetBlocks;
}

/** The plan for one transaction; `deadlineHeight` from the rules above. */
export function bumpPlan(kind: BumpKind, deadlineHeight: number): BumpPlan {
  assertHeight(deadlineHeight);
  return { kind, method: bumpMethod(kind), deadlineHeight };
}

function assertHeight(h: number): void {
  if (!Number.isSafeInteger(h) || h < 0) {
    throw new InvalidAmountError(`a block height must be a whole number ≥ 0, got ${h}`);
  }
}

function assertTimelock(blocks: number): void {
  if (!Number.isSafeInteger(blocks) || blocks < 1) {
    throw new InvalidAmountError(`a number of blocks must be a whole number ≥ 1, got ${blocks}`);
  }
}
