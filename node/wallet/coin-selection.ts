/** The wallet's coins as coinselect sees them, and amounts in its number form. */
import { MAX_MONEY, type Sats } from '../../model/units.ts';
import { P2WPKH_INPUT_SCRIPT_ESTIMATE } from './constants.ts';
import { InvalidSpendError } from './errors.ts';
import type { Utxo } from './types.ts';

/** A coin as coinselect sees it, carrying the wallet's own record along. */
export interface Candidate {
  txId: string;
  vout: number;
  value: number;
  script: { length: number };
  utxo: Utxo;
}

/** A payment target; `script` distinguishes it from the change output coinselect adds. */
export interface Target {
  address?: string;
  value?: number;
  script: { length: number };
}

/** `sats` as a coinselect number; {@link InvalidSpendError} outside 0..MAX_MONEY. */
export function toNumber(sats: Sats): number {
  if (sats < 0n || sats > MAX_MONEY) throw new InvalidSpendError(`amount ${sats} is out of range`);
  return Number(sats);
}

/** Confirmed coins not in `reserved`, as coinselect candidates. */
export function candidates(utxos: readonly Utxo[], reserved: ReadonlySet<string>): Candidate[] {
  return utxos
    .filter((u) => u.height !== undefined && !reserved.has(`${u.txid}:${u.vout}`))
    .map((u) => ({
      txId: u.txid,
      vout: u.vout,
      value: toNumber(u.value),
      script: { length: P2WPKH_INPUT_SCRIPT_ESTIMATE },
      utxo: u,
    }));
}
