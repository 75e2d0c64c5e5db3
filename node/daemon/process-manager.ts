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
 * Which commit. The log names the contract of the last rollover completed here; the contract
 * record, the last one signed. A rollover that failed after "pending" leaves the record's current
 * commit and every one of its `previous` chain valid on chain (`liveCommits`), while the log still
 * names the oldest. So the lock's spender is matched against all of them: whichever live commit
 * confirms (ours — a force close publishes the record's current — or theirs) is recorded
 * (`confirmCommit` with its txid) and followed, its CETs and refund built from its own record; the
 * oracle events of every live record are watched; a commit revoked in the log or in the record is
 * punished.
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
 *   with `lockMayBroadcast`): its own lock inputs stay reserved, every lock input is watched, and
 *   - the lock seen spending them (mempool or block) is adopted: the record gets the signed lock
 *     from the chain, `ContractSetupCompleted` is recorded, and the CFD goes on as any other;
 *   - any other transaction spending a lock input, once confirmed, means the lock can never
 *     confirm: `ContractSetupFailed`, coins released;
 *   - if neither happened `adoptTimeoutMs` after the run ended (the peer crashed for good, or
 *     never had our signature), the node double-spends its own lock inputs back to itself — the
 *     only way to be sure the lock cannot confirm later — and fails the setup once that confirms.
 *     A peer that completed broadcasts the lock at once (and again on every restart and block),
 *     so a lock that exists is seen long before the bound.
 * - a collaborative settlement under way → `CollaborativeSettlementFailed`: the run died with the
 *   process. A close we had signed first stays bounded (below).
 *
 * A close we signed first (the taker; model/cfd.ts `SignedClose`, recorded before our signature
 * left) whose run did not end with the whole close here may be held by the counterparty, who could
 * broadcast it whenever the old price suits it — rollovers reuse the lock it spends. Past its
 * `until`, unless it is on chain (mempool or block; then it is rebroadcast until it confirms), we
 * publish our commit: it spends the lock, so the close can never confirm, and the CFD settles by
 * the contract (CET or refund). The deadline is on the log, so a restart keeps it.
 *
 * A completed setup whose lock is neither confirmed nor in the mempool `lockConfirmTimeoutMs`
 * after the order was placed (a counterparty input double-spent after we checked it, a lock below
 * every mempool's fee floor, anything that keeps it out) is ended by the node: it double-spends its
 * own lock inputs back to itself, and the CFD is failed once that confirms (as for any other spend
 * of a lock input). A lock kept out of mempools is an option for the counterparty — it holds the
 * signed lock and could have it mined, out of band, when the price suits it — so the bound is
 * short. A lock in the mempool can confirm without anyone's help and is left to do so.
 */
import { Transaction } from 'bitcoinjs-lib';
import type { Logger } from 'pino';
import {
  anchorOf,
  type ContractRecord,
  dlcSummary,
  isCollaborativeClose,
  lockOutput,
  payoutScriptsOf,
  rebuildCet,
  signedCet,
  signedCommit,
  signedLock,
  signedPunish,
  signedRefund,
} from '../../dlc/contract.ts';
import {
  type LiveCommit,
  liveCommits,
  type ContractRecord as RolloverContractRecord,
  revokedCommits,
} from '../../dlc/record.ts';
import { p2wshOutput } from '../../dlc/scripts.ts';
import { ANCHOR_INPUT_VBYTES, signAnchorInput } from '../../dlc/sign.ts';
import { PUNISH_VBYTES } from '../../dlc/transactions.ts';
import type { CfdReadModel } from '../../eventstore/cfd-read-model.ts';
import type { CfdRepository } from '../../eventstore/cfd-repository.ts';
import {
  type Cfd,
  type CfdCommand,
  confirmedCommit,
  outstandingSignedClose,
  type SignedClose,
  type SignedTx,
} from '../../model/cfd.ts';
import { asPrice, PRICE_SCALE } from '../../model/units.ts';
import { broadcast, locate } from '../chain/broadcast.ts';
import type { ChainMonitor, ChainReport, SpendReport } from '../chain/monitor.ts';
import type { BitcoinRpc } from '../chain/rpc.ts';
import type { OracleClient, VerifiedAttestation } from '../oracle/client.ts';
import type { ForeignInput } from '../wallet/cpfp.ts';
import type { Wallet } from '../wallet/wallet.ts';
import { CfdProblems } from './cfd-problems.ts';
import type { BumpTarget, FeeBumper } from './fee-bumper.ts';

/** Where the signed-contract records live (written at setup and rollover, before the event). */
export interface ContractRecords {
  get(cfdId: string): Promise<ContractRecord | undefined>;
  /** Stores a record durably (adoption: the lock signed as the chain shows it). */
  put(cfdId: string, record: ContractRecord): Promise<void>;
}

export interface ProcessManagerDeps {
  readonly cfds: CfdRepository;
  readonly readModel: CfdReadModel;
  readonly contracts: ContractRecords;
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
   * unconfirmed before the node double-spends its own lock inputs (module doc).
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

/** Default bound on waiting for the lock of an unfinished setup (see the module doc). */
export const DEFAULT_ADOPT_TIMEOUT_MS = 60 * 60 * 1000;

/**
 * Default bound on a completed setup's lock staying out of the mempool: an hour (six blocks) of
 * rebroadcasts on every block outlasts a node or relay hiccup, and bounds the counterparty's option
 * on a lock only it could have mined to well within one settlement interval.
 */
export const DEFAULT_LOCK_CONFIRM_TIMEOUT_MS = 60 * 60 * 1000;

/** Past the lock deadline, a lock in the mempool (or our coins not yet free) is looked at again this often. */
const LOCK_RECHECK_MS = 10 * 60 * 1000;
/** How soon a signed close whose deadline passed is looked at again when the chain did not answer. */
const CLOSE_DEADLINE_RETRY_MS = 5_000;

const lockReservation = (cfdId: string): string => `lock:${cfdId}`;

/** A set-up CFD has no contract record: nothing on chain can be built or recognised for it. */
export class ContractRecordMissingError extends Error {
  constructor(cfdId: string) {
    super(`no contract record for the set-up CFD ${cfdId}`);
    this.name = 'ContractRecordMissingError';
  }
}

/** The outpoints a lock transaction spends, `txid:vout`. */
function lockInputs(lockHex: string): string[] {
  return Transaction.fromHex(lockHex).ins.map(
    (i) => `${Buffer.from(i.hash).reverse().toString('hex')}:${i.index}`,
  );
}

const signed = (tx: Transaction): SignedTx => ({ txid: tx.getId(), hex: tx.toHex() });

/** What a transaction spending one output of `spentValue` leaves as fee. */
function feeOf(hex: string, spentValue: bigint): bigint {
  return spentValue - Transaction.fromHex(hex).outs.reduce((a, o) => a + BigInt(o.value), 0n);
}

const fromHexBytes = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h, 'hex'));

