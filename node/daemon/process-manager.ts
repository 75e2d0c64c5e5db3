/**
 * The process manager: turns what the log says and what the chain and the oracle report into
 * transactions on chain and commands on CFDs — the non-collaborative paths that need nobody's
 * cooperation.
 *
 * It is state-driven: for each CFD it looks at the current state (from the read model) and makes
 * sure what that state needs is under way — lock broadcast and watched, commit published and
 * watched, CET published once the oracle attested and the relative lock passed, refund when no
 * attestation came before the refund lock, punish when a revoked commit appears. Every step is
 * idempotent, so the same `reconcile` serves every new event, every chain report and a restart:
 * nothing is left stuck after a crash.
 *
 * Its parts, each a small file beside it: which commits may spend the lock (close-paths.ts), the
 * chain's reports turned into commands (chain-reports.ts), unfinished setups (unfinished-setups.ts),
 * the lock deadline (lock-deadline.ts), the bound on a close we signed first (signed-close.ts), and
 * fee following (fee-following.ts); what they share of it is in process-context.ts.
 *
 * Interrupted protocol runs (a crash, or a peer that vanished mid-way). On start, before any
 * protocol serves, every CFD the log shows in the middle of a run is settled:
 * - a rollover under way → `RolloverFailed`: the contract record on disk is in force (the old one,
 *   or the pending one whose new commit is current and which the next rollover catches up from);
 * - a setup whose order is only placed, or started with no contract record → `ContractSetupFailed`:
 *   our lock signature never left (it leaves only after the record is stored), so the lock can
 *   never be complete; coin reservations live in memory and died with the process;
 * - a setup whose record holds the signed lock → `ContractSetupCompleted` (adopted: we can
 *   broadcast it ourselves, and do);
 * - a setup whose record holds the unsigned lock: our lock signature may have reached the peer,
 *   which may broadcast the lock. Such a setup is *unfinished* (so is one whose live run failed
 *   with `lockMayBroadcast`), and watched until its lock is adopted or can never confirm
 *   (unfinished-setups.ts);
 * - a collaborative settlement under way → `CollaborativeSettlementFailed`: the run died with the
 *   process. A close we had signed first stays bounded (below).
 *
 * A close we signed first stays bounded by its deadline (signed-close.ts); a completed setup's lock
 * that stays out of the mempool is ended by the lock deadline (lock-deadline.ts).
 */
import type { Logger } from 'pino';
import {
  dlcSummary,
  lockOutput,
  rebuildCet,
  signedCet,
  signedCommit,
  signedLock,
} from '../../dlc/contract.ts';
import {
  type CfdCommand,
  confirmedCommit,
  outstandingSignedClose,
  type SignedTx,
} from '../../model/cfd.ts';
import { asPrice, PRICE_SCALE } from '../../model/units.ts';
import { broadcast } from '../chain/broadcast.ts';
import type { ChainMonitor, ChainReport } from '../chain/monitor.ts';
import type { VerifiedAttestation } from '../oracle/client.ts';
import { CfdProblems } from './cfd-problems.ts';
import { onChainReport } from './chain-reports.ts';
import { closePaths, closingCommit, oracleEventsOf } from './close-paths.ts';
import { followFees } from './fee-following.ts';
import { LockDeadlines } from './lock-deadline.ts';
import {
  ContractRecordMissingError,
  lockInputs,
  type ProcessContext,
  type ProcessManagerDeps,
  signed,
} from './process-context.ts';
import { SignedCloseBounds } from './signed-close.ts';
import { UnfinishedSetups } from './unfinished-setups.ts';

export class ProcessManager {
  readonly #d: ProcessManagerDeps;
  readonly #log: Logger;
  /**
   * Every per-CFD reaction runs through it: one CFD's failure is logged, shown (health, its view)
   * and retried, and never stops another CFD or the chain monitor.
   */
  readonly problems: CfdProblems;
  readonly #unsubscribe: (() => void)[] = [];
  /** The oracle events of each CFD's live commits, as its last reconcile found them. */
  readonly #liveEvents = new Map<string, ReadonlySet<string>>();
  /** One reconcile at a time per CFD, in order. */
  readonly #queues = new Map<string, Promise<void>>();
  readonly #context: ProcessContext;
  readonly #unfinished: UnfinishedSetups;
  readonly #lockDeadlines: LockDeadlines;
  readonly #signedCloses: SignedCloseBounds;

