/**
 * The node's price feed client: keeps one websocket to BitMEX's realtime API (or the local
 * `dlcfd pricefeed`), subscribed to `quoteBin1m:XBTUSD` and `quoteBin1m:ETHUSD`, and always knows
 * the latest quote of each contract and its own health (from XBTUSD's quotes, the first product). It never throws into the node: a dropped or silent socket is reconnected with backoff,
 * a malformed frame is logged and skipped, and failures show up in {@link PriceFeedClient.health}.
 *
 * Liveness: any frame counts as life. After `pingAfterMs` of silence the client sends the text
 * `ping`; if neither `pong` nor data follows within `pongTimeoutMs`, the socket is dropped and
 * reconnected (as BitMEX's docs and ItchySats do).
 *
 * @example
 * const feed = new PriceFeedClient({ network: 'mainnet', logger });
 * feed.onQuote((q) => log.info({ bid: formatPrice(q.bid) }, 'quote'));
 * feed.start();
 * feed.latest();  // { bid, ask, timestamp, receivedAt, stale, ageMs } | undefined
 *                 // ageMs from the feed's own timestamp; stale from DEFAULT_STALE_AFTER_MS (15 s)
 * feed.health();  // { status: 'connected', lastQuoteAgeMs: 812, reconnects: 0, … }
 * await feed.stop();
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { type Logger, pino } from 'pino';
import { type RawData, WebSocket } from 'ws';
import type { Price } from '../../model/units.ts';
import type { HealthReporter, HealthStatus } from '../runtime/health.ts';
import {
  BACKOFF_FACTOR,
  BACKOFF_JITTER,
  BITMEX_MAINNET_URL,
  BITMEX_TESTNET_URL,
  DEFAULT_BACKOFF_INITIAL_MS,
  DEFAULT_BACKOFF_MAX_MS,
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_PING_AFTER_MS,
  DEFAULT_PONG_TIMEOUT_MS,
  DEFAULT_STALE_AFTER_MS,
  FEED_SYMBOLS,
  type FeedSymbol,
  QUOTE_SYMBOL,
  quoteTopic,
} from './constants.ts';
import {
  FeedConnectTimeoutError,
  FeedDisconnectedError,
  FeedRequestError,
  FeedSilentError,
  MalformedFrameError,
} from './errors.ts';
import { type ParsedQuote, parseFrame } from './frames.ts';
import { QuoteHistory, type QuoteHistoryOptions } from './history.ts';

/** Bitcoin networks, for picking BitMEX's endpoint. */
export type Network = 'mainnet' | 'testnet' | 'signet' | 'regtest';

/**
 * Largest frame accepted: 1 MiB. quoteBin1m frames are a few hundred bytes; the cap only keeps a
 * misbehaving server from making us buffer ws's default 100 MiB.
 */
export const MAX_FRAME_BYTES = 1024 * 1024;

/** BitMEX's endpoint for a network: mainnet → www.bitmex.com, anything else → testnet (as ItchySats). */
export function defaultFeedUrl(network: Network): string {
  return network === 'mainnet' ? BITMEX_MAINNET_URL : BITMEX_TESTNET_URL;
}

/** A quote as the node uses it: exact prices, times from both ends. */
export interface Quote {
  symbol: FeedSymbol;
  bid: Price;
  ask: Price;
  /** The feed's timestamp (BitMEX: the one-minute bin), unix seconds. */
  timestamp: number;
  /**
   * The same, unix ms as precise as the feed gives it: staleness is measured from it (from
   * `timestamp` when absent).
   */
  timestampMs?: number;
  /** When we received it, ms since the epoch (local clock). */
  receivedAt: number;
}

/** The latest quote with its staleness, as of the call. */
export interface LatestQuote extends Quote {
  /** {@link quoteAgeMs}: from the feed's own timestamp (or receipt, if that is older). */
  ageMs: number;
  /** `ageMs ≥ staleAfterMs`: do not price new positions from it, do not attest it. */
  stale: boolean;
}

/**
 * Age of a quote at `now` (ms): from the older of the feed's own timestamp and our receipt, so a
 * quote frozen or delayed upstream ages from when the feed says it was true, and a feed clock
 * running ahead of ours cannot make a quote younger than its receipt. Never negative.
 */
export function quoteAgeMs(
  quote: Pick<Quote, 'timestamp' | 'timestampMs' | 'receivedAt'>,
  now: number,
): number {
  const said = quote.timestampMs ?? quote.timestamp * 1000;
  return Math.max(0, now - Math.min(said, quote.receivedAt));
}

export type FeedStatus = 'connected' | 'connecting' | 'disconnected';

