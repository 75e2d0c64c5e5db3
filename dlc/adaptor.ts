/**
 * ECDSA adaptor signatures exactly as the DLC specification (`ECDSA-adaptor.md`) and
 * libsecp256k1-zkp's `ecdsa_adaptor` module define them, byte-compatible with maia/ItchySats.
 *
 * An adaptor signature is an ECDSA signature "encrypted" to a point Y: anyone can check that it
 * will become a valid signature once decrypted with y (Y = y·G), and whoever sees both the
 * adaptor signature and the decrypted signature learns y. DLCs use this twice: CET signatures are
 * encrypted to the oracle's anticipated attestation point, and commit signatures to the
 * counterparty's publish key (publishing a commit therefore reveals the publish secret).
 *
 * Wire format (162 bytes): R(33) ‖ R_a(33) ‖ s_a(32) ‖ e(32) ‖ c(32), where (e, c) is the DLEQ
 * proof that log_G(R_a) = log_Y(R).
 *
 * Two implementations compute the same bytes: native libsecp256k1 (`dlc/secp-native.ts`, ≈ 25×
 * faster, used whenever its bindings load) and @noble/curves (pure JS, the fallback). Both derive
 * the same nonces and hash the same encodings, so signatures and verdicts are identical; the
 * tests compare them on random inputs. Bulk work over all cores: `dlc/workers.ts`.
 *
 * Timing side channels (issue #13 item 8). Signing handles four secrets: the signing key x, the
 * nonce k, the DLEQ nonce a and, in {@link adaptorDecrypt}, the decryption key y. Where each goes:
 * - k·G, a·G. Native: `publicKeyCreate` → libsecp256k1's `secp256k1_ecmult_gen`, constant time
 *   (and blinded; see `dlc/secp-native.ts`). Noble: `Point.multiply`, documented constant time
 *   (fixed-window wNAF with fake additions, scalar blinding: @noble/curves
 *   abstract/weierstrass.js `multiply`), never `multiplyUnsafe`.
 * - k·Y, a·Y. Native: these went through `publicKeyTweakMul`, which in the bundled 2019
 *   libsecp256k1 is `secp256k1_ecmult` (src/eckey_impl.h:95), variable time: the number of
 *   additions and the table indices depend on the scalar — thousands of nonces per contract setup
 *   timed under the same key. Now they go through `NativeCurve.mulSecret`: `ecdh`, i.e.
 *   `secp256k1_ecmult_const`, constant time (≈ 1.3× the cost). Noble: `Point.multiply`, as above.
 * - k⁻¹ (and y⁻¹ when decrypting). `Fn.inv` is @noble/curves' `invert`, an extended Euclid whose
 *   loop count depends on its input (its source says so: abstract/modular.js `invert`) — the
 *   Minerva-class leak. `Fn.invertBatch` is the same single inversion of the product of all the
 *   set's nonces. Now every inversion of a secret is blinded as in noble's own ECDSA `sign`: for a
 *   fresh uniform b ∈ [1, n−1], s_a = (b·k)⁻¹·(b·m + (b·x)·r) and y⁻¹ = (b·y)⁻¹·b; the batch
 *   inverts (∏ b·kᵢ)·c for a fresh c. The inversion only ever sees a uniformly random value, and
 *   the output bytes are exactly the unblinded ones ({@link blinding} is the test seam).
 * - Nonce derivation (tagged SHA-256, @noble/hashes): no secret-dependent branches or indices.
 * - What remains: V8 `BigInt` arithmetic (`a + e·k`, the reductions mod n, the blinded products)
 *   is not constant time in the strict sense — its cost follows operand lengths (a 64-bit leading
 *   zero limb: probability 2⁻⁶⁴ per value) and division has rare correction steps — and JS gives
 *   no control over JIT or GC. What is gone are the secret-dependent loop counts (Euclid) and
 *   table indices (ecmult), the practically exploitable part. Verification (`assert`/`verify`,
 *   `mulAddG`, `multiplyUnsafe`, `invertBatch` of r values) sees only public data, stays fast.
 */

import { mapHashToField } from '@noble/curves/abstract/modular.js';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { equalBytes } from '@noble/curves/utils.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { randomBytes } from '@noble/hashes/utils.js';
import {
  AdaptorRecoveryError,
  InvalidAdaptorSignatureEncodingError,
  InvalidAdaptorSignatureError,
  InvalidDleqProofError,
  InvalidPointError,
  InvalidScalarError,
  InvalidSignatureEncodingError,
} from './errors.ts';
import {
  bytesToBigInt,
  Fn,
  G,
  mod,
  N,
  type Point,
  parsePoint,
  parseSecretScalar,
  pointToBytes,
  scalarToBytes,
  taggedHash,
} from './secp.ts';
import { type NativeCurve, nativeCurve } from './secp-native.ts';

