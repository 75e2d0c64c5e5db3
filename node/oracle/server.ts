/**
 * dlcfd's olivia-compatible oracle: announces BitMEX BXBT (BTC/USD) and BETH (ETH/USD) price
 * events on a fixed cadence ahead of time and attests each one at its time from the price feed
 * (BXBT from XBTUSD's quotes, BETH from ETHUSD's, as the product table pairs them), over olivia's HTTP API, so a node
 * configured for olivia (h00.ooo) can use it unchanged on a local or compressed testnet.
 *
 * HTTP (node:http, JSON; documents in olivia's exact shape, see documents.ts):
 * - `GET /` → `{"public_keys": {"olivia-v1", "announcement", "group"}}`
 * - `GET /x/BitMEX/<BXBT|BETH>/<YYYY-MM-DDTHH:MM:SS>.price?n=20` → `{"announcement", "attestation"}`;
 *   `attestation` is null until the event is attested. 400 for a malformed id; 404 for an event
 *   off the cadence, before the oracle existed, or further ahead than the lookahead.
 * - `GET /health` (dlcfd only) → {@link OracleServerHealth}.
 * - `GET /control`, `POST /control` `{"silent"?: boolean, "attestDelaySecs"?: number}` (dlcfd only,
 *   fault injection for research runs: {@link OracleServer.setSilent},
 *   {@link OracleServer.setAttestDelay}) → `{"silent", "attestDelaySecs"}`. Off (403) unless the
 *   oracle was given a `controlToken`; then every request must carry `Authorization: Bearer
 *   <token>`, loopback ones too. Unlike the price feed's control, loopback is not trusted: an
 *   oracle reached from other hosts sits behind a proxy on its own host (the TLS proxy in its
 *   Kubernetes pod, a reverse proxy), so every caller would look like loopback — and whoever can
 *   silence or delay the oracle pushes every CFD on it onto its refund path.
 *
 * Events: every `eventIntervalS` seconds on the unix-time grid (hourly: on the hour, UTC), each
 * announced `lookaheadS` ahead. Announcements derive deterministically from the seed (keys.ts),
 * so there is nothing to store until an event is attested.
 *
 * Attestation: at the event time the oracle takes the latest quote from the feed, if it is fresh
 * — younger than `maxQuoteAgeMs` (15 s) measured from the **feed's own timestamp**, so a frozen,
 * replayed or late quote is never attested — and attests its mid in whole dollars: (bid + ask) / 2
 * rounded half away from zero, capped at 2^20 − 1 as olivia does. Without a fresh quote it waits
 * (re-checking every `attestRetryMs` and on every quote) and reports `degraded`; the first fresh
 * quote within the grace window `maxAttestDelayS` (600 s) is attested, and after it the event is
 * given up (left unattested: the CFDs keep their refund path) rather than attest a price from long
 * after it. olivia likewise leaves an event unattested when it has no price for it. The outcome is
 * fsync'd to the outcome log before it is served and never changes afterwards.
 *
 * @example
 * const oracle = await OracleServer.start({ datadir, pricefeedUrl: feed.url, eventIntervalS: 2 });
 * oracle.url;        // http://127.0.0.1:41234
 * oracle.publicKey;  // olivia-v1 x-only hex: what nodes pin
 * oracle.health();   // { status: 'ok', lastAttested: { eventId, outcome, at }, … }
 * await oracle.stop();
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { bytesToHex } from '@noble/hashes/utils.js';
import { type Logger, pino } from 'pino';
import { capPrice } from '../../dlc/digits.ts';
import { formatOliviaTime } from '../../dlc/oracle.ts';
import { divRound } from '../../model/fixed.ts';
import {
  nextEventTime,
  ORACLE_INDICES,
  type OracleIndex,
  oracleEventId,
  oracleEventIndex,
  oracleEventTime,
} from '../../model/oracle-event.ts';
import { PRODUCTS } from '../../model/product.ts';
import { formatPrice, PRICE_SCALE, type Price } from '../../model/units.ts';
import { type FeedHealth, PriceFeedClient } from '../pricefeed/client.ts';
import { BITMEX_MAINNET_URL, type FeedSymbol } from '../pricefeed/constants.ts';
import { bearerMatches, readBody } from '../runtime/control-http.ts';
import { HealthRegistry, type HealthStatus } from '../runtime/health.ts';
import {
  ANNOUNCEMENT_CACHE_SIZE,
  CONTROL_PATH,
  DEFAULT_ATTEST_RETRY_MS,
  DEFAULT_EVENT_INTERVAL_S,
  DEFAULT_HOST,
  DEFAULT_LOOKAHEAD_S,
  DEFAULT_MAX_ATTEST_DELAY_S,
  DEFAULT_MAX_QUOTE_AGE_MS,
  EVENT_PATH_PREFIX,
  HEALTH_PATH,
  MAX_CONTROL_ATTEST_DELAY_S,
  MAX_CONTROL_BODY_BYTES,
  MAX_URL_LENGTH,
  MIN_CONTROL_TOKEN_LENGTH,
} from './constants.ts';
import {
  type AnnouncementDocument,
  type AttestationDocument,
  buildAnnouncement,
  buildAttestation,
  type EventDocument,
  rootDocument,
} from './documents.ts';
import { InvalidOracleOptionsError, OutcomeExistsError } from './errors.ts';
import { deriveOracleKeys, loadOrCreateSeed, type OracleKeys } from './keys.ts';
import { OutcomeLog, type OutcomeRecord } from './outcomes.ts';

export interface OracleServerOptions {
  /** Directory of the seed file and the outcome log (created 0700 if missing). */
  datadir: string;
  /** Price feed websocket (BitMEX protocol). @default BitMEX mainnet realtime */
  pricefeedUrl?: string;
  /** Interface to bind. @default '127.0.0.1' */
  host?: string;
  /** Port; 0 picks a free one. @default 0 */
  port?: number;
  /** Seconds between events (they sit on multiples of it in unix time). @default 3600 */
  eventIntervalS?: number;
  /** How far ahead events are announced, seconds. @default 26 h */
  lookaheadS?: number;
  /**
   * Oldest quote attested, ms, by the quote's own timestamp (a frozen or late-replayed quote is
   * as stale as a missing one). @default DEFAULT_MAX_QUOTE_AGE_MS (15 s)
   */
  maxQuoteAgeMs?: number;
  /** Give an event up this long after its time, seconds. @default DEFAULT_MAX_ATTEST_DELAY_S */
  maxAttestDelayS?: number;
  /** Re-check interval while waiting for a fresh quote, ms. @default 1000 */
  attestRetryMs?: number;
  /** Logger (pino). Silent by default. */
  logger?: Logger;
  /** Registry to report to (as `healthName`); a private one otherwise. */
  health?: HealthRegistry;
  /** @default 'oracle' */
  healthName?: string;
  /**
   * Turns the control endpoint on for requests with `Authorization: Bearer <controlToken>` (at
   * least {@link MIN_CONTROL_TOKEN_LENGTH} characters; loopback ones too). Without it the
   * endpoint answers 403 to everyone.
   */
  controlToken?: string;
}

