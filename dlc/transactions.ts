/**
 * Builders of every transaction of a CFD (reference dlc-crypto.md §2): lock → commit → CET |
 * refund, punish (spends a revoked commit) and collaborative close (spends the lock). All are
 * version 2 with nLockTime 0; relative timelocks are BIP68 nSequence values on the spending
 * input. Builders are pure and deterministic, so both parties derive the same txids; they return
 * unsigned transactions plus what signing needs (see sign.ts).
 *
 * Two formats of commit (and of the CETs and refund spending it):
 *
 * - **maia** (default; what ItchySats peers sign, proven byte for byte by the production vectors):
 *   the commit has one output and pays ceil(150 × rate); CETs and refund pay a fixed 1 sat/vB
 *   (208 sats) and re-split the commit fee. Nobody can raise the fee of a published commit, so
 *   when mempool fees rise after setup it can sit unconfirmed for days (ItchySats users' commits
 *   did) while the CET/refund timelocks, which only start at its confirmation, wait.
 * - **anchored** (`{ anchors: true }`, dlcfd's own): the commit gets two more outputs, vout 1 the
 *   maker's and vout 2 the taker's 330-sat anchor (BOLT 3 `to_local_anchor`, LND's design, see
 *   {@link anchorScript}), so EACH side can CPFP the commit alone with a child spending its own
 *   anchor; an anchor nobody spent is swept by anyone after 16 blocks. The commit pays
 *   {@link COMMIT_ANCHORED_VBYTES} × rate, and its CETs and refund pay the commit's negotiated
 *   rate instead of 1 sat/vB: F = 208 × rate + commit fee + 2 × 330, split in half, so each party
 *   bears half of the fees and its own anchor.
 *
 * Punish (either format) can take a chosen fee and signal BIP125 replaceability, so the punisher
 * can re-bid it every block ({@link buildPunish}).
 */
import { hexToBytes } from '@noble/hashes/utils.js';
import { Psbt, Transaction } from 'bitcoinjs-lib';
import type { FeeRate, Sats } from '../model/units.ts';
import {
  type Digit,
  decomposeInterval,
  type PriceRange,
  prefixContains,
  prefixRange,
} from './digits.ts';
import {
  type DlcTransactionKind,
  InsufficientFundingError,
  InvalidTransactionParametersError,
  MarginTooSmallError,
  PayoutBelowDustError,
} from './errors.ts';
import { anchorScript, type CommitKeys, commitScript, lockScript, p2wshOutput } from './scripts.ts';

// ---- Constants (reference §2, §2.7) -----------------------------------------------------------

/** Every DLC transaction is version 2, so BIP68 relative locks apply to its inputs. */
export const TX_VERSION = 2;
/** No DLC transaction uses an absolute lock time. */
export const TX_LOCKTIME = 0;
/** nSequence of an input without relative lock (maia's default `0xFFFFFFFF`). */
export const SEQUENCE_FINAL = 0xffffffff;
/** Blocks a CET must wait after its commit confirms (maia `CET_TIMELOCK`). */
export const CET_TIMELOCK = 12;
/** ItchySats' refund lock: ceil(24 h settlement interval × 1.5 / 10 min) = 216 blocks. */
export const REFUND_TIMELOCK = 216;

/** Commit vbytes maia budgets: 148.5 measured + 6/4 buffer; fee = ceil(150 × rate). */
export const COMMIT_VBYTES = 150n;
/**
 * CET (and refund) vbytes: 206.5 + 6/4. The CET rate is hard-coded 1 sat/vB in maia; the CET fee
 * also re-splits the commit fee, so F = 208 + commit_fee.
 */