/**
 * Blinding of secret inversions (see the module doc). A test seam: `factor` draws a fresh
 * uniform scalar in 1 … n−1 and `invert` is the (variable-time) inversion, which only ever sees
 * blinded values; tests replace them to observe or pin the blinding. Not for application code.
 */
export const blinding: { factor: () => bigint; invert: (a: bigint) => bigint } = {
  // 48 random bytes mapped mod n−1, plus 1: negligible bias (noble's `mapHashToField`).
  factor: () => bytesToBigInt(mapHashToField(randomBytes(48), N)),
  invert: (a) => Fn.inv(a),
};

/** s_a = k⁻¹·(m + r·x), computed as (b·k)⁻¹·(b·m + (b·x)·r) for a fresh b. */
function blindedSa(k: bigint, m: bigint, r: bigint, x: bigint): bigint {
  const b = blinding.factor();
  const ibk = blinding.invert(mod(b * k));
  return mod(ibk * mod(mod(b * m) + mod(b * x) * r));
}

/** a⁻¹ for a secret a ≠ 0, computed as (b·a)⁻¹·b for a fresh b. */
function blindedInverse(a: bigint): bigint {
  const b = blinding.factor();
  return mod(blinding.invert(mod(a * b)) * b);
}

/**
 * The inverses of non-zero secret scalars with one inversion (Montgomery's trick), which sees the
 * product of all of them times a fresh blinding factor.
 */
function blindedInverseBatch(values: readonly bigint[]): bigint[] {
  const n = values.length;
  const prefix: bigint[] = new Array(n);
  let acc = 1n;
  for (let i = 0; i < n; i++) {
    prefix[i] = acc;
    acc = mod(acc * (values[i] as bigint));
  }
  let inv = blindedInverse(acc);
  const out: bigint[] = new Array(n);
  for (let i = n - 1; i >= 0; i--) {
    out[i] = mod(inv * (prefix[i] as bigint));
    inv = mod(inv * (values[i] as bigint));
  }
  return out;
}

/** Length of a serialized adaptor signature. */
export const ADAPTOR_SIGNATURE_LENGTH = 162;

const TAG_NONCE = 'ECDSAadaptor/non';
const TAG_AUX = 'ECDSAadaptor/aux';
const TAG_DLEQ = 'DLEQ';

/** An adaptor signature split into its parts (points validated, scalars range-checked). */
export interface AdaptorSignatureParts {
  /** R = k·Y, the point whose x coordinate becomes the ECDSA r. */
  readonly R: Point;
  /** r = x(R) mod n. */
  readonly r: bigint;
  /** R_a = k·G. */
  readonly Ra: Point;
  /** s_a = k⁻¹(m + r·x). */
  readonly sa: bigint;
  /** DLEQ challenge e (reduced mod n). */
  readonly e: bigint;
  /** DLEQ response c. */
  readonly c: bigint;
}

/**
 * Parses the 162-byte format with libsecp256k1-zkp's rules: R and R_a must be valid compressed
 * points (their x may exceed n), x(R) mod n ≠ 0, 1 ≤ s_a < n, c < n; e is reduced mod n.
 */
export function parseAdaptorSignature(bytes: Uint8Array): AdaptorSignatureParts {
  if (!(bytes instanceof Uint8Array) || bytes.length !== ADAPTOR_SIGNATURE_LENGTH) {
    throw new InvalidAdaptorSignatureEncodingError(
      `adaptor signature must be ${ADAPTOR_SIGNATURE_LENGTH} bytes`,
    );
  }
  const R = parseEncodingPoint(bytes.subarray(0, 33), 'R');
  const r = mod(bytesToBigInt(bytes.subarray(1, 33)));
  if (r === 0n) throw new InvalidAdaptorSignatureEncodingError('x(R) mod n cannot be zero');
  const Ra = parseEncodingPoint(bytes.subarray(33, 66), 'R_a');
  const sa = bytesToBigInt(bytes.subarray(66, 98));
  if (sa === 0n) throw new InvalidAdaptorSignatureEncodingError('s_a cannot be zero');
  if (sa >= N) throw new InvalidAdaptorSignatureEncodingError('s_a too high');
  const e = mod(bytesToBigInt(bytes.subarray(98, 130)));
  const c = bytesToBigInt(bytes.subarray(130, 162));
  if (c >= N) throw new InvalidAdaptorSignatureEncodingError('DLEQ proof scalar too high');
  return { R, r, Ra, sa, e, c };
}

