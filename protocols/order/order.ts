/**
 * The libp2p side of `/dlcfd/order/1.0.0`: opens (taker) or accepts (maker) one stream per order
 * and drives the role's state machine over it with the shared driver ({@link runMachine}). It only moves bytes and
 * wires the machine's effects and requests to the node's parts: the CFD log, the contract-record
 * store, the wallet, the oracle client and the adaptor worker pool.
 */
import { randomUUID } from 'node:crypto';
import type { PeerId, Stream } from '@libp2p/interface';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { hexToBytes } from '@noble/hashes/utils.js';
import type { Psbt } from 'bitcoinjs-lib';
import { type Logger, pino } from 'pino';
import { type AdaptorWorkerPool, CET_TIMELOCK, REFUND_TIMELOCK } from '../../dlc/index.ts';
import type { ContractStore } from '../../dlc/record.ts';
import type { CfdTerms } from '../../model/cfd.ts';
import type { TakerLimits } from '../../model/limits.ts';
import { DEFAULT_ORDER_POLICY, type Offer, type OrderPolicy } from '../../model/offer.ts';
import type { Contracts, Leverage, Sats } from '../../model/units.ts';
import {
  adaptorWork,
  dialTransport,
  framedTransport,
  handleInbound,
  type MachineRun,
  notifyListeners,
  runInstrumented,
} from '../handler.ts';
import { PendingDecisions } from '../pending-decisions.ts';
import type { Announcements, CfdLog, Clock, ProtocolHost, RunInstrument } from '../ports.ts';
import { systemClock } from '../ports.ts';
import { ProtocolTimeoutError } from '../wire.ts';
import { Admission, type AdmissionLimits, type AdmissionTicket, isRefusal } from './admission.ts';
import {
  ACK_TIMEOUT_MS,
  CHAIN_CHECK_TIMEOUT_MS,
  DECISION_TIMEOUT_MS,
  MAKER_DECISION_TIMEOUT_MS,
  MAX_INBOUND_STREAMS,
  MAX_MESSAGE_BYTES,
  MAX_OUTBOUND_STREAMS,
  ORDER_PROTOCOL,
  ORDER_TIMEOUT_MS,
  PARAMS_TIMEOUT_MS,
  SETUP_MESSAGE_TIMEOUT_MS,
  WRITE_TIMEOUT_MS,
} from './constants.ts';
import { UnknownPendingOrderError } from './errors.ts';
import { SetupMessageSchema, type SetupMessageType } from './messages.ts';
import {
  type ChainOutput,
  MakerSetup,
  type NamedOffer,
  type OrderSetupMachine,
  type ReservedFunding,
  type SetupEffect,
  type SetupExecutor,
  type SetupInit,
  type SetupOutcome,
  type SetupRequest,
  type SetupResult,
  type SetupTransport,
  TakerSetup,
  type Timelocks,
} from './setup.ts';

/** A maker's answer to an order. */
export type OrderDecision =
  | { readonly accept: true }
  | { readonly accept: false; readonly reason: string };

/**
 * The funding port: what the protocol needs of the wallet. `reserveFunding` may be async: a
 * maker's coin pool first splits coins when it holds too few for setups running at once. The
 * node's adapter is `orderWallet` (node/daemon/protocol-ports.ts).
 */
export interface OrderWallet {
  /** Reserves coins paying `amount` plus this party's fee at `feeRate` (sat/vB). */
  reserveFunding(
    amount: Sats,
    feeRate: bigint,
    options: { extraVbytes?: number },
  ): ReservedFunding | Promise<ReservedFunding>;
  /** Gives a reservation's coins back (a setup that ended without a lock). */
  release(reservationId: string): void;
  /** Signs our inputs of the lock. */
  signPsbt(psbt: Psbt): unknown;
  /** scriptPubKey hex of a fresh address of ours, for the CET and refund payouts. */
  payoutScript(): Promise<string>;
}

/** What the protocol needs of the oracle. */
export type OrderOracle = Announcements;

/**
 * What the protocol needs of the chain: the unspent output at an outpoint (Bitcoin Core's
 * `gettxout`; with `includeMempool` an output spent in the mempool is null, as in Core), to check
 * the counterparty's lock inputs before we sign the lock. A `BitcoinRpc` is one.
 */
export interface OrderChain {
  getTxOut(
    txid: string,
    vout: number,
    includeMempool: boolean,
    options: { signal: AbortSignal },
  ): Promise<ChainOutput | null>;
}

