/**
 * Oracle constants shared by dlcfd's olivia-compatible oracle, the node's oracle client and the
 * CLI. Every number has its reason next to it; every network wait has a named default.
 */

import { DEFAULT_STALE_AFTER_MS } from '../pricefeed/constants.ts';

/**
 * Path prefix of olivia's BitMEX price events: `/x/BitMEX/BXBT/<time>.price?n=20` (BTC/USD) and
 * `/x/BitMEX/BETH/<time>.price?n=20` (ETH/USD).
 */
export const EVENT_PATH_PREFIX = '/x/BitMEX/';
/** dlcfd extension: the oracle's own health as JSON (olivia has no such path, so no clash). */
export const HEALTH_PATH = '/health';

/** The scheme whose key and nonces the CFDs use (olivia `olivia-v1`, see dlc/oracle.ts). */
export const OLIVIA_V1 = 'olivia-v1';
/** Key name under `public_keys` of the key that signs announcements (BIP340). */
export const ANNOUNCEMENT_KEY = 'announcement';
/** olivia's only group. */
export const GROUP = 'secp256k1';

// --- oracle (server) ------------------------------------------------------------------------

/** Loopback: an oracle is exposed deliberately (`--listen`), never by accident. */
export const DEFAULT_HOST = '127.0.0.1';
/** Event spacing: hourly, as olivia and ItchySats (rollovers and settlements land on the hour). */
export const DEFAULT_EVENT_INTERVAL_S = 3_600;
/**
 * How far ahead events are announced: 26 h. A CFD is set up against the event one settlement
 * interval (24 h) ahead, rounded up to the next event; ItchySats prefetched 24 h + 1 event, so
 * 26 h leaves an hour of margin for clock skew and slow fetches.
 */
export const DEFAULT_LOOKAHEAD_S = 26 * 3_600;
/**
 * A quote older than this (by its own timestamp, see pricefeed/client.ts `quoteAgeMs`) is not a
 * price the oracle attests: the node's one staleness bound, 15 s. A due event waits for a fresh
 * quote up to {@link DEFAULT_MAX_ATTEST_DELAY_S} and is otherwise left unattested — a frozen
 * price is never attested.
 */
export const DEFAULT_MAX_QUOTE_AGE_MS = DEFAULT_STALE_AFTER_MS;
/**
 * An event not attested this long after its time (feed down, oracle down) is given up: 600 s.
 * Attesting later would publish a price from long after the event, which is not what the CFDs
 * signed up for; an unattested event leaves them their refund path.
 */
export const DEFAULT_MAX_ATTEST_DELAY_S = 600;
/** While an event is due but no fresh quote is known, re-check this often (a quote also wakes it). */
export const DEFAULT_ATTEST_RETRY_MS = 1_000;
/** Announcements kept built in memory (27 hourly events fit many times over; old ones rebuild). */
export const ANNOUNCEMENT_CACHE_SIZE = 4_096;

/** The oracle's secret seed in `--datadir` (0600): keys and nonces derive from it, nothing else. */
export const SEED_FILE = 'oracle.seed';
/** Append-only log of attested outcomes, fsync'd before an outcome is served. */
export const OUTCOMES_FILE = 'oracle-outcomes.jsonl';
/** Seed file format version, so a future format is refused rather than misread. */
export const SEED_FILE_VERSION = 1;

/** BIP340 tags separating the keys derived from one seed (a key never doubles as a nonce). */
export const TAG_OLIVIA_KEY = 'dlcfd/oracle/olivia-v1/key';
export const TAG_ANNOUNCEMENT_KEY = 'dlcfd/oracle/announcement/key';
export const TAG_NONCE = 'dlcfd/oracle/olivia-v1/nonce';
/** Aux randomness of announcement signatures is derived too, so an announcement is byte-stable. */
export const TAG_ANNOUNCEMENT_AUX = 'dlcfd/oracle/announcement/aux';

/** Longest request URL answered (414 beyond): an event URL is 45 characters; this is slack. */
export const MAX_URL_LENGTH = 512;
/** dlcfd extension: the fault-injection control endpoint (server.ts), off without a token. */
export const CONTROL_PATH = '/control';
/** The shortest control token accepted: a guessable one would let anyone silence the oracle. */
export const MIN_CONTROL_TOKEN_LENGTH = 16;
/** Largest control request body: `{"silent":true,"attestDelaySecs":30}` fits in a few dozen bytes. */
export const MAX_CONTROL_BODY_BYTES = 1_024;
/** Longest attest delay the control endpoint sets, seconds (a day: far past any grace window). */
export const MAX_CONTROL_ATTEST_DELAY_S = 86_400;

// --- client (node) --------------------------------------------------------------------------

/**
 * One HTTP request to the oracle, connect to last byte: 10 s. Responses are a few KiB; olivia
 * answers in well under a second, so 10 s only trips on a dead or hanging server.
 */
export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
/** Largest response accepted: 64 KiB (an olivia event response is ~4 KiB). */
export const MAX_RESPONSE_BYTES = 64 * 1024;
/**
 * First wait between attestation polls after the event time: 1 s (olivia attests within seconds
 * of the hour; our oracle at the first fresh quote).
 */
export const DEFAULT_POLL_INITIAL_MS = 1_000;
/**
 * Longest wait between polls and between retries of a failed fetch: 60 s, so a late attestation
 * or a recovered oracle is noticed within a minute without hammering it.
 */
export const DEFAULT_POLL_MAX_MS = 60_000;
/** Each unanswered poll doubles the wait: 1, 2, 4 … 32 s, then the 60 s cap. */
export const POLL_BACKOFF_FACTOR = 2;
/** Waits are uniform in [(1 − JITTER) × d, d], so many nodes do not poll in lockstep. */
export const POLL_BACKOFF_JITTER = 0.2;
