import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { bytesToNumberBE, numberToBytesBE } from '@noble/curves/utils.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import {
  ADAPTOR_BACKEND,
  type AdaptorBackend,
  adaptorBackend,
  adaptorEncrypt,
  adaptorEncryptMany,
  adaptorVerify,
  adaptorVerifyMany,
  anticipatedPoint,
  anticipatedPointSets,
  anticipatedPoints,
  type Digit,
  decomposeInterval,
  oracleEventPoints,
  prepareOracleEvent,
} from '../../dlc/index.ts';
import { bytesToBigInt, scalarToBytes } from '../../dlc/secp.ts';
import { nativeCurve } from '../../dlc/secp-native.ts';
import { labelledBytes as rng } from '../helpers/prng.ts';
import { G, N, P, Point, pub } from '../helpers/secp.ts';

const toBig = (b: Uint8Array): bigint => BigInt(`0x${bytesToHex(b)}`);
const to32 = (v: bigint): Uint8Array => hexToBytes(v.toString(16).padStart(64, '0'));

/** What a call does: its bytes, or the class and message of what it throws. */
function outcome(f: () => unknown): string {
  try {
    const r = f();
    return r instanceof Uint8Array ? bytesToHex(r) : 'ok';
  } catch (e) {
    return `${(e as Error).name}: ${(e as Error).message}`;
  }
}

const noble = adaptorBackend('noble') as AdaptorBackend;
const native = adaptorBackend('native');

/** What `f` does on the native backend (bytes, 'ok' or its error), asserted alike on noble. */
function bothGive(f: (b: AdaptorBackend) => unknown): string {
  const a = outcome(() => f(native!));
  assert.equal(
    a,
    outcome(() => f(noble)),
  );
  return a;
}

/** The DLC specification's ECDSA adaptor signature verification vectors. */
function verificationVectors() {
  const all = JSON.parse(
    readFileSync(new URL('../fixtures/dlcspecs_ecdsa_adaptor.json', import.meta.url), 'utf8'),
  ) as {
    kind: string;
    adaptor_sig: string;
    message_hash?: string;
    public_signing_key?: string;
    encryption_key?: string;
  }[];
  return all.filter((x) => x.kind === 'verification');
}

/** A valid point whose x is ≥ n (the ECDSA-recovery "overflow" case), found by search. */
function pointWithLargeX(): Uint8Array {
  for (let x = N; ; x++) {
    try {
      const bytes = new Uint8Array([0x02, ...to32(x)]);
      Point.fromBytes(bytes).assertValidity();
      return bytes;
    } catch {
      // x³ + 7 is not a square: try the next x
    }
  }
}

