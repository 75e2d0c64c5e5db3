/**
 * mulberry32: a tiny seeded PRNG, so the random cases of a spec are the same on every run and a
 * failure reproduces.
 */

/** Unsigned 32-bit integers from `seed`. */
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

/** Numbers in [0, 1) from `seed`: {@link mulberry32} over 2^32. */
export function uniform(seed: number): () => number {
  const next = mulberry32(seed);
  return () => next() / 4_294_967_296;
}
