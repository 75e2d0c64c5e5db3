import assert from 'node:assert/strict';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
import {
  type AdaptorEncryptItem,
  AdaptorWorkerPool,
  adaptorEncrypt,
  adaptorVerify,
  InvalidPointError,
  InvalidScalarError,
  WorkerPoolClosedError,
} from '../../dlc/index.ts';

const secret = (label: string): Uint8Array => sha256(utf8ToBytes(label));
const pub = (sk: Uint8Array): Uint8Array => secp256k1.getPublicKey(sk, true);

const signer = secret('workers/signer');
const signerPub = pub(signer);
/** 150 items: enough for several chunks per worker. */
const items: AdaptorEncryptItem[] = Array.from({ length: 150 }, (_, i) => ({
  encryptionKey: pub(secret(`workers/point/${i}`)),
  msg32: secret(`workers/msg/${i}`),
  auxRand: i % 2 === 0 ? null : secret(`workers/aux/${i}`),
}));

describe('dlc/workers: adaptor signatures over worker threads', function () {
  this.timeout(60_000);
  let pool: AdaptorWorkerPool;

  before(async () => {
    pool = new AdaptorWorkerPool({ size: 2 });
    await pool.ready();
  });

  after(async () => {
    await pool.close();
    assert.equal(pool.liveWorkers, 0, 'no worker outlives close()');
  });

  it('starts the requested number of TypeScript workers (under tsx here)', () => {
    assert.equal(pool.size, 2);
    assert.equal(pool.liveWorkers, 2);
  });

  it('encrypts exactly what adaptorEncrypt gives, in item order (fixed or no aux)', async () => {
    const sigs = await pool.encryptMany(signer, items);
    assert.deepEqual(
      sigs.map(bytesToHex),
      items.map((it) =>
        bytesToHex(adaptorEncrypt(signer, it.encryptionKey, it.msg32, it.auxRand!)),
      ),
    );
  });

  it('uses fresh random aux when an item has none, and the results verify', async () => {
    const random = items.slice(0, 40).map(({ encryptionKey, msg32 }) => ({ encryptionKey, msg32 }));
    const [a, b] = await Promise.all([
      pool.encryptMany(signer, random),
      pool.encryptMany(signer, random),
    ]);
    a.forEach((sig, i) => {
      assert.notEqual(bytesToHex(sig), bytesToHex(b[i]!));
      assert.ok(adaptorVerify(sig, signerPub, random[i]!.msg32, random[i]!.encryptionKey));
    });
  });

  it('gives every item of a chunk its own fresh aux (one random draw per chunk)', async () => {
    const one = new AdaptorWorkerPool({ size: 1 });
    try {
      // One worker, 8 chunks of 150 alike items: only their aux tells their nonces apart.
      const item = { encryptionKey: items[0]!.encryptionKey, msg32: items[0]!.msg32 };
      const sigs = await one.encryptMany(
        signer,
        Array.from({ length: 1_200 }, () => item),
      );
      assert.equal(new Set(sigs.map(bytesToHex)).size, sigs.length, 'no two nonces alike');
      assert.equal(
        (
          await one.verifyMany(
            signerPub,
            sigs.map((adaptorSignature) => ({ ...item, adaptorSignature })),
          )
        ).every(Boolean),
        true,
      );
    } finally {
      await one.close();
    }
  });

  it('verifies like adaptorVerify: valid, tampered, mismatched and malformed items', async () => {
    const sigs = await pool.encryptMany(signer, items);
    const checks = items.map((it, i) => {
      const adaptorSignature = sigs[i]!.slice();
      if (i % 5 === 1) adaptorSignature[100] = (adaptorSignature[100] as number) ^ 1;
      const msg32 = i % 5 === 2 ? secret(`other/${i}`) : it.msg32;
      return {
        adaptorSignature: i % 5 === 3 ? adaptorSignature.subarray(1) : adaptorSignature,
        msg32,
        encryptionKey:
          i % 5 === 4 ? items[(i + 1) % items.length]!.encryptionKey : it.encryptionKey,
      };
    });
    const verdicts = await pool.verifyMany(signerPub, checks);
    assert.deepEqual(
      verdicts,
      checks.map((c) => adaptorVerify(c.adaptorSignature, signerPub, c.msg32, c.encryptionKey)),
    );
    assert.deepEqual(
      verdicts.map((v, i) => v === (i % 5 === 0)),
      verdicts.map(() => true),
    );
    assert.deepEqual(await pool.verifyMany(signerPub.subarray(1), checks.slice(0, 3)), [
      false,
      false,
      false,
    ]);
    assert.deepEqual(await pool.verifyMany(signerPub, []), []);
  });

  it('rejects with the error adaptorEncrypt throws, naming the item', async () => {
    const bad = items.map((it) => ({ ...it }));
    // x = 2^256 − 1 ≥ p: not a point.
    bad[77] = { ...bad[77]!, encryptionKey: new Uint8Array([2, ...new Uint8Array(32).fill(0xff)]) };
    await assert.rejects(
      pool.encryptMany(signer, bad),
      (e: unknown) =>
        e instanceof InvalidPointError &&
        e.message === 'encryption key is not a point on secp256k1' &&
        (e as Error & { itemIndex?: number }).itemIndex === 77,
    );
    await assert.rejects(pool.encryptMany(new Uint8Array(32), items), InvalidScalarError);
    await assert.rejects(
      pool.encryptMany(signer, [{ encryptionKey: new Uint8Array(3), msg32: items[0]!.msg32 }]),
      InvalidPointError,
    );
    // The pool still works after a failed job.
    assert.equal((await pool.encryptMany(signer, items.slice(0, 3))).length, 3);
  });

  it('close() rejects work in flight and later calls, and terminates every worker', async () => {
    const own = new AdaptorWorkerPool({ size: 1 });
    const inFlight = assert.rejects(own.encryptMany(signer, items), WorkerPoolClosedError);
    await own.close();
    await inFlight;
    await assert.rejects(own.encryptMany(signer, items), WorkerPoolClosedError);
    await assert.rejects(own.verifyMany(signerPub, []), WorkerPoolClosedError);
    assert.equal(own.liveWorkers, 0);
    await own.close(); // idempotent
  });

  it('close() in the middle of native work never takes the process down with it', async () => {
    // Terminating a worker inside a native secp256k1 call throws Napi::Error into a dying
    // environment and aborts the whole process (a node stopped while a rollover signs, with other
    // nodes in the same process): close lets a busy worker finish its chunk first.
    const many = Array.from({ length: 4 }, () => items).flat();
    for (let i = 0; i < 4; i++) {
      const own = new AdaptorWorkerPool({ size: 2 });
      await own.ready();
      const inFlight = assert.rejects(own.encryptMany(signer, many), WorkerPoolClosedError);
      await new Promise((r) => setTimeout(r, 5 + i * 3));
      await own.close();
      await inFlight;
      assert.equal(own.liveWorkers, 0);
    }
  });

  it('a rollover (high priority) goes ahead of a flood of queued setups (normal)', async () => {
    const own = new AdaptorWorkerPool({ size: 1 });
    try {
      await own.ready();
      const order: string[] = [];
      // Ten setups' worth of chunks queue on the one worker before the rollover arrives.
      const setups = Array.from({ length: 10 }, (_, i) =>
        own.encryptMany(signer, items).then(() => order.push(`setup-${i}`)),
      );
      assert.ok(own.queued.normal > 0);
      const rollover = own
        .encryptMany(signer, items.slice(0, 40), { priority: 'high' })
        .then(() => order.push('rollover'));
      assert.ok(own.queued.high > 0);
      await Promise.all([...setups, rollover]);
      // Only the chunk already running may finish before it; every queued setup waits.
      assert.equal(order[0], 'rollover', order.join(' '));
    } finally {
      await own.close();
    }
  });

  it('within a priority an older run goes first: its later step jumps the queued steps of newer runs', async () => {
    const own = new AdaptorWorkerPool({ size: 1 });
    try {
      await own.ready();
      const order: string[] = [];
      // A wave of runs: run 0 started first, then runs 1–8 queued their first step while run 0
      // was busy between steps (a message round trip); now run 0 asks for its second step.
      const started = performance.now();
      const newer = Array.from({ length: 8 }, (_, i) =>
        own
          .encryptMany(signer, items, { since: started + 1 + i })
          .then(() => order.push(`run-${i + 1}`)),
      );
      assert.ok(own.queued.normal > 0);
      const second = own
        .encryptMany(signer, items.slice(0, 40), { since: started })
        .then(() => order.push('run-0 step 2'));
      await Promise.all([...newer, second]);
      // Only the chunk already running may finish before it; in arrival order it would be last.
      assert.equal(order[0], 'run-0 step 2', order.join(' '));
      // The newer runs complete in the order they started, not interleaved to a common end.
      assert.deepEqual(order.slice(1), [
        'run-1',
        'run-2',
        'run-3',
        'run-4',
        'run-5',
        'run-6',
        'run-7',
        'run-8',
      ]);
    } finally {
      await own.close();
    }
  });

  it('refuses a pool size that is not a positive whole number', () => {
    assert.throws(() => new AdaptorWorkerPool({ size: 0 }), RangeError);
    assert.throws(() => new AdaptorWorkerPool({ size: 1.5 }), RangeError);
  });
});