/** What the control endpoint answers: the faults now in force. */
export interface OracleControlState {
  silent: boolean;
  attestDelaySecs: number;
}

/** What the oracle reports about itself (also served at `GET /health`). */
export interface OracleServerHealth {
  status: HealthStatus;
  /** When `status` last changed, unix ms. */
  since: number;
  url: string;
  eventIntervalS: number;
  lookaheadS: number;
  /** Latest event announced (the end of the lookahead window). */
  latestAnnounced: string;
  lastAttested: { eventId: string; outcome: number; at: number } | null;
  /** An event that is due but has no fresh quote yet, and since when (unix ms). */
  waiting: { eventId: string; since: number } | null;
  /** Events given up since start (no fresh quote within `maxAttestDelayS`). */
  missed: number;
  lastError: { name: string; message: string; at: number } | null;
  feed: FeedHealth;
}

/** The feed contract whose quotes each index is attested from (the product table's pairs). */
const FEED_OF_INDEX = Object.fromEntries(
  Object.values(PRODUCTS).map((p) => [p.oracleIndex, p.feedSymbol]),
) as Record<OracleIndex, FeedSymbol>;

/**
 * The whole-dollar price an oracle attests for a quote: the mid (bid + ask) / 2, rounded half
 * away from zero (40000.5 → 40001, 40000.25 → 40000), exactly in bigint, then capped at
 * 2^20 − 1 as olivia caps overflow to all-ones digits.
 */
