// One thing over 600 lines: both roles run one sequence (decide, announcements, build and sign on the old lock, pending record, revocation, final record) as steps of the base class, each effect, request and result type beside the step that makes it; split by role or step, one message would span files.
/**
 * The IO-free state machines of `/dlcfd/rollover/1.0.0` (taker proposes, maker decides). Same
 * step model as contract setup (`protocols/order/setup.ts`): each input — a peer message or the
 * result of a request — yields effects (record a CFD command, persist the contract record, run in
 * order and awaited), then messages, then a request, an outcome, or a wait for the next message.
 * Anything the driver sees go wrong goes in through `fail`. No clock, no randomness, no IO: keys
 * and `now` come with the init.
 *
 * Sequence (both build and sign concurrently):
 * ```
 * T: record RolloverStarted                      → propose{cfdId, fromCommitTxid}
 * M: decide (open? our peer? commit known? rate)   ← maker's executor
 * M: announcements of the 25 events; record RolloverStarted+Accepted → decision, keys
 * T: check events window, rate age, fee rate, fee balance; record RolloverAccepted;
 *    announcements                               → keys
 * both: build commit/refund/CETs on the old lock, encrypt → signatures; verify the peer's
 * both: persist PENDING record (new current, old as `previous`)   — nothing revealed yet
 * T:                                             → revocation (taker first)
 * M: check the taker's secrets; persist FINAL record; record RolloverCompleted → revocation
 * T: check the maker's secrets; persist FINAL record; record RolloverCompleted
 * ```
 * Crash safety: each side holds the counterparty's new signatures durably (pending record)
 * before it reveals an old revocation secret, and the pending record already makes the new
 * commit current, so a restart never publishes a commit it revoked. Between "signatures
 * exchanged" and "secrets exchanged" both commits are valid; see `dlc/record.ts` for what the
 * next rollover does about it (start again from the oldest unfinished commit).
 */
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import type { ContractRecord } from '../../dlc/contract.ts';
import {
  type CommitKeys,
  commitKeysFromRecord,
  dlcSummary,
  type OracleEventPoints,
  oracleEventPoints,
} from '../../dlc/index.ts';
import {
  baseCommitOf,
  type CommitLink,
  finalRecord,
  withCounterpartyOnly,
  withUnfinished,
} from '../../dlc/record.ts';
import type { Cfd, CfdCommand, CfdTerms } from '../../model/cfd.ts';
import type { FeeBalance } from '../../model/fees.ts';
import { rolloverTermsOutsideLimits } from '../../model/limits.ts';
import { type OracleIndex, oracleEventTime, parseOracleEventId } from '../../model/oracle-event.ts';
import { product } from '../../model/product.ts';
import type { FeeRate, FundingRate, Role } from '../../model/units.ts';
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
  DEFAULT_EVENT_SPACING_SECS,
  DEFAULT_LIQUIDATION_EVENT_COUNT,
  DEFAULT_MAX_FEE_RATE,
  DEFAULT_MAX_FUNDING_RATE,
  DEFAULT_MAX_FUNDING_RATE_AGE_SECS,
  DEFAULT_SETTLEMENT_WINDOW_SECS,
} from './constants.ts';
import {
  assembleRolledRecord,
  buildRolloverTransactions,
  type EventSchedule,
  feeBalanceAt,
  liquidationEventIds,
  nextSettlementEventId,
  type RolloverRules,
  type RolloverTransactions,
  rolledFeeBalance,
  rolloverEventPayouts,
  rolloverRules,
} from './contract.ts';
import type {
  CommitSignatureMsg,
  KeysMsg,
  ProposeMsg,
  RevocationMsg,
  RolloverDecisionMsg,
  RolloverMessage,
  RolloverMessageType,
  RolloverSignaturesMsg,
} from './messages.ts';

// ---- Inputs and outputs --------------------------------------------------------------------------

/** Fresh secrets of the new commit (identity stays: the lock is reused). */
export interface RolloverSecrets {
  readonly publish: Uint8Array;
  readonly revocation: Uint8Array;
}

/** What both sides must configure alike, and what a taker accepts. */
export interface RolloverConfig extends EventSchedule {
  /** Taker: how far the new settlement event may be from `now + settlementInterval`. */
  readonly settlementWindowSecs: number;
  /** Taker: the oldest funding rate it accepts (seconds). */
  readonly maxFundingRateAgeSecs: number;
  /** Taker: highest commit fee rate (sat/vB) it signs (its limits' `maxTxFeeRate`). */
  readonly maxFeeRate: FeeRate;
  /** Taker: largest absolute funding rate per settlement interval it accepts (its limits). */
  readonly maxFundingRate: FundingRate;
  /** Taker: lowest commit fee rate it signs: the chain's mempool minimum, read live. */
  readonly minFeeRate?: FeeRate;
}

