/**
 * The libp2p side of `/dlcfd/collab-settlement/1.0.0`: opens (taker) or serves (maker) one stream
 * per settlement and runs the side's state machine (settlement.ts) over it on the shared driver
 * (run.ts, ../driver.ts); the machine's CFD commands go through the {@link CfdRepository}.
 * Everything here is IO; every decision is the machines'.
 *
 * Every read and write is bounded by a named timeout. A malformed, oversized, out-of-order or late
 * message resets that stream and fails that run (`CollaborativeSettlementFailed` on the CFD once a
 * proposal was recorded); the handler keeps serving other streams. A refusal (price off the
 * maker's quote, no quote, CFD not settleable now, maker's decision) travels in a `reject`
 * message, never as a reset.
 *
 * The close is published by whoever follows the CFD on chain: in the daemon, its process manager
 * publishes the recorded close and rebroadcasts it until it confirms (node/daemon/
 * process-manager.ts). A node without one (a tool, a test) hands this handler a publisher.
 */
import type { Libp2p, PeerId, Stream } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import { type Logger, pino } from 'pino';
import type { CfdRepository } from '../../eventstore/cfd-repository.ts';
import type { CfdCommand } from '../../model/cfd.ts';
import { IllegalCommandError } from '../../model/errors.ts';
import type { ContractSymbol, Price } from '../../model/units.ts';
import { reasonOf } from '../driver.ts';
import { unreachable } from '../handler.ts';
import { PendingDecisions } from '../pending-decisions.ts';
import { Framed, StreamClosedError } from '../wire.ts';
import { type BidAsk, type CloseContext, closingPrice } from './close.ts';
import {
  COLLAB_SETTLEMENT_PROTOCOL,
  DECISION_TIMEOUT_MS,
  MAKER_DECISION_TIMEOUT_MS,
  MAX_INBOUND_STREAMS,
  MAX_MESSAGE_BYTES,
  MAX_OUTBOUND_STREAMS,
  PROPOSAL_TIMEOUT_MS,
  SIGNATURE_TIMEOUT_MS,
  SIGNED_CLOSE_WINDOW_MS,
  WRITE_TIMEOUT_MS,
} from './constants.ts';
import { SettlementNotPossibleError, UnexpectedMessageError } from './errors.ts';
import { type CollabMessage, CollabSettlementMessage, messageToWire } from './messages.ts';
import {
  runSettlement,
  type SettlementDecision,
  type SettlementExecutor,
  type SettlementRequest,
  type SettlementResult,
  SettlementRun,
  type SettlementTransport,
} from './run.ts';
import {
  type IncomingProposal,
  MakerSettlement,
  type SettlementOutcome,
  TakerSettlement,
} from './settlement.ts';

/** The libp2p host the protocol needs: the maker serves it, the taker dials it. */
export type SettlementHost = Pick<Libp2p, 'handle' | 'unhandle' | 'dialProtocol'>;

/** Publishes a fully signed transaction at once (Bitcoin Core's `sendrawtransaction`). */
export interface TransactionPublisher {
  sendRawTransaction(hex: string): Promise<unknown>;
}

/** Every timeout of the protocol, in milliseconds (defaults in constants.ts). */
export interface CollabSettlementTimeouts {
  /** Maker: reading the proposal after the stream opened. @default PROPOSAL_TIMEOUT_MS */
  readonly proposalMs: number;
  /** Taker: reading the maker's decision. @default DECISION_TIMEOUT_MS */
  readonly decisionMs: number;
  /** Maker: a manual decision before it rejects. @default MAKER_DECISION_TIMEOUT_MS */
  readonly makerDecisionMs: number;
  /** Either side: reading the counterparty's signature. @default SIGNATURE_TIMEOUT_MS */
  readonly signatureMs: number;
  /** Every write, stream open and close. @default WRITE_TIMEOUT_MS */
  readonly writeMs: number;
}