/** What may spend a CFD's lock, each with the record to close through or to punish with. */
interface ClosePaths {
  /** Commits valid on chain that we cannot punish: the record's current and `previous` ones. */
  readonly live: ReadonlyMap<string, LiveCommit>;
  /** Commits we hold the counterparty's revocation secret of. */
  readonly revoked: ReadonlyMap<string, ContractRecord>;
}

/**
 * The log names the contract of the last rollover completed here, the record the last one signed:
 * after a rollover that failed past "pending", both its commits (and older ones of the `previous`
 * chain) are valid on chain, so every one of them is followed, each through its own record.
 */
function closePaths(cfd: Cfd, record: RolloverContractRecord): ClosePaths {
  const live = new Map(liveCommits(record).map((l) => [l.txid, l]));
  const revoked = new Map<string, ContractRecord>(
    revokedCommits(record).map((r) => [r.txid, r.record]),
  );
  for (const txid of cfd.revokedCommitTxids) {
    if (!revoked.has(txid) && !live.has(txid)) revoked.set(txid, record);
  }
  return { live, revoked };
}

/**
 * The live commit the CFD closes through now: the one that confirmed, else the one we published,
 * else the record's current (the only one we publish ourselves).
 */
function closingCommit(cfd: Cfd, paths: ClosePaths): LiveCommit | undefined {
  const txid = confirmedCommit(cfd) ?? cfd.commitTx?.txid;
  if (txid !== undefined) return paths.live.get(txid);
  return [...paths.live.values()].find((l) => l.current);
}

