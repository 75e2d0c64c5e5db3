/**
 * The node's oracle client: talks to an olivia oracle (h00.ooo, or `dlcfd oracle` on a testnet)
 * and hands the node only what it has verified.
 *
 * - The olivia-v1 attestation key is **pinned by configuration**; the server is never asked for
 *   it. The announcement key is configured too (the daemon requires it on every network but
 *   regtest); only without one is `GET /` read to learn it (regtest, tests and tools), and an
 *   oracle publishing another olivia-v1 key there is reported as {@link OracleKeyMismatchError}.
 *   No announcement is ever accepted unverified: until a key is known, every one is refused
 *   ({@link AnnouncementKeyUnknownError}).
 * - {@link OracleClient.watch} registers the events the node's CFDs need. The client fetches each
 *   announcement at once and caches it after checking: the id and expected outcome time are the
 *   event's, there are exactly 20 nonces, all distinct, the BIP340 signature verifies under the
 *   announcement key, and it never changes afterwards. From the event time on it polls for the
 *   attestation with exponential backoff, and accepts it only if every scalar satisfies
 *   s_i·G = X + (d_i + 1)·R_i for the pinned X, the cached nonces and the claimed outcome's digits
 *   (dlc/oracle.ts). Verified attestations are cached and emitted once to
 *   {@link OracleClient.onAttestation} listeners.
 * - **Compromise.** Every verified announcement's nonces and every verified attestation's price
 *   are recorded in a persisted log (nonce-log.ts, `<datadir>/oracle-nonces-<key>.jsonl`, 0600)
 *   before use. A nonce of one event seen again in another event (reuse leaks the attestation key
 *   once both are attested: anyone can then attest any event to any price), or a second, different
 *   verified price for one event, marks the oracle **compromised** — persisted, so a restart does
 *   not forget it: health `down` naming the nonce (or price) and both events, no attestation,
 *   announcement or event of it reaches a listener, a CFD or a new order/rollover, and polling
 *   stops. Only the user ends it: after investigating, configure a new oracle key, or stop the node
 *   and delete that file.
 * - Anything forged, tampered or inconsistent is rejected with a named error (errors.ts), logged,
 *   recorded in {@link OracleClient.health} and retried later; it never reaches a listener.
 * - Every request carries an AbortSignal (default {@link DEFAULT_REQUEST_TIMEOUT_MS}); the polling
 *   loop runs under a {@link Supervisor}, so nothing it meets crashes the node.
 *
 * @example
 * const oracle = new OracleClient({ url: 'https://h00.ooo', publicKey: OLIVIA_PK, logger });
 * oracle.onAttestation(({ eventId, price, scalars }) => cfds.settle(eventId, price, scalars));
 * oracle.watch([settlementEventId]);
 * oracle.start();
 * oracle.announcement(settlementEventId); // VerifiedAnnouncement | undefined (nonces for CETs)
 * oracle.health(); // { status: 'ok', reachable: true, latestAnnounced, latestAttested, … }
 * await oracle.stop();
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { type Logger, pino } from 'pino';
import { oracleEventTime } from '../../model/oracle-event.ts';
import {
  HealthRegistry,
  type HealthReporter,
  type HealthSink,
  type HealthStatus,
  reporterFor,
} from '../runtime/health.ts';
import { Supervisor } from '../runtime/supervisor.ts';
import { degradedDetail, latest, type OracleClientHealth, oracleStatus } from './client-health.ts';
import {
  DEFAULT_POLL_INITIAL_MS,
  DEFAULT_POLL_MAX_MS,
  DEFAULT_REQUEST_TIMEOUT_MS,
  POLL_BACKOFF_FACTOR,
  POLL_BACKOFF_JITTER,
} from './constants.ts';
import {
  OracleCompromisedError,
  OracleError,
  OracleKeyMismatchError,
  OracleUnreachableError,
} from './errors.ts';
import { getJson } from './http.ts';
import { type Compromise, NonceLog, nonceLogFile } from './nonce-log.ts';
import {
  parseInfo,
  type VerifiedAnnouncement,
  type VerifiedAttestation,
  type VerifiedEvent,
  verifyEvent,
  xOnlyKey,
} from './verify.ts';

export type { OracleClientHealth } from './client-health.ts';
export type { VerifiedAnnouncement, VerifiedAttestation, VerifiedEvent } from './verify.ts';

export interface OracleClientOptions {
  /** Base URL of the oracle, e.g. `https://h00.ooo` (event ids are appended to it). */
  url: string;
  /** The oracle's olivia-v1 attestation key, 32-byte x-only (hex or bytes). Pinned: required. */
  publicKey: string | Uint8Array;
  /**
   * The oracle's announcement key (x-only). When absent the client reads it from `GET /` (regtest,
   * tests, tools: the daemon requires it elsewhere); until it knows one, every announcement is
   * refused. Every announcement's signature is checked, always.
   */
  announcementPublicKey?: string | Uint8Array;
  /**
   * Directory of the nonce log (nonce-log.ts), which makes compromise detection survive restarts.
   * Without it the log is kept in memory only (tests, tools).
   */
  datadir?: string;
  /** Per-request timeout. @default DEFAULT_REQUEST_TIMEOUT_MS (10 s) */
  requestTimeoutMs?: number;
  /** First wait between attestation polls (and after a failure). @default 1 s */
  pollInitialMs?: number;
  /** Longest wait between polls and retries. @default 60 s */
  pollMaxMs?: number;
  /** Logger (pino). Silent by default. */
  logger?: Logger;
  /**
   * Where the client pushes its health: a reporter, or a registry (as `healthName`); a private
   * registry otherwise.
   */
  health?: HealthSink;
  /** Name under a registry given as `health`. @default 'oracle' */
  healthName?: string;
}

