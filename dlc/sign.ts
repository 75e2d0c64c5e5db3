/**
 * Signing, verifying and finalising the CFD transactions (reference dlc-crypto.md §1, §2.2–§2.6).
 *
 * Every signature is ECDSA over the BIP143 (segwit v0) sighash of input 0 with SIGHASH_ALL, low-S;
 * functions take and return 64-byte compact r ‖ s and witnesses carry DER ‖ 0x01. Each party
 * signs with its identity key; the commit signature is encrypted to the counterparty's publish
 * key and CET signatures to the oracle's anticipated point of a digit prefix. Everything received
 * from the counterparty is verified here, throwing {@link SignatureVerificationError}, before it
 * can be stored or broadcast.
 *
 * Sizes: a signed transaction's `Transaction.virtualSize()` (bitcoinjs) is Bitcoin Core's vsize,
 * ceil(weight / 4) (no sigop adjustment applies to these scripts), so no helper of ours is
 * needed; to budget a fee BEFORE signing, use the measured constants (`COMMIT_VBYTES`,
 * `COMMIT_ANCHORED_VBYTES`, `CET_VBYTES`, `PUNISH_VBYTES`, {@link ANCHOR_INPUT_VBYTES}).
 */
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { script as bscript, Transaction } from 'bitcoinjs-lib';
import type { Role } from '../model/units.ts';
import {
  adaptorDecrypt,
  adaptorEncrypt,
  adaptorRecover,
  assertAdaptorSignature,
} from './adaptor.ts';
import { type Digit, type PriceRange, prefixRange } from './digits.ts';
import {
  DlcError,
  InvalidTransactionParametersError,
  PublishSecretNotFoundError,
  SecretKeyMismatchError,
  SignatureVerificationError,
} from './errors.ts';
import { anticipatedPoints, type OracleEventPoints } from './oracle.ts';
import { anchorScript, type CommitKeys } from './scripts.ts';
import { parsePoint, parseSecretScalar } from './secp.ts';
import { nativeCurve } from './secp-native.ts';
import type {
  CetTransaction,
  CommitTransaction,
  CooperativeSpend,
  DlcSpend,
  IntervalCet,
  PunishTransaction,
  SpentOutput,
} from './transactions.ts';

/** The only sighash type DLC transactions use. */
export const SIGHASH_ALL = Transaction.SIGHASH_ALL;

const other = (role: Role): Role => (role === 'maker' ? 'taker' : 'maker');

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * The compressed public key of a secret key (validating it). Natively where the bindings load:
 * noble's constant-time, blinded k·G costs ≈ 1 ms cold, and every commit, refund and CET
 * signature checks its key this way.
 */
function publicKeyOf(secretKey: Uint8Array, what: string): Uint8Array {
  try {
    if (nativeCurve !== null) {
      return nativeCurve.mulG(parseSecretScalar(secretKey, what)) as Uint8Array;
    }
    return secp256k1.getPublicKey(secretKey, true);
  } catch {
    throw new SecretKeyMismatchError(`${what} is not a valid secret key`);
  }
}

/**
 * Checks that `secretKey` belongs to `publicKey`: a revealed revocation secret against the stored
 * revocation key (rollover), an own key against the one in a contract. Throws
 * {@link SecretKeyMismatchError}.
 */
export function assertSecretKey(secretKey: Uint8Array, publicKey: Uint8Array, what = 'key'): void {
  if (!sameBytes(publicKeyOf(secretKey, what), publicKey)) {
    throw new SecretKeyMismatchError(`${what}: secret key does not match the expected public key`);
  }
}

function roleOf(role: Role): Role {
  if (role !== 'maker' && role !== 'taker') {
    throw new InvalidTransactionParametersError(`role must be maker or taker, got ${String(role)}`);
  }
  return role;
}

// ---- Sighash and plain signatures ---------------------------------------------------------------

