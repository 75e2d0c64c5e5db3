/**
 * The taker's view of what makers offer: a pure state machine fed with received messages. It
 * keeps each maker's latest valid offers (what the UI shows and the auto-rollover reads) and the
 * ones published before within the offer age (what an order may still name: {@link findRecent}),
 * rejects malformed ones with a reason (they never reach the UI or an order), and hides stale ones.
 *
 * It holds at most `maxMakers` makers: peer ids cost nothing to mint, so a flood of validly signed
 * envelopes from made-up makers must not grow it (and the memory of their recent offers) without
 * end. A new maker past the bound takes the place of the one heard least recently among those the
 * node does not `keep` (its owner's choice: makers it traded with, is connected to, configured or
 * prefers); when every place is kept, the newcomer is refused ({@link BookFullError}). Least
 * recently heard rather than first come: an honest maker re-announces every interval and so gets
 * its place back, whereas a book that refused newcomers would stay the flood's for as long as the
 * flood re-announces.
 */
import { NamedError } from '../../model/named-error.ts';
import {
  DEFAULT_MAX_CLOCK_SKEW_SECS,
  type Offer,
  type OrderPolicy,
  validateOffer,
} from '../../model/offer.ts';
import { RecentOffers } from './recent.ts';

/**
 * Most makers the book holds: far more than a market has (ItchySats had one), few enough that
 * the recent offers of all of them stay a few hundred MB at the very worst.
 */
export const MAX_BOOK_MAKERS = 256;

/**
 * Most recent offers the whole book keeps (≈ 50–70 MB): each maker may keep up to
 * `MAX_RECENT_OFFERS` (recent.ts), but 256 made-up makers each pushing that many distinct offers
 * would hold ≈ 600,000 offers (≈ 350 MB measured). Past this, the maker not kept holding the most
 * loses its oldest ones first; the offers it published last always stay.
 */
export const MAX_BOOK_OFFERS = 100_000;

/** An offer stamped further in the future than the clock skew allows. */
export class FutureOfferError extends NamedError {}

/** A new maker while the book is full of makers the node keeps. */
export class BookFullError extends NamedError {}

export interface OfferBookOptions {
  /** @default MAX_BOOK_MAKERS */
  readonly maxMakers?: number;
  /** @default MAX_BOOK_OFFERS */
  readonly maxOffers?: number;
  /** Makers never evicted for a newcomer. @default none */
  readonly keep?: (maker: string) => boolean;
  /**
   * How far past the time it was heard an offer may be stamped: one stamped later would count as
   * current far beyond the offer age (and be shown, even as "best") while every order on it is
   * refused as stamped in the future. @default DEFAULT_MAX_CLOCK_SKEW_SECS
   */
  readonly maxClockSkewSecs?: number;
}

export interface RejectedOffer {
  readonly id: string;
  readonly reason: string;
}

export interface OfferBookUpdate {
  readonly maker: string;
  readonly accepted: readonly Offer[];
  readonly rejected: readonly RejectedOffer[];
  /** A maker dropped to make room for this one (the book was full). */
  readonly evicted?: string;
  /** The maker left the book (disconnected, silent or evicted): its offers are gone. */
  readonly gone?: true;
}

/** A maker in the book: when it was last heard (unix seconds) and where it said it listens. */
export interface MakerEntry {
  readonly maker: string;
  readonly lastSeen: number;
  readonly addrs: readonly string[];
}

export class OfferBook {
  readonly #byMaker = new Map<string, RecentOffers>();
  readonly #seen = new Map<string, MakerEntry>();
  readonly #maxMakers: number;
  readonly #keep: (maker: string) => boolean;
  readonly #maxSkew: number;
  readonly #maxOffers: number;

  constructor(options: OfferBookOptions = {}) {
    this.#maxOffers = options.maxOffers ?? MAX_BOOK_OFFERS;
    this.#maxMakers = options.maxMakers ?? MAX_BOOK_MAKERS;
    this.#keep = options.keep ?? (() => false);
    this.#maxSkew = options.maxClockSkewSecs ?? DEFAULT_MAX_CLOCK_SKEW_SECS;
  }