/** Serializes parts back to the 162-byte format (inverse of {@link parseAdaptorSignature}). */
export function serializeAdaptorSignature(parts: AdaptorSignatureParts): Uint8Array {
  const out = new Uint8Array(ADAPTOR_SIGNATURE_LENGTH);
  out.set(pointToBytes(parts.R), 0);
  out.set(pointToBytes(parts.Ra), 33);
  out.set(scalarToBytes(parts.sa), 66);
  out.set(scalarToBytes(parts.e), 98);
  out.set(scalarToBytes(parts.c), 130);
  return out;
}

function parseEncodingPoint(bytes: Uint8Array, what: string): Point {
  try {
    return parsePoint(bytes, what);
  } catch {
    throw new InvalidAdaptorSignatureEncodingError(`${what} is not a valid compressed point`);
  }
}

/**
 * libsecp256k1-zkp's `nonce_function_ecdsa_adaptor` (a BIP340-style nonce): with aux randomness
 * the key is masked by H_aux(aux) first; the hash is tagged with `tag`.
 */
function adaptorNonce(
  tag: string,
  key32: Uint8Array,
  pk33: Uint8Array,
  msg32: Uint8Array,
  aux: Uint8Array | null,
): bigint {
  let keyPart = key32;
  if (aux !== null) {
    const mask = taggedHash(TAG_AUX, aux);
    keyPart = mask.map((b, i) => b ^ (key32[i] as number));
  }
  return mod(bytesToBigInt(taggedHash(tag, keyPart, pk33, msg32)));
}

/** DLEQ challenge: H_DLEQ(R_a ‖ Y ‖ R ‖ A_G ‖ A_Y) mod n (libsecp256k1-zkp's argument order). */
function dleqChallenge(Ra: Point, Y: Point, R: Point, AG: Point, AY: Point): bigint {
  return dleqChallengeBytes(
    pointToBytes(Ra),
    pointToBytes(Y),
    pointToBytes(R),
    pointToBytes(AG),
    pointToBytes(AY),
  );
}

/** {@link dleqChallenge} over compressed encodings. */
function dleqChallengeBytes(
  Ra: Uint8Array,
  Y: Uint8Array,
  R: Uint8Array,
  AG: Uint8Array,
  AY: Uint8Array,
): bigint {
  return mod(bytesToBigInt(taggedHash(TAG_DLEQ, Ra, Y, R, AG, AY)));
}

/** The message the DLEQ nonce commits to: SHA256(R_a ‖ R). */
function dleqNonceMessage(Ra33: Uint8Array, R33: Uint8Array): Uint8Array {
  const buf = new Uint8Array(66);
  buf.set(Ra33, 0);
  buf.set(R33, 33);
  return sha256(buf);
}

/** Proves log_G(Ra) = log_Y(R) = k. Returns (e, c). */
function dleqProve(
  k: bigint,
  Y: Point,
  Ra: Point,
  R: Point,
  aux: Uint8Array | null,
): { e: bigint; c: bigint } {
  const Y33 = pointToBytes(Y);
  const msg = dleqNonceMessage(pointToBytes(Ra), pointToBytes(R));
  const a = adaptorNonce(TAG_DLEQ, scalarToBytes(k), Y33, msg, aux);
  if (a === 0n) throw new InvalidScalarError('DLEQ nonce is zero');
  const AG = G.multiply(a);
  const AY = Y.multiply(a);
  const e = dleqChallenge(Ra, Y, R, AG, AY);
  return { e, c: mod(a + e * k) };
}

function dleqVerify(Ra: Point, Y: Point, R: Point, e: bigint, c: bigint): boolean {
  const negE = Fn.neg(e);
  const AG = G.mulAddUnsafe(c, Ra, negE);
  const AY = Y.multiplyUnsafe(c).add(R.multiplyUnsafe(negE));
  if (AG.is0() || AY.is0()) return false;
  return dleqChallenge(Ra, Y, R, AG, AY) === e;
}

/**
 * Encrypts (adaptor-signs) the 32-byte message hash `msg32` with `secretKey` under the
 * encryption point `encryptionKey` (33-byte compressed). The nonce is derived as in
 * libsecp256k1-zkp: with `auxRand` (32 bytes; random by default) the key is masked with
 * H_"ECDSAadaptor/aux"(aux) first; pass `null` for the deterministic no-aux variant.
 */
export function adaptorEncrypt(
  secretKey: Uint8Array,
  encryptionKey: Uint8Array,
  msg32: Uint8Array,
  auxRand: Uint8Array | null = randomBytes(32),
): Uint8Array {
  return activeBackend.encrypt(secretKey, encryptionKey, msg32, auxRand);
}

