/**
 * Named errors of the DLC crypto primitives. Callers branch on `name` (or `instanceof`); a peer's
 * malformed or dishonest data must never look like a bug, so every rejection has its own class.
 */
import { NamedError } from '../model/named-error.ts';

/** Base class of every error thrown by `dlc/`, so callers can catch "bad DLC data" as one. */
export class DlcError extends NamedError {
  constructor(message = 'invalid DLC data') {
    super(message);
  }
}

/** A secret key or scalar that is not 32 bytes or not in 1 … n−1. */
export class InvalidScalarError extends DlcError {
  constructor(message = 'scalar must be 32 bytes in the range 1 … n−1') {
    super(message);
  }
}

/** A public key or point that is not a valid 33-byte compressed (or 32-byte x-only) point. */
export class InvalidPointError extends DlcError {
  constructor(message = 'not a valid secp256k1 point') {
    super(message);
  }
}

/** 162 bytes that do not parse as an ECDSA adaptor signature (bad point, s_a zero or too high…). */
export class InvalidAdaptorSignatureEncodingError extends DlcError {
  constructor(message = 'malformed adaptor signature') {
    super(message);
  }
}

/** The DLEQ proof of an adaptor signature does not verify ("proof is wrong"). */
export class InvalidDleqProofError extends DlcError {
  constructor(message = 'proof is wrong') {
    super(message);
  }
}

/** An adaptor signature whose ECDSA part does not verify for the key and message. */
export class InvalidAdaptorSignatureError extends DlcError {
  constructor(message = 'adaptor signature does not verify') {
    super(message);
  }
}

/** The decryption key cannot be recovered: the signature does not belong to the adaptor signature. */
export class AdaptorRecoveryError extends DlcError {
  constructor(message = 'cannot recover the decryption key from this signature') {
    super(message);
  }
}

/** A plain ECDSA signature that is not 64-byte compact r‖s with r, s < n (or not valid DER). */
export class InvalidSignatureEncodingError extends DlcError {
  constructor(message = 'malformed ECDSA signature') {
    super(message);
  }
}

/**
 * An oracle event id that is not `/x/BitMEX/BXBT/<YYYY-MM-DDTHH:MM:SS>.price?n=20`. The same class
 * as the domain model's, so a caller catches one error whichever layer parsed the id.
 */
export { InvalidOracleEventIdError as InvalidEventIdError } from '../model/errors.ts';

/** A price the oracle cannot attest as 20 binary digits (negative, fractional or above 2^20−1). */
export class InvalidPriceError extends DlcError {
  constructor(message = 'price must be a whole number in 0 … 2^20−1') {
    super(message);
  }
}

/** A digit string/prefix that is not binary or is longer than the event's number of digits. */
export class InvalidDigitsError extends DlcError {
  constructor(message = 'digits must be 0 or 1 and at most the event length') {
    super(message);
  }
}

/** A price interval with start > end or a bound outside 0 … 2^n−1. */
export class InvalidIntervalError extends DlcError {
  constructor(message = 'interval must satisfy 0 ≤ start ≤ end ≤ 2^n−1') {
    super(message);
  }
}

/** Attestation scalars that do not match the oracle key, nonces and claimed price. */
export class InvalidAttestationError extends DlcError {
  constructor(message = 'attestation does not verify') {
    super(message);
  }
}

/** An olivia announcement/attestation document that does not have the expected shape. */
export class InvalidOracleDocumentError extends DlcError {
  constructor(message = 'malformed olivia announcement or attestation') {
    super(message);
  }
}

/**
 * Payout-curve inputs that cannot describe a contract (zero quantity, leverage outside 1 … 100,
 * a price that is not positive or above the oracle's range, fewer than 3 payouts).
 */
export class InvalidPayoutParametersError extends DlcError {
  constructor(message = 'invalid payout curve parameters') {
    super(message);
  }
}

/**
 * Inputs that cannot make a valid DLC transaction: a negative or zero amount, a relative timelock
 * outside 1 … 65535 blocks, a spent output whose script does not belong to these keys, outputs
 * worth more than the input.
 */
export class InvalidTransactionParametersError extends DlcError {
  constructor(message = 'invalid transaction parameters') {
    super(message);
  }
}

/** A party's lock inputs do not cover its margin plus its change (it would not pay its own fee). */
export class InsufficientFundingError extends DlcError {
  constructor(message = 'inputs do not cover the margin and change') {
    super(message);
  }
}

/** After fees, no output of a CET, close or punish transaction is above its dust limit. */
export class PayoutBelowDustError extends DlcError {
  constructor(message = 'no payout is above the dust limit after fees') {
    super(message);
  }
}

/** A margin too small to pay its half of the refund fee and stay above the dust limit. */
export class MarginTooSmallError extends DlcError {
  constructor(message = 'margin too small to cover the refund fee') {
    super(message);
  }
}

/** Which DLC transaction a signature was for. */
export type DlcTransactionKind = 'lock' | 'commit' | 'cet' | 'refund' | 'punish' | 'close';

/**
 * A counterparty's signature or adaptor signature that does not verify for the transaction, key
 * (and encryption point) it must be for. Raised before anything is stored or broadcast.
 */
export class SignatureVerificationError extends DlcError {
  readonly transaction: DlcTransactionKind;

  constructor(transaction: DlcTransactionKind, message: string, options?: { cause?: unknown }) {
    super(message);
    if (options?.cause !== undefined) this.cause = options.cause;
    this.transaction = transaction;
  }
}

/** No signature in a published commit's witness reveals the counterparty's publish secret. */
export class PublishSecretNotFoundError extends DlcError {
  constructor(message = 'the published commit does not reveal the publish secret') {
    super(message);
  }
}

/** A secret key (revealed revocation secret, recovered publish secret) whose public key is not the one expected. */
export class SecretKeyMismatchError extends DlcError {
  constructor(message = 'secret key does not match the expected public key') {
    super(message);
  }
}

/** Work handed to an adaptor worker pool (`dlc/workers.ts`) after, or while, it was closed. */
export class WorkerPoolClosedError extends DlcError {
  constructor(message = 'the adaptor worker pool is closed') {
    super(message);
  }
}

/**
 * A contract record (`dlc/contract.ts`) that does not rebuild to what it says: a txid or amount
 * that differs from the rebuilt transaction, an unknown oracle event, missing signatures, an
 * unsigned lock asked for as signed, a version this code does not read.
 */
export class InvalidContractRecordError extends DlcError {
  constructor(message = 'the contract record is inconsistent') {
    super(message);
  }
}
