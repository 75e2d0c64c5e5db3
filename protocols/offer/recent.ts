/**
 * The offers a maker published within the offer age, newest first: what an order may still name.
 * The maker re-quotes as the price moves (about once a second), each quote a new offer with a new
 * id; keeping the recent ones lets an order placed a few seconds — or minutes — after its offer
 * was shown still find it, on both sides. Publishing nothing (offers withdrawn, no fresh quote)
 * forgets them all: a withdrawn offer is never taken.
 */
import type { Offer } from '../../model/offer.ts';

/** Most offers kept: ten minutes of two quotes a second, and a bound on a flooding maker. */
export const MAX_RECENT_OFFERS = 2_400;

export class RecentOffers {
  /** Newest publication first. */
  #offers: Offer[] = [];
  #latest: readonly Offer[] = [];

  /** Records a publication: `offers` is the whole current set; an empty one withdraws all. */
  publish(offers: readonly Offer[]): void {
    this.#latest = offers;
    if (offers.length === 0) {
      this.#offers = [];
      return;
    }
    const ids = new Set(offers.map((o) => o.id));
    this.#offers = [...offers, ...this.#offers.filter((o) => !ids.has(o.id))].slice(
      0,
      MAX_RECENT_OFFERS,
    );
  }

  /** How many offers are kept. */
  get size(): number {
    return this.#offers.length;
  }

  /** Forgets all but the newest `n` offers (never the set published last). */
  trimTo(n: number): void {
    this.#offers = this.#offers.slice(0, Math.max(n, this.#latest.length));
  }

  /** The set published last. */
  get latest(): readonly Offer[] {
    return this.#latest;
  }

  /**
   * The offer `id` if it was published and is at most `maxAgeSecs` old at `now` (unix seconds,
   * against its own `createdAt`), with the latest offer of the same product and maker position:
   * the maker's current quote for that side (undefined when the latest set has none).
   */
  find(
    id: string,
    now: number,
    maxAgeSecs: number,
  ): { offer: Offer; current: Offer | undefined } | undefined {
    this.#offers = this.#offers.filter((o) => now - o.createdAt <= maxAgeSecs);
    const offer = this.#offers.find((o) => o.id === id);
    if (!offer) return undefined;
    const current = this.#latest.find(
      (o) => o.symbol === offer.symbol && o.makerPosition === offer.makerPosition,
    );
    return { offer, current };
  }
}
