/**
 * The signing steps contract setup (`order/setup.ts`) and rollover (`rollover/machine.ts`) share,
 * pure: once both built the same commit, refund and CETs, each encrypts its CET adaptor
 * signatures to the oracle's anticipated points, signs commit (adaptor) and refund, sends them in
 * a `signatures` message, and checks and verifies the counterparty's. The machines only differ in
 * where the transactions and keys come from and what they do once everything verified.
 */
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import {
  type AdaptorEncryptItem,
  type AdaptorVerifyItem,
  anticipatedPointSets,
  type CommitTransaction,
  type IntervalCet,
  type OracleEventPoints,
  type RefundTransaction,
  signCommitAdaptor,
  signCooperative,
  spendSighash,
  verifyCommitAdaptor,
  verifyCooperative,
} from '../dlc/index.ts';
import type { Role } from '../model/units.ts';
import { Abort } from './machine.ts';
import type { SignaturesMsg } from './order/messages.ts';

/** Our CET adaptor signatures: `adaptorEncrypt(secretKey, item…)` for every item. */
export interface EncryptRequest {
  readonly type: 'encrypt';
  readonly secretKey: Uint8Array;
  readonly items: readonly AdaptorEncryptItem[];
}

/** The counterparty's CET adaptor signatures: `adaptorVerify(…, publicKey, …)` per item. */
export interface VerifyRequest {
  readonly type: 'verify';
  readonly publicKey: Uint8Array;
  readonly items: readonly AdaptorVerifyItem[];
}

/** What the driver answers an {@link EncryptRequest} or a {@link VerifyRequest} with. */
export type AdaptorResult =
  | { readonly type: 'encrypted'; readonly signatures: readonly Uint8Array[] }
  | { readonly type: 'verified'; readonly verdicts: readonly boolean[] };

/** What both protocols sign: a commit, its refund and the CETs of each oracle event. */
export interface SignedTransactions {
  readonly commit: CommitTransaction;
  readonly refund: RefundTransaction;
  readonly events: readonly { readonly eventId: string; readonly cets: readonly IntervalCet[] }[];
}

/** Per event, per CET: its sighash and one oracle point per prefix. */
type CetItems = { msg32: Uint8Array; points: Uint8Array[] }[][];

/** The counterparty's signatures, checked against our transactions. */
interface CounterpartySignatures {
  /** Absent until it came (a rollover's taker sends it last). */
  commit: Uint8Array | undefined;
  readonly refund: Uint8Array;
  /** Per event, per CET, per prefix. */
  readonly cets: Uint8Array[][][];
}

/** How a protocol words the peer's mismatched CETs (failure reasons are recorded as they are). */
export interface CetWording {
  range(j: number, eventId: string, theirs: CetRange, ours: CetRange): string;
  signatureCount(count: number, theirs: CetRange, prefixes: number): string;
}

interface CetRange {
  readonly start: number;
  readonly end: number;
}

/** `hex`, if it is a valid compressed public key. */
export function assertPoint(hex: string, what: string): Uint8Array {
  try {
    secp256k1.Point.fromHex(hex);
  } catch {
    throw new Abort(`the peer's ${what} is not a valid public key`);
  }
  return hexToBytes(hex);
}

/** The sighash and anticipated oracle points of every CET; `oracle` gives each event's points. */
function cetItemsOf(
  tx: SignedTransactions,
  oracle: (eventId: string) => OracleEventPoints,
): CetItems {
  return tx.events.map((e) => {
    const points = anticipatedPointSets(
      oracle(e.eventId),
      e.cets.map((cet) => cet.prefixes),
    );
    return e.cets.map((cet, j) => ({ msg32: spendSighash(cet), points: points[j]! }));
  });
}

/** What to encrypt: one item per CET prefix, in order. */
function encryptItems(items: CetItems): AdaptorEncryptItem[] {
  return items.flatMap((cets) =>
    cets.flatMap((c) => c.points.map((encryptionKey) => ({ encryptionKey, msg32: c.msg32 }))),
  );
}

