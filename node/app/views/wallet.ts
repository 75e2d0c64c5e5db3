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

/**
 * The account at a glance: the wallet, the margin locked in open contracts (from the CFDs: coin
 * reservations only cover setups under way), what those contracts would pay now and the equity
 * they add up to. Sats as decimal strings.
 */
export interface AccountView {
  /** Confirmed + unconfirmed wallet balance; null without a wallet. */
  readonly wallet: string | null;
  /** Own margin in contracts whose lock is out and that have not settled. */
  readonly inContracts: string;
  /** Σ (payout − margin − fees paid) of those contracts, at their payout figure now. */
  readonly unrealised: string;
  /** wallet + what the contracts pay now (their payout figure; margin when none can be priced). */
  readonly equity: string | null;
  /** Contracts counted. */
  readonly positions: number;
  /** Contracts without a payout figure (no quote yet): counted at their margin. */
  readonly unpriced: number;
}

/** One contract for {@link accountView}: own margin and, when priced, payout and P/L. */
export interface AccountPosition {
  readonly margin: bigint;
  readonly payout: bigint | undefined;
  readonly profit: bigint | undefined;
}

export function accountView(
  balance: Balance | undefined,
  positions: readonly AccountPosition[],
): AccountView {
  let inContracts = 0n;
  let unrealised = 0n;
  let value = 0n;
  let unpriced = 0;
  for (const p of positions) {
    inContracts += p.margin;
    if (p.payout === undefined || p.profit === undefined) {
      unpriced++;
      value += p.margin;
      continue;
    }
    unrealised += p.profit;
    value += p.payout;
  }
  const wallet = balance && balance.confirmed + balance.unconfirmed;
  return {
    wallet: wallet?.toString() ?? null,
    inContracts: inContracts.toString(),
    unrealised: unrealised.toString(),
    equity: wallet === undefined ? null : (wallet + value).toString(),
    positions: positions.length,
    unpriced,
  };
}
