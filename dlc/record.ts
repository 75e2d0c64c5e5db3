/**
 * The contract record of a CFD as a domain module: its commit chain (which commits of ours are
 * live, revoked, or to reveal), its lifecycle over a rollover, and the store that keeps one record
 * per CFD ({@link ContractStore}; `eventstore/contract-store.ts` keeps it in the event store's
 * database). The record's shape is `dlc/contract.ts`'s {@link ContractRecord}.
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
import { NamedError } from '../model/named-error.ts';
import type { ContractRecord, RevokedCommitRecord, UnfinishedCommit } from './contract.ts';

export type { ContractRecord };

/**
 * The contract records, one per CFD. `put` resolves once the record is durable: before the event
 * that refers to it (`ContractSetupCompleted`, `RolloverCompleted`) is appended, so after any crash
 * an event never points at a missing record.
 */
export interface ContractStore {
  /** The record of `cfdId`, or undefined if none was stored. */
  get(cfdId: string): Promise<ContractRecord | undefined>;
  /** Stores (or replaces) the record of `cfdId`, durably. */
  put(cfdId: string, record: ContractRecord): Promise<void>;
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
export function commitChain(record: ContractRecord): CommitLink[] {
  const pending: ContractRecord[] = [];
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
  readonly record: ContractRecord;
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
export function liveCommits(record: ContractRecord): LiveCommit[] {
  const revoked = new Set(revokedCommits(record).map((r) => r.txid));
  const out: LiveCommit[] = [];
  const add = (r: ContractRecord, current: boolean) => {
    if (revoked.has(r.commit.txid) || out.some((l) => l.txid === r.commit.txid)) return;
    out.push({ txid: r.commit.txid, record: r, current });
  };
  for (let r: ContractRecord | undefined = record; r; r = r.previous) {
    add(r, r === record);
    for (const c of r.counterpartyOnly ?? []) add(c, false);
  }
  return out;
}

/** The record that closes through commit `txid` (its CETs, refund), if `txid` is live. */
export function recordClosingThrough(
  record: ContractRecord,
  txid: string,
): ContractRecord | undefined {
  return liveCommits(record).find((l) => l.txid === txid)?.record;
}

/**
 * Every commit of the record chain we hold the counterparty's revocation secret of, each with the
 * record that can punish it (`dlc/contract.ts` signedPunish reads `record.revoked`).
 */
export function revokedCommits(
  record: ContractRecord,
): { readonly txid: string; readonly record: ContractRecord }[] {
  const out: { txid: string; record: ContractRecord }[] = [];
  for (let r: ContractRecord | undefined = record; r; r = r.previous) {
    for (const v of r.revoked) {
      if (!out.some((o) => o.txid === v.txid)) out.push({ txid: v.txid, record: r });
    }
  }
  return out;
}

/** The commit a taker proposes to roll over from: the oldest of its `previous` chain, else its current. */
export function baseCommitOf(record: ContractRecord): string {
  let r: ContractRecord = record;
  while (r.previous) r = r.previous;
  return r.commit.txid;
}

/** The commits of ours from `baseTxid` on (what we reveal), or undefined if we never had it. */
export function commitsFrom(record: ContractRecord, baseTxid: string): CommitLink[] | undefined {
  const chain = commitChain(record);
  const i = chain.findIndex((l) => l.txid === baseTxid);
  return i < 0 ? undefined : chain.slice(i);
}

/** A commit of ours the counterparty may still publish left without its revocation secret. */
export class UnrevokedCommitError extends NamedError {
  readonly txid: string;
  constructor(txid: string) {
    super(`no revocation secret of commit ${txid}: it stays live`);
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
  pending: ContractRecord,
  theirSecrets: ReadonlyMap<string, string>,
): ContractRecord {
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
export function withCounterpartyOnly(record: ContractRecord, half: ContractRecord): ContractRecord {
  const { previous: _previous, counterpartyOnly: _only, ...rest } = half;
  const kept = (record.counterpartyOnly ?? []).filter((c) => c.commit.txid !== rest.commit.txid);
  return { ...record, counterpartyOnly: [...kept, rest] };
}

/** `record` with `commit` added to its unfinished commits (see {@link ContractRecord}). */
export function withUnfinished(record: ContractRecord, commit: UnfinishedCommit): ContractRecord {
  const unfinished = (record.unfinished ?? []).filter((u) => u.txid !== commit.txid);
  return { ...record, unfinished: [...unfinished, commit] };
}
