/**
 * How much envelope work one gossip neighbour may cause: a token bucket per *propagation source*
 * (the direct peer that delivered a message, whoever published it).
 *
 * Why: gossipsub rate-limits nothing that is *valid*, and relays every valid message to every node.
 * Maker identities cost nothing to mint, so one host signing valid envelopes under fresh keys as
 * fast as it can would make every node of the network verify and apply them all (≈ 0.3 ms for a
 * small envelope, ≈ 1.5 ms for a 100-offer one, measured) — a core busy network-wide. Forged
 * envelopes cost the sender its gossip score; valid ones cost nothing, hence this bound. Per source
 * rather than global: a global budget is one the flood uses up, starving the honest makers heard
 * through other connections. Per source rather than per maker: makers are what is free to mint;
 * sources are connections, which the connection manager bounds.
 *
 * The same buckets bound the direct push (protocols/offer/offer.ts), its source the pushing peer:
 * a peer connected once could otherwise push valid envelopes of its own as fast as streams open.
 *
 * An envelope over its source's budget is ignored — not relayed, not applied, no score penalty —
 * since an honest relay may be unlucky (forwarding a burst). The maker's next announcement (its
 * re-quote a second later, or its periodic one) gets through.
 */

import { NamedError } from '../../model/named-error.ts';

/** An envelope refused, unopened, because its source spent its budget. */
export class OverBudgetError extends NamedError {}

/** A token bucket's size: what a source may spend at once, and how fast its allowance returns. */
export interface SourceBudget {
  /** Cost units returned per second. */
  readonly ratePerSec: number;
  /** Most cost units a source holds (a new source starts full). */
  readonly burst: number;
}

/**
 * The cost of one envelope in units of a small envelope's work: a fixed part (signature, framing)
 * and a part per byte (the offers' schema check and the book's validation). Measured: ≈ 0.3 ms for
 * a 1–4 offer envelope (0.7–1.8 KB), ≈ 1.5 ms for a 100-offer one (38 KB): 8 KiB of offers costs
 * about as much as the fixed part.
 */
export function envelopeCost(bytes: number): number {
  return 1 + bytes / COST_BYTES_PER_UNIT;
}

/** Bytes of envelope that cost as much as one envelope's fixed work (see {@link envelopeCost}). */
export const COST_BYTES_PER_UNIT = 8 * 1024;

/**
 * 200 units a second (≈ 60 ms of one core per source at worst) and a burst of 1,000. An honest
 * maker publishes at most about once a second (on every re-quote, node/daemon/market.ts's
 * OFFER_MIN_INTERVAL_MS) with a few offers (≈ 1.2 units), and otherwise every 60 s: one relay
 * carrying the whole network forwards ≈ 1.2 units/s per maker re-quoting every second — the rate
 * covers about 160 of them at once, thousands announcing once a minute. The burst covers a
 * node that just joined the mesh and fetches what gossipsub's message cache advertises (the last
 * 3 heartbeats, ≈ 3 s of the network's messages) several times over. A flood of 100-offer
 * envelopes (≈ 5.7 units each) gets ≈ 35 a second through one connection, ≈ 6 % of a core,
 * instead of all it sends.
 */
export const DEFAULT_SOURCE_BUDGET: SourceBudget = { ratePerSec: 200, burst: 1_000 };

/**
 * Most sources with a bucket. Sources are connections (≤ the connection manager's
 * `maxConnections`, 256 by default); past this the least recently active is forgotten — it is
 * most likely refilled to full anyway, which is what a forgotten source starts with again.
 */
export const MAX_BUDGET_SOURCES = 1_024;

interface Bucket {
  tokens: number;
  /** When `tokens` was last brought up to date (ms). */
  at: number;
}

/** Token buckets, one per source; a pure state machine over an injected ms clock. */
export class SourceBudgets {
  readonly #budget: SourceBudget;
  readonly #maxSources: number;
  /** Least recently active first (re-inserted on each charge). */
  readonly #buckets = new Map<string, Bucket>();

  constructor(
    budget: SourceBudget = DEFAULT_SOURCE_BUDGET,
    maxSources: number = MAX_BUDGET_SOURCES,
  ) {
    this.#budget = budget;
    this.#maxSources = maxSources;
  }

  /** How many sources have a bucket. */
  get size(): number {
    return this.#buckets.size;
  }

  /**
   * Takes `cost` from `source`'s bucket at `nowMs` if it holds that much, and says whether it did.
   * Refused work takes nothing: a source that keeps sending over budget still gets its rate.
   */
  charge(source: string, cost: number, nowMs: number): boolean {
    const { ratePerSec, burst } = this.#budget;
    const bucket = this.#buckets.get(source) ?? { tokens: burst, at: nowMs };
    const elapsed = Math.max(0, nowMs - bucket.at);
    bucket.tokens = Math.min(burst, bucket.tokens + (elapsed * ratePerSec) / 1000);
    bucket.at = nowMs;
    this.#buckets.delete(source);
    this.#buckets.set(source, bucket);
    if (this.#buckets.size > this.#maxSources) {
      const oldest = this.#buckets.keys().next().value;
      if (oldest !== undefined) this.#buckets.delete(oldest);
    }
    if (bucket.tokens < cost) return false;
    bucket.tokens -= cost;
    return true;
  }
}
