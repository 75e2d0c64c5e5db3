/**
 * The arithmetic of a coin-pool split (see `Wallet.planPoolSplit`): which sources to spend and
 * into how many pool coins, at a fee rate. Pure.
 */
import type { CoinPoolTarget, Utxo } from './types.ts';

/** What a split spends and creates. */
export interface SplitPlan {
  /** Sources spent, largest first. */
  used: Utxo[];
  /** Pool coins created. */
  n: number;
  /** What is left after the pool coins and the fee (a change coin if above dust). */
  change: bigint;
}

/**
 * Spends the largest of `coins` that hold at least two pool coins into as many pool coins as they
 * hold, up to the shortfall below `target.count` (`sized` coins already count), plus change.
 * Undefined when the pool is full or nothing is large enough.
 */
export function planSplit(
  coins: readonly Utxo[],
  sized: number,
  target: CoinPoolTarget,
  feeRate: bigint,
): SplitPlan | undefined {
  const want = target.count - sized;
  if (want <= 0) return undefined;
  const sources = coins
    .filter((u) => u.value >= 2n * target.value)
    .sort((a, b) => (b.value > a.value ? 1 : b.value < a.value ? -1 : 0));
  const used: Utxo[] = [];
  let total = 0n;
  // vbytes: 11 of header, 68 per P2WPKH input, 31 per P2WPKH output (n pool coins + change).
  const fee = (inputs: number, outputs: number) =>
    BigInt(11 + 68 * inputs + 31 * outputs) * feeRate;
  for (const u of sources) {
    if (total >= BigInt(want + 1) * target.value + fee(used.length, want + 1)) break;
    used.push(u);
    total += u.value;
  }
  if (used.length === 0) return undefined;
  let n = Math.min(want, Number((total - fee(used.length, 1)) / target.value));
  let change = 0n;
  for (; n > 0; n--) {
    change = total - BigInt(n) * target.value - fee(used.length, n + 1);
    if (change >= 0n) break;
  }
  if (n < 1) return undefined;
  return { used, n, change };
}
