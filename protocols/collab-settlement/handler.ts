/**
 * The libp2p side of `/dlcfd/collab-settlement/1.0.0`: moves messages between a stream and the
 * state machines of settlement.ts, executes their CFD commands through the {@link CfdRepository}
 * and broadcasts the signed close transaction (node/chain/broadcast.ts). Everything here is IO;
 * every decision is the machines'.
 *
 * Every read and write is bounded by a named timeout. A malformed, oversized, out-of-order or late
 * message resets that stream and fails that run (`CollaborativeSettlementFailed` on the CFD once a
 * proposal was recorded); the handler keeps serving other streams. A refusal (price off the
 * maker's quote, no quote, CFD not settleable now, maker's decision) travels in a `reject`
 * message, never as a reset.
 */
import type { Connection, PeerId, Stream } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import { type Logger, pino } from 'pino';
import type { CfdRepository } from '../../eventstore/cfd-repository.ts';
import type { CfdCommand, SignedTx } from '../../model/cfd.ts';
import { IllegalCommandError } from '../../model/errors.ts';
import type { Price } from '../../model/units.ts';
import { broadcast } from '../../node/chain/broadcast.ts';
import type { BitcoinRpc } from '../../node/chain/rpc.ts';
import type { P2pNode } from '../../node/p2p/node.ts';
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
  type IncomingProposal,
  MakerSettlement,
  type SettlementOutcome,
  type Step,
  TakerSettlement,
} from './settlement.ts';

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
  /** The latest quote fit to trade on (fresh), or `undefined`. */
  readonly quote: () => BidAsk | undefined;
  /** Chain RPC to broadcast the close with; without it, broadcasting is left to the caller. */
  readonly rpc?: BitcoinRpc;
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

/** The maker's answer to a proposal that passed every check. */
export type PolicyDecision = 'accept' | 'manual' | { readonly reject: string };

/** Decides proposals automatically (`accept`, `{ reject }`) or leaves them to a person (`manual`). */
export type SettlementPolicy = (p: IncomingProposal) => PolicyDecision | Promise<PolicyDecision>;

export interface CollabSettlementMakerInit extends CollabSettlementInit {
  /** @default () => 'manual' */
  readonly policy?: SettlementPolicy;
  /** @default PRICE_TOLERANCE_BPS */
  readonly toleranceBps?: bigint;
}

/** Shared IO of both sides: executing commands, writing, broadcasting, reporting. */
abstract class SettlementHandler {
  protected readonly node: P2pNode;
  protected readonly init: CollabSettlementInit;
  protected readonly log: Logger;
  protected readonly timeouts: CollabSettlementTimeouts;
  readonly #listeners = new Set<(r: SettlementReport) => void>();

