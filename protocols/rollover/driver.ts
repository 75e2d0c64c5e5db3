/**
 * Runs a rollover state machine on the shared protocol driver (../driver.ts), as contract setup
 * does: effects (awaited, in order), then messages, then a request or the next read.
 */
import type { Logger } from 'pino';
import { type Executor, runMachine, type Transport } from '../driver.ts';
import type {
  RolloverEffect,
  RolloverMachine,
  RolloverOutcome,
  RolloverRequest,
  RolloverResult,
  RolloverStep,
} from './machine.ts';
import type { RolloverMessage, RolloverMessageType } from './messages.ts';

/** Moves rollover messages; every call is bounded in time by the transport itself. */
export type RolloverTransport = Transport<RolloverMessage, RolloverMessageType>;

/** Does what the machine asks. */
export type RolloverExecutor = Executor<RolloverEffect, RolloverRequest, RolloverResult>;

/**
 * Drives `machine` from `first` to its outcome. Never throws for anything the peer or the
 * executor does: those end in a `failed` outcome (with `RolloverFailed` recorded when the
 * rollover had started) and the stream reset.
 */
export function runRollover(
  machine: RolloverMachine,
  first: RolloverStep,
  transport: RolloverTransport,
  executor: RolloverExecutor,
  logger?: Logger,
): Promise<RolloverOutcome> {
  return runMachine(
    'rollover',
    machine,
    first,
    transport,
    executor,
    (reason) => ({ type: 'requestFailed' as const, reason }),
    logger,
  );
}
