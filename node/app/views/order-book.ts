/**
 * One order book across makers (issue #17): for one product, the best bid and ask over every
 * maker the user has not blocked, and the depth by maker — each maker's offers with its record as
 * this node saw it (connection, uptime, setups and rollovers, last offer). A maker's long offer is
 * a bid (it buys: the taker sells into it), its short offer an ask. Ties on price go to a maker
 * the user prefers, then to the older quote (it was there first), then by peer id, so "best" is
 * the same answer every time it is asked. An offer outside the taker's limits is never "best":
 * any maker can quote the best price with a funding rate or fee no taker accepts, and an order on
 * "best" would then be refused while an acceptable offer stood next to it.
 */
import { offerOutsideLimits, type TakerLimits } from '../../../model/limits.ts';
import type { Offer } from '../../../model/offer.ts';
import { formatPrice } from '../../../model/units.ts';
import { type OfferView, offerView } from './offer.ts';

/** The products the book knows (a product switch shows each, offered or not). */
export const BOOK_SYMBOLS = ['BTCUSD', 'ETHUSD'] as const;
export type BookSymbol = (typeof BOOK_SYMBOLS)[number];

/** How the protocols with one maker ended, as this node's event log says. */
export interface OutcomeCounts {
  readonly setupsCompleted: number;
  readonly setupsFailed: number;
  /** Orders the maker refused. */
  readonly setupsRejected: number;
  readonly rolloversCompleted: number;
  readonly rolloversFailed: number;
  readonly rolloversRejected: number;
}

/** No outcome yet. */
export const NO_OUTCOMES: OutcomeCounts = Object.freeze({
  setupsCompleted: 0,
  setupsFailed: 0,
  setupsRejected: 0,
  rolloversCompleted: 0,
  rolloversFailed: 0,
  rolloversRejected: 0,
});

/** What this node recorded of one maker (node/daemon/maker-records.ts), unix milliseconds. */
export interface MakerRecord extends OutcomeCounts {
  readonly peerId: string;
  /** When this node first connected to it or heard an offer of it; undefined: never. */
  readonly firstSeenMs: number | undefined;
  /** Connected since then (undefined: not connected now). */
  readonly connectedSinceMs: number | undefined;
  /** Time connected before the current connection. */
  readonly connectedMs: number;
  readonly lastOfferMs: number | undefined;
}

/** A maker's record as the API shows it. */
export interface MakerRecordView extends OutcomeCounts {
  readonly connected: boolean;
  /**
   * Share of the time since this node first saw the maker that it was connected, percent with
   * one decimal; null before it was ever seen.
   */
  readonly uptimePercent: number | null;
  /** Unix seconds; null: never seen. */
  readonly firstSeenSecs: number | null;
  /** Unix seconds of the last offers it sent; null: none yet. */
  readonly lastOfferSecs: number | null;
}

/** One offer in the book: the offer as /api/offers shows it, with its age. */
export interface BookOfferView extends OfferView {
  /** Seconds since the maker made it. */
  readonly ageSecs: number;
}

/** One maker's depth in the book. */
export interface BookMakerView {
  readonly peerId: string;
  readonly preferred: boolean;
  readonly blocked: boolean;
  readonly record: MakerRecordView;
  /** Its offers for the book's product, bids first; empty for a blocked maker. */
  readonly offers: readonly BookOfferView[];
}

/** The best price of one side, and whose it is. */
export interface BestQuoteView {
  readonly price: string;
  readonly maker: string;
  readonly offerId: string;
  readonly preferred: boolean;
}

/** `GET /api/book?symbol=…`. */
export interface OrderBookView {
  readonly symbol: string;
  /** Every product the book knows, for the product switch. */
  readonly symbols: readonly string[];
  /** The highest price a maker buys at (a taker going short gets it); null: no bid. */
  readonly bestBid: BestQuoteView | null;
  /** The lowest price a maker sells at (a taker going long pays it); null: no ask. */
  readonly bestAsk: BestQuoteView | null;
  /** Makers not blocked — preferred first, then the best-priced — then the blocked ones. */
  readonly makers: readonly BookMakerView[];
  /** Why the book is empty, or null. */
  readonly reason: string | null;
}

/** The user's choices of makers (node/daemon/maker-choices.ts). */
export interface MakerChoices {
  readonly blocked: readonly string[];
  readonly preferred: readonly string[];
}

export interface OrderBookInput {
  readonly symbol: string;
  /** The offers that may be taken now (the offer book's `current`). */
  readonly offers: readonly { readonly maker: string; readonly offer: Offer }[];
  /** Makers this node knows of besides those offering: configured ones, recorded ones. */
  readonly makers: readonly string[];
  readonly records: ReadonlyMap<string, MakerRecord>;
  readonly choices: MakerChoices;
  readonly nowMs: number;
  readonly limits?: TakerLimits | undefined;
  /** Why there are no offers at all (from the offers view), when there are none. */
  readonly noOffersReason?: string | null;
}

type Entry = { readonly maker: string; readonly offer: Offer };

/**
 * The best offer a taker taking `takerSide` gets among `offers` of makers not blocked and, with
 * `limits`, within them (some order on it may be within them: model/limits.ts
 * `offerOutsideLimits`): the lowest ask to go long, the highest bid to go short; ties as the
 * module says. Undefined: none.
 */
