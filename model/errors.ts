/**
 * Named errors of the domain model. Callers branch on `name` (or `instanceof`); every message says
 * what was wrong in words a user of a trading node understands.
 */

/** Base class: sets `name` from the subclass so logs and API responses carry it. */
export class ModelError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** A number that cannot be an amount, price, rate or leverage (malformed, negative, too precise). */
export class InvalidAmountError extends ModelError {}

/** An offer that is malformed in itself (e.g. min quantity above max, no leverage choices). */
export class InvalidOfferError extends ModelError {}

/** An oracle event id that is not `/x/BitMEX/BXBT/<UTC time>.price?n=20`. */
export class InvalidOracleEventIdError extends ModelError {}

/** The order's quantity is below the offer's minimum or above its maximum. */
export class QuantityOutOfRangeError extends ModelError {}

/** The order's quantity is not a whole number of lots. */
export class QuantityNotMultipleOfLotSizeError extends ModelError {}

/** The order asks for a leverage the offer does not offer. */
export class LeverageNotOfferedError extends ModelError {}

/** The order names a contract symbol other than the offer's. */
export class SymbolMismatchError extends ModelError {}

/** The offer is older than the configured maximum age (or claims to come from the future). */
export class StaleOfferError extends ModelError {}

/** The offer's oracle event is not where a settlement interval from now says it should be. */
export class OracleEventOutOfWindowError extends ModelError {}

/** A command that is not legal in the CFD's current state. Nothing was emitted. */
export class IllegalCommandError extends ModelError {
  readonly command: string;
  readonly state: string;
  constructor(command: string, state: string, why: string) {
    super(`cannot ${command} a CFD that is ${state}: ${why}`);
    this.command = command;
    this.state = state;
  }
}

/** An oracle attestation for an event this CFD has no CETs for. */
export class UnknownOracleEventError extends ModelError {}

/** A revoked commit transaction this CFD never signed. */
export class UnknownRevokedCommitError extends ModelError {}
