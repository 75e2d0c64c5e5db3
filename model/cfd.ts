/**
 * The CFD aggregate: commands in, events out, state folded from events.
 *
 * `decide(cfd, command, now)` checks a command against the current state and returns the events
 * it causes, or throws a named error and emits nothing. `apply(cfd, event)` folds one event into
 * the state and never fails: events are facts that were already persisted. Both are pure, so the
 * daemon, the UI projection and the tests all run the same rules.
 *
 * Observations of the chain or the oracle that are already recorded (a lock confirmed twice, an
 * attestation seen again after a restart) are idempotent and emit nothing; commands that
 * contradict the state (roll over a closed CFD, settle a committed one) are errors.
 */
import {
  IllegalCommandError,
  UnknownOracleEventError,
  UnknownRevokedCommitError,
} from './errors.ts';
import { type FeeBalance, initialFeeBalance, rolloverChargeSecs, signedFunding } from './fees.ts';
import { liquidatedSide } from './liquidation.ts';
import { oracleEventTime } from './oracle-event.ts';
import type {
  ContractSymbol,
  Contracts,
  FeeRate,
  FundingRate,
  Leverage,
  Position,
  Price,
  Role,
  Sats,
} from './units.ts';

/** The terms a CFD is created with; fixed for its life. */
export interface CfdTerms {
  /** The order id; identifies the CFD on both nodes. */
  readonly id: string;
  readonly offerId: string;
  /** Our role and our position in this contract. */
  readonly role: Role;
  readonly position: Position;
  readonly symbol: ContractSymbol;
  readonly initialPrice: Price;
  readonly quantity: Contracts;
  /** The taker's leverage (the maker trades at 1×). */
  readonly takerLeverage: Leverage;
  readonly fundingRate: FundingRate;
  readonly openingFee: Sats;
  readonly txFeeRate: FeeRate;
  readonly settlementIntervalSecs: number;
  /** The settlement event of the offer taken. */
  readonly oracleEventId: string;
  readonly counterpartyPeerId: string;
  /** Unix seconds. */
  readonly placedAt: number;
}

/** A signed transaction: txid plus the raw hex a node can broadcast. */
export interface SignedTx {
  readonly txid: string;
  readonly hex: string;
}

/**
 * What the aggregate needs to know about the current set of signed transactions. The full
 * signatures and scripts live with the DLC code; the aggregate only decides with these facts.
 */
export interface DlcSummary {
  readonly lockTxid: string;
  readonly commitTxid: string;
  /** The event the contract settles on, and every event whose CETs exist (liquidation events). */
  readonly settlementEventId: string;
  readonly oracleEventIds: readonly string[];
  /** Relative timelocks in blocks. */
  readonly cetTimelock: number;
  readonly refundTimelock: number;
  readonly makerLockAmount: Sats;
  readonly takerLockAmount: Sats;
}

export interface SettlementProposal {
  /** Closing price both sides agreed to compute payouts with. */
  readonly price: Price;
  readonly makerPayout: Sats;
  readonly takerPayout: Sats;
  readonly proposedBy: Role;
}

/**
 * A close transaction this node signed first (the taker signs before the maker): from the moment
 * our signature may have left, the counterparty can finalise and broadcast that close — and a close
 * spends the lock, which every rollover reuses, so without a bound it would stay valid for the
 * CFD's whole life, a free option on the old price. The bound: unless the close is seen on chain
 * (mempool or block) by `until`, this node publishes its commit, which spends the lock so the close
 * can never confirm (node/daemon/process-manager.ts). Until then no rollover or other settlement
 * starts (either would hand out more to choose from).
 */
export interface SignedClose {
  /** The close's txid (the unsigned one's: segwit txids exclude witnesses). Absent in old events. */
  readonly txid?: string;
  /** Unix seconds: the close must be on chain by then, or we commit. 0: at once (old events). */
  readonly until: number;
}

export interface FundingFeeCharge {
  /** Change of the fee balance (positive: long pays short). */
  readonly balanceChange: FeeBalance;
  readonly rate: FundingRate;
  readonly chargedSecs: number;
}

