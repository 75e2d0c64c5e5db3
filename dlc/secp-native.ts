/**
 * Native libsecp256k1 point arithmetic for the adaptor-signature hot path, through the
 * `secp256k1` package's N-API bindings (it ships linux-x64/darwin-arm64/win32-x64 prebuilds).
 *
 * Why: a CET set needs well over a thousand adaptor signatures per contract setup and rollover;
 * one point-by-scalar multiplication costs ≈ 33 µs natively against ≈ 1.6 ms in cold pure JS.
 * Only the bindings are used: the package's own fallback is `elliptic`, which is slower than
 * @noble/curves, so when the bindings do not load {@link nativeCurve} is null and callers stay
 * on noble. Every result is the same group element either way; `dlc/adaptor.ts` checks that the
 * two paths are byte-identical in its tests.
 *
 * Points are 33-byte compressed encodings and `null` stands for the point at infinity; scalars
 * are bigints reduced mod n. Inputs are assumed valid (callers validate with {@link isPoint}).
 *
 * Timing (the bundled libsecp256k1 is a 2019 snapshot, node_modules/secp256k1/src/secp256k1):
 * - `publicKeyCreate` → `secp256k1_ec_pubkey_create` → `secp256k1_ecmult_gen`
 *   (src/ecmult_gen_impl.h:125), constant time: cmov table scans, scalar blinded by the context's
 *   blinding value, which {@link loadBindings} re-randomizes once per thread
 *   (`secp256k1_context_randomize`; the default is a fixed value). Secret k·G: {@link mulG}.
 * - `publicKeyTweakMul` → `secp256k1_ec_pubkey_tweak_mul` (src/secp256k1.c:628) →
 *   `secp256k1_eckey_pubkey_tweak_mul` (src/eckey_impl.h:95) → `secp256k1_ecmult`, the
 *   variable-time Strauss/wNAF multiplication (secret-dependent additions and table indices).
 *   Public scalars only: {@link mul}.
 * - `ecdh` → `secp256k1_ecdh` (src/modules/ecdh/main_impl.h:51) → `secp256k1_ecmult_const`,
 *   constant time (fixed wNAF schedule, cmov table lookups, src/ecmult_const_impl.h:16-35).
 *   With a hash function that returns the compressed point it is a constant-time k·P: secret
 *   k·P: {@link mulSecret} (≈ 1.3× the cost of `publicKeyTweakMul` here).
 * - `ecdsaRecover` (behind {@link mulAddG}) and `publicKeyCombine`: `secp256k1_ecmult` /
 *   additions, variable time, used for verification on public data only.
 */
import { createRequire } from 'node:module';
import { equalBytes } from '@noble/curves/utils.js';
import { randomBytes } from '@noble/hashes/utils.js';
import type * as Secp256k1 from 'secp256k1';
import { bytesToBigInt, G, mod, N, pointToBytes, scalarToBytes } from './secp.ts';

type Bindings = typeof Secp256k1;

/** libsecp256k1 through the `secp256k1` bindings: the operations dlc/ needs, on 33-byte points. */
export interface NativeCurve {
  /** Whether `p` is a 33-byte compressed encoding (02/03 prefix) of a point on the curve. */
  isPoint(p: Uint8Array): boolean;
  /**
   * The 65-byte uncompressed encoding (04 ‖ x ‖ y) of a 33-byte compressed point, or null when
   * `p` is not one: a native square root, where noble's costs ≈ 0.1 ms.
   */
  decompress(p: Uint8Array): Uint8Array | null;
  /**
   * k·G (null for k ≡ 0). Uses libsecp256k1's precomputed generator tables (`ecmult_gen`,
   * constant time: fine for secret k).
   */
  mulG(k: bigint): Uint8Array | null;
  /**
   * k·P (null for k ≡ 0) with the variable-time `secp256k1_ecmult`: public k only
   * (verification). A secret k goes to {@link mulSecret}.
   */
  mul(p: Uint8Array, k: bigint): Uint8Array | null;
  /**
   * k·P (null for k ≡ 0) with the constant-time `secp256k1_ecmult_const` (through `ecdh`): the
   * same point as {@link mul}, for secret k (nonces). Throws where `p` does not parse, as `mul`.
   */
  mulSecret(p: Uint8Array, k: bigint): Uint8Array | null;
  /** P + Q, either possibly infinity. */
  add(p: Uint8Array | null, q: Uint8Array | null): Uint8Array | null;
  /** a·P + b·G in one Strauss multi-multiplication (≈ the cost of one k·P). */
  mulAddG(p: Uint8Array, a: bigint, b: bigint): Uint8Array | null;
}

