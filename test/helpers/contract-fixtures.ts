// Two parties building, signing and exchanging a whole contract in memory (as contract setup does,
// minus the wire), ending with each party's ContractRecord. For dlc/contract.ts specs.
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { Psbt, type Transaction } from 'bitcoinjs-lib';
import {
  assembleContractRecord,
  attestPrice,
  buildContractTransactions,
  type CommitKeys,
  type ContractRecord,
  type ContractTransactions,
  type FundingInput,
  type OracleEventPoints,
  prefixRange,
  prepareOracleEvent,
  signCetAdaptors,
  signCommitAdaptor,
  signCooperative,
  signedCet,
  verifyCetAdaptors,
  verifyCommitAdaptor,
  verifyCooperative,
} from '../../dlc/index.ts';
import { payoutCurve, toRolePayouts } from '../../dlc/payout-curve.ts';
import { oracleEventId } from '../../model/oracle-event.ts';
import { price, type Role } from '../../model/units.ts';
import type { EmbeddedChain } from '../../node/chain/embedded.ts';
import type { VerifiedAttestation } from '../../node/oracle/client.ts';
import {
  assembleRolledRecord,
  buildRolloverTransactions,
  type RolloverTransactions,
} from '../../protocols/rollover/contract.ts';
import { type Key, newKey, p2wpkh } from '../node/chain/helpers.ts';

/** A simulated olivia oracle: key and 20 nonce secrets of one event. */
export interface TestOracle {
  readonly sk: Uint8Array;
  readonly nonceSks: Uint8Array[];
  readonly event: OracleEventPoints;
}

export function newOracle(): TestOracle {
  const sk = secp256k1.utils.randomSecretKey();
  const nonceSks = Array.from({ length: 20 }, () => secp256k1.utils.randomSecretKey());
  const xOnly = (k: Uint8Array) => secp256k1.getPublicKey(k, true).subarray(1);
  return { sk, nonceSks, event: prepareOracleEvent(xOnly(sk), nonceSks.map(xOnly)) };
}

/** The public keys of both parties' commit outputs. */
export function commitKeysOf(
  maker: Record<'identity' | 'publish' | 'revocation', { readonly pub: Uint8Array }>,
  taker: Record<'identity' | 'publish' | 'revocation', { readonly pub: Uint8Array }>,
): CommitKeys {
  const side = (p: typeof maker) => ({
    identity: p.identity.pub,
    publish: p.publish.pub,
    revocation: p.revocation.pub,
  });
  return { maker: side(maker), taker: side(taker) };
}

export interface TestParty {
  readonly role: Role;
  readonly identity: Key;
  readonly publish: Key;
  readonly revocation: Key;
  readonly funding: Key;
  readonly payout: Key;
}

export function newParty(role: Role): TestParty {
  return {
    role,
    identity: newKey(),
    publish: newKey(),
    revocation: newKey(),
    funding: newKey(),
    payout: newKey(),
  };
}

/** One side's signatures of a contract's transactions: commit adaptor, refund, the CETs'. */
interface SidesSignatures {
  commit: Uint8Array;
  refund: Uint8Array;
  cets: Uint8Array[][];
}

/** Both sides' signatures of `tx` (one oracle event), each with its identity key. */
function signedByBoth(
  tx: Pick<ContractTransactions, 'commit' | 'refund' | 'events'>,
  parties: Record<Role, Pick<TestParty, 'identity'>>,
  event: OracleEventPoints,
): Record<Role, SidesSignatures> {
  const sign = (role: Role): SidesSignatures => {
    const sk = parties[role].identity.priv;
    return {
      commit: signCommitAdaptor(tx.commit, role, sk),
      refund: signCooperative(tx.refund, role, sk),
      cets: tx.events[0]!.cets.map((cet) =>
        signCetAdaptors(cet, role, sk, event).map((s) => s.adaptorSignature),
      ),
    };
  };
  return { maker: sign('maker'), taker: sign('taker') };
}

/** The signatures `role`'s record holds: its own commit adaptor and all of the other side's. */
function heldBy(by: Record<Role, SidesSignatures>, role: Role) {
  const them = role === 'maker' ? 'taker' : 'maker';
  return {
    ownCommitAdaptorSignature: by[role].commit,
    counterparty: {
      commitAdaptorSignature: by[them].commit,
      refundSignature: by[them].refund,
      cetAdaptorSignatures: [by[them].cets],
    },
  };
}