export function bestOffer<E extends Entry>(
  offers: readonly E[],
  takerSide: 'long' | 'short',
  choices: MakerChoices,
  limits?: TakerLimits,
): E | undefined {
  const blocked = new Set(choices.blocked);
  const preferred = new Set(choices.preferred);
  // The taker goes long against a maker's short offer.
  const makerSide = takerSide === 'long' ? 'short' : 'long';
  let best: E | undefined;
  for (const e of offers) {
    if (blocked.has(e.maker) || e.offer.makerPosition !== makerSide) continue;
    if (limits && offerOutsideLimits(e.offer, limits).length > 0) continue;
    if (!best || better(e, best, takerSide, preferred)) best = e;
  }
  return best;
}

function better(a: Entry, b: Entry, takerSide: 'long' | 'short', preferred: Set<string>): boolean {
  if (a.offer.price !== b.offer.price) {
    return takerSide === 'long' ? a.offer.price < b.offer.price : a.offer.price > b.offer.price;
  }
  const ap = preferred.has(a.maker);
  if (ap !== preferred.has(b.maker)) return ap;
  if (a.offer.createdAt !== b.offer.createdAt) return a.offer.createdAt < b.offer.createdAt;
  return a.maker < b.maker;
}

/** Just the counts of `c`. */
const outcomes = (c: OutcomeCounts): OutcomeCounts =>
  Object.fromEntries(
    Object.keys(NO_OUTCOMES).map((k) => [k, c[k as keyof OutcomeCounts]]),
  ) as unknown as OutcomeCounts;

/** The record as shown at `nowMs`. */
export function makerRecordView(r: MakerRecord | undefined, nowMs: number): MakerRecordView {
  const secs = (ms: number | undefined) => (ms === undefined ? null : Math.floor(ms / 1000));
  const connected = r?.connectedSinceMs !== undefined;
  let uptimePercent: number | null = null;
  if (r?.firstSeenMs !== undefined) {
    const seen = nowMs - r.firstSeenMs;
    const up = r.connectedMs + (r.connectedSinceMs === undefined ? 0 : nowMs - r.connectedSinceMs);
    uptimePercent = seen <= 0 ? (connected ? 100 : 0) : Math.round((1000 * up) / seen) / 10;
    uptimePercent = Math.min(100, uptimePercent);
  }
  return {
    connected,
    uptimePercent,
    firstSeenSecs: secs(r?.firstSeenMs),
    lastOfferSecs: secs(r?.lastOfferMs),
    ...outcomes(r ?? NO_OUTCOMES),
  };
}

/** The book of `input.symbol` (module doc). */
export function orderBookView(input: OrderBookInput): OrderBookView {
  const { symbol, choices, nowMs } = input;
  const blocked = new Set(choices.blocked);
  const preferred = new Set(choices.preferred);
  const offers = input.offers.filter((e) => e.offer.symbol === symbol);
  const open = offers.filter((e) => !blocked.has(e.maker));
  const quote = (e: Entry | undefined): BestQuoteView | null =>
    e
      ? {
          price: formatPrice(e.offer.price),
          maker: e.maker,
          offerId: e.offer.id,
          preferred: preferred.has(e.maker),
        }
      : null;
  const bestBid = bestOffer(open, 'short', choices, input.limits);
  const bestAsk = bestOffer(open, 'long', choices, input.limits);

  const nowSecs = Math.floor(nowMs / 1000);
  const peers = new Set([
    ...input.makers,
    ...input.offers.map((e) => e.maker),
    ...choices.blocked,
    ...choices.preferred,
  ]);
  const makers = [...peers].map((peerId): BookMakerView => {
    const isBlocked = blocked.has(peerId);
    const own = isBlocked ? [] : open.filter((e) => e.maker === peerId);
    return {
      peerId,
      preferred: preferred.has(peerId),
      blocked: isBlocked,
      record: makerRecordView(input.records.get(peerId), nowMs),
      offers: own
        .sort((a, b) =>
          a.offer.makerPosition === b.offer.makerPosition
            ? 0
            : a.offer.makerPosition === 'long'
              ? -1
              : 1,
        )
        .map(({ maker, offer }) => ({
          ...offerView(maker, offer, input.limits),
          ageSecs: Math.max(0, nowSecs - offer.createdAt),
        })),
    };
  });
  // Blocked last; preferred first; then by the tightest ask, then peer id.
  const bestAskOf = (m: BookMakerView) =>
    bestOffer(
      open.filter((e) => e.maker === m.peerId),
      'long',
      choices,
      input.limits,
    )?.offer.price;
  makers.sort((a, b) => {
    if (a.blocked !== b.blocked) return a.blocked ? 1 : -1;
    if (a.preferred !== b.preferred) return a.preferred ? -1 : 1;
    const pa = bestAskOf(a);
    const pb = bestAskOf(b);
    if (pa !== pb) {
      if (pa === undefined) return 1;
      if (pb === undefined) return -1;
      return pa < pb ? -1 : 1;
    }
    return a.peerId < b.peerId ? -1 : 1;
  });
  let reason: string | null = null;
  if (open.length === 0) {
    reason =
      offers.length > 0
        ? `every maker offering ${symbol} is blocked`
        : input.offers.length > 0 || !input.noOffersReason
          ? `no maker offers ${symbol}`
          : `no maker offers ${symbol}: ${input.noOffersReason}`;
  }
  return {
    symbol,
    symbols: [...BOOK_SYMBOLS],
    bestBid: quote(bestBid),
    bestAsk: quote(bestAsk),
    makers,
    reason,
  };
}
