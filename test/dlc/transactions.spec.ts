/**
 * maia's fee and dust rules (reference dlc-crypto.md §2.3–§2.6, checklist E) and the builders'
 * refusals, without a node: what both parties must compute identically.
 */
import assert from 'node:assert/strict';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { payments } from 'bitcoinjs-lib';
import {
  buildCet,
  buildClose,
  buildCommitTransaction,
  buildLockTransaction,
  buildPunish,
  buildRefund,
  CET_TIMELOCK,
  type CommitKeys,
  cetFee,
  closeFee,
  commitFee,
  dustLimit,
  InsufficientFundingError,
  InvalidPointError,
  InvalidTransactionParametersError,
  MarginTooSmallError,
  PayoutBelowDustError,
  subtractFee,
} from '../../dlc/index.ts';

const pk = () => secp256k1.getPublicKey(secp256k1.utils.randomSecretKey(), true);
const p2wpkh = () => payments.p2wpkh({ pubkey: pk() }).output!;
const scripts = { maker: p2wpkh(), taker: p2wpkh() };
const keys: CommitKeys = {
  maker: { identity: pk(), publish: pk(), revocation: pk() },
  taker: { identity: pk(), publish: pk(), revocation: pk() },
};
const identities = { maker: keys.maker.identity, taker: keys.taker.identity };
const TXID = 'ab'.repeat(32);

function lock(margins = { maker: 100_000n, taker: 50_000n }) {
  return buildLockTransaction({
    identities,
    maker: { margin: margins.maker, inputs: [{ txid: TXID, vout: 0 }], change: [] },
    taker: { margin: margins.taker, inputs: [{ txid: TXID, vout: 1 }], change: [] },
  });
}

