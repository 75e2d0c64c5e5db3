/**
 * The {@link ContractStore} of `dlc/record.ts` over the event store: the signed contracts
 * (`dlc/contract.ts` records) of every CFD, beside the event log in the same LevelDB (key space
 * `p:dlc:`). Events carry only a summary of the DLC; its secrets and thousands
 * of signatures live here, one record per CFD, replaced by each rollover.
 *
 * Ordering rule: {@link LevelContractStore.put} is fsync'd and must resolve BEFORE the event that refers to
 * the record (`ContractSetupCompleted`, `RolloverCompleted`) is appended, so after any crash an
 * event never points at a missing record. A record without its event is harmless (a setup that
 * failed after storing it): it is overwritten or ignored.
 */
import type { ContractRecord } from '../dlc/contract.ts';
import { CONTRACT_RECORD_VERSION } from '../dlc/contract.ts';
import type { ContractStore } from '../dlc/record.ts';
import { parse, stringify } from '../model/json.ts';
import { CorruptRecordError } from './errors.ts';
import type { EventStore, ProjectionStorage } from './event-store.ts';

/** Name of the key space in the event store's database (`dlc`: what existing data directories hold). */
export const CONTRACT_STORE_NAME = 'dlc';

/** The contract records in the event store's LevelDB. */
export class LevelContractStore implements ContractStore {
  readonly #storage: ProjectionStorage;

  constructor(store: EventStore) {
    this.#storage = store.projectionStorage(CONTRACT_STORE_NAME);
  }

  /** Stores (or replaces) the record of `cfdId`, durably: resolves once it is fsync'd. */
  async put(cfdId: string, record: ContractRecord): Promise<void> {
    if (record.cfdId !== cfdId) {
      throw new CorruptRecordError(`record of ${record.cfdId} stored under ${cfdId}`);
    }
    await this.#storage.write([[`c:${cfdId}`, stringify(record)]], [], { sync: true });
  }

  /** The record of `cfdId`, or undefined if none was stored. */
  async get(cfdId: string): Promise<ContractRecord | undefined> {
    const text = await this.#storage.get(`c:${cfdId}`);
    if (text === undefined) return undefined;
    let record: ContractRecord;
    try {
      record = parse<ContractRecord>(text);
    } catch (err) {
      throw new CorruptRecordError(`contract record of ${cfdId} is not valid JSON`, { cause: err });
    }
    if (record.version !== CONTRACT_RECORD_VERSION || record.cfdId !== cfdId) {
      throw new CorruptRecordError(`contract record of ${cfdId} has version ${record.version}`);
    }
    return record;
  }
}