/**
 * Checks an adaptor signature and throws why it is invalid:
 * {@link InvalidAdaptorSignatureEncodingError}, {@link InvalidDleqProofError} or
 * {@link InvalidAdaptorSignatureError}.
 */
export function assertAdaptorSignature(
  adaptorSignature: Uint8Array,
  publicKey: Uint8Array,
  msg32: Uint8Array,
  encryptionKey: Uint8Array,
): void {
  activeBackend.assert(adaptorSignature, publicKey, msg32, encryptionKey);
}

/** Boolean form of {@link assertAdaptorSignature}: false for any malformed or invalid input. */
export function adaptorVerify(
  adaptorSignature: Uint8Array,
  publicKey: Uint8Array,
  msg32: Uint8Array,
  encryptionKey: Uint8Array,
): boolean {
  try {
    assertAdaptorSignature(adaptorSignature, publicKey, msg32, encryptionKey);
    return true;
  } catch {
    return false;
  }
}

/**
 * Decrypts an adaptor signature with y (32 bytes): s = s_a·y⁻¹, negated to low-S. Returns the
 * 64-byte compact signature r ‖ s, valid for the signer's key when y·G is the encryption point.
 */
export function adaptorDecrypt(
  adaptorSignature: Uint8Array,
  decryptionKey: Uint8Array,
): Uint8Array {
  const { r, sa } = parseAdaptorSignature(adaptorSignature);
  const y = parseSecretScalar(decryptionKey, 'decryption key');
  let s = mod(sa * blindedInverse(y));
  if (s > N >> 1n) s = N - s;
  return compact(r, s);
}

/**
 * Recovers the decryption key y from the adaptor signature and the decrypted (published)
 * 64-byte compact signature. Throws {@link AdaptorRecoveryError} when the signature's r does not
 * match or ±y·G is not the encryption point; handles the low-S negation.
 */
export function adaptorRecover(
  encryptionKey: Uint8Array,
  adaptorSignature: Uint8Array,
  signature: Uint8Array,
): Uint8Array {
  const { r: adaptorR, sa } = parseAdaptorSignature(adaptorSignature);
  const Y = parsePoint(encryptionKey, 'encryption key');
  const { r, s } = parseCompactSignature(signature);
  if (r !== adaptorR) {
    throw new AdaptorRecoveryError('the R value of the signature does not match');
  }
  if (s === 0n) throw new AdaptorRecoveryError('signature s is zero');
  let y = mod(Fn.inv(s) * sa);
  if (nativeCurve !== null) {
    // y ≠ 0 (s, s_a ≠ 0); ±y·G share x, and their encodings differ only in the parity byte.
    const implied = nativeCurve.mulG(y) as Uint8Array;
    const Y33 = pointToBytes(Y);
    if (equalBytes(implied.subarray(1), Y33.subarray(1))) {
      return scalarToBytes(implied[0] === Y33[0] ? y : Fn.neg(y));
    }
    throw new AdaptorRecoveryError('the recovered key does not match the encryption key');
  }
  const implied = G.multiply(y);
  if (implied.equals(Y)) return scalarToBytes(y);
  if (implied.negate().equals(Y)) {
    y = Fn.neg(y);
    return scalarToBytes(y);
  }
  throw new AdaptorRecoveryError('the recovered key does not match the encryption key');
}

/** Converts a 64-byte compact signature to strict DER (what Bitcoin witnesses carry). */
export function signatureToDer(signature: Uint8Array): Uint8Array {
  const { r, s } = parseCompactSignature(signature);
  return new secp256k1.Signature(r, s).toBytes('der');
}

/** Parses a DER signature (without the sighash byte) into 64-byte compact r ‖ s. */
export function signatureFromDer(der: Uint8Array): Uint8Array {
  try {
    const sig = secp256k1.Signature.fromBytes(der, 'der');
    return compact(sig.r, sig.s);
  } catch {
    throw new InvalidSignatureEncodingError('not a DER-encoded ECDSA signature');
  }
}

function parseCompactSignature(signature: Uint8Array): { r: bigint; s: bigint } {
  if (!(signature instanceof Uint8Array) || signature.length !== 64) {
    throw new InvalidSignatureEncodingError('signature must be 64 bytes (compact r ‖ s)');
  }
  const r = bytesToBigInt(signature.subarray(0, 32));
  const s = bytesToBigInt(signature.subarray(32, 64));
  if (r >= N || s >= N) throw new InvalidSignatureEncodingError('signature r or s ≥ n');
  return { r, s };
}

