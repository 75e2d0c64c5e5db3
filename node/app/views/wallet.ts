/**
 * The wallet as the API sends it: balance and history.
 * Sats and prices are decimal strings (format.ts).
 */

import type { Balance, WalletTx } from '../../wallet/wallet.ts';

// wallet

export interface BalanceView {
  readonly confirmed: string;
  readonly unconfirmed: string;
  readonly reserved: string;
  readonly spendable: string;
}

export interface WalletView {
  readonly network: string;
  readonly balance: BalanceView;
  /** Height the wallet has scanned to; null before its first sync. */
  readonly height: number | null;
}

export function walletView(network: string, b: Balance, height: number | undefined): WalletView {
  return {
    network,
    balance: {
      confirmed: b.confirmed.toString(),
      unconfirmed: b.unconfirmed.toString(),
      reserved: b.reserved.toString(),
      spendable: b.spendable.toString(),
    },
    height: height ?? null,
  };
}

export interface WalletTxView {
  readonly txid: string;
  /** Confirming block; null while in the mempool. */
  readonly height: number | null;
  readonly received: string;
  readonly sent: string;
  /** received − sent, sats (negative: money left the wallet). */
  readonly net: string;
}

export function walletTxView(tx: WalletTx): WalletTxView {
  return {
    txid: tx.txid,
    height: tx.height ?? null,
    received: tx.received.toString(),
    sent: tx.sent.toString(),
    net: (tx.received - tx.sent).toString(),
  };
}
