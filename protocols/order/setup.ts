// One thing over 600 lines: both roles run one signing sequence (params, CETs, signatures, checked lock inputs, lock signature) as steps of the base class, and each effect, request and result type sits beside the step that makes it; split by role or step, one message would span files.
/**
 * The IO-free state machines of `/dlcfd/order/1.0.0`: a taker places an order, the maker decides,
 * and both set the contract up. One machine per role; each turns an input (a peer message, or
 * the result of something it asked its driver to do) into a {@link SetupStep}:
 *
 * 1. `effects` — facts to make durable or undo, run in order and awaited: record a CFD command,
 *    persist the contract record, release a coin reservation;
 * 2. `send` — messages for the peer, written in order after the effects;
 * 3. then either a `request` (fund from the wallet, fetch the announcement, encrypt/verify a CET
 *    set, sign lock inputs, ask the maker's user) whose result is fed back with `resolve`, an
 *    `outcome` (the run is over), or — neither — wait for the peer's next message (`receive`).
 *
 * Anything the driver sees go wrong (a timeout, a reset, garbage, a failed effect) goes in through
 * `fail`, which answers with the clean-up: release what is reserved, record `ContractSetupFailed`
 * if the CFD was recorded at all. The machines never do IO, never read a clock and never draw
 * randomness (keys come in with the init), so two of them can be driven against each other in
 * memory and every abort point tested.
 *
 * Safety: our lock signature leaves only after every counterparty signature verified, every lock
 * input of the counterparty checked against the chain (`checkInputs`: confirmed, unspent — mempool
 * spends included — and paying exactly the amount and script it claimed, so the margin and fee
 * arithmetic, done on the claimed amounts, is real), and the contract record (with our keys) is
 * persisted, so if the peer publishes the lock we can always get out alone, and a lock whose
 * counterparty inputs never existed or are spent is refused before anything irreversible. `ContractSetupCompleted` is recorded only after the final record is persisted.
 */
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { Psbt, type Transaction } from 'bitcoinjs-lib';
import {
  assembleContractRecord,
  buildContractTransactions,
  type CommitKeys,
  type ContractRecord,
  type ContractTransactions,
  dlcSummary,
  hash160,
  type LockParty,
  type OracleEventPoints,
  oracleEventPoints,
  payoutCurve,
  toRolePayouts,
} from '../../dlc/index.ts';
import {
  type CfdCommand,
  type CfdTerms,
  makerPositionOf,
  openingFeeBalance,
} from '../../model/cfd.ts';
import { longShortLeverage, margins } from '../../model/fees.ts';
import { checkOrderLimits, DEFAULT_TAKER_LIMITS, type TakerLimits } from '../../model/limits.ts';
import {
  checkSlippage,
  DEFAULT_ORDER_POLICY,
  type Offer,
  type OrderPolicy,
  validateOrder,
} from '../../model/offer.ts';
import {
  type Contracts,
  type FeeRate,
  type Leverage,
  opposite,
  type Role,
  type Sats,
} from '../../model/units.ts';
import {
  type AdaptorResult,
  assertPoint,
  assertVerified,
  type CetWording,
  ContractSigning,
  type EncryptRequest,
  type VerifyRequest,
} from '../contract-signing.ts';
import type { Executor, MachineStep, Transport } from '../driver.ts';
import { Abort, step as machineStep, StateMachine, type StepBuilder } from '../machine.ts';
import {
  COINBASE_MATURITY,
  LOCK_SHARED_VBYTES,
  MIN_LOCK_INPUT_CONFIRMATIONS,
  P2WPKH_INPUT_VBYTES,
  P2WPKH_OUTPUT_VBYTES,
} from './constants.ts';
import { ImmatureLockInputError, LockInputMismatchError, MissingLockInputError } from './errors.ts';
import type {
  DecisionMsg,
  LockSignatureMsg,
  OrderMsg,
  ParamsMsg,
  SetupMessage,
  SetupMessageType,
  SignaturesMsg,
} from './messages.ts';

// ---- Inputs and outputs --------------------------------------------------------------------------

/** Fresh secrets of this party for this CFD (the driver draws them; the machine stays pure). */
export interface SetupSecrets {
  readonly identity: Uint8Array;
  readonly publish: Uint8Array;
  readonly revocation: Uint8Array;
}

/** Relative timelocks in blocks; the maker announces its own, the taker requires its own. */
export interface Timelocks {
  readonly cet: number;
  readonly refund: number;
}

/** Coins reserved for this party's side of one lock transaction (the wallet port's answer). */
export interface ReservedFunding {
  readonly reservationId: string;
  readonly inputs: readonly {
    readonly txid: string;
    readonly vout: number;
    readonly value: Sats;
    /** scriptPubKey hex (P2WPKH). */
    readonly script: string;
  }[];
  /** Change back to us, if worth an output (script hex). */
  readonly change: { readonly script: string; readonly value: Sats } | undefined;
}