function compact(r: bigint, s: bigint): Uint8Array {
  const out = new Uint8Array(64);
  out.set(scalarToBytes(r), 0);
  out.set(scalarToBytes(s), 32);
  return out;
}

function parseMessage(msg32: Uint8Array): bigint {
  if (!(msg32 instanceof Uint8Array) || msg32.length !== 32) {
    throw new InvalidScalarError('message hash must be 32 bytes');
  }
  return mod(bytesToBigInt(msg32));
}

// ---------------------------------------------------------------------------------------------
// The two implementations of the hot path (encrypt, verify)

/** One implementation of {@link adaptorEncrypt} and {@link assertAdaptorSignature}. */
export interface AdaptorBackend {
  /** 'native' (libsecp256k1 bindings) or 'noble' (@noble/curves, pure JS). */
  readonly name: 'native' | 'noble';
  encrypt(
    secretKey: Uint8Array,
    encryptionKey: Uint8Array,
    msg32: Uint8Array,
    auxRand: Uint8Array | null,
  ): Uint8Array;
  assert(
    adaptorSignature: Uint8Array,
    publicKey: Uint8Array,
    msg32: Uint8Array,
    encryptionKey: Uint8Array,
  ): void;
}

function checkAux(auxRand: Uint8Array | null): void {
  if (auxRand !== null && (!(auxRand instanceof Uint8Array) || auxRand.length !== 32)) {
    throw new InvalidScalarError('aux randomness must be 32 bytes');
  }
}

const nobleBackend: AdaptorBackend = {
  name: 'noble',
  encrypt(secretKey, encryptionKey, msg32, auxRand) {
    const x = parseSecretScalar(secretKey, 'signing key');
    const Y = parsePoint(encryptionKey, 'encryption key');
    const m = parseMessage(msg32);
    checkAux(auxRand);
    const Y33 = pointToBytes(Y);
    const k = adaptorNonce(TAG_NONCE, scalarToBytes(x), Y33, msg32, auxRand);
    if (k === 0n) throw new InvalidScalarError('adaptor nonce is zero');
    const Ra = G.multiply(k);
    const R = Y.multiply(k);
    const { e, c } = dleqProve(k, Y, Ra, R, auxRand);
    const r = mod(R.toAffine().x);
    if (r === 0n) throw new InvalidScalarError('x(R) mod n is zero');
    const sa = blindedSa(k, m, r, x);
    if (sa === 0n) throw new InvalidScalarError('s_a is zero');
    return serializeAdaptorSignature({ R, r, Ra, sa, e, c });
  },
  assert(adaptorSignature, publicKey, msg32, encryptionKey) {
    const { R, r, Ra, sa, e, c } = parseAdaptorSignature(adaptorSignature);
    const Y = parsePoint(encryptionKey, 'encryption key');
    const X = parsePoint(publicKey, 'public key');
    const m = parseMessage(msg32);
    if (!dleqVerify(Ra, Y, R, e, c)) throw new InvalidDleqProofError();
    const w = Fn.inv(sa);
    const expected = G.mulAddUnsafe(mod(m * w), X, mod(r * w));
    if (expected.is0() || !expected.equals(Ra)) throw signatureMismatch();
  },
};

function signatureMismatch(): InvalidAdaptorSignatureError {
  return new InvalidAdaptorSignatureError(
    'adaptor signature does not verify for this public key and message',
  );
}

/**
 * The native implementation: the same steps on 33-byte encodings, with every validation and
 * error of the noble one in the same order (so a bad input fails the same way on both).
 */