/** BIP143 sighash of input 0 of a spend (scriptCode = the spent witness script, its value). */
export function spendSighash(spend: DlcSpend): Uint8Array {
  return spend.tx.hashForWitnessV0(0, spend.spent.witnessScript, spend.spent.value, SIGHASH_ALL);
}

/** Signs input 0 of a spend: ECDSA (RFC 6979), low-S, 64-byte compact r ‖ s. */
export function signSpend(spend: DlcSpend, secretKey: Uint8Array): Uint8Array {
  publicKeyOf(secretKey, 'signing key');
  return secp256k1.sign(spendSighash(spend), secretKey, { prehash: false, lowS: true });
}

function verifyDigest(signature: Uint8Array, digest: Uint8Array, publicKey: Uint8Array): boolean {
  try {
    parsePoint(publicKey);
    return (
      signature instanceof Uint8Array &&
      signature.length === 64 &&
      secp256k1.verify(signature, digest, publicKey, { prehash: false, lowS: true })
    );
  } catch {
    return false;
  }
}

/**
 * Checks a plain signature (64-byte compact, low-S) of input 0 under `publicKey`. Throws
 * {@link SignatureVerificationError} naming the transaction.
 */
export function assertSpendSignature(
  spend: DlcSpend,
  signature: Uint8Array,
  publicKey: Uint8Array,
): void {
  if (!verifyDigest(signature, spendSighash(spend), publicKey)) {
    throw new SignatureVerificationError(
      spend.kind,
      `${spend.kind} signature does not verify for this key and transaction ${spend.tx.getId()}`,
    );
  }
}

/** Adaptor-signs input 0 of a spend with `secretKey`, encrypted to `encryptionKey` (33 bytes). */
export function encryptSpendSignature(
  spend: DlcSpend,
  secretKey: Uint8Array,
  encryptionKey: Uint8Array,
): Uint8Array {
  return adaptorEncrypt(secretKey, encryptionKey, spendSighash(spend));
}

/**
 * Checks an adaptor signature of input 0 under `publicKey` and `encryptionKey` (DLEQ proof and
 * ECDSA equation). Throws {@link SignatureVerificationError} (the adaptor error as `cause`).
 */
export function assertSpendAdaptorSignature(
  spend: DlcSpend,
  adaptorSignature: Uint8Array,
  publicKey: Uint8Array,
  encryptionKey: Uint8Array,
  context = '',
): void {
  assertAdaptorDigest(
    spend,
    spendSighash(spend),
    adaptorSignature,
    publicKey,
    encryptionKey,
    context,
  );
}

function assertAdaptorDigest(
  spend: DlcSpend,
  digest: Uint8Array,
  adaptorSignature: Uint8Array,
  publicKey: Uint8Array,
  encryptionKey: Uint8Array,
  context: string,
): void {
  try {
    assertAdaptorSignature(adaptorSignature, publicKey, digest, encryptionKey);
  } catch (err) {
    if (!(err instanceof DlcError)) throw err;
    throw new SignatureVerificationError(
      spend.kind,
      `${spend.kind} adaptor signature${context} does not verify: ${err.message}`,
      { cause: err },
    );
  }
}

// ---- Cooperative (2-of-2) spends: commit, CET, refund, close ------------------------------------

/**
 * Our plain signature of a cooperative spend (refund, close; also the own half of commit and CET),
 * checking that `ownIdentitySk` is the identity key of `ownRole` in the spend.
 */
export function signCooperative(
  spend: CooperativeSpend,
  ownRole: Role,
  ownIdentitySk: Uint8Array,
): Uint8Array {
  assertSecretKey(ownIdentitySk, spend.identities[roleOf(ownRole)], `${ownRole} identity key`);
  return signSpend(spend, ownIdentitySk);
}

/** Checks the counterparty's plain signature of a cooperative spend (refund, close). */
export function verifyCooperative(
  spend: CooperativeSpend,
  ownRole: Role,
  counterpartySignature: Uint8Array,
): void {
  assertSpendSignature(spend, counterpartySignature, spend.identities[other(roleOf(ownRole))]);
}