export const MARGINS = { maker: 300_000n, taker: 150_000n };
export const FEE_RATE = 2n;
export const LOCK_FEE_EACH = 300n;
export const SETTLEMENT_EVENT = oracleEventId(1_700_000_000 - (1_700_000_000 % 3600) + 86_400);

/** $50,000, 150 contracts, taker long 2×, maker short 1×: margins 150,000 / 300,000. */
export const TABLE = toRolePayouts(
  payoutCurve({ initialPrice: price(50_000), quantity: 150n, longLeverage: 2, shortLeverage: 1 })
    .rows,
  'short',
);

export interface TestContract {
  readonly maker: TestParty;
  readonly taker: TestParty;
  readonly oracle: TestOracle;
  readonly transactions: ContractTransactions;
  readonly records: Record<Role, ContractRecord>;
  /** The lock with both parties' inputs signed. */
  readonly lockTx: Transaction;
}

/**
 * Builds, signs and cross-verifies a contract between two fresh parties funded by `fundings`
 * (one coin each, paying to their `funding` key), and returns each side's record.
 */
export function buildTestContract(options: {
  maker?: TestParty;
  taker?: TestParty;
  oracle?: TestOracle;
  fundings?: Record<Role, { txid: string; vout: number; value: bigint }>;
  cetTimelock?: number;
  refundTimelock?: number;
  /** Build the anchored format (dlcfd's); default maia's. */
  anchors?: boolean;
}): TestContract {
  const maker = options.maker ?? newParty('maker');
  const taker = options.taker ?? newParty('taker');
  const oracle = options.oracle ?? newOracle();
  const parties = { maker, taker };
  const funding = (role: Role): FundingInput => {
    const f = options.fundings?.[role] ?? {
      txid: (role === 'maker' ? 'aa' : 'bb').repeat(32),
      vout: 0,
      value: 1_000_000n,
    };
    return { ...f, witnessUtxo: { script: p2wpkh(parties[role].funding).output, value: f.value } };
  };
  const lockParty = (role: Role) => {
    const input = funding(role);
    const value = input.witnessUtxo?.value ?? 0n;
    return {
      margin: MARGINS[role],
      inputs: [input],
      change: [
        {
          script: p2wpkh(parties[role].funding).output,
          value: value - MARGINS[role] - LOCK_FEE_EACH,
        },
      ],
    };
  };
  const keys = commitKeysOf(maker, taker);
  const transactions = buildContractTransactions({
    keys,
    payoutScripts: { maker: p2wpkh(maker.payout).output, taker: p2wpkh(taker.payout).output },
    maker: lockParty('maker'),
    taker: lockParty('taker'),
    feeRate: FEE_RATE,
    cetTimelock: options.cetTimelock ?? 12,
    refundTimelock: options.refundTimelock ?? 216,
    events: [{ eventId: SETTLEMENT_EVENT, payouts: TABLE }],
    ...(options.anchors === true && { anchors: true }),
  });
  const t = transactions;
  const by = signedByBoth(t, parties, oracle.event);

  const signedLock = (() => {
    const signedBy = (['maker', 'taker'] as const).map((role, i) => {
      const psbt = t.lock.psbt.clone();
      const key = parties[role].funding;
      psbt.signInput(i, {
        publicKey: key.pub,
        sign: (hash: Uint8Array) => secp256k1.sign(hash, key.priv, { prehash: false, lowS: true }),
      });
      return psbt;
    });
    const combined = Psbt.fromBase64(signedBy[0]!.toBase64()).combine(signedBy[1]!);
    combined.finalizeAllInputs();
    return combined.extractTransaction();
  })();

  const record = (role: Role): ContractRecord => {
    const them = role === 'maker' ? 'taker' : 'maker';
    verifyCommitAdaptor(t.commit, role, by[them].commit);
    verifyCooperative(t.refund, role, by[them].refund);
    t.events[0]!.cets.forEach((cet, i) => {
      verifyCetAdaptors(
        cet,
        role,
        oracle.event,
        by[them].cets[i]!.map((adaptorSignature, j) => ({
          range: prefixRange(cet.prefixes[j]!),
          adaptorSignature,
        })),
      );
    });
    return assembleContractRecord({
      cfdId: 'cfd-test',
      role,
      secrets: {
        identity: parties[role].identity.priv,
        publish: parties[role].publish.priv,
        revocation: parties[role].revocation.priv,
      },
      transactions: t,
      lockTx: signedLock,
      lockSigned: true,
      feeRate: FEE_RATE,
      settlementEventId: SETTLEMENT_EVENT,
      ...heldBy(by, role),
    });
  };
  return {
    maker,
    taker,
    oracle,
    transactions,
    records: { maker: record('maker'), taker: record('taker') },
    lockTx: signedLock,
  };
}

