/**
 * One figure for what a position pays this node, from the first quote to the closed position
 * (issue #15: a close showed one number while closing and another once closed, because closing
 * used the closed-form P/L and closed read the transaction).
 *
 * Once the node holds the transaction that settles the CFD — the collaborative close, the CET of
 * the attested price, the refund, our punish — the figure is that transaction's output to us: it
 * does not change when the transaction confirms. Before, it is what that transaction would pay:
 * the payout-curve row at the price (the same row the CETs and the close are built from, fee
 * balance applied) less our share of its fee, with the dust rule of dlc/transactions.ts. Open
 * positions are priced as a collaborative close at the quote now (the closing price, the taker's
 * close fee rate); committed ones as the CET of the price the oracle would attest now.
 */
import { Transaction } from 'bitcoinjs-lib';
import { payoutCurve } from '../../../dlc/payout-curve.ts';
import {
  CLOSE_FEE_RATE,
  COMMIT_ANCHORED_VBYTES,
  COMMIT_VBYTES,
  cetFeeAt,
  closeFee,
  type Payout,
  type PayoutScripts,
  subtractFee,
} from '../../../dlc/transactions.ts';
import { type Cfd, isCommitted, type SignedTx } from '../../../model/cfd.ts';
import {
  type FeeRate,
  opposite,
  type Price,
  price,
  priceToUsd,
  type Role,
  type Sats,
} from '../../../model/units.ts';
import { closeTermsOf, curvePayout } from '../../../protocols/collab-settlement/close.ts';
import { attestablePrice } from '../../oracle/server.ts';
import type { LatestQuote } from '../../pricefeed/client.ts';
import { closingPrice } from './quote.ts';

/** The transaction that pays (or would pay) the figure. */
export type PayoutKind = 'close' | 'cet' | 'refund' | 'punish';

export interface PayoutFigure {
  /** What this node gets, sats. */
  readonly sats: Sats;
  /**
   * `transaction`: read from the settling transaction this node holds; `expected`: what that
   * transaction would pay at `price`.
   */
  readonly source: 'transaction' | 'expected';
  readonly kind: PayoutKind;
  /** The price it settles at; undefined for a refund or a punish (no price decides them). */
  readonly price: Price | undefined;
  readonly txid: string | undefined;
  /** Follows the quote: an expected figure at the current price, not one fixed by a price. */
  readonly live: boolean;
}

export interface PayoutInputs {
  readonly quote?: Pick<LatestQuote, 'bid' | 'ask'> | undefined;
  /** sat/vB a collaborative close would pay now (the taker proposes its estimate). @default 1 */
  readonly closeFeeRate?: FeeRate | undefined;
}

/**
 * Both wallets pay to P2WPKH (BIP84): the dust limits the payout rows are held to. Only the
 * scripts' shape matters here (dlc/transactions.ts `dustLimit`).
 */
const P2WPKH = Uint8Array.from([0x00, 0x14, ...new Uint8Array(20)]);
const WALLET_SCRIPTS: PayoutScripts = { maker: P2WPKH, taker: P2WPKH };

/** What the CFD pays this node (module doc); undefined when nothing prices it yet (no quote). */
export function payoutFigure(cfd: Cfd, inputs: PayoutInputs = {}): PayoutFigure | undefined {
  const t = cfd.terms;
  // A refused or failed setup never locked anything: nothing to pay.
  if (!t || cfd.setup === 'rejected' || cfd.setup === 'failed') return undefined;
  const held = heldSettlement(cfd);
  if (held) {
    const sats = ownOutput(cfd, held);
    if (sats !== undefined) {
      const { kind, tx, price } = held;
      return { sats, source: 'transaction', kind, price, txid: tx.txid, live: false };
    }
  }
  const expected = (
    kind: 'close' | 'cet',
    price: Price,
    fee: Sats,
    live: boolean,
  ): PayoutFigure | undefined => {
    const split = afterFee(curveAt(cfd, price), fee);
    if (!split) return undefined;
    return { sats: ownPart(t.role, split), source: 'expected', kind, price, txid: undefined, live };
  };
  const closeFeeSats = closeFee(inputs.closeFeeRate ?? CLOSE_FEE_RATE);
  if (cfd.closePrice !== undefined) return expected('close', cfd.closePrice, closeFeeSats, false);
  if (cfd.attestation) return expected('cet', cfd.attestation.price, cetFeeOf(cfd), false);
  const proposal = cfd.settlement?.proposal;
  if (proposal) return expected('close', proposal.price, closeFeeSats, false);
  const q = inputs.quote;
  if (!q || cfd.refundTx || cfd.punishTx || cfd.revokedCommitSeen) return undefined;
  if (isCommitted(cfd)) {
    // The CET of the price the oracle would attest now: its mid, in whole dollars.
    return expected('cet', price(attestablePrice(q.bid, q.ask)), cetFeeOf(cfd), true);
  }
  const takerPosition = t.role === 'taker' ? t.position : opposite(t.position);
  return expected('close', closingPrice(takerPosition, q), closeFeeSats, true);
}

