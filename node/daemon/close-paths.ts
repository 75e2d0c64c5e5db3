/**
 * Which commit. The log names the contract of the last rollover completed here; the contract
 * record, the last one signed. A rollover that failed after "pending" leaves the record's current
 * commit and every one of its `previous` chain valid on chain (`liveCommits`), while the log still
 * names the oldest. So the lock's spender is matched against all of them: whichever live commit
 * confirms (ours — a force close publishes the record's current — or theirs) is recorded
 * (`confirmCommit` with its txid) and followed, its CETs and refund built from its own record; the
 * oracle events of every live record are watched; a commit revoked in the log or in the record is
 * punished.
 */
import {
  type ContractRecord,
  type LiveCommit,
  liveCommits,
  revokedCommits,
} from '../../dlc/record.ts';
import { type Cfd, confirmedCommit } from '../../model/cfd.ts';

/** What may spend a CFD's lock, each with the record to close through or to punish with. */
export interface ClosePaths {
  /** Commits valid on chain that we cannot punish: the record's current and `previous` ones. */
  readonly live: ReadonlyMap<string, LiveCommit>;
  /** Commits we hold the counterparty's revocation secret of. */
  readonly revoked: ReadonlyMap<string, ContractRecord>;
}

/** Every live and every revoked commit of the CFD, from its record and its log. */
export function closePaths(cfd: Cfd, record: ContractRecord): ClosePaths {
  const live = new Map(liveCommits(record).map((l) => [l.txid, l]));
  const revoked = new Map<string, ContractRecord>(
    revokedCommits(record).map((r) => [r.txid, r.record]),
  );
  for (const txid of cfd.revokedCommitTxids) {
    if (!revoked.has(txid) && !live.has(txid)) revoked.set(txid, record);
  }
  return { live, revoked };
}

/**
 * The live commit the CFD closes through now: the one that confirmed, else the one we published,
 * else the record's current (the only one we publish ourselves).
 */
export function closingCommit(cfd: Cfd, paths: ClosePaths): LiveCommit | undefined {
  const txid = confirmedCommit(cfd) ?? cfd.commitTx?.txid;
  if (txid !== undefined) return paths.live.get(txid);
  return [...paths.live.values()].find((l) => l.current);
}

/** Every oracle event a CET of a live commit (or of the log's contract) waits for. */
export function oracleEventsOf(logEvents: readonly string[], paths: ClosePaths): string[] {
  const out = new Set(logEvents);
  for (const l of paths.live.values()) for (const e of l.record.events) out.add(e.eventId);
  return [...out];
}
