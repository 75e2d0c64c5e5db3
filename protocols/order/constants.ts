/** Protocol id: the version lives here, and a node advertises what it speaks via identify. */
export const PROTOCOL_NAME = 'order';
export const PROTOCOL_VERSION = '1.0.0';
export const ORDER_PROTOCOL = `/dlcfd/${PROTOCOL_NAME}/${PROTOCOL_VERSION}`;

/**
 * Largest message: the signatures message carries one 162-byte adaptor signature (324 hex
 * characters) per digit prefix of every CET, ≈ 1,700 for a 5× curve (≈ 560 KB of JSON), up to
 * ≈ 8,000 for the widest curves. 3 MiB holds that and stays under libp2p's 4 MiB read buffer, so
 * a message we have not read yet never gets the stream reset.
 */
export const MAX_MESSAGE_BYTES = 3 * 1024 * 1024;

/** Most funding inputs a party may bring: a wallet funds a margin with a few coins, not hundreds. */
export const MAX_FUNDING_INPUTS = 50;
/** Most oracle events of one contract: the settlement event plus 24 hourly liquidation events. */
export const MAX_EVENTS = 32;
/** Most CETs per event: a payout curve has ≈ 200 rows (10,000 is the curve module's own cap). */
export const MAX_CETS_PER_EVENT = 10_000;
/** Most digit prefixes of one CET: an interval of 20-digit prices needs at most 2 × 20 − 2. */
export const MAX_PREFIXES_PER_CET = 40;
/** Rejection reasons are for humans; a paragraph is enough. */
export const MAX_REASON_LENGTH = 500;

/** Maker: the taker opens the stream to place the order, so the order is already on its way. */
export const ORDER_TIMEOUT_MS = 10_000;
/**
 * Taker: how long to wait for the maker's decision. ItchySats waits 60 s; a maker deciding by
 * hand must answer within {@link MAKER_DECISION_TIMEOUT_MS}, shorter, so the taker hears a reason.
 */
export const DECISION_TIMEOUT_MS = 60_000;
/** Maker: an order waiting for a manual decision longer than this is rejected. */
export const MAKER_DECISION_TIMEOUT_MS = 45_000;
/**
 * Either side, every contract-setup message after the decision: the peer may be funding from its
 * wallet, fetching an announcement and signing ≈ 1,700 adaptor signatures on a slow machine (the
 * pure-JS fallback signs ≈ 200/s, about 9 s). ItchySats allowed 120 s; a minute is ample.
 */
export const SETUP_MESSAGE_TIMEOUT_MS = 60_000;
/**
 * Maker: the taker's parameters, after our acceptance went out. Until they arrive our coins stay
 * reserved (and were shown to the taker), so this bounds what a taker that accepts and then goes
 * silent costs us. An honest taker only reserves coins and reads the announcement it already
 * holds (its offer named the event) before sending them: well under a second; 20 s leave room
 * for a slow wallet or one oracle round trip.
 */
export const PARAMS_TIMEOUT_MS = 20_000;
/**
 * Every write. The largest frame is the signatures message (≈ 0.6 MB): seconds even on a slow
 * uplink. A peer that does not take it in this time is gone.
 */
export const WRITE_TIMEOUT_MS = 30_000;
/** Waiting for the peer's final ack: both already hold the signed lock, so this only tidies up. */
export const ACK_TIMEOUT_MS = 10_000;

/**
 * Each party pays, besides its own inputs and change, half-ish of the lock's shared bytes:
 * ItchySats charges each party a transaction header (10.5 vB) and the 2-of-2 P2WSH output (43 vB).
 */
export const LOCK_SHARED_VBYTES = 54;
/** vbytes of a P2WPKH input and output, for the least fee a counterparty must bring. */
export const P2WPKH_INPUT_VBYTES = 68n;
export const P2WPKH_OUTPUT_VBYTES = 31n;

/** A maker takes orders from many takers at once; a taker places a few at a time. */
export const MAX_INBOUND_STREAMS = 32;
export const MAX_OUTBOUND_STREAMS = 8;

/**
 * Confirmations each of the counterparty's lock inputs needs before we sign the lock. One: an
 * unconfirmed parent can be replaced or double-spent by its owner after we signed (RBF, or a
 * conflicting transaction sent straight to miners — mempools differ), which leaves a lock that
 * never confirms and that the owner could revive later, when the price suits it. Our own wallet
 * funds from confirmed coins only, so an honest peer's inputs are confirmed too.
 */
export const MIN_LOCK_INPUT_CONFIRMATIONS = 1;
/** Blocks before a coinbase output may be spent (consensus). */
export const COINBASE_MATURITY = 100;
/** Bound on asking the chain backend for the counterparty's lock inputs (one `gettxout` each). */
export const CHAIN_CHECK_TIMEOUT_MS = 10_000;