interface Held {
  readonly kind: PayoutKind;
  readonly tx: SignedTx;
  readonly price: Price | undefined;
}

/** The settling transaction this node holds, by precedence (what spends the lock or commit). */
function heldSettlement(cfd: Cfd): Held | undefined {
  if (cfd.punishTx) return { kind: 'punish', tx: cfd.punishTx, price: undefined };
  if (cfd.closeTx) return { kind: 'close', tx: cfd.closeTx, price: cfd.closePrice };
  if (cfd.refundTx) return { kind: 'refund', tx: cfd.refundTx, price: undefined };
  // The CET we hold is the one that confirms unless another commit's did (then it is void).
  if (cfd.cet && (cfd.cetTxidConfirmed === undefined || cfd.cetTxidConfirmed === cfd.cet.txid)) {
    return { kind: 'cet', tx: cfd.cet, price: cfd.attestation?.price };
  }
  return undefined;
}

/**
 * Our output of `held`, read from the transaction: [maker, taker] after each paid half the fee; a
 * side left with dust has no output (the other then paid the whole fee), so a single output is
 * the side the curve pays more. A punish pays us its one output. Undefined when the hex does not
 * parse (recorded by txid only) or the outputs are not of that shape.
 */
function ownOutput(cfd: Cfd, held: Held): Sats | undefined {
  const role = cfd.terms!.role;
  let outs: bigint[];
  try {
    outs = Transaction.fromHex(held.tx.hex).outs.map((o) => BigInt(o.value));
  } catch {
    return undefined;
  }
  if (held.kind === 'punish') return outs.length === 1 ? outs[0] : undefined;
  if (outs.length === 2) return ownPart(role, { maker: outs[0]!, taker: outs[1]! });
  if (outs.length !== 1 || held.price === undefined) return undefined;
  const split = curveAt(cfd, held.price);
  const ownLarger = role === 'maker' ? split.maker >= split.taker : split.taker > split.maker;
  return ownLarger ? outs[0] : 0n;
}

/** The payout-curve row at `price` (whole dollars, as the oracle and the close use it). */
function curveAt(cfd: Cfd, price: Price): Payout {
  const terms = closeTermsOf(cfd);
  const curve = payoutCurve({ ...terms.curve, feeBalance: terms.feeBalance });
  return curvePayout(curve, terms.makerPosition, priceToUsd(price, 'floor'));
}

function afterFee(split: Payout, fee: Sats): Payout | undefined {
  try {
    return subtractFee(split, fee, WALLET_SCRIPTS);
  } catch {
    return undefined; // neither side stays above dust: no such transaction
  }
}

/**
 * The fee a CET of this contract takes from the payout: from our commit when we hold it (its fee
 * and format are in it), else from the terms' rate in the anchored format new contracts use.
 */
function cetFeeOf(cfd: Cfd): Sats {
  const t = cfd.terms!;
  const commit = cfd.commitTx && parse(cfd.commitTx.hex);
  if (commit && cfd.dlc) {
    const anchors = commit.outs.length === 3;
    const paid = cfd.dlc.makerLockAmount + cfd.dlc.takerLockAmount;
    const fee = paid - commit.outs.reduce((s, o) => s + BigInt(o.value), 0n);
    const rate = fee / (anchors ? COMMIT_ANCHORED_VBYTES : COMMIT_VBYTES);
    if (rate > 0n) return cetFeeAt(rate, { anchors });
  }
  return cetFeeAt(t.txFeeRate, { anchors: true });
}

function parse(hex: string): Transaction | undefined {
  try {
    return Transaction.fromHex(hex);
  } catch {
    return undefined;
  }
}

/** The role's part of a [maker, taker] pair. */
function ownPart(role: Role, p: Payout): Sats {
  return role === 'maker' ? p.maker : p.taker;
}
