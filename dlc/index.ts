/**
 * Pure DLC crypto for dlcfd: ECDSA adaptor signatures (DLC spec / libsecp256k1-zkp), olivia-v1
 * oracle math and documents, and digit decomposition of price intervals. No IO, no floats: both
 * parties of a contract must derive byte-identical results from the same inputs.
 */

// ---- Adaptor signatures -----------------------------------------------------------------------

/** The parsed form of an adaptor signature (points and scalars). */
export type { AdaptorSignatureParts } from './adaptor.ts';
/** 162: the wire size of an adaptor signature, so codecs can reject wrong lengths early. */
/**
 * Signs a CET/commit sighash encrypted to a point, so the counterparty holds a signature it can
 * only use once the oracle (or the publish secret) reveals the point's discrete log.
 */
/**
 * Checks a counterparty's adaptor signature (DLEQ proof + ECDSA equation) before we rely on it;
 * returns false instead of throwing so large CET sets can be filtered cheaply.
 */
/** Like {@link adaptorVerify} but throws a named error saying which check failed (for logs/peers). */
/** Turns a counterparty's adaptor signature into a broadcastable low-S signature once we know y. */
/**
 * Learns y from a published signature: how a party extracts the counterparty's publish secret
 * from a revoked commit on chain in order to punish it.
 */
/** Strict parsing of the 162-byte format, for codecs that must refuse malformed peer data. */
/** Witnesses carry DER; adaptor decryption yields compact r ‖ s — these convert between them. */
/** Whole CET sets at once: the same bytes and verdicts, cheaper per item (what the workers run). */
export {
  ADAPTOR_SIGNATURE_LENGTH,
  type AdaptorEncryptManyItem,
  type AdaptorVerifyManyItem,
  adaptorDecrypt,
  adaptorEncrypt,
  adaptorEncryptMany,
  adaptorRecover,
  adaptorVerify,
  adaptorVerifyMany,
  assertAdaptorSignature,
  parseAdaptorSignature,
  serializeAdaptorSignature,
  signatureFromDer,
  signatureToDer,
} from './adaptor.ts';

// ---- Digit decomposition ------------------------------------------------------------------------

/** Digits are MSB first; a prefix stands for every price that starts with it. */
export type { Digit, Digits, PriceRange } from './digits.ts';
/** olivia attests 20 binary digits, so prices live in 0 … MAX_PRICE (2^20 − 1). */
/**
 * Covers a payout interval with the fewest digit prefixes (one adaptor signature each), in the
 * canonical order both parties must agree on.
 */
/** The price range a prefix stands for: the wire identifies CET prefixes by this range. */
/** Price ↔ digits, as the oracle attests them; caps for an oracle facing a price above 2^20 − 1. */
/** Validation helpers for prices and prefixes coming from peers or config. */
/** Human-readable digit strings ('01011') for logs, tests and debugging. */
export {
  assertPrefix,
  assertPrice,
  capPrice,
  decomposeInterval,
  digitsFromString,
  digitsToNumber,
  digitsToString,
  MAX_PRICE,
  PRICE_DIGITS,
  prefixContains,
  prefixRange,
  priceToDigits,
} from './digits.ts';

// ---- Oracle (olivia-v1) -------------------------------------------------------------------------

/** A parsed event id (time and digit count). */
/** Precomputed per-digit anticipated points of one oracle event. */
/** The typed olivia HTTP documents. */
export type {
  OliviaAnnouncement,
  OliviaAttestation,
  OliviaEventResponse,
  OracleEventPoints,
  PriceEventId,
} from './oracle.ts';
/** Event ids name the settlement/liquidation events a contract depends on; parse them strictly. */
/**
 * Precompute an event's per-digit points once, then derive the encryption point of every CET
 * prefix with a few point additions instead of scalar multiplications.
 */
/** Check an oracle's attestation before using it to settle (never trust an unverified price). */
/** The CET decryption key for the attested price's prefix (sum of the prefix's scalars). */
/** Oracle side of olivia-v1, for dlcfd's own oracle and for tests. */
/** Parse what an olivia oracle serves over HTTP into typed, validated objects. */
/**
 * BIP340 announcement signatures (schnorr_fun `Message::plain("DLC/announcement", data)`): lets a
 * node check nonces really come from the oracle's announcement key before signing CETs to them.
 */
