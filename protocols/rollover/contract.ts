/**
 * Pure helpers of a rollover: which oracle events, which fee balance, the commit chain of a
 * record, the new transactions on the existing lock, and the records each side persists.
 *
 * A rollover's record lifecycle (one record per CFD in the DLC store):
 * - before: `R_old` (current commit C_old, `revoked` as before);
 * - pending — after verifying the counterparty's new signatures, before revealing anything: the
 *   new record, current commit C_new, with `previous = R_old`. Both C_old and C_new are valid on
 *   chain now; we can publish either (we revealed nothing yet, and once we reveal, C_new is the
 *   one we must use — it is already current);
 * - final — after the counterparty's old revocation secret(s) checked out: current C_new, C_old
 *   (and every commit of the `previous` chain the counterparty revealed) in `revoked`, no
 *   `previous`.
 * A rollover that fails after "pending" leaves the pending record: the next rollover starts from
 * the oldest commit of the `previous` chain (the last one whose rollover completed on our side),
 * which the counterparty has as current, `previous` or revoked — ItchySats' `base_dlc_params`.
 * Until then the CFD's log still names that oldest commit, yet any commit of the chain may confirm:
 * the process manager follows each through its own record ({@link liveCommits}).
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
  type RevokedCommitRecord,
  toRolePayouts,
} from '../../dlc/index.ts';
import type { CfdTerms } from '../../model/cfd.ts';
import {
  type FeeBalance,
  initialFeeBalance,
  longShortLeverage,
  rolloverChargeSecs,
  signedFunding,
} from '../../model/fees.ts';
import { oracleEventId, oracleEventTime } from '../../model/oracle-event.ts';
import { type FeeRate, type FundingRate, opposite, type Position } from '../../model/units.ts';

/**
 * The contract record as the rollover keeps it: a {@link ContractRecord} plus two fields the DLC
 * store carries along (plain JSON) and other readers ignore.
 */
export interface RolloverContractRecord extends ContractRecord {
  /** The record this one replaces while the rollover that made it has not exchanged secrets. */
  readonly previous?: RolloverContractRecord;
  /** The fee balance each commit's payout curve includes, by commit txid (absent: setup's). */
  readonly feeBalances?: Readonly<Record<string, FeeBalance>>;
  /**
   * Commits of rollovers that broke off after we sent our signatures but before we stored the
   * counterparty's: we can never publish them, the counterparty may hold them. We reveal their
   * revocation secrets in the next rollover, so the counterparty can always revoke every commit
   * it considers live (a taker killed mid-run would otherwise leave the maker waiting forever).
   */
  readonly unfinished?: readonly UnfinishedCommit[];
  /**
   * Maker: the new commits of rollovers that broke off after the taker's CET and refund signatures
   * were stored but before its commit signature came. The taker may hold ours and publish any of
   * them; we cannot. Each is live (followed, closed through its own CETs and refund), never
   * published by us, until a completed rollover revokes it. A list: a second broken run must not
   * make us forget the first.
   */
  readonly counterpartyOnly?: readonly RolloverContractRecord[];
}

/** A commit of ours that never became current, and our revocation secret of it. */
export interface UnfinishedCommit {
  readonly txid: string;
  /** Hex. */
  readonly ownRevocationSk: string;
}

/** One commit of ours, as far as revealing and punishing go. */
export interface CommitLink {
  readonly txid: string;
  readonly settlementEventId: string;
  /** Our revocation secret of it (hex). */
  readonly ownRevocationSk: string;
  /** The counterparty's revocation public key of it (hex). */
  readonly theirRevocationPk: string;
  /** What a revoked-commit entry needs, when it is not one yet. */
  readonly revoked: Omit<RevokedCommitRecord, 'counterpartyRevocationSk'>;
  /** Already revoked with the counterparty's secret in hand. */
  readonly alreadyRevoked: boolean;
}

const theirRole = (r: ContractRecord) => (r.role === 'maker' ? 'taker' : 'maker');

function linkOfRecord(r: ContractRecord): CommitLink {
  return {
    txid: r.commit.txid,
    settlementEventId: r.settlementEventId,
    ownRevocationSk: r.revocationSk,
    theirRevocationPk: r.keys[theirRole(r)].revocation,
    revoked: {
      txid: r.commit.txid,
      amount: r.commit.amount,
      feeRate: r.commit.feeRate,
      ...(r.commit.anchors && { anchors: true as const }),
      keys: r.keys,
      ownAdaptorSignature: r.commit.ownAdaptorSignature,
      ownRevocationSk: r.revocationSk,
      settlementEventId: r.settlementEventId,
    },
    alreadyRevoked: false,
  };
}

