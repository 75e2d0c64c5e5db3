/**
 * Issue #13 item 8: secret scalars never reach variable-time code unblinded. The inversions of
 * k (signing) and y (decryption) see b·k / b·y for a fresh random b, and the native backend
 * multiplies secrets with constant-time libsecp256k1 paths (`mulSecret` = ecmult_const, `mulG` =
 * ecmult_gen), never with `mul` (`publicKeyTweakMul` = variable-time ecmult). The output bytes
 * stay exactly those of the published vectors.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, hexToBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import {
  type AdaptorBackend,
  adaptorBackend,
  adaptorDecrypt,
  adaptorEncrypt,
  adaptorEncryptMany,
  adaptorVerify,
  blinding,
} from '../../dlc/adaptor.ts';
import { bytesToBigInt } from '../../dlc/secp.ts';
import { type NativeCurve, nativeCurve } from '../../dlc/secp-native.ts';
import { labelledBytes as rng } from '../helpers/prng.ts';
import { G, N, Point, pub } from '../helpers/secp.ts';

const h = hexToBytes;
const fixture = <T>(name: string): T =>
  JSON.parse(readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8')) as T;

/** k from an adaptor signature's R_a = k·G: whether `v` is that k. */
const isNonceOf = (v: bigint, sig: Uint8Array): boolean =>
  v > 0n && v < N && bytesToHex(G.multiply(v).toBytes(true)) === bytesToHex(sig.subarray(33, 66));

