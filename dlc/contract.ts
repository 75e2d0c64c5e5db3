/**
 * The signed contract a party keeps after contract setup (and that each rollover replaces): every
 * secret, public key, script and counterparty signature needed to get out ALONE — publish the
 * commit, then execute the CET the oracle's attestation unlocks, or take the refund after its
 * timelock, or punish a revoked commit the counterparty publishes. Nothing else is needed: from a
 * {@link ContractRecord} every transaction is rebuilt byte for byte (and its txid checked against
 * the recorded one) and signed.
 *
 * The record is plain JSON (hex strings; satoshis as bigint, which `model/json.ts` keeps exact),
 * so the node stores it as it is (`eventstore/contract-store.ts`). It holds secret keys: it never
 * leaves the node.
 *
 * Pure: no IO, no randomness, no clock.
 */
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { Transaction } from 'bitcoinjs-lib';
import type { DlcSummary } from '../model/cfd.ts';
import type { FeeBalance } from '../model/fees.ts';
import type { FeeRate, Role, Sats } from '../model/units.ts';
import { type Digit, decomposeInterval, PRICE_DIGITS, prefixContains } from './digits.ts';
import { InvalidContractRecordError } from './errors.ts';
import { attestationDecryptionKey } from './oracle.ts';
import { type CommitKeys, lockScript } from './scripts.ts';
import {
  finalizeCet,
  finalizeCooperative,
  publishCommit,
  recoverPublishSecret,
  signPunish,
} from './sign.ts';
import {
  buildCet,
  buildCets,
  buildCommitTransaction,
  buildLockTransaction,
  buildPunish,
  buildRefund,
  type CommitTransaction,
  type IntervalCet,
  type LockParty,
  type LockTransaction,
  type PayoutInterval,
  type PayoutScripts,
  type PunishOptions,
  type RefundTransaction,
  type SpentOutput,
} from './transactions.ts';

/** Format version of {@link ContractRecord}; a reader refuses versions it does not know. */
export const CONTRACT_RECORD_VERSION = 1;

/** One party's public keys of one commit, 33-byte compressed hex. */
export interface PartyKeysRecord {
  readonly identity: string;
  readonly publish: string;
  readonly revocation: string;
}

/** The six public keys of one commit script (maker first, as in every script). */
export interface CommitKeysRecord {
  readonly maker: PartyKeysRecord;
  readonly taker: PartyKeysRecord;
}

export interface LockRecord {
  /**
   * The lock transaction: fully signed once {@link signed}; before that, unsigned. Contract setup
   * stores the record before our lock signature leaves, so our keys and the counterparty's
   * signatures survive a crash even if the counterparty then broadcasts the lock.
   */
  readonly txHex: string;
  readonly signed: boolean;
  readonly txid: string;
  /** The 2-of-2 output (always 0: maia puts it first). */
  readonly vout: number;
  /** Value of the 2-of-2 output: both margins. */
  readonly amount: Sats;
  readonly margins: { readonly maker: Sats; readonly taker: Sats };
}

export interface CommitRecord {
  readonly txid: string;
  /** Value of the commit output (lock amount − commit fee). */
  readonly amount: Sats;
  /** sat/vB the commit fee was computed at (the offer's transaction fee rate). */
  readonly feeRate: FeeRate;
  /** The counterparty's adaptor signature: its identity key, encrypted to OUR publish key. */
  readonly counterpartyAdaptorSignature: string;
  /**
   * Ours, as given to the counterparty (encrypted to ITS publish key): recovers its publish
   * secret from the witness if it ever publishes this commit after revoking it.
   */
  readonly ownAdaptorSignature: string;
  /**
   * The commit is in dlcfd's anchored format (two anchors; CETs and refund at `feeRate`). Absent:
   * maia's format, as every record written before anchors existed.
   */
  readonly anchors?: true;
}

export interface RefundRecord {
  /** Relative timelock in blocks after the commit confirms. */
  readonly timelock: number;
  readonly txid: string;
  /** The counterparty's plain signature (64-byte compact hex). */
  readonly counterpartySignature: string;
}

