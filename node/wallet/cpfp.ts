/**
 * Child-pays-for-parent: the types and the size arithmetic of a child transaction that spends an
 * output of one or more unconfirmed parents (a commit's anchor, our payout of a CET, refund or
 * collaborative close) and pays enough fee to lift the whole package to a target fee rate.
 * `Wallet.buildChild` builds and signs the child; this module is pure.
 *
 * Fee rule: child fee = packageRate × (Σ parent vsize + child vsize) − Σ parent fees, raised to
 * at least the child's own minimum relay fee (1 sat/vB × its vsize, a node evaluates the child on
 * its own too) and to `minFee` / the BIP125 replacement minimum when replacing an earlier child.
 */
import type { Transaction } from 'bitcoinjs-lib';
import type { FeeRate, Sats } from '../../model/units.ts';

/** BIP125 nSequence: replaceable, no relative lock. */
export const RBF_SEQUENCE = 0xfffffffd;

/** Bitcoin Core's default incremental relay fee and minimum relay fee, in sat/vB. */
export const INCREMENTAL_RELAY_RATE: FeeRate = 1n;

/** Weight of a P2WPKH input with a worst-case (72-byte) signature: 164 + 108 = 272 wu = 68 vB. */
export const P2WPKH_INPUT_WEIGHT = 272;
/** Weight of a P2WPKH output: 8 value + 1 length + 22 script = 31 bytes. */
export const P2WPKH_OUTPUT_WEIGHT = 124;
/** Version, locktime, input and output counts (10 bytes) plus the segwit marker and flag (2 wu). */
export const SEGWIT_TX_OVERHEAD_WEIGHT = 42;

/** A previous output as the signer sees it (BIP143 needs every input's value and script). */
export interface Prevout {
  readonly script: Uint8Array;
  readonly value: Sats;
}

/**
 * An input of a child transaction that the wallet need not own: our commit anchor (signed with the
 * CFD identity key by a callback) or, through `Wallet.ownOutputInput`, a parent output paying one
 * of the wallet's scripts.
 */
export interface ForeignInput {
  readonly txid: string;
  readonly vout: number;
  readonly value: Sats;
  /** scriptPubKey of the output spent. */
  readonly script: Uint8Array;
  /** Virtual size of the input once signed (outpoint, sequence, script sig and witness), worst case. */
  readonly vbytes: number;
  /** nSequence; defaults to {@link RBF_SEQUENCE}. Set it for a relative timelock. */
  readonly sequence?: number;
  /** Returns the witness stack for input `index` of `tx` (all inputs and outputs are final). */
  sign(tx: Transaction, index: number, prevouts: readonly Prevout[]): Uint8Array[];
}

/** An unconfirmed parent the child pays for. */
export interface ParentTx {
  readonly vsize: number;
  readonly fee: Sats;
}

export interface BuildChildRequest {
  /** Inputs spending the parents' outputs (anchors, our payouts); at least one. */
  readonly inputs: readonly ForeignInput[];
  readonly parents: readonly ParentTx[];
  /** Target fee rate of parents and child together, sat/vB. */
  readonly packageRate: FeeRate;
  /** Most this child may pay in fee; more throws `FeeBudgetExceededError` before signing. */
  readonly maxFee: Sats;
  /**
   * Wallet coins the child spends stay reserved under this id (no expiry) until `release`; a later
   * call with the same id spends the same coins again, so the new child replaces the old (BIP125).
   */
  readonly reservationId: string;
  /** Lower bound on the fee (e.g. a replacement: previous fee + incremental relay × vsize). */
  readonly minFee?: Sats;
  /**
   * The child this one replaces: the fee is then at least its fee + {@link INCREMENTAL_RELAY_RATE}
   * × this child's vsize (BIP125 rules 3 and 4), computed on the child's real size.
   */
  readonly replaces?: { readonly fee: Sats };
}

export interface BuiltChild {
  readonly hex: string;
  readonly txid: string;
  readonly fee: Sats;
  readonly vsize: number;
  /** Fee rate the package reaches: ⌊(Σ parent fees + fee) / (Σ parent vsize + vsize)⌋. */
  readonly packageRate: FeeRate;
  /** Wallet coins the child spends (`txid:vout`), besides the foreign inputs. */
  readonly walletInputs: readonly string[];
  /** The change output (index 0), paid to an internal address of the wallet. */
  readonly change: { readonly vout: 0; readonly value: Sats; readonly script: string };
}

/** Virtual size of a child with these input weights and one P2WPKH output. */
export function childVsize(inputWeights: readonly number[]): number {
  const weight =
    SEGWIT_TX_OVERHEAD_WEIGHT + P2WPKH_OUTPUT_WEIGHT + inputWeights.reduce((s, w) => s + w, 0);
  return Math.ceil(weight / 4);
}

/** Weight of an input whose signed size is `vbytes` virtual bytes (rounded up). */
export function inputWeight(vbytes: number): number {
  return Math.ceil(vbytes * 4);
}

/**
 * The fee a child of `childVsize` must pay so the package reaches `packageRate`, at least
 * its own relay minimum, `minFee`, and the replacement minimum of `replaces`.
 */
export function childFee(
  request: Pick<BuildChildRequest, 'parents' | 'packageRate' | 'minFee' | 'replaces'>,
  vsize: number,
): Sats {
  const parentVsize = request.parents.reduce((s, p) => s + BigInt(p.vsize), 0n);
  const parentFees = request.parents.reduce((s, p) => s + p.fee, 0n);
  let fee = request.packageRate * (parentVsize + BigInt(vsize)) - parentFees;
  const floors = [INCREMENTAL_RELAY_RATE * BigInt(vsize), request.minFee ?? 0n];
  if (request.replaces) floors.push(request.replaces.fee + INCREMENTAL_RELAY_RATE * BigInt(vsize));
  for (const f of floors) if (fee < f) fee = f;
  return fee;
}

/** ⌊(Σ parent fees + child fee) / (Σ parent vsize + child vsize)⌋ sat/vB. */
export function packageRateOf(parents: readonly ParentTx[], fee: Sats, vsize: number): FeeRate {
  const fees = parents.reduce((s, p) => s + p.fee, fee);
  const size = parents.reduce((s, p) => s + BigInt(p.vsize), BigInt(vsize));
  return fees / size;
}
