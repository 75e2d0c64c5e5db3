/** Named errors of `/dlcfd/order/1.0.0`. */
import { NamedError } from '../../model/named-error.ts';
import { Abort } from '../machine.ts';

export class OrderProtocolError extends NamedError {}

/** No order with that id awaits a decision (decided already, timed out, or never placed). */
export class UnknownPendingOrderError extends OrderProtocolError {}

// Thrown inside the setup machine: each ends the run before our lock signature leaves.

/** The counterparty's lock inputs failed the chain check (the subclasses say how). */
export class LockInputError extends Abort {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** A counterparty's lock input the chain does not have unspent: it never existed, or is spent. */
export class MissingLockInputError extends LockInputError {}

/** A counterparty's lock input whose amount or script on chain is not what it claimed. */
export class LockInputMismatchError extends LockInputError {}

/** A counterparty's lock input not deep enough: unconfirmed, or an immature coinbase output. */
export class ImmatureLockInputError extends LockInputError {}
