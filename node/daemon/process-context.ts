/**
 * What the process manager is built with, and what its parts (node/daemon/unfinished-setups.ts,
 * lock-deadline.ts, signed-close.ts, fee-following.ts, chain-reports.ts) share of it: the deps,
 * its log, and its four ways to act — reconcile a CFD (in that CFD's queue), run a command,
 * publish a transaction, and find where a rescan starts.
 */

import { Transaction } from 'bitcoinjs-lib';
import type { Logger } from 'pino';
import type { ContractRecord } from '../../dlc/contract.ts';
import type { ContractStore } from '../../dlc/record.ts';
import type { CfdReadModel } from '../../eventstore/cfd-read-model.ts';
import type { CfdRepository } from '../../eventstore/cfd-repository.ts';
import type { CfdCommand, SignedTx } from '../../model/cfd.ts';
import { NamedError } from '../../model/named-error.ts';
import type { ChainMonitor } from '../chain/monitor.ts';
import type { BitcoinRpc } from '../chain/rpc.ts';
import type { OracleClient } from '../oracle/client.ts';
import type { ForeignInput } from '../wallet/cpfp.ts';
import type { Wallet } from '../wallet/wallet.ts';
import type { FeeBumper } from './fee-bumper.ts';

export interface ProcessManagerDeps {
  readonly cfds: CfdRepository;
  readonly readModel: CfdReadModel;
  readonly contracts: ContractStore;
  /** Absent until the chain answered; reconcile runs again when it arrives. */
  readonly monitor: () => ChainMonitor | undefined;
  readonly oracle: OracleClient | undefined;
  /** Publishes at once; the monitor then rebroadcasts on every block until it confirms. */
  readonly rpc: () => BitcoinRpc | undefined;
  /** The wallet, once the chain answered: reserves and sweeps the inputs of unfinished locks. */
  readonly wallet?: () => LockWallet | undefined;
  /** How long an unfinished setup waits for its lock before double-spending its own inputs. */
  readonly adoptTimeoutMs?: number;
  /** Backoff of a failing CFD's retries (node/daemon/cfd-problems.ts). */
  readonly retryMs?: { readonly first: number; readonly max: number };
  /**
   * How long after the order was placed a completed setup's lock may stay out of the mempool and
   * unconfirmed before the node double-spends its own lock inputs (node/daemon/lock-deadline.ts).
   */
  readonly lockConfirmTimeoutMs?: number;
  /** Milliseconds since the epoch, the clock `placedAt` was taken with. @default Date.now */
  readonly clock?: () => number;
  /**
   * Raises the fee of what we publish until it confirms (node/daemon/fee-bumper.ts); without it
   * transactions pay what they were signed with.
   */
  readonly bumper?: () => FeeBumper | undefined;
  /** The wallet, for children that pay through our own payout outputs. */
  readonly payoutInput?: (
    txid: string,
    vout: number,
    value: bigint,
    script: Uint8Array,
  ) => ForeignInput | undefined;
  /** sat/vB a punish starts at (the bumper raises it each block toward its deadline). */
  readonly punishFeeRate?: () => bigint;
  /** Most sats a punish may pay (the bump budget). */
  readonly punishMaxFee?: bigint;
  readonly logger: Logger;
}

/** What adopting or abandoning a lock needs of the wallet. */
export type LockWallet = Pick<
  Wallet,
  'reserveOutpoints' | 'release' | 'sweepOutpoints' | 'recordOwnTransaction'
>;

/** The process manager as its parts see it. */
export interface ProcessContext {
  readonly deps: ProcessManagerDeps;
  readonly log: Logger;
  /** Reconciles the CFD, after whatever is queued for it. */
  schedule(cfdId: string): Promise<void>;
  /** Runs a command; one the state no longer allows is logged, never thrown. */
  execute(cfdId: string, command: CfdCommand): Promise<void>;
  /** Broadcasts now (best effort) and has the monitor rebroadcast until it confirms. */
  publish(monitor: ChainMonitor, hex: string): Promise<void>;
  /** Where a watch rescans from for what happened while we were down: the last day of blocks. */
  rescanFrom(): Promise<number | undefined>;
}

/** A set-up CFD has no contract record: nothing on chain can be built or recognised for it. */
export class ContractRecordMissingError extends NamedError {
  constructor(cfdId: string) {
    super(`no contract record for the set-up CFD ${cfdId}`);
  }
}

/** The wallet reservation holding a CFD's own lock inputs while its lock may not confirm. */
export const lockReservation = (cfdId: string): string => `lock:${cfdId}`;

/** The outpoints a lock transaction spends, `txid:vout`. */
export function lockInputs(lockHex: string): string[] {
  return Transaction.fromHex(lockHex).ins.map(
    (i) => `${Buffer.from(i.hash).reverse().toString('hex')}:${i.index}`,
  );
}

/**
 * Double-spends our own inputs `own` of a CFD's lock back to the wallet (at the commit's fee rate),
 * so that lock can never confirm: notes the sweep in `entry` at once (a later look does not sweep
 * again), logs `why`, records the sweep in the wallet and publishes it.
 */
export async function sweepLockInputs(
  pm: ProcessContext,
  sweep: {
    readonly cfdId: string;
    readonly record: ContractRecord;
    readonly own: readonly string[];
    readonly wallet: LockWallet;
    readonly monitor: ChainMonitor;
    readonly entry: { swept?: string };
  },
  why: string,
): Promise<void> {
  const { cfdId, record, wallet, entry } = sweep;
  const tx = wallet.sweepOutpoints(sweep.own, record.commit.feeRate);
  entry.swept = tx.txid;
  pm.log.warn({ cfdId, lockTxid: record.lock.txid, sweep: tx.txid }, why);
  await wallet.recordOwnTransaction(tx.hex);
  await pm.publish(sweep.monitor, tx.hex);
}

export const signed = (tx: Transaction): SignedTx => ({ txid: tx.getId(), hex: tx.toHex() });
