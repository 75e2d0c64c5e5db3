/**
 * The wallet as the API sends it: balance and history.
 * Sats and prices are decimal strings (format.ts).
 */

import type { Cfd } from '../../../model/cfd.ts';
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
 *
 * A contract counts from its lock until the wallet holds the transaction that pays it (see
 * {@link countsInAccount}): not until it settles, or a close the wallet already sees in the
 * mempool would count twice (once as unconfirmed balance, once as the contract), and not only
 * until it settles either, or a contract whose settlement the chain monitor saw before the wallet
 * synced that block would count nowhere for a moment.
 */
export interface AccountView {
  /** Confirmed + unconfirmed wallet balance; null without a wallet. */
  readonly wallet: string | null;
  /** Own margin in contracts whose lock is out and whose payout the wallet does not hold yet. */
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

/**
 * The transactions that can pay a contract out to the wallet: the collaborative close, the CET
 * (ours, or the one that confirmed), the refund, our punish. Each spends the lock or the commit,
 * so at most one of them is ever in the wallet.
 */
export function payingTxids(cfd: Cfd): string[] {
  const txids = [
    cfd.closeTx?.txid,
    cfd.cet?.txid,
    cfd.cetTxidConfirmed,
    cfd.refundTx?.txid,
    cfd.punishTx?.txid,
  ];
  return txids.filter((t): t is string => t !== undefined);
}

/**
 * Whether a contract still counts in the account, with the txids the wallet holds (mempool or
 * confirmed): set up, and none of its {@link payingTxids} in the wallet yet — by txid, not by
 * state or timing. A settled contract keeps counting until the wallet holds its payout, unless it
 * pays this node nothing (`payout` 0 or unknown: no output will ever reach the wallet).
 */
export function countsInAccount(
  cfd: Cfd,
  walletTxids: ReadonlySet<string>,
  payout: bigint | undefined,
): boolean {
  if (cfd.setup !== 'completed') return false;
  if (payingTxids(cfd).some((txid) => walletTxids.has(txid))) return false;
  return cfd.settled === undefined || (payout !== undefined && payout > 0n);
}
