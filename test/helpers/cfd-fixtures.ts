// Builders for CFD terms, DLC summaries and transactions used across model and eventstore tests.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventStore } from '../../eventstore/event-store.ts';
import type { CfdCommand, CfdTerms, DlcSummary, SignedTx } from '../../model/cfd.ts';
import { oracleEventId } from '../../model/oracle-event.ts';
import { parseFundingRate, price } from '../../model/units.ts';

/** 2022-04-14T01:00:00Z: the settlement event of the real contract record is a day later. */
export const T0 = 1_649_898_000;
export const HOUR = 3600;
export const DAY = 24 * HOUR;

export function terms(over: Partial<CfdTerms> = {}): CfdTerms {
  return {
    id: over.id ?? `cfd-${randomBytes(6).toString('hex')}`,
    offerId: 'offer-1',
    role: 'taker',
    position: 'long',
    symbol: 'BTCUSD',
    initialPrice: price(50_000),
    quantity: 1_000n,
    takerLeverage: 2,
    fundingRate: parseFundingRate('0.00024'),
    openingFee: 2n,
    txFeeRate: 1n,
    settlementIntervalSecs: DAY,
    oracleEventId: oracleEventId(T0 + DAY),
    counterpartyPeerId: '12D3KooWDjzHna3pNi1Bt1DoRfrpsBREykJKXDRDxXvhJNAdDZEk',
    placedAt: T0,
    ...over,
  };
}

export function tx(label: string): SignedTx {
  const txid = Buffer.from(label.padEnd(32, '.')).toString('hex').slice(0, 64);
  return { txid, hex: `02000000${txid}` };
}

export function dlc(settlementTime = T0 + DAY, n = 0): DlcSummary {
  const settlementEventId = oracleEventId(settlementTime);
  return {
    lockTxid: tx('lock').txid,
    commitTxid: tx(`commit-${n}`).txid,
    settlementEventId,
    oracleEventIds: [oracleEventId(settlementTime - HOUR), settlementEventId],
    cetTimelock: 12,
    refundTimelock: 216,
    makerLockAmount: 2_000_000n,
    takerLockAmount: 1_000_000n,
  };
}

/** One sample of every command type, for tables over "all commands". */
export function sampleCommands(t: CfdTerms = terms()): Record<CfdCommand['type'], CfdCommand> {
  const d = dlc();
  return {
    placeOrder: { type: 'placeOrder', terms: t },
    rejectOrder: { type: 'rejectOrder', reason: 'no' },
    startContractSetup: { type: 'startContractSetup' },
    completeContractSetup: { type: 'completeContractSetup', dlc: d },
    failContractSetup: { type: 'failContractSetup', reason: 'peer vanished' },
    confirmLock: { type: 'confirmLock' },
    startRollover: { type: 'startRollover', proposedBy: 'taker' },
    acceptRollover: { type: 'acceptRollover' },
    rejectRollover: { type: 'rejectRollover', reason: 'not now' },
    completeRollover: {
      type: 'completeRollover',
      dlc: dlc(T0 + DAY + HOUR, 1),
      fundingRate: parseFundingRate('0.00024'),
    },
    failRollover: { type: 'failRollover', reason: 'timeout' },
    proposeSettlement: {
      type: 'proposeSettlement',
      proposal: {
        price: price(51_000),
        makerPayout: 1_950_000n,
        takerPayout: 1_050_000n,
        proposedBy: 'taker',
      },
    },
    acceptSettlement: { type: 'acceptSettlement' },
    rejectSettlement: { type: 'rejectSettlement', reason: 'no' },
    completeSettlement: { type: 'completeSettlement', closeTx: tx('close'), price: price(51_000) },
    failSettlement: { type: 'failSettlement', reason: 'timeout' },
    confirmSettlement: { type: 'confirmSettlement' },
    commit: { type: 'commit', commitTx: tx('commit-0') },
    confirmCommit: { type: 'confirmCommit' },
    expireCetTimelock: { type: 'expireCetTimelock' },
    attest: {
      type: 'attest',
      eventId: d.settlementEventId,
      price: price(52_000),
      cet: tx('cet'),
      commitTx: tx('commit-0'),
    },
    confirmCet: { type: 'confirmCet', txid: tx('cet').txid },
    expireRefundTimelock: { type: 'expireRefundTimelock', refundTx: tx('refund') },
    confirmRefund: { type: 'confirmRefund' },
    seeRevokedCommit: { type: 'seeRevokedCommit', txid: tx('commit-0').txid },
    publishPunish: { type: 'publishPunish', punishTx: tx('punish') },
    replacePunish: { type: 'replacePunish', punishTx: tx('punish2') },
    confirmPunish: { type: 'confirmPunish' },
    unconfirm: { type: 'unconfirm', txid: tx('cet').txid },
  };
}

/** A fresh temporary directory, removed by the returned cleanup. */
export async function tempDir(
  prefix = 'dlcfd-test-',
): Promise<{ path: string; cleanup: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, cleanup: () => rm(path, { recursive: true, force: true }) };
}

/** {@link tempDir} for each test of the calling suite: made before it, removed after it. */
export function tempDirEach(): { readonly path: string } {
  let dir: Awaited<ReturnType<typeof tempDir>> | undefined;
  beforeEach(async () => {
    dir = await tempDir();
  });
  afterEach(() => dir?.cleanup());
  return {
    get path() {
      return dir!.path;
    },
  };
}

/**
 * An event store on disk for each test of the calling suite: opened in a fresh temp dir (`path`)
 * before it; after it, `store` (a test may reopen it) is closed and the dir removed.
 */
export function eventStoreEach(): { store: EventStore; readonly path: string } {
  const t = {} as { store: EventStore; path: string; cleanup(): Promise<void> };
  beforeEach(async () => {
    Object.assign(t, await tempDir());
    t.store = await EventStore.open(t.path);
  });
  afterEach(async () => {
    await t.store.close();
    await t.cleanup();
  });
  return t;
}