/**
 * Every commit of ours in `record`, oldest first: the revoked ones, then the `previous` chain
 * (oldest first), then the current one.
 */
export function commitChain(record: RolloverContractRecord): CommitLink[] {
  const pending: RolloverContractRecord[] = [];
  for (let r = record.previous; r; r = r.previous) pending.unshift(r);
  const revoked = [...(pending[0]?.revoked ?? record.revoked)];
  const links: CommitLink[] = revoked.map((v) => ({
    txid: v.txid,
    settlementEventId: v.settlementEventId,
    ownRevocationSk: v.ownRevocationSk,
    theirRevocationPk: v.keys[theirRole(record)].revocation,
    revoked: v,
    alreadyRevoked: true,
  }));
  const records = [...pending, record];
  for (const r of [...records, ...records.flatMap((x) => x.counterpartyOnly ?? [])]) {
    if (!links.some((l) => l.txid === r.commit.txid)) links.push(linkOfRecord(r));
  }
  return links;
}

/** A commit that may spend the lock without our being able to punish it, and its record. */
export interface LiveCommit {
  readonly txid: string;
  /** The record whose CETs, refund and oracle events close through this commit. */
  readonly record: RolloverContractRecord;
  /** The record's current commit: the only one we publish ourselves. */
  readonly current: boolean;
}

/**
 * The live commits of `record`, newest first: its current commit, then each one of its
 * `previous` chain. A rollover that failed after "pending" leaves them all valid on chain: the
 * counterparty may publish any whose revocation secret it never gave us, and we publish the
 * current one (an older one's secret of ours may have left). A commit in `revoked` is never live:
 * we hold the counterparty's secret of it and punish it instead.
 */
export function liveCommits(record: RolloverContractRecord): LiveCommit[] {
  const revoked = new Set(revokedCommits(record).map((r) => r.txid));
  const out: LiveCommit[] = [];
  const add = (r: RolloverContractRecord, current: boolean) => {
    if (revoked.has(r.commit.txid) || out.some((l) => l.txid === r.commit.txid)) return;
    out.push({ txid: r.commit.txid, record: r, current });
  };
  for (let r: RolloverContractRecord | undefined = record; r; r = r.previous) {
    add(r, r === record);
    for (const c of r.counterpartyOnly ?? []) add(c, false);
  }
  return out;
}

/** The record that closes through commit `txid` (its CETs, refund), if `txid` is live. */
export function recordClosingThrough(
  record: RolloverContractRecord,
  txid: string,
): RolloverContractRecord | undefined {
  return liveCommits(record).find((l) => l.txid === txid)?.record;
}

/**
 * Every commit of the record chain we hold the counterparty's revocation secret of, each with the
 * record that can punish it (`dlc/contract.ts` signedPunish reads `record.revoked`).
 */
export function revokedCommits(
  record: RolloverContractRecord,
): { readonly txid: string; readonly record: RolloverContractRecord }[] {
  const out: { txid: string; record: RolloverContractRecord }[] = [];
  for (let r: RolloverContractRecord | undefined = record; r; r = r.previous) {
    for (const v of r.revoked) {
      if (!out.some((o) => o.txid === v.txid)) out.push({ txid: v.txid, record: r });
    }
  }
  return out;
}

/** The commit a taker proposes to roll over from: the oldest of its `previous` chain, else its current. */
export function baseCommitOf(record: RolloverContractRecord): string {
  let r: RolloverContractRecord = record;
  while (r.previous) r = r.previous;
  return r.commit.txid;
}

