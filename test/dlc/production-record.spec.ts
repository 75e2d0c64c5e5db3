/**
 * Byte-exactness against a real ItchySats contract (a production taker's ContractSetupCompleted
 * record, maia DLC): rebuilding its lock, commit, refund and CET from the record's keys, amounts
 * and addresses reproduces the txids that went on chain, and the maker's real adaptor and refund
 * signatures verify against our sighashes.
 */
import assert from 'node:assert/strict';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { address, networks } from 'bitcoinjs-lib';
import {
  adaptorDecrypt,
  adaptorRecover,
  buildCet,
  buildCommitTransaction,
  buildLockTransaction,
  buildRefund,
  COMMIT_SCRIPT_LENGTH,
  type CommitKeys,
  commitScript,
  dustLimit,
  hash160,
  LOCK_SCRIPT_LENGTH,
  lockScript,
  p2wshOutput,
  SignatureVerificationError,
  signatureFromDer,
  spendSighash,
  verifyCommitAdaptor,
  verifyCooperative,
} from '../../dlc/index.ts';
import { itchySatsDlc } from '../helpers/itchysats-record.ts';

const LOCK_TXID = 'b348f10330554fce3e00725de8d285d9fdba35f0ceaa4c6c5b5515c2af4f4b56';
const COMMIT_TXID = '4454850660036c5db07324f6d590e9deb001dc61e78877e0ed7d262fc6275f53';
const CET_TXID = '0bacec34cf1771c438a05fe61ae92e931dcf70bb8a839a52cee09214d137fb7c';

const dlc = itchySatsDlc;
const h = hexToBytes;
const pub = (sk: Uint8Array): Uint8Array => secp256k1.getPublicKey(sk, true);

// The record is the taker's: its own secrets, the maker's public keys.
const keys: CommitKeys = {
  maker: {
    identity: h(dlc.identity_counterparty),
    publish: h(dlc.publish_pk_counterparty),
    revocation: h(dlc.revocation_pk_counterparty),
  },
  taker: {
    identity: pub(h(dlc.identity)),
    publish: pub(h(dlc.publish)),
    revocation: pub(h(dlc.revocation)),
  },
};
const identities = { maker: keys.maker.identity, taker: keys.taker.identity };
// The record's addresses are testnet (tb1…).
const scripts = {
  maker: address.toOutputScript(dlc.maker_address, networks.testnet),
  taker: address.toOutputScript(dlc.taker_address, networks.testnet),
};
const margins = { maker: BigInt(dlc.maker_lock_amount), taker: BigInt(dlc.taker_lock_amount) };

function outpoint(s: string): { txid: string; vout: number } {
  const [txid, vout] = s.split(':') as [string, string];
  return { txid, vout: Number(vout) };
}

/** The record's lock inputs/changes split by party: maia puts the maker's first. */
function lock() {
  const tx = dlc.lock[0];
  // The lock has 4 inputs and 2 change outputs: maker change first. Which inputs are the
  // maker's is not recorded; the txid only depends on their order, which maia keeps.
  const inputs = tx.input.map((i) => outpoint(i.previous_output));
  const change = tx.output
    .slice(1)
    .map((o) => ({ script: h(o.script_pubkey), value: BigInt(o.value) }));
  return buildLockTransaction({
    identities,
    maker: { margin: margins.maker, inputs: inputs.slice(0, 2), change: change.slice(0, 1) },
    taker: { margin: margins.taker, inputs: inputs.slice(2), change: change.slice(1) },
  });
}

const FEE_RATE = 1n; // the record's commit fee is 150 = ceil(150 × 1)

