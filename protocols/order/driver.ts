/**
 * Runs an order/contract-setup state machine on the shared protocol driver (../driver.ts).
 */
import type { Logger } from 'pino';
import { type Executor, runMachine, type Transport } from '../driver.ts';
import type { SetupMessage, SetupMessageType } from './messages.ts';
import type {
  OrderSetupMachine,
  SetupEffect,
  SetupExecutorResult,
  SetupOutcome,
  SetupRequest,
  SetupStep,
} from './setup.ts';

/** Moves setup messages; every call is bounded in time by the transport itself. */
export type SetupTransport = Transport<SetupMessage, SetupMessageType>;

/** Does what the machine asks: durable effects and requests with results. */
export type SetupExecutor = Executor<SetupEffect, SetupRequest, SetupExecutorResult>;

/**
 * Drives `machine` from `first` (its `start()` step) to its outcome. Never throws for anything
 * the peer or the executor does: those end in a `failed` outcome, with the machine's clean-up
 * (release coins, record `ContractSetupFailed`) applied and the stream reset.
 */
export function runSetup(
  machine: OrderSetupMachine,
  first: SetupStep,
  transport: SetupTransport,
  executor: SetupExecutor,
  logger?: Logger,
): Promise<SetupOutcome> {
  return runMachine(
    'setup',
    machine,
    first,
    transport,
    executor,
    (reason) => ({ type: 'requestFailed' as const, reason }),
    logger,
  );
}
