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
 */
import { Transaction } from 'bitcoinjs-lib';
import type { Logger } from 'pino';
import {
  type ContractRecord,
  isCollaborativeClose,
  lockOutput,
  rebuildCet,
  signedCet,
  signedCommit,
  signedLock,
  signedPunish,
  signedRefund,
} from '../../dlc/contract.ts';
import type { CfdReadModel } from '../../eventstore/cfd-read-model.ts';
import type { CfdRepository } from '../../eventstore/cfd-repository.ts';
import type { Cfd, CfdCommand, SignedTx } from '../../model/cfd.ts';
import { asPrice, PRICE_SCALE } from '../../model/units.ts';
import { broadcast } from '../chain/broadcast.ts';
import type { ChainMonitor, ChainReport } from '../chain/monitor.ts';
import type { BitcoinRpc } from '../chain/rpc.ts';
import type { OracleClient, VerifiedAttestation } from '../oracle/client.ts';

/** Where the signed-contract records live (written at setup and rollover, before the event). */
export interface ContractRecords {
  get(cfdId: string): Promise<ContractRecord | undefined>;
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
  readonly logger: Logger;
}

const signed = (tx: Transaction): SignedTx => ({ txid: tx.getId(), hex: tx.toHex() });

export class ProcessManager {
  readonly #d: ProcessManagerDeps;
  readonly #log: Logger;
  readonly #unsubscribe: (() => void)[] = [];
  /** One reconcile at a time per CFD, in order. */
  readonly #queues = new Map<string, Promise<void>>();

  constructor(deps: ProcessManagerDeps) {
    this.#d = deps;
    this.#log = deps.logger.child({ component: 'process-manager' });
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
    await this.reconcileAll();
  }

  async stop(): Promise<void> {
    for (const u of this.#unsubscribe.splice(0)) u();
    await Promise.allSettled([...this.#queues.values()]);
  }

  /** Every open CFD, e.g. when the chain backend came up. */
  async reconcileAll(): Promise<void> {
    await Promise.all(this.#d.readModel.openCfds().map((c) => this.#schedule(c.terms!.id)));
  }

  /** Monitor reports arrive here (tag = CFD id). */
  async onReport(report: ChainReport): Promise<void> {
    if (report.kind === 'rebroadcastFailed') {
      this.#log.warn(report, 'rebroadcast failed');
      return;
    }
    const cfd = await this.#d.readModel.get(report.tag);
    const record = cfd && (await this.#d.contracts.get(report.tag));
    if (!cfd?.dlc || !record) return;
    const dlc = cfd.dlc;
    const run = (command: CfdCommand) => this.#execute(report.tag, command);
    switch (report.kind) {
      case 'confirmed':
      case 'depth': {
        const n = report.confirmations;
        if (report.txid === dlc.lockTxid) await run({ type: 'confirmLock' });
        else if (report.txid === dlc.commitTxid) {
          await run({ type: 'confirmCommit' });
          if (n >= dlc.cetTimelock) await run({ type: 'expireCetTimelock' });
          if (n >= dlc.refundTimelock && !cfd.cet) {
            await run({ type: 'expireRefundTimelock', refundTx: signed(signedRefund(record)) });
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
          if (cfd.revokedCommitTxids.includes(spender)) {
            // A stale commit: punish at once, before its CET lock lets a stale CET out.
            await run({ type: 'seeRevokedCommit', txid: spender });
            await this.#punish(report.tag, record, report.spender.hex);
          } else if (spender === dlc.commitTxid && report.confirmations > 0) {
            await run({ type: 'confirmCommit' }); // ours or theirs; reconcile then follows its depth
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
        } else if (report.txid === dlc.commitTxid && report.confirmations > 0) {
          // A CET (ours or theirs) or the refund spent the commit.
          if (spender === cfd.refundTx?.txid) await run({ type: 'confirmRefund' });
          else await run({ type: 'confirmCet', txid: spender });
        }
        break;
      }
      default:
        break;
    }
  }

  #schedule(cfdId: string): Promise<void> {
    const previous = this.#queues.get(cfdId) ?? Promise.resolve();
    const next = previous
      .then(() => this.#reconcile(cfdId))
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
    if (!cfd?.dlc || cfd.settled) return;
    const record = await this.#d.contracts.get(cfdId);
    if (!record) {
      this.#log.error({ cfdId }, 'contract record missing for a set-up CFD');
      return;
    }
    const dlc = cfd.dlc;
    this.#d.oracle?.watch(dlc.oracleEventIds);
    if (!monitor) return;
    const lock = lockOutput(record);
    // The lock: broadcast until confirmed; who spends it tells commit, revoked commit and close apart.
    if (!cfd.lockConfirmed) {
      await this.#publish(monitor, signedLock(record).toHex());
    }
    await monitor.watchTx(dlc.lockTxid, { tag: cfdId, depth: 1 });
    await monitor.watchOutpoint(`${lock.txid}:${lock.vout}`, { tag: cfdId });

    if (cfd.commitTx) {
      if (!cfd.commitConfirmed) await this.#publish(monitor, cfd.commitTx.hex);
      await monitor.watchTx(cfd.commitTx.txid, {
        tag: cfdId,
        depth: Math.max(dlc.cetTimelock, dlc.refundTimelock),
      });
      await monitor.watchOutpoint(`${cfd.commitTx.txid}:0`, { tag: cfdId });
    } else if (cfd.commitConfirmed) {
      // The counterparty published the commit: follow its depth for the CET and refund locks.
      await monitor.watchTx(dlc.commitTxid, {
        tag: cfdId,
        depth: Math.max(dlc.cetTimelock, dlc.refundTimelock),
      });
      await monitor.watchOutpoint(`${dlc.commitTxid}:0`, { tag: cfdId });
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
    // An attestation that arrived while we were down.
    if (!cfd.attestation && this.#d.oracle) {
      for (const eventId of dlc.oracleEventIds) {
        const a = this.#d.oracle.attestation(eventId);
        if (a) await this.#attest(cfd, record, a);
      }
    }
  }

  /** A verified attestation (from the oracle client): every open CFD with CETs for it acts. */
  async onAttestation(a: VerifiedAttestation): Promise<void> {
    for (const cfd of this.#d.readModel.openCfds()) {
      if (!cfd.dlc?.oracleEventIds.includes(a.eventId) || cfd.attestation) continue;
      const record = await this.#d.contracts.get(cfd.terms!.id);
      if (record)
        await this.#attest(cfd, record, a).catch((err: unknown) =>
          this.#log.error({ err }, 'attest failed'),
        );
    }
  }

  /** A verified attestation for one of the CFD's events: publish the CET path if it has a CET. */
  async #attest(cfd: Cfd, record: ContractRecord, a: VerifiedAttestation): Promise<void> {
    const id = cfd.terms!.id;
    try {
      rebuildCet(record, a.eventId, a.price);
    } catch {
      // A liquidation event whose price does not liquidate this contract: nothing to do.
      return;
    }
    const cet = signed(signedCet(record, a.eventId, a.price, a.scalars));
    const price = asPrice(BigInt(Math.max(a.price, 1)) * PRICE_SCALE);
    await this.#execute(id, {
      type: 'attest',
      eventId: a.eventId,
      price,
      cet,
      commitTx: signed(signedCommit(record)),
    });
  }

  async #punish(cfdId: string, record: ContractRecord, publishedHex: string): Promise<void> {
    const punish = signedPunish(record, Transaction.fromHex(publishedHex));
    await this.#execute(cfdId, { type: 'publishPunish', punishTx: signed(punish) });
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