const DEFAULT_TIMEOUTS: CollabSettlementTimeouts = {
  proposalMs: PROPOSAL_TIMEOUT_MS,
  decisionMs: DECISION_TIMEOUT_MS,
  makerDecisionMs: MAKER_DECISION_TIMEOUT_MS,
  signatureMs: SIGNATURE_TIMEOUT_MS,
  writeMs: WRITE_TIMEOUT_MS,
};

/** What both sides are built with. */
export interface CollabSettlementInit {
  /** Where the CFD commands go (and where the CFD's terms and counterparty are read). */
  readonly repository: CfdRepository;
  /**
   * The contract facts of a CFD for settling it (from the signed-contract record and the CFD's
   * fee balance); `undefined` when this node holds no signed contract for it.
   */
  readonly context: (cfdId: string) => CloseContext | undefined | Promise<CloseContext | undefined>;
  /** The latest quote of a product's feed contract fit to trade on (fresh), or `undefined`. */
  readonly quote: (symbol: ContractSymbol) => BidAsk | undefined;
  /**
   * Where a completed run's close is published at once, for a node that does not follow its CFDs
   * on chain. The daemon gives none: its process manager publishes the recorded close and
   * rebroadcasts it until it confirms, the one place a close is broadcast there.
   */
  readonly rpc?: TransactionPublisher;
  readonly logger?: Logger;
  readonly timeouts?: Partial<CollabSettlementTimeouts>;
  /**
   * Taker: how long the close may stay off chain once our signature leaves before our node
   * commits (recorded on the CFD as its `signedClose.until`); at least the signature timeout plus
   * a write. @default SIGNED_CLOSE_WINDOW_MS
   */
  readonly signedCloseWindowMs?: number;
  /** Milliseconds since the epoch. @default Date.now */
  readonly clock?: () => number;
}

/** How a run ended, for listeners (UI, metrics, tests). */
export interface SettlementReport {
  readonly cfdId: string;
  readonly peer: string;
  readonly outcome: SettlementOutcome;
}

/** The maker's answer to a proposal that passed every check: `manual` leaves it to a person. */
export type PolicyDecision = SettlementDecision | 'manual';

/** Decides proposals automatically (`accept`, `{ reject }`) or leaves them to a person (`manual`). */
export type SettlementPolicy = (p: IncomingProposal) => PolicyDecision | Promise<PolicyDecision>;

export interface CollabSettlementMakerInit extends CollabSettlementInit {
  /** @default () => 'manual' */
  readonly policy?: SettlementPolicy;
  /** @default PRICE_TOLERANCE_BPS */
  readonly toleranceBps?: bigint;
}

/** Shared IO of both sides: recording commands, the stream as a transport, publishing, reporting. */
abstract class SettlementHandler {
  protected readonly node: SettlementHost;
  protected readonly init: CollabSettlementInit;
  protected readonly log: Logger;
  protected readonly timeouts: CollabSettlementTimeouts;
  readonly #listeners = new Set<(r: SettlementReport) => void>();

  protected constructor(node: SettlementHost, init: CollabSettlementInit, side: string) {
    this.node = node;
    this.init = init;
    this.timeouts = { ...DEFAULT_TIMEOUTS, ...init.timeouts };
    this.log = (init.logger ?? pino({ level: 'silent' })).child({
      protocol: COLLAB_SETTLEMENT_PROTOCOL,
      side,
    });
  }