describe('dlc/adaptor: native libsecp256k1 and @noble/curves give identical results', () => {
  before(function () {
    if (native === null) this.skip();
  });

  it('uses the native bindings on this platform (they ship linux-x64 prebuilds)', () => {
    if (process.platform === 'linux' && process.arch === 'x64') {
      assert.equal(ADAPTOR_BACKEND, 'native');
    }
  });

  it('encrypts 48 random (key, point, message, aux) byte for byte alike, and both verify them', () => {
    const rand = rng('encrypt');
    for (let i = 0; i < 48; i++) {
      const sk = rand(32);
      const enc = pub(rand(32));
      const msg = rand(32);
      const aux = i % 3 === 0 ? null : rand(32);
      const a = native!.encrypt(sk, enc, msg, aux);
      const b = noble.encrypt(sk, enc, msg, aux);
      assert.equal(bytesToHex(a), bytesToHex(b), `item ${i}`);
      assert.equal(
        bothGive((b) => b.assert(a, pub(sk), msg, enc)),
        'ok',
      );
    }
  });

  it('give the same verdict and the same error for tampered, mismatched and malformed input', () => {
    const rand = rng('tamper');
    const sk = rand(32);
    const pk = pub(sk);
    const cases: [Uint8Array, Uint8Array, Uint8Array, Uint8Array][] = [];
    for (let i = 0; i < 24; i++) {
      const enc = pub(rand(32));
      const msg = rand(32);
      const sig = noble.encrypt(sk, enc, msg, rand(32));
      // A flipped bit in each field (R, R_a, s_a, e, c), another key/message/point, swapped parts.
      for (const at of [5, 40, 80, 110, 150, 0, 33]) {
        const bad = sig.slice();
        bad[at] = (bad[at] as number) ^ (1 << (i % 8));
        cases.push([bad, pk, msg, enc]);
      }
      cases.push([sig, pub(rand(32)), msg, enc]);
      cases.push([sig, pk, rand(32), enc]);
      cases.push([sig, pk, msg, pub(rand(32))]);
      cases.push([sig, enc, msg, pk]);
    }
    const sig0 = cases[0]![0];
    const withField = (at: number, value: Uint8Array): Uint8Array => {
      const s = sig0.slice();
      s.set(value, at);
      return s;
    };
    const [, pk0, msg0, enc0] = cases[0]!;
    const malformed = [
      withField(66, to32(0n)), // s_a = 0
      withField(66, to32(N)), // s_a ≥ n
      withField(98, to32(0n)), // e = 0
      withField(98, to32(N)), // e = n ≡ 0 after reduction
      withField(130, to32(0n)), // c = 0
      withField(130, to32(N - 1n)),
      withField(130, to32(N)), // c ≥ n
      withField(1, to32(P - 1n)), // x(R) not on the curve / too high
      withField(0, new Uint8Array([0x04])), // bad prefix
      sig0.subarray(0, 161),
    ];
    for (const bad of malformed) cases.push([bad, pk0, msg0, enc0]);
    cases.push([sig0, pk0.subarray(0, 32), msg0, enc0]);
    cases.push([sig0, pk0, msg0, new Uint8Array(33)]);
    cases.push([sig0, pk0, new Uint8Array(31), enc0]);
    let failures = 0;
    for (const [sig, key, msg, enc] of cases) {
      const a = bothGive((b) => b.assert(sig, key, msg, enc));
      if (a !== 'ok') failures++;
    }
    assert.equal(failures, cases.length, 'every case is invalid');
  });

  it('agree on edge messages and keys (m = 0, m = n, m = 2^256 − 1, keys 1 and n − 1)', () => {
    const rand = rng('edges');
    const msgs = [to32(0n), to32(N), to32(2n ** 256n - 1n), to32(1n)];
    const keys = [to32(1n), to32(N - 1n), rand(32)];
    for (const msg of msgs) {
      for (const sk of keys) {
        const enc = pub(rand(32));
        const aux = rand(32);
        const a = bothGive((b) => b.encrypt(sk, enc, msg, aux));
        const sig = hexToBytes(a);
        assert.equal(
          bothGive((b) => b.assert(sig, pub(sk), msg, enc)),
          'ok',
        );
      }
    }
    // Invalid inputs fail with the same error on both.
    const enc = pub(rand(32));
    const msg = rand(32);
    for (const [sk, e, m, aux] of [
      [to32(0n), enc, msg, null],
      [to32(N), enc, msg, null],
      [rand(32), new Uint8Array(33), msg, null],
      [rand(32), enc.subarray(1), msg, null],
      [rand(32), enc, msg.subarray(1), null],
      [rand(32), enc, msg, new Uint8Array(31)],
    ] as [Uint8Array, Uint8Array, Uint8Array, Uint8Array | null][]) {
      const a = bothGive((b) => b.encrypt(sk, e, m, aux));
      assert.notEqual(a.match(/Error: /), null);
    }
  });

  it('verifies all 11 DLC specification vectors with the same verdicts as noble', () => {
    let checked = 0;
    for (const v of verificationVectors()) {
      const args = [
        hexToBytes(v.adaptor_sig),
        hexToBytes(v.public_signing_key!),
        hexToBytes(v.message_hash!),
        hexToBytes(v.encryption_key!),
      ] as const;
      bothGive((b) => b.assert(...args));
      checked++;
    }
    assert.ok(checked >= 2);
  });
});

