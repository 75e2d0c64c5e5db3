/**
 * Named errors of the price feed (local BitMEX-protocol server and the node's feed client). Callers
 * branch on `name` (or `instanceof`); messages say what was wrong and where it came from.
 */
import { NamedError } from '../../model/named-error.ts';

/** A frame from the feed is not JSON, not a known shape, or carries an unusable price or time. */
export class MalformedFrameError extends NamedError {
  constructor(message = 'Malformed price feed frame') {
    super(message);
  }
}

/** The websocket handshake did not complete within the connect timeout. */
export class FeedConnectTimeoutError extends NamedError {
  readonly timeoutMs: number;

  constructor(timeoutMs: number) {
    super(`price feed handshake did not complete within ${timeoutMs} ms`);
    this.timeoutMs = timeoutMs;
  }
}

/** The socket is open but neither data nor a `pong` arrived after our `ping`: it went silent. */
export class FeedSilentError extends NamedError {
  readonly silentMs: number;

  constructor(silentMs: number) {
    super(`price feed silent for ${silentMs} ms (no data, no pong)`);
    this.silentMs = silentMs;
  }
}

/** The socket closed or failed (server gone, network down, TLS or HTTP upgrade refused). */
export class FeedDisconnectedError extends NamedError {
  constructor(message = 'price feed disconnected') {
    super(message);
  }
}

/** The feed answered a request with an error frame (`{"status":400,"error":"…"}`). */
export class FeedRequestError extends NamedError {
  readonly status: number;

  constructor(status: number, error: string) {
    super(`price feed refused a request: ${error} (status ${status})`);
    this.status = status;
  }
}

/** A price path cannot be built: bad CSV line, off-tick price, or an out-of-range parameter. */
export class InvalidPricePathError extends NamedError {
  constructor(message = 'Invalid price path') {
    super(message);
  }
}