export const CET_VBYTES = 208n;
/** maia's fixed CET/refund fee rate (sat/vB). */
export const CET_FEE_RATE = 1n;
/** Punish fee: floor(219.5 + 9/4) vbytes at a fixed 1 sat/vB. */
export const PUNISH_FEE = 221n;
/**
 * vsize of a signed punish transaction at most, so its fee at `rate` sat/vB is
 * `PUNISH_VBYTES × rate`: the maker's punish (its branch selector is one byte longer) paying to a
 * 34-byte scriptPubKey (P2WSH/P2TR; a P2WPKH one is 12 WU smaller) with three 72-byte DER
 * signatures (the longest low-S ones). Non-witness 4 + 1 + 41 + 1 + 43 + 4 = 94 bytes × 4 = 376
 * WU; witness 2 (marker, flag) + 1 + 3 × 73 + 3 × 34 + 2 + 1 + 225 = 552 WU; 928 WU = 232 vB
 * (measured: 231 … 232; maia's 221 was measured for P2WPKH at 1 sat/vB).
 */
export const PUNISH_VBYTES = 232n;
/** nSequence of a replaceable punish: signals BIP125 opt-in RBF, no relative lock. */
export const SEQUENCE_RBF = 0xfffffffd;
/** Value of each anchor output (BOLT 3: the P2WSH dust limit). */
export const ANCHOR_VALUE = 330n;
/**
 * vbytes an anchored commit budgets: a signed one measures 234.5 vB with 71-byte DER signatures
 * (maia's 148.5 + two 43-byte P2WSH outputs = 172 WU each), 235 with the longest (72-byte)
 * ones; plus maia's 6/4 buffer → 236. Its fee is `236 × rate`.
 */
export const COMMIT_ANCHORED_VBYTES = 236n;
/** Collaborative close vbytes: 167.5 + 6/4; fee = 169 × rate, split in half. */
export const CLOSE_VBYTES = 169n;
/** ItchySats closes at 1 sat/vB. */
export const CLOSE_FEE_RATE = 1n;

/** Largest BIP68 block-based relative lock (16 bits). */
const MAX_RELATIVE_LOCK = 0xffff;

// ---- Types ------------------------------------------------------------------------------------

/** A transaction output reference; `txid` in RPC (display) byte order. */
export interface Outpoint {
  readonly txid: string;
  readonly vout: number;
}

/** An output a DLC transaction spends: where it is, its value, and the script it pays to. */
export interface SpentOutput extends Outpoint {
  readonly value: Sats;
  readonly witnessScript: Uint8Array;
}

/** A plain output: scriptPubKey and value. */
export interface TxOutput {
  readonly script: Uint8Array;
  readonly value: Sats;
}

/** The two identity public keys of a cooperative (2-of-2) spend, maker first. */
export interface Identities {
  readonly maker: Uint8Array;
  readonly taker: Uint8Array;
}

/** An unsigned transaction whose input 0 spends `spent`: everything its sighash needs. */
export interface DlcSpend {
  /** Which transaction this is (named in signature errors). */
  readonly kind: DlcTransactionKind;
  readonly tx: Transaction;
  readonly spent: SpentOutput;
}

/** A spend of the lock or commit output through the maker/taker 2-of-2. */
export interface CooperativeSpend extends DlcSpend {
  readonly identities: Identities;
}

/** Amounts of a payout before fees (maia `Payout`): they sum to the lock amount. */
export interface Payout {
  readonly maker: Sats;
  readonly taker: Sats;
}

/** Where each party is paid (its scriptPubKey, e.g. a fresh P2WPKH wallet address). */
export interface PayoutScripts {
  readonly maker: Uint8Array;
  readonly taker: Uint8Array;
}

// ---- Helpers ------------------------------------------------------------------------------------

function fail(message: string): never {
  throw new InvalidTransactionParametersError(message);
}

function assertPositive(v: Sats, what: string): void {
  if (typeof v !== 'bigint' || v <= 0n) fail(`${what} must be a positive amount, got ${v}`);
}

function assertNonNegative(v: Sats, what: string): void {
  if (typeof v !== 'bigint' || v < 0n) fail(`${what} must not be negative, got ${v}`);
}

function assertFeeRate(rate: FeeRate): void {
  if (typeof rate !== 'bigint' || rate < 1n)
    fail(`fee rate must be at least 1 sat/vB, got ${rate}`);
}