/**
 * The witness of a 2-of-2 spend (lock or commit cooperative branch):
 * `[sig_T ‖ 0x01, sig_M ‖ 0x01, witnessScript]` (DER signatures).
 */
export function cooperativeWitness(
  signatures: { readonly maker: Uint8Array; readonly taker: Uint8Array },
  witnessScript: Uint8Array,
): Uint8Array[] {
  return [
    bscript.signature.encode(signatures.taker, SIGHASH_ALL),
    bscript.signature.encode(signatures.maker, SIGHASH_ALL),
    witnessScript,
  ];
}

/**
 * Signs our half, checks the counterparty's half and returns the fully signed transaction
 * (a copy; the unsigned one is left as it is). For refund and close.
 */
export function finalizeCooperative(
  spend: CooperativeSpend,
  ownRole: Role,
  ownIdentitySk: Uint8Array,
  counterpartySignature: Uint8Array,
): Transaction {
  verifyCooperative(spend, ownRole, counterpartySignature);
  const own = signCooperative(spend, ownRole, ownIdentitySk);
  return withWitness(spend, ownRole, own, counterpartySignature);
}

function withWitness(
  spend: CooperativeSpend,
  ownRole: Role,
  own: Uint8Array,
  counterparty: Uint8Array,
): Transaction {
  const signatures =
    ownRole === 'maker' ? { maker: own, taker: counterparty } : { maker: counterparty, taker: own };
  const tx = spend.tx.clone();
  tx.setWitness(0, cooperativeWitness(signatures, spend.spent.witnessScript));
  return tx;
}

// ---- Commit -------------------------------------------------------------------------------------

/**
 * Our commit adaptor signature: identity key over the commit sighash, encrypted to the
 * counterparty's publish key (maia `CommitTransaction::encsign`). The counterparty can publish
 * the commit only by decrypting it with its publish secret, which the signature then reveals.
 */
export function signCommitAdaptor(
  commit: CommitTransaction,
  ownRole: Role,
  ownIdentitySk: Uint8Array,
): Uint8Array {
  assertSecretKey(ownIdentitySk, commit.identities[roleOf(ownRole)], `${ownRole} identity key`);
  return encryptSpendSignature(commit, ownIdentitySk, commit.keys[other(ownRole)].publish);
}

/** Checks the counterparty's commit adaptor signature: its identity key, our publish key. */
export function verifyCommitAdaptor(
  commit: CommitTransaction,
  ownRole: Role,
  counterpartyAdaptorSignature: Uint8Array,
): void {
  const them = other(roleOf(ownRole));
  assertSpendAdaptorSignature(
    commit,
    counterpartyAdaptorSignature,
    commit.keys[them].identity,
    commit.keys[ownRole].publish,
  );
}

/**
 * Signs the commit for broadcast (maia `Dlc::signed_commit_tx`): our identity signature plus the
 * counterparty's adaptor signature decrypted with our publish secret. Publishing reveals that
 * secret to the counterparty, which is what makes a revoked commit punishable.
 */
export function publishCommit(
  commit: CommitTransaction,
  ownRole: Role,
  ownIdentitySk: Uint8Array,
  ownPublishSk: Uint8Array,
  counterpartyAdaptorSignature: Uint8Array,
): Transaction {
  const role = roleOf(ownRole);
  assertSecretKey(ownPublishSk, commit.keys[role].publish, `${role} publish key`);
  verifyCommitAdaptor(commit, role, counterpartyAdaptorSignature);
  const theirs = adaptorDecrypt(counterpartyAdaptorSignature, ownPublishSk);
  assertSpendSignature(commit, theirs, commit.keys[other(role)].identity);
  return withWitness(commit, role, signCooperative(commit, role, ownIdentitySk), theirs);
}

// ---- CETs ---------------------------------------------------------------------------------------

