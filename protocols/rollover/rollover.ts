/**
 * The libp2p side of `/dlcfd/rollover/1.0.0`: the taker opens one stream per rollover, the maker
 * accepts; each drives its role's machine with the shared driver ({@link runMachine}), wiring effects and requests
 * to the CFD log, the contract-record store, the oracle client and the adaptor worker pool. Every
 * read and write has a named timeout.
 */
import type { PeerId, Stream } from '@libp2p/interface';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { hexToBytes } from '@noble/hashes/utils.js';
import { type Logger, pino } from 'pino';
import type { AdaptorWorkerPool } from '../../dlc/index.ts';
import type { ContractStore } from '../../dlc/record.ts';
import { type Cfd, decide } from '../../model/cfd.ts';
import { rolloverTermsOutsideLimits } from '../../model/limits.ts';
import type { FeeRate, FundingRate } from '../../model/units.ts';
import {
  adaptorWork,
  dialTransport,
  framedTransport,
  handleInbound,
  type MachineRun,
  notifyListeners,
  runInstrumented,
} from '../handler.ts';
import {
  type Announcements,
  type CfdLog,
  type Clock,
  type ProtocolHost,
  type RunInstrument,
  systemClock,
} from '../ports.ts';
import {
  DECISION_TIMEOUT_MS,
  MAX_INBOUND_STREAMS,
  MAX_MESSAGE_BYTES,
  MAX_OUTBOUND_STREAMS,
  PROPOSE_TIMEOUT_MS,
  REVOCATION_TIMEOUT_MS,
  ROLLOVER_MESSAGE_TIMEOUT_MS,
  ROLLOVER_PROTOCOL,
  WRITE_TIMEOUT_MS,
} from './constants.ts';
import { CannotRolloverError, NotCounterpartyError, RevealAfterCommitError } from './errors.ts';
import {
  DEFAULT_ROLLOVER_CONFIG,
  MakerRollover,
  type RolloverConfig,
  type RolloverEffect,
  type RolloverExecutor,
  type RolloverMachine,
  type RolloverOutcome,
  type RolloverRequest,
  type RolloverResult,
  type RolloverTransport,
  TakerRollover,
} from './machine.ts';
import {
  type RolloverDecisionMsg,
  RolloverMessageSchema,
  type RolloverMessageType,
} from './messages.ts';

/** What the protocol needs of the oracle. */
export type RolloverOracle = Announcements;

/** The maker's answer to a rollover proposal, with today's rates when it accepts. */
export type RolloverDecision =
  | {
      readonly accept: true;
      readonly fundingRate: FundingRate;
      /** When the rate source set the rate (unix seconds). */
      readonly fundingRateAsOf: number;
      /** sat/vB of the new commit. */
      readonly feeRate: FeeRate;
    }
  | { readonly accept: false; readonly reason: string };

/** Read and write timeouts, overridable for tests. */
export interface RolloverTimeouts {
  readonly proposeMs: number;
  readonly decisionMs: number;
  readonly messageMs: number;
  readonly revocationMs: number;
  readonly writeMs: number;
}

export const DEFAULT_ROLLOVER_TIMEOUTS: RolloverTimeouts = {
  proposeMs: PROPOSE_TIMEOUT_MS,
  decisionMs: DECISION_TIMEOUT_MS,
  messageMs: ROLLOVER_MESSAGE_TIMEOUT_MS,
  revocationMs: REVOCATION_TIMEOUT_MS,
  writeMs: WRITE_TIMEOUT_MS,
};

export interface RolloverProtocolInit {
  readonly role: 'maker' | 'taker';
  readonly repository: CfdLog;
  readonly contracts: ContractStore;
  readonly oracle: RolloverOracle;
  readonly pool?: AdaptorWorkerPool;
  /**
   * Maker: decides a proposal of an open CFD (the machine already checked it can roll over) and
   * gives the current funding rate and fee rate. Required for a maker.
   */
  readonly policy?: (cfd: Cfd) => RolloverDecision | Promise<RolloverDecision>;
  /** Event schedule and the taker's acceptance bounds; both sides must agree on the schedule. */
  readonly config?: Partial<RolloverConfig>;
  /**
   * Taker: its limits now (funding and fee rate), read at the start of every rollover so a change
   * applies to the next one; they win over `config`'s.
   */
  readonly limits?: () => Pick<RolloverConfig, 'maxFundingRate' | 'maxFeeRate' | 'minFeeRate'>;
  /** @default the system clock */
  readonly clock?: Clock;
  /** Wraps each run (the node's fail points). */
  readonly instrument?: RunInstrument;
  readonly timeouts?: Partial<RolloverTimeouts>;
  readonly logger?: Logger;
}

