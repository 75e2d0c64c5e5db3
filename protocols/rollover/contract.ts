/**
 * Pure helpers of a rollover: which oracle events, which fee balance, the rules of its base, the
 * new transactions on the existing lock, and the record each side assembles.
 *
 * The record's lifecycle over a rollover (pending, final, unfinished, counterpartyOnly) and its
 * commit chain are `dlc/record.ts`.
 */
import { bytesToHex } from '@noble/hashes/utils.js';
import {
  buildCets,
  buildCommitTransaction,
  buildRefund,
  type CommitKeys,
  type CommitTransaction,
  type ContractRecord,
  commitKeysToRecord,
  type EventPayouts,
  type IntervalCet,
  liquidationEventPayouts,
  lockOutput,
  PRICE_DIGITS,
  payoutCurve,
  payoutScriptsOf,
  type RefundTransaction,
  toRolePayouts,
} from '../../dlc/index.ts';
import { type CommitLink, commitChain, commitsFrom, liveCommits } from '../../dlc/record.ts';
import { type CfdTerms, makerPositionOf } from '../../model/cfd.ts';

import {
  type FeeBalance,
  initialFeeBalance,
  longShortLeverage,
  rolloverChargeSecs,
  signedFunding,
} from '../../model/fees.ts';
import {
  type OracleIndex,
  oracleEventId,
  oracleEventTime,
  parseOracleEventId,
} from '../../model/oracle-event.ts';
import type { FeeRate, FundingRate } from '../../model/units.ts';

/**
 * How many commits may stay unresolved (live but not current, or unfinished) before a CFD signs no
 * new one. Honest breaks leave one or two; a peer that breaks every run on purpose would
 * otherwise grow the chain (and every record write) without bound and keep old commits live as
 * options on past prices. Far below the 64 secrets a revocation message carries.
 */
export const MAX_UNRESOLVED_COMMITS = 8;

/**
 * The rules of a rollover's base, as one side's record sees the proposal `proposedTxid`:
 * - `reveal`: our commits from the proposed one on — every one the proposer may still consider
 *   live. Revealing them is safe once the new commit's signatures are stored: we only ever publish
 *   our current commit, and the ones before it are superseded (or revoked already).
 * - `base`: the commit the new contract follows and funding is charged from — the oldest of ours
 *   at or after the proposed one that is still live. Never a revoked commit: rolling from one
 *   would re-charge funding already settled at another rate, and (with the counterparty's secret
 *   for it in hand) would let a proposer revoke a commit we already hold revoked instead of the
 *   one it can still publish.
 * - `required`: every live commit of ours (current and each of a broken-off rollover's
 *   `previous` chain). The counterparty must hand a valid secret for each before we reveal
 *   beyond what we must, and the final record revokes each — none is ever dropped.
 * Undefined `rules` with a reason when the proposed commit is not one of this CFD's.
 */
export function rolloverRules(
  record: ContractRecord,
  proposedTxid: string,
): { rules?: RolloverRules; reason?: string } {
  const reveal = commitsFrom(record, proposedTxid);
  if (!reveal) return { reason: `commit ${proposedTxid} is not one of CFD ${record.cfdId}'s` };
  const live = new Set(liveCommits(record).map((l) => l.txid));
  const base = reveal.find((l) => live.has(l.txid));
  if (!base) return { reason: `no live commit of CFD ${record.cfdId} from ${proposedTxid} on` };
  const required = commitChain(record).filter((l) => live.has(l.txid));
  const unresolved = required.length + (record.unfinished?.length ?? 0);
  if (unresolved > MAX_UNRESOLVED_COMMITS) {
    return {
      reason: `CFD ${record.cfdId} has ${unresolved} commits from broken-off rollovers still unrevoked (at most ${MAX_UNRESOLVED_COMMITS}): no new commit is signed; close the position`,
    };
  }
  return { rules: { reveal, base, required } };
}

/** See {@link rolloverRules}. */
export interface RolloverRules {
  readonly reveal: readonly CommitLink[];
  readonly base: CommitLink;
  readonly required: readonly CommitLink[];
}

