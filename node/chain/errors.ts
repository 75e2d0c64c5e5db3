/**
 * Named errors of the chain layer (embedded regtest node, JSON-RPC client, broadcast). Callers
 * branch on `name` (or `instanceof`); messages say what failed and where.
 */
import { NamedError } from '../../model/named-error.ts';

/** The node answered a JSON-RPC call with an error object (`{code, message}`): it is reachable. */
export class RpcError extends NamedError {
  /** The JSON-RPC method that failed. */
  readonly method: string;
  /** Bitcoin Core error code, e.g. -5 (not found), -25/-26/-27 (tx rejected / known). */
  readonly code: number;
  /** The node's own message, unchanged. */
  readonly rpcMessage: string;

  constructor(method: string, code: number, rpcMessage: string) {
    super(`RPC ${method} failed: ${rpcMessage} (code ${code})`);
    this.method = method;
    this.code = code;
    this.rpcMessage = rpcMessage;
  }
}

/** The call did not complete within its timeout (the node may be stalled or overloaded). */
export class RpcTimeoutError extends NamedError {
  readonly method: string;
  readonly timeoutMs: number;

  constructor(method: string, timeoutMs: number) {
    super(`RPC ${method} timed out after ${timeoutMs} ms`);
    this.method = method;
    this.timeoutMs = timeoutMs;
  }
}

/** No usable answer: connection refused/reset, DNS failure, or a response that is not JSON-RPC. */
export class RpcUnreachableError extends NamedError {
  readonly method: string;

  constructor(method: string, url: string, detail: string, options?: { cause?: unknown }) {
    super(`RPC ${method} to ${url} failed: ${detail}`, options);
    this.method = method;
  }
}

/** The node answered, but not with the shape this client expects for the method. */
export class RpcResponseError extends NamedError {
  readonly method: string;

  constructor(method: string, detail: string) {
    super(`RPC ${method} returned an unexpected response: ${detail}`);
    this.method = method;
  }
}

/** The node refused our credentials (HTTP 401/403): wrong user/password or a stale cookie. */
export class RpcAuthError extends NamedError {
  readonly method: string;

  constructor(method: string, url: string, status: number) {
    super(
      `RPC ${method} to ${url} was refused (HTTP ${status}): check rpc user/password or cookie`,
    );
    this.method = method;
  }
}

/**
 * The transaction did not reach the mempool or a block: the node rejected it (invalid signature,
 * immature relative timelock, missing or spent inputs, ...), or it vanished without a reason.
 */
export class BroadcastRejectedError extends NamedError {
  readonly txid: string;
  /** The node's reason (e.g. `non-BIP68-final`), or a description of what was observed. */
  readonly reason: string;

  constructor(txid: string, reason: string, options?: { cause?: unknown }) {
    super(`transaction ${txid} was rejected: ${reason}`, options);
    this.txid = txid;
    this.reason = reason;
  }
}

/** Not an address, or an address of another network (the wallet's, or regtest for the faucet). */
export class InvalidAddressError extends NamedError {}

/** The faucet has no matured coins left to pay the requested amount plus fee. */
export class FaucetEmptyError extends NamedError {}

/** The embedded node is not running (never started, or already stopped). */
export class ChainNotRunningError extends NamedError {
  constructor(message = 'embedded chain is not running') {
    super(message);
  }
}

/** A chain monitor method that needs its database was called before `start()` or after `stop()`. */
export class MonitorNotRunningError extends NamedError {
  constructor(message = 'chain monitor is not running') {
    super(message);
  }
}

/**
 * The chain reorganised below the oldest block hash the monitor keeps, so it cannot tell which of
 * its recorded confirmations are still valid. It stops advancing (health shows this error).
 */
export class ReorgTooDeepError extends NamedError {
  /** The height the monitor could not match against the node's chain. */
  readonly height: number;

  constructor(height: number) {
    super(`chain reorganised below the monitor's window (no known block hash at ${height})`);
    this.height = height;
  }
}

/** A txid or outpoint (`<txid>:<vout>`) given to the chain monitor is malformed. */
export class InvalidWatchError extends NamedError {}

/** The report listener threw: the reports of that block will be delivered again. */
export class ReportListenerError extends NamedError {
  constructor(options?: { cause?: unknown }) {
    super('chain monitor report listener failed', options);
  }
}