export const DEFAULT_ROLLOVER_CONFIG: RolloverConfig = {
  liquidationEventCount: DEFAULT_LIQUIDATION_EVENT_COUNT,
  eventSpacingSecs: DEFAULT_EVENT_SPACING_SECS,
  settlementWindowSecs: DEFAULT_SETTLEMENT_WINDOW_SECS,
  maxFundingRateAgeSecs: DEFAULT_MAX_FUNDING_RATE_AGE_SECS,
  maxFeeRate: DEFAULT_MAX_FEE_RATE,
  maxFundingRate: DEFAULT_MAX_FUNDING_RATE,
};

export type RolloverEffect =
  | { readonly type: 'record'; readonly cfdId: string; readonly command: CfdCommand }
  | { readonly type: 'persist'; readonly record: ContractRecord };

export type RolloverRequest =
  /**
   * Maker: load the CFD and its record, check it can roll over now (model `decide` of
   * `startRollover`, without appending), ask the policy, and give today's rates.
   */
  | { readonly type: 'decide'; readonly cfdId: string; readonly fromCommitTxid: string }
  /** The oracle's verified announcements of these events. */
  | { readonly type: 'announcements'; readonly eventIds: readonly string[] }
  | EncryptRequest
  | VerifyRequest;

export type RolloverResult =
  | {
      readonly type: 'decided';
      readonly accept: true;
      readonly cfd: Cfd;
      readonly record: ContractRecord;
      readonly fundingRate: FundingRate;
      /** When the rate source set the rate (unix seconds). */
      readonly fundingRateAsOf: number;
      readonly feeRate: FeeRate;
    }
  | { readonly type: 'decided'; readonly accept: false; readonly reason: string }
  | {
      readonly type: 'announced';
      /** x-only olivia-v1 key. */
      readonly oraclePublicKey: Uint8Array;
      readonly events: readonly {
        readonly eventId: string;
        readonly nonces: readonly Uint8Array[];
      }[];
    }
  | AdaptorResult
  | { readonly type: 'requestFailed'; readonly reason: string };

export type RolloverOutcome =
  | {
      readonly type: 'completed';
      readonly cfdId: string;
      /** The final record (new commit current, old ones revoked). */
      readonly record: ContractRecord;
      /** The commit this rollover started from. */
      readonly baseCommitTxid: string;
      readonly fundingRate: FundingRate;
      readonly feeBalance: FeeBalance;
      readonly chargedSecs: number;
    }
  | { readonly type: 'rejected'; readonly reason: string }
  | {
      readonly type: 'failed';
      readonly reason: string;
      /**
       * The pending record (new commit current, old one as `previous`) was persisted: both
       * commits stay valid until a later rollover revokes them.
       */
      readonly pendingPersisted: boolean;
      /** We revealed our old revocation secret(s): we must never publish the old commit. */
      readonly revealed: boolean;
    };

/** Moves rollover messages; every call is bounded in time by the transport itself. */
export type RolloverTransport = Transport<RolloverMessage, RolloverMessageType>;

/** Does what the machine asks. */
export type RolloverExecutor = Executor<RolloverEffect, RolloverRequest, RolloverResult>;

/** One step of the rollover machine. */
export type RolloverStep = MachineStep<
  RolloverEffect,
  RolloverMessage,
  RolloverRequest,
  RolloverOutcome
>;

export type RolloverState =
  | 'new'
  | 'awaitPropose'
  | 'deciding'
  | 'awaitDecision'
  | 'announcing'
  | 'awaitKeys'
  | 'signing'
  | 'awaitSignatures'
  | 'verifying'
  | 'awaitCommitSignature'
  | 'awaitRevocation'
  | 'done';

const EXPECTED: Partial<Record<RolloverState, RolloverMessageType>> = {
  awaitPropose: 'propose',
  awaitDecision: 'decision',
  awaitKeys: 'keys',
  awaitSignatures: 'signatures',
  awaitCommitSignature: 'commitSignature',
  awaitRevocation: 'revocation',
};

const step: StepBuilder<RolloverEffect, RolloverMessage, RolloverRequest, RolloverOutcome> =
  machineStep;

const pub = (secret: Uint8Array): string => bytesToHex(secp256k1.getPublicKey(secret, true));

