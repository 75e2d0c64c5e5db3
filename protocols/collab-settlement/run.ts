/**
 * The settlement machines (settlement.ts) on the shared driver (../driver.ts), as contract setup
 * and rollover run: a step's CFD commands are its effects, its message is sent, and the maker's
 * wait for a decision (its policy or a person) is a request. {@link SettlementRun} only maps
 * shapes; every decision stays the machines'.
 */
import type { Logger } from 'pino';
import type { CfdCommand } from '../../model/cfd.ts';
import { type Executor, type MachineStep, runMachine, type Transport } from '../driver.ts';
import type { CollabMessage } from './messages.ts';
import {
  type IncomingProposal,
  MakerSettlement,
  type SettlementOutcome,
  type Step,
  type TakerSettlement,
} from './settlement.ts';

/** What the run waits for from the peer; each has its own read timeout. */
export type SettlementWait = 'decision' | 'signature';

/** A CFD command to record before anything of the step is sent. */
export interface SettlementEffect {
  readonly type: 'record';
  readonly command: CfdCommand;
}

/** Maker: the proposal waits for the policy's or a person's decision. */
export interface SettlementRequest {
  readonly type: 'decide';
  readonly proposal: IncomingProposal;
}

/** The maker's decision on a proposal. */
export type SettlementDecision = 'accept' | { readonly reject: string };

export type SettlementResult =
  | { readonly type: 'decided'; readonly decision: SettlementDecision }
  /** No decision: the taker left, or the policy threw. */
  | { readonly type: 'requestFailed'; readonly reason: string; readonly error?: Error };

/** The driver's outcome: keyed by `type` as the driver reads it, the machine's outcome inside. */
export interface SettlementRunOutcome {
  readonly type: SettlementOutcome['status'];
  readonly settlement: SettlementOutcome;
  readonly reason?: string;
}

export type SettlementStep = MachineStep<
  SettlementEffect,
  CollabMessage,
  SettlementRequest,
  SettlementRunOutcome
>;

export type SettlementTransport = Transport<CollabMessage, SettlementWait>;
export type SettlementExecutor = Executor<SettlementEffect, SettlementRequest, SettlementResult>;

/** One side's settlement machine as a driver machine. */
export class SettlementRun {
  readonly cfdId: string;
  readonly #machine: TakerSettlement | MakerSettlement;
  readonly #maker: MakerSettlement | undefined;

  constructor(cfdId: string, machine: TakerSettlement | MakerSettlement) {
    this.cfdId = cfdId;
    this.#machine = machine;
    this.#maker = machine instanceof MakerSettlement ? machine : undefined;
  }

  get currentState(): string {
    return this.#machine.state;
  }

  /** The taker waits for the maker's decision, either side for the other's signature. */
  get expecting(): SettlementWait | undefined {
    switch (this.#machine.state) {
      case 'awaitingDecision':
        return this.#maker ? undefined : 'decision';
      case 'awaitingSignature':
        return 'signature';
      default:
        return undefined;
    }
  }

  /** The machine's own step (its `start()`, or one the handler took first) in the driver's shape. */
  step(s: Step): SettlementStep {
    const outcome =
      s.outcome ?? (this.#machine.state === 'done' ? this.#machine.outcome : undefined);
    const proposal = this.#maker?.state === 'awaitingDecision' ? this.#maker.proposal : undefined;
    return {
      effects: s.commands.map((command) => ({ type: 'record', command })),
      send: s.send ? [s.send] : [],
      ...(outcome
        ? { outcome: wrap(outcome) }
        : proposal && { request: { type: 'decide', proposal } }),
    };
  }

  receive(message: CollabMessage): SettlementStep {
    return this.step(this.#machine.receive(message));
  }

  resolve(result: SettlementResult): SettlementStep {
    const maker = this.#maker;
    if (!maker) throw new Error('internal: only the maker asks for a decision');
    if (result.type === 'requestFailed') {
      return this.step(maker.fail(result.error ?? new Error(result.reason)));
    }
    const d = result.decision;
    return this.step(d === 'accept' ? maker.accept() : maker.reject(d.reject));
  }

  /** Fails the run with what failed; after the end, repeats the outcome the run had. */
  fail(reason: string, _failed?: SettlementEffect, cause?: unknown): SettlementStep {
    return this.step(this.#machine.fail(cause instanceof Error ? cause : new Error(reason)));
  }
}

function wrap(settlement: SettlementOutcome): SettlementRunOutcome {
  return {
    type: settlement.status,
    settlement,
    ...(settlement.status === 'failed' && { reason: settlement.error.message }),
  };
}

/**
 * Drives `run` from `first` to its outcome on the shared driver. Never throws for anything the
 * peer or the executor does: those end in a failed outcome, recorded once the settlement started.
 */
export async function runSettlement(
  run: SettlementRun,
  first: SettlementStep,
  transport: SettlementTransport,
  executor: SettlementExecutor,
  logger?: Logger,
): Promise<SettlementOutcome> {
  const outcome = await runMachine('collab-settlement', run, first, transport, executor, logger);
  return outcome.settlement;
}
