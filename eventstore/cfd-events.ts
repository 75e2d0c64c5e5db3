/**
 * Where a recorded event becomes the model's {@link CfdEvent}: the one place the log's records are
 * read as CFD events (the repository folding a stream, the read model following the log). An event
 * shape older than the model's is upgraded here, when read, so the aggregate knows only the current
 * one.
 *
 * Nothing needs upgrading yet. The optional fields `model/cfd.ts` documents as absent in old events
 * are not old shapes alone: `RolloverCompleted.revokedCommitTxids` and
 * `CollaborativeSettlementAccepted.signedClose` are still omitted by today's `decide` (their
 * defaults), and `CommitConfirmed.txid` and `SignedClose.txid` can only be filled from the CFD's
 * state (the contract's commit; the close of the proposal).
 */
import type { CfdEvent } from '../model/cfd.ts';

/** The CFD event a recorded `{ type, data }` holds (the store checked the type is a CFD's). */
export function cfdEvent(recorded: { readonly type: string; readonly data: unknown }): CfdEvent {
  return { type: recorded.type, data: recorded.data } as CfdEvent;
}
