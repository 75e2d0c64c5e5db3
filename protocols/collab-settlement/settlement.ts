/**
 * The IO-free state machines of `/dlcfd/collab-settlement/1.0.0`, one per side. Each takes what
 * arrived (a parsed message, a decision, a failure) and returns a {@link Step}: the CFD commands
 * to execute (in order, before anything is sent), the message to send, a signed close transaction
 * to broadcast, and the outcome once the run has ended. No sockets, clocks or storage here: the
 * stream handler (handler.ts) does the IO, and the tests drive two machines against each other.
 *
 * ```
 * taker                                   maker
 * start()        ── propose ──────────▶   receive(propose)   price within tolerance? payouts and
 *                                                            txid the same as it builds itself?
 *                                         accept() | reject(reason)  (policy or a person)
 * receive(accept) ◀── accept | reject ──
 *                 ── signature (T) ───▶   receive(signature) verify T, finalise
 * receive(sig M)  ◀── signature (M) ───                      completeSettlement, broadcast
 * verify M, finalise, completeSettlement, broadcast
 * ```
 *
 * Every run ends in exactly one outcome. Once a side has recorded `proposeSettlement`, a failure
 * (timeout, malformed or out-of-order message, bad signature, mismatched transaction) records
 * `failSettlement` and a refusal records `rejectSettlement`, so the CFD is open again.
 *
 * No free option for whoever holds the other's signature. The taker signs first: the maker can
 * finalise the close the moment the taker's signature arrives, and withhold its own. The close
 * spends the lock, which rollovers reuse, so unbounded it would stay valid for the CFD's life and
 * the maker could broadcast it whenever the old price suits it. So the taker records
 * `acceptSettlement` with `signedClose: { txid, until }` before its signature leaves; unless that
 * close is on chain (mempool or block) by `until`, its node publishes the commit, which spends the
 * lock so the close can never confirm (node/daemon/process-manager.ts), and no rollover or other
 * settlement starts meanwhile (model/cfd.ts `outstandingSignedClose`). Why this rather than the
 * taker adding an input of its own to the close and double-spending it at the deadline: that keeps
 * the CFD open, but needs a spare confirmed coin (a taker funded by one coin has all of it in the
 * lock), a wire change so both sides build the same two-input close, and the maker checking that
 * coin against the chain — an unconfirmed or missing one would hand the same free option to the
 * taker. A failed close after signing is rare (it takes a maker that misbehaves or vanishes at that
 * exact step), so a force close is an acceptable price for it; the maker loses nothing by it.
 *
 * The maker, signing second, faces nothing like it: it records `completeSettlement` (the whole
 * close) before its signature leaves, and its process manager publishes the recorded close at
 * once and rebroadcasts it on every block until it confirms. The close spends only the confirmed lock, so it is valid at once; the
 * taker cannot hold it back, and can only race it with a commit (the contract's own outcome).
 */
import { SignatureVerificationError } from '../../dlc/errors.ts';
import { finalizeCooperative, signCooperative } from '../../dlc/sign.ts';
import type { Payout } from '../../dlc/transactions.ts';
import type { CfdCommand, SignedClose, SignedTx } from '../../model/cfd.ts';
import { formatPrice, type Price } from '../../model/units.ts';
import {
  type BidAsk,
  type CloseContext,
  closingPrice,
  DEFAULT_MAX_CLOSE_FEE_RATE,
  type SettlementTerms,
  settlementTerms,
  withinTolerance,
} from './close.ts';
import { PRICE_TOLERANCE_BPS } from './constants.ts';
import {
  CloseFeeRateOutOfBoundsError,
  InvalidCloseSignatureError,
  PayoutMismatchError,
  PriceOutOfToleranceError,
  SettlementNotPossibleError,
  TxidMismatchError,
  UnexpectedMessageError,
  UnknownContractError,
} from './errors.ts';
import type { CollabMessage } from './messages.ts';

/** How a run ended. */
export type SettlementOutcome =
  | {
      readonly status: 'completed';
      readonly closeTx: SignedTx;
      readonly price: Price;
      /** Payouts before the close fee (the curve row). */
      readonly payout: Payout;
    }
  | { readonly status: 'rejected'; readonly reason: string }
  | { readonly status: 'failed'; readonly error: Error };

