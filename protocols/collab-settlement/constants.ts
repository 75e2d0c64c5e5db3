/** Protocol id: the version lives here, and a node advertises what it speaks via identify. */
export const PROTOCOL_NAME = 'collab-settlement';
export const PROTOCOL_VERSION = '1.0.0';
export const COLLAB_SETTLEMENT_PROTOCOL = `/dlcfd/${PROTOCOL_NAME}/${PROTOCOL_VERSION}`;

/** The largest message (a proposal) is about 300 bytes of JSON; 4 KiB leaves ample room. */
export const MAX_MESSAGE_BYTES = 4 * 1024;

/**
 * How far (basis points of the maker's own closing price) a proposed price may be from the maker's
 * own closing price. Both sides read the same index from their own feeds, so a larger gap means
 * one of the feeds is stale or wrong; settling is irreversible, so the maker refuses in either
 * direction and the taker may propose again at a fresh quote. 25 bp ≈ $125 at $50,000: several
 * minutes of normal BTC movement, far more than feed latency.
 */
export const PRICE_TOLERANCE_BPS = 25n;

/** Maker: the taker opens the stream to propose, so the proposal is already on its way. */
export const PROPOSAL_TIMEOUT_MS = 10_000;

/**
 * Taker: how long to wait for the maker's decision. ItchySats waits 30 s; a maker deciding by hand
 * has to be quicker than that (see {@link MAKER_DECISION_TIMEOUT_MS}).
 */
export const DECISION_TIMEOUT_MS = 30_000;

/**
 * Maker: how long a proposal waits for a manual decision before the maker rejects it. Shorter than
 * the taker's {@link DECISION_TIMEOUT_MS}, so the taker hears a reason rather than a timeout.
 */
export const MAKER_DECISION_TIMEOUT_MS = 25_000;

/** Either side: waiting for the counterparty's close signature (it only signs and verifies). */
export const SIGNATURE_TIMEOUT_MS = 10_000;

/**
 * Taker: how long after its close signature leaves (counted from the maker's `accept`) the close
 * must be on chain — in a mempool or a block — before the taker's node publishes its commit so the
 * close can never confirm (settlement.ts, "No free option"). It bounds the maker's option on the
 * old price. An honest maker broadcasts within a second of receiving our signature (verify, sign,
 * broadcast), so a minute covers its signature timeout ({@link SIGNATURE_TIMEOUT_MS}), relay and a
 * slow chain backend many times over, while BTC rarely moves more than a few basis points in it.
 */
export const SIGNED_CLOSE_WINDOW_MS = 60_000;

/** Every write: one small frame; a peer that cannot take it in this time is gone. */
export const WRITE_TIMEOUT_MS = 5_000;

/** One settlement per CFD at a time; a few streams cover a maker's takers settling together. */
export const MAX_INBOUND_STREAMS = 8;
export const MAX_OUTBOUND_STREAMS = 8;