/** Coins a party's wallet reserved for the lock, and where its payouts go. */
export interface PartyFunding extends ReservedFunding {
  /** scriptPubKey hex (P2WPKH) of a fresh wallet address for CET and refund outputs. */
  readonly payoutScript: string;
}

/** A lock input as a party claims it (the PSBT's `witnessUtxo`): its outpoint, amount and script. */
export interface LockInputClaim {
  readonly txid: string;
  readonly vout: number;
  readonly value: Sats;
  /** scriptPubKey hex. */
  readonly script: string;
}

/** An unspent output as the chain reports it (Bitcoin Core's `gettxout`, mempool included). */
export interface ChainOutput {
  readonly value: Sats;
  /** scriptPubKey hex. */
  readonly scriptPubKey: string;
  /** 0 for an output of a mempool transaction. */
  readonly confirmations: number;
  readonly coinbase: boolean;
}

/** Make durable (or undo) before anything else of the step happens. */
export type SetupEffect =
  | { readonly type: 'record'; readonly command: CfdCommand }
  | { readonly type: 'persist'; readonly record: ContractRecord }
  | { readonly type: 'release'; readonly reservationId: string };

/** Work the driver does for the machine; its result comes back through `resolve`. */
export type SetupRequest =
  /** Maker: accept or reject this order (policy or user). */
  | { readonly type: 'decide'; readonly terms: CfdTerms }
  /** Reserve coins for `amount` plus this party's lock fee; add a fresh payout address. */
  | {
      readonly type: 'fund';
      readonly amount: Sats;
      readonly feeRate: FeeRate;
      readonly extraVbytes: number;
    }
  /** The oracle's verified announcement of the settlement event. */
  | { readonly type: 'announcement'; readonly eventId: string }
  | EncryptRequest
  | VerifyRequest
  /**
   * The counterparty's lock inputs as the chain has them now, in order: each its unspent output
   * (mempool spends count as spent), or null where there is none (never existed, or spent).
   */
  | { readonly type: 'checkInputs'; readonly inputs: readonly LockInputClaim[] }
  /** Sign our lock inputs (only they carry `witnessUtxo`); resolve with the same PSBT. */
  | { readonly type: 'signLock'; readonly psbt: Psbt };

export type SetupResult =
  | { readonly type: 'decided'; readonly accept: true }
  | { readonly type: 'decided'; readonly accept: false; readonly reason: string }
  | { readonly type: 'funded'; readonly funding: PartyFunding }
  | {
      readonly type: 'announced';
      readonly eventId: string;
      /** x-only olivia-v1 key and the 20 nonces. */
      readonly oraclePublicKey: Uint8Array;
      readonly nonces: readonly Uint8Array[];
    }
  | AdaptorResult
  | { readonly type: 'inputsChecked'; readonly outputs: readonly (ChainOutput | null)[] }
  | { readonly type: 'lockSigned'; readonly psbt: Psbt }
  /** The request could not be done (wallet empty, oracle down, user said nothing in time…). */
  | { readonly type: 'requestFailed'; readonly reason: string };

/** What an executor answers a request with (any result, including `requestFailed`). */
export type SetupExecutorResult = SetupResult;

/** Moves setup messages; every call is bounded in time by the transport itself. */
export type SetupTransport = Transport<SetupMessage, SetupMessageType>;

/** Does what the machine asks: durable effects and requests with results. */
export type SetupExecutor = Executor<SetupEffect, SetupRequest, SetupExecutorResult>;

export type SetupOutcome =
  | {
      readonly type: 'completed';
      readonly record: ContractRecord;
      /** The signed lock, ready to broadcast. */
      readonly lockTx: Transaction;
      /** Our coins stay reserved until the lock is broadcast; the caller releases them then. */
      readonly reservationId: string;
      /** The peer's final ack did not arrive (both hold the signed lock anyway). */
      readonly ackMissing: boolean;
    }
  | { readonly type: 'rejected'; readonly reason: string }
  | {
      readonly type: 'failed';
      readonly reason: string;
      /**
       * Our lock signature may have reached the peer, which may then hold the whole lock and
       * broadcast it: nothing is undone (the CFD stays in setup, our coins stay reserved) and the
       * node's process manager watches for the lock — it adopts the lock if it appears, and fails
       * the setup only once the lock can no longer confirm.
       */
      readonly lockMayBroadcast?: true;
    };

/** One step of the setup machine. */
export type SetupStep = MachineStep<SetupEffect, SetupMessage, SetupRequest, SetupOutcome>;

/** Where in the setup a machine is; also how the driver picks a read timeout. */
export type SetupState =
  | 'new'
  | 'awaitOrder'
  | 'awaitDecision'
  | 'deciding'
  | 'funding'
  | 'announcing'
  | 'awaitParams'
  | 'signing'
  | 'awaitSignatures'
  | 'verifying'
  | 'checkingInputs'
  | 'signingLock'
  | 'awaitLockSignature'
  | 'awaitAck'
  | 'done';