/** What the IO layer must do after an input. */
export interface Step {
  /** CFD commands for this contract, in order, executed before {@link send}. */
  readonly commands: readonly CfdCommand[];
  /** The message to send to the counterparty. */
  readonly send?: CollabMessage;
  /** A fully signed close transaction to broadcast. */
  readonly broadcast?: SignedTx;
  /** Set on the step that ends the run. A failure resets the stream. */
  readonly outcome?: SettlementOutcome;
}

type Phase = 'new' | 'awaitingProposal' | 'awaitingDecision' | 'awaitingSignature' | 'done';

const signedTx = (tx: { getId(): string; toHex(): string }): SignedTx => ({
  txid: tx.getId(),
  hex: tx.toHex(),
});

/** Common bookkeeping of both sides: phase, outcome, and failing cleanly exactly once. */
abstract class SettlementMachine {
  protected readonly ctx: CloseContext;
  protected phase: Phase;
  /** Whether `proposeSettlement` was emitted: only then can the CFD record a failure. */
  protected started = false;
  #outcome: SettlementOutcome | undefined;

  protected constructor(ctx: CloseContext, role: CloseContext['role'], phase: Phase) {
    if (ctx.role !== role) {
      throw new SettlementNotPossibleError(`a ${ctx.role} context cannot run the ${role} side`);
    }
    this.ctx = ctx;
    this.phase = phase;
  }

  /** Where the run is: `done` once it has an outcome. */
  get state(): Phase {
    return this.phase;
  }

  get outcome(): SettlementOutcome | undefined {
    return this.#outcome;
  }

  /**
   * The run cannot go on: a timeout, a malformed or oversized message, the stream closed, a local
   * fault. Records `failSettlement` if this side had started the settlement. After the end it
   * changes nothing (a late failure cannot undo a completed or rejected run).
   */
  fail(error: Error): Step {
    if (this.phase === 'done') return { commands: [] };
    const commands: CfdCommand[] = this.started
      ? [{ type: 'failSettlement', reason: `${error.name}: ${error.message}` }]
      : [];
    return this.end({ status: 'failed', error }, commands);
  }

  protected end(
    outcome: SettlementOutcome,
    commands: CfdCommand[],
    extra: Partial<Step> = {},
  ): Step {
    this.phase = 'done';
    this.#outcome = outcome;
    return { ...extra, commands, outcome };
  }

  protected unexpected(message: CollabMessage): Step {
    return this.fail(
      new UnexpectedMessageError(`unexpected '${message.type}' message while ${this.phase}`),
    );
  }

  /** Verifies the counterparty's signature and returns the broadcastable close transaction. */
  protected finalise(terms: SettlementTerms, signature: Uint8Array): SignedTx {
    try {
      return signedTx(
        finalizeCooperative(terms.close, this.ctx.role, this.ctx.ownIdentitySecret, signature),
      );
    } catch (err) {
      if (err instanceof SignatureVerificationError) {
        throw new InvalidCloseSignatureError('the close transaction signature does not verify', {
          cause: err,
        });
      }
      throw err;
    }
  }

  /** The completing step: record the signed close, hand it to broadcast. */
  protected complete(terms: SettlementTerms, closeTx: SignedTx, send?: CollabMessage): Step {
    return this.end(
      { status: 'completed', closeTx, price: terms.price, payout: terms.payout },
      [{ type: 'completeSettlement', closeTx, price: terms.price }],
      { broadcast: closeTx, ...(send && { send }) },
    );
  }
}

/** Options of the taker's side. */
export interface TakerSettlementOptions {
  /**
   * Unix seconds by which the close must be on chain once our signature leaves, asked when the
   * maker accepts (the IO layer adds its window to its clock). Past it, our node commits.
   * @default () => 0 (at once: a caller that gives no bound gets the strictest)
   */
  readonly signedCloseUntil?: () => number;
}

/**
 * The taker's side: proposes a settlement at a price (normally {@link closingPrice} of its latest
 * quote), signs first once the maker accepts, and finalises with the maker's signature.
 *
 * @example
 * ```ts
 * const taker = new TakerSettlement(ctx, closingPrice(quote, ctx.makerPosition));
 * let step = taker.start();                 // execute step.commands, send step.send
 * step = taker.receive(messageFromMaker);   // … until step.outcome
 * ```
 */
export class TakerSettlement extends SettlementMachine {
  readonly #terms: SettlementTerms;
  readonly #options: TakerSettlementOptions;