/** Every domain event of a CFD. `type` names what happened, in the past tense of a trader. */
export type CfdEvent =
  | { type: 'OrderPlaced'; data: { terms: CfdTerms } }
  | { type: 'OrderRejected'; data: { reason: string } }
  | { type: 'ContractSetupStarted'; data: Record<string, never> }
  | { type: 'ContractSetupCompleted'; data: { dlc: DlcSummary } }
  | { type: 'ContractSetupFailed'; data: { reason: string } }
  | { type: 'LockConfirmed'; data: Record<string, never> }
  | { type: 'RolloverStarted'; data: { proposedBy: Role } }
  | { type: 'RolloverAccepted'; data: Record<string, never> }
  | { type: 'RolloverRejected'; data: { reason: string } }
  | {
      type: 'RolloverCompleted';
      data: {
        dlc: DlcSummary;
        funding: FundingFeeCharge;
        /** Every commit this rollover revoked (absent in events written before catch-ups). */
        revokedCommitTxids?: readonly string[];
      };
    }
  | { type: 'RolloverFailed'; data: { reason: string } }
  | { type: 'CollaborativeSettlementStarted'; data: { proposal: SettlementProposal } }
  | {
      type: 'CollaborativeSettlementAccepted';
      /** `signedClose`: recorded by the first signer (the taker) before its signature leaves. */
      data: { signedClose?: SignedClose };
    }
  | { type: 'CollaborativeSettlementRejected'; data: { reason: string } }
  | { type: 'CollaborativeSettlementCompleted'; data: { closeTx: SignedTx; price: Price } }
  | { type: 'CollaborativeSettlementFailed'; data: { reason: string } }
  | {
      type: 'CollaborativeSettlementConfirmed';
      /**
       * Empty when this node recorded the close it signed; otherwise the close seen confirmed on
       * chain after its run failed here (it sent its signature, the other side broadcast), with
       * the price last proposed.
       */
      data: { closeTx?: SignedTx; price?: Price };
    }
  | {
      type: 'ManualCommit';
      /**
       * `byCounterparty`: the counterparty's commit, seen in the mempool without any of ours —
       * followed to confirmation as if ours (it may never pay for it).
       */
      data: { commitTx: SignedTx; byCounterparty?: true };
    }
  | {
      type: 'CommitConfirmed';
      /**
       * `txid`: which commit confirmed, when recorded (absent in older events, which mean the
       * contract's `dlc.commitTxid`). A rollover that failed after storing its pending record
       * leaves several commits valid on chain; the one that confirmed is the one to close through.
       */
      data: { txid?: string };
    }
  | { type: 'CetTimelockExpiredBeforeAttestation'; data: Record<string, never> }
  | { type: 'CetTimelockExpiredAfterAttestation'; data: { cet: SignedTx } }
  | {
      type: 'OracleAttestedBeforeCetTimelock';
      data: { eventId: string; price: Price; cet: SignedTx; commitTx?: SignedTx };
    }
  | {
      type: 'OracleAttestedAfterCetTimelock';
      data: { eventId: string; price: Price; cet: SignedTx };
    }
  | { type: 'CetConfirmed'; data: { txid: string } }
  | { type: 'RefundTimelockExpired'; data: { refundTx: SignedTx } }
  | { type: 'RefundConfirmed'; data: Record<string, never> }
  | { type: 'RevokedCommitSeen'; data: { txid: string } }
  | { type: 'PunishPublished'; data: { punishTx: SignedTx } }
  | { type: 'PunishConfirmed'; data: Record<string, never> }
  /**
   * A reorg disconnected the block that confirmed `txid` (lock, commit, CET, refund, punish or
   * close): its confirmation, and every fact that rested on it, no longer holds.
   */
  | { type: 'ConfirmationReorged'; data: { txid: string } };

export type CfdEventType = CfdEvent['type'];

/** Every event type, for exhaustive tables (codecs, projections, tests). */
export const CFD_EVENT_TYPES = [
  'OrderPlaced',
  'OrderRejected',
  'ContractSetupStarted',
  'ContractSetupCompleted',
  'ContractSetupFailed',
  'LockConfirmed',
  'RolloverStarted',
  'RolloverAccepted',
  'RolloverRejected',
  'RolloverCompleted',
  'RolloverFailed',
  'CollaborativeSettlementStarted',
  'CollaborativeSettlementAccepted',
  'CollaborativeSettlementRejected',
  'CollaborativeSettlementCompleted',
  'CollaborativeSettlementFailed',
  'CollaborativeSettlementConfirmed',
  'ManualCommit',
  'CommitConfirmed',
  'CetTimelockExpiredBeforeAttestation',
  'CetTimelockExpiredAfterAttestation',
  'OracleAttestedBeforeCetTimelock',
  'OracleAttestedAfterCetTimelock',
  'CetConfirmed',
  'RefundTimelockExpired',
  'RefundConfirmed',
  'RevokedCommitSeen',
  'PunishPublished',
  'PunishConfirmed',
  'ConfirmationReorged',
] as const satisfies readonly CfdEventType[];

/** Every command the aggregate accepts. */
export type CfdCommand =
  | { type: 'placeOrder'; terms: CfdTerms }
  | { type: 'rejectOrder'; reason: string }
  | { type: 'startContractSetup' }
  | { type: 'completeContractSetup'; dlc: DlcSummary }
  | { type: 'failContractSetup'; reason: string }
  | { type: 'confirmLock' }
  | { type: 'startRollover'; proposedBy: Role }
  | { type: 'acceptRollover' }
  | { type: 'rejectRollover'; reason: string }
  | {
      type: 'completeRollover';
      dlc: DlcSummary;
      fundingRate: FundingRate;
      /**
       * The commit the rollover started from and the fee balance its curve carried. A taker that
       * missed the end of an earlier rollover rolls over from its last completed commit, which the
       * maker had already replaced: funding is then charged from that commit's settlement event
       * onto that balance — what both sides' new curve carries — not from the aggregate's current
       * contract, or the maker's fee balance would drift from its own payouts (a rate change
       * between the two rollovers makes the sums differ). @default the current contract and balance
       */
      base?: { settlementEventId: string; feeBalance: FeeBalance };
      /**
       * Every commit whose counterparty revocation secret we now hold. A catch-up revokes commits
       * the aggregate never had as its contract (the taker's pending ones): without them here, a
       * publication of one would not be recognised as punishable. @default the current commit
       */
      revokedCommitTxids?: readonly string[];
    }
  | { type: 'failRollover'; reason: string }
  | { type: 'proposeSettlement'; proposal: SettlementProposal }
  /**
   * The settlement is accepted. `signedClose`: this node's close signature leaves next, so the
   * counterparty may hold a close it can broadcast; the bound on that (see {@link SignedClose}).
   */
  | { type: 'acceptSettlement'; signedClose?: SignedClose }
  | { type: 'rejectSettlement'; reason: string }
  | { type: 'completeSettlement'; closeTx: SignedTx; price: Price }
  | { type: 'failSettlement'; reason: string }
  /**
   * The close confirmed. `closeTx` is for a close this node did not record completing: its run
   * failed after it signed, and the counterparty broadcast the close anyway.
   */
  | { type: 'confirmSettlement'; closeTx?: SignedTx }
  /** Force close; `byCounterparty`: adopting the counterparty's commit seen in the mempool. */
  | { type: 'commit'; commitTx: SignedTx; byCounterparty?: true }
  /**
   * A commit spent the lock and confirmed. `txid`: which one — `dlc.commitTxid` or a live commit
   * of a rollover that did not complete here (the contract record's current or `previous` ones).
   * @default dlc.commitTxid
   */
  | { type: 'confirmCommit'; txid?: string }
  | { type: 'expireCetTimelock' }
  | {
      type: 'attest';
      eventId: string;
      price: Price;
      cet: SignedTx;
      /**
       * The commit to publish before the CET, unless a commit is already out. Absent for a commit
       * only the counterparty can publish (a rollover's new commit the maker closes through
       * before it has the taker's commit signature): then it must be out already.
       */
      commitTx?: SignedTx;
      /**
       * The events of the commit `cet` spends, when that is not the contract the log names (a live
       * commit of a rollover that did not complete here, from the contract record).
       * @default dlc.oracleEventIds
       */
      oracleEventIds?: readonly string[];
    }
  | { type: 'confirmCet'; txid: string }
  | { type: 'expireRefundTimelock'; refundTx: SignedTx }
  | { type: 'confirmRefund' }
  /**
   * `inRecord`: the contract record holds the counterparty's revocation secret of `txid` though
   * the log never recorded the rollover that revoked it (its run failed after the final record
   * was stored). @default false: `txid` must be one of `revokedCommitTxids`
   */
  | { type: 'seeRevokedCommit'; txid: string; inRecord?: boolean }
  | { type: 'publishPunish'; punishTx: SignedTx }
  /** The punish published again at a higher fee (BIP125 replacement: the old one can no longer confirm). */
  | { type: 'replacePunish'; punishTx: SignedTx }
  | { type: 'confirmPunish' }
  /** The chain monitor saw the block confirming `txid` disconnected. */
  | { type: 'unconfirm'; txid: string };

