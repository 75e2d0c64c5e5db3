/**
 * The live feed: server-sent events at `GET /api/events`.
 *
 * On connect a client gets a snapshot — `health`, `cfds`, `offers`, `quote`, `wallet`, on a
 * maker `policy`, on a taker `limits`, and `quotes` (the chart's history, so a page opened or reconnected now shows the
 * last hour, gaps filled) — and then
 * every change as it happens:
 *
 * | event    | data                                               | when                              |
 * |----------|----------------------------------------------------|-----------------------------------|
 * | `health` | `{overall, components[]}` (all of them)            | any subsystem's health changes    |
 * | `cfds`   | `{cfds: CfdView[]}` (all)                          | on connect                        |
 * | `cfd`    | `CfdView`                                          | a CFD changed (or its `problem`); open ones re-sent with the throttled quote (P/L) |
 * | `offers` | `{offers: OfferView[], reason}`                    | offers or the maker connection changed |
 * | `quote`  | `QuoteView` or `null`                              | at most once per {@link QUOTE_THROTTLE_MS} |
 * | `wallet` | `{available: true, …WalletView}` or `{available: false, reason}` | after each wallet sync, withdrawal |
 * | `policy` | the maker's policy (as `GET /api/maker/policy`)  | maker: the policy changed         |
 * | `limits` | the taker's limits (as `GET /api/taker/limits`)  | taker: on connect, the limits changed |
 * | `quotes` | `QuoteHistoryView` (as `GET /api/quotes`)          | on connect                        |
 * | `account` | `AccountView` (as `GET /api/account`)             | on connect; CFD, wallet and (throttled) quote changes |
 * | `liquidationWarning` | `{cfdId, warning}`: `LiquidationWarningView` or null | on connect for each CFD in the band; when one enters or leaves it |
 *
 * A comment line (`: heartbeat`) every {@link HEARTBEAT_MS} keeps proxies and idle timeouts from
 * closing the stream. A client that stops reading is dropped once {@link MAX_BUFFERED_BYTES} are
 * queued for it; EventSource reconnects on its own and gets a fresh snapshot.
 */
