/**
 * The witness scripts of a maia/ItchySats CFD (reference dlc-crypto.md §2.1, §2.2), byte for byte
 * what miniscript compiles the descriptors to, and the P2WSH outputs paying to them.
 *
 * Keys are 33-byte compressed public keys. The maker's key is always first.
 */
import { ripemd160 } from '@noble/hashes/legacy.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { parsePoint } from './secp.ts';

const OP_0 = 0x00;
const OP_PUSH20 = 0x14;
const OP_PUSH32 = 0x20;
const OP_PUSH33 = 0x21;
const OP_16 = 0x60;
const OP_IF = 0x63;
const OP_NOTIF = 0x64;
const OP_ELSE = 0x67;
const OP_ENDIF = 0x68;
const OP_IFDUP = 0x73;
const OP_DUP = 0x76;
const OP_EQUALVERIFY = 0x88;
const OP_HASH160 = 0xa9;
const OP_CHECKSIG = 0xac;
const OP_CHECKSIGVERIFY = 0xad;
const OP_CHECKSEQUENCEVERIFY = 0xb2;

/** Length of the lock witness script. */
export const LOCK_SCRIPT_LENGTH = 70;
/** Length of the commit witness script. */
export const COMMIT_SCRIPT_LENGTH = 224;
/** Length of an anchor witness script. */
export const ANCHOR_SCRIPT_LENGTH = 40;
/** Blocks after which anyone may sweep an anchor (BOLT 3: 16). */
export const ANCHOR_SWEEP_DELAY = 16;

/** One party's public keys for one commit transaction. */
export interface CommitPartyKeys {
  /** Identity key: fixed for the CFD, in the lock 2-of-2, signs every spend. */
  readonly identity: Uint8Array;
  /** Publish key: fresh per commit; the counterparty's commit signature is encrypted to it. */
  readonly publish: Uint8Array;
  /** Revocation key: fresh per commit; its secret is revealed when the commit is replaced. */
  readonly revocation: Uint8Array;
}

/** All six public keys a commit script is made of. */
export interface CommitKeys {
  readonly maker: CommitPartyKeys;
  readonly taker: CommitPartyKeys;
}

/** RIPEMD160(SHA256(data)), Bitcoin's HASH160. */
export function hash160(data: Uint8Array): Uint8Array {
  return ripemd160(sha256(data));
}

function key33(key: Uint8Array, what: string): Uint8Array {
  parsePoint(key, what);
  return key;
}

/**
 * The 2-of-2 lock script (miniscript `wsh(c:and_v(v:pk(M),pk_k(T)))`), 70 bytes.
 *
 * witnessScript: `<M_identity> OP_CHECKSIGVERIFY <T_identity> OP_CHECKSIG`
 * witness: `[sig_T, sig_M, witnessScript]`
 */
export function lockScript(makerIdentity: Uint8Array, takerIdentity: Uint8Array): Uint8Array {
  return new Uint8Array([
    OP_PUSH33,
    ...key33(makerIdentity, 'maker identity key'),
    OP_CHECKSIGVERIFY,
    OP_PUSH33,
    ...key33(takerIdentity, 'taker identity key'),
    OP_CHECKSIG,
  ]);
}

function pkhVerify(key: Uint8Array, what: string): number[] {
  return [OP_DUP, OP_HASH160, OP_PUSH20, ...hash160(key33(key, what)), OP_EQUALVERIFY];
}

/**
 * The punishable commit script (maia `commit_descriptor`), 224 bytes:
 * `wsh(c:andor(pk(M_id),pk_k(T_id),or_i(and_v(v:pkh(M_id),and_v(v:pkh(T_pub),pk_h(T_rev))),
 * and_v(v:pkh(T_id),and_v(v:pkh(M_pub),pk_h(M_rev))))))`.
 *
 * witnessScript:
 * ```
 * <M_id> OP_CHECKSIG
 * OP_NOTIF
 *   OP_IF      (maker punishes taker)
 *     OP_DUP OP_HASH160 {H(M_id)} OP_EQUALVERIFY OP_CHECKSIGVERIFY
 *     OP_DUP OP_HASH160 {H(T_pub)} OP_EQUALVERIFY OP_CHECKSIGVERIFY
 *     OP_DUP OP_HASH160 {H(T_rev)} OP_EQUALVERIFY
 *   OP_ELSE    (taker punishes maker)
 *     OP_DUP OP_HASH160 {H(T_id)} OP_EQUALVERIFY OP_CHECKSIGVERIFY
 *     OP_DUP OP_HASH160 {H(M_pub)} OP_EQUALVERIFY OP_CHECKSIGVERIFY
 *     OP_DUP OP_HASH160 {H(M_rev)} OP_EQUALVERIFY
 *   OP_ENDIF
 * OP_ELSE
 *   <T_id>
 * OP_ENDIF
 * OP_CHECKSIG
 * ```
 * witness (cooperative, CETs and refund): `[sig_T, sig_M, witnessScript]`
 */
export function commitScript(keys: CommitKeys): Uint8Array {
  const { maker: m, taker: t } = keys;
  return new Uint8Array([
    OP_PUSH33,
    ...key33(m.identity, 'maker identity key'),
    OP_CHECKSIG,
    OP_NOTIF,
    OP_IF,
    ...pkhVerify(m.identity, 'maker identity key'),
    OP_CHECKSIGVERIFY,
    ...pkhVerify(t.publish, 'taker publish key'),
    OP_CHECKSIGVERIFY,
    ...pkhVerify(t.revocation, 'taker revocation key'),
    OP_ELSE,
    ...pkhVerify(t.identity, 'taker identity key'),
    OP_CHECKSIGVERIFY,
    ...pkhVerify(m.publish, 'maker publish key'),
    OP_CHECKSIGVERIFY,
    ...pkhVerify(m.revocation, 'maker revocation key'),
    OP_ENDIF,
    OP_ELSE,
    OP_PUSH33,
    ...key33(t.identity, 'taker identity key'),
    OP_ENDIF,
    OP_CHECKSIG,
  ]);
}

/**
 * The anchor script of one party (BOLT 3 `to_local_anchor`, as LND uses it), 40 bytes: its owner
 * spends it at once with a signature of `identity` (CPFP of the commit); after 16 blocks anyone
 * may sweep it with an empty witness element, so unspent anchors do not linger in the UTXO set.
 *
 * witnessScript: `<identity> OP_CHECKSIG OP_IFDUP OP_NOTIF OP_16 OP_CHECKSEQUENCEVERIFY OP_ENDIF`
 * witness (owner): `[sig, witnessScript]`; (anyone, nSequence ≥ 16): `[<>, witnessScript]`
 */
export function anchorScript(identity: Uint8Array): Uint8Array {
  return new Uint8Array([
    OP_PUSH33,
    ...key33(identity, 'anchor identity key'),
    OP_CHECKSIG,
    OP_IFDUP,
    OP_NOTIF,
    OP_16,
    OP_CHECKSEQUENCEVERIFY,
    OP_ENDIF,
  ]);
}

/**
 * The P2WSH output script paying to a witness script.
 *
 * output: `OP_0 {sha256(witnessScript)}`
 */
export function p2wshOutput(witnessScript: Uint8Array): Uint8Array {
  return new Uint8Array([OP_0, OP_PUSH32, ...sha256(witnessScript)]);
}