/**
 * Our `signatures` message: the encrypted CET signatures (in {@link encryptItems} order) with
 * our commit adaptor and refund signatures. Returns our commit adaptor signature too.
 */
function ownSignatures(init: {
  tx: SignedTransactions;
  lockTxid: string;
  role: Role;
  identity: Uint8Array;
  items: CetItems;
  signatures: readonly Uint8Array[];
}): { message: SignaturesMsg; commit: Uint8Array } {
  const { tx, role, identity, signatures } = init;
  const count = init.items.reduce(
    (n, cets) => n + cets.reduce((m, c) => m + c.points.length, 0),
    0,
  );
  if (signatures.length !== count) throw new Abort('internal: wrong number of CET signatures');
  const commit = signCommitAdaptor(tx.commit, role, identity);
  const refund = signCooperative(tx.refund, role, identity);
  let k = 0;
  const message: SignaturesMsg = {
    type: 'signatures',
    lockTxid: init.lockTxid,
    commitTxid: tx.commit.tx.getId(),
    refundTxid: tx.refund.tx.getId(),
    commit: bytesToHex(commit),
    refund: bytesToHex(refund),
    events: tx.events.map((e) => ({
      eventId: e.eventId,
      cets: e.cets.map((cet) => ({
        start: cet.range.start,
        end: cet.range.end,
        signatures: cet.prefixes.map(() => bytesToHex(signatures[k++]!)),
      })),
    })),
  };
  return { message, commit };
}

/**
 * The counterparty's `signatures`: same transactions? Then its commit and refund signatures must
 * verify here; its CET adaptor signatures come back as the items to verify (in bulk, by a request).
 */
function counterpartySignatures(init: {
  tx: SignedTransactions;
  lockTxid: string;
  role: Role;
  items: CetItems;
  theirs: Omit<SignaturesMsg, 'commit'> & { readonly commit?: string };
  wording: CetWording;
}): { signatures: CounterpartySignatures; verify: AdaptorVerifyItem[] } {
  const { tx, role, theirs, wording } = init;
  for (const [what, ours, claimed] of [
    ['lock', init.lockTxid, theirs.lockTxid],
    ['commit', tx.commit.tx.getId(), theirs.commitTxid],
    ['refund', tx.refund.tx.getId(), theirs.refundTxid],
  ] as const) {
    if (ours !== claimed) throw new Abort(`the peer built ${what} ${claimed}, we built ${ours}`);
  }
  if (theirs.events.length !== tx.events.length) {
    throw new Abort(
      `the peer signed ${theirs.events.length} oracle events, not ${tx.events.length}`,
    );
  }
  const cets: Uint8Array[][][] = tx.events.map((e, i) => {
    const their = theirs.events[i]!;
    if (their.eventId !== e.eventId) throw new Abort(`the peer signed event ${their.eventId}`);
    if (their.cets.length !== e.cets.length) {
      throw new Abort(
        `the peer signed ${their.cets.length} CETs of ${e.eventId}, not ${e.cets.length}`,
      );
    }
    return e.cets.map((cet, j) => {
      const c = their.cets[j]!;
      if (c.start !== cet.range.start || c.end !== cet.range.end) {
        throw new Abort(wording.range(j, e.eventId, c, cet.range));
      }
      if (c.signatures.length !== cet.prefixes.length) {
        throw new Abort(wording.signatureCount(c.signatures.length, c, cet.prefixes.length));
      }
      return c.signatures.map((s) => hexToBytes(s));
    });
  });
  const commit = theirs.commit === undefined ? undefined : hexToBytes(theirs.commit);
  const refund = hexToBytes(theirs.refund);
  if (commit) verifyCommitAdaptor(tx.commit, role, commit);
  verifyCooperative(tx.refund, role, refund);
  const verify: AdaptorVerifyItem[] = [];
  for (const [i, event] of init.items.entries()) {
    for (const [j, c] of event.entries()) {
      for (const [k, encryptionKey] of c.points.entries()) {
        verify.push({ adaptorSignature: cets[i]![j]![k]!, msg32: c.msg32, encryptionKey });
      }
    }
  }
  return { signatures: { commit, refund, cets }, verify };
}