export type CfdCommandType = CfdCommand['type'];

export type SetupPhase = 'none' | 'pending' | 'started' | 'completed' | 'failed' | 'rejected';
export type Settled = 'collaborative' | 'cet' | 'refund' | 'punish';

/** The state of one CFD, folded from its events. */
export interface Cfd {
  /** Number of events applied; the expected version for the next append. */
  readonly version: number;
  readonly terms: CfdTerms | undefined;
  readonly setup: SetupPhase;
  readonly failureReason: string | undefined;
  readonly dlc: DlcSummary | undefined;
  /** Commit txids of earlier DLCs whose revocation secrets we hold. */
  readonly revokedCommitTxids: readonly string[];
  readonly feeBalance: FeeBalance;
  readonly fundingRate: FundingRate | undefined;
  readonly lockConfirmed: boolean;
  readonly rollover: 'started' | 'accepted' | undefined;
  readonly rolloverProposedBy: Role | undefined;
  readonly settlement: { proposal: SettlementProposal; accepted: boolean } | undefined;
  readonly closeTx: SignedTx | undefined;
  readonly closePrice: Price | undefined;
  /** The price of the last settlement proposal, kept when its run fails or is rejected. */
  readonly lastSettlementPrice: Price | undefined;
  /**
   * The last close this node signed first, kept after its run failed; it matters while
   * {@link outstandingSignedClose} says so.
   */
  readonly signedClose: SignedClose | undefined;
  readonly commitTx: SignedTx | undefined;
  /** `commitTx` is the counterparty's, adopted from the mempool (not a force close of ours). */
  readonly commitByCounterparty: boolean;
  readonly commitConfirmed: boolean;
  /** Which commit confirmed, when recorded; else (older events) `dlc.commitTxid`. */
  readonly confirmedCommitTxid: string | undefined;
  readonly cetTimelockExpired: boolean;
  readonly attestation: { eventId: string; price: Price } | undefined;
  readonly cet: SignedTx | undefined;
  readonly cetTxidConfirmed: string | undefined;
  readonly refundTimelockExpired: boolean;
  readonly refundTx: SignedTx | undefined;
  readonly revokedCommitSeen: string | undefined;
  readonly punishTx: SignedTx | undefined;
  /** How the contract finally settled on chain, once it did. */
  readonly settled: Settled | undefined;
  /** Transactions of this CFD whose confirmation a reorg undid (each once, in order). */
  readonly reorgedTxids: readonly string[];
}

/** The state before any event. */
export const EMPTY_CFD: Cfd = Object.freeze({
  version: 0,
  terms: undefined,
  setup: 'none',
  failureReason: undefined,
  dlc: undefined,
  revokedCommitTxids: [],
  feeBalance: 0n,
  fundingRate: undefined,
  lockConfirmed: false,
  rollover: undefined,
  rolloverProposedBy: undefined,
  settlement: undefined,
  closeTx: undefined,
  closePrice: undefined,
  lastSettlementPrice: undefined,
  signedClose: undefined,
  commitTx: undefined,
  commitByCounterparty: false,
  commitConfirmed: false,
  confirmedCommitTxid: undefined,
  cetTimelockExpired: false,
  attestation: undefined,
  cet: undefined,
  cetTxidConfirmed: undefined,
  refundTimelockExpired: false,
  refundTx: undefined,
  revokedCommitSeen: undefined,
  punishTx: undefined,
  settled: undefined,
  reorgedTxids: [],
});

// ---------------------------------------------------------------------------------------------
// apply

/** Folds one event into the state. Total: every event type is handled, none fails. */
export function apply(cfd: Cfd, event: CfdEvent): Cfd {
  const next = applyData(cfd, event);
  return { ...next, version: cfd.version + 1 };
}

/** Folds a sequence of events, starting from `from` (default: the empty CFD). */
export function fold(events: Iterable<CfdEvent>, from: Cfd = EMPTY_CFD): Cfd {
  let cfd = from;
  for (const e of events) cfd = apply(cfd, e);
  return cfd;
}

