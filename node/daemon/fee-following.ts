/**
 * Fee following: hands the fee bumper (node/daemon/fee-bumper.ts) every transaction of a CFD
 * that must confirm and is not yet confirmed — our commit (through our anchor), the CET and refund
 * (through our payout), a close (through our payout), and a punish (replaced at a higher fee) —
 * and prices the first punish.
 */
import { Transaction } from 'bitcoinjs-lib';
import { anchorOf, lockOutput, payoutScriptsOf, signedPunish } from '../../dlc/contract.ts';
import type { ContractRecord } from '../../dlc/record.ts';
import { p2wshOutput } from '../../dlc/scripts.ts';
import { ANCHOR_INPUT_VBYTES, signAnchorInput } from '../../dlc/sign.ts';
import { PUNISH_VBYTES } from '../../dlc/transactions.ts';
import { type Cfd, confirmedCommit, type SignedTx } from '../../model/cfd.ts';
import { counterpartyPaysFirst } from '../../model/fee-bump.ts';
import type { ForeignInput } from '../wallet/cpfp.ts';
import { type ClosePaths, closingCommit } from './close-paths.ts';
import type { BumpTarget } from './fee-bumper.ts';
import { type ProcessManagerDeps, signed } from './process-context.ts';

/** What a transaction spending one output of `spentValue` leaves as fee. */
function feeOf(hex: string, spentValue: bigint): bigint {
  return spentValue - Transaction.fromHex(hex).outs.reduce((a, o) => a + BigInt(o.value), 0n);
}

const fromHexBytes = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h, 'hex'));

/** The first punish's fee: the starting rate for its size, within the bump budget. */
export function punishFee(deps: ProcessManagerDeps): bigint {
  const rate = deps.punishFeeRate?.() ?? 1n;
  const fee = rate * PUNISH_VBYTES;
  const max = deps.punishMaxFee;
  return max !== undefined && fee > max && max > 0n ? max : fee;
}

/** Hands the bumper what of this CFD must confirm and has not (module doc). */
export async function followFees(
  deps: ProcessManagerDeps,
  cfd: Cfd,
  record: ContractRecord,
  paths: ClosePaths,
): Promise<void> {
  const bumper = deps.bumper?.();
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
  if (cfd.commitTx && cfd.revokedCommitSeen) {
    // A revoked commit spent the lock: paying for ours (or theirs we adopted) would outbid and
    // evict our punish of it.
    bumper.unfollow(id, cfd.commitTx.txid);
  } else if (cfd.commitTx && !cfd.commitConfirmed) {
    const r = paths.live.get(cfd.commitTx.txid)?.record;
    const anchor = r && anchorOf(r);
    const identitySk = fromHexBytes(record.identitySk);
    follow({
      cfdId: id,
      kind: 'commit',
      tx: cfd.commitTx,
      fee: feeOf(cfd.commitTx.hex, lockValue),
      // Theirs: they sent it, and may pay for it through their anchor.
      ...(cfd.commitByCounterparty && { counterpartyPaysFirst: true }),
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
  const scripts = payoutScriptsOf(record);
  const ownScript = Buffer.from(scripts[record.role]);
  const theirScript = Buffer.from(scripts[record.role === 'maker' ? 'taker' : 'maker']);
  const throughPayout = (tx: SignedTx) => () => {
    const parsed = Transaction.fromHex(tx.hex);
    const vout = parsed.outs.findIndex((o) => Buffer.from(o.script).equals(ownScript));
    const out = parsed.outs[vout];
    return out && deps.payoutInput?.(tx.txid, vout, BigInt(out.value), ownScript);
  };
  /** Both send it: which of the two pays for it first (model/fee-bump.ts). */
  const shared = (tx: SignedTx) => {
    const outs = Transaction.fromHex(tx.hex).outs;
    const to = (s: Buffer) =>
      outs.reduce((a, o) => (Buffer.from(o.script).equals(s) ? a + BigInt(o.value) : a), 0n);
    return {
      cpfp: throughPayout(tx),
      counterpartyPaysFirst: counterpartyPaysFirst(record.role, {
        ours: to(ownScript),
        theirs: to(theirScript),
      }),
    };
  };
  const commitValue = closing?.record.commit.amount;
  if (cfd.cet && cfd.cetTimelockExpired && committed !== undefined && commitValue) {
    follow({
      cfdId: id,
      kind: 'cet',
      tx: cfd.cet,
      fee: feeOf(cfd.cet.hex, commitValue),
      ...shared(cfd.cet),
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
      ...shared(cfd.refundTx),
    });
  }
  if (cfd.closeTx) {
    follow({
      cfdId: id,
      kind: 'close',
      tx: cfd.closeTx,
      fee: feeOf(cfd.closeTx.hex, lockValue),
      ...shared(cfd.closeTx),
    });
  }
  const punish = cfd.punishTx;
  const rpc = deps.rpc();
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
