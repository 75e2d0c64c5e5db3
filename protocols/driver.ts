/**
 * Runs an IO-free protocol state machine against a transport and an executor: applies each step's
 * effects (awaited, in order), writes its messages, runs its request or reads the next message,
 * until the outcome. The one place where a machine meets IO; the libp2p handlers and the in-memory
 * tests use it with a stream or a pipe as the transport. Contract setup, rollover and collaborative
 * settlement share it.
 */
import { type Logger, pino } from 'pino';

/** What a machine asks for in one step. */
export interface MachineStep<Effect, Message, Request, Outcome> {
  readonly effects: readonly Effect[];
  readonly send: readonly Message[];
  readonly request?: Request;
  readonly outcome?: Outcome;
}

/** The shape every protocol state machine has. */
export interface ProtocolMachine<Effect, Message, MessageType, Request, Result, Outcome> {
  readonly cfdId: string | undefined;
  readonly currentState: string;
  /** The message type the machine waits for, or undefined when it waits for nothing. */
  readonly expecting: MessageType | undefined;
  receive(message: Message): MachineStep<Effect, Message, Request, Outcome>;
  resolve(result: Result): MachineStep<Effect, Message, Request, Outcome>;
  /**
   * Ends the run: the step's effects are the clean-up (release coins, record the failure).
   * `cause` is what failed (a timeout, a reset, a write), for a machine whose outcome carries it.
   */
  fail(
    reason: string,
    failedEffect?: Effect,
    cause?: unknown,
  ): MachineStep<Effect, Message, Request, Outcome>;
}

/** Moves messages; every call is bounded in time by the transport itself. */
export interface Transport<Message, MessageType> {
  /** The next message (the machine waits for `expecting`); throws on timeout, reset or garbage. */
  read(expecting: MessageType): Promise<Message>;
  write(message: Message): Promise<void>;
  /** Normal end: half-closes our side. */
  close(): Promise<void>;
  /** Failed run: resets the stream so the peer stops at once. */
  abort(err: Error): void;
}

/** Does what the machine asks: durable effects, and requests with results. */
export interface Executor<Effect, Request, Result> {
  effect(effect: Effect): Promise<void>;
  request(request: Request): Promise<Result>;
}

/** What the driver resolves a request with when the executor threw. */
export interface RequestFailed {
  readonly type: 'requestFailed';
  readonly reason: string;
}

/** The reason text of an error, for events and logs. */
export function reasonOf(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

/**
 * Drives `machine` from `first` (its `start()` step) to its outcome. Never throws for anything
 * the peer or the executor does: those end in a `failed` outcome, with the machine's clean-up
 * applied and the stream reset. A request that throws is resolved as {@link RequestFailed}.
 */
export async function runMachine<
  Effect extends { readonly type: string },
  Message,
  MessageType,
  Request,
  Result,
  Outcome extends { readonly type: string },
>(
  name: string,
  machine: ProtocolMachine<Effect, Message, MessageType, Request, Result | RequestFailed, Outcome>,
  first: MachineStep<Effect, Message, Request, Outcome>,
  transport: Transport<Message, MessageType>,
  executor: Executor<Effect, Request, Result>,
  logger: Logger = pino({ level: 'silent' }),
): Promise<Outcome> {
  let step = first;
  for (;;) {
    let failedEffect: Effect | undefined;
    try {
      for (const effect of step.effects) {
        failedEffect = effect;
        await executor.effect(effect);
      }
      failedEffect = undefined;
      for (const message of step.send) await transport.write(message);
      if (step.outcome) {
        if (step.outcome.type === 'failed')
          transport.abort(new Error(reasonOfOutcome(step.outcome)));
        else await transport.close().catch(() => undefined);
        return step.outcome;
      }
      if (step.request !== undefined) {
        let result: Result | RequestFailed;
        try {
          result = await executor.request(step.request);
        } catch (err) {
          result = { type: 'requestFailed', reason: reasonOf(err) };
        }
        step = machine.resolve(result);
        continue;
      }
      const expecting = machine.expecting;
      if (expecting === undefined) {
        throw new Error(`internal: ${name} machine idle in ${machine.currentState}`);
      }
      step = machine.receive(await transport.read(expecting));
    } catch (err) {
      const reason = reasonOf(err);
      logger.debug({ err, cfdId: machine.cfdId, state: machine.currentState }, `${name} aborted`);
      const end = machine.fail(reason, failedEffect, err);
      if (end.outcome?.type === 'failed') {
        transport.abort(err instanceof Error ? err : new Error(reason));
      }
      for (const effect of end.effects) {
        try {
          await executor.effect(effect);
        } catch (cleanupErr) {
          logger.warn(
            { err: cleanupErr, cfdId: machine.cfdId, effect: effect.type },
            'clean-up failed',
          );
        }
      }
      if (end.outcome?.type !== 'failed') await transport.close().catch(() => undefined);
      return end.outcome!;
    }
  }
}

function reasonOfOutcome(outcome: { readonly type: string }): string {
  return (outcome as { reason?: string }).reason ?? 'failed';
}