const EXPECTED: Partial<Record<SetupState, SetupMessageType>> = {
  awaitOrder: 'order',
  awaitDecision: 'decision',
  awaitParams: 'params',
  awaitSignatures: 'signatures',
  awaitLockSignature: 'lockSignature',
  awaitAck: 'ack',
};

const step: StepBuilder<SetupEffect, SetupMessage, SetupRequest, SetupOutcome> = machineStep;

const bytes = (hex: string): Uint8Array => hexToBytes(hex);

function publicKey(secret: Uint8Array): Uint8Array {
  return secp256k1.getPublicKey(secret, true);
}

/** How setup words a peer's CET that is not ours. */
const CET_WORDING: CetWording = {
  range: (j, _eventId, c, ours) =>
    `the peer's CET ${j} covers ${c.start}…${c.end}, ours ${ours.start}…${ours.end}`,
  signatureCount: (count, c, prefixes) =>
    `the peer sent ${count} signatures for CET ${c.start}…${c.end}, it has ${prefixes} prefixes`,
};

/** What either role's setup machine is built with. */
export interface SetupInit {
  readonly secrets: SetupSecrets;
  /** This side's timelocks (see each role's init). */
  readonly timelocks: Timelocks;
  /** Unix seconds. */
  readonly now: number;
  /** The counterparty's PeerId (the taker's from the connection). */
  readonly counterpartyPeerId: string;
  readonly policy?: OrderPolicy;
  /** Confirmations each counterparty lock input needs. @default MIN_LOCK_INPUT_CONFIRMATIONS */
  readonly minInputConfirmations?: number;
}

// ---- The shared machine --------------------------------------------------------------------------

/** What both roles share: contract setup from the exchange of parameters to the final ack. */
abstract class ContractSetup extends StateMachine<
  SetupState,
  SetupMessage,
  SetupEffect,
  SetupRequest,
  SetupResult,
  SetupOutcome