/** Every oracle event a CET of a live commit (or of the log's contract) waits for. */
function oracleEventsOf(logEvents: readonly string[], paths: ClosePaths): string[] {
  const out = new Set(logEvents);
  for (const l of paths.live.values()) for (const e of l.record.events) out.add(e.eventId);
  return [...out];
}

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
  /** Unfinished setups (see the module doc): CFD id → when to stop waiting for the lock. */
  readonly #unfinished = new Map<
    string,
    { deadline: number; timer?: NodeJS.Timeout; swept?: string }
  >();
  /** Completed setups whose lock is not confirmed: the timer of the next look, our sweep if any. */
  readonly #lockDeadlines = new Map<string, { timer?: NodeJS.Timeout; swept?: string }>();
  /** CFD id → the timer that reconciles it when the close it signed first is due on chain. */
  readonly #closeDeadlines = new Map<string, NodeJS.Timeout>();

  constructor(deps: ProcessManagerDeps) {
    this.#d = deps;
    this.#log = deps.logger.child({ component: 'process-manager' });
    this.problems = new CfdProblems({
      logger: this.#log,
      ...(deps.retryMs && { retryMs: deps.retryMs }),
    });
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
   * adopt it or fail once it can no longer confirm (module doc). Idempotent.
   */
  watchUnfinishedSetup(cfdId: string): void {
    if (this.#unfinished.has(cfdId)) return;
    const wait = this.#d.adoptTimeoutMs ?? DEFAULT_ADOPT_TIMEOUT_MS;
    const entry: { deadline: number; timer?: NodeJS.Timeout } = { deadline: Date.now() + wait };
    entry.timer = setTimeout(() => void this.#schedule(cfdId), wait + 10);
    entry.timer.unref?.();
    this.#unfinished.set(cfdId, entry);
    void this.#schedule(cfdId);
  }

  /** Watches an unfinished setup's lock inputs; past the deadline, double-spends our own. */
  async #reconcileUnfinished(cfdId: string): Promise<void> {
    const entry = this.#unfinished.get(cfdId);
    const monitor = this.#d.monitor();
    const wallet = this.#d.wallet?.();
    const record = await this.#d.contracts.get(cfdId);
    if (!entry || !monitor || !wallet || !record) return;
    const inputs = lockInputs(record.lock.txHex);
    const own = wallet.reserveOutpoints(lockReservation(cfdId), inputs);
    // The lock may have confirmed while we were down: rescan the last day of blocks once.
    const fromHeight = await this.#rescanFrom();
    for (const o of inputs) {
      await monitor.watchOutpoint(o, {
        tag: cfdId,
        ...(fromHeight !== undefined && { fromHeight }),
      });
    }
    if (Date.now() < entry.deadline || entry.swept || own.length === 0) return;
    const sweep = wallet.sweepOutpoints(own, record.commit.feeRate);
    entry.swept = sweep.txid;
    this.#log.warn(
      { cfdId, lockTxid: record.lock.txid, sweep: sweep.txid },
      'no lock seen in time: double-spending our lock inputs so it can never confirm',
    );
    await wallet.recordOwnTransaction(sweep.hex);
    await this.#publish(monitor, sweep.hex);
  }

  /**
   * A completed setup's lock past its deadline, neither in the mempool nor confirmed: double-spend
   * our own lock inputs back to ourselves; the spend confirming fails the CFD (`onReport`).
   * Before the deadline, arms a timer for it; after, looks again every {@link LOCK_RECHECK_MS}.
   */
  async #enforceLockDeadline(cfd: Cfd, record: ContractRecord, monitor: ChainMonitor) {
    const cfdId = cfd.terms!.id;
    const timeout = this.#d.lockConfirmTimeoutMs ?? DEFAULT_LOCK_CONFIRM_TIMEOUT_MS;
    const deadline = cfd.terms!.placedAt * 1000 + timeout;
    const now = (this.#d.clock ?? Date.now)();
    const entry = this.#lockDeadlines.get(cfdId) ?? {};
    this.#lockDeadlines.set(cfdId, entry);
    clearTimeout(entry.timer);
    const wait = now < deadline ? deadline - now : Math.min(timeout, LOCK_RECHECK_MS);
    entry.timer = setTimeout(() => void this.#schedule(cfdId), wait + 10);
    entry.timer.unref?.();
    const rpc = this.#d.rpc();
    const wallet = this.#d.wallet?.();
    if (now < deadline || entry.swept || !rpc || !wallet) return;
    const outputs = Transaction.fromHex(record.lock.txHex).outs.length;
    if (await locate(rpc, record.lock.txid, outputs)) return; // it can confirm on its own
    // Our coins, unless the wallet still counts them spent by the lock (its next sync frees them).
    const own = wallet.reserveOutpoints(lockReservation(cfdId), lockInputs(record.lock.txHex));
    if (own.length === 0) return;
    const sweep = wallet.sweepOutpoints(own, record.commit.feeRate);
    entry.swept = sweep.txid;
    this.#log.warn(
      { cfdId, lockTxid: record.lock.txid, sweep: sweep.txid },
      'the lock is not in the mempool past its deadline: double-spending our lock inputs',
    );
    await wallet.recordOwnTransaction(sweep.hex);
    await this.#publish(monitor, sweep.hex);
  }

  /** The lock confirmed or the CFD ended: no more deadline; a sweep that lost is not rebroadcast. */
  #endLockDeadline(cfdId: string): void {
    const entry = this.#lockDeadlines.get(cfdId);
    if (!entry) return;
    clearTimeout(entry.timer);
    this.#lockDeadlines.delete(cfdId);
    this.#d.wallet?.()?.release(lockReservation(cfdId));
    if (entry.swept) {
      this.#d
        .monitor()
        ?.untrackBroadcast(entry.swept)
        .catch((err: unknown) => this.#log.debug({ err, cfdId }, 'could not untrack our sweep'));
    }
  }

  /** Where a watch rescans from for what happened while we were down: the last day of blocks. */
  async #rescanFrom(): Promise<number | undefined> {
    const tip = await this.#d
      .rpc()
      ?.getBlockCount()
      .catch(() => undefined);
    return tip === undefined ? undefined : Math.max(0, tip - 144);
  }

  /** A lock input of an unfinished setup was spent: by the lock (adopt) or by anything else. */
  async #onUnfinishedSpent(report: SpendReport): Promise<void> {
    const cfdId = report.tag;
    const record = await this.#d.contracts.get(cfdId);
    if (!record || record.lock.signed) return;
    const wallet = this.#d.wallet?.();
    const spender = report.spender;
    const done = (): void => {
      clearTimeout(this.#unfinished.get(cfdId)?.timer);
      this.#unfinished.delete(cfdId);
      wallet?.release(lockReservation(cfdId));
    };
    if (spender.txid === record.lock.txid) {
      this.#log.warn({ cfdId, lockTxid: spender.txid }, 'adopting the lock seen on chain');
      await this.#d.contracts.put(cfdId, {
        ...record,
        lock: { ...record.lock, txHex: spender.hex, signed: true },
      });
      await this.#execute(cfdId, { type: 'completeContractSetup', dlc: dlcSummary(record) });
      // Only while unconfirmed: recording a confirmed transaction as unconfirmed would have the
      // wallet's next mempool scan forget its effects. The block scan records confirmed ones.
      if (report.confirmations === 0) await wallet?.recordOwnTransaction(spender.hex);
      done();
    } else if (report.confirmations > 0) {
      this.#log.warn({ cfdId, spender: spender.txid }, 'the lock can no longer confirm: failed');
      await this.#execute(cfdId, {
        type: 'failContractSetup',
        reason: `the lock ${record.lock.txid} can no longer confirm: its input ${report.outpoint} was spent by ${spender.txid}`,
      });
      done();
    }
  }

  async stop(): Promise<void> {
    for (const u of this.#unsubscribe.splice(0)) u();
    this.problems.stop();
    for (const e of this.#unfinished.values()) clearTimeout(e.timer);
    for (const e of this.#lockDeadlines.values()) clearTimeout(e.timer);
    for (const t of this.#closeDeadlines.values()) clearTimeout(t);
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
    await this.problems.run(report.tag, 'chain report', () => this.#onReport(report), {
      rethrow: true,
    });
  }

  async #onReport(report: Exclude<ChainReport, { kind: 'rebroadcastFailed' }>): Promise<void> {
    const cfd = await this.#d.readModel.get(report.tag);
    if (cfd?.setup === 'started' && report.kind === 'spent' && this.#unfinished.has(report.tag)) {
      await this.#onUnfinishedSpent(report);
      return;
    }
    const record = cfd && (await this.#d.contracts.get(report.tag));
    if (cfd?.dlc && !record) throw new ContractRecordMissingError(report.tag);
    if (!cfd?.dlc || !record) return;
    const dlc = cfd.dlc;
    const run = (command: CfdCommand) => this.#execute(report.tag, command);
    const chain = closePaths(cfd, record);
    switch (report.kind) {
      case 'confirmed':
      case 'depth': {
        const n = report.confirmations;
        const live = chain.live.get(report.txid);
        if (report.txid === dlc.lockTxid) await run({ type: 'confirmLock' });
        else if (live) {
          await run({ type: 'confirmCommit', txid: report.txid });
          // Only the commit that confirmed counts (a rival one we published never will).
          if (confirmedCommit(await this.#state(report.tag)) !== report.txid) break;
          if (n >= dlc.cetTimelock) await run({ type: 'expireCetTimelock' });
          if (n >= dlc.refundTimelock && !(await this.#state(report.tag)).cet) {
            await run({
              type: 'expireRefundTimelock',
              refundTx: signed(signedRefund(live.record)),
            });
          }
        } else if (report.txid === cfd.closeTx?.txid) await run({ type: 'confirmSettlement' });
        else if (report.txid === cfd.refundTx?.txid) await run({ type: 'confirmRefund' });
        else if (report.txid === cfd.punishTx?.txid) await run({ type: 'confirmPunish' });
        else if (report.txid === cfd.cet?.txid)
          await run({ type: 'confirmCet', txid: report.txid });
        break;
      }
      case 'spent': {
        const spender = report.spender.txid;
        if (report.txid === dlc.lockTxid) {
          const revoked = chain.revoked.get(spender);
          if (revoked) {
            // A stale commit: punish at once, before its CET lock lets a stale CET out.
            await run({
              type: 'seeRevokedCommit',
              txid: spender,
              ...(!cfd.revokedCommitTxids.includes(spender) && { inRecord: true }),
            });
            await this.#punish(report.tag, revoked, report.spender.hex);
          } else if (chain.live.has(spender) && report.confirmations > 0) {
            // Ours or theirs, whichever live commit it is; reconcile then follows its depth.
            await run({ type: 'confirmCommit', txid: spender });
          } else if (spender === cfd.closeTx?.txid && report.confirmations > 0) {
            await run({ type: 'confirmSettlement' });
          } else if (
            report.confirmations > 0 &&
            isCollaborativeClose(record, Transaction.fromHex(report.spender.hex))
          ) {
            // A close whose run failed here after we signed it: the other side broadcast it.
            this.#log.warn({ cfdId: report.tag, txid: spender }, 'adopting a close seen on chain');
            await run({
              type: 'confirmSettlement',
              closeTx: { txid: spender, hex: report.spender.hex },
            });
          }
        } else if (
          cfd.setup === 'completed' &&
          !cfd.lockConfirmed &&
          report.confirmations > 0 &&
          spender !== dlc.lockTxid &&
          lockInputs(record.lock.txHex).includes(report.outpoint)
        ) {
          this.#log.warn({ cfdId: report.tag, spender }, 'the lock can no longer confirm: failed');
          await run({
            type: 'failContractSetup',
            reason: `the lock ${dlc.lockTxid} can no longer confirm: its input ${report.outpoint} was spent by ${spender}`,
          });
          const monitor = this.#d.monitor();
          await monitor?.untrackBroadcast(dlc.lockTxid);
          await monitor?.unwatchTag(report.tag);
        } else if (chain.live.has(report.txid) && report.confirmations > 0) {
          // A CET (ours or theirs) or the refund spent the commit that confirmed.
          await run({ type: 'confirmCommit', txid: report.txid });
          const now = await this.#state(report.tag);
          if (confirmedCommit(now) !== report.txid) break;
          if (spender === now.refundTx?.txid) await run({ type: 'confirmRefund' });
          else await run({ type: 'confirmCet', txid: spender });
        }
        break;
      }
      case 'unconfirmed':
        // A reorg disconnected the block that confirmed it: the facts resting on it roll back,
        // and reconcile (run on the change) publishes again what the CFD now needs.
        this.#log.warn({ cfdId: report.tag, txid: report.txid }, 'reorg: confirmation undone');
        await run({ type: 'unconfirm', txid: report.txid });
        break;
      case 'spentReorged':
        this.#log.warn(
          { cfdId: report.tag, outpoint: report.outpoint, spender: report.spender.txid },
          'reorg: spend undone',
        );
        await run({ type: 'unconfirm', txid: report.spender.txid });
        break;
    }
  }

  /** The CFD as the log stands now (after commands this report ran). */
  async #state(cfdId: string): Promise<Cfd> {
    return this.#d.cfds.load(cfdId);
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
      await this.#reconcileUnfinished(cfdId);
      return;
    }
    if (cfd && cfd.setup !== 'started') this.#unfinished.delete(cfdId);
    if (!cfd?.dlc || cfd.settled || cfd.setup === 'failed' || cfd.lockConfirmed) {
      this.#endLockDeadline(cfdId);
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
      await this.#enforceLockDeadline(cfd, record, monitor);
    }
    const signedClose = outstandingSignedClose(cfd);
    if (signedClose) await this.#boundSignedClose(cfdId, record, signedClose, monitor);

    // The commit to follow for the CET and refund locks: the one that confirmed (ours, or whichever
    // live commit the counterparty published), else the one we published.
    if (cfd.commitTx && !cfd.commitConfirmed) await this.#publish(monitor, cfd.commitTx.hex);
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
    await this.#followFees(cfd, record, paths);
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

  /**
   * A close we signed first that the counterparty may hold (module doc): before its deadline, a
   * timer; past it, a close on chain is followed (the lock's spend report settles the CFD, a close
   * in the mempool is rebroadcast until it confirms); otherwise our commit goes out.
   */
  async #boundSignedClose(
    cfdId: string,
    record: ContractRecord,
    signedClose: SignedClose,
    monitor: ChainMonitor,
  ): Promise<void> {
    const wait = signedClose.until * 1000 - Date.now();
    if (wait > 0) {
      this.#armCloseDeadline(cfdId, wait + 10);
      return;
    }
    const rpc = this.#d.rpc();
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
      this.#log.warn({ err, cfdId }, 'cannot check the close we signed; retrying');
      this.#armCloseDeadline(cfdId, CLOSE_DEADLINE_RETRY_MS);
      return;
    }
    this.#log.warn(
      { cfdId, close: signedClose.txid, until: signedClose.until },
      'the close we signed is not on chain by its deadline: force-closing so it can never confirm',
    );
    await this.#execute(cfdId, { type: 'commit', commitTx: signed(signedCommit(record)) });
  }

  /** Reconciles `cfdId` in `ms` (once: a timer already armed stays). */
  #armCloseDeadline(cfdId: string, ms: number): void {
    if (this.#closeDeadlines.has(cfdId)) return;
    const timer = setTimeout(() => {
      this.#closeDeadlines.delete(cfdId);
      void this.#schedule(cfdId);
    }, ms);
    timer.unref?.();
    this.#closeDeadlines.set(cfdId, timer);
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

  async #punish(cfdId: string, record: ContractRecord, publishedHex: string): Promise<void> {
    const punish = signedPunish(record, Transaction.fromHex(publishedHex), undefined, {
      fee: this.#punishFee(),
    });
    await this.#execute(cfdId, { type: 'publishPunish', punishTx: signed(punish) });
  }

  /** The first punish's fee: the starting rate for its size, within the bump budget. */
  #punishFee(): bigint {
    const rate = this.#d.punishFeeRate?.() ?? 1n;
    const fee = rate * PUNISH_VBYTES;
    const max = this.#d.punishMaxFee;
    return max !== undefined && fee > max && max > 0n ? max : fee;
  }

  /**
   * Hands the bumper every transaction of this CFD that must confirm and is not yet confirmed:
   * our commit (through our anchor), the CET and refund (through our payout), a close (through
   * our payout), and a punish (replaced at a higher fee).
   */
  async #followFees(cfd: Cfd, record: RolloverContractRecord, paths: ClosePaths): Promise<void> {
    const bumper = this.#d.bumper?.();
    if (!bumper || !cfd.dlc) return;
    const id = cfd.terms!.id;
    const follow = (t: BumpTarget) => bumper.follow(t);
    const lockValue = lockOutput(record).value;
    const closing = closingCommit(cfd, paths);
    const committed = confirmedCommit(cfd);
    if (cfd.commitTx && committed !== undefined && committed !== cfd.commitTx.txid) {
      // Ours lost to another live commit: it can never confirm, stop paying for it.
      bumper.unfollow(id, cfd.commitTx.txid);
    }
    if (cfd.commitTx && !cfd.commitConfirmed) {
      const r = paths.live.get(cfd.commitTx.txid)?.record;
      const anchor = r && anchorOf(r);
      const identitySk = fromHexBytes(record.identitySk);
      follow({
        cfdId: id,
        kind: 'commit',
        tx: cfd.commitTx,
        fee: feeOf(cfd.commitTx.hex, lockValue),
        ...(anchor && {
          cpfp: (): ForeignInput => ({
            txid: anchor.txid,
            vout: anchor.vout,
            value: anchor.value,
            script: p2wshOutput(anchor.witnessScript),
            vbytes: Number(ANCHOR_INPUT_VBYTES),
            sign: (tx, index) => signAnchorInput(tx, index, anchor, identitySk),
          }),
        }),
      });
    }
    const ownScript = Buffer.from(payoutScriptsOf(record)[record.role]);
    const throughPayout = (tx: SignedTx) => () => {
      const parsed = Transaction.fromHex(tx.hex);
      const vout = parsed.outs.findIndex((o) => Buffer.from(o.script).equals(ownScript));
      const out = parsed.outs[vout];
      return out && this.#d.payoutInput?.(tx.txid, vout, BigInt(out.value), ownScript);
    };
    const commitValue = closing?.record.commit.amount;
    if (cfd.cet && cfd.cetTimelockExpired && committed !== undefined && commitValue) {
      follow({
        cfdId: id,
        kind: 'cet',
        tx: cfd.cet,
        fee: feeOf(cfd.cet.hex, commitValue),
        cpfp: throughPayout(cfd.cet),
        // Before the refund lock ends, or the refund competes with it.
        deadline: { after: committed, blocks: cfd.dlc.refundTimelock - 1 },
      });
    }
    if (cfd.refundTx && commitValue) {
      follow({
        cfdId: id,
        kind: 'refund',
        tx: cfd.refundTx,
        fee: feeOf(cfd.refundTx.hex, commitValue),
        cpfp: throughPayout(cfd.refundTx),
      });
    }
    if (cfd.closeTx) {
      follow({
        cfdId: id,
        kind: 'close',
        tx: cfd.closeTx,
        fee: feeOf(cfd.closeTx.hex, lockValue),
        cpfp: throughPayout(cfd.closeTx),
      });
    }
    const punish = cfd.punishTx;
    const rpc = this.#d.rpc();
    if (punish && rpc) {
      const revokedTxid = Buffer.from(Transaction.fromHex(punish.hex).ins[0]!.hash)
        .reverse()
        .toString('hex');
      const revokedRecord = paths.revoked.get(revokedTxid);
      const publishedHex = await rpc.getRawTransaction(revokedTxid);
      if (revokedRecord && publishedHex) {
        const published = Transaction.fromHex(publishedHex);
        const value = BigInt(published.outs[0]!.value);
        follow({
          cfdId: id,
          kind: 'punish',
          tx: punish,
          fee: feeOf(punish.hex, value),
          // Before the cheater's CET can go out.
          deadline: { after: revokedTxid, blocks: cfd.dlc.cetTimelock - 1 },
          rbf: (fee) => signed(signedPunish(revokedRecord, published, undefined, { fee })),
        });
      }
    }
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