interface Watched {
  readonly eventId: string;
  readonly unixSeconds: number;
  nextAttemptAt: number;
  /** Consecutive failed fetches, or unanswered polls after the event time. */
  attempts: number;
  /** The error of the latest attempt for this event, if it failed. */
  error: OracleError | null;
}

type Listener<T> = (value: T) => void;

/** The node's verifying olivia client. Construct, `watch`, `start()`, listen, `stop()`. */
export class OracleClient {
  /** Base URL without a trailing slash. */
  readonly url: string;
  /** The pinned olivia-v1 key, hex. */
  readonly publicKey: string;

  readonly #pinned: Uint8Array;
  #announcementKey: Uint8Array | null;
  readonly #announcementKeyConfigured: boolean;
  readonly #requestTimeoutMs: number;
  readonly #pollInitialMs: number;
  readonly #pollMaxMs: number;
  readonly #log: Logger;
  readonly #reporter: HealthReporter;
  readonly #supervisor: Supervisor;
  readonly #nonceLog: NonceLog;

  readonly #watched = new Map<string, Watched>();
  readonly #announcements = new Map<string, VerifiedAnnouncement>();
  readonly #attestations = new Map<string, VerifiedAttestation>();
  readonly #attestationListeners = new Set<Listener<VerifiedAttestation>>();
  readonly #announcementListeners = new Set<Listener<VerifiedAnnouncement>>();

  #wake: AbortController = new AbortController();
  #infoNextAttemptAt = 0;
  #infoAttempts = 0;
  #infoError: OracleError | null = null;
  #reachable: boolean | null = null;
  /** The latest request got an answer that was rejected (or a 404). */
  #lastRequestRejected = false;
  #lastError: OracleClientHealth['lastError'] = null;
  #status: HealthStatus = 'starting';
  #since = Date.now();
  #running = false;