export function attestablePrice(bid: Price, ask: Price): number {
  const usd = divRound(bid + ask, 2n * PRICE_SCALE, 'halfAwayFromZero');
  // Above 2^53 is far above the cap anyway; clamp before leaving bigint.
  return capPrice(Number(usd > 2n ** 52n ? 2n ** 52n : usd));
}

function positiveInt(v: number, what: string): number {
  if (!Number.isSafeInteger(v) || v <= 0) {
    throw new InvalidOracleOptionsError(`${what} must be a positive whole number, got ${v}`);
  }
  return v;
}

function nonNegativeInt(v: number, what: string): number {
  if (!Number.isSafeInteger(v) || v < 0) {
    throw new InvalidOracleOptionsError(`${what} must be a whole number ≥ 0, got ${v}`);
  }
  return v;
}

/** The running oracle. Start with {@link OracleServer.start}. */
export class OracleServer {
  /** `http://host:port`, no trailing slash. */
  readonly url: string;
  readonly port: number;
  /** olivia-v1 attestation key, x-only hex: what nodes configure and pin. */
  readonly publicKey: string;
  /** Announcement key, x-only hex (published at `GET /`). */
  readonly announcementPublicKey: string;
  readonly eventIntervalS: number;
  readonly lookaheadS: number;

  readonly #keys: OracleKeys;
  readonly #outcomes: OutcomeLog;
  readonly #feed: PriceFeedClient;
  readonly #http: Server;
  readonly #log: Logger;
  readonly #registry: HealthRegistry;
  readonly #healthName: string;
  readonly #maxAttestDelayS: number;
  readonly #attestRetryMs: number;
  readonly #announcements = new Map<string, AnnouncementDocument>();
  readonly #attestations = new Map<string, AttestationDocument>();
  readonly #unsubscribeQuote: () => void;

  #cursor: number;
  #timer: NodeJS.Timeout | undefined;
  #pumping: Promise<void> | undefined;
  #pumpAgain = false;
  #stopped = false;
  #status: HealthStatus = 'starting';
  #since = Date.now();
  #lastAttested: OracleServerHealth['lastAttested'] = null;
  #waiting: OracleServerHealth['waiting'] = null;
  #missed = 0;
  #lastError: OracleServerHealth['lastError'] = null;
  #silent = false;
  #attestDelayMs = 0;
  #controlToken: Buffer | undefined;

  private constructor(init: {
    keys: OracleKeys;
    outcomes: OutcomeLog;
    feed: PriceFeedClient;
    http: Server;
    url: string;
    port: number;
    log: Logger;
    registry: HealthRegistry;
    healthName: string;
    eventIntervalS: number;
    lookaheadS: number;
    maxAttestDelayS: number;
    attestRetryMs: number;
    controlToken: string | undefined;
  }) {
    this.#keys = init.keys;
    this.#outcomes = init.outcomes;
    this.#feed = init.feed;
    this.#http = init.http;
    this.url = init.url;
    this.port = init.port;
    this.#log = init.log;
    this.#registry = init.registry;
    this.#healthName = init.healthName;
    this.eventIntervalS = init.eventIntervalS;
    this.lookaheadS = init.lookaheadS;
    this.#maxAttestDelayS = init.maxAttestDelayS;
    this.#attestRetryMs = init.attestRetryMs;
    this.#controlToken =
      init.controlToken === undefined ? undefined : Buffer.from(init.controlToken);
    this.publicKey = bytesToHex(init.keys.oliviaPublicKey);
    this.announcementPublicKey = bytesToHex(init.keys.announcementPublicKey);
    // Catch up on what is still attestable (after a restart), never before the oracle existed.
    const nowS = Date.now() / 1000;
    this.#cursor = Math.max(
      nextEventTime(init.keys.createdAt, this.eventIntervalS),
      nextEventTime(Math.ceil(nowS - this.#maxAttestDelayS), this.eventIntervalS),
    );
    this.#unsubscribeQuote = this.#feed.onQuote(() => {
      if (this.#waiting) this.#pump();
    });
    this.#http.on('request', (req, res) => this.#handle(req, res));
  }