function makeNativeBackend(curve: NativeCurve): AdaptorBackend {
  const point = (bytes: Uint8Array, what: string): Uint8Array => {
    if (!(bytes instanceof Uint8Array) || bytes.length !== 33) {
      throw new InvalidPointError(`${what} must be a 33-byte compressed point`);
    }
    if (!curve.isPoint(bytes)) throw new InvalidPointError(`${what} is not a point on secp256k1`);
    return bytes;
  };
  const encodingPoint = (bytes: Uint8Array, what: string): Uint8Array => {
    if (!curve.isPoint(bytes)) {
      throw new InvalidAdaptorSignatureEncodingError(`${what} is not a valid compressed point`);
    }
    return bytes;
  };
  return {
    name: 'native',
    encrypt(secretKey, encryptionKey, msg32, auxRand) {
      const x = parseSecretScalar(secretKey, 'signing key');
      const Y = point(encryptionKey, 'encryption key');
      const m = parseMessage(msg32);
      checkAux(auxRand);
      const k = adaptorNonce(TAG_NONCE, scalarToBytes(x), Y, msg32, auxRand);
      if (k === 0n) throw new InvalidScalarError('adaptor nonce is zero');
      // k ≠ 0 and the group has prime order, so none of these products is infinity. Secret
      // scalars: mulG (ecmult_gen) and mulSecret (ecmult_const) are constant time, mul is not.
      const Ra = curve.mulG(k) as Uint8Array;
      const R = curve.mulSecret(Y, k) as Uint8Array;
      const a = adaptorNonce(TAG_DLEQ, scalarToBytes(k), Y, dleqNonceMessage(Ra, R), auxRand);
      if (a === 0n) throw new InvalidScalarError('DLEQ nonce is zero');
      const AG = curve.mulG(a) as Uint8Array;
      const AY = curve.mulSecret(Y, a) as Uint8Array;
      const e = dleqChallengeBytes(Ra, Y, R, AG, AY);
      const c = mod(a + e * k);
      const r = mod(bytesToBigInt(R.subarray(1, 33)));
      if (r === 0n) throw new InvalidScalarError('x(R) mod n is zero');
      const sa = blindedSa(k, m, r, x);
      if (sa === 0n) throw new InvalidScalarError('s_a is zero');
      const out = new Uint8Array(ADAPTOR_SIGNATURE_LENGTH);
      out.set(R, 0);
      out.set(Ra, 33);
      out.set(scalarToBytes(sa), 66);
      out.set(scalarToBytes(e), 98);
      out.set(scalarToBytes(c), 130);
      return out;
    },
    assert(adaptorSignature, publicKey, msg32, encryptionKey) {
      // The checks of parseAdaptorSignature, on bytes.
      if (
        !(adaptorSignature instanceof Uint8Array) ||
        adaptorSignature.length !== ADAPTOR_SIGNATURE_LENGTH
      ) {
        throw new InvalidAdaptorSignatureEncodingError(
          `adaptor signature must be ${ADAPTOR_SIGNATURE_LENGTH} bytes`,
        );
      }
      const R = encodingPoint(adaptorSignature.subarray(0, 33), 'R');
      const r = mod(bytesToBigInt(R.subarray(1, 33)));
      if (r === 0n) throw new InvalidAdaptorSignatureEncodingError('x(R) mod n cannot be zero');
      const Ra = encodingPoint(adaptorSignature.subarray(33, 66), 'R_a');
      const sa = bytesToBigInt(adaptorSignature.subarray(66, 98));
      if (sa === 0n) throw new InvalidAdaptorSignatureEncodingError('s_a cannot be zero');
      if (sa >= N) throw new InvalidAdaptorSignatureEncodingError('s_a too high');
      const e = mod(bytesToBigInt(adaptorSignature.subarray(98, 130)));
      const c = bytesToBigInt(adaptorSignature.subarray(130, 162));
      if (c >= N) throw new InvalidAdaptorSignatureEncodingError('DLEQ proof scalar too high');
      const Y = point(encryptionKey, 'encryption key');
      const X = point(publicKey, 'public key');
      const m = parseMessage(msg32);
      // DLEQ: A_G = c·G − e·R_a, A_Y = c·Y − e·R.
      const negE = Fn.neg(e);
      const AG = curve.mulAddG(Ra, negE, c);
      const AY = curve.add(curve.mul(Y, c), curve.mul(R, negE));
      if (AG === null || AY === null || dleqChallengeBytes(Ra, Y, R, AG, AY) !== e) {
        throw new InvalidDleqProofError();
      }
      // ECDSA: R_a = s_a⁻¹·(m·G + r·X)  ⇔  X = r⁻¹·(s_a·R_a − m·G) (s_a, r ≠ 0), which is one
      // double multiplication against the known X instead of two against R_a.
      const rInv = Fn.inv(r);
      const implied = curve.mulAddG(Ra, mod(sa * rInv), Fn.neg(mod(m * rInv)));
      if (implied === null || !equalBytes(implied, X)) throw signatureMismatch();
    },
  };
}

const nativeBackend: AdaptorBackend | null =
  nativeCurve === null ? null : makeNativeBackend(nativeCurve);

/** The implementation the public functions use: native when its bindings load, else noble. */
const activeBackend: AdaptorBackend = nativeBackend ?? nobleBackend;

// ---------------------------------------------------------------------------------------------
// Whole sets at once (the CETs of a contract: ≈ 1,700 signatures per setup and rollover)

/** One item of {@link adaptorEncryptMany}. */
export interface AdaptorEncryptManyItem {
  readonly encryptionKey: Uint8Array;
  readonly msg32: Uint8Array;
  /** As {@link adaptorEncrypt}'s `auxRand`: 32 bytes, or `null` for the deterministic variant. */
  readonly auxRand: Uint8Array | null;
}