> {
  readonly role: Role;
  protected readonly secrets: SetupSecrets;
  protected readonly timelocks: Timelocks;
  protected readonly now: number;
  protected readonly counterpartyPeerId: string;
  protected readonly policy: OrderPolicy;
  protected readonly minInputConfirmations: number;
  protected offer: Offer | undefined;
  protected terms: CfdTerms | undefined;
  /** The CFD exists in our log: failures must be recorded on it. */
  protected placed = false;
  protected reservationId: string | undefined;
  protected ownParams: ParamsMsg | undefined;
  protected theirParams: ParamsMsg | undefined;
  protected oracleEvent: OracleEventPoints | undefined;
  #tx: ContractTransactions | undefined;
  /** Commit, refund and CET signatures, ours and the counterparty's. */
  #signing: ContractSigning | undefined;
  #ownLockSigs: LockSignatureMsg['signatures'] | undefined;
  /** Our lock signature was handed to the driver to send: from now on it may be out. */
  #lockSignatureOut = false;
  #final: { record: ContractRecord; lockTx: Transaction } | undefined;

  protected constructor(init: SetupInit & { role: Role }) {
    super('new', EXPECTED);
    this.minInputConfirmations = Math.max(
      1,
      init.minInputConfirmations ?? MIN_LOCK_INPUT_CONFIRMATIONS,
    );
    this.role = init.role;
    this.secrets = init.secrets;
    this.timelocks = init.timelocks;
    this.now = init.now;
    this.counterpartyPeerId = init.counterpartyPeerId;
    this.policy = init.policy ?? DEFAULT_ORDER_POLICY;
  }

  /** The CFD (order) id, once known. */
  get cfdId(): string | undefined {
    return this.terms?.id;
  }

  /**
   * Ends the run: the driver saw a timeout, a reset, a malformed message or a failed effect.
   * `failedEffect` is the effect that threw, if any (a `placeOrder` that failed means the CFD
   * was never ours to record failures on).
   */
  fail(reason: string, failedEffect?: SetupEffect): SetupStep {
    if (this.outcome) return this.finished();
    if (failedEffect?.type === 'record' && failedEffect.command.type === 'placeOrder') {
      this.placed = false;
    }
    if (failedEffect?.type === 'persist' && !failedEffect.record.lock.signed) {
      // The record our lock signature waits for was not stored: the signature never left.
      this.#lockSignatureOut = false;
    }
    if (failedEffect?.type === 'record' && failedEffect.command.type === 'completeContractSetup') {
      // The record is stored but the log refused the completion: not ours to call failed either.
      this.placed = false;
    }
    if (this.state === 'awaitAck' && failedEffect === undefined) {
      // Both hold the signed lock and completion is recorded: only the courtesy ack is missing.
      return this.#complete(true);
    }
    return this.failed(reason);
  }

  protected failed(reason: string): SetupStep {
    if (this.#lockSignatureOut) {
      // The peer may hold our lock signature (and so the whole lock): undo nothing here.
      return this.end({ type: 'failed', reason, lockMayBroadcast: true });
    }
    const effects: SetupEffect[] = [];
    if (this.reservationId) effects.push({ type: 'release', reservationId: this.reservationId });
    if (this.placed)
      effects.push({ type: 'record', command: { type: 'failContractSetup', reason } });
    return this.end({ type: 'failed', reason }, effects);
  }

  protected rejected(reason: string, send: SetupMessage[] = []): SetupStep {
    const effects: SetupEffect[] = [];
    if (this.reservationId) effects.push({ type: 'release', reservationId: this.reservationId });
    if (this.placed) effects.push({ type: 'record', command: { type: 'rejectOrder', reason } });
    return this.end({ type: 'rejected', reason }, effects, send);
  }

  protected onMessage(message: SetupMessage): SetupStep {
    switch (message.type) {
      case 'params':
        return this.onParams(message);
      case 'signatures':
        return this.onSignatures(message);
      case 'lockSignature':
        return this.onLockSignature(message);
      case 'ack':
        return this.onAck();
      default:
        return this.onRoleMessage(message);
    }
  }

  protected onResult(result: SetupResult): SetupStep {
    switch (this.state) {
      case 'signing':
        return this.onEncrypted(result);
      case 'verifying':
        return this.onVerified(result);
      case 'checkingInputs':
        return this.onInputsChecked(result);
      case 'signingLock':
        return this.onLockSigned(result);
      default:
        return this.onRoleResult(result);
    }
  }

  /** The messages only this role receives (the order, the decision). */
  protected abstract onRoleMessage(message: SetupMessage): SetupStep;
  /** The results only this role gets, before the contract is signed. */
  protected abstract onRoleResult(result: SetupResult): SetupStep;

  // ---- the contract --------------------------------------------------------------------------

  /** Both margins of the order; the lock holds their sum. */
  protected margins(): { maker: Sats; taker: Sats } {
    const t = this.terms!;
    const m = margins({
      symbol: t.symbol,
      makerPosition: this.makerPosition(),
      price: t.initialPrice,
      quantity: t.quantity,
      takerLeverage: t.takerLeverage,
    });
    return { maker: m.maker, taker: m.taker };
  }

  protected makerPosition() {
    return makerPositionOf(this.terms!);
  }

  protected fundRequest(): SetupRequest {
    return {
      type: 'fund',
      amount: this.margins()[this.role],
      feeRate: this.terms!.txFeeRate,
      extraVbytes: LOCK_SHARED_VBYTES,
    };
  }

  protected onFunded(result: SetupResult): SetupRequest {
    const { funding } = this.expectResult(result, 'funded');
    this.reservationId = funding.reservationId;
    this.ownParams = {
      type: 'params',
      identityPk: bytesToHex(publicKey(this.secrets.identity)),
      publishPk: bytesToHex(publicKey(this.secrets.publish)),
      revocationPk: bytesToHex(publicKey(this.secrets.revocation)),
      payoutScript: funding.payoutScript,
      margin: this.margins()[this.role],
      inputs: funding.inputs.map((i) => ({ ...i })),
      change: funding.change
        ? [{ script: funding.change.script, value: funding.change.value }]
        : [],
    };
    return { type: 'announcement', eventId: this.terms!.oracleEventId };
  }

  protected onAnnounced(result: SetupResult): void {
    const a = this.expectResult(result, 'announced');
    if (a.eventId !== this.terms!.oracleEventId) {
      throw new Abort(`internal: announcement of ${a.eventId}, not ${this.terms!.oracleEventId}`);
    }
    this.oracleEvent = oracleEventPoints(a.oraclePublicKey, a.nonces);
  }

  /** The counterparty's parameters: check them, build every transaction, ask for our CET sigs. */
  protected onParams(theirs: ParamsMsg): SetupStep {
    const them: Role = this.role === 'maker' ? 'taker' : 'maker';
    const expected = this.margins()[them];
    if (theirs.margin !== expected) {
      throw new Abort(`the peer's margin is ${theirs.margin} sats, the order needs ${expected}`);
    }
    const own = this.ownParams!;
    const keysOf = (p: ParamsMsg, who: string) => ({
      identity: assertPoint(p.identityPk, `${who} identity key`),
      publish: assertPoint(p.publishPk, `${who} publish key`),
      revocation: assertPoint(p.revocationPk, `${who} revocation key`),
    });
    const theirKeys = keysOf(theirs, them);
    const mine = [own.identityPk, own.publishPk, own.revocationPk];
    if ([theirs.identityPk, theirs.publishPk, theirs.revocationPk].some((k) => mine.includes(k))) {
      throw new Abort("the peer's keys repeat ours");
    }
    const ownKeys = keysOf(own, this.role);
    const keys: CommitKeys =
      this.role === 'maker'
        ? { maker: ownKeys, taker: theirKeys }
        : { maker: theirKeys, taker: ownKeys };
    const party = (p: ParamsMsg): LockParty => ({
      margin: p.margin,
      inputs: p.inputs.map((i) => ({
        txid: i.txid,
        vout: i.vout,
        witnessUtxo: { script: bytes(i.script), value: i.value },
      })),
      change: p.change.map((c) => ({ script: bytes(c.script), value: c.value })),
    });
    const params =
      this.role === 'maker' ? { maker: own, taker: theirs } : { maker: theirs, taker: own };
    const t = this.terms!;
    const leverage = longShortLeverage(this.makerPosition(), t.takerLeverage);
    const rows = payoutCurve({
      symbol: t.symbol,
      initialPrice: t.initialPrice,
      quantity: t.quantity,
      longLeverage: leverage.long,
      shortLeverage: leverage.short,
      feeBalance: openingFeeBalance(t),
    }).rows;
    const tx = buildContractTransactions({
      keys,
      payoutScripts: {
        maker: bytes(params.maker.payoutScript),
        taker: bytes(params.taker.payoutScript),
      },
      maker: party(params.maker),
      taker: party(params.taker),
      feeRate: t.txFeeRate,
      // Anchors: either side can raise the commit's fee alone (node/daemon/fee-bumper.ts).
      anchors: true,
      cetTimelock: this.timelocks.cet,
      refundTimelock: this.timelocks.refund,
      events: [{ eventId: t.oracleEventId, payouts: toRolePayouts(rows, this.makerPosition()) }],
    });
    const theirFee = tx.lock.fees[them]!;
    const least =
      t.txFeeRate *
      (P2WPKH_INPUT_VBYTES * BigInt(theirs.inputs.length) +
        P2WPKH_OUTPUT_VBYTES * BigInt(theirs.change.length));
    if (theirFee < least) {
      throw new Abort(`the peer pays ${theirFee} sats of lock fee, at least ${least} are due`);
    }
    this.theirParams = theirs;
    this.#tx = tx;
    const event = this.oracleEvent!;
    this.#signing = new ContractSigning({
      tx,
      lockTxid: tx.lock.tx.getId(),
      role: this.role,
      identity: this.secrets.identity,
      oracle: () => event,
      wording: CET_WORDING,
    });
    this.state = 'signing';
    return step([], { request: this.#signing.encryptRequest() });
  }

  protected onEncrypted(result: SetupResult): SetupStep {
    const { signatures } = this.expectResult(result, 'encrypted');
    const message = this.#signing!.sign(signatures);
    this.state = 'awaitSignatures';
    return step([message]);
  }

  /** The counterparty's signatures: same transactions? then verify all of them. */
  protected onSignatures(theirs: SignaturesMsg): SetupStep {
    const request = this.#signing!.check(theirs);
    this.state = 'verifying';
    return step([], { request });
  }

  protected onVerified(result: SetupResult): SetupStep {
    const { verdicts } = this.expectResult(result, 'verified');
    assertVerified(verdicts);
    // Last before our lock signature: what the chain says of the peer's coins now.
    this.state = 'checkingInputs';
    return step([], { request: { type: 'checkInputs', inputs: this.#theirClaims() } });
  }

  /** The peer's lock inputs as its parameters (and so the lock PSBT's `witnessUtxo`) claim them. */
  #theirClaims(): LockInputClaim[] {
    return this.theirParams!.inputs.map((i) => ({
      txid: i.txid,
      vout: i.vout,
      value: i.value,
      script: i.script,
    }));
  }

  /**
   * Every peer input must be unspent, confirmed (an unconfirmed parent can be double-spent by its
   * owner after we sign, leaving a lock that never confirms and that the peer could revive later)
   * and pay exactly the amount and script claimed: the peer's margin and fee were checked on the
   * claimed amounts, and a wrong amount would also void its BIP143 signature on chain.
   */
  protected onInputsChecked(result: SetupResult): SetupStep {
    const { outputs } = this.expectResult(result, 'inputsChecked');
    const claims = this.#theirClaims();
    if (outputs.length !== claims.length) {
      throw new Abort(`internal: ${outputs.length} chain answers for ${claims.length} inputs`);
    }
    claims.forEach((c, i) => {
      const out = outputs[i];
      const name = `the peer's lock input ${c.txid}:${c.vout}`;
      if (!out) throw new MissingLockInputError(`${name} does not exist or is spent`);
      if (out.value !== c.value) {
        throw new LockInputMismatchError(
          `${name} holds ${out.value} sats on chain, the peer claimed ${c.value}`,
        );
      }
      if (out.scriptPubKey.toLowerCase() !== c.script.toLowerCase()) {
        throw new LockInputMismatchError(
          `${name} pays script ${out.scriptPubKey} on chain, the peer claimed ${c.script}`,
        );
      }
      if (out.confirmations < this.minInputConfirmations) {
        throw new ImmatureLockInputError(
          `${name} has ${out.confirmations} confirmations, ${this.minInputConfirmations} are required`,
        );
      }
      if (out.coinbase && out.confirmations < COINBASE_MATURITY) {
        throw new ImmatureLockInputError(
          `${name} is a coinbase output with ${out.confirmations} confirmations, it is spendable at ${COINBASE_MATURITY}`,
        );
      }
    });
    this.state = 'signingLock';
    return step([], { request: { type: 'signLock', psbt: this.#signingPsbt() } });
  }

  /** The lock as a PSBT where only our inputs carry `witnessUtxo`: the wallet signs just those. */
  #signingPsbt(): Psbt {
    const lock = this.#tx!.lock;
    const own = new Set(this.#ownInputs());
    const psbt = new Psbt();
    psbt.setVersion(lock.tx.version);
    psbt.setLocktime(lock.tx.locktime);
    lock.tx.ins.forEach((input, i) => {
      psbt.addInput({
        hash: input.hash,
        index: input.index,
        sequence: input.sequence,
        ...(own.has(i) && { witnessUtxo: lock.psbt.data.inputs[i]!.witnessUtxo! }),
      });
    });
    for (const out of lock.tx.outs) psbt.addOutput({ script: out.script, value: out.value });
    return psbt;
  }

  /** Our input indexes in the lock: the maker's come first. */
  #ownInputs(): number[] {
    const m = this.role === 'maker' ? this.ownParams! : this.theirParams!;
    const t = this.role === 'maker' ? this.theirParams! : this.ownParams!;
    const first = this.role === 'maker' ? 0 : m.inputs.length;
    const count = this.role === 'maker' ? m.inputs.length : t.inputs.length;
    return Array.from({ length: count }, (_, i) => first + i);
  }

  protected onLockSigned(result: SetupResult): SetupStep {
    const { psbt } = this.expectResult(result, 'lockSigned');
    const own = this.#ownInputs();
    this.#ownLockSigs = own.map((input) => {
      const sig = psbt.data.inputs[input]?.partialSig?.[0];
      if (!sig) throw new Abort(`the wallet did not sign lock input ${input}`);
      return { input, pubkey: bytesToHex(sig.pubkey), signature: bytesToHex(sig.signature) };
    });
    const tx = this.#tx!;
    // Persisted before our lock signature leaves: whatever the peer does next, we can get out.
    const pending = this.#record(tx.lock.tx, false);
    this.state = 'awaitLockSignature';
    this.#lockSignatureOut = true;
    return step([{ type: 'lockSignature', signatures: this.#ownLockSigs }], {
      effects: [{ type: 'persist', record: pending }],
    });
  }

  protected onLockSignature(theirs: LockSignatureMsg): SetupStep {
    const tx = this.#tx!;
    const own = new Set(this.#ownInputs());
    const theirInputs = tx.lock.tx.ins.map((_, i) => i).filter((i) => !own.has(i));
    const given = new Map(theirs.signatures.map((s) => [s.input, s]));
    if (given.size !== theirs.signatures.length || given.size !== theirInputs.length) {
      throw new Abort(`the peer must sign exactly its ${theirInputs.length} lock inputs`);
    }
    const psbt = tx.lock.psbt.clone();
    for (const s of this.#ownLockSigs!) {
      psbt.updateInput(s.input, {
        partialSig: [{ pubkey: bytes(s.pubkey), signature: bytes(s.signature) }],
      });
    }
    for (const i of theirInputs) {
      const s = given.get(i);
      if (!s) throw new Abort(`the peer did not sign its lock input ${i}`);
      const pubkey = bytes(s.pubkey);
      const script = bytesToHex(psbt.data.inputs[i]!.witnessUtxo!.script);
      if (script !== `0014${bytesToHex(hash160(pubkey))}`) {
        throw new Abort(`the peer's key for lock input ${i} is not the one its coin pays to`);
      }
      psbt.updateInput(i, { partialSig: [{ pubkey, signature: bytes(s.signature) }] });
      let valid = false;
      try {
        valid = psbt.validateSignaturesOfInput(i, (pk, hash, sig) =>
          secp256k1.verify(sig, hash, pk, { prehash: false, lowS: false }),
        );
      } catch {
        valid = false;
      }
      if (!valid) throw new Abort(`the peer's signature of lock input ${i} does not verify`);
    }
    let lockTx: Transaction;
    try {
      psbt.finalizeAllInputs();
      lockTx = psbt.extractTransaction();
    } catch (err) {
      throw new Abort(`the lock does not finalize: ${(err as Error).message}`);
    }
    if (lockTx.getId() !== tx.lock.tx.getId())
      throw new Abort('the signed lock is another transaction');
    const record = this.#record(lockTx, true);
    this.#final = { record, lockTx };
    this.state = 'awaitAck';
    return step([{ type: 'ack' }], {
      effects: [
        { type: 'persist', record },
        { type: 'record', command: { type: 'completeContractSetup', dlc: dlcSummary(record) } },
      ],
    });
  }

  protected onAck(): SetupStep {
    return this.#complete(false);
  }

  #complete(ackMissing: boolean): SetupStep {
    const { record, lockTx } = this.#final!;
    return this.end({
      type: 'completed',
      record,
      lockTx,
      reservationId: this.reservationId!,
      ackMissing,
    });
  }

  #record(lockTx: Transaction, lockSigned: boolean): ContractRecord {
    const tx = this.#tx!;
    const signing = this.#signing!;
    return assembleContractRecord({
      cfdId: this.terms!.id,
      role: this.role,
      secrets: this.secrets,
      transactions: tx,
      lockTx,
      lockSigned,
      feeRate: this.terms!.txFeeRate,
      settlementEventId: this.terms!.oracleEventId,
      ownCommitAdaptorSignature: signing.ownCommit,
      counterparty: signing.counterparty,
    });
  }

  /** Builds the terms of this order as this party records them. */
  protected buildTerms(
    offer: Offer,
    order: { id: string; quantity: Contracts; leverage: Leverage },
  ): CfdTerms {
    const makerPosition = offer.makerPosition;
    return {
      id: order.id,
      offerId: offer.id,
      role: this.role,
      position: this.role === 'maker' ? makerPosition : opposite(makerPosition),
      symbol: offer.symbol,
      initialPrice: offer.price,
      quantity: order.quantity,
      takerLeverage: order.leverage,
      fundingRate: offer.fundingRate,
      openingFee: offer.openingFee,
      txFeeRate: offer.txFeeRate,
      settlementIntervalSecs: offer.settlementIntervalSecs,
      oracleEventId: offer.oracleEventId,
      counterpartyPeerId: this.counterpartyPeerId,
      placedAt: this.now,
    };
  }
}

// ---- Taker ----------------------------------------------------------------------------------------

/** The taker's machine: its `timelocks` are those it accepts (the maker must announce these). */
export interface TakerSetupInit extends SetupInit {
  /** The order id: also the CFD's id on both nodes (e.g. a UUID). */
  readonly orderId: string;
  readonly offer: Offer;
  readonly quantity: Contracts;
  readonly leverage: Leverage;
  /** The terms this taker accepts from the maker. @default DEFAULT_TAKER_LIMITS */
  readonly limits?: TakerLimits;
  /**
   * How far the maker's quote may have moved from the offer's price for the maker still to honour
   * it (sent with the order). Absent: only while the offer is the maker's current one.
   */
  readonly maxSlippageBps?: number;
}

/**
 * The taker's side: places the order, waits for the decision, then sets the contract up.
 * The constructor checks the order against the offer (`validateOrder`) and against the taker's
 * limits (`checkOrderLimits`) and throws their named error, so a bad order never reaches the wire
 * and nothing is recorded or reserved.
 */
export class TakerSetup extends ContractSetup {
  readonly #order: OrderMsg;

  constructor(init: TakerSetupInit) {
    super({ ...init, role: 'taker' });
    const order = {
      offerId: init.offer.id,
      symbol: init.offer.symbol,
      quantity: init.quantity,
      leverage: init.leverage,
    };
    validateOrder(init.offer, order, init.now, this.policy);
    checkOrderLimits(init.offer, order, init.limits ?? DEFAULT_TAKER_LIMITS);
    this.offer = init.offer;
    this.terms = this.buildTerms(init.offer, {
      id: init.orderId,
      quantity: init.quantity,
      leverage: init.leverage,
    });
    this.#order = {
      type: 'order',
      orderId: init.orderId,
      offerId: init.offer.id,
      quantity: init.quantity,
      leverage: init.leverage,
      ...(init.maxSlippageBps === undefined ? {} : { maxSlippageBps: init.maxSlippageBps }),
    };
  }

  /** Records the order and sends it. */
  start(): SetupStep {
    if (this.state !== 'new') throw new Error('TakerSetup.start() called twice');
    this.placed = true;
    this.state = 'awaitDecision';
    return step([this.#order], {
      effects: [{ type: 'record', command: { type: 'placeOrder', terms: this.terms! } }],
    });
  }

  protected onRoleMessage(message: SetupMessage): SetupStep {
    if (message.type !== 'decision') throw new Abort(`unexpected '${message.type}' message`);
    return this.#onDecision(message);
  }

  #onDecision(d: DecisionMsg): SetupStep {
    if (!d.accept) return this.rejected(d.reason || 'the maker rejected the order');
    if (d.cetTimelock !== this.timelocks.cet || d.refundTimelock !== this.timelocks.refund) {
      throw new Abort(
        `the maker's timelocks (CET ${d.cetTimelock}, refund ${d.refundTimelock} blocks) are not ` +
          `ours (${this.timelocks.cet}, ${this.timelocks.refund})`,
      );
    }
    this.state = 'funding';
    return step([], {
      effects: [{ type: 'record', command: { type: 'startContractSetup' } }],
      request: this.fundRequest(),
    });
  }

  protected onRoleResult(result: SetupResult): SetupStep {
    switch (this.state) {
      case 'funding':
        this.state = 'announcing';
        return step([], { request: this.onFunded(result) });
      case 'announcing':
        this.onAnnounced(result);
        this.state = 'awaitParams';
        return step([this.ownParams!]);
      default:
        throw new Abort(`internal: a '${result.type}' result in state ${this.state}`);
    }
  }
}