/** One CET: a price interval, its payout and the counterparty's adaptor signatures. */
export interface CetRecord {
  /** Inclusive whole-USD price interval it settles. */
  readonly start: number;
  readonly end: number;
  /** Payout before fees (maia `Payout`): sums to the lock amount. */
  readonly maker: Sats;
  readonly taker: Sats;
  readonly txid: string;
  /**
   * The counterparty's adaptor signature for each digit prefix of `start … end`, in
   * `decomposeInterval` order, each encrypted to the oracle's point for its prefix.
   */
  readonly adaptorSignatures: readonly string[];
}

/** The CETs of one oracle event (the settlement event, or an hourly liquidation event). */
export interface EventCetsRecord {
  readonly eventId: string;
  readonly cets: readonly CetRecord[];
}

/**
 * A commit replaced by a rollover. If the counterparty publishes it, we punish: its revocation
 * secret (revealed at rollover) plus its publish secret (recovered from the witness with our
 * adaptor signature) let us take the whole output.
 */
export interface RevokedCommitRecord {
  readonly txid: string;
  readonly amount: Sats;
  readonly feeRate: FeeRate;
  /** The revoked commit was anchored (see {@link CommitRecord.anchors}); absent: maia's format. */
  readonly anchors?: true;
  /** All six keys: without them the old commit script cannot be rebuilt (ItchySats' gap). */
  readonly keys: CommitKeysRecord;
  readonly counterpartyRevocationSk: string;
  /** Our adaptor signature of that commit (encrypted to the counterparty's publish key). */
  readonly ownAdaptorSignature: string;
  /** Ours of that commit: a maker rolling over from an older commit reveals it again. */
  readonly ownRevocationSk: string;
  readonly settlementEventId: string;
}

/** The signed contract of one CFD, as one party holds it. */
export interface ContractRecord {
  readonly version: typeof CONTRACT_RECORD_VERSION;
  readonly cfdId: string;
  readonly role: Role;
  /** Our identity secret: fixed for the CFD (lock 2-of-2, every spend). */
  readonly identitySk: string;
  /** Our publish and revocation secrets of the current commit. */
  readonly publishSk: string;
  readonly revocationSk: string;
  /** Both parties' public keys of the current commit. */
  readonly keys: CommitKeysRecord;
  /** Where each party's CET / refund output pays (scriptPubKey hex). */
  readonly payoutScripts: { readonly maker: string; readonly taker: string };
  readonly lock: LockRecord;
  readonly commit: CommitRecord;
  readonly refund: RefundRecord;
  /** Relative timelock of every CET, blocks after the commit confirms. */
  readonly cetTimelock: number;
  readonly settlementEventId: string;
  /** The CETs per oracle event; the settlement event's among them. */
  readonly events: readonly EventCetsRecord[];
  readonly revoked: readonly RevokedCommitRecord[];
  /**
   * The record this one replaces while the rollover that made it has not exchanged secrets (the
   * record's lifecycle is in `dlc/record.ts`).
   */
  readonly previous?: ContractRecord;
  /** The fee balance each commit's payout curve includes, by commit txid (absent: setup's). */
  readonly feeBalances?: Readonly<Record<string, FeeBalance>>;
  /**
   * Commits of rollovers that broke off after we sent our signatures but before we stored the
   * counterparty's: we can never publish them, the counterparty may hold them. We reveal their
   * revocation secrets in the next rollover, so the counterparty can always revoke every commit
   * it considers live (a taker killed mid-run would otherwise leave the maker waiting forever).
   */
  readonly unfinished?: readonly UnfinishedCommit[];
  /**
   * Maker: the new commits of rollovers that broke off after the taker's CET and refund signatures
   * were stored but before its commit signature came. The taker may hold ours and publish any of
   * them; we cannot. Each is live (followed, closed through its own CETs and refund), never
   * published by us, until a completed rollover revokes it. A list: a second broken run must not
   * make us forget the first.
   */
  readonly counterpartyOnly?: readonly ContractRecord[];
}

/** A commit of ours that never became current, and our revocation secret of it. */
export interface UnfinishedCommit {
  readonly txid: string;
  /** Hex. */
  readonly ownRevocationSk: string;
}

/** Lowercase hex of bytes (the record's encoding). */
export function toHex(bytes: Uint8Array): string {
  return bytesToHex(bytes);
}

/** Bytes of record hex; a malformed string is an {@link InvalidContractRecordError}. */
export function fromHex(hex: string, what = 'hex field'): Uint8Array {
  if (typeof hex !== 'string' || !/^([0-9a-f]{2})*$/.test(hex)) {
    throw new InvalidContractRecordError(`${what} is not lowercase hex`);
  }
  return hexToBytes(hex);
}