/** The commits of ours from `baseTxid` on (what we reveal), or undefined if we never had it. */
export function commitsFrom(
  record: RolloverContractRecord,
  baseTxid: string,
): CommitLink[] | undefined {
  const chain = commitChain(record);
  const i = chain.findIndex((l) => l.txid === baseTxid);
  return i < 0 ? undefined : chain.slice(i);
}

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
  record: RolloverContractRecord,
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
function recordsOf(record: RolloverContractRecord): RolloverContractRecord[] {
  const out: RolloverContractRecord[] = [];
  for (let r: RolloverContractRecord | undefined = record; r; r = r.previous) {
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
  record: RolloverContractRecord,
  terms: CfdTerms,
  commitTxid: string,
): FeeBalance | undefined {
  for (const r of recordsOf(record)) {
    const b = r.feeBalances?.[commitTxid];
    if (b !== undefined) return b;
  }
  if (commitChain(record)[0]?.txid !== commitTxid) return undefined;
  return initialFeeBalance({
    makerPosition: makerPositionOf(terms),
    price: terms.initialPrice,
    quantity: terms.quantity,
    takerLeverage: terms.takerLeverage,
    openingFee: terms.openingFee,
    rate: terms.fundingRate,
    settlementIntervalSecs: terms.settlementIntervalSecs,
  });
}

export function makerPositionOf(t: CfdTerms): Position {
  return t.role === 'maker' ? t.position : opposite(t.position);
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

/** The maker's choice: the first event on the grid one settlement interval from now. */
export function nextSettlementEventId(
  now: number,
  settlementIntervalSecs: number,
  spacing: number,
): string {
  const t = Math.ceil((now + settlementIntervalSecs) / spacing) * spacing;
  return oracleEventId(t);
}

/** The liquidation events before a settlement event: `count` events, `spacing` apart, oldest first. */
export function liquidationEventIds(settlementEventId: string, s: EventSchedule): string[] {
  const t = oracleEventTime(settlementEventId);
  return Array.from({ length: s.liquidationEventCount }, (_, i) =>
    oracleEventId(t - (s.liquidationEventCount - i) * s.eventSpacingSecs),
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
  old: RolloverContractRecord;
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
}): RolloverContractRecord {
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

function collectFeeBalances(r: RolloverContractRecord): Record<string, FeeBalance> {
  const out: Record<string, FeeBalance> = {};
  for (const x of recordsOf(r)) {
    for (const [k, v] of Object.entries(x.feeBalances ?? {})) out[k] ??= v;
  }
  return out;
}

/** A commit of ours the counterparty may still publish left without its revocation secret. */
export class UnrevokedCommitError extends Error {
  readonly txid: string;
  constructor(txid: string) {
    super(`no revocation secret of commit ${txid}: it stays live`);
    this.name = 'UnrevokedCommitError';
    this.txid = txid;
  }
}

/**
 * The final record: the pending one without `previous`, with every earlier commit in `revoked`.
 * `theirSecrets` (checked by the caller) must hold the counterparty's secret of each commit of
 * the chain that is not revoked yet: a commit counts as revoked only once its secret is stored,
 * so one without a secret throws {@link UnrevokedCommitError} rather than being dropped (dropping
 * it would stop us watching a commit the counterparty can still publish). The commits of broken-off
 * runs (`unfinished`) were revealed in this run: nothing more to do with them.
 */
export function finalRecord(
  pending: RolloverContractRecord,
  theirSecrets: ReadonlyMap<string, string>,
): RolloverContractRecord {
  const { previous, unfinished: _unfinished, ...rest } = pending;
  const chain = previous ? commitChain(previous) : [];
  const revoked: RevokedCommitRecord[] = [];
  for (const link of chain) {
    if (link.alreadyRevoked) {
      revoked.push(link.revoked as RevokedCommitRecord);
      continue;
    }
    const secret = theirSecrets.get(link.txid);
    if (!secret) throw new UnrevokedCommitError(link.txid);
    revoked.push({ ...link.revoked, counterpartyRevocationSk: secret });
  }
  return { ...rest, revoked };
}

/**
 * `record` (still current) with `half` — the new record of a rollover under way, without the
 * taker's commit signature — kept as the commit only the counterparty can publish.
 */
export function withCounterpartyOnly(
  record: RolloverContractRecord,
  half: RolloverContractRecord,
): RolloverContractRecord {
  const { previous: _previous, counterpartyOnly: _only, ...rest } = half;
  const kept = (record.counterpartyOnly ?? []).filter((c) => c.commit.txid !== rest.commit.txid);
  return { ...record, counterpartyOnly: [...kept, rest] };
}

/** `record` with `commit` added to its unfinished commits (see {@link RolloverContractRecord}). */
export function withUnfinished(
  record: RolloverContractRecord,
  commit: UnfinishedCommit,
): RolloverContractRecord {
  const unfinished = (record.unfinished ?? []).filter((u) => u.txid !== commit.txid);
  return { ...record, unfinished: [...unfinished, commit] };
}