describe('dlc/adaptor: whole-set functions equal item-by-item calls', () => {
  it('adaptorEncryptMany gives the bytes of adaptorEncrypt per item (given or no aux)', () => {
    const rand = rng('many-encrypt');
    for (const sk of [rand(32), to32(1n), to32(N - 1n)]) {
      const items = Array.from({ length: 40 }, (_, i) => ({
        encryptionKey: pub(rand(32)),
        msg32: i === 3 ? to32(0n) : i === 4 ? to32(2n ** 256n - 1n) : rand(32),
        auxRand: i % 3 === 0 ? null : rand(32),
      }));
      assert.deepEqual(
        adaptorEncryptMany(sk, items).map(bytesToHex),
        items.map((i) => bytesToHex(adaptorEncrypt(sk, i.encryptionKey, i.msg32, i.auxRand))),
      );
    }
    assert.deepEqual(adaptorEncryptMany(rand(32), []), []);
  });

  it('adaptorEncryptMany throws the first bad item’s error, as adaptorEncrypt does', () => {
    const rand = rng('many-encrypt-errors');
    const good = () => ({ encryptionKey: pub(rand(32)), msg32: rand(32), auxRand: rand(32) });
    const notOnCurve = new Uint8Array([0x02, ...to32(P - 1n)]);
    const bad = [
      { encryptionKey: new Uint8Array(33), msg32: rand(32), auxRand: null },
      { encryptionKey: notOnCurve, msg32: rand(32), auxRand: null },
      { encryptionKey: notOnCurve, msg32: rand(31), auxRand: null },
      { encryptionKey: pub(rand(32)).subarray(1), msg32: rand(32), auxRand: null },
      { encryptionKey: pub(rand(32)), msg32: rand(31), auxRand: null },
      { encryptionKey: pub(rand(32)), msg32: rand(32), auxRand: rand(31) },
    ];
    const sk = rand(32);
    for (const item of bad) {
      const items = [good(), good(), item, { ...good(), encryptionKey: new Uint8Array(33) }];
      const expected = outcome(() =>
        adaptorEncrypt(sk, item.encryptionKey, item.msg32, item.auxRand),
      );
      assert.match(expected, /Error: /);
      assert.equal(
        outcome(() => adaptorEncryptMany(sk, items)),
        expected,
      );
    }
    for (const key of [to32(0n), to32(N), rand(31)]) {
      assert.equal(
        outcome(() => adaptorEncryptMany(key, [good()])),
        outcome(() => adaptorEncrypt(key, pub(rand(32)), rand(32), null)),
      );
    }
  });

  it('adaptorVerifyMany gives adaptorVerify’s verdict for valid, tampered and malformed items', () => {
    const rand = rng('many-verify');
    const sk = rand(32);
    const pk = pub(sk);
    const items: { adaptorSignature: Uint8Array; msg32: Uint8Array; encryptionKey: Uint8Array }[] =
      [];
    const large = pointWithLargeX();
    for (let i = 0; i < 12; i++) {
      const enc = pub(rand(32));
      const msg = rand(32);
      const sig = adaptorEncrypt(sk, enc, msg, rand(32));
      items.push({ adaptorSignature: sig, msg32: msg, encryptionKey: enc });
      const tampered = (at: number, value: Uint8Array) => {
        const s = sig.slice();
        s.set(value, at);
        items.push({ adaptorSignature: s, msg32: msg, encryptionKey: enc });
      };
      for (const at of [0, 5, 33, 40, 80, 110, 150]) {
        tampered(at, new Uint8Array([(sig[at] as number) ^ (1 << (i % 8))]));
      }
      tampered(66, to32(0n));
      tampered(66, to32(N));
      tampered(98, to32(0n));
      tampered(98, to32(N));
      tampered(130, to32(0n));
      tampered(130, to32(N));
      tampered(1, to32(P - 1n));
      tampered(34, to32(P - 1n));
      tampered(0, large);
      tampered(33, large);
      tampered(33, new Uint8Array([0x05]));
      tampered(0, new Uint8Array([0x04]));
      items.push({ adaptorSignature: sig.subarray(0, 161), msg32: msg, encryptionKey: enc });
      items.push({ adaptorSignature: sig, msg32: rand(32), encryptionKey: enc });
      items.push({ adaptorSignature: sig, msg32: msg.subarray(1), encryptionKey: enc });
      items.push({ adaptorSignature: sig, msg32: msg, encryptionKey: pub(rand(32)) });
      items.push({ adaptorSignature: sig, msg32: msg, encryptionKey: new Uint8Array(33) });
      items.push({ adaptorSignature: sig, msg32: msg, encryptionKey: enc.subarray(1) });
    }
    for (const key of [pk, pub(rand(32)), pk.subarray(1), new Uint8Array(33)]) {
      const expected = items.map((i) =>
        adaptorVerify(i.adaptorSignature, key, i.msg32, i.encryptionKey),
      );
      assert.deepEqual(adaptorVerifyMany(key, items), expected);
      if (key === pk) assert.equal(expected.filter(Boolean).length, 12);
    }
    for (const v of verificationVectors()) {
      const item = {
        adaptorSignature: hexToBytes(v.adaptor_sig),
        msg32: hexToBytes(v.message_hash!),
        encryptionKey: hexToBytes(v.encryption_key!),
      };
      const key = hexToBytes(v.public_signing_key!);
      assert.deepEqual(adaptorVerifyMany(key, [item, item]), [
        adaptorVerify(item.adaptorSignature, key, item.msg32, item.encryptionKey),
        adaptorVerify(item.adaptorSignature, key, item.msg32, item.encryptionKey),
      ]);
    }
  });
});