  /**
   * Replaces `maker`'s offers with the valid ones of `offers` (with `heard`, none stamped beyond
   * the clock skew after it); `heard` (from a verified envelope) records when and where the maker
   * was last heard, for {@link makers} and {@link expire}. A maker new to a full book evicts another or is refused: {@link BookFullError}.
   */
  apply(
    maker: string,
    offers: readonly Offer[],
    heard?: { readonly at: number; readonly addrs: readonly string[] },
  ): OfferBookUpdate {
    const evicted = this.#byMaker.has(maker) ? undefined : this.#makeRoom(maker);
    if (heard) this.#seen.set(maker, { maker, lastSeen: heard.at, addrs: heard.addrs });
    const accepted: Offer[] = [];
    const rejected: RejectedOffer[] = [];
    for (const offer of offers) {
      try {
        validateOffer(offer);
        if (heard && offer.createdAt - heard.at > this.#maxSkew) {
          throw new FutureOfferError(
            `offer ${offer.id} is stamped ${offer.createdAt - heard.at} s in the future (at most ${this.#maxSkew} s)`,
          );
        }
        accepted.push(offer);
      } catch (err) {
        rejected.push({ id: offer.id, reason: (err as Error).message });
      }
    }
    let recent = this.#byMaker.get(maker);
    if (!recent) {
      recent = new RecentOffers();
      this.#byMaker.set(maker, recent);
    }
    recent.publish(accepted);
    this.#trim();
    return evicted ? { maker, accepted, rejected, evicted } : { maker, accepted, rejected };
  }

  /** Back under {@link MAX_BOOK_OFFERS}: the largest history of a maker not kept goes first. */
  #trim(): void {
    let total = 0;
    for (const r of this.#byMaker.values()) total += r.size;
    while (total > this.#maxOffers) {
      let largest: RecentOffers | undefined;
      for (const [maker, r] of this.#byMaker) {
        if (r.size > r.latest.length && (!largest || r.size > largest.size) && !this.#keep(maker))
          largest = r;
      }
      if (!largest) return;
      const before = largest.size;
      largest.trimTo(before - (total - this.#maxOffers));
      total -= before - largest.size;
    }
  }

  /** Frees a place for `newcomer` when the book is full; the maker evicted, if any. */
  #makeRoom(newcomer: string): string | undefined {
    if (this.#byMaker.size < this.#maxMakers) return undefined;
    let victim: string | undefined;
    let oldest = Number.POSITIVE_INFINITY;
    for (const maker of this.#byMaker.keys()) {
      const at = this.#seen.get(maker)?.lastSeen ?? 0;
      if (at < oldest && !this.#keep(maker)) {
        victim = maker;
        oldest = at;
      }
    }
    if (victim === undefined) {
      throw new BookFullError(
        `the book holds ${this.#byMaker.size} makers this node keeps; ${newcomer} is not taken`,
      );
    }
    this.remove(victim);
    return victim;
  }

  /** Whether `maker` is in the book. */
  has(maker: string): boolean {
    return this.#byMaker.has(maker);
  }

  /** Forgets a maker (disconnected: its offers cannot be taken). */
  remove(maker: string): void {
    this.#byMaker.delete(maker);
    this.#seen.delete(maker);
  }

  /** The makers in the book, with when each was last heard (the order book's per-maker view). */
  makers(): MakerEntry[] {
    return [...this.#byMaker.keys()].map(
      (maker) => this.#seen.get(maker) ?? { maker, lastSeen: 0, addrs: [] },
    );
  }

  /**
   * Drops every maker last heard more than `timeoutSecs` before `now` (unix seconds): a maker
   * that stopped announcing is gone, its offers cannot be taken. Returns the dropped makers.
   */
  expire(now: number, timeoutSecs: number): string[] {
    const gone = [...this.#seen.values()]
      .filter((m) => now - m.lastSeen > timeoutSecs)
      .map((m) => m.maker);
    for (const maker of gone) this.remove(maker);
    return gone;
  }

  /** Offers that may be taken at `now`: not older than the policy allows. */
  current(
    now: number,
    policy: Pick<OrderPolicy, 'maxOfferAgeSecs'>,
  ): { maker: string; offer: Offer }[] {
    const out: { maker: string; offer: Offer }[] = [];
    for (const [maker, recent] of this.#byMaker) {
      for (const offer of recent.latest) {
        if (now - offer.createdAt <= policy.maxOfferAgeSecs) out.push({ maker, offer });
      }
    }
    return out;
  }

  /** `maker`'s latest offer `offerId`. */
  find(maker: string, offerId: string): Offer | undefined {
    return this.#byMaker.get(maker)?.latest.find((o) => o.id === offerId);
  }

  /**
   * The offer `offerId` of any maker if it was published at most `maxOfferAgeSecs` before `now`
   * and not withdrawn since, with that maker's current offer for the same side (`current`).
   */
  findRecent(
    offerId: string,
    now: number,
    policy: Pick<OrderPolicy, 'maxOfferAgeSecs'>,
  ): { maker: string; offer: Offer; current: Offer | undefined } | undefined {
    for (const [maker, recent] of this.#byMaker) {
      const found = recent.find(offerId, now, policy.maxOfferAgeSecs);
      if (found) return { maker, ...found };
    }
    return undefined;
  }
}
