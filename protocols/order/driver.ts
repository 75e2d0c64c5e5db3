/**
 * Runs an order/contract-setup state machine against a transport and an executor: applies each
 * step's effects, writes its messages, runs its request or reads the next message, until the
 * outcome. The one place where the machine meets IO; the libp2p handler and the in-memory tests
 * both use it, with a stream or a pipe as the transport.
 */
import { type Logger, pino } from 'pino';
import type { SetupMessage, SetupMessageType } from './messages.ts';
import type {
  OrderSetupMachine,
  SetupEffect,
  SetupExecutorResult,
  SetupOutcome,
  SetupRequest,
  SetupStep,
} from './setup.ts';

/** Moves messages; every call is bounded in time by the transport itself. */
export interface SetupTransport {
  /** The next message (the machine waits for `expecting`); throws on timeout, reset or garbage. */
  read(expecting: SetupMessageType): Promise<SetupMessage>;
  write(message: SetupMessage): Promise<void>;
  /** Normal end: half-closes our side. */
  close(): Promise<void>;
  /** Failed run: resets the stream so the peer stops at once. */
  abort(err: Error): void;
}

/** Does what the machine asks: durable effects and requests with results. */
export interface SetupExecutor {
  effect(effect: SetupEffect): Promise<void>;
  request(request: SetupRequest): Promise<SetupExecutorResult>;
}

/** The reason text of an error, for events and logs. */
function reasonOf(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

/**
 * Drives `machine` from `first` (its `start()` step) to its outcome. Never throws for anything
 * the peer or the executor does: those end in a `failed` outcome, with the machine's clean-up
 * (release coins, record `ContractSetupFailed`) applied and the stream reset.
 */
export async function runSetup(
  machine: OrderSetupMachine,
  first: SetupStep,
  transport: SetupTransport,
  executor: SetupExecutor,
  logger: Logger = pino({ level: 'silent' }),
): Promise<SetupOutcome> {
  let step = first;
  for (;;) {
    let failedEffect: SetupEffect | undefined;
    try {
      for (const effect of step.effects) {
        failedEffect = effect;
        await executor.effect(effect);
      }
      failedEffect = undefined;
      for (const message of step.send) await transport.write(message);
      if (step.outcome) {
        if (step.outcome.type === 'failed') transport.abort(new Error(step.outcome.reason));
        else await transport.close().catch(() => undefined);
        return step.outcome;
      }
      if (step.request) {
        let result: SetupExecutorResult;
        try {
          result = await executor.request(step.request);
        } catch (err) {
          result = { type: 'requestFailed', reason: reasonOf(err) };
        }
        step = machine.resolve(result);
        continue;
      }
      const expecting = machine.expecting;
      if (expecting === undefined)
        throw new Error(`internal: machine idle in ${machine.currentState}`);
      step = machine.receive(await transport.read(expecting));
    } catch (err) {
      const reason = reasonOf(err);
      logger.debug({ err, cfdId: machine.cfdId, state: machine.currentState }, 'setup aborted');
      const end = machine.fail(reason, failedEffect);
      if (end.outcome?.type === 'failed')
        transport.abort(err instanceof Error ? err : new Error(reason));
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