/** Record keys → bytes. */
export function commitKeysFromRecord(keys: CommitKeysRecord): CommitKeys {
  const party = (k: PartyKeysRecord, who: string) => ({
    identity: fromHex(k.identity, `${who} identity key`),
    publish: fromHex(k.publish, `${who} publish key`),
    revocation: fromHex(k.revocation, `${who} revocation key`),
  });
  return { maker: party(keys.maker, 'maker'), taker: party(keys.taker, 'taker') };
}

/** Bytes → record keys. */
export function commitKeysToRecord(keys: CommitKeys): CommitKeysRecord {
  const party = (k: CommitKeys['maker']) => ({
    identity: toHex(k.identity),
    publish: toHex(k.publish),
    revocation: toHex(k.revocation),
  });
  return { maker: party(keys.maker), taker: party(keys.taker) };
}

function assertVersion(record: ContractRecord): void {
  if (record.version !== CONTRACT_RECORD_VERSION) {
    throw new InvalidContractRecordError(
      `contract record version ${String(record.version)} is not ${CONTRACT_RECORD_VERSION}`,
    );
  }
}

function expectTxid(kind: string, actual: string, recorded: string): void {
  if (actual !== recorded) {
    throw new InvalidContractRecordError(
      `rebuilt ${kind} ${actual} is not the recorded ${recorded}`,
    );
  }
}

/** What the CFD aggregate records of a contract (`ContractSetupCompleted`, `RolloverCompleted`). */
export function dlcSummary(record: ContractRecord): DlcSummary {
  assertVersion(record);
  return {
    lockTxid: record.lock.txid,
    commitTxid: record.commit.txid,
    settlementEventId: record.settlementEventId,
    oracleEventIds: record.events.map((e) => e.eventId),
    cetTimelock: record.cetTimelock,
    refundTimelock: record.refund.timelock,
    makerLockAmount: record.lock.margins.maker,
    takerLockAmount: record.lock.margins.taker,
  };
}

/** The payout scripts as bytes. */
export function payoutScriptsOf(record: ContractRecord): PayoutScripts {
  return {
    maker: fromHex(record.payoutScripts.maker, 'maker payout script'),
    taker: fromHex(record.payoutScripts.taker, 'taker payout script'),
  };
}

/**
 * Whether `tx`, seen spending the lock, is a collaborative close: every output pays one of the two
 * payout scripts. Only commits (current or revoked) and closes are ever signed by both parties, and
 * a commit's outputs are the commit script (and, anchored, two anchor scripts), so this tells a
 * close from any commit without the price it was agreed at.
 */
export function isCollaborativeClose(record: ContractRecord, tx: Transaction): boolean {
  const scripts = new Set([record.payoutScripts.maker, record.payoutScripts.taker]);
  const spendsLock = tx.ins.some(
    (i) =>
      i.index === record.lock.vout && toHex(Uint8Array.from(i.hash).reverse()) === record.lock.txid,
  );
  return spendsLock && tx.outs.length > 0 && tx.outs.every((o) => scripts.has(toHex(o.script)));
}

/** The 2-of-2 lock output every commit spends. */
export function lockOutput(record: ContractRecord): SpentOutput {
  assertVersion(record);
  const keys = commitKeysFromRecord(record.keys);
  return {
    txid: record.lock.txid,
    vout: record.lock.vout,
    value: record.lock.amount,
    witnessScript: lockScript(keys.maker.identity, keys.taker.identity),
  };
}

/**
 * The fully signed lock transaction, ready to broadcast. Throws
 * {@link InvalidContractRecordError} while only the unsigned one is recorded.
 */
export function signedLock(record: ContractRecord): Transaction {
  if (!record.lock.signed) {
    throw new InvalidContractRecordError(`the lock of ${record.cfdId} is not signed yet`);
  }
  const tx = Transaction.fromHex(record.lock.txHex);
  expectTxid('lock', tx.getId(), record.lock.txid);
  return tx;
}

