/** The wallet's public records: coins, transactions, balance, funding and signed spends. */
import type { Sats } from '../../model/units.ts';
import type { Chain } from './keys.ts';

/** An unspent (or spent-in-mempool) output of the wallet. */
export interface Utxo {
  readonly txid: string;
  readonly vout: number;
  readonly value: Sats;
  readonly script: string;
  readonly chain: Chain;
  readonly index: number;
  /** Height of the confirming block; undefined while in the mempool. */
  readonly height: number | undefined;
  /** The transaction spending it, if any (confirmed at `height`, or in the mempool). */
  readonly spentBy: { txid: string; height: number | undefined } | undefined;
}

/** The coin pool a maker keeps: `count` coins of at least `value` sats each. */
export interface CoinPoolTarget {
  readonly count: number;
  readonly value: Sats;
}

/** A split transaction topping the coin pool up; its sources are reserved until recorded. */
export interface PoolSplit extends SignedWithdrawal {
  /** Release it if the split is abandoned (not broadcast); recording it frees it too. */
  readonly reservationId: string;
  /** New pool coins it creates. */
  readonly coins: number;
}

/** A transaction that moved the wallet's coins. */
export interface WalletTx {
  readonly txid: string;
  readonly height: number | undefined;
  /** Sum of the wallet's outputs in it. */
  readonly received: Sats;
  /** Sum of the wallet's coins it spent. */
  readonly sent: Sats;
}

export interface Balance {
  /** Unspent outputs with at least one confirmation. */
  readonly confirmed: Sats;
  /** Unspent outputs still in the mempool. */
  readonly unconfirmed: Sats;
  /** Confirmed coins held for contract setups under way. */
  readonly reserved: Sats;
  /** Confirmed, unreserved: what a withdrawal or a new contract can use. */
  readonly spendable: Sats;
}

/** Coins set aside for one contract setup's lock transaction. */
export interface Funding {
  readonly reservationId: string;
  readonly inputs: readonly { txid: string; vout: number; value: Sats; script: string }[];
  /** Change back to the wallet, if worth an output. */
  readonly change: { address: string; script: string; value: Sats } | undefined;
  /** Fee for this party's inputs and change at the requested rate. */
  readonly fee: Sats;
  readonly expiresAt: number;
}

export interface SignedWithdrawal {
  readonly txid: string;
  readonly hex: string;
  readonly fee: Sats;
  readonly vsize: number;
}
