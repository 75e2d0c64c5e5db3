/**
 * Seeded randomness for specs (mulberry32, labelled SHA256 blocks), so the random cases of a spec
 * are the same on every run and a failure reproduces.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { utf8ToBytes } from '@noble/hashes/utils.js';

// one mulberry32 for specs and scenarios alike
export { mulberry32, uniform } from '../../research/scenario/random.ts';

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