/** A finished rollover, as listeners see it. */
export interface RolloverResultEvent {
  readonly cfdId: string;
  readonly peer: string;
  readonly outcome: RolloverOutcome;
  /**
   * Taker: the run failed and the maker's terms were outside the taker's limits — why, and the
   * terms, so auto-rollover can pause instead of asking again at once.
   */
  readonly limitRefusal?: RolloverLimitRefusal;
}

/** A rollover refused because the maker's terms were outside the taker's limits. */
export interface RolloverLimitRefusal {
  readonly reason: string;
  readonly fundingRate: FundingRate;
  readonly feeRate: FeeRate;
}

/**
 * `/dlcfd/rollover/1.0.0`.
 *
 * @example
 * ```ts
 * const maker = new RolloverProtocol(node, { role: 'maker', repository, contracts, oracle, pool,
 *   policy: () => ({ accept: true, fundingRate, fundingRateAsOf, feeRate: 2n }) });
 * await maker.start();
 * const taker = new RolloverProtocol(node, { role: 'taker', repository, contracts, oracle, pool });
 * const { outcome } = await taker.rollover(makerPeerId, cfdId);
 * ```
 */
export class RolloverProtocol {
  readonly #node: ProtocolHost;
  readonly #init: RolloverProtocolInit;
  readonly #log: Logger;
  readonly #timeouts: RolloverTimeouts;
  readonly #clock: () => number;
  readonly #listeners = new Set<(o: RolloverResultEvent) => void>();
  /** CFDs with a rollover running here: one at a time per CFD. */
  readonly #running = new Set<string>();

  constructor(node: ProtocolHost, init: RolloverProtocolInit) {
    this.#node = node;
    this.#init = init;
    this.#log = (init.logger ?? pino({ level: 'silent' })).child({ protocol: ROLLOVER_PROTOCOL });
    this.#timeouts = { ...DEFAULT_ROLLOVER_TIMEOUTS, ...init.timeouts };
    this.#clock = init.clock ?? systemClock;
  }

