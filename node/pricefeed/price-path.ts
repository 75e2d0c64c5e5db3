/**
 * Price paths for the local feed: a seeded random walk or a CSV replay. Prices are exact
 * fixed-point {@link Price}s on BitMEX's 0.5 USD tick grid; the walk uses integer arithmetic only
 * (no `Math.random`, no floats), so one seed gives the same path on every machine and Node version.
 */
import { divRound, parseDecimal } from '../../model/fixed.ts';
import { formatPrice, type Price, parsePrice } from '../../model/units.ts';
import { DEFAULT_DRIFT, DEFAULT_VOLATILITY, TICK } from './constants.ts';
import { InvalidPricePathError } from './errors.ts';

/** Where the next price comes from. `next` gets the current price (it may have been forced). */
export interface PricePath {
  readonly kind: 'walk' | 'replay';
  next(current: Price): Price;
}

/** Rounds a price to the nearest tick (ties away from zero). */
export function roundToTick(p: Price | bigint): Price {
  return (divRound(p, TICK, 'halfAwayFromZero') * TICK) as Price;
}

/** Whether a price is on the tick grid. */
export function isOnTick(p: Price): boolean {
  return p % TICK === 0n;
}

export interface RandomWalkOptions {
  /** Seed of the walk: same seed, same path. A safe integer. */
  seed: number;
  /** Mean relative move per tick, a decimal string (`"0.0001"` = +1 bp a tick). @default '0' */
  drift?: string;
  /** Standard deviation of the relative move per tick (`"0.0005"` = 5 bp). @default '0.0005' */
  volatility?: string;
  /** Lowest price the walk may reach (so the bid stays positive). @default one tick */
  floor?: Price;
}

/** Parts per billion: the walk's rates are exact to 1e-9. */
const PPB_DECIMALS = 9;
const PPB = 10n ** BigInt(PPB_DECIMALS);
/** Uniforms are 32-bit integers: one is `u / 2^32`. */
const U32 = 2n ** 32n;
/** Irwin–Hall: the sum of 12 uniforms minus 6 has mean 0 and variance 1, close to normal. */
const UNIFORMS_PER_STEP = 12;

function rate(text: string, what: string, max: string): bigint {
  let v: bigint;
  try {
    v = parseDecimal(text, PPB_DECIMALS, what);
  } catch (err) {
    throw new InvalidPricePathError((err as Error).message);
  }
  const limit = parseDecimal(max, PPB_DECIMALS);
  if (v > limit || v < -limit) throw new InvalidPricePathError(`${what} must be within ±${max}`);
  return v;
}

/** mulberry32: a tiny 32-bit PRNG, pure integer arithmetic (Math.imul), identical everywhere. */
function mulberry32(seed: number): () => number {
  let a = seed | 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/**
 * A seeded geometric random walk: each tick moves the price by `price × (drift + volatility × z)`,
 * z ≈ N(0, 1), then rounds to the tick and clamps at `floor`.
 *
 * @example
 * const walk = randomWalk({ seed: 7 });
 * let p = parsePrice('40000');
 * p = walk.next(p); // the same value for seed 7, always
 */
export function randomWalk(options: RandomWalkOptions): PricePath {
  if (!Number.isSafeInteger(options.seed)) {
    throw new InvalidPricePathError(`seed must be an integer, got ${options.seed}`);
  }
  const drift = rate(options.drift ?? DEFAULT_DRIFT, 'drift', '0.1');
  const volatility = rate(options.volatility ?? DEFAULT_VOLATILITY, 'volatility', '0.1');
  if (volatility < 0n) throw new InvalidPricePathError('volatility must not be negative');
  const floor = options.floor ?? TICK;
  // Fold a 53-bit seed into 32 bits so large seeds still differ.
  const random = mulberry32(options.seed ^ Math.floor(options.seed / 2 ** 32));
  return {
    kind: 'walk',
    next(current) {
      let sum = 0n;
      for (let i = 0; i < UNIFORMS_PER_STEP; i++) sum += BigInt(random());
      const z = sum - 6n * U32; // z × 2^32
      const move = divRound(
        current * (drift * U32 + volatility * z),
        PPB * U32,
        'halfAwayFromZero',
      );
      const next = roundToTick(current + move);
      if (next < floor) return floor; // Math.max does not take bigints
      return next;
    },
  };
}

/**
 * Parses CSV replay data: one price a line, optionally after a timestamp column
 * (`2021-09-21T02:40:00Z,42640.5` or `42640.5`). Blank lines and `#` comments are skipped, and so is
 * a header line. Prices are rounded to the tick (historical index data has cents); a price below
 * `floor` is refused with its line number.
 */
export function parseCsvPrices(text: string, floor: Price = TICK): Price[] {
  const prices: Price[] = [];
  let first = true;
  for (const [i, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const field = (line.split(',').at(-1) ?? '').trim().replace(/^"|"$/g, '');
    const header = first && !/^\d/.test(field);
    first = false;
    if (header) continue;
    let p: Price;
    try {
      p = roundToTick(parsePrice(field));
    } catch (err) {
      throw new InvalidPricePathError(`CSV line ${i + 1}: ${(err as Error).message}`);
    }
    if (p < floor) {
      throw new InvalidPricePathError(
        `CSV line ${i + 1}: price ${formatPrice(p)} is below the minimum ${formatPrice(floor)}`,
      );
    }
    prices.push(p);
  }
  if (prices.length === 0) throw new InvalidPricePathError('CSV has no prices');
  return prices;
}

/**
 * Replays `prices` one per tick, starting after the first (which is the start price). At the end
 * it starts over when `loop` is set, else holds the last price.
 */
export function csvReplay(prices: readonly Price[], loop = false): PricePath {
  if (prices.length === 0) throw new InvalidPricePathError('nothing to replay');
  let index = 1;
  return {
    kind: 'replay',
    next(current) {
      if (index >= prices.length) {
        if (!loop) return prices.at(-1) ?? current;
        index = 0;
      }
      return prices[index++] ?? current;
    },
  };
}