  protected constructor(node: P2pNode, init: CollabSettlementInit, side: string) {
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

  protected report(r: SettlementReport): void {
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
   * Runs a machine from `step` on until the run has an outcome. Each step: its commands, then its
   * message, then its broadcast (attempted even when the write failed: the close is signed and
   * recorded, so it must reach the chain either way); then the next message is read with the
   * timeout `readTimeout` gives for the machine's state. A command or write that fails fails the
   * machine. Ends the stream: closed after success or rejection, reset after a failure.
   */
  protected async drive(
    cfdId: string,
    machine: { receive(m: CollabMessage): Step; fail(e: Error): Step },
    framed: Framed,
    first: Step,
    readTimeout: () => number,
  ): Promise<SettlementOutcome> {
    let step = first;
    for (;;) {
      try {
        await this.execute(cfdId, step.commands);
      } catch (err) {
        // Not recorded (e.g. the CFD was force-closed meanwhile): nothing is sent or broadcast.
        const failed = await this.failWith(cfdId, machine, err as Error);
        return this.finish(framed, { status: 'failed', error: failed });
      }
      let writeError: Error | undefined;
      if (step.send) {
        try {
          await framed.write(messageToWire(step.send), {
            signal: this.signal(this.timeouts.writeMs),
          });
        } catch (err) {
          writeError = err as Error;
        }
      }
      if (step.broadcast) await this.broadcast(cfdId, step.broadcast);
      if (writeError) {
        await this.failWith(cfdId, machine, writeError);
        // A run the step had already ended (completed, rejected) keeps that outcome.
        return this.finish(framed, step.outcome ?? { status: 'failed', error: writeError });
      }
      if (step.outcome) return this.finish(framed, step.outcome);
      try {
        const message = await framed.read(CollabSettlementMessage, {
          signal: this.signal(readTimeout()),
        });
        step = machine.receive(message);
      } catch (err) {
        step = machine.fail(err as Error);
      }
    }
  }

  /** Fails the machine with `err` and records that (best effort); returns `err`. */
  protected async failWith(
    cfdId: string,
    machine: { fail(e: Error): Step },
    err: Error,
  ): Promise<Error> {
    try {
      await this.execute(cfdId, machine.fail(err).commands);
    } catch (again) {
      this.log.error({ cfdId, err: again, cause: err }, 'could not record the settlement failure');
    }
    return err;
  }

  protected async finish(framed: Framed, outcome: SettlementOutcome): Promise<SettlementOutcome> {
    if (outcome.status === 'failed') {
      framed.abort(outcome.error);
      return outcome;
    }
    try {
      await framed.close({ signal: this.signal(this.timeouts.writeMs) });
    } catch (err) {
      this.log.debug({ err }, 'closing the settlement stream failed');
      framed.abort(err as Error);
    }
    return outcome;
  }

  /** Both sides broadcast; a failure is logged (the chain watcher rebroadcasts pending closes). */
  protected async broadcast(cfdId: string, tx: SignedTx): Promise<void> {
    const rpc = this.init.rpc;
    if (!rpc) return;
    try {
      const { status } = await broadcast(rpc, tx.hex);
      this.log.info({ cfdId, txid: tx.txid, status }, 'close transaction broadcast');
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
 * const settlement = new CollabSettlementTaker(node, { repository, context, quote, rpc, logger });
 * const outcome = await settlement.settle(cfdId); // completed | rejected | failed
 * ```
 */
export class CollabSettlementTaker extends SettlementHandler {
  constructor(node: P2pNode, init: CollabSettlementInit) {
    super(node, init, 'taker');
  }

  /**
   * Proposes to settle `cfdId` with its maker at `options.price`, by default the closing price of
   * the current quote, and resolves with the outcome once both signatures are exchanged (and the
   * close broadcast), the maker rejected, or the run failed.
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
      const quote = this.init.quote();
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
    const outcome = await this.#run(cfdId, peer, machine, start);
    this.report({ cfdId, peer: peer.toString(), outcome });
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

  async #run(
    cfdId: string,
    peer: PeerId,
    machine: TakerSettlement,
    start: Step,
  ): Promise<SettlementOutcome> {
    let stream: Stream;
    try {
      stream = await this.node.dialProtocol(peer, COLLAB_SETTLEMENT_PROTOCOL, {
        signal: this.signal(this.timeouts.writeMs),
        maxOutboundStreams: MAX_OUTBOUND_STREAMS,
      });
    } catch (err) {
      return { status: 'failed', error: await this.failWith(cfdId, machine, err as Error) };
    }
    const framed = new Framed(stream, { maxMessageBytes: MAX_MESSAGE_BYTES });
    const readTimeout = () =>
      machine.state === 'awaitingDecision' ? this.timeouts.decisionMs : this.timeouts.signatureMs;
    // The commands of the first step are already recorded; only its message is left to send.
    return this.drive(cfdId, machine, framed, { ...start, commands: [] }, readTimeout);
  }
}

interface PendingDecision {
  readonly proposal: IncomingProposal;
  readonly peer: string;
  readonly decide: (d: Exclude<PolicyDecision, 'manual'>) => void;
}

/**
 * The maker's side: serves proposals from takers. A proposal that passes the checks of
 * {@link MakerSettlement} goes to the policy; `manual` ones wait (at most `makerDecisionMs`) for
 * {@link accept} or {@link reject}, and are listed by {@link pending}.
 *
 * @example
 * ```ts
 * const settlement = new CollabSettlementMaker(node, {
 *   repository, context, quote, rpc, logger, policy: () => 'accept',
 * });
 * await settlement.start();
 * ```
 */
export class CollabSettlementMaker extends SettlementHandler {
  readonly #policy: SettlementPolicy;
  readonly #toleranceBps: bigint | undefined;
  readonly #pending = new Map<string, PendingDecision>();

  constructor(node: P2pNode, init: CollabSettlementMakerInit) {
    super(node, init, 'maker');
    this.#policy = init.policy ?? (() => 'manual');
    this.#toleranceBps = init.toleranceBps;
  }

  async start(): Promise<void> {
    await this.node.handle(
      COLLAB_SETTLEMENT_PROTOCOL,
      (stream, connection) => this.#serve(stream, connection),
      { maxInboundStreams: MAX_INBOUND_STREAMS, maxOutboundStreams: MAX_OUTBOUND_STREAMS },
    );
  }

  /** Stops serving; proposals still waiting for a decision are rejected. */
  async stop(): Promise<void> {
    await this.node.unhandle(COLLAB_SETTLEMENT_PROTOCOL);
    for (const p of [...this.#pending.values()]) p.decide({ reject: 'the maker is shutting down' });
  }

  /** Proposals waiting for a manual decision. */
  pending(): IncomingProposal[] {
    return [...this.#pending.values()].map((p) => p.proposal);
  }

  /** Accepts the proposal waiting for `cfdId`. @throws SettlementNotPossibleError if none. */
  accept(cfdId: string): void {
    this.#decision(cfdId).decide('accept');
  }

  /** Rejects the proposal waiting for `cfdId`. @throws SettlementNotPossibleError if none. */
  reject(cfdId: string, reason: string): void {
    this.#decision(cfdId).decide({ reject: reason });
  }

  #decision(cfdId: string): PendingDecision {
    const p = this.#pending.get(cfdId);
    if (!p) throw new SettlementNotPossibleError(`no settlement proposal waits for CFD ${cfdId}`);
    return p;
  }

  async #serve(stream: Stream, connection: Connection): Promise<void> {
    const peer = connection.remotePeer.toString();
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
        quote: this.init.quote(),
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
      const rest = { ...step, commands: step.commands.slice(1) };
      const outcome = await this.#run(cfdId, peer, machine, framed, rest, stream);
      this.report({ cfdId, peer, outcome });
    } catch (err) {
      this.log.error({ cfdId, peer, err }, 'settlement handler failed');
      framed.abort(err as Error);
    }
  }

  async #run(
    cfdId: string,
    peer: string,
    machine: MakerSettlement,
    framed: Framed,
    step: Step,
    stream: Stream,
  ): Promise<SettlementOutcome> {
    if (machine.state !== 'awaitingDecision') {
      return this.drive(cfdId, machine, framed, step, () => this.timeouts.signatureMs);
    }
    let decision: Exclude<PolicyDecision, 'manual'> | Error;
    try {
      decision = await this.#decide(machine.proposal!, peer, stream);
    } catch (err) {
      decision = err as Error;
    }
    let next: Step;
    if (decision instanceof Error) next = machine.fail(decision);
    else if (decision === 'accept') next = machine.accept();
    else next = machine.reject(decision.reject);
    return this.drive(cfdId, machine, framed, next, () => this.timeouts.signatureMs);
  }

  /**
   * The policy's decision, or a person's through {@link accept}/{@link reject} within
   * `makerDecisionMs` (then rejected). A taker that resets the stream meanwhile fails the run.
   */
  async #decide(
    proposal: IncomingProposal,
    peer: string,
    stream: Stream,
  ): Promise<Exclude<PolicyDecision, 'manual'> | Error> {
    const auto = await this.#policy(proposal);
    if (auto !== 'manual') return auto;
    const { promise, resolve } = Promise.withResolvers<Exclude<PolicyDecision, 'manual'> | Error>();
    const timer = setTimeout(
      () => resolve({ reject: 'the maker did not decide in time' }),
      this.timeouts.makerDecisionMs,
    );
    const onClose = () => resolve(new StreamClosedError('the taker left before the decision'));
    stream.addEventListener('close', onClose, { once: true });
    this.#pending.set(proposal.cfdId, { proposal, peer, decide: resolve });
    try {
      return await promise;
    } finally {
      clearTimeout(timer);
      stream.removeEventListener('close', onClose);
      this.#pending.delete(proposal.cfdId);
    }
  }

  async #refuse(framed: Framed, reason: string): Promise<void> {
    await framed.write(messageToWire({ type: 'reject', reason }), {
      signal: this.signal(this.timeouts.writeMs),
    });
    await framed.close({ signal: this.signal(this.timeouts.writeMs) });
  }
}
