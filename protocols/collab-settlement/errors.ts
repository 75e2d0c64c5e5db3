/**
 * Named errors of `/dlcfd/collab-settlement/1.0.0`. Callers branch on `name` (or `instanceof`).
 * Peer misbehaviour extends the wire's {@link ProtocolViolationError} (the stream is reset and the
 * run fails); a refusal by the maker is a {@link SettlementRejectedError}, which is business, not
 * a fault.
 */
import { ProtocolError, ProtocolViolationError } from '../wire.ts';

/** Base of the errors this protocol defines itself. */
export class CollabSettlementError extends ProtocolError {}

/** A valid message, but not the one the protocol expects now (out of order, or a second one). */
export class UnexpectedMessageError extends ProtocolViolationError {}

/** The proposal names a contract this side does not hold with this peer. */
export class UnknownContractError extends ProtocolViolationError {}

/** The proposal's payouts are not what the payout curve gives at its price. */
export class PayoutMismatchError extends ProtocolViolationError {}

/** The proposal's close transaction id is not the one this side builds from the same terms. */
export class TxidMismatchError extends ProtocolViolationError {}

/** The counterparty's signature of the close transaction does not verify. */
export class InvalidCloseSignatureError extends ProtocolViolationError {}

/** The proposed price is too far from the maker's own closing price (a reason to reject). */
export class PriceOutOfToleranceError extends CollabSettlementError {}
/** The proposed close fee rate is outside what the maker signs (its mempool minimum … its cap). */
export class CloseFeeRateOutOfBoundsError extends CollabSettlementError {}

/** The maker refused the proposal; `reason` is what it said. */
export class SettlementRejectedError extends CollabSettlementError {
  readonly reason: string;
  constructor(reason: string) {
    super(`the maker rejected the settlement: ${reason}`);
    this.reason = reason;
  }
}

/** This node cannot propose or run a settlement now (no quote, a state machine misused…). */
export class SettlementNotPossibleError extends CollabSettlementError {}