function applyData(cfd: Cfd, event: CfdEvent): Cfd {
  switch (event.type) {
    case 'OrderPlaced': {
      // Records from before ETHUSD existed all traded BTCUSD; one stored without a symbol is one.
      const stored = event.data.terms;
      const t: CfdTerms = stored.symbol ? stored : { ...stored, symbol: 'BTCUSD' };
      return {
        ...cfd,
        terms: t,
        setup: 'pending',
        fundingRate: t.fundingRate,
        feeBalance: openingFeeBalance(t),
      };
    }
    case 'OrderRejected':
      return { ...cfd, setup: 'rejected', failureReason: event.data.reason };
    case 'ContractSetupStarted':
      return { ...cfd, setup: 'started' };
    case 'ContractSetupCompleted':
      return { ...cfd, setup: 'completed', dlc: event.data.dlc };
    case 'ContractSetupFailed':
      return { ...cfd, setup: 'failed', failureReason: event.data.reason };
    case 'LockConfirmed':
      return { ...cfd, lockConfirmed: true };
    case 'RolloverStarted':
      return { ...cfd, rollover: 'started', rolloverProposedBy: event.data.proposedBy };
    case 'RolloverAccepted':
      return { ...cfd, rollover: 'accepted' };
    case 'RolloverRejected':
    case 'RolloverFailed':
      return { ...cfd, rollover: undefined, rolloverProposedBy: undefined };
    case 'RolloverCompleted': {
      const old = cfd.dlc;
      const revoked = new Set(cfd.revokedCommitTxids);
      if (old) revoked.add(old.commitTxid);
      for (const txid of event.data.revokedCommitTxids ?? []) revoked.add(txid);
      revoked.delete(event.data.dlc.commitTxid);
      return {
        ...cfd,
        rollover: undefined,
        rolloverProposedBy: undefined,
        dlc: event.data.dlc,
        revokedCommitTxids: [...revoked],
        feeBalance: cfd.feeBalance + event.data.funding.balanceChange,
        fundingRate: event.data.funding.rate,
      };
    }
    case 'CollaborativeSettlementStarted':
      return {
        ...cfd,
        settlement: { proposal: event.data.proposal, accepted: false },
        lastSettlementPrice: event.data.proposal.price,
      };
    case 'CollaborativeSettlementAccepted': {
      if (!cfd.settlement) return cfd;
      const settlement = { ...cfd.settlement, accepted: true };
      // Events written before the bound existed: the taker's signature left right after this
      // event, with no deadline recorded, so the bound is already over.
      const signedClose =
        event.data.signedClose ??
        (cfd.terms?.role === 'taker' && cfd.settlement.proposal.proposedBy === 'taker'
          ? { until: 0 }
          : undefined);
      return signedClose ? { ...cfd, settlement, signedClose } : { ...cfd, settlement };
    }
    case 'CollaborativeSettlementRejected':
    case 'CollaborativeSettlementFailed':
      return { ...cfd, settlement: undefined };
    case 'CollaborativeSettlementCompleted':
      return {
        ...cfd,
        settlement: undefined,
        // We hold the complete close and publish it ourselves: nothing left to bound.
        signedClose: undefined,
        closeTx: event.data.closeTx,
        closePrice: event.data.price,
      };
    case 'CollaborativeSettlementConfirmed':
      return {
        ...cfd,
        settlement: undefined,
        closeTx: cfd.closeTx ?? event.data.closeTx,
        closePrice: cfd.closePrice ?? event.data.price,
        settled: 'collaborative',
      };
    case 'ManualCommit':
      return {
        ...committing(cfd),
        commitTx: event.data.commitTx,
        commitByCounterparty: event.data.byCounterparty === true,
      };
    case 'CommitConfirmed': {
      const txid = event.data.txid;
      // Another commit than the one a prepared CET spends won the race to the lock (both were
      // valid): that CET can never confirm; the attestation is taken again from the right record.
      const voided = txid !== undefined && cfd.commitTx !== undefined && cfd.commitTx.txid !== txid;
      return {
        ...committing(cfd),
        commitConfirmed: true,
        confirmedCommitTxid: txid ?? cfd.confirmedCommitTxid,
        ...(voided && { attestation: undefined, cet: undefined }),
      };
    }
    case 'CetTimelockExpiredBeforeAttestation':
      return { ...cfd, cetTimelockExpired: true };
    case 'CetTimelockExpiredAfterAttestation':
      return { ...cfd, cetTimelockExpired: true, cet: event.data.cet };
    case 'OracleAttestedBeforeCetTimelock': {
      const d = event.data;
      const base = d.commitTx
        ? { ...committing(cfd), commitTx: d.commitTx, commitByCounterparty: false }
        : cfd;
      return { ...base, attestation: { eventId: d.eventId, price: d.price }, cet: d.cet };
    }
    case 'OracleAttestedAfterCetTimelock':
      return {
        ...cfd,
        attestation: { eventId: event.data.eventId, price: event.data.price },
        cet: event.data.cet,
      };
    case 'CetConfirmed':
      return { ...cfd, settled: 'cet', cetTxidConfirmed: event.data.txid };
    case 'RefundTimelockExpired':
      return { ...cfd, refundTimelockExpired: true, refundTx: event.data.refundTx };
    case 'RefundConfirmed':
      return { ...cfd, settled: 'refund' };
    case 'RevokedCommitSeen':
      return { ...committing(cfd), revokedCommitSeen: event.data.txid };
    case 'PunishPublished':
      return { ...cfd, punishTx: event.data.punishTx };
    case 'PunishConfirmed':
      return { ...cfd, settled: 'punish' };
    case 'ConfirmationReorged':
      return reorged(cfd, event.data.txid);
  }
}