  /** Called with the outcome of every run that involved a CFD. Returns an unsubscribe. */
  onOutcome(listener: (r: SettlementReport) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Publishes a completed run's close (if this node was given a publisher), then reports. */
  protected async finished(r: SettlementReport): Promise<void> {
    if (r.outcome.status === 'completed') await this.#publish(r.cfdId, r.outcome.closeTx);
    const { status } = r.outcome;
    const detail =
      r.outcome.status === 'failed'
        ? { err: r.outcome.error }
        : r.outcome.status === 'rejected'
          ? { reason: r.outcome.reason }
          : { txid: r.outcome.closeTx.txid };
    this.log[status === 'failed' ? 'warn' : 'info'](
      { cfdId: r.cfdId, peer: r.peer, ...detail },
      `collaborative settlement ${status}`,
    );
    for (const l of this.#listeners) l(r);
  }

  protected async execute(cfdId: string, commands: readonly CfdCommand[]): Promise<void> {
    for (const command of commands) await this.init.repository.execute(cfdId, command);
  }

  protected signal(ms: number): AbortSignal {
    return AbortSignal.timeout(ms);
  }

  /**
   * The stream as the run's transport: each read bounded by what it waits for, each write by
   * `writeMs`. Closed after success or rejection (reset if closing fails), reset after a failure.
   */
  protected transport(framed: Framed): SettlementTransport {
    const readMs = { decision: this.timeouts.decisionMs, signature: this.timeouts.signatureMs };
    return {
      read: (wait) => framed.read(CollabSettlementMessage, { signal: this.signal(readMs[wait]) }),
      write: (m) => framed.write(messageToWire(m), { signal: this.signal(this.timeouts.writeMs) }),
      close: async () => {
        try {
          await framed.close({ signal: this.signal(this.timeouts.writeMs) });
        } catch (err) {
          this.log.debug({ err }, 'closing the settlement stream failed');
          framed.abort(err as Error);
        }
      },
      abort: (err) => framed.abort(err),
    };
  }

  /** Records the run's commands on `cfdId`; the maker also answers its decision request. */
  protected executor(
    cfdId: string,
    decide: (r: SettlementRequest) => Promise<SettlementResult> = () =>
      Promise.reject(new Error('internal: only the maker asks for a decision')),
  ): SettlementExecutor {
    return {
      effect: (e) => this.execute(cfdId, [e.command]),
      request: decide,
    };
  }

  async #publish(cfdId: string, tx: { txid: string; hex: string }): Promise<void> {
    const rpc = this.init.rpc;
    if (!rpc) return;
    try {
      await rpc.sendRawTransaction(tx.hex);
      this.log.info({ cfdId, txid: tx.txid }, 'close transaction broadcast');
    } catch (err) {
      this.log.warn({ cfdId, txid: tx.txid, err }, 'close transaction broadcast failed');
    }
  }
}

/**
 * The taker's side: {@link settle} proposes to close a CFD at the current quote and runs the
 * protocol to its end.
 *
 * @example
 * ```ts
 * const settlement = new CollabSettlementTaker(node, { repository, context, quote, logger });
 * const outcome = await settlement.settle(cfdId); // completed | rejected | failed
 * ```
 */
export class CollabSettlementTaker extends SettlementHandler {
  constructor(node: SettlementHost, init: CollabSettlementInit) {
    super(node, init, 'taker');
  }

  /**
   * Proposes to settle `cfdId` with its maker at `options.price`, by default the closing price of
   * the current quote, and resolves with the outcome once both signatures are exchanged (and the
   * close recorded), the maker rejected, or the run failed.
   *
   * @throws SettlementNotPossibleError (and nothing is recorded) when the CFD is not ours as taker,
   *   has no signed contract, there is no quote, or no close can be built at that price;
   *   IllegalCommandError when the CFD cannot be settled now (not open, rollover under way…).
   */
  async settle(cfdId: string, options: { price?: Price } = {}): Promise<SettlementOutcome> {
    const cfd = await this.init.repository.load(cfdId);
    if (cfd.terms?.role !== 'taker') {
      throw new SettlementNotPossibleError(`no CFD ${cfdId} in which this node is the taker`);
    }
    const ctx = await this.init.context(cfdId);
    if (!ctx) throw new SettlementNotPossibleError(`no signed contract for CFD ${cfdId}`);
    let price = options.price;
    if (price === undefined) {
      const quote = this.init.quote(cfd.terms.symbol);
      if (!quote) throw new SettlementNotPossibleError('no current quote to settle at');
      price = closingPrice(quote, ctx.makerPosition);
    }
    const peer = peerIdFromString(cfd.terms.counterpartyPeerId);
    const machine = new TakerSettlement(ctx, price, {
      signedCloseUntil: () => this.#signedCloseUntil(),
    });
    const start = machine.start();
    // Recorded before anything goes out: the proposal is on the CFD's record however this ends.
    await this.execute(cfdId, start.commands);
    const run = new SettlementRun(cfdId, machine);
    const outcome = await runSettlement(
      run,
      // The commands of the first step are recorded; only its message is left to send.
      run.step({ ...start, commands: [] }),
      await this.#dial(peer),
      this.executor(cfdId),
      this.log,
    );
    await this.finished({ cfdId, peer: peer.toString(), outcome });
    return outcome;
  }

