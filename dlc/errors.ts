/**
 * Named errors of the DLC crypto primitives. Callers branch on `name` (or `instanceof`); a peer's
 * malformed or dishonest data must never look like a bug, so every rejection has its own class.
 */

/** Base class of every error thrown by `dlc/`, so callers can catch "bad DLC data" as one. */
export class DlcError extends Error {
  constructor(message = 'invalid DLC data') {
    super(message);
    this.name = 'DlcError';
  }
}

/** A secret key or scalar that is not 32 bytes or not in 1 … n−1. */
export class InvalidScalarError extends DlcError {
  constructor(message = 'scalar must be 32 bytes in the range 1 … n−1') {
    super(message);
    this.name = 'InvalidScalarError';
  }
}

/** A public key or point that is not a valid 33-byte compressed (or 32-byte x-only) point. */
export class InvalidPointError extends DlcError {
  constructor(message = 'not a valid secp256k1 point') {
    super(message);
    this.name = 'InvalidPointError';
  }
}

/** 162 bytes that do not parse as an ECDSA adaptor signature (bad point, s_a zero or too high…). */
export class InvalidAdaptorSignatureEncodingError extends DlcError {
  constructor(message = 'malformed adaptor signature') {
    super(message);
    this.name = 'InvalidAdaptorSignatureEncodingError';
  }
}

/** The DLEQ proof of an adaptor signature does not verify ("proof is wrong"). */
export class InvalidDleqProofError extends DlcError {
  constructor(message = 'proof is wrong') {
    super(message);
    this.name = 'InvalidDleqProofError';
  }
}

/** An adaptor signature whose ECDSA part does not verify for the key and message. */
export class InvalidAdaptorSignatureError extends DlcError {
  constructor(message = 'adaptor signature does not verify') {
    super(message);
    this.name = 'InvalidAdaptorSignatureError';
  }
}

/** The decryption key cannot be recovered: the signature does not belong to the adaptor signature. */
export class AdaptorRecoveryError extends DlcError {
  constructor(message = 'cannot recover the decryption key from this signature') {
    super(message);
    this.name = 'AdaptorRecoveryError';
  }
}

/** A plain ECDSA signature that is not 64-byte compact r‖s with r, s < n (or not valid DER). */
export class InvalidSignatureEncodingError extends DlcError {
  constructor(message = 'malformed ECDSA signature') {
    super(message);
    this.name = 'InvalidSignatureEncodingError';
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
    this.name = 'InvalidPriceError';
  }
}

/** A digit string/prefix that is not binary or is longer than the event's number of digits. */
export class InvalidDigitsError extends DlcError {
  constructor(message = 'digits must be 0 or 1 and at most the event length') {
    super(message);
    this.name = 'InvalidDigitsError';
  }
}

/** A price interval with start > end or a bound outside 0 … 2^n−1. */
export class InvalidIntervalError extends DlcError {
  constructor(message = 'interval must satisfy 0 ≤ start ≤ end ≤ 2^n−1') {
    super(message);
    this.name = 'InvalidIntervalError';
  }
}

/** Attestation scalars that do not match the oracle key, nonces and claimed price. */
export class InvalidAttestationError extends DlcError {
  constructor(message = 'attestation does not verify') {
    super(message);
    this.name = 'InvalidAttestationError';
  }
}

/** An olivia announcement/attestation document that does not have the expected shape. */
export class InvalidOracleDocumentError extends DlcError {
  constructor(message = 'malformed olivia announcement or attestation') {
    super(message);
    this.name = 'InvalidOracleDocumentError';
  }
}

/**
 * Payout-curve inputs that cannot describe a contract (zero quantity, leverage outside 1 … 100,
 * a price that is not positive or above the oracle's range, fewer than 3 payouts).
 */
export class InvalidPayoutParametersError extends DlcError {
  constructor(message = 'invalid payout curve parameters') {
    super(message);
    this.name = 'InvalidPayoutParametersError';
  }
}
