/**
 * The embedded chain's fee market, as pure functions (no bcoin): block assembly by ancestor fee
 * rate (Bitcoin Core's `BlockAssembler::addPackageTxs`) and a fee estimate from the blocks the
 * node mined (a simple, documented stand-in for Core's `estimatesmartfee`).
 *
 * Fee rates here are integers in sat per 1000 vbytes (sat/kvB), as Core keeps them
 * (`CFeeRate`); 1 sat/vB = 1000 sat/kvB.
 */

/** Weight Core's block assembler keeps free for the coinbase (`BlockAssembler` starts at 4000). */
export const COINBASE_RESERVED_WEIGHT = 4_000;

/** Consensus maximum block weight (BIP141); Core's `-blockmaxweight` default. */
export const MAX_BLOCK_WEIGHT = 4_000_000;

/** A block at least this share of `blockMaxWeight` counts as full for fee estimation. */
export const FULL_BLOCK_SHARE = 0.95;

/** Blocks (most recent first) the estimator looks at. */
export const ESTIMATE_WINDOW = 12;

/** Core's highest `estimatesmartfee` target. */
export const MAX_CONF_TARGET = 1008;

/** Core's default `-minrelaytxfee` / `-incrementalrelayfee`: 1 sat/vB. */
export const DEFAULT_MIN_RELAY_SAT_PER_KVB = 1_000;

/** One mempool transaction as the block assembler sees it. */
export interface PoolTx {
  /** Any unique id (the embedded node uses the internal-order txid). */
  id: string;
  weight: number;
  /** Virtual size (sigop-adjusted, as Core's `GetTxSize`). */
  vsize: number;
  /** Fee in sat. */
  fee: number;
  sigops: number;
  /** Ids of the mempool transactions it spends (unconfirmed parents). */
  parents: readonly string[];
  /** False if it cannot go into the next block (not final); its descendants cannot either. */
  eligible: boolean;
}

export interface SelectOptions {
  /** Weight available to transactions (block max weight minus the coinbase reserve). */
  maxWeight: number;
  /** Sigop cost available to transactions. */
  maxSigops: number;
  /** Packages below this ancestor fee rate are not mined (Core's `-blockmintxfee`), sat/kvB. */
  minFeeRate: number;
}

export interface Selection {
  /** Chosen transactions in block order (parents before children). */
  txs: PoolTx[];
  weight: number;
  sigops: number;
  fees: number;
  /** Ancestor fee rate (sat/kvB) of each package at the moment it was chosen, in order. */
  packageRates: number[];
}

/** Fee rate in sat/kvB, rounded down (Core's `CFeeRate(fee, vsize)`). */
export function feeRate(fee: number, vsize: number): number {
  return vsize > 0 ? Math.floor((fee * 1000) / vsize) : 0;
}

/** The fee a rate asks of `vsize` vbytes, rounded down (Core's `CFeeRate::GetFee`). */
export function feeFor(rateSatPerKvB: number, vsize: number): number {
  return Math.floor((rateSatPerKvB * vsize) / 1000);
}

/**
 * Chooses a block's transactions as Core's `addPackageTxs` does: repeatedly take the mempool
 * transaction whose package (itself plus its not yet chosen unconfirmed ancestors) has the
 * highest fee rate, stop when the best package pays less than `minFeeRate`, skip a package that
 * does not fit (Core's "failed" set) and keep trying the others. A low-fee parent with a
 * high-fee child is therefore mined as one package at their combined rate (CPFP).
 */