function buildCommitFrom(
  record: ContractRecord,
  keys: CommitKeysRecord,
  feeRate: FeeRate,
  txid: string,
  amount: Sats,
  anchors: true | undefined,
): CommitTransaction {
  const commit = buildCommitTransaction(lockOutput(record), commitKeysFromRecord(keys), feeRate, {
    anchors: anchors === true,
  });
  expectTxid('commit', commit.tx.getId(), txid);
  if (commit.output.value !== amount) {
    throw new InvalidContractRecordError(
      `rebuilt commit pays ${commit.output.value}, the record says ${amount}`,
    );
  }
  return commit;
}

/**
 * The current commit transaction (unsigned), rebuilt in the record's format (`commit.anchors`)
 * and checked against the record.
 */
export function rebuildCommit(record: ContractRecord): CommitTransaction {
  const c = record.commit;
  return buildCommitFrom(record, record.keys, c.feeRate, c.txid, c.amount, c.anchors);
}

/**
 * `role`'s anchor of the current commit (default: ours), to CPFP it with `signAnchorInput`;
 * `undefined` when the commit is in maia's format (no anchors).
 */
export function anchorOf(
  record: ContractRecord,
  role: Role = record.role,
): SpentOutput | undefined {
  if (role !== 'maker' && role !== 'taker') {
    throw new InvalidContractRecordError(`role must be maker or taker, got ${String(role)}`);
  }
  if (record.commit.anchors !== true) return undefined;
  return rebuildCommit(record).anchors?.[role];
}

/**
 * The current commit, signed for broadcast: our identity signature plus the counterparty's
 * adaptor signature decrypted with our publish secret (which publishing reveals to it).
 */
export function signedCommit(record: ContractRecord): Transaction {
  return publishCommit(
    rebuildCommit(record),
    record.role,
    fromHex(record.identitySk, 'identity secret'),
    fromHex(record.publishSk, 'publish secret'),
    fromHex(record.commit.counterpartyAdaptorSignature, 'commit adaptor signature'),
  );
}

/** The refund transaction (unsigned): each party's margin back, after the refund timelock. */
export function rebuildRefund(record: ContractRecord): RefundTransaction {
  const refund = buildRefund(
    rebuildCommit(record),
    record.lock.margins,
    payoutScriptsOf(record),
    record.refund.timelock,
  );
  expectTxid('refund', refund.tx.getId(), record.refund.txid);
  return refund;
}

/** The refund, signed by both parties (valid once the commit has `refund.timelock` blocks). */
export function signedRefund(record: ContractRecord): Transaction {
  return finalizeCooperative(
    rebuildRefund(record),
    record.role,
    fromHex(record.identitySk, 'identity secret'),
    fromHex(record.refund.counterpartySignature, 'refund signature'),
  );
}

/** A CET rebuilt for a price, with the prefix containing it and the counterparty's signature. */
export interface CetForPrice {
  readonly cet: IntervalCet;
  readonly prefix: readonly Digit[];
  readonly counterpartyAdaptorSignature: Uint8Array;
}

/**
 * The CET of `eventId` that settles at `price` (whole USD), rebuilt and checked against the
 * record, with the digit prefix containing the price. Throws {@link InvalidContractRecordError}
 * when the record has no CETs for the event or none covers the price.
 */
export function rebuildCet(record: ContractRecord, eventId: string, price: number): CetForPrice {
  const event = record.events.find((e) => e.eventId === eventId);
  if (!event) {
    throw new InvalidContractRecordError(`${record.cfdId} has no CETs for oracle event ${eventId}`);
  }
  const row = event.cets.find((c) => c.start <= price && price <= c.end);
  if (!row) {
    throw new InvalidContractRecordError(`no CET of ${eventId} covers the price ${price}`);
  }
  const commit = rebuildCommit(record);
  const built = buildCet(commit, row, payoutScriptsOf(record), record.cetTimelock);
  expectTxid('CET', built.tx.getId(), row.txid);
  const prefixes = decomposeInterval(row.start, row.end, PRICE_DIGITS);
  const index = prefixes.findIndex((p) => prefixContains(p, price, PRICE_DIGITS));
  const signature = row.adaptorSignatures[index];
  if (index < 0 || signature === undefined || row.adaptorSignatures.length !== prefixes.length) {
    throw new InvalidContractRecordError(
      `CET ${row.start}…${row.end} has ${row.adaptorSignatures.length} adaptor signatures for ` +
        `${prefixes.length} prefixes`,
    );
  }
  const cet: IntervalCet = { ...built, range: { start: row.start, end: row.end }, prefixes };
  return {
    cet,
    prefix: prefixes[index] as Digit[],
    counterpartyAdaptorSignature: fromHex(signature, 'CET adaptor signature'),
  };
}

