/**
 * Fee rates from the chain backend, bounded by what the user allows.
 *
 * Every rate the node pays (lock, commit and close at setup, rollover and settlement; the bumps
 * of node/daemon/fee-bumper.ts) comes from one reading: Bitcoin Core's `estimatesmartfee` for a
 * confirmation target, floored at the node's mempool minimum (`getmempoolinfo`'s
 * `mempoolminfee` and `minrelaytxfee`: below it a transaction does not even enter a mempool) and
 * capped at the user's maximum. A node with no estimate yet (a fresh regtest chain) uses the
 * configured fallback, as Core's wallet does with `-fallbackfee`. The reading says which of these
 * decided the rate, so the UI can show its source.
 *
 * @example
 * const fees = new FeeEstimator({ rpc: () => rpc, maxRate: 500n });
 * const r = await fees.refresh();           // on every block
 * r.rate; r.source;                         // 12n, 'estimatesmartfee'
 * fees.estimateFor(2);                      // the bump policy's per-target estimate
 */
import { type Logger, pino } from 'pino';
import type { FeeRate } from '../../model/units.ts';
import { btcToSats } from './amount.ts';
import type { BitcoinRpc, RpcCallOptions } from './rpc.ts';

/** Blocks within which a rate is meant to confirm by default (lock, commit, close). */
export const DEFAULT_CONF_TARGET = 3;
/** Never pay more than this many sat/vB unless the user raises it. */
export const DEFAULT_MAX_FEE_RATE = 500n;
/** When the backend has no estimate: Core's wallet default `-fallbackfee` is 0 (off); 1 sat/vB is regtest's floor. */
export const DEFAULT_FALLBACK_FEE_RATE = 1n;
/** Targets asked on every refresh: what the bump policy needs as a deadline nears. */
export const ESTIMATE_TARGETS = [1, 2, 3, 6, 12, 24] as const;

/** What decided a reading's rate. */
export type FeeRateSource = 'estimatesmartfee' | 'mempool-minimum' | 'fallback' | 'cap';

/** One reading of the fee market, as the node uses it and the UI shows it. */
export interface FeeRateReading {
  /** sat/vB to pay now for {@link target}: max(estimate or fallback, floor), at most {@link cap}. */
  readonly rate: FeeRate;
  readonly source: FeeRateSource;
  readonly target: number;
  /** The backend's estimate for the target (sat/vB, rounded up), if it has one. */
  readonly estimate: FeeRate | undefined;
  /** The mempool minimum (sat/vB, rounded up): nothing cheaper relays. */
  readonly floor: FeeRate;
  readonly cap: FeeRate;
  /** The floor is above the cap: what the node pays may not relay until the market calms. */
  readonly floorAboveCap: boolean;
  /** Estimates per target (sat/vB), for the bump policy. */
  readonly byTarget: Readonly<Record<number, FeeRate | undefined>>;
  /** Unix ms of the reading. */
  readonly at: number;
}

export interface FeeEstimatorOptions {
  readonly rpc: () => BitcoinRpc | undefined;
  /** @default DEFAULT_CONF_TARGET */
  readonly target?: number;
  /** @default DEFAULT_MAX_FEE_RATE */
  readonly maxRate?: FeeRate;
  /** @default DEFAULT_FALLBACK_FEE_RATE */
  readonly fallbackRate?: FeeRate;
  readonly clock?: () => number;
  readonly logger?: Logger;
}

/** sat/kvB → sat/vB, rounded up (paying a fraction of a sat/vB less could miss the floor). */
export function perVbyte(satPerKvB: bigint): FeeRate {
  return (satPerKvB + 999n) / 1000n;
}

/** Reads and remembers the fee market; safe to call `refresh` concurrently (one at a time runs). */
export class FeeEstimator {
  readonly #o: Required<Omit<FeeEstimatorOptions, 'logger'>>;
  readonly #log: Logger;
  #current: FeeRateReading | undefined;
  #inFlight: Promise<FeeRateReading> | undefined;

  constructor(options: FeeEstimatorOptions) {
    this.#o = {
      rpc: options.rpc,
      target: options.target ?? DEFAULT_CONF_TARGET,
      maxRate: options.maxRate ?? DEFAULT_MAX_FEE_RATE,
      fallbackRate: options.fallbackRate ?? DEFAULT_FALLBACK_FEE_RATE,
      clock: options.clock ?? Date.now,
    };
    if (this.#o.maxRate < 1n)
      throw new RangeError('the maximum fee rate must be at least 1 sat/vB');
    this.#log = options.logger ?? pino({ level: 'silent' });
  }

