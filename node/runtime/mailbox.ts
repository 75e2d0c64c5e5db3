import { type Logger, pino } from 'pino';
import { DisconnectedError, MailboxFullError } from './errors.ts';

/** Messages a component may have waiting; past this, senders are told it is overloaded. */
export const DEFAULT_MAILBOX_CAPACITY = 1000;

interface Envelope<M, R> {
  readonly message: M;
  readonly resolve: (r: R) => void;
  readonly reject: (e: unknown) => void;
}

/**
 * A component's mailbox: messages are handled one at a time, in order, so the handler owns its
 * state without locks. `send` resolves with the handler's reply or rejects with its error; once
 * the mailbox stops, `send` rejects with {@link DisconnectedError} instead of hanging.
 */
export class Mailbox<M, R = void> {
  readonly name: string;
  readonly #handler: (message: M) => Promise<R> | R;
  readonly #capacity: number;
  readonly #log: Logger;
  readonly #queue: Envelope<M, R>[] = [];
  #running = true;
  #busy = false;
  #draining: Promise<void> = Promise.resolve();

  constructor(
    name: string,
    handler: (message: M) => Promise<R> | R,
    options: { capacity?: number; logger?: Logger } = {},
  ) {
    this.name = name;
    this.#handler = handler;
    this.#capacity = options.capacity ?? DEFAULT_MAILBOX_CAPACITY;
    this.#log = (options.logger ?? pino({ level: 'silent' })).child({ mailbox: name });
  }

  get running(): boolean {
    return this.#running;
  }

  /** Messages waiting (not counting the one being handled). */
  get pending(): number {
    return this.#queue.length;
  }

  send(message: M): Promise<R> {
    if (!this.#running) return Promise.reject(new DisconnectedError(this.name));
    if (this.#queue.length >= this.#capacity) {
      return Promise.reject(
        new MailboxFullError(`${this.name} has ${this.#capacity} messages waiting`),
      );
    }
    return new Promise<R>((resolve, reject) => {
      this.#queue.push({ message, resolve, reject });
      if (!this.#busy) {
        this.#busy = true;
        this.#draining = this.#drain();
      }
    });
  }

  /** Stops taking messages; waiting ones are rejected, the one being handled finishes. */
  async stop(): Promise<void> {
    this.#running = false;
    for (const e of this.#queue.splice(0)) e.reject(new DisconnectedError(this.name));
    await this.#draining;
  }

  async #drain(): Promise<void> {
    try {
      for (let e = this.#queue.shift(); e; e = this.#queue.shift()) {
        try {
          e.resolve(await this.#handler(e.message));
        } catch (err) {
          this.#log.debug({ err }, 'handler failed');
          e.reject(err);
        }
      }
    } finally {
      this.#busy = false;
    }
  }
}
