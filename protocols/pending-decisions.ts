/**
 * Decisions the maker's user makes by hand: an order to take on (protocols/order/order.ts), a
 * collaborative settlement to sign (protocols/collab-settlement/handler.ts). Each waits under its
 * id until {@link PendingDecisions.decide} answers it, or until its time is up and it gets the
 * late answer (a rejection saying so); the UI lists what waits with
 * {@link PendingDecisions.subjects}.
 *
 * @example
 * ```ts
 * const pending = new PendingDecisions<CfdTerms, OrderDecision>();
 * const decision = await pending.wait(terms.id, terms, 30_000, { accept: false, reason: 'late' });
 * // elsewhere, from the API:
 * if (!pending.decide(orderId, { accept: true })) throw new UnknownPendingOrderError(…);
 * ```
 */
export class PendingDecisions<Subject, Decision> {
  readonly #waiting = new Map<string, { subject: Subject; answer: (d: Decision) => void }>();

  /**
   * The decision on `id`: {@link decide}'s, or `late` after `timeoutMs`. A second wait under the
   * same id takes the first one's place in the list; each still gets its own answer or `late`.
   */
  wait(id: string, subject: Subject, timeoutMs: number, late: Decision): Promise<Decision> {
    const { promise, resolve } = Promise.withResolvers<Decision>();
    const entry = {
      subject,
      answer: (d: Decision) => {
        clearTimeout(timer);
        if (this.#waiting.get(id) === entry) this.#waiting.delete(id);
        resolve(d);
      },
    };
    const timer = setTimeout(() => entry.answer(late), timeoutMs);
    this.#waiting.set(id, entry);
    return promise;
  }

  /** What waits for a decision now. */
  subjects(): Subject[] {
    return [...this.#waiting.values()].map((w) => w.subject);
  }

  /** Answers the decision waiting under `id`; false when none waits (decided, timed out, never). */
  decide(id: string, decision: Decision): boolean {
    const w = this.#waiting.get(id);
    if (!w) return false;
    w.answer(decision);
    return true;
  }

  /** Answers every waiting decision alike (a maker shutting down rejects them all). */
  decideAll(decision: Decision): void {
    for (const w of [...this.#waiting.values()]) w.answer(decision);
  }
}
