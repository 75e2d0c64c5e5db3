import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, hexToBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import { Transaction } from 'bitcoinjs-lib';
import {
  ADAPTOR_SIGNATURE_LENGTH,
  AdaptorRecoveryError,
  adaptorDecrypt,
  adaptorEncrypt,
  adaptorRecover,
  adaptorVerify,
  assertAdaptorSignature,
  InvalidAdaptorSignatureEncodingError,
  InvalidAdaptorSignatureError,
  InvalidDleqProofError,
  InvalidScalarError,
  parseAdaptorSignature,
  serializeAdaptorSignature,
  signatureFromDer,
  signatureToDer,
} from '../../dlc/index.ts';
import { itchySatsDlc } from '../helpers/itchysats-record.ts';

function fixture<T>(name: string): T {
  return JSON.parse(readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8')) as T;
}

interface SpecVector {
  kind: 'verification' | 'recovery' | 'serialization';
  adaptor_sig: string;
  message_hash?: string;
  public_signing_key?: string;
  encryption_key?: string;
  decryption_key?: string | null;
  signature?: string;
  error?: string | null;
  comment?: string;
}

interface SigningVector {
  secret_key: string;
  message_hash: string;
  decryption_key: string;
  public_signing_key: string;
  encryption_key: string;
  aux_rand: string;
  adaptor_sig: string;
}

const h = hexToBytes;
/** A deterministic 32-byte secret from a label (never zero or ≥ n in practice). */
const secret = (label: string): Uint8Array => sha256(utf8ToBytes(label));
const pub = (sk: Uint8Array): Uint8Array => secp256k1.getPublicKey(sk, true);
/** Plain ECDSA verification of a compact signature over a 32-byte hash (no prehash, low-S). */
const ecdsaVerify = (sig: Uint8Array, msg: Uint8Array, pk: Uint8Array): boolean =>
  secp256k1.verify(sig, msg, pk, { prehash: false, lowS: true });

/** Flips one bit of a copy. */
function flip(bytes: Uint8Array, index: number, bit = 1): Uint8Array {
  const copy = bytes.slice();
  copy[index] = (copy[index] as number) ^ bit;
  return copy;
}

describe('dlc/adaptor: the 11 ECDSA adaptor vectors of the DLC specification', () => {
  const vectors = fixture<SpecVector[]>('dlcspecs_ecdsa_adaptor.json');

  it('has all 11 vectors of the three kinds', () => {
    assert.equal(vectors.length, 11);
    assert.deepEqual([...new Set(vectors.map((v) => v.kind))].sort(), [
      'recovery',
      'serialization',
      'verification',
    ]);
  });

  vectors.forEach((v, i) => {
    const label = `#${i} ${v.kind}: ${v.error ? `must fail (${v.error})` : (v.comment ?? 'valid')}`;
    it(label, () => {
      const adaptorSig = h(v.adaptor_sig);
      if (v.kind === 'verification') {
        const msg = h(v.message_hash!);
        const pk = h(v.public_signing_key!);
        const enc = h(v.encryption_key!);
        if (v.error) {
          assert.equal(adaptorVerify(adaptorSig, pk, msg, enc), false);
          assert.throws(
            () => assertAdaptorSignature(adaptorSig, pk, msg, enc),
            InvalidDleqProofError,
          );
          return;
        }
        assert.equal(adaptorVerify(adaptorSig, pk, msg, enc), true);
        const sig = adaptorDecrypt(adaptorSig, h(v.decryption_key!));
        assert.equal(bytesToHex(sig), v.signature);
        assert.ok(
          ecdsaVerify(sig, msg, pk),
          'decrypted signature is a valid low-S ECDSA signature',
        );
        assert.equal(bytesToHex(adaptorRecover(enc, adaptorSig, sig)), v.decryption_key);
      } else if (v.kind === 'recovery') {
        const enc = h(v.encryption_key!);
        const sig = h(v.signature!);
        if (v.error) {
          assert.throws(
            () => adaptorRecover(enc, adaptorSig, sig),
            (e: unknown) => e instanceof AdaptorRecoveryError && e.message === v.error,
          );
          return;
        }
        assert.equal(bytesToHex(adaptorRecover(enc, adaptorSig, sig)), v.decryption_key);
      } else {
        if (v.error) {
          assert.throws(
            () => parseAdaptorSignature(adaptorSig),
            (e: unknown) =>
              e instanceof InvalidAdaptorSignatureEncodingError && e.message === v.error,
          );
          return;
        }
        const parts = parseAdaptorSignature(adaptorSig);
        assert.equal(bytesToHex(serializeAdaptorSignature(parts)), v.adaptor_sig);
      }
    });
  });
});

describe('dlc/adaptor: encryption reproduces libsecp256k1-zkp nonce derivation', () => {
  const { vectors } = fixture<{ vectors: SigningVector[] }>('bitcoin_s_ecdsa_adaptor_signing.json');

  vectors.forEach((v, i) => {
    it(`signing vector ${i}: secret key + aux randomness give the published adaptor signature`, () => {
      assert.equal(bytesToHex(pub(h(v.secret_key))), v.public_signing_key);
      const adaptorSig = adaptorEncrypt(
        h(v.secret_key),
        h(v.encryption_key),
        h(v.message_hash),
        h(v.aux_rand),
      );
      assert.equal(bytesToHex(adaptorSig), v.adaptor_sig);
      assert.ok(
        adaptorVerify(adaptorSig, h(v.public_signing_key), h(v.message_hash), h(v.encryption_key)),
      );
      const sig = adaptorDecrypt(adaptorSig, h(v.decryption_key));
      assert.ok(ecdsaVerify(sig, h(v.message_hash), h(v.public_signing_key)));
      assert.equal(
        bytesToHex(adaptorRecover(h(v.encryption_key), adaptorSig, sig)),
        v.decryption_key,
      );
    });
  });

  it('a different aux randomness gives a different but equally valid adaptor signature', () => {
    const v = vectors[0]!;
    const other = adaptorEncrypt(
      h(v.secret_key),
      h(v.encryption_key),
      h(v.message_hash),
      new Uint8Array(32),
    );
    assert.notEqual(bytesToHex(other), v.adaptor_sig);
    assert.ok(
      adaptorVerify(other, h(v.public_signing_key), h(v.message_hash), h(v.encryption_key)),
    );
  });

  it('the no-aux variant (null) is deterministic and valid', () => {
    const sk = secret('signer');
    const y = secret('decryption');
    const msg = sha256(utf8ToBytes('message'));
    const a = adaptorEncrypt(sk, pub(y), msg, null);
    assert.equal(bytesToHex(adaptorEncrypt(sk, pub(y), msg, null)), bytesToHex(a));
    assert.ok(adaptorVerify(a, pub(sk), msg, pub(y)));
  });

  it('random aux (the default) gives fresh signatures that all verify', () => {
    const sk = secret('signer');
    const y = secret('decryption');
    const msg = sha256(utf8ToBytes('message'));
    const a = adaptorEncrypt(sk, pub(y), msg);
    const b = adaptorEncrypt(sk, pub(y), msg);
    assert.notEqual(bytesToHex(a), bytesToHex(b));
    assert.ok(adaptorVerify(a, pub(sk), msg, pub(y)));
    assert.ok(adaptorVerify(b, pub(sk), msg, pub(y)));
  });
});

describe('dlc/adaptor: round trip and rejection', () => {
  const cases = Array.from({ length: 16 }, (_, i) => ({
    sk: secret(`sk ${i}`),
    y: secret(`y ${i}`),
    msg: sha256(utf8ToBytes(`msg ${i}`)),
    aux: secret(`aux ${i}`),
  }));

  it('encrypt → verify → decrypt gives a low-S signature and recover gives y back (16 keys)', () => {
    let negated = 0;
    for (const { sk, y, msg, aux } of cases) {
      const a = adaptorEncrypt(sk, pub(y), msg, aux);
      assert.equal(a.length, ADAPTOR_SIGNATURE_LENGTH);
      assert.ok(adaptorVerify(a, pub(sk), msg, pub(y)));
      const sig = adaptorDecrypt(a, y);
      assert.ok(ecdsaVerify(sig, msg, pub(sk)));
      assert.equal(bytesToHex(adaptorRecover(pub(y), a, sig)), bytesToHex(y));
      // Count how often low-S normalisation had to negate s (then recover negates y back).
      const { sa } = parseAdaptorSignature(a);
      const yInv = secp256k1.Point.Fn.inv(BigInt(`0x${bytesToHex(y)}`));
      if (secp256k1.Point.Fn.create(sa * yInv) > secp256k1.Point.Fn.ORDER >> 1n) negated++;
    }
    assert.ok(negated > 0 && negated < cases.length, 'both high-S and low-S cases were exercised');
  });

  it('rejects the adaptor signature for another key, message or encryption point', () => {
    const { sk, y, msg, aux } = cases[0]!;
    const a = adaptorEncrypt(sk, pub(y), msg, aux);
    const other = cases[1]!;
    assert.throws(
      () => assertAdaptorSignature(a, pub(other.sk), msg, pub(y)),
      InvalidAdaptorSignatureError,
    );
    assert.throws(
      () => assertAdaptorSignature(a, pub(sk), other.msg, pub(y)),
      InvalidAdaptorSignatureError,
    );
    // A wrong encryption point breaks the DLEQ proof, which is checked first.
    assert.throws(
      () => assertAdaptorSignature(a, pub(sk), msg, pub(other.y)),
      InvalidDleqProofError,
    );
  });

  it('rejects a tampered byte in every field (R, R_a, s_a, DLEQ e, DLEQ c)', () => {
    const { sk, y, msg, aux } = cases[2]!;
    const a = adaptorEncrypt(sk, pub(y), msg, aux);
    for (const index of [5, 40, 70, 100, 140, 161]) {
      assert.equal(adaptorVerify(flip(a, index), pub(sk), msg, pub(y)), false, `byte ${index}`);
    }
    // A flipped prefix byte turns R into -R: the DLEQ proof fails.
    assert.throws(
      () => assertAdaptorSignature(flip(a, 0), pub(sk), msg, pub(y)),
      InvalidDleqProofError,
    );
  });

  it('decrypting with the wrong key gives a signature that does not verify and recovers nothing', () => {
    const { sk, y, msg, aux } = cases[3]!;
    const a = adaptorEncrypt(sk, pub(y), msg, aux);
    const wrong = adaptorDecrypt(a, cases[4]!.y);
    assert.equal(ecdsaVerify(wrong, msg, pub(sk)), false);
    assert.throws(() => adaptorRecover(pub(y), a, wrong), AdaptorRecoveryError);
  });

  it('recover refuses an unrelated signature (different r)', () => {
    const { sk, y, msg, aux } = cases[5]!;
    const a = adaptorEncrypt(sk, pub(y), msg, aux);
    const plain = secp256k1.sign(msg, sk, { prehash: false });
    assert.throws(
      () => adaptorRecover(pub(y), a, plain),
      (e: unknown) => e instanceof AdaptorRecoveryError && /R value/.test((e as Error).message),
    );
  });

  it('refuses bad inputs with named errors', () => {
    const { sk, y, msg } = cases[6]!;
    assert.throws(() => adaptorEncrypt(new Uint8Array(32), pub(y), msg), InvalidScalarError);
    assert.throws(() => adaptorEncrypt(sk, pub(y), msg.subarray(1)), InvalidScalarError);
    assert.throws(() => adaptorEncrypt(sk, pub(y), msg, new Uint8Array(31)), InvalidScalarError);
    assert.throws(
      () => parseAdaptorSignature(new Uint8Array(161)),
      InvalidAdaptorSignatureEncodingError,
    );
    const a = adaptorEncrypt(sk, pub(y), msg);
    assert.throws(() => adaptorDecrypt(a, new Uint8Array(32)), InvalidScalarError);
  });

  it('DER conversion round-trips a decrypted signature and matches noble', () => {
    const { sk, y, msg, aux } = cases[7]!;
    const sig = adaptorDecrypt(adaptorEncrypt(sk, pub(y), msg, aux), y);
    const der = signatureToDer(sig);
    assert.equal(bytesToHex(der), bytesToHex(secp256k1.Signature.fromBytes(sig).toBytes('der')));
    assert.equal(bytesToHex(signatureFromDer(der)), bytesToHex(sig));
  });
});

describe('dlc/adaptor: a real maia commit adaptor signature (ItchySats production record)', () => {
  const dlc = itchySatsDlc;
  const makerEncsig = h(dlc.commit[1]);
  const takerPublishSk = h(dlc.publish);
  const takerPublishPk = pub(takerPublishSk);
  const makerOwn = h(dlc.identity_counterparty);
  const takerOwn = pub(h(dlc.identity));

  /** BIP143 sighash of the commit transaction spending the 2-of-2 lock output. */
  function commitSighash(): Uint8Array {
    const lockScript = new Uint8Array([0x21, ...makerOwn, 0xad, 0x21, ...takerOwn, 0xac]);
    assert.equal(
      bytesToHex(new Uint8Array([0x00, 0x20, ...sha256(lockScript)])),
      dlc.lock[0].output[0]!.script_pubkey,
      'lock script rebuilt from the keys hashes to the lock output',
    );
    const commit = dlc.commit[0];
    const [txid, vout] = commit.input[0]!.previous_output.split(':') as [string, string];
    const tx = new Transaction();
    tx.version = 2;
    tx.locktime = 0;
    tx.addInput(h(txid).reverse(), Number(vout), commit.input[0]!.sequence);
    tx.addOutput(h(commit.output[0]!.script_pubkey), BigInt(commit.output[0]!.value));
    return tx.hashForWitnessV0(
      0,
      lockScript,
      BigInt(dlc.lock[0].output[0]!.value),
      Transaction.SIGHASH_ALL,
    );
  }

  it('verifies under the maker identity key and the taker publish key (DLEQ and ECDSA)', () => {
    assertAdaptorSignature(makerEncsig, makerOwn, commitSighash(), takerPublishPk);
    assert.equal(adaptorVerify(makerEncsig, takerOwn, commitSighash(), takerPublishPk), false);
  });

  it('decrypts with the taker publish secret into a valid commit signature, which leaks it', () => {
    const sig = adaptorDecrypt(makerEncsig, takerPublishSk);
    assert.ok(ecdsaVerify(sig, commitSighash(), makerOwn));
    // What the maker learns when the taker publishes the commit transaction:
    assert.equal(bytesToHex(adaptorRecover(takerPublishPk, makerEncsig, sig)), dlc.publish);
  });
});