/** One adaptor signature of a CET, for one digit prefix of its interval. */
export interface CetAdaptorSignature {
  readonly prefix: readonly Digit[];
  /** The prefix's price range: how the wire identifies it. */
  readonly range: PriceRange;
  readonly adaptorSignature: Uint8Array;
}

/** Our adaptor signature of a CET, encrypted to one oracle point (33 bytes). */
export function signCetAdaptor(
  cet: CetTransaction,
  ownRole: Role,
  ownIdentitySk: Uint8Array,
  adaptorPoint: Uint8Array,
): Uint8Array {
  assertSecretKey(ownIdentitySk, cet.identities[roleOf(ownRole)], `${ownRole} identity key`);
  return encryptSpendSignature(cet, ownIdentitySk, adaptorPoint);
}

/** Checks the counterparty's adaptor signature of a CET for one oracle point. */
export function verifyCetAdaptor(
  cet: CetTransaction,
  ownRole: Role,
  counterpartyAdaptorSignature: Uint8Array,
  adaptorPoint: Uint8Array,
): void {
  assertSpendAdaptorSignature(
    cet,
    counterpartyAdaptorSignature,
    cet.identities[other(roleOf(ownRole))],
    adaptorPoint,
  );
}

/**
 * Our adaptor signatures of a CET, one per digit prefix of its interval, each encrypted to the
 * oracle's anticipated point for that prefix (sighash computed once).
 */
export function signCetAdaptors(
  cet: IntervalCet,
  ownRole: Role,
  ownIdentitySk: Uint8Array,
  event: OracleEventPoints,
): CetAdaptorSignature[] {
  assertSecretKey(ownIdentitySk, cet.identities[roleOf(ownRole)], `${ownRole} identity key`);
  const digest = spendSighash(cet);
  const points = anticipatedPoints(event, cet.prefixes);
  return cet.prefixes.map((prefix, i) => ({
    prefix,
    range: prefixRange(prefix, event.nDigits),
    adaptorSignature: adaptorEncrypt(ownIdentitySk, points[i] as Uint8Array, digest),
  }));
}

/**
 * Checks the counterparty's adaptor signatures of a CET: exactly one per prefix of its interval,
 * matched by range (a signature for a range the CET does not have is rejected), each verifying
 * under the counterparty's identity key and the oracle point of its prefix. Returns them in
 * prefix order.
 */
export function verifyCetAdaptors(
  cet: IntervalCet,
  ownRole: Role,
  event: OracleEventPoints,
  signatures: readonly { readonly range: PriceRange; readonly adaptorSignature: Uint8Array }[],
): CetAdaptorSignature[] {
  const signer = cet.identities[other(roleOf(ownRole))];
  const byRange = new Map<string, Uint8Array>();
  for (const s of signatures) {
    const key = `${s.range.start}-${s.range.end}`;
    if (byRange.has(key)) {
      throw new SignatureVerificationError('cet', `two CET adaptor signatures for range ${key}`);
    }
    byRange.set(key, s.adaptorSignature);
  }
  const digest = spendSighash(cet);
  const points = anticipatedPoints(event, cet.prefixes);
  const out = cet.prefixes.map((prefix, i) => {
    const range = prefixRange(prefix, event.nDigits);
    const key = `${range.start}-${range.end}`;
    const adaptorSignature = byRange.get(key);
    if (!adaptorSignature) {
      throw new SignatureVerificationError('cet', `no CET adaptor signature for range ${key}`);
    }
    byRange.delete(key);
    const point = points[i] as Uint8Array;
    assertAdaptorDigest(cet, digest, adaptorSignature, signer, point, ` for range ${key}`);
    return { prefix, range, adaptorSignature };
  });
  const unknown = [...byRange.keys()];
  if (unknown.length > 0) {
    throw new SignatureVerificationError(
      'cet',
      `CET adaptor signatures for ranges this CET (${cet.range.start}-${cet.range.end}) does not ` +
        `have: ${unknown.join(', ')}`,
    );
  }
  return out;
}