/**
 * The CET for an attested price, signed for broadcast: the counterparty's adaptor signature
 * decrypted with y = Σ s_i of the prefix (the oracle's attestation scalars), plus ours. Verify
 * the attestation first (the oracle client does); a wrong one fails here with
 * `SignatureVerificationError` rather than producing an invalid transaction.
 */
export function signedCet(
  record: ContractRecord,
  eventId: string,
  price: number,
  scalars: readonly Uint8Array[],
): Transaction {
  const { cet, prefix, counterpartyAdaptorSignature } = rebuildCet(record, eventId, price);
  return finalizeCet(
    cet,
    record.role,
    fromHex(record.identitySk, 'identity secret'),
    counterpartyAdaptorSignature,
    attestationDecryptionKey(price, scalars, prefix, PRICE_DIGITS),
  );
}

/** A revoked commit, rebuilt from its recorded keys (same lock) and checked. */
export function rebuildRevokedCommit(record: ContractRecord, txid: string): CommitTransaction {
  const revoked = record.revoked.find((r) => r.txid === txid);
  if (!revoked) {
    throw new InvalidContractRecordError(`${txid} is not a revoked commit of ${record.cfdId}`);
  }
  return buildCommitFrom(
    record,
    revoked.keys,
    revoked.feeRate,
    revoked.txid,
    revoked.amount,
    revoked.anchors,
  );
}

/**
 * The punish transaction against a revoked commit the counterparty published (`published`, as
 * seen on chain): recovers its publish secret from the witness, then takes the whole output to
 * `punisherScript` (default: our payout script) through the punish branch. `options.fee` pays
 * that fee and makes it replaceable (BIP125; see `buildPunish`), to re-bid it every block;
 * without it, maia's flat 221 sats, final.
 */
export function signedPunish(
  record: ContractRecord,
  published: Transaction,
  punisherScript: Uint8Array = payoutScriptsOf(record)[record.role],
  options?: PunishOptions,
): Transaction {
  const txid = published.getId();
  const commit = rebuildRevokedCommit(record, txid);
  const revoked = record.revoked.find((r) => r.txid === txid) as RevokedCommitRecord;
  const theirPublishSk = recoverPublishSecret(
    commit,
    record.role,
    published,
    fromHex(revoked.ownAdaptorSignature, 'own commit adaptor signature'),
  );
  return signPunish(
    buildPunish(commit, punisherScript, options),
    record.role,
    fromHex(record.identitySk, 'identity secret'),
    theirPublishSk,
    fromHex(revoked.counterpartyRevocationSk, 'counterparty revocation secret'),
  );
}

// ---- Building a contract ---------------------------------------------------------------------

/** The payout table of one oracle event: one CET per row. */
export interface EventPayouts {
  readonly eventId: string;
  readonly payouts: readonly PayoutInterval[];
}

/** Everything both parties agree on before signing; both derive the same transactions from it. */
export interface ContractTransactionsParams {
  readonly keys: CommitKeys;
  readonly payoutScripts: PayoutScripts;
  readonly maker: LockParty;
  readonly taker: LockParty;
  /** sat/vB of the commit fee (the lock's fee is what each party's funding pays). */
  readonly feeRate: FeeRate;
  readonly cetTimelock: number;
  readonly refundTimelock: number;
  readonly events: readonly EventPayouts[];
  /** Build the commit (and its CETs and refund) in dlcfd's anchored format. @default false */
  readonly anchors?: boolean;
}

/** The unsigned transactions of a contract. */
export interface ContractTransactions {
  /** What they were built from. */
  readonly params: ContractTransactionsParams;
  readonly lock: LockTransaction;
  readonly commit: CommitTransaction;
  readonly refund: RefundTransaction;
  readonly events: readonly { readonly eventId: string; readonly cets: readonly IntervalCet[] }[];
}

/**
 * Builds lock, commit, refund and every CET of every event (maia `create_cfd_transactions`).
 * Deterministic: both parties get the same txids from the same parameters.
 */