  /**
   * Loads (or creates) the seed and outcome log in `datadir`, binds the HTTP server, connects to
   * the price feed and starts attesting. Throws on bad options, a bad seed file or a corrupt
   * outcome log, or if the port cannot be bound.
   */
  static async start(options: OracleServerOptions): Promise<OracleServer> {
    const eventIntervalS = positiveInt(
      options.eventIntervalS ?? DEFAULT_EVENT_INTERVAL_S,
      'event interval',
    );
    const lookaheadS = nonNegativeInt(options.lookaheadS ?? DEFAULT_LOOKAHEAD_S, 'lookahead');
    const maxAttestDelayS = positiveInt(
      options.maxAttestDelayS ?? DEFAULT_MAX_ATTEST_DELAY_S,
      'max attest delay',
    );
    const maxQuoteAgeMs = positiveInt(
      options.maxQuoteAgeMs ?? DEFAULT_MAX_QUOTE_AGE_MS,
      'max quote age',
    );
    const attestRetryMs = positiveInt(
      options.attestRetryMs ?? DEFAULT_ATTEST_RETRY_MS,
      'attest retry',
    );
    if (
      options.controlToken !== undefined &&
      options.controlToken.length < MIN_CONTROL_TOKEN_LENGTH
    ) {
      throw new InvalidOracleOptionsError(
        `the control token must have at least ${MIN_CONTROL_TOKEN_LENGTH} characters`,
      );
    }
    const port = nonNegativeInt(options.port ?? 0, 'port');
    if (port > 65_535) throw new InvalidOracleOptionsError(`port must be ≤ 65535, got ${port}`);
    const host = options.host ?? DEFAULT_HOST;
    const log = (options.logger ?? pino({ level: 'silent' })).child({ component: 'oracle' });

    const seed = await loadOrCreateSeed(options.datadir);
    const keys = deriveOracleKeys(seed);
    const outcomes = await OutcomeLog.open(options.datadir, { mustExist: !seed.created });
    const http = createServer();
    try {
      await new Promise<void>((resolve, reject) => {
        http.once('error', reject);
        http.listen(port, host, () => {
          http.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      await outcomes.close();
      throw err;
    }
    const bound = (http.address() as AddressInfo).port;
    const urlHost = host.includes(':') ? `[${host}]` : host;
    const feed = new PriceFeedClient({
      url: options.pricefeedUrl ?? BITMEX_MAINNET_URL,
      staleAfterMs: maxQuoteAgeMs,
      logger: log,
    });
    const oracle = new OracleServer({
      keys,
      outcomes,
      feed,
      http,
      url: `http://${urlHost}:${bound}`,
      port: bound,
      log,
      registry: options.health ?? new HealthRegistry(),
      healthName: options.healthName ?? 'oracle',
      eventIntervalS,
      lookaheadS,
      maxAttestDelayS,
      attestRetryMs,
      controlToken: options.controlToken,
    });
    log.info(
      {
        url: oracle.url,
        publicKey: oracle.publicKey,
        createdSeed: seed.created,
        outcomes: outcomes.size,
        eventIntervalS,
        lookaheadS,
        control: oracle.#controlToken !== undefined,
      },
      'oracle serving',
    );
    feed.start();
    oracle.#setStatus('ok');
    oracle.#pump();
    return oracle;
  }

  /** The recorded outcome of an event, if attested. */
  outcome(eventId: string): OutcomeRecord | undefined {
    return this.#outcomes.get(eventId);
  }

  /** Health snapshot. */
  health(): OracleServerHealth {
    const nowS = Math.floor(Date.now() / 1000);
    const lastAnnounced =
      Math.floor((nowS + this.lookaheadS) / this.eventIntervalS) * this.eventIntervalS;
    return {
      status: this.#status,
      since: this.#since,
      url: this.url,
      eventIntervalS: this.eventIntervalS,
      lookaheadS: this.lookaheadS,
      latestAnnounced: oracleEventId(lastAnnounced),
      lastAttested: this.#lastAttested,
      waiting: this.#waiting,
      missed: this.#missed,
      lastError: this.#lastError,
      feed: this.#feed.health(),
    };
  }

  /**
   * Fault injection for research runs (research/run/): a silent oracle keeps serving what it
   * announced and attested but attests nothing new until `silent` is false again; events that
   * fell past the attest delay meanwhile are given up, as after a real outage.
   */
  setSilent(silent: boolean): void {
    this.#silent = silent;
    if (!silent) this.#pump();
  }

  /** Fault injection: attest each event `delayMs` after its time (0: as soon as it is due). */
  setAttestDelay(delayMs: number): void {
    this.#attestDelayMs = Math.max(0, delayMs);
    this.#pump();
  }

  /** The faults in force ({@link setSilent}, {@link setAttestDelay}). */
  get control(): OracleControlState {
    return { silent: this.#silent, attestDelaySecs: this.#attestDelayMs / 1000 };
  }

  /** Stops serving and attesting; waits for an outcome being written to reach the disk. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#unsubscribeQuote();
    const closed = new Promise<void>((resolve) => this.#http.close(() => resolve()));
    this.#http.closeAllConnections();
    await Promise.all([closed, this.#feed.stop(), this.#pumping]);
    await this.#outcomes.close();
    this.#setStatus('stopped');
    this.#log.info('oracle stopped');
  }

  // --- attesting ------------------------------------------------------------------------------

  /** Runs the attester now (coalescing: a call during a run makes it run once more). */
  #pump(): void {
    if (this.#stopped) return;
    if (this.#pumping) {
      this.#pumpAgain = true;
      return;
    }
    clearTimeout(this.#timer);
    this.#pumping = (async () => {
      try {
        do {
          this.#pumpAgain = false;
          await this.#attestDue();
        } while (this.#pumpAgain && !this.#stopped);
      } catch (err) {
        // Only the outcome log can fail here (disk full, I/O error): keep serving what is
        // recorded, say so, and try again later.
        this.#error(err as Error);
        this.#log.error({ err }, 'attesting failed');
        this.#arm(this.#attestRetryMs);
      } finally {
        this.#pumping = undefined;
      }
    })();
  }

  #arm(delayMs: number): void {
    if (this.#stopped) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#pump(), Math.max(0, delayMs));
  }

  /** Attests every due event it can, in order; arms the timer for the next one. */
  async #attestDue(): Promise<void> {
    const givenUp = { first: '', last: '', count: 0 };
    try {
      while (!this.#stopped) {
        const nowMs = Date.now();
        const t = this.#cursor;
        if (t * 1000 > nowMs) {
          this.#setWaiting(null);
          this.#arm(t * 1000 - nowMs);
          return;
        }
        // Every index has an event at each time: BXBT's and BETH's, each from its own quotes.
        const pending = ORACLE_INDICES.map((index) => oracleEventId(t, index)).filter(
          (id) => !this.#outcomes.has(id),
        );
        if (pending.length === 0) {
          this.#cursor += this.eventIntervalS;
          continue;
        }
        if (this.#silent) return; // setSilent(false) pumps again
        if (nowMs > (t + this.#maxAttestDelayS) * 1000) {
          // Too late to attest honestly (the oracle or its feed was down): give it up. Counted
          // and logged once per run of such events, however many a long outage produced.
          for (const eventId of pending) {
            this.#missed++;
            if (givenUp.count++ === 0) givenUp.first = eventId;
            givenUp.last = eventId;
          }
          this.#setWaiting(null);
          this.#cursor += this.eventIntervalS;
          continue;
        }
        if (t * 1000 + this.#attestDelayMs > nowMs) {
          this.#arm(t * 1000 + this.#attestDelayMs - nowMs);
          return;
        }
        let waitingFor: string | undefined;
        for (const eventId of pending) {
          const quote = this.#feed.latest(FEED_OF_INDEX[oracleEventIndex(eventId)]);
          if (!quote || quote.stale) {
            if (this.#waiting?.eventId !== eventId && waitingFor === undefined) {
              this.#log.warn(
                { eventId, quoteAgeMs: quote?.ageMs },
                'event due; waiting for a quote',
              );
            }
            waitingFor ??= eventId;
            continue;
          }
          await this.#attest(eventId, quote, nowMs);
        }
        if (waitingFor !== undefined) {
          this.#setWaiting(waitingFor);
          this.#arm(this.#attestRetryMs);
          return;
        }
        this.#cursor += this.eventIntervalS;
        this.#setWaiting(null);
      }
    } finally {
      if (givenUp.count > 0) {
        this.#log.warn(
          { ...givenUp, maxAttestDelayS: this.#maxAttestDelayS },
          'no fresh quote in time; events given up, not attested',
        );
      }
    }
  }

  /** Records an event's outcome from a fresh quote, durably, before anyone can see it. */
  async #attest(
    eventId: string,
    quote: { bid: Price; ask: Price; receivedAt: number },
    nowMs: number,
  ): Promise<void> {
    const outcome = attestablePrice(quote.bid, quote.ask);
    const record: OutcomeRecord = {
      eventId,
      outcome,
      time: formatOliviaTime(Math.floor(nowMs / 1000)),
      quote: {
        bid: formatPrice(quote.bid),
        ask: formatPrice(quote.ask),
        receivedAt: quote.receivedAt,
      },
    };
    try {
      await this.#outcomes.record(record);
    } catch (err) {
      if (!(err instanceof OutcomeExistsError)) throw err;
    }
    this.#lastAttested = { eventId, outcome, at: Date.now() };
    this.#log.info({ eventId, outcome }, 'attested');
  }

  // --- health ---------------------------------------------------------------------------------

  #setWaiting(eventId: string | null): void {
    if ((this.#waiting?.eventId ?? null) === eventId) return;
    this.#waiting = eventId === null ? null : { eventId, since: Date.now() };
    this.#setStatus(eventId === null ? 'ok' : 'degraded', undefined, true);
  }

  #error(err: Error): void {
    this.#lastError = { name: err.name, message: err.message, at: Date.now() };
    this.#setStatus('degraded', err);
  }

  /** Records a status (and error) and reports it; `force` reports an unchanged status too. */
  #setStatus(status: HealthStatus, error?: Error, force = false): void {
    if (status !== this.#status) {
      this.#status = status;
      this.#since = Date.now();
    } else if (!error && !force) {
      return;
    }
    const detail = this.#waiting
      ? `${this.#waiting.eventId} is due; waiting for a fresh quote since ${new Date(this.#waiting.since).toISOString()}`
      : undefined;
    this.#registry.report(this.#healthName, { status, detail, ...(error ? { error } : {}) });
  }

  // --- HTTP -----------------------------------------------------------------------------------

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0]!;
    if (path === CONTROL_PATH || path.startsWith(`${CONTROL_PATH}/`)) {
      this.#control(req, res).catch((err: unknown) => {
        this.#log.error({ err }, 'control request failed');
        if (!res.headersSent) send(res, 500, { error: 'internal error' });
      });
      return;
    }
    try {
      if (req.method !== 'GET') res.setHeader('allow', 'GET');
      const [status, body] = this.#route(req.method, req.url ?? '/');
      send(res, status, body);
    } catch (err) {
      this.#log.error({ err, url: req.url }, 'request failed');
      if (!res.headersSent) send(res, 500, { error: 'internal error' });
    }
  }

  /** Whether the request carries the control token (compared in constant time). */
  #bearerMatches(req: IncomingMessage): boolean {
    return bearerMatches(req.headers.authorization, this.#controlToken);
  }

  /** The control endpoint (see the module comment): token first, then `GET`/`POST /control`. */
  async #control(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!this.#bearerMatches(req)) {
      // Before the body is read: an unauthenticated body never reaches the parser.
      send(res, 403, {
        error: this.#controlToken
          ? 'the control endpoint needs Authorization: Bearer <control token>'
          : 'the control endpoint is off: the oracle was started without a control token',
      });
      return;
    }
    const path = (req.url ?? '/').split('?')[0]!;
    if (path !== CONTROL_PATH) {
      send(res, 404, { error: `no such path ${path}` });
      return;
    }
    if (req.method === 'GET') {
      send(res, 200, this.control);
      return;
    }
    if (req.method !== 'POST') {
      res.setHeader('allow', 'GET, POST');
      send(res, 405, { error: 'GET or POST' });
      return;
    }
    const text = await readBody(req, MAX_CONTROL_BODY_BYTES);
    if (text === undefined) {
      send(res, 413, { error: `body over ${MAX_CONTROL_BODY_BYTES} bytes` });
      return;
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      send(res, 400, { error: 'body is not JSON' });
      return;
    }
    const { silent, attestDelaySecs, ...rest } = (body ?? {}) as Record<string, unknown>;
    const delayOk =
      attestDelaySecs === undefined ||
      (typeof attestDelaySecs === 'number' &&
        Number.isFinite(attestDelaySecs) &&
        attestDelaySecs >= 0 &&
        attestDelaySecs <= MAX_CONTROL_ATTEST_DELAY_S);
    if (
      typeof body !== 'object' ||
      body === null ||
      Array.isArray(body) ||
      Object.keys(rest).length > 0 ||
      (silent !== undefined && typeof silent !== 'boolean') ||
      !delayOk
    ) {
      send(res, 400, {
        error: `expected {"silent"?: boolean, "attestDelaySecs"?: 0 … ${MAX_CONTROL_ATTEST_DELAY_S}}`,
      });
      return;
    }
    if (typeof attestDelaySecs === 'number') {
      this.setAttestDelay(Math.round(attestDelaySecs * 1000));
    }
    if (typeof silent === 'boolean') this.setSilent(silent);
    this.#log.warn({ ...this.control, from: req.socket.remoteAddress }, 'control: faults set');
    send(res, 200, this.control);
  }

  /** The answer to a request: status and JSON body. */
  #route(method: string | undefined, url: string): [number, unknown] {
    if (method !== 'GET') return [405, { error: 'only GET is served' }];
    if (url.length > MAX_URL_LENGTH) return [414, { error: 'URL too long' }];
    if (url === '/') return [200, rootDocument(this.#keys)];
    if (url === HEALTH_PATH) return [200, this.health()];
    if (url.startsWith(EVENT_PATH_PREFIX)) return this.#event(url);
    return [404, { error: `no such path ${url}` }];
  }

  #event(url: string): [number, unknown] {
    let eventId: string;
    let t: number;
    try {
      eventId = decodeURI(url); // a client may have escaped the ':'s
      t = oracleEventTime(eventId);
    } catch (err) {
      return [400, { error: (err as Error).message }];
    }
    const record = this.#outcomes.get(eventId);
    // A recorded outcome is served whatever the cadence is now; otherwise the event must be one
    // this oracle announces.
    if (!record) {
      if (t % this.eventIntervalS !== 0) {
        return [404, { error: `${eventId} is not on the ${this.eventIntervalS} s cadence` }];
      }
      if (t < this.#keys.createdAt) {
        return [404, { error: `${eventId} is before this oracle existed` }];
      }
      if (t > Date.now() / 1000 + this.lookaheadS) {
        return [404, { error: `${eventId} is not announced yet` }];
      }
    }
    const doc: EventDocument = {
      announcement: this.#announcement(eventId, t),
      attestation: record ? this.#attestation(record) : null,
    };
    return [200, doc];
  }

  #announcement(eventId: string, t: number): AnnouncementDocument {
    let doc = this.#announcements.get(eventId);
    if (doc) {
      this.#announcements.delete(eventId); // LRU: move to the back
    } else {
      doc = buildAnnouncement(this.#keys, eventId, t);
    }
    this.#announcements.set(eventId, doc);
    evict(this.#announcements);
    return doc;
  }

  #attestation(record: OutcomeRecord): AttestationDocument {
    let doc = this.#attestations.get(record.eventId);
    if (!doc) {
      doc = buildAttestation(this.#keys, record);
      this.#attestations.set(record.eventId, doc);
      evict(this.#attestations);
    }
    return doc;
  }
}

function evict<V>(cache: Map<string, V>): void {
  while (cache.size > ANNOUNCEMENT_CACHE_SIZE) {
    const oldest = cache.keys().next().value as string;
    cache.delete(oldest);
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}