/**
 * Signs a CET for broadcast once the oracle attested (maia `Dlc::signed_cet`): decrypts the
 * counterparty's adaptor signature for the attested prefix with the attestation key y = Σ s_i
 * (see `attestationDecryptionKey`), checks the result and adds our signature.
 */
export function finalizeCet(
  cet: CetTransaction,
  ownRole: Role,
  ownIdentitySk: Uint8Array,
  counterpartyAdaptorSignature: Uint8Array,
  oracleDecryptionKey: Uint8Array,
): Transaction {
  const role = roleOf(ownRole);
  const theirs = adaptorDecrypt(counterpartyAdaptorSignature, oracleDecryptionKey);
  try {
    assertSpendSignature(cet, theirs, cet.identities[other(role)]);
  } catch (err) {
    throw new SignatureVerificationError(
      'cet',
      'the decrypted CET signature does not verify: wrong attestation, prefix or CET',
      { cause: err },
    );
  }
  return withWitness(cet, role, signCooperative(cet, role, ownIdentitySk), theirs);
}

// ---- Punish ---------------------------------------------------------------------------------------

/**
 * Learns the counterparty's publish secret from a commit it published (maia punish step 1): for
 * each signature in the witness, recover(their publish key, our commit adaptor signature, sig).
 * `ownAdaptorSignature` is the commit adaptor signature WE gave them for that commit. Throws
 * {@link PublishSecretNotFoundError} when the transaction is not that commit or reveals nothing.
 */
export function recoverPublishSecret(
  revoked: CommitTransaction,
  punisherRole: Role,
  publishedTx: Transaction,
  ownAdaptorSignature: Uint8Array,
): Uint8Array {
  if (publishedTx.getId() !== revoked.tx.getId()) {
    throw new PublishSecretNotFoundError(
      `transaction ${publishedTx.getId()} is not the commit ${revoked.tx.getId()}`,
    );
  }
  const theirPublish = revoked.keys[other(roleOf(punisherRole))].publish;
  const witness = publishedTx.ins[0]?.witness ?? [];
  for (const item of witness.slice(0, -1)) {
    let signature: Uint8Array;
    try {
      signature = bscript.signature.decode(item).signature;
    } catch {
      continue;
    }
    try {
      const secret = adaptorRecover(theirPublish, ownAdaptorSignature, signature);
      assertSecretKey(secret, theirPublish, 'recovered publish key');
      return secret;
    } catch {}
  }
  throw new PublishSecretNotFoundError();
}

/**
 * The punish-branch witness of a commit script:
 * - maker punishes: `[sig_Trev, T_rev, sig_Tpub, T_pub, sig_Mid, M_id, 0x01, <>, witnessScript]`
 * - taker punishes: `[sig_Mrev, M_rev, sig_Mpub, M_pub, sig_Tid, T_id, <>, <>, witnessScript]`
 *
 * The top `<>` fails the first `<M_id> CHECKSIG` (entering OP_NOTIF); the next item selects the
 * OP_IF (maker) or OP_ELSE (taker) branch.
 */
export function punishWitness(
  punisherRole: Role,
  keys: CommitKeys,
  signatures: {
    readonly identity: Uint8Array;
    readonly publish: Uint8Array;
    readonly revocation: Uint8Array;
  },
  witnessScript: Uint8Array,
): Uint8Array[] {
  const role = roleOf(punisherRole);
  const own = keys[role];
  const them = keys[other(role)];
  const der = (s: Uint8Array) => bscript.signature.encode(s, SIGHASH_ALL);
  return [
    der(signatures.revocation),
    them.revocation,
    der(signatures.publish),
    them.publish,
    der(signatures.identity),
    own.identity,
    role === 'maker' ? new Uint8Array([1]) : new Uint8Array(0),
    new Uint8Array(0),
    witnessScript,
  ];
}

/**
 * Signs the punish transaction (maia punish step 2): our identity key, the counterparty's publish
 * secret (recovered from its published commit) and its revocation secret (revealed at rollover),
 * all checked against the revoked commit's keys ({@link SecretKeyMismatchError}).
 */
