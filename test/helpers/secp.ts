/** secp256k1's constants and public keys, for the specs of dlc/'s curve code. */
import { secp256k1 } from '@noble/curves/secp256k1.js';

export const Point = secp256k1.Point;
/** The generator. */
export const G = Point.BASE;
/** The group order. */
export const N = Point.Fn.ORDER;
/** The field prime. */
export const P = Point.Fp.ORDER;

/** The compressed public key of `sk`. */
export const pub = (sk: Uint8Array): Uint8Array => secp256k1.getPublicKey(sk, true);
