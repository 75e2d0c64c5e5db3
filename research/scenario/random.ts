/**
 * Seeded randomness for scenarios: every random choice of a run (the price walk, each actor's
 * decisions) comes from a stream derived from the scenario's seed and a label, so the same seed
 * gives the same run and one actor's stream does not shift when another actor is added.
 */

/** A generator of floats in [0, 1). */
export type Random = () => number;

/**
 * mulberry32 (Tommy Ettinger): a tiny, well-known PRNG of unsigned 32-bit integers; plenty for
 * simulation (the specs' seeded cases use it too).
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** Floats in [0, 1) from `seed`: {@link mulberry32} over 2^32. */
export function uniform(seed: number): Random {
  const next = mulberry32(seed);
  return () => next() / 4_294_967_296;
}

/** FNV-1a of a string: a 32-bit seed from the scenario seed and a label. */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** The stream for `label` (`price`, a taker's name) under `seed`. */
export function streamFor(seed: number, label: string): Random {
  return uniform(fnv1a(`${seed}:${label}`));
}

/** A whole number in [lo, hi], inclusive. */
export function intBetween(random: Random, lo: number, hi: number): number {
  return lo + Math.floor(random() * (hi - lo + 1));
}

/** One element of a non-empty list. */
export function pick<T>(random: Random, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)]!;
}

/** A standard normal draw (Box–Muller; consumes two uniforms). */
export function normal(random: Random): number {
  const u = 1 - random(); // (0, 1]: log(0) is never taken
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}