export function signPunish(
  punish: PunishTransaction,
  punisherRole: Role,
  ownIdentitySk: Uint8Array,
  theirPublishSk: Uint8Array,
  theirRevocationSk: Uint8Array,
): Transaction {
  const role = roleOf(punisherRole);
  const them = punish.keys[other(role)];
  assertSecretKey(ownIdentitySk, punish.keys[role].identity, `${role} identity key`);
  assertSecretKey(theirPublishSk, them.publish, 'counterparty publish key');
  assertSecretKey(theirRevocationSk, them.revocation, 'counterparty revocation key');
  const tx = punish.tx.clone();
  tx.setWitness(
    0,
    punishWitness(
      role,
      punish.keys,
      {
        identity: signSpend(punish, ownIdentitySk),
        publish: signSpend(punish, theirPublishSk),
        revocation: signSpend(punish, theirRevocationSk),
      },
      punish.spent.witnessScript,
    ),
  );
  return tx;
}

// ---- Anchors (CPFP of an anchored commit) ----------------------------------------------------------

/**
 * vbytes one signed anchor input adds to a child transaction: 41 non-witness bytes (outpoint,
 * empty scriptSig, nSequence) × 4 + witness 1 + (1 + 72) + (1 + 40) = 279 WU → 69.75, rounded
 * up (72-byte DER signature: the longest low-S one). A child that has no other segwit input adds
 * 2 WU of marker and flag.
 */
export const ANCHOR_INPUT_VBYTES = 70n;

/** The owner's witness of an anchor: `[sig ‖ 0x01, witnessScript]` (DER signature). */
export function anchorWitness(signature: Uint8Array, witnessScript: Uint8Array): Uint8Array[] {
  return [bscript.signature.encode(signature, SIGHASH_ALL), witnessScript];
}

/**
 * Anyone's witness of an anchor 16 blocks after its commit confirmed (the spending input's
 * nSequence must be ≥ 16, the transaction version 2): `[<>, witnessScript]`.
 */
export function anchorSweepWitness(witnessScript: Uint8Array): Uint8Array[] {
  return [new Uint8Array(0), witnessScript];
}

/**
 * Signs input `inputIndex` of `tx` (a CPFP child) spending our anchor of an anchored commit:
 * ECDSA over the BIP143 P2WSH sighash (scriptCode the anchor script, the anchor's value,
 * SIGHASH_ALL) with our identity key; {@link SecretKeyMismatchError} unless the anchor is that
 * key's anchor script. Returns the
 * witness stack for `tx.setWitness(inputIndex, …)`; the child's other inputs are the wallet's.
 */
export function signAnchorInput(
  tx: Transaction,
  inputIndex: number,
  anchor: SpentOutput,
  identitySk: Uint8Array,
): Uint8Array[] {
  const input = tx.ins[inputIndex];
  if (input === undefined) {
    throw new InvalidTransactionParametersError(`the transaction has no input ${inputIndex}`);
  }
  if (toHexTxid(input.hash) !== anchor.txid || input.index !== anchor.vout) {
    throw new InvalidTransactionParametersError(
      `input ${inputIndex} does not spend the anchor ${anchor.txid}:${anchor.vout}`,
    );
  }
  const script = anchor.witnessScript;
  if (!sameBytes(anchorScript(publicKeyOf(identitySk, 'anchor identity key')), script)) {
    throw new SecretKeyMismatchError('the anchor is not the anchor of this identity key');
  }
  const digest = tx.hashForWitnessV0(inputIndex, script, anchor.value, SIGHASH_ALL);
  const signature = secp256k1.sign(digest, identitySk, { prehash: false, lowS: true });
  return anchorWitness(signature, script);
}

function toHexTxid(hash: Uint8Array): string {
  return Array.from(Uint8Array.from(hash).reverse(), (b) => b.toString(16).padStart(2, '0')).join(
    '',
  );
}