  /** Unix seconds: now plus the window, never shorter than the rest of the run can take. */
  #signedCloseUntil(): number {
    const window = Math.max(
      this.init.signedCloseWindowMs ?? SIGNED_CLOSE_WINDOW_MS,
      this.timeouts.signatureMs + this.timeouts.writeMs,
    );
    return Math.ceil(((this.init.clock ?? Date.now)() + window) / 1000);
  }

  /** A stream to the maker; when the dial fails, a transport that fails the run with why. */
  async #dial(peer: PeerId): Promise<SettlementTransport> {
    try {
      const stream = await this.node.dialProtocol(peer, COLLAB_SETTLEMENT_PROTOCOL, {
        signal: this.signal(this.timeouts.writeMs),
        maxOutboundStreams: MAX_OUTBOUND_STREAMS,
      });
      return this.transport(new Framed(stream, { maxMessageBytes: MAX_MESSAGE_BYTES }));
    } catch (err) {
      return unreachable(err as Error);
    }
  }
}

/**
 * The maker's side: serves proposals from takers. A proposal that passes the checks of
 * {@link MakerSettlement} goes to the policy; `manual` ones wait (at most `makerDecisionMs`) for
 * {@link accept} or {@link reject}, and are listed by {@link pending}.
 *
 * @example
 * ```ts
 * const settlement = new CollabSettlementMaker(node, {
 *   repository, context, quote, logger, policy: () => 'accept',
 * });
 * await settlement.start();
 * ```
 */
export class CollabSettlementMaker extends SettlementHandler {
  readonly #policy: SettlementPolicy;
  readonly #toleranceBps: bigint | undefined;
  /** Proposals waiting for a person; a taker that leaves answers with why. */
  readonly #pending = new PendingDecisions<IncomingProposal, SettlementDecision | Error>();

  constructor(node: SettlementHost, init: CollabSettlementMakerInit) {
    super(node, init, 'maker');
    this.#policy = init.policy ?? (() => 'manual');
    this.#toleranceBps = init.toleranceBps;
  }

  async start(): Promise<void> {
    await this.node.handle(
      COLLAB_SETTLEMENT_PROTOCOL,
      (stream, connection) => this.#serve(stream, connection.remotePeer.toString()),
      { maxInboundStreams: MAX_INBOUND_STREAMS, maxOutboundStreams: MAX_OUTBOUND_STREAMS },
    );
  }

  /** Stops serving; proposals still waiting for a decision are rejected. */
  async stop(): Promise<void> {
    await this.node.unhandle(COLLAB_SETTLEMENT_PROTOCOL);
    this.#pending.decideAll({ reject: 'the maker is shutting down' });
  }

  /** Proposals waiting for a manual decision. */
  pending(): IncomingProposal[] {
    return this.#pending.subjects();
  }

  /** Accepts the proposal waiting for `cfdId`. @throws SettlementNotPossibleError if none. */
  accept(cfdId: string): void {
    this.#decide(cfdId, 'accept');
  }

