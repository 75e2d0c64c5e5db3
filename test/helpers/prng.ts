/**
 * Seeded randomness for specs (mulberry32, labelled SHA256 blocks), so the random cases of a spec
 * are the same on every run and a failure reproduces.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { utf8ToBytes } from '@noble/hashes/utils.js';

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

/**
 * Deterministic pseudo-random bytes from `label`: SHA256(label ‖ "/" ‖ counter) blocks, each call
 * the next `length` bytes (32 by default, one block).
 */
export function labelledBytes(label: string): (length?: number) => Uint8Array {
  let counter = 0;
  return (length = 32) => {
    const out = new Uint8Array(length);
    for (let off = 0; off < length; off += 32) {
      const block = sha256(utf8ToBytes(`${label}/${counter++}`));
      out.set(block.subarray(0, Math.min(32, length - off)), off);
    }
    return out;
  };
}