  get cap(): FeeRate {
    return this.#o.maxRate;
  }

  get fallback(): FeeRate {
    return this.#o.fallbackRate;
  }

  /** The last reading; undefined until the chain answered once. */
  current(): FeeRateReading | undefined {
    return this.#current;
  }

  /**
   * The rate to pay now for the default target: the last reading's, else the fallback (never
   * above the cap). What setup, rollover and close terms start from.
   */
  rate(): FeeRate {
    return this.#current?.rate ?? minRate(this.#o.fallbackRate, this.#o.maxRate);
  }

  /** The mempool minimum of the last reading (1 sat/vB before any). */
  floor(): FeeRate {
    return this.#current?.floor ?? 1n;
  }

  /**
   * The estimate for confirming within `target` blocks, floored at the mempool minimum, not
   * capped (the caller caps: the bump policy reports when the cap bites); the fallback (floored)
   * when the backend has none for that target or a shorter one.
   */
  estimateFor(target: number): FeeRate {
    const r = this.#current;
    if (!r) return this.#o.fallbackRate;
    let best: FeeRate | undefined;
    // The estimate for the largest known target not above the asked one: shorter targets cost more.
    for (const t of ESTIMATE_TARGETS) {
      if (t > Math.max(1, target)) break;
      best = r.byTarget[t] ?? best;
    }
    const base = best ?? r.estimate ?? this.#o.fallbackRate;
    // biome-ignore lint/complexity/useMathMinMax: bigints (Math.min/max take numbers)
    return base > r.floor ? base : r.floor;
  }

  /** Asks the backend (every target, then the mempool minimum) and keeps the reading. */
  refresh(options: RpcCallOptions = {}): Promise<FeeRateReading> {
    this.#inFlight ??= this.#refresh(options).finally(() => {
      this.#inFlight = undefined;
    });
    return this.#inFlight;
  }

  async #refresh(options: RpcCallOptions): Promise<FeeRateReading> {
    const rpc = this.#o.rpc();
    if (!rpc) throw new Error('no chain backend to read fee rates from');
    const byTarget: Record<number, FeeRate | undefined> = {};
    for (const t of ESTIMATE_TARGETS) {
      const e = await rpc.estimateSmartFee(t, options);
      byTarget[t] =
        e.satPerKvB !== undefined && e.satPerKvB > 0n ? perVbyte(e.satPerKvB) : undefined;
    }
    const floor = await mempoolFloor(rpc, options);
    const { target, maxRate: cap, fallbackRate } = this.#o;
    let estimate: FeeRate | undefined;
    for (const t of ESTIMATE_TARGETS) if (t <= target) estimate = byTarget[t] ?? estimate;
    let rate = estimate ?? fallbackRate;
    let source: FeeRateSource = estimate !== undefined ? 'estimatesmartfee' : 'fallback';
    if (floor > rate) {
      rate = floor;
      source = 'mempool-minimum';
    }
    if (rate > cap) {
      rate = cap;
      source = 'cap';
    }
    const reading: FeeRateReading = {
      rate,
      source,
      target,
      estimate,
      floor,
      cap,
      floorAboveCap: floor > cap,
      byTarget,
      at: this.#o.clock(),
    };
    if (reading.floorAboveCap) {
      this.#log.warn(
        { floor, cap },
        'the mempool minimum fee rate is above the maximum allowed: transactions may not relay',
      );
    }
    this.#current = reading;
    return reading;
  }
}

function minRate(a: FeeRate, b: FeeRate): FeeRate {
  return a < b ? a : b;
}

/** max(mempoolminfee, minrelaytxfee) of `getmempoolinfo`, sat/vB rounded up; 1 when unknown. */
async function mempoolFloor(rpc: BitcoinRpc, options: RpcCallOptions): Promise<FeeRate> {
  let info: unknown;
  try {
    info = await rpc.call('getmempoolinfo', [], options);
  } catch (err) {
    if ((err as { code?: unknown }).code === -32601) return 1n; // method not found
    throw err;
  }
  let floor = 1n;
  if (info && typeof info === 'object') {
    for (const key of ['mempoolminfee', 'minrelaytxfee'] as const) {
      const v = (info as Record<string, unknown>)[key];
      if (typeof v === 'string' || typeof v === 'number') {
        const r = perVbyte(btcToSats(String(v)));
        if (r > floor) floor = r;
      }
    }
  }
  return floor;
}
