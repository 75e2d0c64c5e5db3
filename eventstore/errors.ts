/** Named errors of the event store. */
import { NamedError } from '../model/named-error.ts';

export class EventStoreError extends NamedError {}

/**
 * The stream moved on since the caller read it: another writer appended first. Nothing was
 * written; reload the stream and decide again.
 */
export class ConcurrencyError extends EventStoreError {
  readonly streamId: string;
  readonly expectedVersion: number;
  readonly actualVersion: number;
  constructor(streamId: string, expectedVersion: number, actualVersion: number) {
    super(
      `stream ${streamId} is at version ${actualVersion}, not the expected ${expectedVersion}: another writer appended first`,
    );
    this.streamId = streamId;
    this.expectedVersion = expectedVersion;
    this.actualVersion = actualVersion;
  }
}

/** A write to disk failed; the store refuses further appends until it is reopened. */
export class EventStoreFailedError extends EventStoreError {}

/** The store was closed. */
export class EventStoreClosedError extends EventStoreError {
  constructor() {
    super('the event store is closed');
  }
}

/** An append that cannot be valid whatever the state (no events, bad stream id, bad version). */
export class InvalidAppendError extends EventStoreError {}

/** A stored record that does not parse: the log is not what this code wrote. */
export class CorruptRecordError extends EventStoreError {}