/**
 * Rolls back the confirmation of `txid` and what rested on it: a lock takes the commit and any
 * settlement with it, a commit its timelocks and the CET or refund that spent it. What we hold
 * (our commit, an attested CET, a punish, a close) stays, to be published again.
 */
function reorged(cfd: Cfd, txid: string): Cfd {
  const level = confirmationLevel(cfd, txid);
  const reorgedTxids = cfd.reorgedTxids.includes(txid)
    ? cfd.reorgedTxids
    : [...cfd.reorgedTxids, txid];
  if (level === undefined) return { ...cfd, reorgedTxids };
  const unsettled = { ...cfd, reorgedTxids, settled: undefined, cetTxidConfirmed: undefined };
  if (level === 'settlement') return unsettled;
  const uncommitted = {
    ...unsettled,
    commitConfirmed: false,
    confirmedCommitTxid: undefined,
    cetTimelockExpired: false,
    refundTimelockExpired: false,
    refundTx: undefined,
  };
  return level === 'commit' ? uncommitted : { ...uncommitted, lockConfirmed: false };
}

/** Which confirmed fact of the CFD `txid` is, if any. */
function confirmationLevel(cfd: Cfd, txid: string): 'lock' | 'commit' | 'settlement' | undefined {
  if (cfd.lockConfirmed && txid === cfd.dlc?.lockTxid) return 'lock';
  if (txid === confirmedCommit(cfd)) return 'commit';
  const settledBy =
    cfd.settled === 'cet'
      ? cfd.cetTxidConfirmed
      : cfd.settled === 'refund'
        ? cfd.refundTx?.txid
        : cfd.settled === 'punish'
          ? cfd.punishTx?.txid
          : cfd.settled === 'collaborative'
            ? cfd.closeTx?.txid
            : undefined;
  return settledBy !== undefined && txid === settledBy ? 'settlement' : undefined;
}

/** Once a commit is out, rollovers and collaborative settlements in flight are moot. */
function committing(cfd: Cfd): Cfd {
  return { ...cfd, rollover: undefined, rolloverProposedBy: undefined, settlement: undefined };
}

/** The maker's position in a CFD, from either party's terms. */
export function makerPositionOf(t: CfdTerms): Position {
  if (t.role === 'maker') return t.position;
  return t.position === 'long' ? 'short' : 'long';
}

/** The fee balance a CFD opens with: the opening fee and the first interval's funding. */
export function openingFeeBalance(t: CfdTerms): FeeBalance {
  return initialFeeBalance({
    symbol: t.symbol,
    makerPosition: makerPositionOf(t),
    price: t.initialPrice,
    quantity: t.quantity,
    takerLeverage: t.takerLeverage,
    openingFee: t.openingFee,
    rate: t.fundingRate,
    settlementIntervalSecs: t.settlementIntervalSecs,
  });
}

// ---------------------------------------------------------------------------------------------
// derived predicates

/** Settled on chain, or a settling transaction is out (close, CET, refund, punish). */
export function isClosing(cfd: Cfd): boolean {
  return (
    cfd.settled !== undefined ||
    cfd.closeTx !== undefined ||
    cfd.refundTx !== undefined ||
    cfd.punishTx !== undefined ||
    (cfd.cet !== undefined && cfd.cetTimelockExpired)
  );
}

/**
 * The commit that confirmed spending the lock (ours or theirs), once one did: as recorded, or the
 * contract's for events that did not record it.
 */
export function confirmedCommit(cfd: Cfd): string | undefined {
  return cfd.commitConfirmed ? (cfd.confirmedCommitTxid ?? cfd.dlc?.commitTxid) : undefined;
}

/** A commit transaction (ours, theirs, or a revoked one) is published. */
export function isCommitted(cfd: Cfd): boolean {
  return cfd.commitTx !== undefined || cfd.commitConfirmed || cfd.revokedCommitSeen !== undefined;
}

/**
 * A close this node signed first that the counterparty may hold unbroadcast: recorded, and neither
 * a close nor a commit is out yet (either settles which transaction spends the lock). While it is,
 * no rollover or new settlement starts, and past its `until` the process manager commits.
 */
export function outstandingSignedClose(cfd: Cfd): SignedClose | undefined {
  if (!cfd.signedClose || isClosing(cfd) || isCommitted(cfd)) return undefined;
  return cfd.signedClose;
}

const OUTSTANDING_CLOSE =
  'a close this node signed may be in the counterparty’s hands: the node force-closes unless it ' +
  'is on chain by its deadline';

/** The contract is open on chain with no unilateral or collaborative exit under way. */
export function isOpen(cfd: Cfd): boolean {
  return (
    cfd.setup === 'completed' &&
    cfd.lockConfirmed &&
    !isClosing(cfd) &&
    !isCommitted(cfd) &&
    cfd.attestation === undefined
  );
}