describe('dlc/transactions: byte-exact against a real ItchySats contract (production record)', () => {
  it('compiles the lock and commit scripts to the P2WSH programs on chain', () => {
    const ls = lockScript(identities.maker, identities.taker);
    assert.equal(ls.length, LOCK_SCRIPT_LENGTH);
    assert.equal(bytesToHex(p2wshOutput(ls)), dlc.lock[0].output[0]!.script_pubkey);
    const cs = commitScript(keys);
    assert.equal(cs.length, COMMIT_SCRIPT_LENGTH);
    assert.equal(bytesToHex(p2wshOutput(cs)), dlc.commit[0].output[0]!.script_pubkey);
    // The descriptor's hashed keys, in its order: H(M_id), H(T_pub), H(T_rev), H(T_id), …
    const hashes = [...dlc.commit[2].matchAll(/(?:pkh|pk_h)\(([0-9a-f]{40})\)/g)].map((m) => m[1]);
    assert.deepEqual(
      hashes,
      [
        keys.maker.identity,
        keys.taker.publish,
        keys.taker.revocation,
        keys.taker.identity,
        keys.maker.publish,
        keys.maker.revocation,
      ].map((k) => bytesToHex(hash160(k))),
    );
  });

  it(`rebuilds the lock transaction: txid ${LOCK_TXID.slice(0, 8)}…`, () => {
    const l = lock();
    assert.equal(l.tx.getId(), LOCK_TXID);
    assert.equal(l.output.txid, LOCK_TXID);
    assert.equal(l.output.value, 359_085n);
    assert.equal(l.tx.outs.length, 3);
    // Without the spent outputs the parties' fees cannot be known (nor checked).
    assert.deepEqual(l.fees, { maker: undefined, taker: undefined });
  });

  it(`rebuilds the commit transaction: txid ${COMMIT_TXID.slice(0, 8)}…, fee 150`, () => {
    const commit = buildCommitTransaction(lock().output, keys, FEE_RATE);
    assert.equal(commit.tx.getId(), COMMIT_TXID);
    assert.equal(commit.fee, 150n);
    assert.equal(commit.output.value, 358_935n);
    assert.equal(`${commit.tx.ins[0]!.sequence}`, `${dlc.commit[0].input[0]!.sequence}`);
  });

  it('the maker commit adaptor signature verifies, decrypts with the taker publish secret and recovers it', () => {
    const commit = buildCommitTransaction(lock().output, keys, FEE_RATE);
    const makerEncsig = h(dlc.commit[1]);
    verifyCommitAdaptor(commit, 'taker', makerEncsig);
    // As the maker would check it (under its own publish key) it must fail.
    assert.throws(
      () => verifyCommitAdaptor(commit, 'maker', makerEncsig),
      SignatureVerificationError,
    );
    const sig = adaptorDecrypt(makerEncsig, h(dlc.publish));
    assert.ok(
      secp256k1.verify(sig, spendSighash(commit), keys.maker.identity, {
        prehash: false,
        lowS: true,
      }),
    );
    assert.equal(bytesToHex(adaptorRecover(keys.taker.publish, makerEncsig, sig)), dlc.publish);
  });

  it('rebuilds the refund (sequence 216, each margin − 179) and the maker refund signature verifies', () => {
    const commit = buildCommitTransaction(lock().output, keys, FEE_RATE);
    const refund = buildRefund(commit, margins, scripts, dlc.refund_timelock);
    const real = dlc.refund[0];
    assert.equal(refund.tx.ins[0]!.sequence, 216);
    assert.deepEqual(
      refund.tx.outs.map((o) => [bytesToHex(o.script), o.value]),
      real.output.map((o) => [o.script_pubkey, BigInt(o.value)]),
    );
    assert.equal(`${refund.tx.ins[0]!.hash.toReversed().join()}`, `${h(COMMIT_TXID).join()}`);
    verifyCooperative(refund, 'taker', signatureFromDer(h(dlc.refund[1])));
  });

  it(`rebuilds the CET: txid ${CET_TXID.slice(0, 8)}…, one output 358727, taker side below dust`, () => {
    const commit = buildCommitTransaction(lock().output, keys, FEE_RATE);
    const [row] = Object.values(dlc.cets)[0]!;
    assert.ok(row);
    // The payout before fees: the whole lock to the maker (its amounts in the record are after
    // fees, with the taker's omitted as dust).
    const cet = buildCet(commit, { maker: 359_085n, taker: 0n }, scripts, 12);
    assert.equal(cet.tx.getId(), CET_TXID);
    assert.equal(cet.tx.getId(), row.txid);
    assert.equal(cet.tx.ins[0]!.sequence, 12);
    assert.deepEqual(
      cet.outputs.map((o) => [bytesToHex(o.script), o.value]),
      [[bytesToHex(scripts.maker), BigInt(row.maker_amount)]],
    );
    assert.equal(dustLimit(scripts.taker), 294n);
  });

  it('the maker CET adaptor signature satisfies the ECDSA adaptor equation u1·G + u2·X = R_a', () => {
    // The DLEQ part needs the oracle announcement's nonces, which the record does not hold, so
    // only the signature equation against our CET sighash is checked.
    const commit = buildCommitTransaction(lock().output, keys, FEE_RATE);
    const cet = buildCet(commit, { maker: 359_085n, taker: 0n }, scripts);
    const [row] = Object.values(dlc.cets)[0]!;
    const sig = h(row!.adaptor_sig);
    const { Point } = secp256k1;
    const n = Point.Fn.ORDER;
    const m = BigInt(`0x${bytesToHex(spendSighash(cet))}`) % n;
    const R = Point.fromBytes(sig.subarray(0, 33));
    const Ra = Point.fromBytes(sig.subarray(33, 66));
    const sa = BigInt(`0x${bytesToHex(sig.subarray(66, 98))}`);
    const r = R.toAffine().x % n;
    const w = Point.Fn.inv(sa);
    const X = Point.fromBytes(keys.maker.identity);
    const lhs = Point.BASE.multiply((m * w) % n).add(X.multiply((r * w) % n));
    assert.ok(lhs.equals(Ra));
    // …and not for any other transaction, e.g. the refund.
    const other =
      BigInt(`0x${bytesToHex(spendSighash(buildRefund(commit, margins, scripts)))}`) % n;
    assert.ok(
      !Point.BASE.multiply((other * w) % n)
        .add(X.multiply((r * w) % n))
        .equals(Ra),
    );
  });
});