/** Every record of the chain: `record`, its `previous` ones, and each one's counterpartyOnly. */
function recordsOf(record: ContractRecord): ContractRecord[] {
  const out: ContractRecord[] = [];
  for (let r: ContractRecord | undefined = record; r; r = r.previous) {
    out.push(r, ...(r.counterpartyOnly ?? []));
  }
  return out;
}

/**
 * The fee balance the curve of `commitTxid` includes, or undefined when this chain does not know
 * it. Only the contract-setup commit has no entry (its curve carries the initial balance): any
 * other commit without one is not a base to charge funding from, or rolling from it would erase
 * what accrued since setup.
 */
export function feeBalanceAt(
  record: ContractRecord,
  terms: CfdTerms,
  commitTxid: string,
): FeeBalance | undefined {
  for (const r of recordsOf(record)) {
    const b = r.feeBalances?.[commitTxid];
    if (b !== undefined) return b;
  }
  if (commitChain(record)[0]?.txid !== commitTxid) return undefined;
  return initialFeeBalance({
    symbol: terms.symbol,
    makerPosition: makerPositionOf(terms),
    price: terms.initialPrice,
    quantity: terms.quantity,
    takerLeverage: terms.takerLeverage,
    openingFee: terms.openingFee,
    rate: terms.fundingRate,
    settlementIntervalSecs: terms.settlementIntervalSecs,
  });
}

/**
 * The fee balance of the new curve: the base commit's plus funding at `rate` for the time the
 * settlement event moves (model `rolloverChargeSecs`, as the aggregate charges it).
 */
export function rolledFeeBalance(p: {
  terms: CfdTerms;
  base: FeeBalance;
  fromEventId: string;
  toEventId: string;
  rate: FundingRate;
  now: number;
}): { feeBalance: FeeBalance; chargedSecs: number } {
  const t = p.terms;
  const chargedSecs = rolloverChargeSecs(
    oracleEventTime(p.fromEventId),
    oracleEventTime(p.toEventId),
    p.now,
    t.settlementIntervalSecs,
  );
  const change = signedFunding({
    symbol: t.symbol,
    makerPosition: makerPositionOf(t),
    price: t.initialPrice,
    quantity: t.quantity,
    takerLeverage: t.takerLeverage,
    rate: p.rate,
    chargedSecs,
    settlementIntervalSecs: t.settlementIntervalSecs,
  });
  return { feeBalance: p.base + change, chargedSecs };
}

/** Event schedule of a rollover (both sides configure the same). */
export interface EventSchedule {
  /** Liquidation events signed besides the settlement event. */
  readonly liquidationEventCount: number;
  /** Spacing of the oracle's events, seconds (hourly in production). */
  readonly eventSpacingSecs: number;
}

/**
 * The maker's choice: the first event on the grid one settlement interval from now, of the
 * contract's index (`product(symbol).oracleIndex`).
 */
export function nextSettlementEventId(
  now: number,
  settlementIntervalSecs: number,
  spacing: number,
  index: OracleIndex = 'BXBT',
): string {
  const t = Math.ceil((now + settlementIntervalSecs) / spacing) * spacing;
  return oracleEventId(t, index);
}

/**
 * The liquidation events before a settlement event, of its index: `count` events, `spacing` apart,
 * oldest first.
 */
export function liquidationEventIds(settlementEventId: string, s: EventSchedule): string[] {
  const { index, unixSeconds: t } = parseOracleEventId(settlementEventId);
  return Array.from({ length: s.liquidationEventCount }, (_, i) =>
    oracleEventId(t - (s.liquidationEventCount - i) * s.eventSpacingSecs, index),
  );
}

/** Payout tables of the new contract: the whole curve on the settlement event, liquidation rows on the others. */
export function rolloverEventPayouts(p: {
  terms: CfdTerms;
  feeBalance: FeeBalance;
  settlementEventId: string;
  liquidationEventIds: readonly string[];
}): EventPayouts[] {
  const t = p.terms;
  const makerPosition = makerPositionOf(t);
  const leverage = longShortLeverage(makerPosition, t.takerLeverage);
  const curve = payoutCurve({
    symbol: t.symbol,
    initialPrice: t.initialPrice,
    quantity: t.quantity,
    longLeverage: leverage.long,
    shortLeverage: leverage.short,
    feeBalance: p.feeBalance,
  });
  const liquidation = toRolePayouts(liquidationEventPayouts(curve), makerPosition);
  return [
    ...p.liquidationEventIds.map((eventId) => ({ eventId, payouts: liquidation })),
    { eventId: p.settlementEventId, payouts: toRolePayouts(curve.rows, makerPosition) },
  ];
}

