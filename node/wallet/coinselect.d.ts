// Types for coinselect 3 (bitcoinjs' coin selection; ships no types). Values are satoshis as
// numbers: callers convert from bigint at the boundary and check they are safe integers.
declare module 'coinselect' {
  export interface CoinSelectUtxo {
    txId: string;
    vout: number;
    value: number;
    /** Only its length is used, to estimate the input's size. */
    script?: { length: number };
  }
  export interface CoinSelectTarget {
    address?: string;
    value?: number;
    script?: { length: number };
  }
  export interface CoinSelectResult<U, T> {
    inputs?: U[];
    /** Targets, plus a change output without address when worth it. */
    outputs?: (T | { value: number; address?: undefined })[];
    fee: number;
  }
  export default function coinSelect<U extends CoinSelectUtxo, T extends CoinSelectTarget>(
    utxos: U[],
    outputs: T[],
    feeRate: number,
  ): CoinSelectResult<U, T>;
}

declare module 'coinselect/split.js' {
  import type { CoinSelectResult, CoinSelectTarget, CoinSelectUtxo } from 'coinselect';
  /** Spends every utxo; targets without a value share what is left after the fee. */
  export default function split<U extends CoinSelectUtxo, T extends CoinSelectTarget>(
    utxos: U[],
    outputs: T[],
    feeRate: number,
  ): CoinSelectResult<U, T>;
}