describe('dlc/adaptor: no timing side channel on secret scalars (issue #13 item 8)', () => {
  const original = { ...blinding };
  /** Every value the inversion is asked to invert, in order. */
  let inverted: bigint[] = [];

  beforeEach(() => {
    inverted = [];
    blinding.invert = (a) => {
      inverted.push(a);
      return original.invert(a);
    };
  });

  afterEach(() => {
    blinding.factor = original.factor;
    blinding.invert = original.invert;
  });

  interface SigningVector {
    secret_key: string;
    message_hash: string;
    decryption_key: string;
    encryption_key: string;
    aux_rand: string;
    adaptor_sig: string;
  }
  const { vectors } = fixture<{ vectors: SigningVector[] }>('bitcoin_s_ecdsa_adaptor_signing.json');

  const backends: [string, AdaptorBackend | null][] = [
    ['native', adaptorBackend('native')],
    ['noble', adaptorBackend('noble')],
  ];

  for (const [name, backend] of backends) {
    describe(`dlc/adaptor blinding: ${name} encrypt`, () => {
      before(function () {
        if (backend === null) this.skip();
      });

      it('with b fixed to 1 the inversion sees k itself: blinded and unblinded paths coincide', () => {
        blinding.factor = () => 1n;
        for (const v of vectors) {
          inverted = [];
          const sig = backend!.encrypt(
            h(v.secret_key),
            h(v.encryption_key),
            h(v.message_hash),
            h(v.aux_rand),
          );
          assert.equal(bytesToHex(sig), v.adaptor_sig);
          assert.equal(inverted.length, 1);
          assert.ok(isNonceOf(inverted[0] as bigint, sig), 'with b = 1 the inverted value is k');
        }
      });

      it('with random b the inverted value is not k and differs per call, the bytes do not', () => {
        for (const v of vectors) {
          const args = [
            h(v.secret_key),
            h(v.encryption_key),
            h(v.message_hash),
            h(v.aux_rand),
          ] as const;
          inverted = [];
          const first = backend!.encrypt(...args);
          const second = backend!.encrypt(...args);
          assert.equal(bytesToHex(first), v.adaptor_sig);
          assert.equal(bytesToHex(second), v.adaptor_sig);
          assert.equal(inverted.length, 2);
          const [a, b] = inverted as [bigint, bigint];
          assert.notEqual(a, b, 'a fresh blinding factor per signature');
          assert.ok(!isNonceOf(a, first) && !isNonceOf(b, first), 'the inversion never sees k');
        }
      });

      it('any fixed blinding factor gives the same bytes (deterministic no-aux variant)', () => {
        const sk = sha256(utf8ToBytes('blinding/sk'));
        const enc = pub(sha256(utf8ToBytes('blinding/y')));
        const msg = sha256(utf8ToBytes('blinding/msg'));
        const outputs = new Set<string>();
        for (const b of [1n, 2n, N - 1n, 0xdeadbeefn, undefined]) {
          blinding.factor = b === undefined ? original.factor : () => b;
          outputs.add(bytesToHex(backend!.encrypt(sk, enc, msg, null)));
        }
        assert.equal(outputs.size, 1);
      });
    });
  }

  describe('dlc/adaptor blinding: adaptorEncryptMany', () => {
    const sk = sha256(utf8ToBytes('many/sk'));
    const rand = rng('many');
    const items = Array.from({ length: 12 }, () => ({
      encryptionKey: pub(rand()),
      msg32: rand(),
      auxRand: rand(),
    }));
    const oneByOne = (): string[] =>
      items.map((i) => bytesToHex(adaptorEncrypt(sk, i.encryptionKey, i.msg32, i.auxRand)));

    it('with b fixed to 1 a one-item set inverts k itself; the set equals item-by-item signing', () => {
      blinding.factor = () => 1n;
      const [sig] = adaptorEncryptMany(sk, items.slice(0, 1));
      assert.ok(inverted.some((v) => isNonceOf(v, sig as Uint8Array)));
      assert.deepEqual(adaptorEncryptMany(sk, items).map(bytesToHex), oneByOne());
    });

    it('with random b no inverted value is a nonce, and the bytes are unchanged', () => {
      const expected = oneByOne();
      inverted = [];
      const sigs = adaptorEncryptMany(sk, items);
      assert.deepEqual(sigs.map(bytesToHex), expected);
      assert.ok(inverted.length >= 1);
      for (const v of inverted) {
        for (const sig of sigs) assert.ok(!isNonceOf(v, sig));
      }
      const again = inverted.slice();
      inverted = [];
      assert.deepEqual(adaptorEncryptMany(sk, items).map(bytesToHex), expected);
      assert.notDeepEqual(inverted, again, 'a fresh blinding factor per set');
    });
  });

  describe('dlc/adaptor blinding: adaptorDecrypt', () => {
    const vectorsSpec = fixture<
      {
        kind: string;
        adaptor_sig: string;
        decryption_key?: string;
        signature?: string;
        error?: string;
      }[]
    >('dlcspecs_ecdsa_adaptor.json').filter((v) => v.kind === 'verification' && !v.error);

    it('inverts b·y, not y; with b = 1 it inverts y; the signature is the published one', () => {
      assert.ok(vectorsSpec.length > 0);
      for (const v of vectorsSpec) {
        const y = bytesToBigInt(h(v.decryption_key!));
        blinding.factor = original.factor;
        inverted = [];
        assert.equal(
          bytesToHex(adaptorDecrypt(h(v.adaptor_sig), h(v.decryption_key!))),
          v.signature,
        );
        assert.equal(inverted.length, 1);
        assert.notEqual(inverted[0], y);
        blinding.factor = () => 1n;
        inverted = [];
        assert.equal(
          bytesToHex(adaptorDecrypt(h(v.adaptor_sig), h(v.decryption_key!))),
          v.signature,
        );
        assert.deepEqual(inverted, [y]);
      }
    });
  });

  describe('dlc/adaptor: native secret multiplications are constant-time paths', () => {
    const c = nativeCurve as NativeCurve;
    const saved = c === null ? null : { mul: c.mul, mulSecret: c.mulSecret };
    let calls: { mul: bigint[]; mulSecret: bigint[] } = { mul: [], mulSecret: [] };

    before(function () {
      if (c === null) this.skip();
      c.mul = (p, k) => {
        calls.mul.push(k);
        return saved!.mul(p, k);
      };
      c.mulSecret = (p, k) => {
        calls.mulSecret.push(k);
        return saved!.mulSecret(p, k);
      };
    });

    after(() => {
      if (saved !== null) Object.assign(c, saved);
    });

    it('mulSecret (ecdh → ecmult_const) equals mul and noble for random points, views, k = 0', () => {
      const rand = rng('mulSecret');
      for (let i = 0; i < 20; i++) {
        const p = pub(rand());
        const k = bytesToBigInt(rand()) % N;
        const buf = new Uint8Array(50);
        buf.set(p, 7);
        const expected = bytesToHex(Point.fromBytes(p).multiply(k).toBytes(true));
        assert.equal(bytesToHex(saved!.mulSecret(p, k)!), expected);
        assert.equal(bytesToHex(saved!.mulSecret(buf.subarray(7, 40), k)!), expected);
        assert.equal(bytesToHex(saved!.mul(p, k)!), expected);
      }
      assert.equal(saved!.mulSecret(pub(rand()), 0n), null);
      assert.equal(
        bytesToHex(saved!.mulSecret(G.toBytes(true), N - 1n)!),
        bytesToHex(G.negate().toBytes(true)),
      );
      const offCurve = new Uint8Array(33).fill(0xff);
      offCurve[0] = 0x02;
      assert.throws(() => saved!.mulSecret(offCurve, 5n));
    });

    it('encrypt and encryptMany multiply the secret nonces by Y only through mulSecret', () => {
      const rand = rng('paths');
      const sk = rand();
      const items = Array.from({ length: 5 }, () => ({
        encryptionKey: pub(rand()),
        msg32: rand(),
        auxRand: rand(),
      }));
      calls = { mul: [], mulSecret: [] };
      const native = adaptorBackend('native') as AdaptorBackend;
      const single = items.map((i) => native.encrypt(sk, i.encryptionKey, i.msg32, i.auxRand));
      const many = adaptorEncryptMany(sk, items);
      assert.deepEqual(many.map(bytesToHex), single.map(bytesToHex));
      assert.deepEqual(calls.mul, [], 'no secret scalar through publicKeyTweakMul');
      assert.equal(calls.mulSecret.length, 2 * 2 * items.length, 'k·Y and a·Y, twice per item');
      // Verification still takes the fast variable-time path (public scalars only).
      calls = { mul: [], mulSecret: [] };
      for (const [j, i] of items.entries()) {
        assert.ok(adaptorVerify(single[j] as Uint8Array, pub(sk), i.msg32, i.encryptionKey));
      }
      assert.equal(calls.mulSecret.length, 0);
      assert.ok(calls.mul.length > 0);
    });
  });
});
