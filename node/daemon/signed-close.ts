/**
 * The bound on a close we signed first. The taker (model/cfd.ts `SignedClose`, recorded before
 * our signature left) whose run did not end with the whole close here may find the counterparty
 * holding it, free to broadcast it whenever the old price suits it — rollovers reuse the lock it
 * spends. Past its `until`, unless it is on chain (mempool or block; then it is rebroadcast until
 * it confirms), we publish our commit: it spends the lock, so the close can never confirm, and the
 * CFD settles by the contract (CET or refund). The deadline is on the log, so a restart keeps it.
 */
import { type ContractRecord, lockOutput, signedCommit } from '../../dlc/contract.ts';
import type { SignedClose } from '../../model/cfd.ts';
import type { ChainMonitor } from '../chain/monitor.ts';
import { type ProcessContext, signed } from './process-context.ts';

/** How soon a signed close whose deadline passed is looked at again when the chain did not answer. */
const CLOSE_DEADLINE_RETRY_MS = 5_000;

export class SignedCloseBounds {
  readonly #pm: ProcessContext;
  /** CFD id → the timer that reconciles it when the close it signed first is due on chain. */
  readonly #timers = new Map<string, NodeJS.Timeout>();

  constructor(pm: ProcessContext) {
    this.#pm = pm;
  }

  /**
   * Before the close's deadline, a timer; past it, a close on chain is followed (the lock's spend
   * report settles the CFD, a close in the mempool is rebroadcast until it confirms); otherwise
   * our commit goes out.
   */
  async enforce(
    cfdId: string,
    record: ContractRecord,
    signedClose: SignedClose,
    monitor: ChainMonitor,
  ): Promise<void> {
    const { deps, log } = this.#pm;
    const wait = signedClose.until * 1000 - Date.now();
    if (wait > 0) {
      this.#arm(cfdId, wait + 10);
      return;
    }
    const rpc = deps.rpc();
    try {
      if (!rpc) throw new Error('no chain backend to publish the commit on');
      const lock = lockOutput(record);
      // Spent in a block (bcoin's gettxout does not see mempool spends): the spend report follows.
      if (!(await rpc.getTxOut(lock.txid, lock.vout, true))) return;
      if (signedClose.txid !== undefined && (await rpc.getMempoolEntry(signedClose.txid))) {
        const hex = await rpc.getRawTransaction(signedClose.txid);
        if (hex) await monitor.trackBroadcast(hex);
        return;
      }
    } catch (err) {
      // The deadline is the bound: not a block later than needed, so ask again soon.
      log.warn({ err, cfdId }, 'cannot check the close we signed; retrying');
      this.#arm(cfdId, CLOSE_DEADLINE_RETRY_MS);
      return;
    }
    log.warn(
      { cfdId, close: signedClose.txid, until: signedClose.until },
      'the close we signed is not on chain by its deadline: force-closing so it can never confirm',
    );
    await this.#pm.execute(cfdId, { type: 'commit', commitTx: signed(signedCommit(record)) });
  }

  /** Reconciles `cfdId` in `ms` (once: a timer already armed stays). */
  #arm(cfdId: string, ms: number): void {
    if (this.#timers.has(cfdId)) return;
    const timer = setTimeout(() => {
      this.#timers.delete(cfdId);
      void this.#pm.schedule(cfdId);
    }, ms);
    timer.unref?.();
    this.#timers.set(cfdId, timer);
  }

  stop(): void {
    for (const t of this.#timers.values()) clearTimeout(t);
  }
}
