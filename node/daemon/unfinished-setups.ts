/**
 * Unfinished setups: a setup whose record holds the unsigned lock after its run ended or died — our
 * lock signature may have reached the peer, which may broadcast the lock. Its own lock inputs stay
 * reserved, every lock input is watched, and
 * - the lock seen spending them (mempool or block) is adopted: the record gets the signed lock
 *   from the chain, `ContractSetupCompleted` is recorded, and the CFD goes on as any other;
 * - any other transaction spending a lock input, once confirmed, means the lock can never
 *   confirm: `ContractSetupFailed`, coins released;
 * - if neither happened `adoptTimeoutMs` after the run ended (the peer crashed for good, or never
 *   had our signature), the node double-spends its own lock inputs back to itself — the only way
 *   to be sure the lock cannot confirm later — and fails the setup once that confirms. A peer that
 *   completed broadcasts the lock at once (and again on every restart and block), so a lock that
 *   exists is seen long before the bound.
 */
import { dlcSummary } from '../../dlc/contract.ts';
import type { SpendReport } from '../chain/monitor.ts';
import {
  lockInputs,
  lockReservation,
  type ProcessContext,
  sweepLockInputs,
} from './process-context.ts';

/** Default bound on waiting for the lock of an unfinished setup (see the module doc). */
export const DEFAULT_ADOPT_TIMEOUT_MS = 60 * 60 * 1000;

export class UnfinishedSetups {
  readonly #pm: ProcessContext;
  /** CFD id → when to stop waiting for the lock, its timer, our sweep if any. */
  readonly #setups = new Map<
    string,
    { deadline: number; timer?: NodeJS.Timeout; swept?: string }
  >();

  constructor(pm: ProcessContext) {
    this.#pm = pm;
  }

  has(cfdId: string): boolean {
    return this.#setups.has(cfdId);
  }

  /** Watches `cfdId` from now (module doc). Idempotent. */
  watch(cfdId: string): void {
    if (this.#setups.has(cfdId)) return;
    const wait = this.#pm.deps.adoptTimeoutMs ?? DEFAULT_ADOPT_TIMEOUT_MS;
    const entry: { deadline: number; timer?: NodeJS.Timeout } = { deadline: Date.now() + wait };
    entry.timer = setTimeout(() => void this.#pm.schedule(cfdId), wait + 10);
    entry.timer.unref?.();
    this.#setups.set(cfdId, entry);
    void this.#pm.schedule(cfdId);
  }

  /** The setup finished one way or another: no longer watched. */
  forget(cfdId: string): void {
    clearTimeout(this.#setups.get(cfdId)?.timer);
    this.#setups.delete(cfdId);
  }

  /** Watches an unfinished setup's lock inputs; past the deadline, double-spends our own. */
  async reconcile(cfdId: string): Promise<void> {
    const { deps } = this.#pm;
    const entry = this.#setups.get(cfdId);
    const monitor = deps.monitor();
    const wallet = deps.wallet?.();
    const record = await deps.contracts.get(cfdId);
    if (!entry || !monitor || !wallet || !record) return;
    const inputs = lockInputs(record.lock.txHex);
    const own = wallet.reserveOutpoints(lockReservation(cfdId), inputs);
    // The lock may have confirmed while we were down: rescan the last day of blocks once.
    const fromHeight = await this.#pm.rescanFrom();
    for (const o of inputs) {
      await monitor.watchOutpoint(o, {
        tag: cfdId,
        ...(fromHeight !== undefined && { fromHeight }),
      });
    }
    if (Date.now() < entry.deadline || entry.swept || own.length === 0) return;
    await sweepLockInputs(
      this.#pm,
      { cfdId, record, own, wallet, monitor, entry },
      'no lock seen in time: double-spending our lock inputs so it can never confirm',
    );
  }

  /** A lock input of an unfinished setup was spent: by the lock (adopt) or by anything else. */
  async onSpent(report: SpendReport): Promise<void> {
    const { deps, log } = this.#pm;
    const cfdId = report.tag;
    const record = await deps.contracts.get(cfdId);
    if (!record || record.lock.signed) return;
    const wallet = deps.wallet?.();
    const spender = report.spender;
    const done = (): void => {
      this.forget(cfdId);
      wallet?.release(lockReservation(cfdId));
    };
    if (spender.txid === record.lock.txid) {
      log.warn({ cfdId, lockTxid: spender.txid }, 'adopting the lock seen on chain');
      await deps.contracts.put(cfdId, {
        ...record,
        lock: { ...record.lock, txHex: spender.hex, signed: true },
      });
      await this.#pm.execute(cfdId, { type: 'completeContractSetup', dlc: dlcSummary(record) });
      // Only while unconfirmed: recording a confirmed transaction as unconfirmed would have the
      // wallet's next mempool scan forget its effects. The block scan records confirmed ones.
      if (report.confirmations === 0) await wallet?.recordOwnTransaction(spender.hex);
      done();
    } else if (report.confirmations > 0) {
      log.warn({ cfdId, spender: spender.txid }, 'the lock can no longer confirm: failed');
      await this.#pm.execute(cfdId, {
        type: 'failContractSetup',
        reason: `the lock ${record.lock.txid} can no longer confirm: its input ${report.outpoint} was spent by ${spender.txid}`,
      });
      done();
    }
  }

  stop(): void {
    for (const e of this.#setups.values()) clearTimeout(e.timer);
  }
}