describe('dlc/secp: scalar ↔ bytes conversions match noble', () => {
  it('for random, edge and out-of-range values, and for views into larger buffers', () => {
    const rand = rng('conversions');
    const values = [0n, 1n, N - 1n, N, P, 2n ** 64n - 1n, 2n ** 192n, 2n ** 256n - 1n];
    for (let i = 0; i < 64; i++) values.push(toBig(rand(32)));
    for (const v of values) {
      assert.equal(bytesToHex(scalarToBytes(v)), bytesToHex(numberToBytesBE(v, 32)));
      assert.equal(bytesToBigInt(numberToBytesBE(v, 32)), v);
    }
    for (const v of [-1n, 2n ** 256n]) {
      assert.throws(() => numberToBytesBE(v, 32));
      assert.throws(() => scalarToBytes(v));
    }
    const buffer = rand(100);
    for (const [start, end] of [
      [1, 33],
      [67, 99],
      [5, 20],
      [0, 0],
    ] as const) {
      const view = buffer.subarray(start, end);
      assert.equal(bytesToBigInt(view), bytesToNumberBE(view));
    }
  });
});

describe('dlc/secp-native: point arithmetic matches noble', () => {
  before(function () {
    if (nativeCurve === null) this.skip();
  });

  it('a·P + b·G (one double multiplication) equals noble for random, zero and overflow cases', () => {
    const c = nativeCurve!;
    const rand = rng('mulAddG');
    const large = pointWithLargeX();
    const points = [
      large,
      Point.fromBytes(large).negate().toBytes(true),
      ...Array.from({ length: 20 }, () => pub(rand(32))),
    ];
    const enc = (p: typeof G): string => (p.is0() ? 'infinity' : bytesToHex(p.toBytes(true)));
    const got = (p: Uint8Array | null): string => (p === null ? 'infinity' : bytesToHex(p));
    for (const pBytes of points) {
      const p = Point.fromBytes(pBytes);
      const a = toBig(rand(32)) % N;
      const b = toBig(rand(32)) % N;
      for (const [x, y] of [
        [a, b],
        [0n, b],
        [a, 0n],
        [0n, 0n],
        [N - 1n, 1n],
      ] as [bigint, bigint][]) {
        const expected = p.multiplyUnsafe(x).add(G.multiplyUnsafe(y));
        assert.equal(got(c.mulAddG(pBytes, x, y)), enc(expected));
      }
      assert.equal(got(c.mul(pBytes, a)), enc(p.multiply(a)));
      assert.equal(got(c.mulG(a)), enc(G.multiply(a)));
      assert.equal(got(c.add(pBytes, p.negate().toBytes(true))), 'infinity');
    }
    // a·P + b·G = infinity when b·G = −a·P (here P = G).
    const g = G.toBytes(true);
    assert.equal(c.mulAddG(g, 5n, N - 5n), null);
  });

  it('isPoint accepts only 33-byte 02/03 encodings of curve points', () => {
    const c = nativeCurve!;
    const p = pub(rng('isPoint')(32));
    assert.equal(c.isPoint(p), true);
    assert.equal(c.isPoint(secp256k1.getPublicKey(rng('isPoint')(32), false)), false);
    assert.equal(c.isPoint(new Uint8Array([0x04, ...p.subarray(1)])), false);
    assert.equal(c.isPoint(new Uint8Array([0x02, ...to32(P)])), false);
    assert.equal(c.isPoint(p.subarray(1)), false);
  });
});

