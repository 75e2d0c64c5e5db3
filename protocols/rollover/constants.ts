import { DEFAULT_MAX_TX_FEE_RATE } from '../../model/limits.ts';

/** Protocol id: the version lives here, and a node advertises what it speaks via identify. */
export const PROTOCOL_NAME = 'rollover';
export const PROTOCOL_VERSION = '1.0.0';
export const ROLLOVER_PROTOCOL = `/dlcfd/${PROTOCOL_NAME}/${PROTOCOL_VERSION}`;

/**
 * Largest message: the signatures message (≈ 1,700 settlement-event adaptor signatures plus ≈ 20
 * per liquidation event, 324 hex characters each) — the same bound as contract setup.
 */
export { MAX_MESSAGE_BYTES, MAX_REASON_LENGTH } from '../order/constants.ts';

/** Hourly liquidation events signed at each rollover in production (ItchySats: 24). */
export const DEFAULT_LIQUIDATION_EVENT_COUNT = 24;
/** Spacing of oracle events (and of the liquidation events): olivia attests every hour. */
export const DEFAULT_EVENT_SPACING_SECS = 3_600;
/** Most liquidation events a maker may ask to sign (the wire bound; settlement event extra). */
export const MAX_LIQUIDATION_EVENTS = 30;
/**
 * How far the maker's new settlement event may lie from `now + settlementInterval`: the maker
 * picks the next event on the grid, so at most one spacing, plus clock skew.
 */
export const DEFAULT_SETTLEMENT_WINDOW_SECS = 3_600 + 300;
/**
 * The oldest funding rate a taker accepts: ItchySats refreshes the rate with every offer (about
 * every minute); an hour-old rate is stale.
 */
export const DEFAULT_MAX_FUNDING_RATE_AGE_SECS = 3_600;
/**
 * Highest commit fee rate a taker signs (sat/vB) and largest absolute funding rate per settlement
 * interval it accepts, unless configured: the taker's default limits (model/limits.ts says why),
 * so a maker can drain neither margin through fees nor through funding.
 */
export const DEFAULT_MAX_FEE_RATE = DEFAULT_MAX_TX_FEE_RATE;
export { DEFAULT_MAX_FUNDING_RATE } from '../../model/limits.ts';
/**
 * Roll over when the settlement event is less than `settlementInterval − rolloverInterval` away:
 * with the defaults, hourly (ItchySats rolls over every hour and charges the hour).
 */
export const DEFAULT_ROLLOVER_INTERVAL_SECS = 3_600;

/** Maker: the taker opens the stream to propose, so the proposal is already on its way. */
export const PROPOSE_TIMEOUT_MS = 10_000;
/**
 * Taker: the maker's decision needs its oracle announcements (25 events, usually cached) and a
 * funding rate; 30 s covers an oracle fetch with retries.
 */
export const DECISION_TIMEOUT_MS = 30_000;
/**
 * Either side, keys and signatures: the peer builds ≈ 200 CETs and signs ≈ 2,200 adaptor
 * signatures (≈ 11 s on the pure-JS fallback of a slow machine); a minute is ample.
 */
export const ROLLOVER_MESSAGE_TIMEOUT_MS = 60_000;
/** Revocation secrets follow right after the peer verified and persisted: seconds at most. */
export const REVOCATION_TIMEOUT_MS = 30_000;
/** Every write (largest frame ≈ 0.7 MB). */
export const WRITE_TIMEOUT_MS = 30_000;

/** A maker serves many takers; a taker rolls over a few CFDs at a time. */
export const MAX_INBOUND_STREAMS = 32;
export const MAX_OUTBOUND_STREAMS = 8;