export function selectPackages(pool: readonly PoolTx[], options: SelectOptions): Selection {
  const byId = new Map(pool.map((t) => [t.id, t]));
  const ancestors = new Map<string, PoolTx[]>();
  const ancestorsOf = (tx: PoolTx): PoolTx[] => {
    const known = ancestors.get(tx.id);
    if (known) return known;
    const seen = new Map<string, PoolTx>();
    const stack = [...tx.parents];
    while (stack.length > 0) {
      const id = stack.pop()!;
      const parent = byId.get(id);
      if (!parent || seen.has(id)) continue;
      seen.set(id, parent);
      stack.push(...parent.parents);
    }
    const list = [...seen.values()];
    ancestors.set(tx.id, list);
    return list;
  };
  const blocked = (tx: PoolTx): boolean => !tx.eligible || ancestorsOf(tx).some((a) => !a.eligible);

  const included = new Set<string>();
  const failed = new Set<string>();
  const candidates = pool.filter((t) => !blocked(t));
  const result: Selection = { txs: [], weight: 0, sigops: 0, fees: 0, packageRates: [] };

  for (;;) {
    let best: { tx: PoolTx; pkg: PoolTx[]; fee: number; vsize: number } | undefined;
    for (const tx of candidates) {
      if (included.has(tx.id) || failed.has(tx.id)) continue;
      const pkg = [tx, ...ancestorsOf(tx).filter((a) => !included.has(a.id))];
      let fee = 0;
      let vsize = 0;
      for (const t of pkg) {
        fee += t.fee;
        vsize += t.vsize;
      }
      // Higher rate first (compared exactly), then the smaller package, then by id.
      if (
        !best ||
        fee * best.vsize > best.fee * vsize ||
        (fee * best.vsize === best.fee * vsize &&
          (vsize < best.vsize || (vsize === best.vsize && tx.id < best.tx.id)))
      ) {
        best = { tx, pkg, fee, vsize };
      }
    }
    if (!best) break;
    const rate = feeRate(best.fee, best.vsize);
    if (rate < options.minFeeRate) break;
    let weight = 0;
    let sigops = 0;
    for (const t of best.pkg) {
      weight += t.weight;
      sigops += t.sigops;
    }
    if (result.weight + weight > options.maxWeight || result.sigops + sigops > options.maxSigops) {
      failed.add(best.tx.id);
      continue;
    }
    // Parents first: an ancestor has fewer ancestors than its descendants (Core sorts the same).
    const ordered = [...best.pkg].sort((a, b) => ancestorsOf(a).length - ancestorsOf(b).length);
    for (const t of ordered) {
      included.add(t.id);
      result.txs.push(t);
    }
    result.weight += weight;
    result.sigops += sigops;
    result.fees += best.fee;
    result.packageRates.push(rate);
  }
  return result;
}

/** What the estimator keeps of each block. */
export interface BlockFeeStats {
  height: number;
  /** Block weight (coinbase reserve included) reached {@link FULL_BLOCK_SHARE} of the maximum. */
  full: boolean;
  /** Lowest package fee rate (sat/kvB) the block included; undefined if it had no transactions. */
  minPackageRate: number | undefined;
}

export type FeeEstimateResult =
  | { satPerKvB: number; blocks: number }
  | { satPerKvB: undefined; blocks: number };

/**
 * `estimatesmartfee` from the blocks the node mined. A block "asked" for its lowest included
 * package fee rate if it was full, and for nothing (0) if it was not (anything paying the
 * minimum would have fit). For target N (clamped to 2..1008 as Core does, so 1 behaves as 2) the
 * estimate is the highest, over every run of N consecutive blocks among the last
 * {@link ESTIMATE_WINDOW}, of the lowest ask in that run: the rate that would have confirmed
 * within N blocks from any point of the recent past. A longer target looks at longer runs, so it
 * is never more expensive than a shorter one. The result is floored at `floorSatPerKvB` (the
 * mempool minimum fee).
 *
 * With no full block in the window the node knows nothing about competition: it answers the
 * floor if the minimum fee was raised above the default 1 sat/vB, else "no estimate" (Core's
 * "Insufficient data or no feerate found"), which is what a quiet regtest node says.
 */
export function estimateFee(
  history: readonly BlockFeeStats[],
  target: number,
  floorSatPerKvB: number,
): FeeEstimateResult {
  const blocks = Math.min(Math.max(target, 2), MAX_CONF_TARGET);
  const window = history.slice(-ESTIMATE_WINDOW);
  const asks = window.map((b) => (b.full ? (b.minPackageRate ?? 0) : 0));
  if (!window.some((b) => b.full)) {
    return floorSatPerKvB > DEFAULT_MIN_RELAY_SAT_PER_KVB
      ? { satPerKvB: floorSatPerKvB, blocks }
      : { satPerKvB: undefined, blocks };
  }
  const run = Math.min(blocks, asks.length);
  let estimate = 0;
  for (let start = 0; start + run <= asks.length; start++) {
    estimate = Math.max(estimate, Math.min(...asks.slice(start, start + run)));
  }
  return { satPerKvB: Math.max(estimate, floorSatPerKvB), blocks };
}

/** sat/kvB → BTC/kvB as a JSON number with at most 8 decimals. */
export function satPerKvBToBtc(satPerKvB: number): number {
  return Number((satPerKvB / 1e8).toFixed(8));
}

/** A user's sat/vB (number or bigint, fractions allowed) → sat/kvB; throws on a bad value. */
export function satPerVbToKvB(rate: number | bigint, what: string): number {
  const n = typeof rate === 'bigint' ? Number(rate) : rate;
  if (!Number.isFinite(n) || n < 0 || n > 1e7) {
    throw new RangeError(`${what} must be a fee rate in sat/vB between 0 and 10,000,000`);
  }
  return Math.round(n * 1000);
}
