/**
 * Coin reservations: coins set aside for a contract setup, a pool split or a CPFP child, so two
 * spends never pick the same coin and a failed one never leaves coins locked (a reservation
 * expires, or lives until released). In memory: a restart forgets them, and the process manager
 * reserves again what a CFD still needs.
 */
import { DEFAULT_RESERVATION_TTL_MS } from './constants.ts';
import { UnknownReservationError } from './errors.ts';

/** One reservation: outpoints (`<txid>:<vout>`) and, for a child, its change script. */
export interface Reservation {
  outpoints: string[];
  expiresAt: number;
  changeScript?: string;
}

/** The wallet's reservations; see the module documentation. */
export class Reservations {
  readonly #byId = new Map<string, Reservation>();
  readonly #clock: () => number;
  readonly #onExpire: (id: string) => void;

  constructor(clock: () => number, onExpire: (id: string) => void) {
    this.#clock = clock;
    this.#onExpire = onExpire;
  }

  /** The live reservation `id`, if any. */
  get(id: string): Reservation | undefined {
    this.expire();
    return this.#byId.get(id);
  }

  /** Sets `id`; `ttlMs` undefined: the default TTL, Infinity: until released. */
  set(id: string, outpoints: string[], ttlMs?: number, changeScript?: string): number {
    const expiresAt = this.#clock() + (ttlMs ?? DEFAULT_RESERVATION_TTL_MS);
    this.#byId.set(id, { outpoints, expiresAt, ...(changeScript && { changeScript }) });
    return expiresAt;
  }

  release(id: string): void {
    this.#byId.delete(id);
  }

  /** Throws {@link UnknownReservationError} if `id` is gone (expired or released). */
  assert(id: string): void {
    if (!this.get(id)) {
      throw new UnknownReservationError(`reservation ${id} expired or was released`);
    }
  }

  /** Every reserved outpoint. */
  outpoints(): Set<string> {
    return new Set([...this.#byId.values()].flatMap((r) => r.outpoints));
  }

  /** Drops expired reservations. */
  expire(): void {
    const now = this.#clock();
    for (const [id, r] of this.#byId) {
      if (r.expiresAt <= now) {
        this.#onExpire(id);
        this.#byId.delete(id);
      }
    }
  }
}