/** How rollover words a peer's CET that is not ours. */
const CET_WORDING: CetWording = {
  range: (j, eventId, c) => `the peer's CET ${j} of ${eventId} covers ${c.start}…${c.end}`,
  signatureCount: (count, c) => `the peer sent ${count} signatures for CET ${c.start}…${c.end}`,
};

/** What both sides agree on once the decision is out. */
interface Agreed {
  readonly settlementEventId: string;
  readonly liquidationEventIds: readonly string[];
  readonly feeRate: FeeRate;
  readonly fundingRate: FundingRate;
  readonly feeBalance: FeeBalance;
  readonly baseFeeBalance: FeeBalance;
  readonly chargedSecs: number;
}

// ---- The shared machine --------------------------------------------------------------------------

abstract class Rollover extends StateMachine<
  RolloverState,
  RolloverMessage,
  RolloverEffect,
  RolloverRequest,
  RolloverResult,
  RolloverOutcome
> {
  readonly role: Role;
  protected readonly secrets: RolloverSecrets;
  protected readonly now: number;
  protected readonly config: RolloverConfig;
  protected id: string | undefined;
  protected terms: CfdTerms | undefined;
  protected old: ContractRecord | undefined;
  /** What we reveal, what we require, the base (see contract.ts `rolloverRules`). */
  protected rules: RolloverRules | undefined;
  /** The agreed base: the maker's rule, proven to the taker. */
  protected base: CommitLink | undefined;
  protected agreed: Agreed | undefined;
  /** RolloverStarted is in our log: a failure must be recorded. */
  protected started = false;
  protected revealed = false;
  protected pendingPersisted = false;
  #oracle = new Map<string, OracleEventPoints>();
  #theirKeys: KeysMsg | undefined;
  #tx: RolloverTransactions | undefined;
  #signing: ContractSigning | undefined;
  #pending: ContractRecord | undefined;
  #held: RolloverMessage | undefined;

  protected constructor(
    role: Role,
    secrets: RolloverSecrets,
    now: number,
    config?: Partial<RolloverConfig>,
  ) {
    super('new', EXPECTED);
    this.role = role;
    this.secrets = secrets;
    this.now = now;
    this.config = { ...DEFAULT_ROLLOVER_CONFIG, ...config };
  }

  get cfdId(): string | undefined {
    return this.id;
  }

  /**
   * Ends the run (timeout, reset, garbage, failed effect). A failed `startRollover` record means
   * the rollover never started in our log: nothing to record as failed.
   */
  fail(reason: string, failedEffect?: RolloverEffect): RolloverStep {
    if (this.outcome) return this.finished();
    if (failedEffect?.type === 'record' && failedEffect.command.type === 'startRollover') {
      this.started = false;
    }
    if (failedEffect?.type === 'record' && failedEffect.command.type === 'completeRollover') {
      this.started = false;
    }
    if (failedEffect?.type === 'persist' && this.state === 'awaitRevocation' && !this.outcome) {
      // The pending record did not become durable, so nothing was revealed after it.
      if (this.pendingRecord === failedEffect.record) {
        this.pendingPersisted = false;
        this.revealed = false;
      }
    }
    return this.failed(reason);
  }

  protected record(command: CfdCommand): RolloverEffect {
    return { type: 'record', cfdId: this.id!, command };
  }

  protected failed(reason: string): RolloverStep {
    const effects = this.started ? [this.record({ type: 'failRollover', reason })] : [];
    return this.end(
      { type: 'failed', reason, pendingPersisted: this.pendingPersisted, revealed: this.revealed },
      effects,
    );
  }

  protected rejected(reason: string, send: RolloverMessage[] = []): RolloverStep {
    const effects = this.started ? [this.record({ type: 'rejectRollover', reason })] : [];
    return this.end({ type: 'rejected', reason }, effects, send);
  }

  /** Starts from `record` and the proposed commit, or says why not. */
  protected useRecord(record: ContractRecord, proposedTxid: string): string | undefined {
    const { rules, reason } = rolloverRules(record, proposedTxid);
    if (!rules) return reason;
    this.old = record;
    this.rules = rules;
    return undefined;
  }

  protected eventIds(): string[] {
    const a = this.agreed!;
    return [...a.liquidationEventIds, a.settlementEventId];
  }

  protected announcementsRequest(): RolloverRequest {
    return { type: 'announcements', eventIds: this.eventIds() };
  }

  protected onAnnounced(result: RolloverResult): void {
    const a = this.expectResult(result, 'announced');
    for (const id of this.eventIds()) {
      const e = a.events.find((x) => x.eventId === id);
      if (!e) throw new Abort(`no oracle announcement of ${id}`);
      this.#oracle.set(id, oracleEventPoints(a.oraclePublicKey, e.nonces));
    }
  }

  protected ownKeys(): KeysMsg {
    return {
      type: 'keys',
      publishPk: pub(this.secrets.publish),
      revocationPk: pub(this.secrets.revocation),
    };
  }

  /** The peer's new keys: build every new transaction and ask for our CET signatures. */
  protected onKeys(theirs: KeysMsg): RolloverStep {
    assertPoint(theirs.publishPk, 'publish key');
    assertPoint(theirs.revocationPk, 'revocation key');
    const old = this.old!;
    const used = new Set<string>();
    for (let r: ContractRecord | undefined = old; r; r = r.previous) {
      for (const k of [r.keys.maker, r.keys.taker]) {
        used.add(k.identity).add(k.publish).add(k.revocation);
      }
      for (const v of r.revoked) {
        for (const k of [v.keys.maker, v.keys.taker]) used.add(k.publish).add(k.revocation);
      }
    }
    const own = this.ownKeys();
    for (const k of [theirs.publishPk, theirs.revocationPk]) {
      if (used.has(k) || k === own.publishPk || k === own.revocationPk) {
        throw new Abort("the peer's new keys repeat keys of this contract");
      }
    }
    if (theirs.publishPk === theirs.revocationPk)
      throw new Abort("the peer's two new keys are one");
    const identities = commitKeysFromRecord(old.keys);
    const mine = { publish: hexToBytes(own.publishPk), revocation: hexToBytes(own.revocationPk) };
    const their = {
      publish: hexToBytes(theirs.publishPk),
      revocation: hexToBytes(theirs.revocationPk),
    };
    const keys: CommitKeys =
      this.role === 'maker'
        ? {
            maker: { identity: identities.maker.identity, ...mine },
            taker: { identity: identities.taker.identity, ...their },
          }
        : {
            maker: { identity: identities.maker.identity, ...their },
            taker: { identity: identities.taker.identity, ...mine },
          };
    const a = this.agreed!;
    const events = rolloverEventPayouts({
      terms: this.terms!,
      feeBalance: a.feeBalance,
      settlementEventId: a.settlementEventId,
      liquidationEventIds: a.liquidationEventIds,
    });
    const tx = buildRolloverTransactions(old, keys, a.feeRate, events);
    this.#theirKeys = theirs;
    this.#tx = tx;
    this.#signing = new ContractSigning({
      tx,
      lockTxid: old.lock.txid,
      role: this.role,
      identity: hexToBytes(old.identitySk),
      oracle: (eventId) => this.#oracle.get(eventId)!,
      wording: CET_WORDING,
    });
    this.state = 'signing';
    return step([], { request: this.#signing.encryptRequest() });
  }

  /**
   * Our signatures are ready. The taker's CET and refund signatures go first, without its commit
   * signature; before they leave it stores its revocation secret of the new commit
   * (`unfinished`), so whatever happens next it can revoke that commit in a later rollover. The
   * maker holds its signatures (commit included) until it has verified the taker's and stored
   * them; the taker sends its commit signature only once it holds all of the maker's. So whoever
   * can publish the new commit, the other already holds every CET and refund signature of it.
   */
  protected onEncrypted(result: RolloverResult): RolloverStep {
    const { signatures } = this.expectResult(result, 'encrypted');
    const message = this.#signing!.sign(signatures);
    this.state = 'awaitSignatures';
    if (this.role === 'maker') {
      this.#held = message;
      return step();
    }
    const { commit: _commit, ...withoutCommit } = message;
    const unfinished = withUnfinished(this.old!, {
      txid: this.#tx!.commit.tx.getId(),
      ownRevocationSk: bytesToHex(this.secrets.revocation),
    });
    return step([withoutCommit], { effects: [{ type: 'persist', record: unfinished }] });
  }

  /** The maker's signatures, held until the taker's are stored. */
  protected takeHeld(): RolloverMessage[] {
    const held = this.#held;
    this.#held = undefined;
    return held ? [held] : [];
  }

  protected onSignatures(theirs: RolloverSignaturesMsg): RolloverStep {
    if (this.role === 'taker' && theirs.commit === undefined) {
      throw new Abort("the maker's signatures carry no commit signature");
    }
    if (this.role === 'maker' && theirs.commit !== undefined) {
      throw new Abort("the taker's commit signature must come after the maker's signatures");
    }
    const request = this.#signing!.check(theirs);
    this.state = 'verifying';
    return step([], { request });
  }

  /** The new record from what is signed so far (the counterparty's commit signature may lack). */
  #assemble(): ContractRecord {
    const a = this.agreed!;
    const signing = this.#signing!;
    return assembleRolledRecord({
      old: this.old!,
      tx: this.#tx!,
      secrets: this.secrets,
      settlementEventId: a.settlementEventId,
      ownCommitAdaptorSignature: signing.ownCommit,
      counterparty: signing.counterparty,
      feeBalance: a.feeBalance,
      baseFeeBalance: a.baseFeeBalance,
      baseTxid: this.base!.txid,
    });
  }

  /**
   * The counterparty's CET and refund signatures verified. Taker (it has the maker's commit
   * signature too): persist the pending record — nothing revealed yet. Maker: persist the new
   * commit as one only the taker can publish (`counterpartyOnly`, followed and closed through its
   * own CETs and refund); the pending record waits for the taker's commit signature.
   */
  protected onVerified(result: RolloverResult): RolloverStep {
    const { verdicts } = this.expectResult(result, 'verified');
    assertVerified(verdicts);
    if (this.role === 'maker') {
      this.state = 'awaitCommitSignature';
      const record = withCounterpartyOnly(this.old!, this.#assemble());
      return step([], { effects: [{ type: 'persist', record }] });
    }
    this.#pending = this.#assemble();
    this.state = 'awaitRevocation';
    return step([], { effects: [{ type: 'persist', record: this.#pending }] });
  }

  /** Maker: the taker's commit signature: now the new commit is ours to publish too. */
  protected onCommitSignature(msg: CommitSignatureMsg): RolloverStep {
    this.#signing!.checkCommit(msg.commit);
    this.#pending = this.#assemble();
    this.state = 'awaitRevocation';
    this.pendingIsPersisted();
    return step([], { effects: [{ type: 'persist', record: this.#pending }] });
  }

  /** Taker: our commit signature, once the pending record holds all of the maker's. */
  protected commitSignature(): CommitSignatureMsg {
    return { type: 'commitSignature', commit: bytesToHex(this.#signing!.ownCommit) };
  }

  /** Marks the pending record durable (the driver ran the persist effect). */
  protected pendingIsPersisted(): void {
    this.pendingPersisted = true;
  }

  /** Our revocation secrets of the commits from the proposed one on, and of unfinished ones. */
  protected revocation(): RevocationMsg {
    const secrets = this.rules!.reveal.map((l) => ({
      commitTxid: l.txid,
      secret: l.ownRevocationSk,
    }));
    for (const u of this.old!.unfinished ?? []) {
      if (!secrets.some((x) => x.commitTxid === u.txid)) {
        secrets.push({ commitTxid: u.txid, secret: u.ownRevocationSk });
      }
    }
    return { type: 'revocation', secrets };
  }

  /**
   * The peer's old revocation secrets: every one of a commit we know must open that commit's
   * revocation key, and every commit we still hold live must have one — else the peer keeps a
   * commit we could not punish. Then persist the final record and complete.
   */
  protected onRevocation(msg: RevocationMsg, send: RolloverMessage[] = []): RolloverStep {
    this.pendingPersisted = true;
    const known = new Map<string, CommitLink>();
    for (const l of [...this.rules!.reveal, ...this.rules!.required]) known.set(l.txid, l);
    const checked = new Map<string, string>();
    for (const { commitTxid, secret } of msg.secrets) {
      const link = known.get(commitTxid);
      if (!link) continue; // a commit of theirs we never held: nothing to punish with it
      let pk: string;
      try {
        pk = pub(hexToBytes(secret));
      } catch {
        throw new Abort(`the peer's revocation secret of ${commitTxid} is not a secret key`);
      }
      if (pk !== link.theirRevocationPk) {
        throw new Abort(`the peer's revocation secret of ${commitTxid} does not match its key`);
      }
      checked.set(commitTxid, secret);
    }
    for (const l of this.rules!.required) {
      if (!checked.has(l.txid)) {
        throw new Abort(`the peer did not revoke commit ${l.txid}, which it can still publish`);
      }
    }
    const record = finalRecord(this.#pending!, checked);
    const a = this.agreed!;
    return this.end(
      {
        type: 'completed',
        cfdId: this.id!,
        record,
        baseCommitTxid: this.base!.txid,
        fundingRate: a.fundingRate,
        feeBalance: a.feeBalance,
        chargedSecs: a.chargedSecs,
      },
      [
        { type: 'persist', record },
        this.record({
          type: 'completeRollover',
          dlc: dlcSummary(record),
          fundingRate: a.fundingRate,
          // From the base, not the aggregate's contract: they differ after a missed rollover end.
          base: {
            settlementEventId: this.base!.settlementEventId,
            feeBalance: a.baseFeeBalance,
          },
          revokedCommitTxids: record.revoked.map((r) => r.txid),
        }),
      ],
      send,
    );
  }

  protected get pendingRecord(): ContractRecord | undefined {
    return this.#pending;
  }

  protected get theirKeys(): KeysMsg | undefined {
    return this.#theirKeys;
  }
}

// ---- Taker ----------------------------------------------------------------------------------------

export interface TakerRolloverInit {
  /** The CFD as the taker's log has it (must be able to roll over). */
  readonly cfd: Cfd;
  /** Its stored contract record. */
  readonly record: ContractRecord;
  readonly secrets: RolloverSecrets;
  /** Unix seconds. */
  readonly now: number;
  readonly config?: Partial<RolloverConfig>;
}

/**
 * The taker's side. It proposes from the oldest commit of its record's `previous` chain (its
 * last completed commit), so a taker whose earlier rollover broke off after signing catches up.
 */
export class TakerRollover extends Rollover {
  readonly #propose: ProposeMsg;

  constructor(init: TakerRolloverInit) {
    super('taker', init.secrets, init.now, init.config);
    const terms = init.cfd.terms;
    if (terms?.role !== 'taker') throw new Error('TakerRollover needs a taker CFD');
    if (init.record.cfdId !== terms.id) throw new Error('the record is of another CFD');
    this.id = terms.id;
    this.terms = terms;
    const base = baseCommitOf(init.record);
    const why = this.useRecord(init.record, base);
    if (why) throw new Error(why);
    this.#propose = { type: 'propose', cfdId: terms.id, fromCommitTxid: base, timestamp: init.now };
  }

  /** Records RolloverStarted and proposes. */
  start(): RolloverStep {
    if (this.state !== 'new') throw new Error('TakerRollover.start() called twice');
    this.started = true;
    this.state = 'awaitDecision';
    return step([this.#propose], {
      effects: [this.record({ type: 'startRollover', proposedBy: 'taker' })],
    });
  }

  protected onMessage(message: RolloverMessage): RolloverStep {
    switch (message.type) {
      case 'decision':
        return this.#onDecision(message);
      case 'keys':
        return this.onKeys(message);
      case 'signatures':
        return this.onSignatures(message);
      case 'revocation':
        return this.onRevocation(message);
      default:
        throw new Abort(`unexpected '${message.type}' message`);
    }
  }

  #onDecision(d: RolloverDecisionMsg): RolloverStep {
    if (!d.accept) return this.rejected(d.reason || 'the maker rejected the rollover');
    const t = this.terms!;
    const c = this.config;
    let settlementTime: number;
    let index: OracleIndex;
    try {
      ({ unixSeconds: settlementTime, index } = parseOracleEventId(d.settlementEventId));
    } catch (err) {
      throw new Abort((err as Error).message);
    }
    // The maker picks the event: it must attest this contract's index (BXBT for BTCUSD, BETH for
    // ETHUSD), or the CETs would pay out at another asset's price.
    const expectedIndex = product(t.symbol).oracleIndex;
    if (index !== expectedIndex) {
      throw new Abort(
        `the new settlement event ${d.settlementEventId} is not a ${expectedIndex} event (${t.symbol})`,
      );
    }
    const target = this.now + t.settlementIntervalSecs;
    if (Math.abs(settlementTime - target) > c.settlementWindowSecs) {
      throw new Abort(
        `the new settlement event ${d.settlementEventId} is out of window: ${settlementTime - this.now} s from now, expected ${t.settlementIntervalSecs} ± ${c.settlementWindowSecs}`,
      );
    }
    const base = this.#agreedBase(d);
    if (settlementTime <= oracleEventTime(base.settlementEventId)) {
      throw new Abort('the new settlement event is not after the current one');
    }
    const expected = liquidationEventIds(d.settlementEventId, c);
    if (
      d.liquidationEventIds.length !== expected.length ||
      d.liquidationEventIds.some((id, i) => id !== expected[i])
    ) {
      throw new Abort(
        `the liquidation events are not the ${expected.length} events every ${c.eventSpacingSecs} s before settlement`,
      );
    }
    if (
      d.fundingRateAsOf > this.now + 300 ||
      this.now - d.fundingRateAsOf > c.maxFundingRateAgeSecs
    ) {
      throw new Abort(
        `the funding rate is stale: set ${this.now - d.fundingRateAsOf} s ago, at most ${c.maxFundingRateAgeSecs} s allowed`,
      );
    }
    const fundingRate = d.fundingRate as FundingRate;
    if (d.feeRate < 1n) throw new Abort(`the fee rate ${d.feeRate} sat/vB is below 1`);
    // The taker's limits, before anything is recorded as accepted or signed.
    const outside = rolloverTermsOutsideLimits({ fundingRate, feeRate: d.feeRate }, c);
    if (outside) throw new Abort(outside);
    const baseFeeBalance = feeBalanceAt(this.old!, t, base.txid);
    if (baseFeeBalance === undefined) throw new Abort(`no fee balance of the base ${base.txid}`);
    const { feeBalance, chargedSecs } = rolledFeeBalance({
      terms: t,
      base: baseFeeBalance,
      fromEventId: base.settlementEventId,
      toEventId: d.settlementEventId,
      rate: fundingRate,
      now: this.now,
    });
    if (feeBalance !== d.feeBalance) {
      throw new Abort(`the maker's fee balance ${d.feeBalance} is not ours (${feeBalance})`);
    }
    this.base = base;
    this.agreed = {
      settlementEventId: d.settlementEventId,
      liquidationEventIds: d.liquidationEventIds,
      feeRate: d.feeRate,
      fundingRate,
      feeBalance,
      baseFeeBalance,
      chargedSecs,
    };
    this.state = 'announcing';
    return step([], {
      effects: [this.record({ type: 'acceptRollover' })],
      request: this.announcementsRequest(),
    });
  }

  /**
   * The maker's base must be one of our live commits, and every commit of ours before it must be
   * revoked at the maker — proven by our own revocation secret of each, which only a maker we
   * revealed it to holds. So the base follows the rule, not the maker's pick.
   */
  #agreedBase(d: Extract<RolloverDecisionMsg, { accept: true }>): CommitLink {
    const rules = this.rules!;
    const i = rules.reveal.findIndex((l) => l.txid === d.baseCommitTxid);
    const base = rules.reveal[i];
    if (!base || !rules.required.some((l) => l.txid === base.txid)) {
      throw new Abort(`the maker's base ${d.baseCommitTxid} is not a live commit of ours`);
    }
    for (const l of rules.reveal.slice(0, i)) {
      const proof = d.revokedBefore.find((p) => p.commitTxid === l.txid);
      if (proof?.secret !== l.ownRevocationSk) {
        throw new Abort(
          `the maker's base ${d.baseCommitTxid} skips commit ${l.txid} without proving it revoked`,
        );
      }
    }
    return base;
  }

  protected onResult(result: RolloverResult): RolloverStep {
    switch (this.state) {
      case 'announcing':
        this.onAnnounced(result);
        this.state = 'awaitKeys';
        return step([this.ownKeys()]);
      case 'signing':
        return this.onEncrypted(result);
      case 'verifying': {
        const s = this.onVerified(result);
        // Pending record persisted by the driver before this step's messages leave: our commit
        // signature, then reveal.
        this.revealed = true;
        this.pendingIsPersisted();
        return { ...s, send: [this.commitSignature(), this.revocation()] };
      }
      default:
        throw new Abort(`internal: a '${result.type}' result in state ${this.state}`);
    }
  }

  /** The machine's record of the pending contract, for tests and recovery. */
  get pending(): ContractRecord | undefined {
    return this.pendingRecord;
  }
}

// ---- Maker ----------------------------------------------------------------------------------------

export interface MakerRolloverInit {
  readonly secrets: RolloverSecrets;
  /** Unix seconds. */
  readonly now: number;
  /** The taker's PeerId (from the connection): the CFD must be with it. */
  readonly counterpartyPeerId: string;
  readonly config?: Partial<RolloverConfig>;
}

/**
 * The maker's side: reads the proposal, asks its executor whether the CFD can roll over (and for
 * the rates), finds the taker's base commit among its current, pending and revoked commits,
 * supplies the events and rates, and reveals its secrets of every commit from the base on.
 */
export class MakerRollover extends Rollover {
  readonly #peer: string;
  #proposal: ProposeMsg | undefined;
  #decision: Extract<RolloverDecisionMsg, { accept: true }> | undefined;

  constructor(init: MakerRolloverInit) {
    super('maker', init.secrets, init.now, init.config);
    this.#peer = init.counterpartyPeerId;
  }

  start(): RolloverStep {
    if (this.state !== 'new') throw new Error('MakerRollover.start() called twice');
    this.state = 'awaitPropose';
    return step();
  }

  protected onMessage(message: RolloverMessage): RolloverStep {
    switch (message.type) {
      case 'propose':
        this.#proposal = message;
        this.state = 'deciding';
        return step([], {
          request: { type: 'decide', cfdId: message.cfdId, fromCommitTxid: message.fromCommitTxid },
        });
      case 'keys':
        return this.onKeys(message);
      case 'signatures':
        return this.onSignatures(message);
      case 'commitSignature':
        return this.onCommitSignature(message);
      case 'revocation': {
        // Persisted final record and RolloverCompleted come first (the step's effects), then ours.
        return this.onRevocation(message, [this.revocation()]);
      }
      default:
        throw new Abort(`unexpected '${message.type}' message`);
    }
  }

  #reject(reason: string): RolloverStep {
    return this.rejected(reason, [{ type: 'decision', accept: false, reason }]);
  }

  protected onResult(result: RolloverResult): RolloverStep {
    switch (this.state) {
      case 'deciding':
        return this.#onDecided(result);
      case 'announcing':
        if (result.type === 'requestFailed') {
          return this.#reject(
            `the maker has no oracle announcements for the rollover: ${result.reason}`,
          );
        }
        this.onAnnounced(result);
        this.started = true;
        this.state = 'awaitKeys';
        return step([this.#decision!, this.ownKeys()], {
          effects: [
            this.record({ type: 'startRollover', proposedBy: 'taker' }),
            this.record({ type: 'acceptRollover' }),
          ],
        });
      case 'signing':
        return this.onEncrypted(result);
      case 'verifying': {
        // The taker's signatures are stored (the step's effect) before our held ones leave.
        const s = this.onVerified(result);
        return { ...s, send: this.takeHeld() };
      }
      default:
        throw new Abort(`internal: a '${result.type}' result in state ${this.state}`);
    }
  }

  #onDecided(result: RolloverResult): RolloverStep {
    if (result.type === 'requestFailed') return this.#reject(result.reason);
    const d = this.expectResult(result, 'decided');
    if (!d.accept) return this.#reject(d.reason);
    const p = this.#proposal!;
    const t = d.cfd.terms;
    if (!t || t.id !== p.cfdId || t.role !== 'maker' || d.record.cfdId !== p.cfdId) {
      return this.#reject(`no CFD ${p.cfdId} with this taker`);
    }
    if (t.counterpartyPeerId !== this.#peer)
      return this.#reject(`no CFD ${p.cfdId} with this taker`);
    this.id = t.id;
    this.terms = t;
    const why = this.useRecord(d.record, p.fromCommitTxid);
    if (why) return this.#reject(why);
    const rules = this.rules!;
    const base = rules.base;
    this.base = base;
    const revokedBefore: { commitTxid: string; secret: string }[] = [];
    for (const l of rules.reveal) {
      if (l === base) break;
      // Skipped only because revoked here: we hold the taker's secret of it.
      const secret = (l.revoked as { counterpartyRevocationSk?: string }).counterpartyRevocationSk;
      if (!l.alreadyRevoked || !secret) return this.#reject(`commit ${l.txid} is not revoked`);
      revokedBefore.push({ commitTxid: l.txid, secret });
    }
    const c = this.config;
    const settlementEventId = nextSettlementEventId(
      this.now,
      t.settlementIntervalSecs,
      c.eventSpacingSecs,
      product(t.symbol).oracleIndex,
    );
    const baseFeeBalance = feeBalanceAt(d.record, t, base.txid);
    if (baseFeeBalance === undefined)
      return this.#reject(`no fee balance of the base ${base.txid}`);
    const { feeBalance, chargedSecs } = rolledFeeBalance({
      terms: t,
      base: baseFeeBalance,
      fromEventId: base.settlementEventId,
      toEventId: settlementEventId,
      rate: d.fundingRate,
      now: this.now,
    });
    const liquidation = liquidationEventIds(settlementEventId, c);
    this.agreed = {
      settlementEventId,
      liquidationEventIds: liquidation,
      feeRate: d.feeRate,
      fundingRate: d.fundingRate,
      feeBalance,
      baseFeeBalance,
      chargedSecs,
    };
    this.#decision = {
      type: 'decision',
      accept: true,
      settlementEventId,
      liquidationEventIds: liquidation,
      feeRate: d.feeRate,
      fundingRate: d.fundingRate,
      fundingRateAsOf: d.fundingRateAsOf,
      feeBalance,
      baseCommitTxid: base.txid,
      revokedBefore,
    };
    this.state = 'announcing';
    return step([], { request: this.announcementsRequest() });
  }
}

/** Either role's machine. */
export type RolloverMachine = TakerRollover | MakerRollover;