  constructor(deps: ProcessManagerDeps) {
    this.#d = deps;
    this.#log = deps.logger.child({ component: 'process-manager' });
    this.problems = new CfdProblems({
      logger: this.#log,
      ...(deps.retryMs && { retryMs: deps.retryMs }),
    });
    const context: ProcessContext = {
      deps,
      log: this.#log,
      schedule: (cfdId) => this.#schedule(cfdId),
      execute: (cfdId, command) => this.#execute(cfdId, command),
      publish: (monitor, hex) => this.#publish(monitor, hex),
      rescanFrom: () => this.#rescanFrom(),
    };
    this.#unfinished = new UnfinishedSetups(context);
    this.#lockDeadlines = new LockDeadlines(context);
    this.#signedCloses = new SignedCloseBounds(context);
    this.#context = context;
  }

  /** Reconciles every open CFD, then follows the read model and the oracle. */
  async start(): Promise<void> {
    this.#unsubscribe.push(
      this.#d.readModel.onChange((cfds) => {
        for (const cfd of cfds) this.#schedule(cfd.terms!.id);
      }),
    );
    if (this.#d.oracle) {
      this.#unsubscribe.push(this.#d.oracle.onAttestation((a) => this.onAttestation(a)));
    }
    await this.#recoverInterrupted();
    await this.reconcileAll();
  }

  /** Settles every protocol run the log shows under way: none survives a restart. */
  async #recoverInterrupted(): Promise<void> {
    for (const cfd of this.#d.readModel.openCfds()) {
      const id = cfd.terms!.id;
      const log = this.#log.child({ cfdId: id });
      try {
        if (cfd.rollover) {
          log.warn('rollover interrupted by a restart: failed, the stored contract stays in force');
          await this.#execute(id, {
            type: 'failRollover',
            reason: 'interrupted: the node restarted during the rollover',
          });
        }
        if (cfd.settlement) {
          log.warn('collaborative settlement interrupted by a restart: failed');
          await this.#execute(id, {
            type: 'failSettlement',
            reason: 'interrupted: the node restarted during the settlement',
          });
        }
        if (cfd.setup === 'pending') {
          log.warn('order interrupted by a restart before contract setup: failed');
          await this.#execute(id, {
            type: 'failContractSetup',
            reason: 'interrupted: the node restarted before contract setup began',
          });
        } else if (cfd.setup === 'started') {
          const record = await this.#d.contracts.get(id);
          if (!record) {
            log.warn('contract setup interrupted before our lock signature could leave: failed');
            await this.#execute(id, {
              type: 'failContractSetup',
              reason: 'interrupted: the node restarted before any signature of ours left',
            });
          } else if (record.lock.signed) {
            log.warn('contract setup interrupted after the signed lock was stored: adopted');
            await this.#execute(id, { type: 'completeContractSetup', dlc: dlcSummary(record) });
          } else {
            log.warn('contract setup interrupted after our lock signature may have left: watching');
            this.watchUnfinishedSetup(id);
          }
        }
      } catch (err) {
        log.error({ err }, 'could not settle an interrupted run');
      }
    }
  }

  /**
   * A setup whose run ended (or died) after our lock signature may have left: watch for the lock,
   * adopt it or fail once it can no longer confirm (unfinished-setups.ts). Idempotent.
   */
  watchUnfinishedSetup(cfdId: string): void {
    this.#unfinished.watch(cfdId);
  }

  /** Where a watch rescans from for what happened while we were down: the last day of blocks. */
  async #rescanFrom(): Promise<number | undefined> {
    const tip = await this.#d
      .rpc()
      ?.getBlockCount()
      .catch(() => undefined);
    return tip === undefined ? undefined : Math.max(0, tip - 144);
  }

  async stop(): Promise<void> {
    for (const u of this.#unsubscribe.splice(0)) u();
    this.problems.stop();
    this.#unfinished.stop();
    this.#lockDeadlines.stop();
    this.#signedCloses.stop();
    await Promise.allSettled([...this.#queues.values()]);
  }

  /** Every open CFD, e.g. when the chain backend came up. */
  async reconcileAll(): Promise<void> {
    await Promise.all(this.#d.readModel.openCfds().map((c) => this.#schedule(c.terms!.id)));
  }

  /**
   * Monitor reports arrive here (tag = CFD id). A failure is that CFD's problem and is rethrown:
   * the monitor then holds back only this CFD's reports and delivers them again after a backoff.
   */
  async onReport(report: ChainReport): Promise<void> {
    if (report.kind === 'rebroadcastFailed') {
      this.#log.warn(report, 'rebroadcast failed');
      return;
    }
    await this.problems.run(
      report.tag,
      'chain report',
      () => onChainReport(this.#context, this.#unfinished, report),
      {
        rethrow: true,
      },
    );
  }

  #schedule(cfdId: string): Promise<void> {
    const previous = this.#queues.get(cfdId) ?? Promise.resolve();
    const next = previous
      .then(() =>
        this.problems.run(cfdId, 'reconcile', () => this.#reconcile(cfdId), {
          retry: () => void this.#schedule(cfdId),
          clears: ['attestation'],
        }),
      )
      .catch((err: unknown) =>
        this.#log.error({ err, cfdId }, 'reconcile failed; retried on the next change'),
      );
    this.#queues.set(cfdId, next);
    void next.finally(() => {
      if (this.#queues.get(cfdId) === next) this.#queues.delete(cfdId);
    });
    return next;
  }

  /** Makes sure what this CFD's state needs on chain is under way. Idempotent. */
  async #reconcile(cfdId: string): Promise<void> {
    const cfd = await this.#d.readModel.get(cfdId);
    const monitor = this.#d.monitor();
    if (cfd?.setup === 'started' && this.#unfinished.has(cfdId)) {
      await this.#unfinished.reconcile(cfdId);
      return;
    }
    if (cfd && cfd.setup !== 'started') this.#unfinished.forget(cfdId);
    if (!cfd?.dlc || cfd.settled || cfd.setup === 'failed' || cfd.lockConfirmed) {
      this.#lockDeadlines.end(cfdId);
    }
    if (!cfd?.dlc || cfd.settled || cfd.setup === 'failed') {
      this.#liveEvents.delete(cfdId);
      this.#d.bumper?.()?.forget(cfdId);
      return;
    }
    const record = await this.#d.contracts.get(cfdId);
    if (!record) throw new ContractRecordMissingError(cfdId);
    const dlc = cfd.dlc;
    const paths = closePaths(cfd, record);
    // The events of every live commit: any of them may be the one that confirms.
    const events = oracleEventsOf(dlc.oracleEventIds, paths);
    this.#liveEvents.set(cfdId, new Set(events));
    this.#d.oracle?.watch(events);
    if (!monitor) return;
    const lock = lockOutput(record);
    // The lock: broadcast until confirmed; who spends it tells commit, revoked commit and close apart.
    if (!cfd.lockConfirmed) {
      await this.#publish(monitor, signedLock(record).toHex());
    }
    await monitor.watchTx(dlc.lockTxid, { tag: cfdId, depth: 1 });
    await monitor.watchOutpoint(`${lock.txid}:${lock.vout}`, { tag: cfdId });
    if (!cfd.lockConfirmed) {
      // Either side's lock inputs spent by anything but the lock (the other side gave up on a
      // setup it never saw complete, and double-spent its inputs) mean the lock can never confirm.
      // The spend may have confirmed while we were down: rescan the last day of blocks.
      const fromHeight = await this.#rescanFrom();
      for (const o of lockInputs(record.lock.txHex)) {
        await monitor.watchOutpoint(o, {
          tag: cfdId,
          ...(fromHeight !== undefined && { fromHeight }),
        });
      }
      await this.#lockDeadlines.enforce(cfd, record, monitor);
    }
    const signedClose = outstandingSignedClose(cfd);
    if (signedClose) await this.#signedCloses.enforce(cfdId, record, signedClose, monitor);

    // The commit to follow for the CET and refund locks: the one that confirmed (ours, or whichever
    // live commit the counterparty published), else the one we published.
    // Not once a revoked commit spent the lock: ours could only evict the punish.
    if (cfd.commitTx && !cfd.commitConfirmed && !cfd.revokedCommitSeen) {
      await this.#publish(monitor, cfd.commitTx.hex);
    }
    if (cfd.commitTx && cfd.revokedCommitSeen) await monitor.untrackBroadcast(cfd.commitTx.txid);
    const confirmed = confirmedCommit(cfd);
    if (cfd.commitTx && confirmed !== undefined && cfd.commitTx.txid !== confirmed) {
      // Ours lost the race to another live commit: it can never confirm, stop rebroadcasting it.
      await monitor.untrackBroadcast(cfd.commitTx.txid);
    }
    const followed = confirmed ?? cfd.commitTx?.txid;
    if (followed !== undefined) {
      await monitor.watchTx(followed, {
        tag: cfdId,
        depth: Math.max(dlc.cetTimelock, dlc.refundTimelock),
      });
      await monitor.watchOutpoint(`${followed}:0`, { tag: cfdId });
    }
    if (cfd.cet && cfd.cetTimelockExpired) {
      await this.#publish(monitor, cfd.cet.hex);
      await monitor.watchTx(cfd.cet.txid, { tag: cfdId, depth: 1 });
    }
    for (const tx of [cfd.closeTx, cfd.refundTx, cfd.punishTx]) {
      if (!tx) continue;
      await this.#publish(monitor, tx.hex);
      await monitor.watchTx(tx.txid, { tag: cfdId, depth: 1 });
    }
    await followFees(this.#d, cfd, record, paths);
    await this.#d.bumper?.()?.kick(cfdId);
    // An attestation that arrived while we were down (or before the commit that confirmed
    // turned out to be another than the one its CET was built on).
    if (!cfd.attestation && this.#d.oracle) {
      for (const eventId of events) {
        const a = this.#d.oracle.attestation(eventId);
        if (a) await this.#attest(cfdId, a);
      }
    }
  }

  /** A verified attestation (from the oracle client): every open CFD with CETs for it acts. */
  async onAttestation(a: VerifiedAttestation): Promise<void> {
    for (const cfd of this.#d.readModel.openCfds()) {
      const id = cfd.terms!.id;
      const relevant =
        cfd.dlc?.oracleEventIds.includes(a.eventId) || this.#liveEvents.get(id)?.has(a.eventId);
      if (!relevant || cfd.attestation) continue;
      await this.problems.run(id, 'attestation', () => this.#attest(id, a), {
        // Reconcile applies the attestation the oracle client keeps.
        retry: () => void this.#schedule(id),
      });
    }
  }

  /**
   * A verified attestation: if the commit the CFD closes through (the confirmed one, else the one
   * we published, else the record's current) has a CET for it, record the CET path.
   */
  async #attest(cfdId: string, a: VerifiedAttestation): Promise<void> {
    const cfd = await this.#d.readModel.get(cfdId);
    const record = await this.#d.contracts.get(cfdId);
    if (!cfd?.dlc || cfd.attestation || !record) return;
    const through = closingCommit(cfd, closePaths(cfd, record));
    if (!through) {
      this.#log.error(
        { cfdId, commit: confirmedCommit(cfd) ?? cfd.commitTx?.txid },
        'the commit this CFD closes through is not in its contract record',
      );
      return;
    }
    const r = through.record;
    try {
      rebuildCet(r, a.eventId, a.price);
    } catch {
      // Not an event of this commit, or a liquidation event whose price does not liquidate
      // this contract: nothing to do.
      return;
    }
    const cet = signed(signedCet(r, a.eventId, a.price, a.scalars));
    const price = asPrice(BigInt(Math.max(a.price, 1)) * PRICE_SCALE);
    await this.#execute(cfdId, {
      type: 'attest',
      eventId: a.eventId,
      price,
      cet,
      // A commit only the counterparty can publish has no signature of its to add: it is out.
      ...(r.commit.counterpartyAdaptorSignature !== '' && {
        commitTx: signed(signedCommit(r)),
      }),
      ...(through.txid !== cfd.dlc.commitTxid && {
        oracleEventIds: r.events.map((e) => e.eventId),
      }),
    });
  }

  /** A punish the bumper replaced at a higher fee: recorded, and the old one no longer pushed. */
  async onPunishReplaced(cfdId: string, old: string, punishTx: SignedTx): Promise<void> {
    await this.#execute(cfdId, { type: 'replacePunish', punishTx });
    await this.#d.monitor()?.untrackBroadcast(old);
  }

  /** Broadcasts now (best effort) and has the monitor rebroadcast until it confirms. */
  async #publish(monitor: ChainMonitor, hex: string): Promise<void> {
    const txid = await monitor.trackBroadcast(hex);
    const rpc = this.#d.rpc();
    if (!rpc) return;
    try {
      await broadcast(rpc, hex);
    } catch (err) {
      // Already confirmed, not yet valid (a timelock) or double-spent: the monitor keeps trying
      // and reports what the node says.
      this.#log.debug({ err, txid }, 'broadcast not accepted now');
    }
  }

  /** Runs a command; a command the state no longer allows is logged, never thrown. */
  async #execute(cfdId: string, command: CfdCommand): Promise<void> {
    try {
      await this.#d.cfds.execute(cfdId, command);
    } catch (err) {
      const name = (err as Error).name;
      if (name === 'IllegalCommandError' || name === 'ConcurrencyError') {
        this.#log.debug({ err, cfdId, command: command.type }, 'command not applied');
        return;
      }
      throw err;
    }
  }
}
