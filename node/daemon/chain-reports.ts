/**
 * What the chain monitor reports, turned into commands on the CFD it is tagged with: the lock,
 * a live commit (ours or theirs), the close, refund, punish or CET confirming; the lock spent by a
 * revoked commit (punished at once), by a live commit, by a close (ours, or one the other side
 * broadcast after our run failed); a lock input spent by anything but the lock; and a reorg
 * undoing a confirmation or a spend (the facts resting on it roll back, and reconcile publishes
 * again what the CFD now needs). Unfinished setups have their own (node/daemon/unfinished-setups.ts).
 */
import { Transaction } from 'bitcoinjs-lib';
import {
  type ContractRecord,
  isCollaborativeClose,
  signedPunish,
  signedRefund,
} from '../../dlc/contract.ts';
import { type CfdCommand, confirmedCommit } from '../../model/cfd.ts';
import type { ChainReport } from '../chain/monitor.ts';
import { closePaths } from './close-paths.ts';
import { punishFee } from './fee-following.ts';
import {
  ContractRecordMissingError,
  lockInputs,
  type ProcessContext,
  signed,
} from './process-context.ts';
import type { UnfinishedSetups } from './unfinished-setups.ts';

export async function onChainReport(
  pm: ProcessContext,
  unfinished: UnfinishedSetups,
  report: Exclude<ChainReport, { kind: 'rebroadcastFailed' }>,
): Promise<void> {
  const { deps, log } = pm;
  const cfd = await deps.readModel.get(report.tag);
  if (cfd?.setup === 'started' && report.kind === 'spent' && unfinished.has(report.tag)) {
    await unfinished.onSpent(report);
    return;
  }
  const record = cfd && (await deps.contracts.get(report.tag));
  if (cfd?.dlc && !record) throw new ContractRecordMissingError(report.tag);
  if (!cfd?.dlc || !record) return;
  const dlc = cfd.dlc;
  const run = (command: CfdCommand) => pm.execute(report.tag, command);
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
        if (confirmedCommit(await deps.cfds.load(report.tag)) !== report.txid) break;
        if (n >= dlc.cetTimelock) await run({ type: 'expireCetTimelock' });
        if (n >= dlc.refundTimelock && !(await deps.cfds.load(report.tag)).cet) {
          await run({
            type: 'expireRefundTimelock',
            refundTx: signed(signedRefund(live.record)),
          });
        }
      } else if (report.txid === cfd.closeTx?.txid) await run({ type: 'confirmSettlement' });
      else if (report.txid === cfd.refundTx?.txid) await run({ type: 'confirmRefund' });
      else if (report.txid === cfd.punishTx?.txid) await run({ type: 'confirmPunish' });
      else if (report.txid === cfd.cet?.txid) await run({ type: 'confirmCet', txid: report.txid });
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
          await punish(pm, report.tag, revoked, report.spender.hex);
        } else if (chain.live.has(spender) && report.confirmations > 0) {
          // Ours or theirs, whichever live commit it is; reconcile then follows its depth.
          await run({ type: 'confirmCommit', txid: spender });
        } else if (
          chain.live.has(spender) &&
          cfd.lockConfirmed &&
          !cfd.commitTx &&
          !cfd.commitConfirmed &&
          !cfd.closeTx &&
          cfd.settled === undefined
        ) {
          // The counterparty's commit waits in the mempool, perhaps paying too little to ever
          // confirm, and the lock is no longer ours to roll over or close: the CFD is force-closed.
          // Followed to confirmation as ours is (our anchor pays, a block after theirs could).
          // Only on a confirmed lock: an unconfirmed one can still be double-spent away, and a
          // committed CFD can no longer fail its setup.
          log.warn({ cfdId: report.tag, txid: spender }, "the counterparty's commit is out");
          await run({
            type: 'commit',
            commitTx: { txid: spender, hex: report.spender.hex },
            byCounterparty: true,
          });
        } else if (spender === cfd.closeTx?.txid && report.confirmations > 0) {
          await run({ type: 'confirmSettlement' });
        } else if (
          report.confirmations > 0 &&
          isCollaborativeClose(record, Transaction.fromHex(report.spender.hex))
        ) {
          // A close whose run failed here after we signed it: the other side broadcast it.
          log.warn({ cfdId: report.tag, txid: spender }, 'adopting a close seen on chain');
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
        log.warn({ cfdId: report.tag, spender }, 'the lock can no longer confirm: failed');
        await run({
          type: 'failContractSetup',
          reason: `the lock ${dlc.lockTxid} can no longer confirm: its input ${report.outpoint} was spent by ${spender}`,
        });
        const monitor = deps.monitor();
        await monitor?.untrackBroadcast(dlc.lockTxid);
        await monitor?.unwatchTag(report.tag);
      } else if (chain.live.has(report.txid) && report.confirmations > 0) {
        // A CET (ours or theirs) or the refund spent the commit that confirmed.
        await run({ type: 'confirmCommit', txid: report.txid });
        const now = await deps.cfds.load(report.tag);
        if (confirmedCommit(now) !== report.txid) break;
        if (spender === now.refundTx?.txid) await run({ type: 'confirmRefund' });
        else await run({ type: 'confirmCet', txid: spender });
      }
      break;
    }
    case 'unconfirmed':
      // A reorg disconnected the block that confirmed it: the facts resting on it roll back,
      // and reconcile (run on the change) publishes again what the CFD now needs.
      log.warn({ cfdId: report.tag, txid: report.txid }, 'reorg: confirmation undone');
      await run({ type: 'unconfirm', txid: report.txid });
      break;
    case 'spentReorged':
      log.warn(
        { cfdId: report.tag, outpoint: report.outpoint, spender: report.spender.txid },
        'reorg: spend undone',
      );
      await run({ type: 'unconfirm', txid: report.spender.txid });
      break;
  }
}

/** A revoked commit on chain: its punish, at the starting fee (the bumper raises it). */
async function punish(
  pm: ProcessContext,
  cfdId: string,
  record: ContractRecord,
  publishedHex: string,
): Promise<void> {
  const tx = signedPunish(record, Transaction.fromHex(publishedHex), undefined, {
    fee: punishFee(pm.deps),
  });
  await pm.execute(cfdId, { type: 'publishPunish', punishTx: signed(tx) });
}