/** The reason a command is not legal now, or undefined if it is. */
function whyNot(cfd: Cfd, command: CfdCommand): string | undefined {
  const needOpen = (): string | undefined => {
    if (cfd.setup !== 'completed') return 'the contract is not set up';
    if (!cfd.lockConfirmed) return 'the lock transaction is not confirmed';
    if (isClosing(cfd)) return 'the contract is closing or closed';
    if (isCommitted(cfd)) return 'the commit transaction is published';
    if (cfd.attestation) return 'the oracle has attested';
    return undefined;
  };
  const needDlc = (): string | undefined =>
    cfd.dlc === undefined ? 'the contract has no signed transactions' : undefined;
  // A reorg can undo a settlement: always legal (alreadyRecorded drops it when nothing rests on it).
  if (command.type === 'unconfirm') return undefined;
  if (cfd.settled) return `the contract is closed (settled by ${cfd.settled})`;

  switch (command.type) {
    case 'placeOrder':
      return cfd.version === 0 ? undefined : 'the CFD already exists';
    case 'rejectOrder':
    case 'startContractSetup':
      return cfd.setup === 'pending' ? undefined : 'the order is not pending';
    case 'completeContractSetup':
      return cfd.setup === 'started' ? undefined : 'contract setup has not started';
    case 'failContractSetup':
      if (cfd.setup === 'pending' || cfd.setup === 'started') return undefined;
      // A completed setup whose lock can never confirm (an input of it was spent elsewhere): the
      // contract never existed on chain, and nothing but the lock ever spent its coins.
      if (cfd.setup === 'completed' && !cfd.lockConfirmed && !isCommitted(cfd) && !isClosing(cfd))
        return undefined;
      return 'contract setup is not under way';
    case 'confirmLock':
      return needDlc();
    case 'startRollover':
      return (
        needOpen() ??
        (cfd.rollover ? 'a rollover is already under way' : undefined) ??
        (cfd.settlement ? 'a collaborative settlement is under way' : undefined) ??
        (outstandingSignedClose(cfd) ? OUTSTANDING_CLOSE : undefined)
      );
    case 'acceptRollover':
      return cfd.rollover === 'started' ? undefined : 'no rollover awaits acceptance';
    case 'rejectRollover':
    case 'failRollover':
      return cfd.rollover ? undefined : 'no rollover is under way';
    case 'completeRollover':
      return cfd.rollover ? needOpen() : 'no rollover is under way';
    case 'proposeSettlement':
      return (
        needOpen() ??
        (cfd.settlement ? 'a collaborative settlement is already under way' : undefined) ??
        (cfd.rollover ? 'a rollover is under way' : undefined) ??
        (outstandingSignedClose(cfd) ? OUTSTANDING_CLOSE : undefined)
      );
    case 'acceptSettlement':
      return cfd.settlement && !cfd.settlement.accepted
        ? undefined
        : 'no settlement proposal awaits acceptance';
    case 'rejectSettlement':
    case 'failSettlement':
      return cfd.settlement ? undefined : 'no collaborative settlement is under way';
    case 'completeSettlement':
      return cfd.settlement?.accepted ? needOpen() : 'no accepted settlement proposal';
    case 'confirmSettlement':
      if (cfd.closeTx) return undefined;
      if (!command.closeTx) return 'no collaborative close transaction';
      // A close this node signed but did not record completing: it spends the lock, so neither a
      // confirmed commit nor another settlement can have happened.
      return needDlc() ?? (cfd.commitConfirmed ? 'the commit spent the lock' : undefined);
    case 'commit':
      if (needDlc()) return needDlc();
      if (cfd.closeTx) return 'the contract is closing';
      if (isCommitted(cfd)) return 'a commit transaction is already published';
      return undefined;
    case 'confirmCommit':
      return (
        needDlc() ??
        (cfd.revokedCommitSeen ? 'a revoked commit spent the lock instead' : undefined) ??
        (command.txid !== undefined && cfd.revokedCommitTxids.includes(command.txid)
          ? 'a revoked commit is punished, not followed'
          : undefined) ??
        (cfd.commitConfirmed ? `the commit ${confirmedCommit(cfd)} confirmed instead` : undefined)
      );
    case 'expireCetTimelock':
      return cfd.commitConfirmed ? undefined : 'the commit transaction is not confirmed';
    case 'attest':
      if (needDlc()) return needDlc();
      if (cfd.closeTx || cfd.refundTx || cfd.punishTx) return 'the contract is closing';
      if (cfd.revokedCommitSeen) return 'a revoked commit spent the lock; CETs cannot apply';
      return undefined;
    case 'confirmCet':
      return cfd.commitConfirmed || cfd.cet ? undefined : 'no commit transaction is confirmed';
    case 'expireRefundTimelock':
      if (!cfd.commitConfirmed) return 'the commit transaction is not confirmed';
      if (cfd.cet) return 'a CET is available and preferred over the refund';
      return undefined;
    case 'confirmRefund':
      return cfd.commitConfirmed ? undefined : 'the commit transaction is not confirmed';
    case 'seeRevokedCommit':
      return needDlc();
    case 'publishPunish':
      if (!cfd.revokedCommitSeen) return 'no revoked commit transaction was seen';
      return cfd.punishTx ? 'a punish transaction is already published' : undefined;
    case 'replacePunish':
      if (!cfd.punishTx) return 'no punish transaction was published';
      return cfd.settled ? 'the CFD is settled' : undefined;
    case 'confirmPunish':
      return cfd.punishTx ? undefined : 'no punish transaction was published';
  }
}

// ---------------------------------------------------------------------------------------------
// decide

/**
 * The events a command causes in the current state. Throws {@link IllegalCommandError} (or a more
 * specific named error) and emits nothing when the command is not legal now.
 *
 * @param now unix seconds; used to charge funding on rollover.
 */
