/**
 * The skeleton every IO-free protocol state machine shares (contract setup, rollover): a state,
 * the message each waiting state expects, one outcome at most, and the plumbing from an input (a
 * peer message or a request's result) to a {@link MachineStep}. A transition that throws
 * {@link Abort} (or a `DlcError`) ends the run through the machine's own `failed` clean-up.
 * No IO, no clock, no randomness: each protocol's machine (`protocols/<name>/machine.ts` or
 * `setup.ts`) says what its states, messages and clean-up are.
 */
import { DlcError } from '../dlc/index.ts';
import type { MachineStep } from './driver.ts';

/** Thrown inside a transition; turned into a failed outcome with its message as the reason. */
export class Abort extends Error {}

/** {@link step} for one protocol's effects, messages, requests and outcomes. */
export type StepBuilder<Effect, Message, Request, Outcome> = (
  send?: Message[],
  extra?: { effects?: Effect[]; request?: Request; outcome?: Outcome },
) => MachineStep<Effect, Message, Request, Outcome>;

/** A step: effects first (defaulting to none), then `send`, then a request or an outcome. */
export function step<Effect, Message, Request, Outcome>(
  send: Message[] = [],
  extra: { effects?: Effect[]; request?: Request; outcome?: Outcome } = {},
): MachineStep<Effect, Message, Request, Outcome> {
  return { effects: extra.effects ?? [], send, ...extra };
}

/** The state, expected message, outcome and input plumbing of a protocol machine. */
export abstract class StateMachine<
  State extends string,
  Message extends { readonly type: string },
  Effect,
  Request,
  Result extends { readonly type: string },
  Outcome,
> {
  protected state: State;
  readonly #expected: Partial<Record<State, Message['type']>>;
  #outcome: Outcome | undefined;

  protected constructor(initial: State, expected: Partial<Record<State, Message['type']>>) {
    this.state = initial;
    this.#expected = expected;
  }

  get currentState(): State {
    return this.state;
  }

  /** The message type the machine waits for, or undefined while it waits for a request or is done. */
  get expecting(): Message['type'] | undefined {
    return this.#expected[this.state];
  }

  get outcome(): Outcome | undefined {
    return this.#outcome;
  }

  /** Feeds the peer's next message. Anything unexpected fails the run. */
  receive(message: Message): MachineStep<Effect, Message, Request, Outcome> {
    if (this.#outcome) return this.finished();
    return this.#guard(() => {
      const expected = this.expecting;
      if (expected === undefined || message.type !== expected) {
        throw new Abort(
          `unexpected '${message.type}' message while ${expected ? `waiting for '${expected}'` : `in state ${this.state}`}`,
        );
      }
      return this.onMessage(message);
    });
  }

  /** Feeds the result of the pending request. */
  resolve(result: Result): MachineStep<Effect, Message, Request, Outcome> {
    if (this.#outcome) return this.finished();
    return this.#guard(() => this.onResult(result));
  }

  protected abstract onMessage(message: Message): MachineStep<Effect, Message, Request, Outcome>;
  protected abstract onResult(result: Result): MachineStep<Effect, Message, Request, Outcome>;
  /** The clean-up of a failed run, ending it (see {@link end}). */
  protected abstract failed(reason: string): MachineStep<Effect, Message, Request, Outcome>;

  /** The step that repeats the outcome of a finished run. */
  protected finished(): MachineStep<Effect, Message, Request, Outcome> {
    return step([], { outcome: this.#outcome });
  }

  #guard(
    transition: () => MachineStep<Effect, Message, Request, Outcome>,
  ): MachineStep<Effect, Message, Request, Outcome> {
    try {
      return transition();
    } catch (err) {
      if (err instanceof Abort || err instanceof DlcError) return this.failed(err.message);
      throw err;
    }
  }

  protected end(
    outcome: Outcome,
    effects: Effect[] = [],
    send: Message[] = [],
  ): MachineStep<Effect, Message, Request, Outcome> {
    this.state = 'done' as State;
    this.#outcome = outcome;
    return step(send, { effects, outcome });
  }

  /** The result of the pending request, of the type asked for; a failed request aborts. */
  protected expectResult<T extends Result['type']>(
    result: Result,
    type: T,
  ): Extract<Result, { type: T }> {
    if (result.type === 'requestFailed') throw new Abort((result as { reason?: string }).reason);
    if (result.type !== type) throw new Abort(`internal: expected '${type}', got '${result.type}'`);
    return result as Extract<Result, { type: T }>;
  }
}
