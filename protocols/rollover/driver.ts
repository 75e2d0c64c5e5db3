/**
 * Runs a rollover state machine against a transport and an executor, as `runSetup` does for
 * contract setup: effects (awaited, in order), then messages, then a request or the next read,
 * until the outcome. The one place where the machine meets IO; the libp2p handler and the
 * in-memory tests both use it.
 */
import { type Logger, pino } from 'pino';
import type {
  RolloverEffect,
  RolloverMachine,
  RolloverOutcome,
  RolloverRequest,
  RolloverResult,
  RolloverStep,
} from './machine.ts';
import type { RolloverMessage, RolloverMessageType } from './messages.ts';

/** Moves messages; every call is bounded in time by the transport itself. */
export interface RolloverTransport {
  /** The next message (the machine waits for `expecting`); throws on timeout, reset or garbage. */
  read(expecting: RolloverMessageType): Promise<RolloverMessage>;
  write(message: RolloverMessage): Promise<void>;
  close(): Promise<void>;
  abort(err: Error): void;
}

/** Does what the machine asks. */
export interface RolloverExecutor {
  effect(effect: RolloverEffect): Promise<void>;
  request(request: RolloverRequest): Promise<RolloverResult>;
}

function reasonOf(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

/**
 * Drives `machine` from `first` (its `start()` step) to its outcome. Never throws for anything
 * the peer or the executor does: those end in a `failed` outcome (with `RolloverFailed` recorded
 * when the rollover had started) and the stream reset.
 */
export async function runRollover(
  machine: RolloverMachine,
  first: RolloverStep,
  transport: RolloverTransport,
  executor: RolloverExecutor,
  logger: Logger = pino({ level: 'silent' }),
): Promise<RolloverOutcome> {
  let step = first;
  for (;;) {
    let failedEffect: RolloverEffect | undefined;
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
        let result: RolloverResult;
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
        throw new Error(`internal: machine idle in ${machine.currentState}`);
      }
      step = machine.receive(await transport.read(expecting));
    } catch (err) {
      const reason = reasonOf(err);
      logger.debug({ err, cfdId: machine.cfdId, state: machine.currentState }, 'rollover aborted');
      const end = machine.fail(reason, failedEffect);
      if (end.outcome?.type === 'failed') {
        transport.abort(err instanceof Error ? err : new Error(reason));
      }
      for (const effect of end.effects) {
        try {
          await executor.effect(effect);
        } catch (cleanupErr) {
          logger.warn({ err: cleanupErr, cfdId: machine.cfdId }, 'rollover clean-up failed');
        }
      }
      if (end.outcome?.type !== 'failed') await transport.close().catch(() => undefined);
      return end.outcome!;
    }
  }
}