/** One item of {@link adaptorVerifyMany}. */
export interface AdaptorVerifyManyItem {
  readonly adaptorSignature: Uint8Array;
  readonly msg32: Uint8Array;
  readonly encryptionKey: Uint8Array;
}

/**
 * `items.map((i) => adaptorEncrypt(secretKey, i.encryptionKey, i.msg32, i.auxRand))`: the same
 * bytes, and for a bad item the same error, only cheaper per item on the native backend.
 *
 * Why: besides its four point multiplications, each signature needs k⁻¹ mod n, which in bigint
 * arithmetic costs about half a native multiplication (≈ 18 µs); one Montgomery batch inversion
 * serves the whole set for three multiplications each. The signing key is parsed once and each
 * encryption point is parsed by the multiplication that uses it rather than checked beforehand.
 * Anything out of the ordinary (a malformed item, a zero nonce) redoes the whole set item by item
 * with {@link adaptorEncrypt}, so errors are exactly its errors.
 */
export function adaptorEncryptMany(
  secretKey: Uint8Array,
  items: readonly AdaptorEncryptManyItem[],
): Uint8Array[] {
  const fast =
    nativeCurve === null || items.length === 0
      ? null
      : encryptManyNative(nativeCurve, secretKey, items);
  return fast ?? items.map((i) => adaptorEncrypt(secretKey, i.encryptionKey, i.msg32, i.auxRand));
}

/** The fast path of {@link adaptorEncryptMany}, or null where it must not decide. */
function encryptManyNative(
  curve: NativeCurve,
  secretKey: Uint8Array,
  items: readonly AdaptorEncryptManyItem[],
): Uint8Array[] | null {
  let x: bigint;
  try {
    x = parseSecretScalar(secretKey, 'signing key');
  } catch {
    return null;
  }
  const x32 = scalarToBytes(x);
  // Blinding (module doc): s_a = (b·k)⁻¹·(b·m + (b·x)·r) with one b for the set, and the batch
  // inversion blinds its single inversion once more.
  const b = blinding.factor();
  const bx = mod(b * x);
  const n = items.length;
  const out: Uint8Array[] = new Array(n);
  const ks: bigint[] = new Array(n);
  const rx: bigint[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const { encryptionKey: Y, msg32, auxRand } = items[i] as AdaptorEncryptManyItem;
    if (!isCompressedEncoding(Y) || !hasLength32(msg32)) return null;
    if (auxRand !== null && !hasLength32(auxRand)) return null;
    const m = mod(bytesToBigInt(msg32));
    const k = adaptorNonce(TAG_NONCE, x32, Y, msg32, auxRand);
    if (k === 0n) return null;
    let R: Uint8Array;
    try {
      // Parses Y: a 02/03 encoding that is not on the curve throws here (→ the exact path).
      R = curve.mulSecret(Y, k) as Uint8Array;
    } catch {
      return null;
    }
    const Ra = curve.mulG(k) as Uint8Array;
    const a = adaptorNonce(TAG_DLEQ, scalarToBytes(k), Y, dleqNonceMessage(Ra, R), auxRand);
    if (a === 0n) return null;
    const AG = curve.mulG(a) as Uint8Array;
    const AY = curve.mulSecret(Y, a) as Uint8Array;
    const e = dleqChallengeBytes(Ra, Y, R, AG, AY);
    const c = mod(a + e * k);
    const r = mod(bytesToBigInt(R.subarray(1, 33)));
    if (r === 0n) return null;
    const sig = new Uint8Array(ADAPTOR_SIGNATURE_LENGTH);
    sig.set(R, 0);
    sig.set(Ra, 33);
    sig.set(scalarToBytes(e), 98);
    sig.set(scalarToBytes(c), 130);
    out[i] = sig;
    ks[i] = mod(b * k);
    rx[i] = mod(mod(b * m) + bx * r);
  }
  const kInv = blindedInverseBatch(ks);
  for (let i = 0; i < n; i++) {
    const sa = mod((kInv[i] as bigint) * (rx[i] as bigint));
    if (sa === 0n) return null;
    (out[i] as Uint8Array).set(scalarToBytes(sa), 66);
  }
  return out;
}

/**
 * `items.map((i) => adaptorVerify(i.adaptorSignature, publicKey, i.msg32, i.encryptionKey))`:
 * the same verdicts, cheaper per item on the native backend — the public key is checked once,
 * the r⁻¹ of every signature comes from one batch inversion, and R, R_a and Y are checked by the
 * multiplications that parse them (an invalid one makes them throw: not valid). Items where that
 * shortcut would not parse a point (e ≡ 0 or c = 0) get the ordinary {@link adaptorVerify}.
 */
