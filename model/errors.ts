/**
 * Named errors of the domain model. Callers branch on `name` (or `instanceof`); every message says
 * what was wrong in words a user of a trading node understands.
 */
import { NamedError } from './named-error.ts';

/** Base class of the model's errors. */
export class ModelError extends NamedError {}

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

/**
 * The price moved more than the taker's maximum slippage from the price it confirmed: the offer it
 * confirmed is no longer close enough to the maker's current quote for that side.
 */
export class SlippageExceededError extends ModelError {}

/** The offer's oracle event is not where a settlement interval from now says it should be. */
export class OracleEventOutOfWindowError extends ModelError {}

/**
 * A command that is not legal in the CFD's current state, or for this node's role (a maker
 * placing an order, a taker setting a maker policy…). Nothing was done. The HTTP API answers 409.
 */
export class IllegalCommandError extends ModelError {
  /** The command refused, when the CFD aggregate refused it ({@link IllegalCommandError.inState}). */
  readonly command: string | undefined;
  /** The CFD state that refused it, likewise. */
  readonly state: string | undefined;
  constructor(message: string, refused?: { command: string; state: string }) {
    super(message);
    this.command = refused?.command;
    this.state = refused?.state;
  }

  /** The aggregate's refusal: "cannot `command` a CFD that is `state`: `why`". */
  static inState(command: string, state: string, why: string): IllegalCommandError {
    return new IllegalCommandError(`cannot ${command} a CFD that is ${state}: ${why}`, {
      command,
      state,
    });
  }
}

/** An oracle attestation for an event this CFD has no CETs for. */
export class UnknownOracleEventError extends ModelError {}

/** A revoked commit transaction this CFD never signed. */
export class UnknownRevokedCommitError extends ModelError {}