/** Read timeouts per awaited message, overridable for tests. */
export interface OrderTimeouts {
  readonly orderMs: number;
  readonly decisionMs: number;
  readonly setupMessageMs: number;
  /**
   * Maker: the taker's parameters after our acceptance — while we wait, our coins are reserved.
   * Overriding only `setupMessageMs` lowers this too (never above it).
   */
  readonly paramsMs: number;
  readonly ackMs: number;
  readonly writeMs: number;
  readonly makerDecisionMs: number;
  /** Bound on the chain check of the counterparty's lock inputs. */
  readonly chainCheckMs: number;
}

export const DEFAULT_ORDER_TIMEOUTS: OrderTimeouts = {
  orderMs: ORDER_TIMEOUT_MS,
  decisionMs: DECISION_TIMEOUT_MS,
  setupMessageMs: SETUP_MESSAGE_TIMEOUT_MS,
  paramsMs: PARAMS_TIMEOUT_MS,
  ackMs: ACK_TIMEOUT_MS,
  writeMs: WRITE_TIMEOUT_MS,
  makerDecisionMs: MAKER_DECISION_TIMEOUT_MS,
  chainCheckMs: CHAIN_CHECK_TIMEOUT_MS,
};

export interface OrderProtocolInit {
  readonly role: 'maker' | 'taker';
  readonly repository: CfdLog;
  readonly contracts: ContractStore;
  readonly wallet: OrderWallet;
  readonly oracle: OrderOracle;
  /** The counterparty's lock inputs are checked against it before we sign the lock. */
  readonly chain: OrderChain;
  /** Confirmations each counterparty lock input needs. @default MIN_LOCK_INPUT_CONFIRMATIONS */
  readonly minInputConfirmations?: number;
  /** Adaptor signatures of the CET set over all cores; inline on the event loop when absent. */
  readonly pool?: AdaptorWorkerPool;
  /** Maker: the offers published now (an order must name one, or a recent one). */
  readonly offers?: () => readonly Offer[];
  /**
   * Maker: the offer `offerId` if published within the offer age at `now` (unix seconds) and not
   * withdrawn since, with the current offer of its side; honoured within the order's slippage.
   */
  readonly recentOffer?: (offerId: string, now: number) => NamedOffer | undefined;
  /**
   * Maker: auto-accept policy. Absent, or answering `manual`: the order waits for
   * {@link OrderProtocol.decide} (the maker's user), and is rejected after
   * `timeouts.makerDecisionMs`. Asked per order, so a policy that changes applies at once.
   */
  readonly policy?: (
    terms: CfdTerms,
  ) => OrderDecision | 'manual' | Promise<OrderDecision | 'manual'>;
  /** @default { cet: CET_TIMELOCK, refund: REFUND_TIMELOCK } */
  readonly timelocks?: Timelocks;
  /** @default DEFAULT_ORDER_POLICY */
  readonly orderPolicy?: OrderPolicy;
  /** Taker: its limits now, read per order. @default DEFAULT_TAKER_LIMITS */
  readonly limits?: () => TakerLimits;
  /** @default the system clock */
  readonly clock?: Clock;
  /** Wraps each run (the node's fail points). */
  readonly instrument?: RunInstrument;
  readonly timeouts?: Partial<OrderTimeouts>;
  /**
   * Maker: how many orders it takes on at once, per peer and in all; an order over a limit is
   * refused before anything is written, reserved or signed. @default DEFAULT_ADMISSION_LIMITS
   */
  readonly admission?: Partial<AdmissionLimits>;
  readonly logger?: Logger;
}

/**
 * The maker's first answer to a taker's order: it accepted (it holds the order and set coins
 * aside: setup goes on), refused it (with its reason), did not answer within the decision
 * timeout, or the run ended before any answer (cannot dial, a reset…).
 */
export type OrderAnswer =
  | { readonly type: 'accepted' }
  | { readonly type: 'rejected'; readonly reason: string }
  | { readonly type: 'noAnswer'; readonly afterMs: number }
  | { readonly type: 'failed'; readonly reason: string };

/** A finished setup, as listeners see it. */
export interface OrderOutcome {
  readonly orderId: string;
  readonly peer: string;
  readonly outcome: SetupOutcome;
}