/** The verdicts of the counterparty's CET adaptor signatures: every one must hold. */
export function assertVerified(verdicts: readonly boolean[]): void {
  const bad = verdicts.findIndex((v) => !v);
  if (bad >= 0 || verdicts.length === 0) {
    throw new Abort(`the peer's CET adaptor signature ${bad} does not verify`);
  }
}

/**
 * One signing round over built transactions: ask for our CET signatures, send ours with commit
 * and refund, check the counterparty's and ask to verify its CETs. Holds what the contract record
 * needs afterwards: our commit adaptor signature and the counterparty's signatures.
 */
export class ContractSigning {
  readonly tx: SignedTransactions;
  readonly #lockTxid: string;
  readonly #role: Role;
  readonly #identity: Uint8Array;
  readonly #wording: CetWording;
  readonly #items: CetItems;
  #ownCommit: Uint8Array | undefined;
  #theirs: CounterpartySignatures | undefined;

  /**
   * `identity` is our identity secret key (it signs every spend of the lock); `oracle` gives the
   * announcement points of each event the CETs are for.
   */
  constructor(init: {
    tx: SignedTransactions;
    lockTxid: string;
    role: Role;
    identity: Uint8Array;
    oracle: (eventId: string) => OracleEventPoints;
    wording: CetWording;
  }) {
    this.tx = init.tx;
    this.#lockTxid = init.lockTxid;
    this.#role = init.role;
    this.#identity = init.identity;
    this.#wording = init.wording;
    this.#items = cetItemsOf(init.tx, init.oracle);
  }

  /** The request for our CET adaptor signatures. */
  encryptRequest(): EncryptRequest {
    return {
      type: 'encrypt',
      secretKey: this.#identity,
      items: encryptItems(this.#items),
    };
  }

  /** Our `signatures` message, from the encrypted CET signatures. */
  sign(signatures: readonly Uint8Array[]): SignaturesMsg {
    const own = ownSignatures({
      tx: this.tx,
      lockTxid: this.#lockTxid,
      role: this.#role,
      identity: this.#identity,
      items: this.#items,
      signatures,
    });
    this.#ownCommit = own.commit;
    return own.message;
  }

  /**
   * Checks the counterparty's `signatures` (its commit signature, when there, too); the request to
   * verify its CET adaptor signatures.
   */
  check(theirs: Omit<SignaturesMsg, 'commit'> & { readonly commit?: string }): VerifyRequest {
    const { signatures, verify } = counterpartySignatures({
      tx: this.tx,
      lockTxid: this.#lockTxid,
      role: this.#role,
      items: this.#items,
      theirs,
      wording: this.#wording,
    });
    this.#theirs = signatures;
    const keys = this.tx.commit.keys;
    const them = this.#role === 'maker' ? keys.taker : keys.maker;
    return { type: 'verify', publicKey: them.identity, items: verify };
  }

  /** Checks and keeps the counterparty's commit adaptor signature, sent apart (after {@link check}). */
  checkCommit(hex: string): void {
    const commit = hexToBytes(hex);
    verifyCommitAdaptor(this.tx.commit, this.#role, commit);
    this.#theirs!.commit = commit;
  }

  /** Whether the counterparty's commit adaptor signature is in hand. */
  get hasCounterpartyCommit(): boolean {
    return this.#theirs?.commit !== undefined;
  }

  /** Our commit adaptor signature (after {@link sign}). */
  get ownCommit(): Uint8Array {
    return this.#ownCommit!;
  }

  /** The counterparty's signatures as the contract record keeps them (after {@link check}). */
  get counterparty(): {
    commitAdaptorSignature: Uint8Array;
    refundSignature: Uint8Array;
    cetAdaptorSignatures: Uint8Array[][][];
  } {
    const theirs = this.#theirs!;
    return {
      // Empty until it came: a record with it empty can be closed through, not published.
      commitAdaptorSignature: theirs.commit ?? new Uint8Array(0),
      refundSignature: theirs.refund,
      cetAdaptorSignatures: theirs.cets,
    };
  }
}