  constructor(options: OracleClientOptions) {
    this.url = options.url.replace(/\/+$/, '');
    this.#pinned = xOnlyKey(options.publicKey, 'oracle olivia-v1 public key');
    this.publicKey = bytesToHex(this.#pinned);
    this.#announcementKey =
      options.announcementPublicKey === undefined
        ? null
        : xOnlyKey(options.announcementPublicKey, 'oracle announcement public key');
    this.#announcementKeyConfigured = this.#announcementKey !== null;
    this.#requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.#pollInitialMs = options.pollInitialMs ?? DEFAULT_POLL_INITIAL_MS;
    this.#pollMaxMs = options.pollMaxMs ?? DEFAULT_POLL_MAX_MS;
    this.#log = (options.logger ?? pino({ level: 'silent' })).child({
      component: 'oracle:client',
    });
    this.#reporter = reporterFor(
      options.health ?? new HealthRegistry(),
      options.healthName ?? 'oracle',
    );
    this.#nonceLog = new NonceLog(
      options.datadir === undefined ? null : nonceLogFile(options.datadir, this.publicKey),
    );
    if (this.#nonceLog.compromised) {
      this.#log.error(
        { reason: this.#nonceLog.compromised.reason, file: this.#nonceLog.path },
        'oracle marked compromised; nothing from it is used until the user intervenes',
      );
      this.#status = 'down';
    }
    this.#supervisor = new Supervisor({
      name: this.#reporter.name,
      health: this.#reporter,
      logger: this.#log,
      run: ({ signal, ready, degraded }) => this.#run(signal, ready, degraded),
    });
  }

  // --- lifecycle and queries ------------------------------------------------------------------

  /** Starts fetching and polling in the background. Never throws; a second call is a no-op. */
  start(): void {
    this.#running = true;
    this.#supervisor.start();
  }

  /** Stops polling; aborts requests in flight. Cached announcements/attestations stay readable. */
  async stop(): Promise<void> {
    this.#running = false;
    await this.#supervisor.stop();
    this.#setStatus('stopped');
  }

  /**
   * Adds events to fetch and follow (olivia event ids). Throws `InvalidOracleEventIdError` for a
   * malformed id before adding any.
   */
  watch(eventIds: Iterable<string>): void {
    const ids = [...eventIds];
    const times = ids.map((id) => oracleEventTime(id));
    ids.forEach((eventId, i) => {
      if (this.#watched.has(eventId) || this.#attestations.has(eventId)) return;
      this.#watched.set(eventId, {
        eventId,
        unixSeconds: times[i]!,
        nextAttemptAt: 0,
        attempts: 0,
        error: null,
      });
    });
    this.#wakeUp();
  }

  /** Stops following events (their cached documents stay). */
  unwatch(eventIds: Iterable<string>): void {
    for (const id of eventIds) this.#watched.delete(id);
    this.#refreshStatus();
  }

  /** The verified announcement of an event, if fetched (never, once the oracle is compromised). */
  announcement(eventId: string): VerifiedAnnouncement | undefined {
    if (this.#nonceLog.compromised) return undefined;
    return this.#announcements.get(eventId);
  }

  /** The verified attestation of an event, if attested and fetched (never, once compromised). */
  attestation(eventId: string): VerifiedAttestation | undefined {
    if (this.#nonceLog.compromised) return undefined;
    return this.#attestations.get(eventId);
  }

  /** Why the oracle is not trusted any more, or null. */
  get compromised(): Compromise | null {
    return this.#nonceLog.compromised;
  }

  /** Calls `listener` once per newly verified attestation. Returns the unsubscribe function. */
  onAttestation(listener: Listener<VerifiedAttestation>): () => void {
    this.#attestationListeners.add(listener);
    return () => this.#attestationListeners.delete(listener);
  }

  /** Calls `listener` once per newly verified announcement. Returns the unsubscribe function. */
  onAnnouncement(listener: Listener<VerifiedAnnouncement>): () => void {
    this.#announcementListeners.add(listener);
    return () => this.#announcementListeners.delete(listener);
  }

  /** Health snapshot. */
  health(): OracleClientHealth {
    return {
      status: this.#status,
      since: this.#since,
      url: this.url,
      reachable: this.#reachable,
      latestAnnounced: latest(this.#announcements.values()),
      latestAttested: latest(this.#attestations.values()),
      lastError: this.#lastError,
      pending: [...this.#watched.keys()].filter((id) => !this.#attestations.has(id)).length,
      failing: [...this.#watched.values()].flatMap((w) =>
        w.error ? [{ eventId: w.eventId, name: w.error.name, message: w.error.message }] : [],
      ),
      announcementKey: this.#announcementKey ? bytesToHex(this.#announcementKey) : null,
      compromised: this.#nonceLog.compromised,
    };
  }

  // --- one-shot requests (also the polling loop's) ---------------------------------------------

  /**
   * `GET /`: reads the oracle's published keys. Learns the announcement key if none is
   * configured; throws {@link OracleKeyMismatchError} if the published olivia-v1 key is not the
   * pinned one (and then learns nothing).
   */
  async fetchInfo(options: { signal?: AbortSignal } = {}): Promise<{
    oliviaPublicKey: string;
    announcementPublicKey: string | null;
  }> {
    try {
      const body = await this.#get('/', options.signal);
      const { oliviaPublicKey, announcementPublicKey } = parseInfo(body, this.publicKey);
      if (!this.#announcementKeyConfigured && announcementPublicKey !== null) {
        if (this.#announcementKey === null) {
          this.#log.info({ announcementKey: announcementPublicKey }, 'learned announcement key');
        }
        this.#announcementKey = hexToBytes(announcementPublicKey);
      }
      this.#infoError = null;
      this.#recordSuccess();
      return { oliviaPublicKey, announcementPublicKey };
    } catch (err) {
      if (err instanceof OracleError) {
        this.#infoError = err instanceof OracleUnreachableError ? null : err;
        this.#recordFailure(err, null);
      }
      throw err;
    }
  }

  /**
   * `GET <event id>`, fully verified (see the module comment), cached, and emitted to listeners
   * when new. Throws the named error of the first check that fails; nothing unverified is kept.
   */
  async fetchEvent(
    eventId: string,
    options: { signal?: AbortSignal } = {},
  ): Promise<VerifiedEvent> {
    const unixSeconds = oracleEventTime(eventId);
    try {
      this.#throwIfCompromised();
      if (this.#announcementKey === null && !this.#announcementKeyConfigured) {
        await this.fetchInfo(options).catch(() => {}); // its failure is recorded; refused below
      }
      const body = await this.#get(eventId, options.signal);
      this.#throwIfCompromised();
      const verified = verifyEvent(eventId, unixSeconds, body, {
        pinned: this.#pinned,
        announcementKey: this.#announcementKey,
        cached: this.#announcements.get(eventId),
        logged: this.#nonceLog.nonces(eventId),
      });
      this.#remember(verified);
      this.#accept(verified);
      this.#recordSuccess(eventId);
      const kept = this.#attestations.get(eventId);
      return kept ? { ...verified, attestation: kept } : verified;
    } catch (err) {
      if (err instanceof OracleError) this.#recordFailure(err, eventId);
      throw err;
    }
  }

  // --- verification (verify.ts is the pure part) -----------------------------------------------

  /**
   * Records a verified event in the nonce log before anything uses it, and marks the oracle
   * compromised (and throws {@link OracleCompromisedError}) if its nonces were seen in another
   * event or its attestation contradicts an earlier verified one.
   */
  #remember({ announcement, attestation }: VerifiedEvent): void {
    const { eventId } = announcement;
    const nonces = announcement.nonces.map(bytesToHex);
    const reuse = this.#nonceLog.reuse(eventId, nonces);
    if (reuse !== null) this.#compromise(reuse, eventId);
    this.#nonceLog.recordAnnouncement(eventId, nonces);
    if (attestation) {
      const earlier = this.#nonceLog.price(eventId) ?? this.#attestations.get(eventId)?.price;
      if (earlier !== undefined && earlier !== attestation.price) {
        this.#compromise(
          `event ${eventId} attested twice: ${earlier}, then ${attestation.price}`,
          eventId,
        );
      }
      this.#nonceLog.recordAttestation(eventId, attestation.price);
    }
  }

  /** Marks the oracle compromised (persisted), reports it and throws. */
  #compromise(reason: string, eventId: string): never {
    const c = this.#nonceLog.markCompromised(reason);
    this.#log.error(
      { reason: c.reason, eventId, file: this.#nonceLog.path },
      'oracle compromised; nothing from it is used until the user intervenes',
    );
    this.#reportCompromised();
    throw new OracleCompromisedError(c.reason);
  }

  #throwIfCompromised(): void {
    const c = this.#nonceLog.compromised;
    if (c) throw new OracleCompromisedError(c.reason);
  }

  /** Health `down` naming why, in the snapshot and the registry. */
  #reportCompromised(): void {
    const c = this.#nonceLog.compromised;
    if (!c) return;
    this.#setStatus('down');
    this.#reporter.report({
      status: 'down',
      detail: `oracle compromised: ${c.reason}. Nothing from it is used; after investigating, configure a new oracle key or delete ${this.#nonceLog.path ?? 'the nonce log'}`,
      error: new OracleCompromisedError(c.reason),
    });
  }

  /** Caches a verified event and tells listeners about what is new. */
  #accept({ announcement, attestation }: VerifiedEvent): void {
    if (this.#nonceLog.compromised) return;
    const { eventId } = announcement;
    if (!this.#announcements.has(eventId)) {
      this.#announcements.set(eventId, announcement);
      this.#log.info(
        { eventId, signatureVerified: announcement.signatureVerified },
        'announcement verified',
      );
      emit(this.#announcementListeners, announcement, this.#log);
    }
    if (attestation && !this.#attestations.has(eventId)) {
      this.#attestations.set(eventId, attestation);
      this.#log.info({ eventId, price: attestation.price }, 'attestation verified');
      emit(this.#attestationListeners, attestation, this.#log);
    }
  }

  /** GET `path` as JSON (http.ts). */
  #get(path: string, callerSignal: AbortSignal | undefined): Promise<unknown> {
    return getJson(this.url, path, callerSignal, this.#requestTimeoutMs);
  }

  // --- polling loop ---------------------------------------------------------------------------

  async #run(
    signal: AbortSignal,
    ready: () => void,
    degraded: (detail: string, error?: unknown) => void,
  ): Promise<void> {
    while (!signal.aborted) {
      if (this.#nonceLog.compromised) {
        // Nothing more to fetch from it: say why, and wait for the stop.
        this.#reportCompromised();
        await sleep(2 ** 31 - 1, undefined, { signal }).catch(() => {});
        return;
      }
      await this.#round(signal);
      if (signal.aborted) return;
      this.#reportTo(ready, degraded);
      const next = this.#nextDue();
      const wake = this.#wake.signal;
      const delay = next === null ? this.#pollMaxMs : Math.max(0, next - Date.now());
      await sleep(delay, undefined, { signal: AbortSignal.any([signal, wake]) }).catch(() => {});
      if (wake.aborted) this.#wake = new AbortController();
    }
  }

  /** One pass: learn the announcement key if needed, then fetch every due event. */
  async #round(signal: AbortSignal): Promise<void> {
    const requestSignal = (): AbortSignal =>
      AbortSignal.any([signal, AbortSignal.timeout(this.#requestTimeoutMs)]);
    if (
      !this.#announcementKeyConfigured &&
      this.#announcementKey === null &&
      Date.now() >= this.#infoNextAttemptAt
    ) {
      try {
        await this.fetchInfo({ signal: requestSignal() });
        // Known now, or the oracle publishes none: look again after the longest poll wait.
        this.#infoAttempts = 0;
        if (this.#announcementKey === null) this.#infoNextAttemptAt = Date.now() + this.#pollMaxMs;
      } catch (err) {
        if (signal.aborted) return;
        this.#infoNextAttemptAt = Date.now() + this.#backoff(this.#infoAttempts++);
        this.#log.warn({ err: (err as Error).message }, 'GET / failed');
      }
    }
    const due = [...this.#watched.values()]
      .filter((w) => !this.#attestations.has(w.eventId) && w.nextAttemptAt <= Date.now())
      .sort((a, b) => a.unixSeconds - b.unixSeconds);
    for (const w of due) {
      if (signal.aborted) return;
      if (!this.#watched.has(w.eventId)) continue;
      try {
        const { attestation } = await this.fetchEvent(w.eventId, { signal: requestSignal() });
        w.error = null;
        if (attestation) {
          this.#watched.delete(w.eventId);
        } else if (Date.now() < w.unixSeconds * 1000) {
          // Announced; nothing to ask until the event time.
          w.attempts = 0;
          w.nextAttemptAt = w.unixSeconds * 1000;
        } else {
          w.nextAttemptAt = Date.now() + this.#backoff(w.attempts++);
        }
      } catch (err) {
        if (signal.aborted) return;
        w.error = err instanceof OracleError ? err : new OracleError((err as Error).message);
        w.nextAttemptAt = Date.now() + this.#backoff(w.attempts++);
        this.#log.warn(
          { eventId: w.eventId, err: (err as Error).message, name: (err as Error).name },
          'oracle event rejected or unavailable',
        );
      }
    }
    this.#refreshStatus();
  }

  #nextDue(): number | null {
    let next: number | null = null;
    for (const w of this.#watched.values()) {
      if (next === null || w.nextAttemptAt < next) next = w.nextAttemptAt;
    }
    if (!this.#announcementKeyConfigured && this.#announcementKey === null) {
      next = next === null ? this.#infoNextAttemptAt : Math.min(next, this.#infoNextAttemptAt);
    }
    return next;
  }

  /** Wait before attempt `attempt` (0-based): initial × factor^attempt, capped, with jitter. */
  #backoff(attempt: number): number {
    const ceiling = Math.min(this.#pollMaxMs, this.#pollInitialMs * POLL_BACKOFF_FACTOR ** attempt);
    return Math.round(ceiling * (1 - POLL_BACKOFF_JITTER * Math.random()));
  }

  #wakeUp(): void {
    this.#wake.abort();
  }

  // --- health ---------------------------------------------------------------------------------

  #recordSuccess(_eventId?: string): void {
    this.#reachable = true;
    this.#lastRequestRejected = false;
    this.#refreshStatus();
  }

  #recordFailure(err: OracleError, eventId: string | null): void {
    this.#reachable = !(err instanceof OracleUnreachableError);
    this.#lastRequestRejected = this.#reachable;
    this.#lastError = { name: err.name, message: err.message, at: Date.now(), eventId };
    if (eventId !== null) {
      const w = this.#watched.get(eventId);
      if (w) w.error = err;
    }
    this.#refreshStatus();
  }

  /** The status from the facts (see {@link oracleStatus}). */
  #refreshStatus(): void {
    if (this.#status === 'stopped' && !this.#running) return;
    const status = oracleStatus({
      compromised: this.#nonceLog.compromised !== null,
      reachable: this.#reachable,
      rejected:
        this.#lastRequestRejected ||
        this.#infoError !== null ||
        [...this.#watched.values()].some((w) => w.error),
    });
    this.#setStatus(status);
  }

  #setStatus(status: HealthStatus): void {
    if (status === this.#status) return;
    this.#status = status;
    this.#since = Date.now();
  }

  /** Mirrors this client's status into the health registry via the supervisor's callbacks. */
  #reportTo(ready: () => void, degraded: (detail: string, error?: unknown) => void): void {
    if (this.#nonceLog.compromised) {
      this.#reportCompromised();
      return;
    }
    const err = this.#lastError;
    switch (this.#status) {
      case 'ok':
        ready();
        break;
      case 'down':
      case 'degraded':
        degraded(
          degradedDetail(this.#status, err?.eventId ?? null),
          err ? Object.assign(new Error(err.message), { name: err.name }) : undefined,
        );
        break;
      default:
        break;
    }
  }
}

function emit<T>(listeners: Set<Listener<T>>, value: T, log: Logger): void {
  for (const listener of listeners) {
    try {
      listener(value);
    } catch (err) {
      log.error({ err }, 'oracle listener threw');
    }
  }
}
