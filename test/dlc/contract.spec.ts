/**
 * dlc/contract.ts: the record each party keeps is JSON that survives a round trip, summarises to
 * the aggregate's DlcSummary, and rebuilds and signs every way out alone — commit, the CET for an
 * attested price, refund and punish — checked against the embedded full node.
 */
import assert from 'node:assert/strict';
import { Transaction } from 'bitcoinjs-lib';
import {
  attestPrice,
  type ContractRecord,
  cetFee,
  dlcSummary,
  InvalidContractRecordError,
  PUNISH_FEE,
  rebuildCet,
  rebuildCommit,
  SignatureVerificationError,
  signedCet,
  signedCommit,
  signedLock,
  signedPunish,
  signedRefund,
} from '../../dlc/index.ts';
import { parse, stringify } from '../../model/json.ts';
import { mineConfirmed } from '../helpers/broadcast.ts';
import { chainFor } from '../helpers/chain.ts';
import {
  attestedCet,
  buildTestContract,
  FEE_RATE,
  fundedTestContract,
  MARGINS,
  SETTLEMENT_EVENT,
  TABLE,
  type TestContract,
} from '../helpers/contract-fixtures.ts';
import { p2wpkh } from '../node/chain/helpers.ts';

const roundTrip = (r: ContractRecord): ContractRecord => parse<ContractRecord>(stringify(r));

describe('dlc/contract', function () {
  this.timeout(30_000);

  describe('the record, in memory', () => {
    let c: TestContract;
    before(() => {
      c = buildTestContract({});
    });

    it('is JSON that survives a round trip with amounts exact', () => {
      for (const role of ['maker', 'taker'] as const) {
        const r = c.records[role];
        assert.deepEqual(roundTrip(r), r);
        assert.equal(typeof roundTrip(r).lock.amount, 'bigint');
      }
    });

    it('summarises to the DlcSummary of ContractSetupCompleted, the same on both sides', () => {
      const s = dlcSummary(c.records.taker);
      assert.deepEqual(s, {
        lockTxid: c.transactions.lock.tx.getId(),
        commitTxid: c.transactions.commit.tx.getId(),
        settlementEventId: SETTLEMENT_EVENT,
        oracleEventIds: [SETTLEMENT_EVENT],
        cetTimelock: 12,
        refundTimelock: 216,
        makerLockAmount: MARGINS.maker,
        takerLockAmount: MARGINS.taker,
      });
      assert.deepEqual(dlcSummary(c.records.maker), s);
    });

    it('rebuilds the commit and every CET with the recorded txids', () => {
      const r = roundTrip(c.records.maker);
      assert.equal(rebuildCommit(r).tx.getId(), c.transactions.commit.tx.getId());
      for (const cet of c.transactions.events[0]!.cets) {
        const mid = Math.floor((cet.range.start + cet.range.end) / 2);
        assert.equal(rebuildCet(r, SETTLEMENT_EVENT, mid).cet.tx.getId(), cet.tx.getId());
      }
    });

    it('signs the commit, the refund and the attested CET for either party', () => {
      const price = 48_321;
      const scalars = attestPrice(c.oracle.sk, c.oracle.nonceSks, price);
      for (const role of ['maker', 'taker'] as const) {
        const r = roundTrip(c.records[role]);
        assert.equal(signedCommit(r).getId(), c.transactions.commit.tx.getId());
        const refund = signedRefund(r);
        const half = cetFee(c.transactions.commit) / 2n;
        assert.deepEqual(
          refund.outs.map((o) => o.value),
          [MARGINS.maker - half, MARGINS.taker - half],
        );
        const cet = signedCet(r, SETTLEMENT_EVENT, price, scalars);
        const row = TABLE.find((x) => x.start <= price && price <= x.end)!;
        assert.deepEqual(
          cet.outs.map((o) => o.value),
          [row.maker - half, row.taker - half],
        );
      }
    });

    it('refuses an attestation of another price, an unknown event and a tampered record', () => {
      const r = c.records.taker;
      const otherScalars = attestPrice(c.oracle.sk, c.oracle.nonceSks, 61_000);
      assert.throws(
        () => signedCet(r, SETTLEMENT_EVENT, 40_000, otherScalars),
        (e: Error) => e.name === 'InvalidDigitsError' || e instanceof SignatureVerificationError,
      );
      assert.throws(() => signedCet(r, '/x/BitMEX/BXBT/2020-01-01T00:00:00.price?n=20', 1, []), {
        name: 'InvalidContractRecordError',
      });
      const tampered = roundTrip(r);
      (tampered.commit as { txid: string }).txid = 'ff'.repeat(32);
      assert.throws(() => signedCommit(tampered), InvalidContractRecordError);
      const badSig = roundTrip(r);
      (badSig.refund as { counterpartySignature: string }).counterpartySignature = '00'.repeat(64);
      assert.throws(() => signedRefund(badSig), SignatureVerificationError);
      const unsigned = { ...r, lock: { ...r.lock, signed: false } };
      assert.throws(() => signedLock(unsigned), InvalidContractRecordError);
      assert.throws(() => dlcSummary({ ...r, version: 2 as 1 }), InvalidContractRecordError);
    });
  });

  describe('every way out, on the embedded full node', () => {
    const net = chainFor('all');

    const confirms = (tx: Transaction) => mineConfirmed(net.chain, net.rpc, tx);

    /** A contract on real coins; its lock is confirmed from the record. */
    async function funded(refundTimelock = 216): Promise<TestContract> {
      const c = await fundedTestContract(net.chain, { cetTimelock: 12, refundTimelock });
      await confirms(signedLock(roundTrip(c.records.taker)));
      return c;
    }

    it('commit, then after 12 blocks the CET of the attested price, from the taker record', async () => {
      const c = await funded();
      const r = roundTrip(c.records.taker);
      await confirms(signedCommit(r));
      await net.chain.mine(11);
      const price = 55_555;
      const cet = attestedCet(c, r, price);
      await confirms(cet);
    });

    it('commit by the maker, then the refund after its timelock, from the maker record', async () => {
      const c = await funded(15);
      const r = roundTrip(c.records.maker);
      await confirms(signedCommit(r));
      await net.chain.mine(14);
      await confirms(signedRefund(r));
    });

    it('a revoked commit published by the maker is punished from the taker record', async () => {
      const c = await funded();
      // A rollover's outcome, by hand: the maker revealed the old commit's revocation secret.
      const old = c.records.taker;
      const record: ContractRecord = {
        ...old,
        revoked: [
          {
            txid: old.commit.txid,
            amount: old.commit.amount,
            feeRate: FEE_RATE,
            keys: old.keys,
            counterpartyRevocationSk: Buffer.from(c.maker.revocation.priv).toString('hex'),
            ownAdaptorSignature: old.commit.ownAdaptorSignature,
            ownRevocationSk: old.revocationSk,
            settlementEventId: old.settlementEventId,
          },
        ],
      };
      const cheat = signedCommit(c.records.maker);
      await confirms(cheat);
      const seen = Transaction.fromHex((await net.rpc.getRawTransaction(cheat.getId()))!);
      const punish = signedPunish(roundTrip(record), seen);
      await confirms(punish);
      assert.equal(punish.outs[0]!.value, old.commit.amount - PUNISH_FEE);
      assert.deepEqual(punish.outs[0]!.script, p2wpkh(c.taker.payout).output);
    });
  });
});
