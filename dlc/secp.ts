/**
 * Shared secp256k1 plumbing for `dlc/`: strict parsing of scalars and points into noble's types,
 * so every public function validates its byte inputs the same way and throws named errors.
 */
import { schnorr, secp256k1 } from '@noble/curves/secp256k1.js';
import { bytesToNumberBE, numberToBytesBE } from '@noble/curves/utils.js';
import { InvalidPointError, InvalidScalarError } from './errors.ts';

export const Point = secp256k1.Point;
export type Point = typeof secp256k1.Point.BASE;
export const G: Point = Point.BASE;
export const Fn = Point.Fn;
/** Group order n. */
export const N: bigint = Fn.ORDER;

/** BIP340 tagged hash: SHA256(SHA256(tag) ‖ SHA256(tag) ‖ msg…). */
export const taggedHash = schnorr.utils.taggedHash;

export function mod(a: bigint): bigint {
  return Fn.create(a);
}

const TWO_256 = 1n << 256n;

/**
 * 32-byte big-endian encoding of a scalar in 0 … n−1. Written as four 64-bit words rather than
 * through a hex string (noble's way): a CET set converts ~25 scalars per adaptor signature, so
 * this is a few percent of signing. Out-of-range values take noble's path and its behaviour.
 */
export function scalarToBytes(s: bigint): Uint8Array {
  if (typeof s !== 'bigint' || s < 0n || s >= TWO_256) return numberToBytesBE(s, 32);
  const out = new Uint8Array(32);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, s >> 192n);
  view.setBigUint64(8, BigInt.asUintN(64, s >> 128n));
  view.setBigUint64(16, BigInt.asUintN(64, s >> 64n));
  view.setBigUint64(24, BigInt.asUintN(64, s));
  return out;
}

/** The integer a 32-byte string encodes, without reduction (other lengths: noble's reading). */
export function bytesToBigInt(b: Uint8Array): bigint {
  if (!(b instanceof Uint8Array) || b.length !== 32) return bytesToNumberBE(b);
  const view = new DataView(b.buffer, b.byteOffset, 32);
  return (
    (view.getBigUint64(0) << 192n) |
    (view.getBigUint64(8) << 128n) |
    (view.getBigUint64(16) << 64n) |
    view.getBigUint64(24)
  );
}

/** Parses a secret scalar: exactly 32 bytes, 1 ≤ s < n (the libsecp256k1 `seckey` rule). */
export function parseSecretScalar(bytes: Uint8Array, what = 'secret key'): bigint {
  if (!(bytes instanceof Uint8Array) || bytes.length !== 32) {
    throw new InvalidScalarError(`${what} must be 32 bytes`);
  }
  const s = bytesToNumberBE(bytes);
  if (s === 0n || s >= N) throw new InvalidScalarError(`${what} must be in 1 … n−1`);
  return s;
}

/** Parses a 33-byte compressed point (must be on the curve, not infinity). */
export function parsePoint(bytes: Uint8Array, what = 'public key'): Point {
  if (!(bytes instanceof Uint8Array) || bytes.length !== 33) {
    throw new InvalidPointError(`${what} must be a 33-byte compressed point`);
  }
  try {
    const p = Point.fromBytes(bytes);
    p.assertValidity();
    return p;
  } catch {
    throw new InvalidPointError(`${what} is not a point on secp256k1`);
  }
}

/** Lifts a 32-byte x-only key to the point with even y (BIP340 `lift_x`). */
export function liftX(bytes: Uint8Array, what = 'x-only key'): Point {
  if (!(bytes instanceof Uint8Array) || bytes.length !== 32) {
    throw new InvalidPointError(`${what} must be 32 bytes`);
  }
  try {
    return schnorr.utils.lift_x(bytesToNumberBE(bytes));
  } catch {
    throw new InvalidPointError(`${what} is not the x coordinate of a secp256k1 point`);
  }
}

/** Compressed 33-byte encoding; the point at infinity has none. */
export function pointToBytes(p: Point): Uint8Array {
  if (p.is0()) throw new InvalidPointError('the point at infinity has no encoding');
  return p.toBytes(true);
}

/** Whether the affine y coordinate is even. */
export function hasEvenY(p: Point): boolean {
  return (p.toAffine().y & 1n) === 0n;
}