function assertRelativeLock(blocks: number, what: string): void {
  if (!Number.isInteger(blocks) || blocks < 1 || blocks > MAX_RELATIVE_LOCK) {
    fail(`${what} must be 1 … ${MAX_RELATIVE_LOCK} blocks, got ${blocks}`);
  }
}

function assertOutpoint(o: Outpoint, what: string): void {
  if (typeof o.txid !== 'string' || !/^[0-9a-f]{64}$/.test(o.txid)) {
    fail(`${what}: txid must be 64 lowercase hex characters`);
  }
  if (!Number.isInteger(o.vout) || o.vout < 0 || o.vout > 0xffffffff) {
    fail(`${what}: invalid output index ${o.vout}`);
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** Internal (little-endian) hash of a display txid, as transactions serialize it. */
function txidToHash(txid: string): Uint8Array {
  return hexToBytes(txid).reverse();
}

function newTransaction(): Transaction {
  const tx = new Transaction();
  tx.version = TX_VERSION;
  tx.locktime = TX_LOCKTIME;
  return tx;
}

function spendingTx(spent: SpentOutput, sequence: number): Transaction {
  assertOutpoint(spent, 'spent output');
  const tx = newTransaction();
  tx.addInput(txidToHash(spent.txid), spent.vout, sequence);
  return tx;
}

/** Whether a scriptPubKey is a segwit program (rust-bitcoin `is_witness_program`). */
function isWitnessProgram(script: Uint8Array): boolean {
  const version = script[0];
  const push = script[1];
  if (script.length < 4 || script.length > 42 || version === undefined || push === undefined) {
    return false;
  }
  if (version !== 0x00 && (version < 0x51 || version > 0x60)) return false;
  return push >= 2 && push <= 40 && push === script.length - 2;
}

/** Length of a Bitcoin CompactSize varint. */
function varintLength(n: number): number {
  return n < 0xfd ? 1 : n <= 0xffff ? 3 : n <= 0xffffffff ? 5 : 9;
}

/**
 * The dust limit of an output paying to `script`, as maia (rust-bitcoin 0.28 `dust_value`)
 * computes it at Core's 3 sat/vB dust relay fee: 3 × (spend cost + 8 + serialized script), with
 * spend cost 67 for witness programs (32+4+1+107/4+4) and 148 otherwise; 0 for OP_RETURN.
 * P2WPKH 294, P2WSH/P2TR 330, P2SH 540, P2PKH 546.
 */
export function dustLimit(script: Uint8Array): Sats {
  if (script[0] === 0x6a) return 0n;
  const spendCost = isWitnessProgram(script) ? 67 : 148;
  return BigInt(3 * (spendCost + 8 + varintLength(script.length) + script.length));
}

/**
 * maia's `subtract_fee`: each side pays half (rounded down) of `fee` if both then stay strictly
 * above their dust limits; otherwise the side that would fall to dust gets nothing and the other
 * pays the whole fee. Throws {@link PayoutBelowDustError} when neither side can pay.
 */
export function subtractFee(payout: Payout, fee: Sats, scripts: PayoutScripts): Payout {
  assertNonNegative(payout.maker, 'maker payout');
  assertNonNegative(payout.taker, 'taker payout');
  assertNonNegative(fee, 'fee');
  const half = fee / 2n;
  const makerOk = payout.maker - half > dustLimit(scripts.maker);
  const takerOk = payout.taker - half > dustLimit(scripts.taker);
  if (makerOk && takerOk) return { maker: payout.maker - half, taker: payout.taker - half };
  if (takerOk) return { maker: 0n, taker: payout.taker - fee + payout.maker };
  if (makerOk) return { maker: payout.maker - fee + payout.taker, taker: 0n };
  throw new PayoutBelowDustError(
    `neither payout (maker ${payout.maker}, taker ${payout.taker}) stays above dust after a ` +
      `fee of ${fee} sats`,
  );
}

/** Adds [maker, taker] outputs, omitting those below their dust limit (maia `into_txouts`). */
function addPayoutOutputs(tx: Transaction, payout: Payout, scripts: PayoutScripts): TxOutput[] {
  const outputs: TxOutput[] = [];
  for (const [value, script] of [
    [payout.maker, scripts.maker],
    [payout.taker, scripts.taker],
  ] as const) {
    if (value >= dustLimit(script) && value > 0n) {
      tx.addOutput(script, value);
      outputs.push({ script, value });
    }
  }
  if (outputs.length === 0) throw new PayoutBelowDustError('no output left above dust');
  return outputs;
}

function assertPayoutScripts(scripts: PayoutScripts): void {
  for (const [who, s] of Object.entries(scripts)) {
    if (!(s instanceof Uint8Array) || s.length === 0 || s.length > 10_000) {
      fail(`${who} payout script must be a non-empty scriptPubKey`);
    }
  }
}

function assertPayout(payout: Payout, available: Sats): void {
  assertNonNegative(payout.maker, 'maker payout');
  assertNonNegative(payout.taker, 'taker payout');
  if (payout.maker + payout.taker > available) {
    fail(`payouts ${payout.maker} + ${payout.taker} exceed the ${available} sats locked`);
  }
}

// ---- Lock -------------------------------------------------------------------------------------

/** One coin a party adds to the lock transaction. */
export interface FundingInput extends Outpoint {
  /** @default SEQUENCE_FINAL */
  readonly sequence?: number;
  /** The output it spends; needed to sign it (PSBT `witnessUtxo`) and to check the party's fee. */
  readonly witnessUtxo?: TxOutput;
}

/** What one party puts into the lock transaction (from its own wallet's PSBT). */
export interface LockParty {
  /** Its margin: its share of the lock output. */
  readonly margin: Sats;
  readonly inputs: readonly FundingInput[];
  readonly change: readonly TxOutput[];
}

/** The merged lock transaction, unsigned. */
export interface LockTransaction {
  readonly tx: Transaction;
  /** The same transaction as a PSBT, with `witnessUtxo` where known, for the wallets to sign. */
  readonly psbt: Psbt;
  /** The 2-of-2 lock output (vout 0) with its witness script. */
  readonly output: SpentOutput;
  readonly identities: Identities;
  /** Each party's fee (inputs − margin − change), when all its inputs carry `witnessUtxo`. */
  readonly fees: { readonly maker: Sats | undefined; readonly taker: Sats | undefined };
}

function partyFee(party: LockParty, who: string): Sats | undefined {
  if (party.inputs.some((i) => i.witnessUtxo === undefined)) return undefined;
  const inputs = party.inputs.reduce((s, i) => s + (i.witnessUtxo as TxOutput).value, 0n);
  const change = party.change.reduce((s, c) => s + c.value, 0n);
  const fee = inputs - party.margin - change;
  if (fee < 0n) {
    throw new InsufficientFundingError(
      `${who} inputs (${inputs} sats) do not cover its margin ${party.margin} and change ${change}`,
    );
  }
  return fee;
}

/**
 * Merges the two parties' funding into the lock transaction (maia `lock_transaction`): inputs =
 * maker's then taker's; outputs = [lock, maker change…, taker change…]; the lock output holds
 * both margins in the 2-of-2. Each party pays its own inputs and change (the difference between
 * what it puts in and takes out). Throws {@link InsufficientFundingError} when a party's known
 * inputs do not cover its margin and change.
 *
 * output 0: `OP_0 {sha256(<M_id> OP_CHECKSIGVERIFY <T_id> OP_CHECKSIG)}`
 */
export function buildLockTransaction(params: {
  readonly identities: Identities;
  readonly maker: LockParty;
  readonly taker: LockParty;
}): LockTransaction {
  const { identities, maker, taker } = params;
  const witnessScript = lockScript(identities.maker, identities.taker);
  assertPositive(maker.margin, 'maker margin');
  assertPositive(taker.margin, 'taker margin');
  const value = maker.margin + taker.margin;
  const seen = new Set<string>();
  const tx = newTransaction();
  const psbt = new Psbt();
  psbt.setVersion(TX_VERSION);
  psbt.setLocktime(TX_LOCKTIME);
  for (const [who, party] of [
    ['maker', maker],
    ['taker', taker],
  ] as const) {
    if (party.inputs.length === 0) fail(`${who} has no lock inputs`);
    for (const input of party.inputs) {
      assertOutpoint(input, `${who} lock input`);
      const key = `${input.txid}:${input.vout}`;
      if (seen.has(key)) fail(`lock input ${key} appears twice`);
      seen.add(key);
      const sequence = input.sequence ?? SEQUENCE_FINAL;
      tx.addInput(txidToHash(input.txid), input.vout, sequence);
      psbt.addInput({
        hash: input.txid,
        index: input.vout,
        sequence,
        ...(input.witnessUtxo && { witnessUtxo: input.witnessUtxo }),
      });
    }
  }
  const outputs: TxOutput[] = [
    { script: p2wshOutput(witnessScript), value },
    ...maker.change,
    ...taker.change,
  ];
  for (const [i, out] of outputs.entries()) {
    assertPositive(out.value, `lock output ${i}`);
    if (out.value < dustLimit(out.script)) fail(`lock output ${i} (${out.value} sats) is dust`);
    tx.addOutput(out.script, out.value);
    psbt.addOutput({ script: out.script, value: out.value });
  }
  return {
    tx,
    psbt,
    output: { txid: tx.getId(), vout: 0, value, witnessScript },
    identities,
    fees: { maker: partyFee(maker, 'maker'), taker: partyFee(taker, 'taker') },
  };
}

// ---- Commit -----------------------------------------------------------------------------------

/**
 * The commit fee at `feeRate` sat/vB: maia's ceil(150 × rate) (rate is whole, so 150 × rate);
 * with `anchors`, {@link COMMIT_ANCHORED_VBYTES} × rate.
 */
export function commitFee(feeRate: FeeRate, options?: CommitOptions): Sats {
  assertFeeRate(feeRate);
  return (options?.anchors === true ? COMMIT_ANCHORED_VBYTES : COMMIT_VBYTES) * feeRate;
}

/** Format options of a commit (and so of the CETs and refund spending it). */
export interface CommitOptions {
  /** Add the maker's (vout 1) and taker's (vout 2) anchor outputs. @default false (maia) */
  readonly anchors?: boolean;
}

/** Each party's anchor output of an anchored commit (witness script {@link anchorScript}). */
export interface CommitAnchors {
  readonly maker: SpentOutput;
  readonly taker: SpentOutput;
}

/**
 * The commit transaction: lock output → one output paying to the punishable commit script
 * (vout 0), plus two anchors (vout 1 maker, vout 2 taker) in the anchored format.
 */
export interface CommitTransaction extends CooperativeSpend {
  readonly keys: CommitKeys;
  /** The commit output (vout 0) with its witness script: what CETs, refund and punish spend. */
  readonly output: SpentOutput;
  /** On-chain fee of the commit transaction. */
  readonly fee: Sats;
  /** sat/vB the commit fee was computed at; the anchored CETs and refund pay it too. */
  readonly feeRate: FeeRate;
  /** The anchor outputs; `undefined` in maia's format (no anchors). */
  readonly anchors: CommitAnchors | undefined;
}

/**
 * Builds the commit transaction (maia `CommitTransaction::new`): spends the lock output with no
 * relative lock; one output of lock value − ceil(150 × feeRate). `lock.witnessScript` must be
 * the lock script of `keys`' identities.
 *
 * With `options.anchors` (dlcfd's anchored format) the fee is 236 × feeRate and two 330-sat
 * anchors follow the commit output, whose value is lock − fee − 660.
 *
 * output 0: `OP_0 {sha256(commitScript(keys))}`
 * output 1 (anchored): 330, `OP_0 {sha256(anchorScript(M_id))}`
 * output 2 (anchored): 330, `OP_0 {sha256(anchorScript(T_id))}`
 */
export function buildCommitTransaction(
  lock: SpentOutput,
  keys: CommitKeys,
  feeRate: FeeRate,
  options?: CommitOptions,
): CommitTransaction {
  const identities = { maker: keys.maker.identity, taker: keys.taker.identity };
  if (!sameBytes(lock.witnessScript, lockScript(identities.maker, identities.taker))) {
    fail('the lock output is not the 2-of-2 of these identity keys');
  }
  const anchored = options?.anchors === true;
  const fee = commitFee(feeRate, options);
  const value = lock.value - fee - (anchored ? 2n * ANCHOR_VALUE : 0n);
  if (value < dustLimit(p2wshOutput(lock.witnessScript))) {
    fail(
      `lock amount ${lock.value} cannot pay the commit fee ${fee}` +
        (anchored ? ` and two ${ANCHOR_VALUE}-sat anchors` : ''),
    );
  }
  const witnessScript = commitScript(keys);
  const tx = spendingTx(lock, SEQUENCE_FINAL);
  tx.addOutput(p2wshOutput(witnessScript), value);
  let anchorScripts: { maker: Uint8Array; taker: Uint8Array } | undefined;
  if (anchored) {
    anchorScripts = {
      maker: anchorScript(identities.maker),
      taker: anchorScript(identities.taker),
    };
    tx.addOutput(p2wshOutput(anchorScripts.maker), ANCHOR_VALUE);
    tx.addOutput(p2wshOutput(anchorScripts.taker), ANCHOR_VALUE);
  }
  const txid = tx.getId();
  return {
    kind: 'commit',
    tx,
    spent: lock,
    identities,
    keys,
    output: { txid, vout: 0, value, witnessScript },
    fee,
    feeRate,
    anchors: anchorScripts && {
      maker: { txid, vout: 1, value: ANCHOR_VALUE, witnessScript: anchorScripts.maker },
      taker: { txid, vout: 2, value: ANCHOR_VALUE, witnessScript: anchorScripts.taker },
    },
  };
}

/** The value a commit spends, i.e. the lock amount (sum of both margins). */
function lockAmount(commit: CommitTransaction): Sats {
  return commit.spent.value;
}

// ---- CETs -------------------------------------------------------------------------------------

/**
 * The fee F a CET (or refund) takes from the payout (half from each side), from the commit it
 * spends:
 * - maia format: 208 vbytes at 1 sat/vB plus the commit fee, so the CET pays ≈208 sats on chain
 *   and the parties re-split the commit fee 50/50;
 * - anchored format: 208 × the commit's fee rate + the commit fee + 2 × 330, so the CET pays
 *   the negotiated rate and each party bears half of both fees and its own anchor.
 */
export function cetFee(commit: CommitTransaction): Sats {
  return cetFeeOf(commit.fee, commit.feeRate, commit.anchors !== undefined);
}

/**
 * {@link cetFee} of a contract at `feeRate` in the given format, without its commit at hand (the
 * commit's fee follows from the rate: {@link commitFee}).
 */
export function cetFeeAt(feeRate: FeeRate, options?: CommitOptions): Sats {
  return cetFeeOf(commitFee(feeRate, options), feeRate, options?.anchors === true);
}

function cetFeeOf(commitFeeSats: Sats, feeRate: FeeRate, anchored: boolean): Sats {
  if (anchored) return CET_VBYTES * feeRate + commitFeeSats + 2n * ANCHOR_VALUE;
  return CET_VBYTES * CET_FEE_RATE + commitFeeSats;
}

/** A contract execution transaction for one payout. */
export interface CetTransaction extends CooperativeSpend {
  /** The payout before fees it was built from. */
  readonly payout: Payout;
  /** What it pays, [maker, taker] with dust-omitted outputs removed. */
  readonly outputs: readonly TxOutput[];
}

/**
 * Builds a CET (maia `ContractExecutionTransaction::new`): spends the commit output with
 * nSequence = `timelock` (BIP68 relative lock, 12 blocks by default); outputs [maker, taker]
 * after {@link subtractFee} with the CET fee, each omitted when below its dust limit.
 */
export function buildCet(
  commit: CommitTransaction,
  payout: Payout,
  scripts: PayoutScripts,
  timelock: number = CET_TIMELOCK,
): CetTransaction {
  assertRelativeLock(timelock, 'CET timelock');
  assertPayoutScripts(scripts);
  assertPayout(payout, lockAmount(commit));
  const tx = spendingTx(commit.output, timelock);
  const outputs = addPayoutOutputs(tx, subtractFee(payout, cetFee(commit), scripts), scripts);
  return { kind: 'cet', tx, spent: commit.output, identities: commit.identities, payout, outputs };
}

/** One row of a payout table: an inclusive price interval and its payout before fees. */
export interface PayoutInterval extends PriceRange, Payout {}

/** A CET with the price interval it settles and the digit prefixes covering it. */
export interface IntervalCet extends CetTransaction {
  readonly range: PriceRange;
  /** Minimal digit prefixes covering `range`; one adaptor signature each (same CET). */
  readonly prefixes: readonly (readonly Digit[])[];
}

/**
 * Builds one CET per payout interval, with the digit prefixes (one adaptor signature each) that
 * cover the interval, in the canonical order of {@link decomposeInterval}.
 */
export function buildCets(
  commit: CommitTransaction,
  intervals: readonly PayoutInterval[],
  scripts: PayoutScripts,
  timelock: number = CET_TIMELOCK,
  nDigits?: number,
): IntervalCet[] {
  return intervals.map((row) => {
    const cet = buildCet(commit, row, scripts, timelock);
    return {
      ...cet,
      range: { start: row.start, end: row.end },
      prefixes: decomposeInterval(row.start, row.end, nDigits),
    };
  });
}

/**
 * The CET settling `price` and the prefix of it that contains the price: exactly one when the
 * intervals cover the oracle's range without overlap. Throws
 * {@link InvalidTransactionParametersError} when no CET covers the price.
 */
export function findCet<T extends IntervalCet>(
  cets: readonly T[],
  price: number,
  nDigits?: number,
): { cet: T; prefix: readonly Digit[] } {
  for (const cet of cets) {
    if (price < cet.range.start || price > cet.range.end) continue;
    const prefix = cet.prefixes.find((p) => prefixContains(p, price, nDigits));
    if (prefix) return { cet, prefix };
  }
  fail(`no CET covers the price ${price}`);
}

/** The price range of every prefix of a CET, as the wire identifies them. */
export function cetPrefixRanges(cet: IntervalCet, nDigits?: number): PriceRange[] {
  return cet.prefixes.map((p) => prefixRange(p, nDigits));
}

// ---- Refund -----------------------------------------------------------------------------------

/** The refund transaction: each party gets its margin back, minus half the CET fee. */
export interface RefundTransaction extends CooperativeSpend {
  readonly outputs: readonly TxOutput[];
}

/**
 * Builds the refund (maia `RefundTransaction::new`): spends the commit output with nSequence =
 * `timelock` (BIP68 relative lock); outputs [maker margin − ⌊F/2⌋, taker margin − ⌊F/2⌋] with
 * F = {@link cetFee} (maia: 208 + commit fee; anchored: 208 × rate + commit fee + 660). Unlike maia it refuses margins that cannot pay their half and stay above
 * dust ({@link MarginTooSmallError}), because such a refund could never be broadcast.
 */
export function buildRefund(
  commit: CommitTransaction,
  margins: Payout,
  scripts: PayoutScripts,
  timelock: number = REFUND_TIMELOCK,
): RefundTransaction {
  assertRelativeLock(timelock, 'refund timelock');
  assertPayoutScripts(scripts);
  assertPositive(margins.maker, 'maker margin');
  assertPositive(margins.taker, 'taker margin');
  if (margins.maker + margins.taker !== lockAmount(commit)) {
    fail(
      `margins ${margins.maker} + ${margins.taker} are not the lock amount ${lockAmount(commit)}`,
    );
  }
  const half = cetFee(commit) / 2n;
  const tx = spendingTx(commit.output, timelock);
  const outputs: TxOutput[] = [];
  for (const [who, margin, script] of [
    ['maker', margins.maker, scripts.maker],
    ['taker', margins.taker, scripts.taker],
  ] as const) {
    const value = margin - half;
    if (value < dustLimit(script)) {
      throw new MarginTooSmallError(
        `${who} margin ${margin} cannot pay its refund fee share ${half} and stay above the ` +
          `dust limit ${dustLimit(script)}`,
      );
    }
    tx.addOutput(script, value);
    outputs.push({ script, value });
  }
  return { kind: 'refund', tx, spent: commit.output, identities: commit.identities, outputs };
}

// ---- Punish -----------------------------------------------------------------------------------

/** A punish transaction: takes a revoked commit's whole output through the punish branch. */
export interface PunishTransaction extends DlcSpend {
  /** The revoked commit's keys (the punish witness needs them). */
  readonly keys: CommitKeys;
  readonly output: TxOutput;
  /** What it pays in fees (221, or the chosen fee). */
  readonly fee: Sats;
}

/** Options of {@link buildPunish}. */
export interface PunishOptions {
  /**
   * The fee to pay (e.g. {@link PUNISH_VBYTES} × rate); the punish then signals BIP125 (nSequence
   * 0xfffffffd) so it can be replaced with a higher fee. @default maia's flat 221, not replaceable
   */
  readonly fee?: Sats;
}

/**
 * Builds the punish transaction (maia `punish_transaction`): spends the revoked commit's output
 * with no relative lock; one output of commit value − 221 to the punisher, nSequence final.
 *
 * With `options.fee`: that fee instead and nSequence {@link SEQUENCE_RBF}, so the punisher can
 * re-bid it (RBF) until it confirms. Throws {@link PayoutBelowDustError} when the fee leaves the
 * output below the punisher script's dust limit.
 */
export function buildPunish(
  revoked: CommitTransaction,
  punisherScript: Uint8Array,
  options?: PunishOptions,
): PunishTransaction {
  const chosen = options?.fee;
  if (chosen !== undefined) assertPositive(chosen, 'punish fee');
  const fee = chosen ?? PUNISH_FEE;
  const value = revoked.output.value - fee;
  if (value < dustLimit(punisherScript)) {
    throw new PayoutBelowDustError(
      `the commit output (${revoked.output.value} sats) cannot pay the punish fee ${fee} and ` +
        `stay above the dust limit ${dustLimit(punisherScript)}`,
    );
  }
  const tx = spendingTx(revoked.output, chosen === undefined ? SEQUENCE_FINAL : SEQUENCE_RBF);
  tx.addOutput(punisherScript, value);
  return {
    kind: 'punish',
    tx,
    spent: revoked.output,
    keys: revoked.keys,
    output: { script: punisherScript, value },
    fee,
  };
}

// ---- Collaborative close ------------------------------------------------------------------------

/** A collaborative close: spends the lock directly, paying the agreed settlement. */
export interface CloseTransaction extends CooperativeSpend {
  readonly payout: Payout;
  readonly outputs: readonly TxOutput[];
}

/** The close fee: 169 vbytes × rate (ItchySats uses 1 sat/vB). */
export function closeFee(feeRate: FeeRate = CLOSE_FEE_RATE): Sats {
  assertFeeRate(feeRate);
  return CLOSE_VBYTES * feeRate;
}

/**
 * Builds a collaborative close (maia `close_transaction`): spends the lock output with no
 * relative lock; outputs [maker, taker] after {@link subtractFee} with 169 × `feeRate`, zero and
 * dust outputs omitted.
 */
export function buildClose(
  lock: SpentOutput,
  identities: Identities,
  payout: Payout,
  scripts: PayoutScripts,
  feeRate: FeeRate = CLOSE_FEE_RATE,
): CloseTransaction {
  if (!sameBytes(lock.witnessScript, lockScript(identities.maker, identities.taker))) {
    fail('the lock output is not the 2-of-2 of these identity keys');
  }
  assertPayoutScripts(scripts);
  assertPayout(payout, lock.value);
  const tx = spendingTx(lock, SEQUENCE_FINAL);
  const outputs = addPayoutOutputs(tx, subtractFee(payout, closeFee(feeRate), scripts), scripts);
  return { kind: 'close', tx, spent: lock, identities, payout, outputs };
}
