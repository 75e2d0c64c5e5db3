/**
 * The taker's view of what makers offer: a pure state machine fed with received messages. It
 * keeps each maker's latest valid offers (what the UI shows and the auto-rollover reads) and the
 * ones published before within the offer age (what an order may still name: {@link findRecent}),
 * rejects malformed ones with a reason (they never reach the UI or an order), and hides stale ones.
 */
import { type Offer, type OrderPolicy, validateOffer } from '../../model/offer.ts';
import { RecentOffers } from './recent.ts';

export interface RejectedOffer {
  readonly id: string;
  readonly reason: string;
}

export interface OfferBookUpdate {
  readonly maker: string;
  readonly accepted: readonly Offer[];
  readonly rejected: readonly RejectedOffer[];
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

  /**
   * Replaces `maker`'s offers with the valid ones of `offers`; `heard` (from a verified
   * envelope) records when and where the maker was last heard, for {@link makers} and
   * {@link expire}.
   */
  apply(
    maker: string,
    offers: readonly Offer[],
    heard?: { readonly at: number; readonly addrs: readonly string[] },
  ): OfferBookUpdate {
    if (heard) this.#seen.set(maker, { maker, lastSeen: heard.at, addrs: heard.addrs });
    const accepted: Offer[] = [];
    const rejected: RejectedOffer[] = [];
    for (const offer of offers) {
      try {
        validateOffer(offer);
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
    return { maker, accepted, rejected };
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
