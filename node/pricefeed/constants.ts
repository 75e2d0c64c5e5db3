/**
 * Price feed constants shared by the local server, the node's client and the CLI. Every number has
 * its reason next to it; every network wait has a named default.
 */
import { type Price, parsePrice } from '../../model/units.ts';

/** BitMEX's realtime websocket endpoint on mainnet. */
export const BITMEX_MAINNET_URL = 'wss://www.bitmex.com/realtime';
/** BitMEX's testnet endpoint; ItchySats used it for every network other than mainnet. */
export const BITMEX_TESTNET_URL = 'wss://testnet.bitmex.com/realtime';
/** Path the realtime API is served on (ours too, so a client URL differs only in host). */
export const REALTIME_PATH = '/realtime';
/** Path prefix of the local server's control endpoint. */
export const CONTROL_PATH = '/control';

/**
 * The contracts whose quotes the feed carries: BitMEX's inverse perpetual XBTUSD (the BTCUSD
 * product) and its quanto perpetual ETHUSD (the ETHUSD product, as ItchySats 0.6.0 priced it).
 */
export const FEED_SYMBOLS = ['XBTUSD', 'ETHUSD'] as const;
export type FeedSymbol = (typeof FEED_SYMBOLS)[number];
/** The first product's contract: what a caller that names no symbol gets. */
export const QUOTE_SYMBOL: FeedSymbol = 'XBTUSD';
/** One-minute quote bins: one frame a minute on BitMEX, light and enough for CFD pricing. */
export const QUOTE_TABLE = 'quoteBin1m';
export const QUOTE_TOPIC = `${QUOTE_TABLE}:${QUOTE_SYMBOL}`;
/** `quoteBin1m:<symbol>`, the topic a client subscribes to for one contract. */
export function quoteTopic(symbol: FeedSymbol): string {
  return `${QUOTE_TABLE}:${symbol}`;
}
/** BitMEX's BTC/USD index (what olivia attests as `BitMEX/BXBT`). */
export const INDEX_SYMBOL = '.BXBT';
/** Each contract's index: `.BXBT` for XBTUSD, `.BETH` for ETHUSD (olivia's `BitMEX/BETH`). */
export const INDEX_OF: Record<FeedSymbol, string> = { XBTUSD: '.BXBT', ETHUSD: '.BETH' };
export const INSTRUMENT_TABLE = 'instrument';
export const INDEX_TOPIC = `${INSTRUMENT_TABLE}:${INDEX_SYMBOL}`;

/**
 * XBTUSD tick size: 0.5 USD. Every price the local server emits is on this grid, ETHUSD's too
 * (BitMEX ticks ETHUSD by 0.05 USD; 0.5 is on that grid, and coarser is fine for a local feed).
 */
export const TICK: Price = parsePrice('0.5');

// --- client timings -------------------------------------------------------------------------

/**
 * Silence before the client sends the text `ping`: 5 s, what BitMEX's docs recommend and what
 * ItchySats does. quoteBin1m sends one frame a minute, so pings keep an idle socket honest.
 */
export const DEFAULT_PING_AFTER_MS = 5_000;
/** After a `ping`, how long to wait for `pong` or any frame before calling the socket dead (BitMEX: 5 s). */
export const DEFAULT_PONG_TIMEOUT_MS = 5_000;
/** Websocket handshake (TCP + TLS + HTTP upgrade): well under 1 s normally; 10 s for slow links. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
/**
 * A quote is stale once its **own timestamp** (the feed's, not when it reached us) is older than
 * this: 15 s. The one staleness bound of the node (offers withdrawn) and of the oracle (no
 * attestation), configurable (`--max-quote-age`). Measured from the feed's timestamp, a quote
 * frozen upstream, replayed late or held up by a socket that still answers pings turns stale as
 * fast as one from a dead socket. The local feed sends a quote at least every
 * {@link DEFAULT_REPUBLISH_MS}; a feed whose quotes come further apart than this bound (BitMEX
 * quoteBin1m: one bin a minute) needs a larger `--max-quote-age`.
 */
export const DEFAULT_STALE_AFTER_MS = 15_000;
/**
 * A node's bound (its offers, previews and closes): 75 s. BitMEX's quoteBin1m sends one bin a
 * minute, so the freshest quote a node holds is up to 60 s old by its own timestamp; 15 s more
 * for transit and a late bin. A feed that died is stale within 75 s (it was 119 s and counting
 * before), a live one never flaps. The oracle attests with the tighter {@link
 * DEFAULT_STALE_AFTER_MS}: it waits for the bin of the event's minute.
 */
export const DEFAULT_NODE_QUOTE_AGE_MS = 75_000;
/** First reconnect delay: a blip or a restarted local feed is back within a second; no hammering. */
export const DEFAULT_BACKOFF_INITIAL_MS = 500;
/**
 * Longest reconnect delay: 30 s bounds how long recovery goes unnoticed, and keeps an outage from
 * turning into a reconnect storm that BitMEX's per-IP connection limit would punish.
 */
export const DEFAULT_BACKOFF_MAX_MS = 30_000;
/** Each failed attempt doubles the delay: 0.5, 1, 2 … 16 s, then the 30 s cap (~30 s of retries in). */
export const BACKOFF_FACTOR = 2;
/**
 * The delay actually waited is uniform in [(1 − JITTER) × d, d]: many nodes dropped by one BitMEX
 * outage then spread out instead of reconnecting in lockstep.
 */
export const BACKOFF_JITTER = 0.5;

// --- local server defaults ------------------------------------------------------------------

/** Loopback: the local feed is for testnets and tests, not for the network. */
export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_START_PRICE: Price = parsePrice('40000');
/** ETHUSD's first price in the local feed: its own path, near where ETH traded beside BTC at 40k. */
export const DEFAULT_ETH_START_PRICE: Price = parsePrice('3000');
/** One tick a second: fast enough for compressed testnets, slow enough to read in logs. */
export const DEFAULT_TICK_MS = 1_000;
/**
 * The local feed re-sends its current quote with a fresh timestamp after this long without a
 * tick (as BitMEX sends a bin every minute whether or not the price moved): 5 s, a third of
 * {@link DEFAULT_STALE_AFTER_MS}, so a live feed whose price stands still is never stale.
 */
export const DEFAULT_REPUBLISH_MS = 5_000;
/** Relative standard deviation of one tick's move: 5 bp, about $20 at $40k: visible, still plausible. */
export const DEFAULT_VOLATILITY = '0.0005';
export const DEFAULT_DRIFT = '0';
/** Bid–ask spread: 1 USD (two ticks), so bid and ask sit on the tick grid around a tick-aligned mid. */
export const DEFAULT_SPREAD: Price = parsePrice('1');
/** Largest control request body: a price fits in a few dozen bytes. */
export const MAX_CONTROL_BODY_BYTES = 1_024;
