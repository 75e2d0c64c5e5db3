/**
 * The BitMEX realtime protocol as far as dlcfd speaks it: frame shapes the local server writes and
 * the parser the node's client reads them with. Parsing is strict at the boundary: a price becomes
 * an exact {@link Price} here or the frame (row) is refused with a {@link MalformedFrameError}.
 */
import { formatPrice, type Price, parsePrice } from '../../model/units.ts';
import { type FeedSymbol, QUOTE_SYMBOL, QUOTE_TABLE } from './constants.ts';
import { MalformedFrameError } from './errors.ts';

/** One row of the `quoteBin1m` table, as BitMEX sends it (prices are JSON numbers). */
export interface QuoteRow {
  timestamp: string;
  symbol: string;
  bidSize: number;
  bidPrice: number;
  askPrice: number;
  askSize: number;
}

/** One row of the `instrument` table for an index (`.BXBT`, `.BETH`): only the fields we serve. */
export interface InstrumentRow {
  symbol: string;
  timestamp: string;
  markPrice: number;
  lastPrice: number;
}

/** A quote read from a row: exact prices, time in unix seconds. */
export interface ParsedQuote {
  symbol: string;
  bid: Price;
  ask: Price;
  /** The row's timestamp in unix seconds (BitMEX bin time; floor of any milliseconds). */
  timestamp: number;
  /** The same timestamp in unix ms, as precise as the row gives it (what staleness uses). */
  timestampMs: number;
}

/** What a text frame is, once parsed. */
export type FeedFrame =
  | { kind: 'pong' }
  | { kind: 'info'; info: string }
  | { kind: 'subscribed'; topic: string }
  | { kind: 'unsubscribed'; topic: string }
  | { kind: 'error'; status: number; error: string }
  /** Rows of the quote table; `rejected` holds a reason for each row that did not parse. */
  | { kind: 'quotes'; action: string; quotes: ParsedQuote[]; rejected: string[] }
  /** A table we do not read (`instrument`, `trade`, …). */
  | { kind: 'table'; table: string };

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/;
const TABLE_ACTIONS = new Set(['partial', 'insert', 'update', 'delete']);

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * A price from a JSON number, exactly.
 *
 * Why `String(n)` is exact here: `JSON.parse` maps the digits on the wire to the nearest double,
 * and ECMAScript's Number→String conversion prints the shortest digit string that maps back to that
 * same double. Any decimal of at most 15 significant digits survives this round trip unchanged
 * (15 ≤ DBL_DIG), so `String(n)` is the text BitMEX wrote. Its prices have a 0.5 USD tick (XBTUSD)
 * or cents (indices): under 10 significant digits at any plausible BTC price. Anything else prints
 * with an exponent or too many places, and {@link parsePrice} refuses it rather than round.
 */
export function jsonNumberToPrice(n: unknown, what: string): Price {
  if (typeof n !== 'number' || !Number.isFinite(n)) {
    throw new MalformedFrameError(`${what} is not a number: ${JSON.stringify(n)}`);
  }
  try {
    return parsePrice(String(n));
  } catch (err) {
    throw new MalformedFrameError(`${what}: ${(err as Error).message}`);
  }
}

/** The JSON number for a price (inverse of {@link jsonNumberToPrice} for tick-sized prices). */
export function priceToJson(p: Price): number {
  return Number(formatPrice(p));
}

/** Unix seconds of a BitMEX ISO-8601 UTC timestamp (`2021-09-21T02:40:00.000Z` → 1632192000). */
export function parseTimestamp(v: unknown): number {
  return Math.floor(parseTimestampMs(v) / 1000);
}

/** Unix ms of a BitMEX ISO-8601 UTC timestamp (sub-millisecond digits dropped). */
export function parseTimestampMs(v: unknown): number {
  if (typeof v !== 'string' || !ISO_UTC.test(v)) {
    throw new MalformedFrameError(`timestamp is not an ISO-8601 UTC time: ${JSON.stringify(v)}`);
  }
  const ms = Date.parse(v);
  if (!Number.isFinite(ms)) throw new MalformedFrameError(`timestamp is not a valid time: ${v}`);
  return ms;
}

/** Reads one quote row; refuses missing, non-numeric, non-positive or crossed prices. */
export function parseQuoteRow(row: unknown): ParsedQuote {
  if (!isRecord(row)) throw new MalformedFrameError('quote row is not an object');
  if (typeof row.symbol !== 'string') throw new MalformedFrameError('quote row has no symbol');
  const bid = jsonNumberToPrice(row.bidPrice, 'bidPrice');
  const ask = jsonNumberToPrice(row.askPrice, 'askPrice');
  if (bid > ask) {
    throw new MalformedFrameError(`crossed quote: bid ${row.bidPrice} above ask ${row.askPrice}`);
  }
  const timestampMs = parseTimestampMs(row.timestamp);
  return { symbol: row.symbol, bid, ask, timestamp: Math.floor(timestampMs / 1000), timestampMs };
}

/**
 * Parses one text frame. Throws {@link MalformedFrameError} for non-JSON or unknown shapes; bad rows
 * of the quote table are reported in `rejected` so the good ones still count.
 */
export function parseFrame(text: string): FeedFrame {
  if (text === 'pong') return { kind: 'pong' };
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new MalformedFrameError(`not JSON: ${text.slice(0, 80)}`);
  }
  if (!isRecord(v)) throw new MalformedFrameError(`not a JSON object: ${text.slice(0, 80)}`);
  if (typeof v.table === 'string') {
    if (typeof v.action !== 'string' || !TABLE_ACTIONS.has(v.action)) {
      throw new MalformedFrameError(`table frame with unknown action ${JSON.stringify(v.action)}`);
    }
    if (!Array.isArray(v.data)) throw new MalformedFrameError('table frame without a data array');
    if (v.table !== QUOTE_TABLE) return { kind: 'table', table: v.table };
    const quotes: ParsedQuote[] = [];
    const rejected: string[] = [];
    if (v.action !== 'delete') {
      for (const row of v.data) {
        try {
          quotes.push(parseQuoteRow(row));
        } catch (err) {
          rejected.push((err as Error).message);
        }
      }
    }
    return { kind: 'quotes', action: v.action, quotes, rejected };
  }
  if (v.success === true && typeof v.subscribe === 'string') {
    return { kind: 'subscribed', topic: v.subscribe };
  }
  if (v.success === true && typeof v.unsubscribe === 'string') {
    return { kind: 'unsubscribed', topic: v.unsubscribe };
  }
  if (typeof v.error === 'string') {
    return { kind: 'error', status: typeof v.status === 'number' ? v.status : 0, error: v.error };
  }
  if (typeof v.info === 'string') return { kind: 'info', info: v.info };
  throw new MalformedFrameError(`unknown frame: ${text.slice(0, 80)}`);
}

/** Our quote row for `price` with its spread: what the local server inserts. */
export function quoteRow(
  bid: Price,
  ask: Price,
  at: Date,
  size = 100_000,
  symbol: FeedSymbol = QUOTE_SYMBOL,
): QuoteRow {
  return {
    timestamp: at.toISOString(),
    symbol,
    bidSize: size,
    bidPrice: priceToJson(bid),
    askPrice: priceToJson(ask),
    askSize: size,
  };
}