export function adaptorVerifyMany(
  publicKey: Uint8Array,
  items: readonly AdaptorVerifyManyItem[],
): boolean[] {
  const exact = (i: AdaptorVerifyManyItem): boolean =>
    adaptorVerify(i.adaptorSignature, publicKey, i.msg32, i.encryptionKey);
  const curve = nativeCurve;
  if (curve === null) return items.map(exact);
  if (!isCompressedEncoding(publicKey) || !curve.isPoint(publicKey)) return items.map(() => false);
  const n = items.length;
  const verdicts: boolean[] = new Array(n).fill(false);
  // First pass: r = x(R) mod n of every well-formed signature, for one batch inversion.
  const rs: bigint[] = new Array(n).fill(0n);
  for (let i = 0; i < n; i++) {
    const sig = (items[i] as AdaptorVerifyManyItem).adaptorSignature;
    if (sig instanceof Uint8Array && sig.length === ADAPTOR_SIGNATURE_LENGTH) {
      rs[i] = mod(bytesToBigInt(sig.subarray(1, 33)));
    }
  }
  const rInv = Fn.invertBatch(rs); // zeros stay zero: those items fail their encoding check
  for (let i = 0; i < n; i++) {
    const item = items[i] as AdaptorVerifyManyItem;
    const v = verifyOneNative(curve, publicKey, item, rs[i] as bigint, rInv[i] as bigint);
    verdicts[i] = v === undefined ? exact(item) : v;
  }
  return verdicts;
}

/** One item of {@link adaptorVerifyMany}; undefined where the exact check must decide. */
function verifyOneNative(
  curve: NativeCurve,
  X: Uint8Array,
  item: AdaptorVerifyManyItem,
  r: bigint,
  rInv: bigint,
): boolean | undefined {
  const { adaptorSignature: sig, msg32, encryptionKey: Y } = item;
  if (!(sig instanceof Uint8Array) || sig.length !== ADAPTOR_SIGNATURE_LENGTH) return false;
  if (!hasLength32(msg32) || !isCompressedEncoding(Y)) return false;
  const R = sig.subarray(0, 33);
  const Ra = sig.subarray(33, 66);
  if (!isCompressedEncoding(R) || !isCompressedEncoding(Ra) || r === 0n) return false;
  const sa = bytesToBigInt(sig.subarray(66, 98));
  if (sa === 0n || sa >= N) return false;
  const e = mod(bytesToBigInt(sig.subarray(98, 130)));
  const c = bytesToBigInt(sig.subarray(130, 162));
  if (c >= N) return false;
  if (e === 0n || c === 0n) return undefined;
  const m = mod(bytesToBigInt(msg32));
  try {
    // As the native backend's assert: A_G = c·G − e·R_a, A_Y = c·Y − e·R, then the ECDSA
    // equation as X = r⁻¹·(s_a·R_a − m·G). With e, c ≠ 0 every point here is parsed by the call
    // that uses it, and a point that is not on the curve makes it throw.
    const negE = Fn.neg(e);
    const AG = curve.mulAddG(Ra, negE, c);
    const AY = curve.add(curve.mul(Y, c), curve.mul(R, negE));
    if (AG === null || AY === null || dleqChallengeBytes(Ra, Y, R, AG, AY) !== e) return false;
    const implied = curve.mulAddG(Ra, mod(sa * rInv), Fn.neg(mod(m * rInv)));
    return implied !== null && equalBytes(implied, X);
  } catch {
    return false;
  }
}

/** 33 bytes with a compressed-point prefix (whether it is on the curve is checked elsewhere). */
function isCompressedEncoding(bytes: unknown): bytes is Uint8Array {
  return (
    bytes instanceof Uint8Array && bytes.length === 33 && (bytes[0] === 0x02 || bytes[0] === 0x03)
  );
}

function hasLength32(bytes: unknown): bytes is Uint8Array {
  return bytes instanceof Uint8Array && bytes.length === 32;
}

/** Which implementation {@link adaptorEncrypt} and {@link assertAdaptorSignature} run on. */
export const ADAPTOR_BACKEND: 'native' | 'noble' = activeBackend.name;

/**
 * A specific implementation (null if 'native' is unavailable here), so tests and benchmarks can
 * compare the two; application code just calls {@link adaptorEncrypt} and friends.
 */
export function adaptorBackend(name: 'native' | 'noble'): AdaptorBackend | null {
  return name === 'native' ? nativeBackend : nobleBackend;
}