  /**
   * Computes the payouts and the close transaction at `price`.
   *
   * @throws SettlementNotPossibleError when `ctx` is not a taker's or is inconsistent, and the
   *   errors of dlc/ when no close transaction can be built at this price (e.g. both outputs dust).
   */
  constructor(ctx: CloseContext, price: Price, options: TakerSettlementOptions = {}) {
    super(ctx, 'taker', 'new');
    this.#terms = settlementTerms(ctx, price);
    this.#options = options;
  }

  /** What this side proposes: price, payouts before fees, unsigned close transaction. */
  get terms(): SettlementTerms {
    return this.#terms;
  }

  /** Records the outgoing proposal and sends it. */
  start(): Step {
    if (this.phase !== 'new')
      throw new SettlementNotPossibleError('the settlement already started');
    const { price, payout, close } = this.#terms;
    this.phase = 'awaitingDecision';
    this.started = true;
    return {
      commands: [
        {
          type: 'proposeSettlement',
          proposal: {
            price,
            makerPayout: payout.maker,
            takerPayout: payout.taker,
            proposedBy: 'taker',
          },
        },
      ],
      send: {
        type: 'propose',
        cfdId: this.ctx.cfdId,
        price,
        makerPayout: payout.maker,
        takerPayout: payout.taker,
        feeRate: this.#terms.feeRate,
        txid: close.tx.getId(),
      },
    };
  }