describe('dlc/oracle: anticipated points of a whole CET set', () => {
  const rand = rng('oracle');
  const xOnly = (): Uint8Array => pub(rand(32)).subarray(1);
  const oracleKey = xOnly();
  const nonces = Array.from({ length: 20 }, xOnly);

  /** The unmemoized definition: Σ (X + (d_i+1)·R_i) with noble. */
  function reference(prefix: readonly Digit[]): string {
    const X = Point.fromBytes(new Uint8Array([0x02, ...oracleKey]));
    let sum = Point.ZERO;
    prefix.forEach((d, i) => {
      const R = Point.fromBytes(new Uint8Array([0x02, ...(nonces[i] as Uint8Array)]));
      sum = sum.add(X).add(R.multiply(BigInt(d + 1)));
    });
    return bytesToHex(sum.toBytes(true));
  }

  it('equal the definition for every prefix of several intervals, batched or one by one', () => {
    const event = prepareOracleEvent(oracleKey, nonces);
    const prefixes = [
      ...decomposeInterval(45_001, 45_315),
      ...decomposeInterval(60_000, 61_234),
      ...decomposeInterval(0, 2 ** 20 - 1),
      ...decomposeInterval(1000, 1000),
    ];
    const batch = anticipatedPoints(event, prefixes);
    assert.equal(batch.length, prefixes.length);
    prefixes.forEach((prefix, i) => {
      assert.equal(bytesToHex(batch[i] as Uint8Array), reference(prefix));
      // A fresh event (cold memo) and the memoized one agree too.
      assert.equal(bytesToHex(anticipatedPoint(event, prefix)), reference(prefix));
    });
    const fresh = prepareOracleEvent(oracleKey, nonces);
    const one = decomposeInterval(123_456, 130_000)[2] as Digit[];
    assert.equal(bytesToHex(anticipatedPoint(fresh, one)), reference(one));
  });

  it('oracleEventPoints remembers an event: same object, same points as a fresh one', () => {
    const a = oracleEventPoints(oracleKey, nonces);
    assert.equal(oracleEventPoints(oracleKey, [...nonces, xOnly()]), a, 'nonces past n ignored');
    assert.notEqual(oracleEventPoints(oracleKey, nonces.toReversed()), a);
    const prefixes = decomposeInterval(50_000, 58_000);
    assert.deepEqual(anticipatedPoints(a, prefixes).map(bytesToHex), prefixes.map(reference));
    // Per CET, in one batch: the same points, split as the prefix lists are.
    const sets = [decomposeInterval(3, 900), [[1] as Digit[]], decomposeInterval(700_001, 700_999)];
    assert.deepEqual(
      anticipatedPointSets(prepareOracleEvent(oracleKey, nonces), sets).map((l) =>
        l.map(bytesToHex),
      ),
      sets.map((l) => l.map(reference)),
    );
    const fresh = prepareOracleEvent(oracleKey, nonces);
    fresh.digitPoints.forEach(([a0, a1], i) => {
      assert.ok(a0.equals(a.digitPoints[i]![0]) && a1.equals(a.digitPoints[i]![1]));
    });
    // Invalid input throws prepareOracleEvent's error, every time (nothing remembered).
    const notX = new Uint8Array(32).fill(0xff);
    for (let i = 0; i < 2; i++) {
      assert.throws(() => oracleEventPoints(oracleKey, [notX, ...nonces.slice(1)]), /nonce 0/);
      assert.throws(() => oracleEventPoints(notX, nonces), /oracle public key/);
      assert.throws(() => oracleEventPoints(oracleKey, nonces.slice(1)), /at least 20 nonces/);
    }
  });

  it('hands out copies: mutating a result does not change the memo', () => {
    const event = prepareOracleEvent(oracleKey, nonces);
    const prefix: Digit[] = [1, 0, 1, 1];
    const first = anticipatedPoint(event, prefix);
    const expected = bytesToHex(first);
    first.fill(0);
    assert.equal(bytesToHex(anticipatedPoint(event, prefix)), expected);
    assert.equal(bytesToHex(anticipatedPoints(event, [prefix])[0] as Uint8Array), expected);
  });
});