/** The settlement event of {@link rollTestContract}'s new commit: an hour after the first one's. */
export const ROLLED_SETTLEMENT_EVENT = oracleEventId(
  1_700_000_000 - (1_700_000_000 % 3600) + 86_400 + 3_600,
);

/** The curve after the rollover: funding moved 20,000 sats to the short side (the maker). */
export const ROLLED_TABLE = toRolePayouts(
  payoutCurve({
    initialPrice: price(50_000),
    quantity: 150n,
    longLeverage: 2,
    shortLeverage: 1,
    feeBalance: 20_000n,
  }).rows,
  'short',
);

/**
 * {@link buildTestContract} between two new parties, each funded by a faucet coin of 1,000,000
 * sats on `chain`, confirmed (one block mined); with those coins.
 */
export async function fundedTestContract(
  chain: Pick<EmbeddedChain, 'fund' | 'mine'>,
  options: Omit<Parameters<typeof buildTestContract>[0], 'maker' | 'taker' | 'fundings'> = {},
): Promise<
  TestContract & { fundings: Record<Role, { txid: string; vout: number; value: bigint }> }
> {
  const maker = newParty('maker');
  const taker = newParty('taker');
  const pay = async (p: TestParty) => {
    const { txid, vout } = await chain.fund(p2wpkh(p.funding).address, 1_000_000n);
    return { txid, vout, value: 1_000_000n };
  };
  const fundings = { maker: await pay(maker), taker: await pay(taker) };
  await chain.mine(1);
  return { ...buildTestContract({ ...options, maker, taker, fundings }), fundings };
}

/** The attestation of `price` for `eventId` by `c`'s test oracle, as the oracle client hands it on. */
export function attestationOf(
  c: TestContract,
  eventId: string,
  price: number,
): VerifiedAttestation {
  return { eventId, price, scalars: attestPrice(c.oracle.sk, c.oracle.nonceSks, price), time: '' };
}

/** `record`'s CET for `price`, attested by `c`'s test oracle for {@link SETTLEMENT_EVENT}. */
export function attestedCet(c: TestContract, record: ContractRecord, price: number): Transaction {
  const scalars = attestPrice(c.oracle.sk, c.oracle.nonceSks, price);
  return signedCet(record, SETTLEMENT_EVENT, price, scalars);
}

export interface RolledTestContract {
  /** Each side's PENDING record: current commit the new one, `previous` the contract's record. */
  readonly records: Record<Role, ContractRecord>;
  readonly transactions: RolloverTransactions;
}

/**
 * A rollover of `c` that both sides took to "pending" (new signatures verified and stored, no
 * revocation secret exchanged): new publish/revocation keys, one new commit on the same lock with
 * CETs for {@link ROLLED_SETTLEMENT_EVENT} paying {@link ROLLED_TABLE}. The state a rollover that
 * failed after "pending" leaves on both nodes.
 */
export function rollTestContract(c: TestContract): RolledTestContract {
  const parties = { maker: c.maker, taker: c.taker };
  const fresh = { maker: { p: newKey(), r: newKey() }, taker: { p: newKey(), r: newKey() } };
  const keys: CommitKeys = {
    maker: {
      identity: c.maker.identity.pub,
      publish: fresh.maker.p.pub,
      revocation: fresh.maker.r.pub,
    },
    taker: {
      identity: c.taker.identity.pub,
      publish: fresh.taker.p.pub,
      revocation: fresh.taker.r.pub,
    },
  };
  const tx = buildRolloverTransactions(c.records.maker, keys, FEE_RATE, [
    { eventId: ROLLED_SETTLEMENT_EVENT, payouts: ROLLED_TABLE },
  ]);
  const by = signedByBoth(tx, parties, c.oracle.event);
  const record = (role: Role): ContractRecord => {
    return assembleRolledRecord({
      old: c.records[role],
      tx,
      secrets: { publish: fresh[role].p.priv, revocation: fresh[role].r.priv },
      settlementEventId: ROLLED_SETTLEMENT_EVENT,
      ...heldBy(by, role),
      feeBalance: 20_000n,
      baseFeeBalance: 0n,
      baseTxid: c.records[role].commit.txid,
    });
  };
  return { records: { maker: record('maker'), taker: record('taker') }, transactions: tx };
}