  /** Rejects the proposal waiting for `cfdId`. @throws SettlementNotPossibleError if none. */
  reject(cfdId: string, reason: string): void {
    this.#decide(cfdId, { reject: reason });
  }

  #decide(cfdId: string, decision: SettlementDecision): void {
    if (!this.#pending.decide(cfdId, decision)) {
      throw new SettlementNotPossibleError(`no settlement proposal waits for CFD ${cfdId}`);
    }
  }

  async #serve(stream: Stream, peer: string): Promise<void> {
    const framed = new Framed(stream, { maxMessageBytes: MAX_MESSAGE_BYTES });
    let first: CollabMessage;
    try {
      first = await framed.read(CollabSettlementMessage, {
        signal: this.signal(this.timeouts.proposalMs),
      });
      if (first.type !== 'propose') {
        throw new UnexpectedMessageError(`expected a proposal, got '${first.type}'`);
      }
    } catch (err) {
      // No CFD is involved yet: nothing to record, the stream is reset.
      this.log.warn({ peer, err }, 'bad settlement stream');
      framed.abort(err as Error);
      return;
    }
    const { cfdId } = first;
    try {
      const cfd = await this.init.repository.load(cfdId);
      const ctx =
        cfd.terms?.role === 'maker' && cfd.terms.counterpartyPeerId === peer
          ? await this.init.context(cfdId)
          : undefined;
      if (!ctx) {
        // Not a CFD of ours with this peer: refuse without touching any CFD.
        await this.#refuse(framed, 'no such contract with this peer');
        return;
      }
      const machine = new MakerSettlement(ctx, {
        quote: this.init.quote(cfd.terms!.symbol),
        ...(this.#toleranceBps !== undefined && { toleranceBps: this.#toleranceBps }),
      });
      const step = machine.receive(first);
      try {
        await this.execute(cfdId, step.commands.slice(0, 1));
      } catch (err) {
        // The CFD cannot be settled now (not open, a rollover or settlement under way): refuse.
        if (!(err instanceof IllegalCommandError)) throw err;
        await this.#refuse(framed, err.message);
        return;
      }
      const run = new SettlementRun(cfdId, machine);
      const outcome = await runSettlement(
        run,
        run.step({ ...step, commands: step.commands.slice(1) }),
        this.transport(framed),
        this.executor(cfdId, (r) => this.#decision(r.proposal, stream)),
        this.log,
      );
      await this.finished({ cfdId, peer, outcome });
    } catch (err) {
      this.log.error({ cfdId, peer, err }, 'settlement handler failed');
      framed.abort(err as Error);
    }
  }

  /**
   * The policy's decision, or a person's through {@link accept}/{@link reject} within
   * `makerDecisionMs` (then rejected). A taker that resets the stream meanwhile fails the run.
   */
  async #decision(proposal: IncomingProposal, stream: Stream): Promise<SettlementResult> {
    let decision: SettlementDecision | Error;
    try {
      const auto = await this.#policy(proposal);
      if (auto !== 'manual') return { type: 'decided', decision: auto };
      const onClose = () =>
        this.#pending.decide(
          proposal.cfdId,
          new StreamClosedError('the taker left before the decision'),
        );
      stream.addEventListener('close', onClose, { once: true });
      try {
        decision = await this.#pending.wait(
          proposal.cfdId,
          proposal,
          this.timeouts.makerDecisionMs,
          { reject: 'the maker did not decide in time' },
        );
      } finally {
        stream.removeEventListener('close', onClose);
      }
    } catch (err) {
      decision = err as Error;
    }
    return decision instanceof Error
      ? { type: 'requestFailed', reason: reasonOf(decision), error: decision }
      : { type: 'decided', decision };
  }

  async #refuse(framed: Framed, reason: string): Promise<void> {
    await framed.write(messageToWire({ type: 'reject', reason }), {
      signal: this.signal(this.timeouts.writeMs),
    });
    await framed.close({ signal: this.signal(this.timeouts.writeMs) });
  }
}