import type { ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { AppService } from '../node/app/service.ts';
import type { CfdView, LiquidationWarningEvent } from '../node/app/views/cfd.ts';

/** Comment lines this often; well under the usual 30–60 s proxy idle timeouts. */
export const HEARTBEAT_MS = 15_000;
/** Quotes tick several times a second; the UI needs about one per second. */
export const QUOTE_THROTTLE_MS = 1_000;
/** Queued bytes after which a client that does not read is disconnected. */
export const MAX_BUFFERED_BYTES = 1024 * 1024;
/** Browsers retry after this many ms when the stream drops (the `retry:` field). */
export const CLIENT_RETRY_MS = 2_000;

export type LiveEventName =
  | 'health'
  | 'cfds'
  | 'cfd'
  | 'offers'
  | 'quote'
  | 'wallet'
  | 'policy'
  | 'limits'
  | 'quotes'
  | 'account'
  | 'liquidationWarning';

export interface LiveFeedOptions {
  readonly logger: Logger;
  /** @default HEARTBEAT_MS */
  readonly heartbeatMs?: number;
  /** @default QUOTE_THROTTLE_MS */
  readonly quoteThrottleMs?: number;
  /**
   * Whether the session a stream was opened with still holds; checked on {@link sessionsEnded}
   * and every heartbeat (expiry). Without it, streams are not tied to sessions.
   */
  readonly sessionValid?: (id: string) => boolean;
}

/** Topics sent once per tick however often they change. */
type Topic = 'health' | 'offers' | 'wallet' | 'account';

/** The `liquidationWarning` event of a CFD's view. */
function warningOf(view: CfdView): LiquidationWarningEvent {
  return { cfdId: view.id, warning: view.liquidationWarning };
}

/** Formats one SSE frame. Data goes through JSON (bigints as strings, never as numbers). */
function frame(event: LiveEventName, data: unknown): string {
  const json = JSON.stringify(data, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
  return `event: ${event}\ndata: ${json}\n\n`;
}

/**
 * Fans a node's changes out to every connected SSE client. Subscribes to the application service once, however
 * many clients there are; {@link close} unsubscribes and ends every stream.
 */
export class LiveFeed {
  readonly #service: AppService;
  readonly #log: Logger;
  readonly #clients = new Set<ServerResponse>();
  /** The session each stream was opened with (bearer streams have none). */
  readonly #sessionOf = new Map<ServerResponse, string>();
  readonly #sessionValid: ((id: string) => boolean) | undefined;
  #checkingSessions = false;
  /** Events for clients whose snapshot is still being built. */
  readonly #holding = new Map<ServerResponse, string[]>();
  readonly #unsubscribe: (() => void)[] = [];
  readonly #timers: NodeJS.Timeout[] = [];
  readonly #quoteThrottleMs: number;
  /** Topics changed since the last flush; flushed once per tick so bursts coalesce. */
  readonly #dirty = new Set<Topic>();
  /** CFDs whose last view was in the liquidation warning band (edges become events). */
  readonly #warned = new Set<string>();
  #flushScheduled = false;
  #lastQuoteAt = 0;
  #quoteTimer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(service: AppService, options: LiveFeedOptions) {
    this.#service = service;
    this.#log = options.logger;
    this.#quoteThrottleMs = options.quoteThrottleMs ?? QUOTE_THROTTLE_MS;
    this.#sessionValid = options.sessionValid;
    this.#unsubscribe.push(
      service.subscribe((change) => {
        switch (change.type) {
          case 'cfds':
            for (const view of change.views) this.#sendCfd(view);
            this.#mark('account');
            break;
          case 'quote':
            this.#onQuote();
            break;
          case 'limits':
            this.#send('limits', change.limits);
            // Offers are marked against the limits.
            this.#mark('offers');
            break;
          case 'policy':
            this.#send('policy', change.policy);
            // The offers follow within a moment; the supervisor's health change marks them again.
            this.#mark('offers');
            break;
          default:
            this.#mark(change.type);
        }
      }),
    );
    const heartbeat = setInterval(() => {
      this.sessionsEnded(); // sessions that expired since
      for (const c of this.#clients) this.#write(c, `: heartbeat ${Date.now()}\n\n`);
    }, options.heartbeatMs ?? HEARTBEAT_MS);
    heartbeat.unref();
    this.#timers.push(heartbeat);
  }

  /** Connected clients. */
  get size(): number {
    return this.#clients.size;
  }

  /**
   * Takes over `res` as an event stream: headers, the snapshot, then live events until the client
   * goes away, the feed closes or — when opened with a `session` — that session ends.
   */
  async attach(res: ServerResponse, session?: string): Promise<void> {
    // The stream is the connection's last response: when it ends (client gone, server closing)
    // the socket closes too, instead of idling in keep-alive and holding up the server's close.
    res.shouldKeepAlive = false;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-store',
      // Tells a reverse proxy (nginx) not to buffer the stream.
      'x-accel-buffering': 'no',
    });
    res.write(`retry: ${CLIENT_RETRY_MS}\n\n`);
    const cleanup = (): void => {
      this.#clients.delete(res);
      this.#sessionOf.delete(res);
    };
    if (session !== undefined) this.#sessionOf.set(res, session);
    res.on('close', cleanup);
    res.on('error', cleanup);
    if (this.#closed || (session !== undefined && this.#sessionValid?.(session) === false)) {
      res.end();
      return;
    }
    // Join first, so nothing that happens while the snapshot is built is missed; hold those
    // events back until the snapshot is out (a CFD may come twice; the later has a higher
    // `version`).
    this.#clients.add(res);
    const held: string[] = [];
    this.#holding.set(res, held);
    const s = this.#service;
    const policy = s.maybePolicy();
    const limits = s.maybeLimits();
    let snapshot: string;
    try {
      const cfds = await s.cfds();
      const warnings = cfds.filter((v) => v.liquidationWarning !== null);
      snapshot =
        frame('health', s.health()) +
        frame('cfds', { cfds }) +
        frame('offers', s.offers()) +
        frame('quote', s.quote()) +
        frame('wallet', s.walletState()) +
        frame('account', s.account()) +
        warnings.map((v) => frame('liquidationWarning', warningOf(v))).join('') +
        (policy ? frame('policy', policy) : '') +
        (limits ? frame('limits', limits) : '') +
        // Last: the largest frame (tens of kB), and the page is usable without it.
        frame('quotes', s.quoteHistory());
    } catch (err) {
      this.#log.warn({ err }, 'live feed snapshot failed');
      this.#holding.delete(res);
      this.#clients.delete(res);
      res.end();
      return;
    } finally {
      this.#holding.delete(res);
    }
    if (this.#clients.has(res)) this.#write(res, snapshot + held.join(''));
  }

  /**
   * Ends every stream whose session no longer holds (logout, password change, expiry): the
   * browser's EventSource reconnects and, without a session, gets 401.
   */
  sessionsEnded(): void {
    const valid = this.#sessionValid;
    if (!valid || this.#checkingSessions) return;
    this.#checkingSessions = true;
    try {
      for (const [res, id] of [...this.#sessionOf]) {
        if (valid(id)) continue;
        this.#sessionOf.delete(res);
        this.#clients.delete(res);
        this.#holding.delete(res);
        res.end();
      }
    } finally {
      this.#checkingSessions = false;
    }
  }

  /** Sends a wallet update now (after a withdrawal). */
  walletChanged(): void {
    this.#mark('wallet');
  }

  /** Ends every stream and unsubscribes from the node. */
  close(): void {
    this.#closed = true;
    for (const u of this.#unsubscribe.splice(0)) u();
    for (const t of this.#timers.splice(0)) clearInterval(t);
    clearTimeout(this.#quoteTimer);
    for (const c of this.#clients) c.end();
    this.#clients.clear();
    this.#sessionOf.clear();
    this.#holding.clear();
  }

  #mark(topic: Topic): void {
    this.#dirty.add(topic);
    if (this.#flushScheduled || this.#closed) return;
    this.#flushScheduled = true;
    setImmediate(() => {
      this.#flushScheduled = false;
      if (this.#closed) return;
      const topics = [...this.#dirty];
      this.#dirty.clear();
      if (this.#clients.size === 0) return;
      for (const t of topics) {
        try {
          if (t === 'health') this.#send('health', this.#service.health());
          else if (t === 'offers') this.#send('offers', this.#service.offers());
          else if (t === 'account') this.#send('account', this.#service.account());
          else {
            this.#send('wallet', this.#service.walletState());
            this.#send('account', this.#service.account());
          }
        } catch (err) {
          this.#log.warn({ err, topic: t }, 'live feed update failed');
        }
      }
    });
  }

  /** Leading and trailing throttle: the first quote goes at once, the latest one at the end. */
  #onQuote(): void {
    if (this.#quoteTimer || this.#closed) return;
    const wait = this.#lastQuoteAt + this.#quoteThrottleMs - Date.now();
    if (wait <= 0) {
      this.#emitQuote();
      return;
    }
    this.#quoteTimer = setTimeout(() => {
      this.#quoteTimer = undefined;
      this.#emitQuote();
    }, wait);
    this.#quoteTimer.unref();
  }

  #emitQuote(): void {
    this.#lastQuoteAt = Date.now();
    if (this.#clients.size === 0) return;
    this.#send('quote', this.#service.quote());
    // Unrealised P/L moves with the price: re-send the open CFDs.
    for (const view of this.#service.openCfdViews()) {
      if (view.profit?.basis === 'quote' || view.liquidationWarning || this.#warned.has(view.id)) {
        this.#sendCfd(view);
      }
    }
    this.#mark('account');
    if (this.#service.role === 'maker') this.#mark('offers');
  }

  /** A CFD's view, and a `liquidationWarning` event when it entered or left the band. */
  #sendCfd(view: CfdView): void {
    this.#send('cfd', view);
    const warned = view.liquidationWarning !== null;
    if (warned === this.#warned.has(view.id)) return;
    if (warned) this.#warned.add(view.id);
    else this.#warned.delete(view.id);
    this.#send('liquidationWarning', warningOf(view));
  }

  #send(event: LiveEventName, data: unknown): void {
    if (this.#clients.size === 0) return;
    const text = frame(event, data);
    for (const c of this.#clients) this.#write(c, text);
  }

  #write(res: ServerResponse, text: string): void {
    const held = this.#holding.get(res);
    if (held) {
      held.push(text);
      return;
    }
    if (res.writableLength > MAX_BUFFERED_BYTES) {
      this.#log.warn('live feed client is not reading; disconnecting it');
      this.#clients.delete(res);
      res.destroy();
      return;
    }
    res.write(text);
  }
}
