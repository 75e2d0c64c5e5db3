/**
 * Errors of the application service, and the one place that says what kind of failure each error
 * of the layers below is. The HTTP layer maps a {@link FailureKind} to a status; it never matches
 * error names as strings.
 */

import {
  IllegalCommandError,
  InvalidAmountError,
  InvalidOfferError,
  LeverageNotOfferedError,
  OracleEventOutOfWindowError,
  QuantityNotMultipleOfLotSizeError,
  QuantityOutOfRangeError,
  SlippageExceededError,
  StaleOfferError,
  SymbolMismatchError,
} from '../../model/errors.ts';
import { OutsideTakerLimitsError } from '../../model/limits.ts';
import {
  BroadcastRejectedError,
  InvalidAddressError,
  RpcAuthError,
  RpcTimeoutError,
  RpcUnreachableError,
} from '../chain/errors.ts';
import { InsufficientFundsError, InvalidSpendError } from '../wallet/errors.ts';

/** Base class: `name` comes from the subclass, so responses and logs carry it. */
export class AppError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Nothing with that id (CFD, offer, pending decision). */
export class NotFoundError extends AppError {}

/** Not legal in the CFD's state or for this node's role: the model's one class, 409 over HTTP. */
export { IllegalCommandError };

/** A subsystem the action needs (wallet, chain, price feed, maker…) is not available; says why. */
export class UnavailableError extends AppError {}

/** The maker refused the order; the message is its reason. Nothing was set up. */
export class OrderRejectedError extends AppError {}

/**
 * The maker did not answer the order within the decision timeout: the order ended, nothing was
 * set up (a 202 means the maker has the order, so it never comes after this).
 */
export class MakerNoAnswerError extends AppError {}

/** The order names an offer of a maker the user blocked (unblock it first). Nothing was sent. */
export class MakerBlockedError extends AppError {}

/** A request (body, query, parameter, or fields that do not hold together) that is not valid. */
export class ValidationError extends AppError {}

/**
 * What kind of failure an error is, from the caller's side:
 * - `invalid`: the request asked for something impossible (bad address, order outside the offer);
 * - `illegal`: not in this state or role;
 * - `conflict`: the market moved or the counterparty said no (price beyond the slippage, the maker
 *   refused the order): the same request may succeed later;
 * - `notFound`: no such thing;
 * - `refused`: the chain backend refused a transaction;
 * - `unavailable`: a subsystem the action needs is down (`message` says so);
 * - undefined: a bug, or an error of a kind this layer does not know.
 */
export type FailureKind =
  | 'invalid'
  | 'illegal'
  | 'conflict'
  | 'notFound'
  | 'refused'
  | 'unavailable';

type ErrorClass = abstract new (...args: never[]) => Error;

const KINDS: readonly (readonly [ErrorClass, FailureKind])[] = [
  [ValidationError, 'invalid'],
  [InvalidAddressError, 'invalid'],
  [InvalidSpendError, 'invalid'],
  [InsufficientFundsError, 'invalid'],
  [InvalidAmountError, 'invalid'],
  [InvalidOfferError, 'invalid'],
  [QuantityOutOfRangeError, 'invalid'],
  [QuantityNotMultipleOfLotSizeError, 'invalid'],
  [LeverageNotOfferedError, 'invalid'],
  [SymbolMismatchError, 'invalid'],
  [StaleOfferError, 'invalid'],
  [OracleEventOutOfWindowError, 'invalid'],
  // The taker's limits: the offer's terms, not the request, are the problem, but the order as
  // asked is refused all the same and the message says which limit.
  [OutsideTakerLimitsError, 'invalid'],
  [IllegalCommandError, 'illegal'],
  [MakerBlockedError, 'illegal'],
  [SlippageExceededError, 'conflict'],
  [OrderRejectedError, 'conflict'],
  [MakerNoAnswerError, 'unavailable'],
  [NotFoundError, 'notFound'],
  [BroadcastRejectedError, 'refused'],
  [UnavailableError, 'unavailable'],
  [RpcUnreachableError, 'unavailable'],
  [RpcTimeoutError, 'unavailable'],
  [RpcAuthError, 'unavailable'],
];

/** The kind of `err` (module doc), by its class. */
export function failureKind(err: unknown): FailureKind | undefined {
  for (const [cls, kind] of KINDS) if (err instanceof cls) return kind;
  return undefined;
}

/** Whether `err` is the chain backend being unreachable (its message then needs "the chain backend"). */
export function isChainUnavailable(err: unknown): boolean {
  return (
    err instanceof RpcUnreachableError ||
    err instanceof RpcTimeoutError ||
    err instanceof RpcAuthError
  );
}