/** What the UI shows for the price feed (principle 1: health of each subsystem). */
export interface FeedHealth {
  status: FeedStatus;
  /** When `status` last changed, ms since the epoch. */
  since: number;
  url: string;
  /** Age of the latest quote in ms, `null` before the first. */
  lastQuoteAgeMs: number | null;
  /** No quote yet, or the latest is older than `staleAfterMs`. */
  stale: boolean;
  /** Connection attempts after the first (each one follows a drop, a timeout or a refusal). */
  reconnects: number;
  lastError: { name: string; message: string; at: number } | null;
  /** When the next connection attempt is due while disconnected (what is being done about it). */
  nextAttemptAt: number | null;
  /** Frames and rows skipped as malformed since start. */
  malformedFrames: number;
}

/** Feed status → health-registry status. */
const HEALTH_STATUS: Record<FeedStatus, HealthStatus> = {
  connected: 'ok',
  connecting: 'starting',
  disconnected: 'down',
};

export interface PriceFeedClientOptions {
  /** Told of every health change (status; `degraded` while connected with a stale quote). */
  health?: HealthReporter;
  /** Websocket URL. @default defaultFeedUrl(network) */
  url?: string;
  /** Picks the default URL. @default 'mainnet' */
  network?: Network;
  /** Silence before sending `ping`. @default DEFAULT_PING_AFTER_MS (5 s) */
  pingAfterMs?: number;
  /** Wait for `pong` (or any frame) after `ping`. @default DEFAULT_PONG_TIMEOUT_MS (5 s) */
  pongTimeoutMs?: number;
  /** Websocket handshake timeout. @default DEFAULT_CONNECT_TIMEOUT_MS (10 s) */
  connectTimeoutMs?: number;
  /**
   * Age (from the quote's own timestamp, see {@link quoteAgeMs}) from which the latest quote is
   * stale. @default DEFAULT_STALE_AFTER_MS (15 s)
   */
  staleAfterMs?: number;
  /** Clock, ms since the epoch (tests inject one). @default Date.now */
  now?: () => number;
  /** First reconnect delay. @default DEFAULT_BACKOFF_INITIAL_MS (500 ms) */
  backoffInitialMs?: number;
  /** Longest reconnect delay. @default DEFAULT_BACKOFF_MAX_MS (30 s) */
  backoffMaxMs?: number;
  /** Logger; malformed frames are logged at `warn`. Silent by default. */
  logger?: Logger;
  /** The chart's recent history ({@link PriceFeedClient.history}). @default 5 s points, 1 h */
  history?: QuoteHistoryOptions;
  /** Contracts to subscribe to (`quoteBin1m:<symbol>` each). @default FEED_SYMBOLS (both) */
  symbols?: readonly FeedSymbol[];
}

/** How one connection ended. */
interface SessionEnd {
  error: Error;
  gotQuote: boolean;
}

const noop = (): void => {};

/** The feed client. Construct, `start()`, read `latest()`/`health()`, `stop()`. */
export class PriceFeedClient {
  readonly url: string;
  /** Recent XBTUSD quotes, downsampled and bounded, in memory only: what the UI's chart starts from. */
  readonly history: QuoteHistory;
  /** The contracts subscribed to. */
  readonly symbols: readonly FeedSymbol[];

  readonly #pingAfterMs: number;
  readonly #pongTimeoutMs: number;
  readonly #connectTimeoutMs: number;
  readonly #staleAfterMs: number;
  readonly #backoffInitialMs: number;
  readonly #backoffMaxMs: number;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #quoteListeners = new Set<(q: Quote) => void>();
  readonly #healthListeners = new Set<(h: FeedHealth) => void>();
  readonly #reporter: HealthReporter | undefined;

  #abort: AbortController | undefined;
  #running: Promise<void> | undefined;
  #staleTimer: NodeJS.Timeout | undefined;
  /** The latest quote of each contract; XBTUSD's is the one health and history follow. */
  readonly #latest = new Map<FeedSymbol, Quote>();
  #status: FeedStatus = 'disconnected';
  #since = Date.now();
  #reconnects = 0;
  #lastError: FeedHealth['lastError'] = null;
  #nextAttemptAt: number | null = null;
  #malformed = 0;