export {
  announcementMessage,
  anticipatedPoint,
  anticipatedPointFor,
  assertAttestation,
  assertOliviaEvent,
  attestationDecryptionKey,
  attestPrice,
  formatEventId,
  formatOliviaTime,
  oracleEventPoints,
  parseEventId,
  parseOliviaAnnouncement,
  parseOliviaAttestation,
  parseOliviaEventResponse,
  prepareOracleEvent,
  signAnnouncement,
  verifyAnnouncementSignature,
  verifyAttestation,
  verifyAttestationScalar,
} from './oracle.ts';

// ---- Payout curve -------------------------------------------------------------------------------

/**
 * The BTCUSD inverse payout curve in integer arithmetic: rows over 0 … 2^20−1 that both parties
 * derive identically, from which CETs and liquidation-event payouts are built.
 */
export {
  applyFeeOffset,
  CURVE_MAX_PRICE,
  type CurvePriceRange,
  curveLiquidationPrices,
  DEFAULT_PAYOUT_COUNT,
  liquidationEventPayouts,
  type PayoutCurve,
  type PayoutCurveParams,
  type PayoutRow,
  payoutCurve,
  type RolePayoutRow,
  rowAtPrice,
  toRolePayouts,
} from './payout-curve.ts';

// ---- Errors -------------------------------------------------------------------------------------

/** Named errors, so callers can tell bad peer/oracle data apart from bugs and report it precisely. */
export {
  AdaptorRecoveryError,
  DlcError,
  InvalidAdaptorSignatureEncodingError,
  InvalidAdaptorSignatureError,
  InvalidAttestationError,
  InvalidDigitsError,
  InvalidDleqProofError,
  InvalidEventIdError,
  InvalidIntervalError,
  InvalidOracleDocumentError,
  InvalidPayoutParametersError,
  InvalidPointError,
  InvalidPriceError,
  InvalidScalarError,
  InvalidSignatureEncodingError,
} from './errors.ts';

// ---- Scripts ------------------------------------------------------------------------------------

/** The six public keys of a commit (identity, publish, revocation per party; maker first). */
export type { CommitKeys, CommitPartyKeys } from './scripts.ts';
/**
 * The lock 2-of-2 and the punishable commit script, byte-exact with maia's miniscript, the
 * anchor script of dlcfd's anchored commits (BOLT 3 `to_local_anchor`), and the P2WSH output
 * paying to a witness script.
 */
export {
  ANCHOR_SCRIPT_LENGTH,
  ANCHOR_SWEEP_DELAY,
  anchorScript,
  COMMIT_SCRIPT_LENGTH,
  commitScript,
  hash160,
  LOCK_SCRIPT_LENGTH,
  lockScript,
  p2wshOutput,
} from './scripts.ts';

// ---- Transactions -------------------------------------------------------------------------------

/** Unsigned transactions with what their sighash and witness need (spent output, keys). */
export type {
  CetTransaction,
  CloseTransaction,
  CommitAnchors,
  CommitOptions,
  CommitTransaction,
  CooperativeSpend,
  DlcSpend,
  FundingInput,
  Identities,
  IntervalCet,
  LockParty,
  LockTransaction,
  Outpoint,
  Payout,
  PayoutInterval,
  PayoutScripts,
  PunishOptions,
  PunishTransaction,
  RefundTransaction,
  SpentOutput,
  TxOutput,
} from './transactions.ts';
/**
 * lock → commit → CET | refund, punish and collaborative close, exactly as maia builds them
 * (version 2, locktime 0, BIP68 relative locks); maia's fee constants and dust rule. Also dlcfd's
 * anchored format (`{ anchors: true }`: two 330-sat anchors on the commit, CETs/refund at the
 * commit's rate) and a replaceable punish at a chosen fee.
 */
export {
  ANCHOR_VALUE,
  buildCet,
  buildCets,
  buildClose,
  buildCommitTransaction,
  buildLockTransaction,
  buildPunish,
  buildRefund,
  CET_FEE_RATE,
  CET_TIMELOCK,
  CET_VBYTES,
  CLOSE_FEE_RATE,
  CLOSE_VBYTES,
  COMMIT_ANCHORED_VBYTES,
  COMMIT_VBYTES,
  cetFee,
  cetPrefixRanges,
  closeFee,
  commitFee,
  dustLimit,
  findCet,
  PUNISH_FEE,
  PUNISH_VBYTES,
  REFUND_TIMELOCK,
  SEQUENCE_FINAL,
  SEQUENCE_RBF,
  subtractFee,
  TX_LOCKTIME,
  TX_VERSION,
} from './transactions.ts';

