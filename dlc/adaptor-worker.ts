/**
 * Worker-thread entry of {@link AdaptorWorkerPool} (`dlc/workers.ts`): encrypts or verifies one
 * chunk of adaptor signatures per message with `dlc/adaptor.ts`'s whole-set functions
 * (`adaptorEncryptMany` / `adaptorVerifyMany`: native libsecp256k1 where it loads, one batch
 * inversion per chunk), and answers with packed results. Part of the pool, the one
 * thread-using exception to dlc/'s purity; not meant to be imported.
 *
 * Messages: see the `WorkerRequest` / `WorkerResponse` types in `dlc/workers.ts`.
 */
import { parentPort } from 'node:worker_threads';
import { randomBytes } from '@noble/hashes/utils.js';
import {
  ADAPTOR_SIGNATURE_LENGTH,
  adaptorEncrypt,
  adaptorEncryptMany,
  adaptorVerifyMany,
} from './adaptor.ts';
import { AUX_GIVEN, AUX_RANDOM, type WorkerRequest, type WorkerResponse } from './workers.ts';

const port = parentPort;
if (port === null) throw new Error('dlc/adaptor-worker.ts must run as a worker thread');

function handle(req: WorkerRequest): WorkerResponse {
  if (req.op === 'encrypt') {
    const n = req.auxMode.length;
    // One draw for the chunk's fresh aux randomness (each item still gets its own 32 bytes).
    const random = req.auxMode.includes(AUX_RANDOM) ? randomAux(n) : new Uint8Array(0);
    const items = Array.from({ length: n }, (_, i) => {
      const mode = req.auxMode[i];
      const auxRand =
        mode === AUX_RANDOM
          ? slice(random, i, 32)
          : mode === AUX_GIVEN
            ? slice(req.aux, i, 32)
            : null;
      return { encryptionKey: slice(req.keys, i, 33), msg32: slice(req.msgs, i, 32), auxRand };
    });
    const out = new Uint8Array(n * ADAPTOR_SIGNATURE_LENGTH);
    try {
      adaptorEncryptMany(req.secretKey, items).forEach((sig, i) => {
        out.set(sig, i * ADAPTOR_SIGNATURE_LENGTH);
      });
      return { id: req.id, ok: true, result: out };
    } catch {
      // Some item is bad: find the first one (the same randomness, so the same error).
    }
    for (const [i, item] of items.entries()) {
      try {
        adaptorEncrypt(req.secretKey, item.encryptionKey, item.msg32, item.auxRand);
      } catch (e) {
        const err = e instanceof Error ? e : new Error(String(e));
        return { id: req.id, ok: false, index: i, name: err.name, message: err.message };
      }
    }
    throw new Error('internal: the batch failed but no item does');
  }
  const n = req.msgs.length / 32;
  const items = Array.from({ length: n }, (_, i) => ({
    adaptorSignature: slice(req.sigs, i, ADAPTOR_SIGNATURE_LENGTH),
    msg32: slice(req.msgs, i, 32),
    encryptionKey: slice(req.keys, i, 33),
  }));
  const out = Uint8Array.from(adaptorVerifyMany(req.publicKey, items), (v) => (v ? 1 : 0));
  return { id: req.id, ok: true, result: out };
}

/** n × 32 random bytes, drawn in pieces (getRandomValues gives at most 64 KiB at a time). */
function randomAux(n: number): Uint8Array {
  const out = new Uint8Array(n * 32);
  for (let off = 0; off < out.length; off += 65_536) {
    out.set(randomBytes(Math.min(65_536, out.length - off)), off);
  }
  return out;
}

/** Item i of a packed array of `size`-byte items (a view, no copy). */
function slice(packed: Uint8Array, i: number, size: number): Uint8Array {
  return packed.subarray(i * size, (i + 1) * size);
}

port.on('message', (req: WorkerRequest) => {
  const res = handle(req);
  port.postMessage(res, res.ok ? [res.result.buffer as ArrayBuffer] : []);
});
port.postMessage({ ready: true });
