/**
 * A real ItchySats contract: a production taker's ContractSetupCompleted record (maia DLC), from
 * test/fixtures/itchysats_contract_setup_completed.json. The record is the taker's: its own
 * secrets, the maker's public keys.
 */
import { readFileSync } from 'node:fs';

export interface TxJson {
  input: { previous_output: string; sequence: number; witness: number[][] }[];
  output: { value: number; script_pubkey: string }[];
  version: number;
  lock_time: number;
}

/** The record as the fixture holds it (maia's serialisation). */
interface Record {
  data: {
    dlc: {
      identity: string;
      identity_counterparty: string;
      publish: string;
      publish_pk_counterparty: string;
      revocation: string;
      revocation_pk_counterparty: string;
      lock: [TxJson, string];
      commit: [TxJson, string, string];
      refund: [TxJson, string];
      cets: Record_Cets;
      maker_address: string;
      taker_address: string;
      maker_lock_amount: number;
      taker_lock_amount: number;
      refund_timelock: number;
    };
  };
}

export type Record_Cets = {
  [eventId: string]: {
    adaptor_sig: string;
    maker_amount: number;
    taker_amount: number;
    n_bits: number;
    range: { start: number; end: number };
    txid: string;
  }[];
};

/** The record's DLC: keys, transactions with the maker's signatures, amounts and addresses. */
export const itchySatsDlc: Record['data']['dlc'] = (
  JSON.parse(
    readFileSync(
      new URL('../fixtures/itchysats_contract_setup_completed.json', import.meta.url),
      'utf8',
    ),
  ) as Record
).data.dlc;