// ---- Signing ------------------------------------------------------------------------------------

/** Named errors of the transaction layer. */
export type { DlcTransactionKind } from './errors.ts';
export {
  InsufficientFundingError,
  InvalidTransactionParametersError,
  MarginTooSmallError,
  PayoutBelowDustError,
  PublishSecretNotFoundError,
  SecretKeyMismatchError,
  SignatureVerificationError,
} from './errors.ts';
/** One CET adaptor signature per digit prefix, identified by the prefix's price range. */
export type { CetAdaptorSignature } from './sign.ts';
/**
 * BIP143 sighashes, plain and adaptor signatures of every transaction, verification of what the
 * counterparty sends (named errors, before anything is stored or broadcast), witness assembly
 * and finalising: publish a commit, execute a CET, refund/close, recover a publish secret and
 * punish a revoked commit.
 */
export {
  ANCHOR_INPUT_VBYTES,
  anchorSweepWitness,
  anchorWitness,
  assertSecretKey,
  assertSpendAdaptorSignature,
  assertSpendSignature,
  cooperativeWitness,
  encryptSpendSignature,
  finalizeCet,
  finalizeCooperative,
  publishCommit,
  punishWitness,
  recoverPublishSecret,
  SIGHASH_ALL,
  signAnchorInput,
  signCetAdaptor,
  signCetAdaptors,
  signCommitAdaptor,
  signCooperative,
  signPunish,
  signSpend,
  spendSighash,
  verifyCetAdaptor,
  verifyCetAdaptors,
  verifyCommitAdaptor,
  verifyCooperative,
} from './sign.ts';

// ---- Performance: native backend, batched oracle points, worker pool -------------------------

/**
 * Which curve implementation adaptor signatures run on ('native' libsecp256k1 when its bindings
 * load, else 'noble'), and access to each, so tests/benchmarks can compare them byte for byte.
 */
export type { AdaptorBackend } from './adaptor.ts';
export { ADAPTOR_BACKEND, adaptorBackend } from './adaptor.ts';
/** Rejection of work handed to a closed pool. */
export { WorkerPoolClosedError } from './errors.ts';
/** The encryption points of a whole CET set at once (shared additions, one batched inversion). */
export { anticipatedPointSets, anticipatedPoints } from './oracle.ts';
/**
 * Encrypt/verify a whole CET set's adaptor signatures over all cores (the one dlc/ module that
 * starts threads): start once per process, reuse, close on shutdown.
 */
export type {
  AdaptorEncryptItem,
  AdaptorPriority,
  AdaptorVerifyItem,
  AdaptorWorkerPoolOptions,
  AdaptorWorkOptions,
} from './workers.ts';
export { AdaptorWorkerPool } from './workers.ts';

// ---- Contract record ------------------------------------------------------------------------------

/**
 * The signed contract each party keeps after setup (and each rollover replaces): JSON of every
 * secret, key, script and counterparty signature, from which the commit, any CET, the refund and
 * punish transactions are rebuilt and signed, so the node can always get out alone; plus building
 * every transaction of a contract and assembling the record from verified signatures.
 */
export type {
  CetForPrice,
  CetRecord,
  CommitKeysRecord,
  CommitRecord,
  ContractRecord,
  ContractRecordParts,
  ContractTransactions,
  ContractTransactionsParams,
  EventCetsRecord,
  EventPayouts,
  LockRecord,
  PartyKeysRecord,
  RefundRecord,
  RevokedCommitRecord,
} from './contract.ts';
export {
  anchorOf,
  assembleContractRecord,
  buildContractTransactions,
  CONTRACT_RECORD_VERSION,
  commitKeysFromRecord,
  commitKeysToRecord,
  dlcSummary,
  lockOutput,
  payoutScriptsOf,
  rebuildCet,
  rebuildCommit,
  rebuildRefund,
  rebuildRevokedCommit,
  signedCet,
  signedCommit,
  signedLock,
  signedPunish,
  signedRefund,
} from './contract.ts';
export { InvalidContractRecordError } from './errors.ts';
