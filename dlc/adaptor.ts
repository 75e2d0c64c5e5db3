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
 */
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { randomBytes } from '@noble/hashes/utils.js';
import {
  AdaptorRecoveryError,
  InvalidAdaptorSignatureEncodingError,
  InvalidAdaptorSignatureError,
  InvalidDleqProofError,
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
  return mod(
    bytesToBigInt(
      taggedHash(
        TAG_DLEQ,
        pointToBytes(Ra),
        pointToBytes(Y),
        pointToBytes(R),
        pointToBytes(AG),
        pointToBytes(AY),
      ),
    ),
  );
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
  const msg = sha256(new Uint8Array([...pointToBytes(Ra), ...pointToBytes(R)]));
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
  const x = parseSecretScalar(secretKey, 'signing key');
  const Y = parsePoint(encryptionKey, 'encryption key');
  const m = parseMessage(msg32);
  if (auxRand !== null && (!(auxRand instanceof Uint8Array) || auxRand.length !== 32)) {
    throw new InvalidScalarError('aux randomness must be 32 bytes');
  }
  const Y33 = pointToBytes(Y);
  const k = adaptorNonce(TAG_NONCE, scalarToBytes(x), Y33, msg32, auxRand);
  if (k === 0n) throw new InvalidScalarError('adaptor nonce is zero');
  const Ra = G.multiply(k);
  const R = Y.multiply(k);
  const { e, c } = dleqProve(k, Y, Ra, R, auxRand);
  const r = mod(R.toAffine().x);
  if (r === 0n) throw new InvalidScalarError('x(R) mod n is zero');
  const sa = mod(Fn.inv(k) * mod(m + r * x));
  if (sa === 0n) throw new InvalidScalarError('s_a is zero');
  return serializeAdaptorSignature({ R, r, Ra, sa, e, c });
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
  const { R, r, Ra, sa, e, c } = parseAdaptorSignature(adaptorSignature);
  const Y = parsePoint(encryptionKey, 'encryption key');
  const X = parsePoint(publicKey, 'public key');
  const m = parseMessage(msg32);
  if (!dleqVerify(Ra, Y, R, e, c)) throw new InvalidDleqProofError();
  const w = Fn.inv(sa);
  const expected = G.mulAddUnsafe(mod(m * w), X, mod(r * w));
  if (expected.is0() || !expected.equals(Ra)) {
    throw new InvalidAdaptorSignatureError(
      'adaptor signature does not verify for this public key and message',
    );
  }
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
  let s = mod(sa * Fn.inv(y));
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
