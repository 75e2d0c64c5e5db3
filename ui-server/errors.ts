/**
 * Errors of the HTTP API. Every failure leaves the server as JSON `{ error: { name, message } }`
 * with a status that says whose fault it is: 400 the request, 401/403 the credentials, 404 an
 * unknown thing, 409 a CFD command illegal in its state (or an order the market or the maker
 * refused: the price moved beyond the slippage, the maker said no), 502 the chain refused,
 * 503 a subsystem the action needs is down. The message is written for the person at the UI.
 */

/**
 * The application service's errors (node/app/errors.ts), mapped to a status by their kind in
 * server.ts `httpError`: 400 ValidationError, 404 NotFoundError, 409 IllegalCommandError, 503
 * UnavailableError.
 */
export {
  IllegalCommandError,
  NotFoundError,
  UnavailableError,
  ValidationError,
} from '../node/app/errors.ts';

/** Base class of the HTTP layer's own errors: carries the status; `name` from the subclass. */
export class ApiError extends Error {
  readonly statusCode: number;
  constructor(statusCode: number, message: string, options?: ErrorOptions) {
    super(message, options);
    this.statusCode = statusCode;
    this.name = new.target.name;
  }
}

/** No (valid) session cookie or bearer token. */
export class UnauthorizedError extends ApiError {
  constructor(message = 'log in first, or send Authorization: Bearer <contents of api.cookie>') {
    super(401, message);
  }
}

/** The password given to log in (or to re-authenticate an action) is not the right one. */
export class InvalidPasswordError extends ApiError {
  constructor(statusCode: 401 | 403, message = 'wrong password') {
    super(statusCode, message);
  }
}

/**
 * The request's Host is not one this server answers to: a DNS-rebinding page (a hostname of the
 * attacker's that resolves to 127.0.0.1) would otherwise be same-origin with the UI.
 */
export class HostNotAllowedError extends ApiError {
  constructor(host: string) {
    super(
      421,
      `this node does not answer to host '${host}'; open it at its own address, or allow the name with --ui-allowed-host`,
    );
  }
}

/** A state-changing request from another origin (or with no proof of coming from the UI). */
export class CrossOriginRequestError extends ApiError {
  constructor(message: string) {
    super(403, message);
  }
}

/** An action that needs the password given again (like mnemonic export) came without it. */
export class PasswordRequiredError extends ApiError {
  constructor(what: string) {
    super(403, `${what} needs your password again: send it as "password" in the body`);
  }
}

/** Too many wrong passwords in a short time. */
export class TooManyAttemptsError extends ApiError {
  readonly retryAfterSecs: number;
  constructor(retryAfterSecs: number) {
    super(429, `too many wrong passwords; try again in ${retryAfterSecs} s`);
    this.retryAfterSecs = retryAfterSecs;
  }
}

/** The JSON body of an error response. */
export interface ErrorBody {
  readonly error: { readonly name: string; readonly message: string };
}

export function errorBody(name: string, message: string): ErrorBody {
  return { error: { name, message } };
}
