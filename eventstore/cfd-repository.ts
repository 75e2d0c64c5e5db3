import { type Cfd, type CfdCommand, type CfdEvent, decide, fold } from '../model/cfd.ts';
import { cfdEvent } from './cfd-events.ts';
import type { EventStore } from './event-store.ts';

export interface ExecuteResult {
  /** State after the command. */
  readonly cfd: Cfd;
  /** Events the command caused (empty for an idempotent observation). */
  readonly events: readonly CfdEvent[];
  /** Global position of the last appended event, if any. */
  readonly position: number | undefined;
}

/**
 * Loads CFDs from the log and executes commands against them: load → decide → append with the
 * loaded version. Two writers racing on one CFD cannot both win: the loser gets a
 * `ConcurrencyError` and nothing of its decision is written.
 */
export class CfdRepository {
  readonly #store: EventStore;
  readonly #now: () => number;

  /** @param now unix seconds, passed to the model's `decide`. */
  constructor(store: EventStore, now: () => number = () => Math.floor(Date.now() / 1000)) {
    this.#store = store;
    this.#now = now;
  }

  async load(id: string): Promise<Cfd> {
    const recorded = await this.#store.readStream(id);
    return fold(recorded.map(cfdEvent));
  }

  async execute(id: string, command: CfdCommand): Promise<ExecuteResult> {
    const cfd = await this.load(id);
    const events = decide(cfd, command, this.#now());
    if (events.length === 0) return { cfd, events, position: undefined };
    const { position } = await this.#store.append(id, cfd.version, events);
    return { cfd: fold(events, cfd), events, position };
  }
}
