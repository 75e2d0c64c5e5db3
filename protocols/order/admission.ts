/**
 * Admission control of a maker's inbound orders: a stranger costs the maker nothing until its
 * order is admitted. The check is a few map lookups, made when the order stream arrives — before
 * anything is written to the CFD log, any coin is reserved, any of our coins is revealed or any
 * adaptor signature is computed. An order over a limit is refused with a business answer
 * (decision `accept: false` and the reason), so an honest taker that happens to hit a limit is
 * told why; it writes nothing on the maker.
 *
 * Two kinds of slot, each limited per peer and in all:
 * - a setup slot, held from the order's arrival until its run ends (completed, rejected or
 *   failed): it bounds the coins a peer can hold reserved and the signing work it can queue;
 * - a decision slot, held while an order waits for the maker's user (manual decisions): it bounds
 *   the list a human has to go through, so a flood cannot bury real orders.
 *
 * Peer ids are free, so per-peer limits alone do not stop a determined stranger: the global
 * limits bound the total, libp2p's connection limits bound how fast new identities connect
 * (node/p2p/node.ts), and the maker's auto-accept policy plus its coin pool decide the rest.
 */

/** Limits of {@link Admission}; every field is a count of orders. */
export interface AdmissionLimits {
  /** Setups one peer may have under way at once. */
  readonly setupsPerPeer: number;
  /** Setups under way at once, all peers together. */
  readonly setupsTotal: number;
  /** Orders of one peer waiting for the maker's user. */
  readonly decisionsPerPeer: number;
  /** Orders waiting for the maker's user, all peers together. */
  readonly decisionsTotal: number;
}

/**
 * Defaults, and why:
 * - 2 setups per peer: a taker's user places one order at a time (its UI waits for the outcome);
 *   a second covers an order placed while the previous run is still tidying up (the final ack).
 *   The attack had one connection send 16 orders: 14 of them are now refused at once.
 * - 32 setups in all: each costs ≈ 0.5 s of one core of adaptor work and one coin of the pool;
 *   32 keep a 2-core maker's signing queue under ≈ 8 s (the taker waits up to 60 s for our
 *   signatures), let a burst of 20+ takers ordering at the same moment through with room for a
 *   few strangers, and match the default coin pool (`coinPool.count` in node/daemon/config.ts),
 *   so admitted setups do not contend for coins.
 * - 1 decision per peer, 8 in all: a human reviews orders one by one; more than a screenful of
 *   waiting orders helps nobody, and each one holds coins only after it is accepted.
 */
export const DEFAULT_ADMISSION_LIMITS: AdmissionLimits = {
  setupsPerPeer: 2,
  setupsTotal: 32,
  decisionsPerPeer: 1,
  decisionsTotal: 8,
};

/** A held slot; {@link release} is idempotent. */
export interface AdmissionTicket {
  release(): void;
}

/** Why an order was not admitted: travels to the taker as the decision's reason. */
export interface AdmissionRefusal {
  readonly refused: string;
}

/** Counts slots per peer and in all against {@link AdmissionLimits}. Synchronous and cheap. */
export class Admission {
  readonly limits: AdmissionLimits;
  readonly #setups = new Counter();
  readonly #decisions = new Counter();

  constructor(limits: Partial<AdmissionLimits> = {}) {
    this.limits = { ...DEFAULT_ADMISSION_LIMITS, ...limits };
    for (const [k, v] of Object.entries(this.limits)) {
      if (!Number.isInteger(v) || v < 1) {
        throw new RangeError(`admission limit ${k} must be a positive whole number, got ${v}`);
      }
    }
  }

  /**
   * A setup slot for `peer`, or why not. While the peer (or everyone) has the most orders the
   * maker's user is asked about at once, new orders are refused here too, before anything is
   * recorded: a maker deciding by hand decides for every order alike.
   */
  admitSetup(peer: string): AdmissionTicket | AdmissionRefusal {
    const { setupsPerPeer, setupsTotal } = this.limits;
    const waiting = this.#decisionsFull(peer);
    if (waiting) return waiting;
    if (this.#setups.of(peer) >= setupsPerPeer) {
      return {
        refused: `the maker takes at most ${setupsPerPeer} orders at once from one peer; wait for yours to finish`,
      };
    }
    if (this.#setups.total >= setupsTotal) {
      return { refused: `the maker is busy (${setupsTotal} orders under way); try again shortly` };
    }
    return this.#setups.take(peer);
  }

  /** A decision slot for `peer` (an order about to wait for the maker's user), or why not. */
  admitDecision(peer: string): AdmissionTicket | AdmissionRefusal {
    return this.#decisionsFull(peer) ?? this.#decisions.take(peer);
  }

  #decisionsFull(peer: string): AdmissionRefusal | undefined {
    const { decisionsPerPeer, decisionsTotal } = this.limits;
    if (this.#decisions.of(peer) >= decisionsPerPeer) {
      return {
        refused: `the maker reviews at most ${decisionsPerPeer} order(s) of one peer at a time`,
      };
    }
    if (this.#decisions.total >= decisionsTotal) {
      return { refused: `${decisionsTotal} orders already await the maker's decision` };
    }
    return undefined;
  }

  /** Slots held now (for health and tests). */
  get usage(): { setups: number; decisions: number } {
    return { setups: this.#setups.total, decisions: this.#decisions.total };
  }
}

export function isRefusal(a: AdmissionTicket | AdmissionRefusal): a is AdmissionRefusal {
  return 'refused' in a;
}

class Counter {
  readonly #perPeer = new Map<string, number>();
  total = 0;

  of(peer: string): number {
    return this.#perPeer.get(peer) ?? 0;
  }

  take(peer: string): AdmissionTicket {
    this.#perPeer.set(peer, this.of(peer) + 1);
    this.total++;
    let held = true;
    return {
      release: () => {
        if (!held) return;
        held = false;
        const n = this.of(peer) - 1;
        if (n > 0) this.#perPeer.set(peer, n);
        else this.#perPeer.delete(peer);
        this.total--;
      },
    };
  }
}