  /** A message from the maker. */
  receive(message: CollabMessage): Step {
    if (this.phase === 'new') throw new SettlementNotPossibleError('start() the settlement first');
    if (this.phase === 'done') return { commands: [] };
    if (this.phase === 'awaitingDecision') {
      if (message.type === 'reject') {
        return this.end({ status: 'rejected', reason: message.reason }, [
          { type: 'rejectSettlement', reason: message.reason },
        ]);
      }
      if (message.type !== 'accept') return this.unexpected(message);
      const signature = signCooperative(this.#terms.close, 'taker', this.ctx.ownIdentitySecret);
      this.phase = 'awaitingSignature';
      // Recorded before the signature leaves: from now on the maker may hold the close.
      const signedClose: SignedClose = {
        txid: this.#terms.close.tx.getId(),
        until: this.#options.signedCloseUntil?.() ?? 0,
      };
      return {
        commands: [{ type: 'acceptSettlement', signedClose }],
        send: { type: 'signature', signature },
      };
    }
    if (message.type !== 'signature') return this.unexpected(message);
    try {
      return this.complete(this.#terms, this.finalise(this.#terms, message.signature));
    } catch (err) {
      return this.fail(err as Error);
    }
  }
}

/** Options of the maker's side. */
export interface MakerSettlementOptions {
  /**
   * The maker's own quote when the proposal arrived; its {@link closingPrice} is what the
   * proposed price is checked against. Without one the maker cannot judge and rejects.
   */
  readonly quote: BidAsk | undefined;
  /** @default PRICE_TOLERANCE_BPS */
  readonly toleranceBps?: bigint;
}

/** A proposal that passed every check and waits for the maker's decision. */
export interface IncomingProposal {
  readonly cfdId: string;
  readonly price: Price;
  /** The maker's own closing price it was checked against. */
  readonly ownPrice: Price;
  readonly payout: Payout;
  readonly txid: string;
}

/**
 * The maker's side: checks a proposal against its own quote and recomputes payouts and close
 * transaction itself; if they agree the proposal waits for {@link accept} or {@link reject} (a
 * policy or a person), then the maker verifies the taker's signature, signs and finalises.
 *
 * A proposal whose payouts or txid differ is a protocol failure (the taker computes something
 * else from the same terms); a price outside the tolerance, or no quote, is a rejection with a
 * reason the taker sees.
 */
export class MakerSettlement extends SettlementMachine {
  readonly #options: MakerSettlementOptions;
  #terms: SettlementTerms | undefined;
  #proposal: IncomingProposal | undefined;

  constructor(ctx: CloseContext, options: MakerSettlementOptions) {
    super(ctx, 'maker', 'awaitingProposal');
    this.#options = options;
  }

  /** The proposal awaiting a decision (after a successful {@link receive} of `propose`). */
  get proposal(): IncomingProposal | undefined {
    return this.#proposal;
  }

  /** A message from the taker. */
  receive(message: CollabMessage): Step {
    switch (this.phase) {
      case 'awaitingProposal':
        return message.type === 'propose' ? this.#onProposal(message) : this.unexpected(message);
      case 'awaitingSignature':
        return message.type === 'signature'
          ? this.#onSignature(message.signature)
          : this.unexpected(message);
      case 'done':
        return { commands: [] };
      default:
        return this.unexpected(message);
    }
  }

  /** Accepts the proposal awaiting a decision. */
  accept(): Step {
    if (this.phase !== 'awaitingDecision') {
      throw new SettlementNotPossibleError(`no proposal awaits a decision (${this.phase})`);
    }
    this.phase = 'awaitingSignature';
    return { commands: [{ type: 'acceptSettlement' }], send: { type: 'accept' } };
  }

  /** Rejects the proposal awaiting a decision, telling the taker why. */
  reject(reason: string): Step {
    if (this.phase !== 'awaitingDecision') {
      throw new SettlementNotPossibleError(`no proposal awaits a decision (${this.phase})`);
    }
    return this.#rejectWith(reason);
  }

  #rejectWith(reason: string): Step {
    return this.end({ status: 'rejected', reason }, [{ type: 'rejectSettlement', reason }], {
      send: { type: 'reject', reason },
    });
  }

  #onProposal(m: Extract<CollabMessage, { type: 'propose' }>): Step {
    if (m.cfdId !== this.ctx.cfdId) {
      return this.fail(
        new UnknownContractError(`proposal for CFD ${m.cfdId}, not ${this.ctx.cfdId}`),
      );
    }
    // Record what the taker proposed first, so every way this ends is on the CFD's record.
    this.started = true;
    const propose: CfdCommand = {
      type: 'proposeSettlement',
      proposal: {
        price: m.price,
        makerPayout: m.makerPayout,
        takerPayout: m.takerPayout,
        proposedBy: 'taker',
      },
    };
    const bounds = this.ctx.closeFeeRateBounds ?? { min: 1n, max: DEFAULT_MAX_CLOSE_FEE_RATE };
    if (m.feeRate < bounds.min || m.feeRate > bounds.max) {
      const why = new CloseFeeRateOutOfBoundsError(
        `close fee rate ${m.feeRate} sat/vB is outside the maker's ${bounds.min} … ${bounds.max} sat/vB`,
      );
      return this.#withFirst(propose, this.#rejectWith(why.message));
    }
    let terms: SettlementTerms;
    try {
      terms = settlementTerms({ ...this.ctx, closeFeeRate: m.feeRate }, m.price);
    } catch (err) {
      return this.#withFirst(propose, this.fail(err as Error));
    }
    if (terms.payout.maker !== m.makerPayout || terms.payout.taker !== m.takerPayout) {
      const error = new PayoutMismatchError(
        `at ${formatPrice(m.price)} the curve pays maker ${terms.payout.maker} / taker ` +
          `${terms.payout.taker}, the proposal says ${m.makerPayout} / ${m.takerPayout}`,
      );
      return this.#withFirst(propose, this.fail(error));
    }
    const txid = terms.close.tx.getId();
    if (txid !== m.txid) {
      const error = new TxidMismatchError(
        `close transaction is ${txid}, the proposal says ${m.txid}`,
      );
      return this.#withFirst(propose, this.fail(error));
    }
    const quote = this.#options.quote;
    if (quote === undefined) {
      return this.#withFirst(propose, this.#rejectWith('the maker has no current quote'));
    }
    const ownPrice = closingPrice(quote, this.ctx.makerPosition);
    const tolerance = this.#options.toleranceBps ?? PRICE_TOLERANCE_BPS;
    if (!withinTolerance(m.price, ownPrice, tolerance)) {
      const why = new PriceOutOfToleranceError(
        `price ${formatPrice(m.price)} is more than ${tolerance} bp from the maker's closing ` +
          `price ${formatPrice(ownPrice)}`,
      );
      return this.#withFirst(propose, this.#rejectWith(why.message));
    }
    this.#terms = terms;
    this.#proposal = { cfdId: m.cfdId, price: m.price, ownPrice, payout: terms.payout, txid };
    this.phase = 'awaitingDecision';
    return { commands: [propose] };
  }

  #onSignature(signature: Uint8Array): Step {
    const terms = this.#terms!;
    try {
      const closeTx = this.finalise(terms, signature);
      const own = signCooperative(terms.close, 'maker', this.ctx.ownIdentitySecret);
      return this.complete(terms, closeTx, { type: 'signature', signature: own });
    } catch (err) {
      return this.fail(err as Error);
    }
  }

  #withFirst(command: CfdCommand, step: Step): Step {
    return { ...step, commands: [command, ...step.commands] };
  }
}
