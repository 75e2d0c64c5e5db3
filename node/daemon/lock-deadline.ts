/**
 * The lock deadline. A completed setup whose lock is neither confirmed nor in the mempool
 * `lockConfirmTimeoutMs` after the order was placed (a counterparty input double-spent after we
 * checked it, a lock below every mempool's fee floor, anything that keeps it out) is ended by the
 * node: it double-spends its own lock inputs back to itself, and the CFD is failed once that
 * confirms (as for any other spend of a lock input, node/daemon/chain-reports.ts). A lock kept out
 * of mempools is an option for the counterparty — it holds the signed lock and could have it
 * mined, out of band, when the price suits it — so the bound is short. A lock in the mempool can
 * confirm without anyone's help and is left to do so.
 */
import { Transaction } from 'bitcoinjs-lib';
import type { ContractRecord } from '../../dlc/contract.ts';
import type { Cfd } from '../../model/cfd.ts';
import { locate } from '../chain/broadcast.ts';
import type { ChainMonitor } from '../chain/monitor.ts';
import {
  lockInputs,
  lockReservation,
  type ProcessContext,
  sweepLockInputs,
} from './process-context.ts';

/**
 * Default bound on a completed setup's lock staying out of the mempool: an hour (six blocks) of
 * rebroadcasts on every block outlasts a node or relay hiccup, and bounds the counterparty's option
 * on a lock only it could have mined to well within one settlement interval.
 */
export const DEFAULT_LOCK_CONFIRM_TIMEOUT_MS = 60 * 60 * 1000;

/** Past the lock deadline, a lock in the mempool (or our coins not yet free) is looked at again this often. */
const LOCK_RECHECK_MS = 10 * 60 * 1000;

export class LockDeadlines {
  readonly #pm: ProcessContext;
  /** Completed setups whose lock is not confirmed: the timer of the next look, our sweep if any. */
  readonly #deadlines = new Map<string, { timer?: NodeJS.Timeout; swept?: string }>();

  constructor(pm: ProcessContext) {
    this.#pm = pm;
  }

  /**
   * A completed setup's lock past its deadline, neither in the mempool nor confirmed: double-spend
   * our own lock inputs back to ourselves. Before the deadline, arms a timer for it; after, looks
   * again every {@link LOCK_RECHECK_MS}.
   */
  async enforce(cfd: Cfd, record: ContractRecord, monitor: ChainMonitor): Promise<void> {
    const { deps } = this.#pm;
    const cfdId = cfd.terms!.id;
    const timeout = deps.lockConfirmTimeoutMs ?? DEFAULT_LOCK_CONFIRM_TIMEOUT_MS;
    const deadline = cfd.terms!.placedAt * 1000 + timeout;
    const now = (deps.clock ?? Date.now)();
    const entry = this.#deadlines.get(cfdId) ?? {};
    this.#deadlines.set(cfdId, entry);
    clearTimeout(entry.timer);
    const wait = now < deadline ? deadline - now : Math.min(timeout, LOCK_RECHECK_MS);
    entry.timer = setTimeout(() => void this.#pm.schedule(cfdId), wait + 10);
    entry.timer.unref?.();
    const rpc = deps.rpc();
    const wallet = deps.wallet?.();
    if (now < deadline || entry.swept || !rpc || !wallet) return;
    const outputs = Transaction.fromHex(record.lock.txHex).outs.length;
    if (await locate(rpc, record.lock.txid, outputs)) return; // it can confirm on its own
    // Our coins, unless the wallet still counts them spent by the lock (its next sync frees them).
    const own = wallet.reserveOutpoints(lockReservation(cfdId), lockInputs(record.lock.txHex));
    if (own.length === 0) return;
    await sweepLockInputs(
      this.#pm,
      { cfdId, record, own, wallet, monitor, entry },
      'the lock is not in the mempool past its deadline: double-spending our lock inputs',
    );
  }

  /** The lock confirmed or the CFD ended: no more deadline; a sweep that lost is not rebroadcast. */
  end(cfdId: string): void {
    const { deps, log } = this.#pm;
    const entry = this.#deadlines.get(cfdId);
    if (!entry) return;
    clearTimeout(entry.timer);
    this.#deadlines.delete(cfdId);
    deps.wallet?.()?.release(lockReservation(cfdId));
    if (entry.swept) {
      deps
        .monitor()
        ?.untrackBroadcast(entry.swept)
        .catch((err: unknown) => log.debug({ err, cfdId }, 'could not untrack our sweep'));
    }
  }

  stop(): void {
    for (const e of this.#deadlines.values()) clearTimeout(e.timer);
  }
}