export function buildContractTransactions(p: ContractTransactionsParams): ContractTransactions {
  const lock = buildLockTransaction({
    identities: { maker: p.keys.maker.identity, taker: p.keys.taker.identity },
    maker: p.maker,
    taker: p.taker,
  });
  const commit = buildCommitTransaction(lock.output, p.keys, p.feeRate, {
    anchors: p.anchors === true,
  });
  const margins = { maker: p.maker.margin, taker: p.taker.margin };
  const refund = buildRefund(commit, margins, p.payoutScripts, p.refundTimelock);
  const events = p.events.map((e) => ({
    eventId: e.eventId,
    cets: buildCets(commit, e.payouts, p.payoutScripts, p.cetTimelock, PRICE_DIGITS),
  }));
  return { params: p, lock, commit, refund, events };
}

/** What {@link assembleContractRecord} puts together. */
export interface ContractRecordParts {
  readonly cfdId: string;
  readonly role: Role;
  readonly secrets: {
    readonly identity: Uint8Array;
    readonly publish: Uint8Array;
    readonly revocation: Uint8Array;
  };
  readonly transactions: ContractTransactions;
  /** The lock as it stands: unsigned, or with every input's witness. */
  readonly lockTx: Transaction;
  readonly lockSigned: boolean;
  readonly feeRate: FeeRate;
  readonly settlementEventId: string;
  readonly ownCommitAdaptorSignature: Uint8Array;
  /** The counterparty's signatures, all verified by the caller. */
  readonly counterparty: {
    readonly commitAdaptorSignature: Uint8Array;
    readonly refundSignature: Uint8Array;
    /** Per event (order of `transactions.events`), per CET, per prefix. */
    readonly cetAdaptorSignatures: readonly (readonly (readonly Uint8Array[])[])[];
  };
  readonly revoked?: readonly RevokedCommitRecord[];
}

/** Turns verified setup (or rollover) results into the record the node stores. */
export function assembleContractRecord(parts: ContractRecordParts): ContractRecord {
  const { transactions: t, counterparty } = parts;
  if (parts.lockTx.getId() !== t.lock.tx.getId()) {
    throw new InvalidContractRecordError('the lock transaction is not the one the contract spends');
  }
  const p = t.params;
  return {
    version: CONTRACT_RECORD_VERSION,
    cfdId: parts.cfdId,
    role: parts.role,
    identitySk: toHex(parts.secrets.identity),
    publishSk: toHex(parts.secrets.publish),
    revocationSk: toHex(parts.secrets.revocation),
    keys: commitKeysToRecord(p.keys),
    payoutScripts: { maker: toHex(p.payoutScripts.maker), taker: toHex(p.payoutScripts.taker) },
    lock: {
      txHex: parts.lockTx.toHex(),
      signed: parts.lockSigned,
      txid: t.lock.output.txid,
      vout: t.lock.output.vout,
      amount: t.lock.output.value,
      margins: { maker: p.maker.margin, taker: p.taker.margin },
    },
    commit: {
      txid: t.commit.tx.getId(),
      amount: t.commit.output.value,
      feeRate: parts.feeRate,
      counterpartyAdaptorSignature: toHex(counterparty.commitAdaptorSignature),
      ownAdaptorSignature: toHex(parts.ownCommitAdaptorSignature),
      ...(t.commit.anchors !== undefined && { anchors: true as const }),
    },
    refund: {
      timelock: p.refundTimelock,
      txid: t.refund.tx.getId(),
      counterpartySignature: toHex(counterparty.refundSignature),
    },
    cetTimelock: p.cetTimelock,
    settlementEventId: parts.settlementEventId,
    events: t.events.map((e, i) => ({
      eventId: e.eventId,
      cets: e.cets.map((cet, j) => {
        const sigs = counterparty.cetAdaptorSignatures[i]?.[j];
        if (!sigs || sigs.length !== cet.prefixes.length) {
          throw new InvalidContractRecordError(
            `CET ${j} of ${e.eventId} needs ${cet.prefixes.length} adaptor signatures`,
          );
        }
        return {
          start: cet.range.start,
          end: cet.range.end,
          maker: cet.payout.maker,
          taker: cet.payout.taker,
          txid: cet.tx.getId(),
          adaptorSignatures: sigs.map(toHex),
        };
      }),
    })),
    revoked: parts.revoked ?? [],
  };
}