  constructor(options: PriceFeedClientOptions = {}) {
    this.url = options.url ?? defaultFeedUrl(options.network ?? 'mainnet');
    this.#pingAfterMs = options.pingAfterMs ?? DEFAULT_PING_AFTER_MS;
    this.#pongTimeoutMs = options.pongTimeoutMs ?? DEFAULT_PONG_TIMEOUT_MS;
    this.#connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    this.#staleAfterMs = options.staleAfterMs ?? DEFAULT_STALE_AFTER_MS;
    this.#backoffInitialMs = options.backoffInitialMs ?? DEFAULT_BACKOFF_INITIAL_MS;
    this.#backoffMaxMs = options.backoffMaxMs ?? DEFAULT_BACKOFF_MAX_MS;
    this.#now = options.now ?? Date.now;
    this.#log = (options.logger ?? pino({ level: 'silent' })).child({
      component: 'pricefeed:client',
    });
    this.history = new QuoteHistory(options.history);
    this.symbols = options.symbols ?? FEED_SYMBOLS;
    this.#reporter = options.health;
  }

  /** Starts connecting in the background. Never throws; a second call is a no-op. */
  start(): void {
    if (this.#abort) return;
    const abort = new AbortController();
    this.#abort = abort;
    this.#running = this.#run(abort.signal).catch((err: unknown) => {
      // #run handles its own failures; this is a last line of defence, not a path.
      this.#log.error({ err }, 'price feed loop failed');
    });
  }

  /** Stops: closes the socket, cancels every timer and pending wait. Resolves when all are gone. */
  async stop(): Promise<void> {
    const abort = this.#abort;
    if (!abort) return;
    abort.abort();
    clearTimeout(this.#staleTimer);
    this.#staleTimer = undefined;
    await this.#running;
    this.#abort = undefined;
    this.#running = undefined;
    this.#nextAttemptAt = null;
    this.#setStatus('disconnected');
  }

  /**
   * The latest quote of `symbol` (XBTUSD unless given) and whether it is stale, or undefined
   * before its first one.
   */
  latest(symbol: FeedSymbol = QUOTE_SYMBOL): LatestQuote | undefined {
    const q = this.#latest.get(symbol);
    if (!q) return undefined;
    const ageMs = quoteAgeMs(q, this.#now());
    return { ...q, ageMs, stale: ageMs >= this.#staleAfterMs };
  }

  /** Health snapshot for the UI (the age and staleness of XBTUSD's quotes). */
  health(): FeedHealth {
    const primary = this.#latest.get(QUOTE_SYMBOL);
    const age = primary ? quoteAgeMs(primary, this.#now()) : null;
    return {
      status: this.#status,
      since: this.#since,
      url: this.url,
      lastQuoteAgeMs: age,
      stale: age === null || age >= this.#staleAfterMs,
      reconnects: this.#reconnects,
      lastError: this.#lastError,
      nextAttemptAt: this.#nextAttemptAt,
      malformedFrames: this.#malformed,
    };
  }

  /** Calls `listener` with every quote received. Returns the unsubscribe function. */
  onQuote(listener: (q: Quote) => void): () => void {
    this.#quoteListeners.add(listener);
    return () => this.#quoteListeners.delete(listener);
  }

  /**
   * Calls `listener` when health changes: status, a new error, or the latest quote turning stale.
   * Returns the unsubscribe function.
   */
  onHealth(listener: (h: FeedHealth) => void): () => void {
    this.#healthListeners.add(listener);
    return () => this.#healthListeners.delete(listener);
  }

  /** Connects, and reconnects with exponential backoff and jitter, until aborted. */
  async #run(signal: AbortSignal): Promise<void> {
    let attempt = 0;
    for (let first = true; !signal.aborted; first = false) {
      if (!first) this.#reconnects++;
      this.#nextAttemptAt = null;
      this.#setStatus('connecting');
      const end = await this.#session(signal);
      if (signal.aborted) return;
      if (end.gotQuote) attempt = 0;
      const ceiling = Math.min(
        this.#backoffMaxMs,
        this.#backoffInitialMs * BACKOFF_FACTOR ** attempt,
      );
      const delay = Math.round(ceiling * (1 - BACKOFF_JITTER * Math.random()));
      attempt++;
      this.#nextAttemptAt = Date.now() + delay;
      this.#recordError(end.error, false);
      this.#setStatus('disconnected');
      this.#log.warn({ err: end.error, delayMs: delay, attempt }, 'price feed lost; reconnecting');
      await sleep(delay, undefined, { signal }).catch(noop);
    }
  }

  /** One connection, from dial to death. Resolves (never rejects) with why it ended. */
  #session(signal: AbortSignal): Promise<SessionEnd> {
    return new Promise((resolve) => {
      let gotQuote = false;
      let done = false;
      let timer: NodeJS.Timeout | undefined;
      const ws = new WebSocket(this.url, { maxPayload: MAX_FRAME_BYTES });

      const finish = (error: Error): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        ws.removeAllListeners();
        ws.on('error', noop); // terminate() while connecting reports an error; nobody needs it
        ws.terminate();
        resolve({ error, gotQuote });
      };
      const onAbort = (): void => finish(new FeedDisconnectedError('price feed client stopped'));
      // After any frame: wait for silence, then ping, then give up if still nothing.
      const armSilence = (): void => {
        clearTimeout(timer);
        timer = setTimeout(() => {
          if (ws.readyState === WebSocket.OPEN) ws.send('ping');
          timer = setTimeout(
            () => finish(new FeedSilentError(this.#pingAfterMs + this.#pongTimeoutMs)),
            this.#pongTimeoutMs,
          );
        }, this.#pingAfterMs);
      };

      signal.addEventListener('abort', onAbort, { once: true });
      timer = setTimeout(
        () => finish(new FeedConnectTimeoutError(this.#connectTimeoutMs)),
        this.#connectTimeoutMs,
      );
      ws.on('open', () => {
        this.#log.info({ url: this.url }, 'price feed connected');
        this.#setStatus('connected');
        ws.send(JSON.stringify({ op: 'subscribe', args: this.symbols.map(quoteTopic) }));
        armSilence();
      });
      ws.on('message', (data: RawData, isBinary: boolean) => {
        armSilence();
        if (this.#onFrame(data, isBinary)) gotQuote = true;
      });
      ws.on('error', (err) => finish(new FeedDisconnectedError(err.message)));
      ws.on('close', (code, reason) => {
        const why = reason.length > 0 ? `: ${reason.toString()}` : '';
        finish(new FeedDisconnectedError(`price feed closed the socket (code ${code}${why})`));
      });
    });
  }

  /** Handles one frame; true when it carried a usable quote. Never throws. */
  #onFrame(data: RawData, isBinary: boolean): boolean {
    if (isBinary) {
      this.#malformedFrame(new MalformedFrameError('binary frame'));
      return false;
    }
    const text = data.toString();
    let frame: ReturnType<typeof parseFrame>;
    try {
      frame = parseFrame(text);
    } catch (err) {
      this.#malformedFrame(err as Error);
      return false;
    }
    switch (frame.kind) {
      case 'quotes': {
        for (const reason of frame.rejected) this.#malformedFrame(new MalformedFrameError(reason));
        let got = false;
        for (const q of frame.quotes) {
          if (!this.symbols.includes(q.symbol as FeedSymbol)) continue;
          this.#onQuote(q, q.symbol as FeedSymbol);
          got = true;
        }
        return got;
      }
      case 'error':
        this.#log.warn(
          { status: frame.status, error: frame.error },
          'price feed refused a request',
        );
        this.#recordError(new FeedRequestError(frame.status, frame.error), true);
        return false;
      default:
        this.#log.debug({ frame: frame.kind }, 'price feed frame');
        return false;
    }
  }

  #onQuote(parsed: ParsedQuote, symbol: FeedSymbol): void {
    const quote: Quote = {
      symbol,
      bid: parsed.bid,
      ask: parsed.ask,
      timestamp: parsed.timestamp,
      timestampMs: parsed.timestampMs,
      receivedAt: this.#now(),
    };
    const wasStale = this.health().stale;
    this.#latest.set(symbol, quote);
    if (symbol !== QUOTE_SYMBOL) {
      this.#tell(quote);
      return;
    }
    this.history.add(quote);
    clearTimeout(this.#staleTimer);
    // Tell health listeners when this quote turns stale, by its own age (+1 ms: timers may fire
    // on the boundary). Readers of latest() need no timer: it computes the age on every call.
    const freshForMs = Math.max(0, this.#staleAfterMs - quoteAgeMs(quote, quote.receivedAt));
    this.#staleTimer = setTimeout(() => this.#emitHealth(), freshForMs + 1);
    this.#tell(quote);
    if (wasStale) this.#emitHealth();
  }

  #tell(quote: Quote): void {
    for (const listener of this.#quoteListeners) {
      try {
        listener(quote);
      } catch (err) {
        this.#log.error({ err }, 'price feed quote listener threw');
      }
    }
  }

  #malformedFrame(err: Error): void {
    this.#malformed++;
    this.#log.warn({ err: err.message }, 'skipped malformed price feed frame');
  }

  #recordError(err: Error, emit: boolean): void {
    this.#lastError = { name: err.name, message: err.message, at: Date.now() };
    if (emit) this.#emitHealth();
  }

  #setStatus(status: FeedStatus): void {
    if (status === this.#status) return;
    this.#status = status;
    this.#since = Date.now();
    this.#emitHealth();
  }

  #emitHealth(): void {
    const health = this.health();
    this.#reporter?.report({
      status:
        health.status === 'connected' && health.stale ? 'degraded' : HEALTH_STATUS[health.status],
      ...(health.lastError ? { error: new Error(health.lastError.message) } : {}),
      detail: health.stale ? 'quotes are stale' : health.url,
    });
    for (const listener of this.#healthListeners) {
      try {
        listener(health);
      } catch (err) {
        this.#log.error({ err }, 'price feed health listener threw');
      }
    }
  }
}