export function decide(cfd: Cfd, command: CfdCommand, now: number): CfdEvent[] {
  const idempotent = alreadyRecorded(cfd, command);
  if (idempotent) return [];
  const why = whyNot(cfd, command);
  if (why !== undefined) throw IllegalCommandError.inState(command.type, describe(cfd), why);

  switch (command.type) {
    case 'placeOrder':
      return [{ type: 'OrderPlaced', data: { terms: command.terms } }];
    case 'rejectOrder':
      return [{ type: 'OrderRejected', data: { reason: command.reason } }];
    case 'startContractSetup':
      return [{ type: 'ContractSetupStarted', data: {} }];
    case 'completeContractSetup':
      return [{ type: 'ContractSetupCompleted', data: { dlc: command.dlc } }];
    case 'failContractSetup':
      return [{ type: 'ContractSetupFailed', data: { reason: command.reason } }];
    case 'confirmLock':
      return [{ type: 'LockConfirmed', data: {} }];
    case 'startRollover':
      return [{ type: 'RolloverStarted', data: { proposedBy: command.proposedBy } }];
    case 'acceptRollover':
      return [{ type: 'RolloverAccepted', data: {} }];
    case 'rejectRollover':
      return [{ type: 'RolloverRejected', data: { reason: command.reason } }];
    case 'completeRollover': {
      const data = { dlc: command.dlc, funding: rolloverFunding(cfd, command, now) };
      return [
        {
          type: 'RolloverCompleted',
          data: command.revokedCommitTxids
            ? { ...data, revokedCommitTxids: [...command.revokedCommitTxids] }
            : data,
        },
      ];
    }
    case 'failRollover':
      return [{ type: 'RolloverFailed', data: { reason: command.reason } }];
    case 'proposeSettlement':
      return [{ type: 'CollaborativeSettlementStarted', data: { proposal: command.proposal } }];
    case 'acceptSettlement':
      return [
        {
          type: 'CollaborativeSettlementAccepted',
          data: command.signedClose ? { signedClose: command.signedClose } : {},
        },
      ];
    case 'rejectSettlement':
      return [{ type: 'CollaborativeSettlementRejected', data: { reason: command.reason } }];
    case 'completeSettlement':
      return [
        {
          type: 'CollaborativeSettlementCompleted',
          data: { closeTx: command.closeTx, price: command.price },
        },
      ];
    case 'failSettlement':
      return [{ type: 'CollaborativeSettlementFailed', data: { reason: command.reason } }];
    case 'confirmSettlement':
      return [
        {
          type: 'CollaborativeSettlementConfirmed',
          data:
            cfd.closeTx || !command.closeTx
              ? {}
              : {
                  closeTx: command.closeTx,
                  ...(cfd.lastSettlementPrice !== undefined && {
                    price: cfd.lastSettlementPrice,
                  }),
                },
        },
      ];
    case 'commit':
      return [
        {
          type: 'ManualCommit',
          data: {
            commitTx: command.commitTx,
            ...(command.byCounterparty && { byCounterparty: true as const }),
          },
        },
      ];
    case 'confirmCommit':
      return [
        { type: 'CommitConfirmed', data: command.txid === undefined ? {} : { txid: command.txid } },
      ];
    case 'expireCetTimelock':
      return cfd.cet
        ? [{ type: 'CetTimelockExpiredAfterAttestation', data: { cet: cfd.cet } }]
        : [{ type: 'CetTimelockExpiredBeforeAttestation', data: {} }];
    case 'attest': {
      const dlc = cfd.dlc!;
      if (!(command.oracleEventIds ?? dlc.oracleEventIds).includes(command.eventId)) {
        throw new UnknownOracleEventError(
          `CFD ${cfd.terms?.id} has no CETs for oracle event ${command.eventId}`,
        );
      }
      const { eventId, price, cet } = command;
      if (cfd.cetTimelockExpired) {
        return [{ type: 'OracleAttestedAfterCetTimelock', data: { eventId, price, cet } }];
      }
      if (!isCommitted(cfd) && !command.commitTx) {
        throw IllegalCommandError.inState(
          command.type,
          describe(cfd),
          'no commit out and none to publish',
        );
      }
      const data = isCommitted(cfd)
        ? { eventId, price, cet }
        : { eventId, price, cet, commitTx: command.commitTx };
      return [{ type: 'OracleAttestedBeforeCetTimelock', data }];
    }
    case 'confirmCet':
      return [{ type: 'CetConfirmed', data: { txid: command.txid } }];
    case 'expireRefundTimelock':
      return [{ type: 'RefundTimelockExpired', data: { refundTx: command.refundTx } }];
    case 'confirmRefund':
      return [{ type: 'RefundConfirmed', data: {} }];
    case 'seeRevokedCommit':
      if (!command.inRecord && !cfd.revokedCommitTxids.includes(command.txid)) {
        throw new UnknownRevokedCommitError(
          `transaction ${command.txid} is not a revoked commit of CFD ${cfd.terms?.id}`,
        );
      }
      return [{ type: 'RevokedCommitSeen', data: { txid: command.txid } }];
    case 'publishPunish':
    case 'replacePunish':
      return [{ type: 'PunishPublished', data: { punishTx: command.punishTx } }];
    case 'confirmPunish':
      return [{ type: 'PunishConfirmed', data: {} }];
    case 'unconfirm':
      return [{ type: 'ConfirmationReorged', data: { txid: command.txid } }];
  }
}

/** Chain and oracle observations that are already part of the state emit nothing. */
function alreadyRecorded(cfd: Cfd, command: CfdCommand): boolean {
  switch (command.type) {
    case 'confirmLock':
      return cfd.lockConfirmed || cfd.settled !== undefined;
    case 'confirmCommit':
      return (
        cfd.commitConfirmed && (command.txid === undefined || command.txid === confirmedCommit(cfd))
      );
    case 'expireCetTimelock':
      return cfd.cetTimelockExpired;
    case 'attest':
      return cfd.attestation !== undefined;
    case 'confirmCet':
      return cfd.settled === 'cet';
    case 'expireRefundTimelock':
      return cfd.refundTimelockExpired;
    case 'confirmRefund':
      return cfd.settled === 'refund';
    case 'confirmSettlement':
      return cfd.settled === 'collaborative';
    case 'seeRevokedCommit':
      return cfd.revokedCommitSeen === command.txid;
    case 'confirmPunish':
      return cfd.settled === 'punish';
    case 'unconfirm':
      return confirmationLevel(cfd, command.txid) === undefined;
    default:
      return false;
  }
}