// ---- Maker ----------------------------------------------------------------------------------------

/** An offer an order named, with the maker's current offer for the same side. */
export interface NamedOffer {
  readonly offer: Offer;
  /** Undefined: the maker offers that side no more. */
  readonly current: Offer | undefined;
}

/** The maker's machine; its `timelocks` are those it signs with (announced in the decision). */
export interface MakerSetupInit extends SetupInit {
  /** The offers this maker publishes now; an order must name one of them, or a recent one. */
  readonly offers: readonly Offer[];
  /**
   * The offer of that id this maker published within the offer age and has not withdrawn, with
   * its current offer for the same side. Such an offer is honoured at its own price while the
   * current quote is within the order's slippage of it. Absent: only current offers are taken.
   */
  readonly recent?: (offerId: string) => NamedOffer | undefined;
}

/**
 * The maker's side: reads the order, checks it against the offer it names, asks for a decision,
 * funds, and only then accepts (so an order it cannot fund is rejected with a reason instead of
 * failing after acceptance); then sets the contract up.
 */
export class MakerSetup extends ContractSetup {
  constructor(init: MakerSetupInit) {
    super({ ...init, role: 'maker' });
    this.#offers = init.offers;
    this.#recent = init.recent;
  }

  readonly #offers: readonly Offer[];
  readonly #recent: ((offerId: string) => NamedOffer | undefined) | undefined;

