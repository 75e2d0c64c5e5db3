/** Named errors of `/dlcfd/order/1.0.0`. */

export class OrderProtocolError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The maker said no (a business answer, with its reason). */
export class OrderRejectedError extends OrderProtocolError {}

/** Contract setup did not complete: the peer misbehaved, went silent, or a local step failed. */
export class ContractSetupFailedError extends OrderProtocolError {}

/** The peer sent a message the setup does not expect now, or one that contradicts ours. */
export class SetupViolationError extends OrderProtocolError {}

/** No order with that id awaits a decision (decided already, timed out, or never placed). */
export class UnknownPendingOrderError extends OrderProtocolError {}
