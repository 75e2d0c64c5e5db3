/**
 * The taker's view of what makers offer: a pure state machine fed with received messages. It
 * keeps each maker's latest valid offers, rejects malformed ones with a reason (they never reach
 * the UI or an order), and hides stale ones.
 */
import { type Offer, type OrderPolicy, validateOffer } from '../../model/offer.ts';

export interface RejectedOffer {
  readonly id: string;
  readonly reason: string;
}

export interface OfferBookUpdate {
  readonly maker: string;
  readonly accepted: readonly Offer[];
  readonly rejected: readonly RejectedOffer[];
}

export class OfferBook {
  readonly #byMaker = new Map<string, readonly Offer[]>();

  /** Replaces `maker`'s offers with the valid ones of `offers`. */
  apply(maker: string, offers: readonly Offer[]): OfferBookUpdate {
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
    this.#byMaker.set(maker, accepted);
    return { maker, accepted, rejected };
  }

  /** Forgets a maker (disconnected: its offers cannot be taken). */
  remove(maker: string): void {
    this.#byMaker.delete(maker);
  }

  /** Offers that may be taken at `now`: not older than the policy allows. */
  current(
    now: number,
    policy: Pick<OrderPolicy, 'maxOfferAgeSecs'>,
  ): { maker: string; offer: Offer }[] {
    const out: { maker: string; offer: Offer }[] = [];
    for (const [maker, offers] of this.#byMaker) {
      for (const offer of offers) {
        if (now - offer.createdAt <= policy.maxOfferAgeSecs) out.push({ maker, offer });
      }
    }
    return out;
  }

  find(maker: string, offerId: string): Offer | undefined {
    return this.#byMaker.get(maker)?.find((o) => o.id === offerId);
  }
}