function loadBindings(): Bindings | null {
  try {
    const require = createRequire(import.meta.url);
    const bindings = require('secp256k1/bindings') as Bindings;
    // Known answers (1·G and 2·G) guard against a binding that loads but computes wrongly.
    const ok = [1n, 2n].every((k) =>
      equalBytes(bindings.publicKeyCreate(scalarToBytes(k), true), pointToBytes(G.multiply(k))),
    );
    if (!ok) return null;
    // ecmult_gen adds a blinding value to every secret scalar; libsecp256k1 starts from a fixed
    // one. A random one per thread hardens k·G against power/EM analysis; results are unchanged.
    bindings.contextRandomize(randomBytes(32));
    return bindings;
  } catch {
    return null;
  }
}

function makeNativeCurve(s: Bindings): NativeCurve {
  const mulG = (k: bigint): Uint8Array | null => {
    const kk = mod(k);
    return kk === 0n ? null : s.publicKeyCreate(scalarToBytes(kk), true);
  };
  const mul = (p: Uint8Array, k: bigint): Uint8Array | null => {
    const kk = mod(k);
    return kk === 0n ? null : s.publicKeyTweakMul(p, scalarToBytes(kk), true);
  };
  // ecdh's hash-function hook receives the affine x and y of k·P: it returns the compressed
  // encoding instead of a hash. The x/y scratch buffers are reused (ecdh copies into them).
  const xbuf = new Uint8Array(32);
  const ybuf = new Uint8Array(32);
  const mulSecret = (p: Uint8Array, k: bigint): Uint8Array | null => {
    const kk = mod(k);
    if (kk === 0n) return null;
    const out = new Uint8Array(33);
    const hashfn = (x: Uint8Array, y: Uint8Array): Uint8Array => {
      out[0] = 0x02 | ((y[31] as number) & 1);
      out.set(x, 1);
      return out;
    };
    s.ecdh(p, scalarToBytes(kk), { hashfn, xbuf, ybuf }, out);
    return out;
  };
  const add = (p: Uint8Array | null, q: Uint8Array | null): Uint8Array | null => {
    if (p === null) return q;
    if (q === null) return p;
    try {
      return s.publicKeyCombine([p, q], true);
    } catch {
      return null; // P = −Q: libsecp256k1 refuses to encode the point at infinity
    }
  };
  return {
    isPoint(p: Uint8Array): boolean {
      return (
        p instanceof Uint8Array &&
        p.length === 33 &&
        (p[0] === 0x02 || p[0] === 0x03) &&
        s.publicKeyVerify(p)
      );
    },
    decompress(p: Uint8Array): Uint8Array | null {
      if (!(p instanceof Uint8Array) || p.length !== 33 || (p[0] !== 0x02 && p[0] !== 0x03)) {
        return null;
      }
      try {
        return s.publicKeyConvert(p, false);
      } catch {
        return null;
      }
    },
    mulG,
    mul,
    mulSecret,
    add,
    mulAddG(p: Uint8Array, a: bigint, b: bigint): Uint8Array | null {
      // ECDSA public-key recovery computes ρ⁻¹·(σ·P − μ·G) for the point P whose x coordinate is
      // ρ (+ n when recid has bit 2) and whose y parity is recid's bit 1 — i.e. an exact a·P + b·G
      // in one ecmult with σ = a·ρ and μ = −b·ρ. The bindings expose no other double
      // multiplication, and this is ≈ 45% cheaper than k·P, k·G and an addition.
      const aa = mod(a);
      const x = bytesToBigInt(p.subarray(1, 33));
      let rho = x;
      let recid = (p[0] as number) & 1;
      if (x >= N) {
        rho = x - N;
        recid |= 2;
      }
      if (aa === 0n || rho === 0n) return add(mul(p, aa), mulG(b));
      const sig = new Uint8Array(64);
      sig.set(scalarToBytes(rho), 0);
      sig.set(scalarToBytes(mod(aa * rho)), 32);
      try {
        return s.ecdsaRecover(sig, recid, scalarToBytes(mod(-b * rho)), true);
      } catch {
        return null; // the combination is the point at infinity
      }
    },
  };
}

const bindings = loadBindings();

/** The native curve, or null where the `secp256k1` bindings do not load (then use noble). */
export const nativeCurve: NativeCurve | null = bindings === null ? null : makeNativeCurve(bindings);
