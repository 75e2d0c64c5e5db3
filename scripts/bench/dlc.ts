// DLC crypto figures:
// - dlc.adaptor_sign / dlc.adaptor_verify: ops/s on one core with the active implementation
//   (native libsecp256k1 where its bindings load); *_noble: the pure-JS fallback, for comparison.
// - dlc.cet_set_signatures: adaptor signatures in the CET set of the 54000 / 3500 contracts /
//   long 5× curve: the rows of our payout curve (dlc/payout-curve.ts, the same 201 bounds as
//   ItchySats' snapshot, the last extended to 2^20 − 1), each decomposed into digit prefixes.
// - dlc.cet_set_anticipated_points: ms to derive the set's oracle points from a fresh event.
// - dlc.cet_set_sign_verify: ms to compute the set's anticipated oracle points (fresh event),
//   encrypt one adaptor signature per prefix and verify the counterparty's, over all cores with
//   a started pool (median of the runs; the pool is started once per process in the node).
// - dlc.cet_set_sign_verify_1core: the same on the main thread only.
// - dlc.pool_start: ms to start the worker pool and load its modules (once per process).
import { availableParallelism } from 'node:os';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { randomBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import {
  ADAPTOR_BACKEND,
  type AdaptorBackend,
  AdaptorWorkerPool,
  adaptorBackend,
  adaptorEncrypt,
  adaptorVerify,
  anticipatedPoints,
  type Digit,
  decomposeInterval,
  payoutCurve,
  prepareOracleEvent,
} from '../../dlc/index.ts';
import { price } from '../../model/units.ts';
import { median } from './live.ts';

/** Seconds each single-core rate is measured for (long enough to swamp JIT warm-up). */
const RATE_SECONDS = 2;
/** Timed runs of the whole CET set; the median is reported (other processes share the CPU). */
const SET_RUNS = 5;

const figure = (name: string, value: number, unit: string): void => {
  console.log(`${name} ${Math.round(value)} ${unit}`);
};

const pub = (sk: Uint8Array): Uint8Array => secp256k1.getPublicKey(sk, true);
const xOnly = (): Uint8Array => pub(secp256k1.utils.randomSecretKey()).subarray(1);

/** One CET per payout row; its prefixes share the CET's sighash. */
function cetSet(): { prefixes: Digit[][]; msgs: Uint8Array[] } {
  const curve = payoutCurve({
    initialPrice: price(54_000),
    quantity: 3_500n,
    longLeverage: 5,
    shortLeverage: 1,
  });
  const prefixes: Digit[][] = [];
  const msgs: Uint8Array[] = [];
  curve.rows.forEach(({ start, end }, i) => {
    const sighash = sha256(utf8ToBytes(`cet/${i}`));
    for (const prefix of decomposeInterval(start, end)) {
      prefixes.push(prefix);
      msgs.push(sighash);
    }
  });
  return { prefixes, msgs };
}

function rates(backend: AdaptorBackend, suffix: string, seconds: number): void {
  const sk = secp256k1.utils.randomSecretKey();
  const pk = pub(sk);
  const points = Array.from({ length: 64 }, () => pub(secp256k1.utils.randomSecretKey()));
  const msg = randomBytes(32);
  const sigs: Uint8Array[] = [];
  let t0 = performance.now();
  while (performance.now() - t0 < seconds * 1000) {
    sigs.push(backend.encrypt(sk, points[sigs.length % 64] as Uint8Array, msg, randomBytes(32)));
  }
  figure(`dlc.adaptor_sign${suffix}`, (sigs.length * 1000) / (performance.now() - t0), 'ops/s');
  let verified = 0;
  t0 = performance.now();
  while (performance.now() - t0 < seconds * 1000) {
    const i = verified % sigs.length;
    backend.assert(sigs[i] as Uint8Array, pk, msg, points[i % 64] as Uint8Array);
    verified++;
  }
  figure(`dlc.adaptor_verify${suffix}`, (verified * 1000) / (performance.now() - t0), 'ops/s');
}

export async function dlc(): Promise<void> {
  console.log(`# adaptor backend: ${ADAPTOR_BACKEND}, cores: ${availableParallelism()}`);
  const active = adaptorBackend(ADAPTOR_BACKEND) as AdaptorBackend;
  rates(active, '', RATE_SECONDS);
  if (ADAPTOR_BACKEND !== 'noble') rates(adaptorBackend('noble') as AdaptorBackend, '_noble', 1);

  const { prefixes, msgs } = cetSet();
  figure('dlc.cet_set_signatures', prefixes.length, 'signatures');
  const ours = secp256k1.utils.randomSecretKey();
  const theirs = secp256k1.utils.randomSecretKey();
  const theirsPub = pub(theirs);
  const oracleKey = xOnly();
  const nonces = Array.from({ length: 20 }, xOnly);

  // The counterparty's signatures we verify, made up front (they arrive over the wire).
  const warmEvent = prepareOracleEvent(oracleKey, nonces);
  const warmPoints = anticipatedPoints(warmEvent, prefixes);
  const theirSigs = prefixes.map((_, i) =>
    adaptorEncrypt(theirs, warmPoints[i] as Uint8Array, msgs[i] as Uint8Array),
  );

  let t0 = performance.now();
  anticipatedPoints(prepareOracleEvent(oracleKey, nonces), prefixes);
  figure('dlc.cet_set_anticipated_points', performance.now() - t0, 'ms');

  t0 = performance.now();
  const pool = new AdaptorWorkerPool();
  await pool.ready();
  figure('dlc.pool_start', performance.now() - t0, 'ms');
  try {
    const timings: number[] = [];
    for (let run = 0; run < SET_RUNS + 1; run++) {
      t0 = performance.now();
      // A fresh event each time: nothing memoized from the run before.
      const event = prepareOracleEvent(oracleKey, nonces);
      const points = anticipatedPoints(event, prefixes);
      const [mine, verdicts] = await Promise.all([
        pool.encryptMany(
          ours,
          prefixes.map((_, i) => ({
            encryptionKey: points[i] as Uint8Array,
            msg32: msgs[i] as Uint8Array,
          })),
        ),
        pool.verifyMany(
          theirsPub,
          prefixes.map((_, i) => ({
            adaptorSignature: theirSigs[i] as Uint8Array,
            msg32: msgs[i] as Uint8Array,
            encryptionKey: points[i] as Uint8Array,
          })),
        ),
      ]);
      const elapsed = performance.now() - t0;
      if (mine.length !== prefixes.length || !verdicts.every(Boolean)) {
        throw new Error('CET set benchmark: a signature did not verify');
      }
      if (run > 0) timings.push(elapsed); // run 0 warms the workers' JIT
    }
    figure('dlc.cet_set_sign_verify', median(timings), 'ms');
  } finally {
    await pool.close();
  }

  t0 = performance.now();
  const event = prepareOracleEvent(oracleKey, nonces);
  const points = anticipatedPoints(event, prefixes);
  prefixes.forEach((_, i) => {
    const point = points[i] as Uint8Array;
    const msg = msgs[i] as Uint8Array;
    adaptorEncrypt(ours, point, msg);
    if (!adaptorVerify(theirSigs[i] as Uint8Array, theirsPub, msg, point)) {
      throw new Error('CET set benchmark: a signature did not verify');
    }
  });
  figure('dlc.cet_set_sign_verify_1core', performance.now() - t0, 'ms');
}