/** The new transactions of a rollover: on the SAME lock, new commit keys, new events. */
export interface RolloverTransactions {
  readonly keys: CommitKeys;
  readonly feeRate: FeeRate;
  readonly commit: CommitTransaction;
  readonly refund: RefundTransaction;
  readonly events: readonly { readonly eventId: string; readonly cets: readonly IntervalCet[] }[];
}

/** maia `renew_cfd_transactions`: commit, refund and CETs spending the existing lock. */
export function buildRolloverTransactions(
  record: ContractRecord,
  keys: CommitKeys,
  feeRate: FeeRate,
  events: readonly EventPayouts[],
): RolloverTransactions {
  // Every new commit is anchored (a maia-format contract moves to anchors at its next rollover).
  const commit = buildCommitTransaction(lockOutput(record), keys, feeRate, { anchors: true });
  const scripts = payoutScriptsOf(record);
  const refund = buildRefund(commit, record.lock.margins, scripts, record.refund.timelock);
  return {
    keys,
    feeRate,
    commit,
    refund,
    events: events.map((e) => ({
      eventId: e.eventId,
      cets: buildCets(commit, e.payouts, scripts, record.cetTimelock, PRICE_DIGITS),
    })),
  };
}

/** The new record: same CFD, lock and identity; new keys, commit, refund and CETs. */
export function assembleRolledRecord(p: {
  old: ContractRecord;
  tx: RolloverTransactions;
  secrets: { publish: Uint8Array; revocation: Uint8Array };
  settlementEventId: string;
  ownCommitAdaptorSignature: Uint8Array;
  counterparty: {
    commitAdaptorSignature: Uint8Array;
    refundSignature: Uint8Array;
    cetAdaptorSignatures: readonly (readonly (readonly Uint8Array[])[])[];
  };
  feeBalance: FeeBalance;
  baseFeeBalance: FeeBalance;
  baseTxid: string;
}): ContractRecord {
  const { old, tx, counterparty } = p;
  const { previous: _previous, counterpartyOnly: _only, ...oldRest } = old;
  return {
    ...oldRest,
    publishSk: bytesToHex(p.secrets.publish),
    revocationSk: bytesToHex(p.secrets.revocation),
    keys: commitKeysToRecord(tx.keys),
    commit: {
      txid: tx.commit.tx.getId(),
      amount: tx.commit.output.value,
      feeRate: tx.feeRate,
      anchors: true,
      counterpartyAdaptorSignature: bytesToHex(counterparty.commitAdaptorSignature),
      ownAdaptorSignature: bytesToHex(p.ownCommitAdaptorSignature),
    },
    refund: {
      timelock: old.refund.timelock,
      txid: tx.refund.tx.getId(),
      counterpartySignature: bytesToHex(counterparty.refundSignature),
    },
    settlementEventId: p.settlementEventId,
    events: tx.events.map((e, i) => ({
      eventId: e.eventId,
      cets: e.cets.map((cet, j) => ({
        start: cet.range.start,
        end: cet.range.end,
        maker: cet.payout.maker,
        taker: cet.payout.taker,
        txid: cet.tx.getId(),
        adaptorSignatures: counterparty.cetAdaptorSignatures[i]![j]!.map((s) => bytesToHex(s)),
      })),
    })),
    feeBalances: {
      ...collectFeeBalances(old),
      [p.baseTxid]: p.baseFeeBalance,
      [tx.commit.tx.getId()]: p.feeBalance,
    },
    previous: old,
  };
}

function collectFeeBalances(r: ContractRecord): Record<string, FeeBalance> {
  const out: Record<string, FeeBalance> = {};
  for (const x of recordsOf(r)) {
    for (const [k, v] of Object.entries(x.feeBalances ?? {})) out[k] ??= v;
  }
  return out;
}