  async start(): Promise<void> {
    if (this.#init.role !== 'maker') return;
    await handleInbound(
      this.#node,
      ROLLOVER_PROTOCOL,
      (stream, peer) => this.#serve(stream, peer),
      { maxInboundStreams: MAX_INBOUND_STREAMS, maxOutboundStreams: MAX_OUTBOUND_STREAMS },
    );
  }

  async stop(): Promise<void> {
    if (this.#init.role === 'maker') await this.#node.unhandle(ROLLOVER_PROTOCOL);
  }

  /** Called with every finished rollover (completed, rejected or failed), on both roles. */
  onOutcome(listener: (o: RolloverResultEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Taker: rolls CFD `cfdId` over with `maker`. Throws {@link CannotRolloverError} (nothing sent
   * or recorded) when the CFD cannot roll over now; otherwise resolves with the outcome.
   */
  async rollover(maker: PeerId, cfdId: string): Promise<RolloverResultEvent> {
    const { repository, contracts } = this.#init;
    if (this.#running.has(cfdId)) throw new CannotRolloverError(`${cfdId} is rolling over already`);
    const cfd = await repository.load(cfdId);
    try {
      decide(cfd, { type: 'startRollover', proposedBy: 'taker' }, this.#clock());
    } catch (err) {
      throw new CannotRolloverError((err as Error).message, { cause: err });
    }
    if (cfd.terms?.role !== 'taker') throw new CannotRolloverError(`${cfdId} is not a taker CFD`);
    const record = await contracts.get(cfdId);
    if (!record) throw new CannotRolloverError(`${cfdId} has no contract record`);
    this.#running.add(cfdId);
    try {
      const config = { ...this.#init.config, ...this.#init.limits?.() };
      const machine = new TakerRollover({
        cfd,
        record,
        secrets: freshSecrets(),
        now: this.#clock(),
        config,
      });
      const log = this.#log.child({ cfdId, peer: maker.toString(), role: 'taker' });
      let terms: { fundingRate: FundingRate; feeRate: FeeRate } | undefined;
      const transport = this.#guardReveal(
        observeDecision(
          await dialTransport(this.#node, maker, ROLLOVER_PROTOCOL, this.#timeouts.writeMs, (s) =>
            this.#transport(s),
          ),
          (d) => {
            terms = { fundingRate: d.fundingRate as FundingRate, feeRate: d.feeRate };
          },
        ),
        () => cfdId,
      );
      const executor = this.#executor(log);
      const outcome = await this.#run(machine, {
        point: 'rollover.taker',
        transport,
        executor,
        log,
      });
      return this.#finish(
        cfdId,
        maker.toString(),
        outcome,
        log,
        limitRefusalOf(outcome, terms, config),
      );
    } finally {
      this.#running.delete(cfdId);
    }
  }

  async #serve(stream: Stream, peer: PeerId): Promise<void> {
    const machine = new MakerRollover({
      secrets: freshSecrets(),
      now: this.#clock(),
      counterpartyPeerId: peer.toString(),
      config: this.#init.config,
    });
    const log = this.#log.child({ peer: peer.toString(), role: 'maker' });
    let claimed: string | undefined;
    const executor = this.#executor(log, {
      peer: peer.toString(),
      claim: (id) => {
        if (this.#running.has(id)) throw new CannotRolloverError(`${id} is rolling over already`);
        this.#running.add(id);
        claimed = id;
      },
    });
    try {
      const transport = this.#guardReveal(this.#transport(stream), () => claimed);
      const outcome = await this.#run(machine, {
        point: 'rollover.maker',
        transport,
        executor,
        log,
      });
      this.#finish(machine.cfdId ?? claimed ?? '(none)', peer.toString(), outcome, log);
    } finally {
      if (claimed) this.#running.delete(claimed);
    }
  }

  /** Runs `machine` with the shared driver, as the node's instrument wraps it. */
  #run(machine: RolloverMachine, run: MachineRun<RolloverTransport, RolloverExecutor>) {
    const { instrument } = this.#init;
    return runInstrumented('rollover', machine, { ...run, instrument, persistKind });
  }

  #finish(
    cfdId: string,
    peer: string,
    outcome: RolloverOutcome,
    log: Logger,
    limitRefusal?: RolloverLimitRefusal,
  ): RolloverResultEvent {
    if (outcome.type === 'completed') {
      log.info({ commitTxid: outcome.record.commit.txid }, 'rolled over');
    } else if (limitRefusal) {
      log.warn({ reason: limitRefusal.reason }, 'rollover refused: outside the taker limits');
    } else log.info({ outcome: outcome.type, reason: outcome.reason }, 'rollover ended');
    const o = { cfdId, peer, outcome, ...(limitRefusal ? { limitRefusal } : {}) };
    notifyListeners(this.#listeners, o, log, 'rollover');
    return o;
  }

  /**
   * Checks, right before a revocation secret leaves, that this node has not published a commit
   * the message would revoke (a force close or an attestation during the rollover): the machine
   * cannot see that, the log can. The run then fails with nothing revealed.
   */
  #guardReveal(transport: RolloverTransport, cfdId: () => string | undefined): RolloverTransport {
    const { repository } = this.#init;
    return {
      read: (expecting) => transport.read(expecting),
      close: () => transport.close(),
      abort: (err) => transport.abort(err),
      write: async (message) => {
        const id = cfdId();
        if (message.type === 'revocation' && id !== undefined) {
          const cfd = await repository.load(id);
          const ours = [cfd.commitTx?.txid, cfd.confirmedCommitTxid];
          const hit = message.secrets.find((s) => ours.includes(s.commitTxid));
          if (hit) {
            throw new RevealAfterCommitError(
              `commit ${hit.commitTxid} of ${id} is published: its revocation secret stays here`,
            );
          }
        }
        return transport.write(message);
      },
    };
  }

  #transport(stream: Stream): RolloverTransport {
    const t = this.#timeouts;
    const readTimeoutMs: Record<RolloverMessageType, number> = {
      propose: t.proposeMs,
      decision: t.decisionMs,
      keys: t.messageMs,
      signatures: t.messageMs,
      commitSignature: t.messageMs,
      revocation: t.revocationMs,
    };
    return framedTransport(stream, RolloverMessageSchema, {
      maxMessageBytes: MAX_MESSAGE_BYTES,
      readTimeoutMs,
      writeMs: t.writeMs,
    });
  }

  /**
   * `maker`: the proposing peer, and how to claim a CFD's rollover slot once the proposal passed
   * every check (the maker's `decide`).
   */
  #executor(
    log: Logger,
    maker?: { readonly peer: string; readonly claim: (cfdId: string) => void },
  ): RolloverExecutor {
    const { repository, contracts, oracle, pool } = this.#init;
    const since = performance.now();
    return {
      effect: async (effect) => {
        if (effect.type === 'record') await repository.execute(effect.cfdId, effect.command);
        else await contracts.put(effect.record.cfdId, effect.record);
      },
      request: async (request: RolloverRequest): Promise<RolloverResult> => {
        switch (request.type) {
          case 'decide': {
            const cfd = await repository.load(request.cfdId);
            // Only the CFD's taker may propose: a stranger must not claim its slot or reach the policy.
            if (cfd.terms?.role !== 'maker' || cfd.terms.counterpartyPeerId !== maker?.peer) {
              const reason = new NotCounterpartyError(request.cfdId).message;
              return { type: 'decided', accept: false, reason };
            }
            try {
              decide(cfd, { type: 'startRollover', proposedBy: 'taker' }, this.#clock());
            } catch (err) {
              return { type: 'decided', accept: false, reason: (err as Error).message };
            }
            const record = await contracts.get(request.cfdId);
            if (!record) {
              return { type: 'decided', accept: false, reason: `no contract ${request.cfdId}` };
            }
            if (!this.#init.policy) {
              return { type: 'decided', accept: false, reason: 'this node does not roll over' };
            }
            try {
              maker.claim(request.cfdId);
            } catch (err) {
              return { type: 'decided', accept: false, reason: (err as Error).message };
            }
            const d = await this.#init.policy(cfd);
            if (!d.accept) return { type: 'decided', accept: false, reason: d.reason };
            log.debug({ cfdId: request.cfdId }, 'rollover accepted');
            return { type: 'decided', ...d, cfd, record };
          }
          case 'announcements': {
            const events = await Promise.all(
              request.eventIds.map(async (eventId) => {
                const a =
                  oracle.announcement(eventId) ??
                  (
                    await oracle.fetchEvent(eventId, {
                      signal: AbortSignal.timeout(this.#timeouts.messageMs),
                    })
                  ).announcement;
                return { eventId, nonces: a.nonces };
              }),
            );
            return { type: 'announced', oraclePublicKey: hexToBytes(oracle.publicKey), events };
          }
          case 'encrypt':
          case 'verify':
            // Existing positions go ahead of new setups in the signing pool, older runs first.
            return adaptorWork(pool, request, { priority: 'high', since });
        }
      },
    };
  }
}

/**
 * The run failed and the maker's terms (its decision, if one came) are outside the taker's
 * limits in `config`: the machine refused on this same rule. Undefined otherwise.
 */
export function limitRefusalOf(
  outcome: RolloverOutcome,
  terms: { readonly fundingRate: FundingRate; readonly feeRate: FeeRate } | undefined,
  config: Partial<RolloverConfig> | undefined,
): RolloverLimitRefusal | undefined {
  if (outcome.type !== 'failed' || !terms) return undefined;
  const reason = rolloverTermsOutsideLimits(terms, { ...DEFAULT_ROLLOVER_CONFIG, ...config });
  return reason === undefined
    ? undefined
    : { reason, fundingRate: terms.fundingRate, feeRate: terms.feeRate };
}

/** Calls `seen` with the maker's accepting decision as it is read (the machine still checks it). */
function observeDecision(
  transport: RolloverTransport,
  seen: (d: Extract<RolloverDecisionMsg, { accept: true }>) => void,
): RolloverTransport {
  return {
    read: async (expecting) => {
      const m = await transport.read(expecting);
      if (m.type === 'decision' && m.accept) seen(m);
      return m;
    },
    write: (message) => transport.write(message),
    close: () => transport.close(),
    abort: (err) => transport.abort(err),
  };
}

/** For fail points: the record with the new commit (`previous` set) or the final one. */
/** Which record a persist writes, for the fail points (contract.ts's record lifecycle). */
function persistKind(effect: RolloverEffect): string | undefined {
  if (effect.type !== 'persist') return undefined;
  const r = effect.record;
  if (r.previous) return 'pending';
  if (r.unfinished?.length) return 'unfinished';
  if (r.counterpartyOnly?.length) return 'counterpartyOnly';
  return 'final';
}

function freshSecrets() {
  return {
    publish: secp256k1.utils.randomSecretKey(),
    revocation: secp256k1.utils.randomSecretKey(),
  };
}
