/**
 * The price feed as the API sends it: the latest quote, the chart's history, the closing price.
 * Sats and prices are decimal strings (format.ts).
 */

import { formatPrice, type Position, type Price } from '../../../model/units.ts';
import type { LatestQuote } from '../../pricefeed/client.ts';
import type { QuoteHistory } from '../../pricefeed/history.ts';

// quotes

export interface QuoteView {
  readonly symbol: string;
  readonly bid: string;
  readonly ask: string;
  /** The feed's timestamp, unix seconds. */
  readonly timeSecs: number;
  /** When this node received it, unix ms. */
  readonly receivedAt: number;
  readonly ageMs: number;
  /** Too old to price a new position from. */
  readonly stale: boolean;
}

export function quoteView(q: LatestQuote): QuoteView {
  return {
    symbol: q.symbol,
    bid: formatPrice(q.bid),
    ask: formatPrice(q.ask),
    timeSecs: q.timestamp,
    receivedAt: q.receivedAt,
    ageMs: q.ageMs,
    stale: q.stale,
  };
}

/** The price chart's recent history (`GET /api/quotes`, the live feed's `quotes` event). */
export interface QuoteHistoryView {
  /** One point per this many ms at most (the last quote of each interval). */
  readonly resolutionMs: number;
  /** How far back the node keeps points (it keeps them in memory, from its start). */
  readonly windowMs: number;
  /** Oldest first; `t` is when the node received the quote, unix ms. */
  readonly quotes: readonly { readonly t: number; readonly bid: string; readonly ask: string }[];
}

export function quoteHistoryView(
  h: QuoteHistory,
  sinceMs?: number,
  now?: number,
): QuoteHistoryView {
  return {
    resolutionMs: h.resolutionMs,
    windowMs: h.windowMs,
    quotes: h
      .since(sinceMs, now)
      .map((p) => ({ t: p.t, bid: formatPrice(p.bid), ask: formatPrice(p.ask) })),
  };
}

/**
 * The price a position would close at now: the taker's long sells at the bid, its short buys at
 * the ask (ItchySats' collaborative-settlement rule), and the maker sees the same price, so both
 * sides of one contract show the same figure.
 */
export function closingPrice(takerPosition: Position, q: Pick<LatestQuote, 'bid' | 'ask'>): Price {
  return takerPosition === 'long' ? q.bid : q.ask;
}
