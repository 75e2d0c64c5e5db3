/** Named errors of `/dlcfd/rollover/1.0.0`. */
import { NamedError } from '../../model/named-error.ts';

export class RolloverProtocolError extends NamedError {}

/** This CFD cannot roll over now (not open, no contract record, a rollover under way…). */
export class CannotRolloverError extends RolloverProtocolError {}

/**
 * Maker: the proposing peer is not the CFD's counterparty (or there is no such CFD). Refused
 * before the CFD is claimed or the policy asked, so a stranger cannot hold a CFD's rollover slot;
 * the message does not say which of the two it is.
 */
export class NotCounterpartyError extends RolloverProtocolError {
  constructor(cfdId: string) {
    super(`no CFD ${cfdId} with this taker`);
  }
}

/**
 * A revocation secret was not sent because this node has published (or seen confirmed) the commit
 * it would revoke — a force close or an attestation raced the rollover. Revealing it would let
 * the counterparty punish that commit; the rollover fails instead and the commit stays valid.
 */
export class RevealAfterCommitError extends RolloverProtocolError {}