function rolloverFunding(
  cfd: Cfd,
  command: Extract<CfdCommand, { type: 'completeRollover' }>,
  now: number,
): FundingFeeCharge {
  const t = cfd.terms!;
  const base = command.base ?? {
    settlementEventId: cfd.dlc!.settlementEventId,
    feeBalance: cfd.feeBalance,
  };
  const chargedSecs = rolloverChargeSecs(
    oracleEventTime(base.settlementEventId),
    oracleEventTime(command.dlc.settlementEventId),
    now,
    t.settlementIntervalSecs,
  );
  const charge = signedFunding({
    symbol: t.symbol,
    makerPosition: makerPositionOf(t),
    price: t.initialPrice,
    quantity: t.quantity,
    takerLeverage: t.takerLeverage,
    rate: command.fundingRate,
    chargedSecs,
    settlementIntervalSecs: t.settlementIntervalSecs,
  });
  // Relative to the balance the aggregate holds, so folding stays `feeBalance += balanceChange`.
  return {
    balanceChange: base.feeBalance + charge - cfd.feeBalance,
    rate: command.fundingRate,
    chargedSecs,
  };
}

// ---------------------------------------------------------------------------------------------
// UI state and actions

/** Every state the UI shows a CFD in. Derived, never stored. */
export const CFD_UI_STATES = [
  'pendingSetup',
  'contractSetup',
  'pendingOpen',
  'open',
  'rollover',
  'pendingCommit',
  'openCommitted',
  'pendingCet',
  'liquidating',
  'pendingClose',
  'closed',
  'liquidated',
  'pendingRefund',
  'refunded',
  'rejected',
  'setupFailed',
  'punished',
] as const;

/** What the UI shows a CFD as. */
export type CfdUiState = (typeof CFD_UI_STATES)[number];

/** States a CFD does not leave (unless a reorg undoes the confirmation that led there). */
export const ENDED_UI_STATES: ReadonlySet<CfdUiState> = new Set<CfdUiState>([
  'closed',
  'liquidated',
  'refunded',
  'punished',
  'rejected',
  'setupFailed',
]);

/** The UI state of a CFD, by precedence: what settled it, then what is under way. */
export function uiState(cfd: Cfd): CfdUiState {
  switch (cfd.setup) {
    case 'none':
    case 'pending':
      return 'pendingSetup';
    case 'started':
      return 'contractSetup';
    case 'rejected':
      return 'rejected';
    case 'failed':
      return 'setupFailed';
    case 'completed':
      break;
  }
  switch (cfd.settled) {
    case 'punish':
      return 'punished';
    case 'refund':
      return 'refunded';
    case 'cet':
      return liquidation(cfd) ? 'liquidated' : 'closed';
    case 'collaborative':
      return 'closed';
    case undefined:
      break;
  }
  if (cfd.punishTx || cfd.closeTx) return 'pendingClose';
  if (cfd.refundTx) return 'pendingRefund';
  // Nobody asked for this close: the oracle attested a price past a side's liquidation price.
  if (liquidation(cfd)) return 'liquidating';
  if (cfd.cet && cfd.cetTimelockExpired) return 'pendingCet';
  if (cfd.commitConfirmed || cfd.revokedCommitSeen) return 'openCommitted';
  if (cfd.commitTx) return 'pendingCommit';
  if (!cfd.lockConfirmed) return 'pendingOpen';
  if (cfd.rollover) return 'rollover';
  return 'open';
}

/**
 * The side the oracle's attested price liquidates (its CET closes the contract, whoever asked),
 * or undefined: no attestation, or one inside both liquidation prices.
 */
export function liquidation(cfd: Cfd): Position | undefined {
  const t = cfd.terms;
  if (!t || !cfd.attestation) return undefined;
  return liquidatedSide(
    {
      symbol: t.symbol,
      makerPosition: makerPositionOf(t),
      initialPrice: t.initialPrice,
      takerLeverage: t.takerLeverage,
    },
    cfd.attestation.price,
  );
}

/** Who proposed the collaborative settlement under way, as seen by this node. */
export function settlementDirection(cfd: Cfd): 'incoming' | 'outgoing' | undefined {
  if (!cfd.settlement || !cfd.terms) return undefined;
  return cfd.settlement.proposal.proposedBy === cfd.terms.role ? 'outgoing' : 'incoming';
}

export type CfdAction =
  | 'acceptOrder'
  | 'rejectOrder'
  | 'settle'
  | 'commit'
  | 'acceptSettlement'
  | 'rejectSettlement';

/**
 * What a user of this node may do with the CFD now. Collaborative settlement is proposed by the
 * taker and decided by the maker; either side may always commit (force close) once the contract
 * is open, including during a rollover or settlement negotiation.
 */
export function actions(cfd: Cfd): CfdAction[] {
  const role = cfd.terms?.role;
  const state = uiState(cfd);
  if (state === 'pendingSetup') return role === 'maker' ? ['acceptOrder', 'rejectOrder'] : [];
  if (state !== 'open' && state !== 'rollover') return [];
  const out: CfdAction[] = [];
  const direction = settlementDirection(cfd);
  if (
    state === 'open' &&
    role === 'taker' &&
    direction === undefined &&
    !outstandingSignedClose(cfd)
  ) {
    out.push('settle');
  }
  if (role === 'maker' && direction === 'incoming' && !cfd.settlement?.accepted) {
    out.push('acceptSettlement', 'rejectSettlement');
  }
  out.push('commit');
  return out;
}

function describe(cfd: Cfd): string {
  return cfd.version === 0 ? 'not created' : uiState(cfd);
}