/**
 * `/dlcfd/order/1.0.0`.
 *
 * @example
 * ```ts
 * const orders = new OrderProtocol(node, { role: 'maker', repository, contracts, wallet, oracle,
 *   pool, offers: () => current, policy: () => ({ accept: true }) });
 * await orders.start();
 * orders.onOutcome(({ orderId, outcome }) => { if (outcome.type === 'completed') broadcast(…) });
 * // taker:
 * const { outcome } = await takerOrders.placeOrder(makerPeerId, offer, { quantity: 100n, leverage: 2 });
 * ```
 */
export class OrderProtocol {
  readonly #node: ProtocolHost;
  readonly #init: OrderProtocolInit;
  readonly #log: Logger;
  readonly #timeouts: OrderTimeouts;
  readonly #timelocks: Timelocks;
  readonly #clock: () => number;
  /** Maker: orders waiting for the user's decision. */
  readonly #pending = new PendingDecisions<CfdTerms, OrderDecision>();
  readonly #listeners = new Set<(o: OrderOutcome) => void>();
  /** Maker: slots of orders under way and awaiting a decision. */
  readonly admission: Admission;

  constructor(node: ProtocolHost, init: OrderProtocolInit) {
    this.#node = node;
    this.#init = init;
    this.#log = (init.logger ?? pino({ level: 'silent' })).child({ protocol: ORDER_PROTOCOL });
    this.#timeouts = {
      ...DEFAULT_ORDER_TIMEOUTS,
      paramsMs: Math.min(
        PARAMS_TIMEOUT_MS,
        init.timeouts?.setupMessageMs ?? SETUP_MESSAGE_TIMEOUT_MS,
      ),
      ...init.timeouts,
    };
    this.admission = new Admission(init.admission);
    this.#timelocks = init.timelocks ?? { cet: CET_TIMELOCK, refund: REFUND_TIMELOCK };
    this.#clock = init.clock ?? systemClock;
  }

  async start(): Promise<void> {
    if (this.#init.role !== 'maker') return;
    await handleInbound(this.#node, ORDER_PROTOCOL, (stream, peer) => this.#serve(stream, peer), {
      maxInboundStreams: MAX_INBOUND_STREAMS,
      maxOutboundStreams: MAX_OUTBOUND_STREAMS,
    });
  }

  async stop(): Promise<void> {
    if (this.#init.role === 'maker') await this.#node.unhandle(ORDER_PROTOCOL);
    this.#pending.decideAll({ accept: false, reason: 'the maker is shutting down' });
  }

  /** Called with every finished order (completed, rejected or failed), on both roles. */
  onOutcome(listener: (o: OrderOutcome) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Maker: orders waiting for the user's decision. */
  pendingDecisions(): CfdTerms[] {
    return this.#pending.subjects();
  }

  /** Maker: the user accepts or rejects a pending order. */
  decide(orderId: string, decision: OrderDecision): void {
    if (!this.#pending.decide(orderId, decision)) {
      throw new UnknownPendingOrderError(`no order ${orderId} awaits a decision`);
    }
  }

  /**
   * Taker: places an order on `maker`'s `offer` and sets the contract up. Resolves with the
   * outcome (completed, rejected with the maker's reason, or failed); throws only for an order
   * the offer does not allow (`validateOrder`'s named errors) or one outside the taker's limits
   * (`OutsideTakerLimitsError`s) — then nothing is sent, recorded or reserved.
   */
  async placeOrder(
    maker: PeerId,
    offer: Offer,
    order: {
      quantity: Contracts;
      leverage: Leverage;
      orderId?: string;
      /** Sent with the order: how far the maker's quote may have moved from the offer's price. */
      maxSlippageBps?: number;
      /** Called once with the maker's first answer ({@link OrderAnswer}), before setup goes on. */
      onAnswer?: (answer: OrderAnswer) => void;
    },
  ): Promise<OrderOutcome> {
    const orderId = order.orderId ?? randomUUID();
    const machine = new TakerSetup({
      orderId,
      offer,
      quantity: order.quantity,
      leverage: order.leverage,
      ...this.#setupInit(maker),
      ...(this.#init.limits ? { limits: this.#init.limits() } : {}),
      ...(order.maxSlippageBps === undefined ? {} : { maxSlippageBps: order.maxSlippageBps }),
    });
    const log = this.#log.child({ orderId, peer: maker.toString(), role: 'taker' });
    let answered = false;
    const answer = (a: OrderAnswer): void => {
      if (answered) return;
      answered = true;
      order.onAnswer?.(a);
    };
    // Not even connected: the order is still recorded as placed and failed, so the UI shows why.
    const transport = await dialTransport(
      this.#node,
      maker,
      ORDER_PROTOCOL,
      this.#timeouts.writeMs,
      (stream) => this.#transport(stream),
    );
    const executor = this.#executor(orderId, log);
    const outcome = await this.#run(machine, {
      point: 'order.taker',
      transport: this.#answering(transport, answer),
      executor,
      log,
    });
    answer(
      outcome.type === 'rejected'
        ? { type: 'rejected', reason: outcome.reason }
        : outcome.type === 'failed'
          ? { type: 'failed', reason: outcome.reason }
          : { type: 'accepted' },
    );
    return this.#finish(orderId, maker.toString(), outcome, log);
  }

  /** Taker: `transport`, reporting the maker's decision (or its absence) to `answer`. */
  #answering(transport: SetupTransport, answer: (a: OrderAnswer) => void): SetupTransport {
    return {
      ...transport,
      read: async (expecting) => {
        try {
          const message = await transport.read(expecting);
          if (message.type === 'decision') {
            answer(
              message.accept
                ? { type: 'accepted' }
                : { type: 'rejected', reason: message.reason || 'the maker rejected the order' },
            );
          }
          return message;
        } catch (err) {
          if (expecting === 'decision' && err instanceof ProtocolTimeoutError) {
            answer({ type: 'noAnswer', afterMs: this.#timeouts.decisionMs });
          }
          throw err;
        }
      },
    };
  }

  async #serve(stream: Stream, peer: PeerId): Promise<void> {
    // Admission first: a refused order is answered from memory — no log entry, no coin, no work.
    const ticket = this.admission.admitSetup(peer.toString());
    if (isRefusal(ticket)) {
      await this.#refuse(stream, peer, ticket.refused);
      return;
    }
    try {
      await this.#serveAdmitted(stream, peer);
    } finally {
      ticket.release();
    }
  }

  /** Reads the order (bounded) and answers with a rejection; writes nothing anywhere else. */
  async #refuse(stream: Stream, peer: PeerId, reason: string): Promise<void> {
    const transport = this.#transport(stream);
    const log = this.#log.child({ peer: peer.toString(), role: 'maker' });
    try {
      const order = await transport.read('order');
      log.info(
        { orderId: order.type === 'order' ? order.orderId : undefined, reason },
        'order not admitted',
      );
      await transport.write({ type: 'decision', accept: false, reason });
      await transport.close();
    } catch (err) {
      transport.abort(err as Error);
    }
  }

  async #serveAdmitted(stream: Stream, peer: PeerId): Promise<void> {
    const machine = new MakerSetup({
      offers: this.#init.offers?.() ?? [],
      ...(this.#init.recentOffer
        ? {
            recent: (id: string) => this.#init.recentOffer?.(id, this.#clock()),
          }
        : {}),
      ...this.#setupInit(peer),
    });
    const log = this.#log.child({ peer: peer.toString(), role: 'maker' });
    const executor = this.#executor(() => machine.cfdId, log, peer.toString());
    const transport = this.#transport(stream);
    const outcome = await this.#run(machine, { point: 'order.maker', transport, executor, log });
    this.#finish(machine.cfdId ?? '(none)', peer.toString(), outcome, log);
  }

  /** Runs `machine` with the shared driver, as the node's instrument wraps it. */
  #run(machine: OrderSetupMachine, run: MachineRun<SetupTransport, SetupExecutor>) {
    const { instrument } = this.#init;
    return runInstrumented('setup', machine, { ...run, instrument, persistKind });
  }

  /** What either role's machine is built with, for a run with `peer`: fresh secrets, now. */
  #setupInit(peer: PeerId): SetupInit {
    const n = this.#init.minInputConfirmations;
    return {
      secrets: freshSecrets(),
      timelocks: this.#timelocks,
      now: this.#clock(),
      counterpartyPeerId: peer.toString(),
      policy: this.#init.orderPolicy ?? DEFAULT_ORDER_POLICY,
      ...(n === undefined ? {} : { minInputConfirmations: n }),
    };
  }

  #finish(orderId: string, peer: string, outcome: SetupOutcome, log: Logger): OrderOutcome {
    if (outcome.type === 'completed')
      log.info({ lockTxid: outcome.record.lock.txid }, 'contract set up');
    else log.info({ outcome: outcome.type, reason: outcome.reason }, 'order ended');
    const o = { orderId, peer, outcome };
    notifyListeners(this.#listeners, o, log, 'order');
    return o;
  }

  #transport(stream: Stream): SetupTransport {
    const t = this.#timeouts;
    const readTimeoutMs: Record<SetupMessageType, number> = {
      order: t.orderMs,
      decision: t.decisionMs,
      params: this.#init.role === 'maker' ? t.paramsMs : t.setupMessageMs,
      signatures: t.setupMessageMs,
      lockSignature: t.setupMessageMs,
      ack: t.ackMs,
    };
    return framedTransport(stream, SetupMessageSchema, {
      maxMessageBytes: MAX_MESSAGE_BYTES,
      readTimeoutMs,
      writeMs: t.writeMs,
    });
  }

  #executor(cfdId: string | (() => string | undefined), log: Logger, peer?: string): SetupExecutor {
    const { repository, contracts, wallet, oracle, pool } = this.#init;
    const id = (): string => {
      const v = typeof cfdId === 'string' ? cfdId : cfdId();
      if (!v) throw new Error('internal: no CFD id yet');
      return v;
    };
    const since = performance.now();
    return {
      effect: async (effect) => {
        switch (effect.type) {
          case 'record':
            await repository.execute(
              effect.command.type === 'placeOrder' ? effect.command.terms.id : id(),
              effect.command,
            );
            return;
          case 'persist':
            await contracts.put(effect.record.cfdId, effect.record);
            return;
          case 'release':
            wallet.release(effect.reservationId);
            return;
        }
      },
      request: async (request: SetupRequest): Promise<SetupResult> => {
        switch (request.type) {
          case 'decide':
            return this.#decide(request.terms, log, peer ?? request.terms.counterpartyPeerId);
          case 'fund': {
            const f = await wallet.reserveFunding(request.amount, request.feeRate, {
              extraVbytes: request.extraVbytes,
            });
            try {
              return {
                type: 'funded',
                funding: {
                  reservationId: f.reservationId,
                  inputs: f.inputs,
                  change: f.change && { script: f.change.script, value: f.change.value },
                  payoutScript: await wallet.payoutScript(),
                },
              };
            } catch (err) {
              wallet.release(f.reservationId);
              throw err;
            }
          }
          case 'announcement': {
            const a =
              oracle.announcement(request.eventId) ??
              (
                await oracle.fetchEvent(request.eventId, {
                  signal: AbortSignal.timeout(this.#timeouts.setupMessageMs),
                })
              ).announcement;
            return {
              type: 'announced',
              eventId: request.eventId,
              oraclePublicKey: hexToBytes(oracle.publicKey),
              nonces: a.nonces,
            };
          }
          case 'encrypt':
          case 'verify':
            return adaptorWork(pool, request, { since });
          case 'checkInputs': {
            const signal = AbortSignal.timeout(this.#timeouts.chainCheckMs);
            const outputs = await Promise.all(
              request.inputs.map((i) =>
                this.#init.chain.getTxOut(i.txid, i.vout, true, { signal }),
              ),
            );
            return { type: 'inputsChecked', outputs };
          }
          case 'signLock':
            wallet.signPsbt(request.psbt);
            return { type: 'lockSigned', psbt: request.psbt };
        }
      },
    };
  }

  async #decide(terms: CfdTerms, log: Logger, peer: string): Promise<SetupResult> {
    let decision: OrderDecision;
    const auto = this.#init.policy ? await this.#init.policy(terms) : 'manual';
    let ticket: AdmissionTicket | undefined;
    if (auto !== 'manual') {
      decision = auto;
    } else {
      const admitted = this.admission.admitDecision(peer);
      if (isRefusal(admitted)) return { type: 'decided', accept: false, reason: admitted.refused };
      ticket = admitted;
      log.info({ orderId: terms.id }, 'order awaits a decision');
      decision = await this.#pending.wait(terms.id, terms, this.#timeouts.makerDecisionMs, {
        accept: false,
        reason: 'the maker did not decide in time',
      });
      ticket.release();
    }
    return decision.accept
      ? { type: 'decided', accept: true }
      : { type: 'decided', accept: false, reason: decision.reason };
  }
}

/** For fail points: the record stored before our lock signature leaves, or the signed one. */
function persistKind(effect: SetupEffect): 'pending' | 'final' | undefined {
  return effect.type === 'persist' ? (effect.record.lock.signed ? 'final' : 'pending') : undefined;
}

/** Fresh identity, publish and revocation secrets for one CFD. */
function freshSecrets() {
  return {
    identity: secp256k1.utils.randomSecretKey(),
    publish: secp256k1.utils.randomSecretKey(),
    revocation: secp256k1.utils.randomSecretKey(),
  };
}