  /** The offer an order names: a current one, or a recent one with the current of its side. */
  #named(offerId: string): NamedOffer | undefined {
    const current = this.#offers.find((o) => o.id === offerId);
    return current ? { offer: current, current } : this.#recent?.(offerId);
  }

  /** Waits for the order. */
  start(): SetupStep {
    if (this.state !== 'new') throw new Error('MakerSetup.start() called twice');
    this.state = 'awaitOrder';
    return step();
  }

  protected onRoleMessage(message: SetupMessage): SetupStep {
    if (message.type !== 'order') throw new Abort(`unexpected '${message.type}' message`);
    return this.#onOrder(message);
  }

  #onOrder(order: OrderMsg): SetupStep {
    const named = this.#named(order.offerId);
    const reject = (reason: string) =>
      this.rejected(reason, [{ type: 'decision', accept: false, reason }]);
    if (!named) return reject(`offer ${order.offerId} is not (or no longer) offered`);
    const offer = named.offer;
    try {
      checkSlippage(offer, named.current, order.maxSlippageBps ?? 0);
      validateOrder(
        offer,
        {
          offerId: order.offerId,
          symbol: offer.symbol,
          quantity: order.quantity,
          leverage: order.leverage,
        },
        this.now,
        this.policy,
      );
    } catch (err) {
      return reject((err as Error).message);
    }
    this.offer = offer;
    this.terms = this.buildTerms(offer, {
      id: order.orderId,
      quantity: order.quantity,
      leverage: order.leverage,
    });
    this.placed = true;
    this.state = 'deciding';
    return step([], {
      effects: [{ type: 'record', command: { type: 'placeOrder', terms: this.terms } }],
      request: { type: 'decide', terms: this.terms },
    });
  }

  protected onRoleResult(result: SetupResult): SetupStep {
    const reject = (reason: string) =>
      this.rejected(reason, [{ type: 'decision', accept: false, reason }]);
    switch (this.state) {
      case 'deciding': {
        if (result.type === 'requestFailed') return reject(result.reason);
        const d = this.expectResult(result, 'decided');
        if (!d.accept) return reject(d.reason);
        this.state = 'funding';
        return step([], { request: this.fundRequest() });
      }
      case 'funding':
        if (result.type === 'requestFailed') {
          return reject(`the maker cannot fund this order now: ${result.reason}`);
        }
        this.state = 'announcing';
        return step([], { request: this.onFunded(result) });
      case 'announcing':
        if (result.type === 'requestFailed') {
          return reject(
            `the maker has no oracle announcement for the settlement event: ${result.reason}`,
          );
        }
        this.onAnnounced(result);
        this.state = 'awaitParams';
        return step(
          [
            {
              type: 'decision',
              accept: true,
              cetTimelock: this.timelocks.cet,
              refundTimelock: this.timelocks.refund,
            },
            this.ownParams!,
          ],
          { effects: [{ type: 'record', command: { type: 'startContractSetup' } }] },
        );
      default:
        throw new Abort(`internal: a '${result.type}' result in state ${this.state}`);
    }
  }
}

/** Either role's machine. */
export type OrderSetupMachine = TakerSetup | MakerSetup;