describe('dlc/transactions: fees and dust (maia rules)', () => {
  it('dust limits: P2WPKH 294, P2WSH/P2TR 330, P2SH 540, P2PKH 546, OP_RETURN 0', () => {
    assert.equal(dustLimit(p2wpkh()), 294n);
    assert.equal(dustLimit(new Uint8Array([0x00, 0x20, ...new Uint8Array(32)])), 330n);
    assert.equal(dustLimit(new Uint8Array([0x51, 0x20, ...new Uint8Array(32)])), 330n);
    assert.equal(dustLimit(payments.p2sh({ hash: new Uint8Array(20) }).output!), 540n);
    assert.equal(dustLimit(payments.p2pkh({ pubkey: pk() }).output!), 546n);
    assert.equal(dustLimit(new Uint8Array([0x6a, 0x01, 0x00])), 0n);
  });

  it('subtract_fee: fee 170 → 85 each; a side falling to dust gets nothing; both → error', () => {
    assert.deepEqual(subtractFee({ maker: 1000n, taker: 1000n }, 170n, scripts), {
      maker: 915n,
      taker: 915n,
    });
    // Odd fee: each pays ⌊f/2⌋.
    assert.deepEqual(subtractFee({ maker: 1000n, taker: 1000n }, 171n, scripts), {
      maker: 915n,
      taker: 915n,
    });
    // Strictly above dust: 379 − 85 = 294 is not enough.
    assert.deepEqual(subtractFee({ maker: 379n, taker: 10_000n }, 170n, scripts), {
      maker: 0n,
      taker: 10_000n - 170n + 379n,
    });
    assert.deepEqual(subtractFee({ maker: 10_000n, taker: 0n }, 170n, scripts), {
      maker: 10_000n - 170n,
      taker: 0n,
    });
    assert.throws(
      () => subtractFee({ maker: 300n, taker: 300n }, 170n, scripts),
      PayoutBelowDustError,
    );
  });

  it('commit fee is 150 × rate; CET/refund fee 208 + commit fee; close 169 × rate', () => {
    assert.equal(commitFee(1n), 150n);
    assert.equal(commitFee(3n), 450n);
    const commit = buildCommitTransaction(lock().output, keys, 2n);
    assert.equal(commit.fee, 300n);
    assert.equal(commit.output.value, 150_000n - 300n);
    assert.equal(cetFee(commit), 508n);
    assert.equal(closeFee(), 169n);
    assert.equal(closeFee(2n), 338n);
    assert.throws(() => commitFee(0n), InvalidTransactionParametersError);
  });

  it('a CET pays [maker, taker] with nSequence 12, omitting a side below dust', () => {
    const commit = buildCommitTransaction(lock().output, keys, 1n);
    const both = buildCet(commit, { maker: 75_000n, taker: 75_000n }, scripts);
    assert.equal(both.tx.version, 2);
    assert.equal(both.tx.locktime, 0);
    assert.equal(both.tx.ins[0]!.sequence, CET_TIMELOCK);
    assert.deepEqual(
      both.outputs.map((o) => o.value),
      [75_000n - 179n, 75_000n - 179n],
    );
    const one = buildCet(commit, { maker: 149_800n, taker: 200n }, scripts);
    assert.deepEqual(
      one.outputs.map((o) => [bytesToHex(o.script), o.value]),
      [[bytesToHex(scripts.maker), 150_000n - 358n]],
    );
    assert.throws(
      () => buildCet(commit, { maker: 150_001n, taker: 0n }, scripts),
      InvalidTransactionParametersError,
    );
    assert.throws(
      () => buildCet(commit, { maker: 1n, taker: 1n }, scripts, 0),
      InvalidTransactionParametersError,
    );
  });

  it('the refund returns each margin minus half the CET fee, and refuses margins that cannot pay', () => {
    const commit = buildCommitTransaction(lock().output, keys, 1n);
    const refund = buildRefund(commit, { maker: 100_000n, taker: 50_000n }, scripts, 216);
    assert.equal(refund.tx.ins[0]!.sequence, 216);
    assert.deepEqual(
      refund.outputs.map((o) => o.value),
      [100_000n - 179n, 50_000n - 179n],
    );
    const small = buildCommitTransaction(lock({ maker: 100_000n, taker: 472n }).output, keys, 1n);
    assert.throws(
      () => buildRefund(small, { maker: 100_000n, taker: 472n }, scripts),
      MarginTooSmallError,
    );
    // 473 − 179 = 294 is exactly the P2WPKH dust limit: still relayable.
    const edge = buildCommitTransaction(lock({ maker: 100_000n, taker: 473n }).output, keys, 1n);
    buildRefund(edge, { maker: 100_000n, taker: 473n }, scripts);
    assert.throws(
      () => buildRefund(commit, { maker: 100_000n, taker: 49_999n }, scripts),
      InvalidTransactionParametersError,
    );
  });

  it('a close omits a zero side and pays 169 × rate', () => {
    const l = lock();
    const close = buildClose(l.output, identities, { maker: 150_000n, taker: 0n }, scripts);
    assert.deepEqual(
      close.outputs.map((o) => o.value),
      [150_000n - 169n],
    );
    assert.equal(close.tx.ins[0]!.sequence, 0xffffffff);
  });

  it('punish pays the commit value − 221 to the punisher', () => {
    const commit = buildCommitTransaction(lock().output, keys, 1n);
    const punish = buildPunish(commit, scripts.taker);
    assert.equal(punish.output.value, commit.output.value - 221n);
  });

  it('the lock refuses a party whose inputs do not cover its margin and change', () => {
    const witnessUtxo = { script: p2wpkh(), value: 100_000n };
    assert.throws(
      () =>
        buildLockTransaction({
          identities,
          maker: {
            margin: 90_000n,
            inputs: [{ txid: TXID, vout: 0, witnessUtxo }],
            change: [{ script: p2wpkh(), value: 10_001n }],
          },
          taker: { margin: 50_000n, inputs: [{ txid: TXID, vout: 1 }], change: [] },
        }),
      InsufficientFundingError,
    );
    assert.throws(
      () =>
        buildLockTransaction({
          identities,
          maker: { margin: 1n, inputs: [{ txid: TXID, vout: 0 }], change: [] },
          taker: { margin: 1n, inputs: [{ txid: TXID, vout: 0 }], change: [] },
        }),
      InvalidTransactionParametersError,
    );
  });

  it('the commit refuses a lock output that is not the 2-of-2 of its identity keys', () => {
    const swapped = { maker: keys.taker, taker: keys.maker };
    assert.throws(
      () => buildCommitTransaction(lock().output, swapped, 1n),
      InvalidTransactionParametersError,
    );
    assert.throws(
      () =>
        buildCommitTransaction(
          lock().output,
          { ...keys, maker: { ...keys.maker, publish: new Uint8Array(33) } },
          1n,
        ),
      InvalidPointError,
    );
  });
});
