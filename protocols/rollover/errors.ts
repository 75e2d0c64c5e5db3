/** Named errors of `/dlcfd/rollover/1.0.0`. */

export class RolloverProtocolError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** This CFD cannot roll over now (not open, no contract record, a rollover under way…). */
export class CannotRolloverError extends RolloverProtocolError {}

/**
 * A revocation secret was not sent because this node has published (or seen confirmed) the commit
 * it would revoke — a force close or an attestation raced the rollover. Revealing it would let
 * the counterparty punish that commit; the rollover fails instead and the commit stays valid.
 */
export class RevealAfterCommitError extends RolloverProtocolError {}
