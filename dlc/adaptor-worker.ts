/**
 * Worker-thread entry of {@link AdaptorWorkerPool} (`dlc/workers.ts`): encrypts or verifies one
 * chunk of adaptor signatures per message with the ordinary `dlc/adaptor.ts` functions (so native
 * libsecp256k1 where it loads), and answers with packed results. Part of the pool, the one
 * thread-using exception to dlc/'s purity; not meant to be imported.
 *
 * Messages: see the `WorkerRequest` / `WorkerResponse` types in `dlc/workers.ts`.
 */
import { parentPort } from 'node:worker_threads';
import { randomBytes } from '@noble/hashes/utils.js';
import { ADAPTOR_SIGNATURE_LENGTH, adaptorEncrypt, adaptorVerify } from './adaptor.ts';
import { AUX_GIVEN, AUX_RANDOM, type WorkerRequest, type WorkerResponse } from './workers.ts';

const port = parentPort;
if (port === null) throw new Error('dlc/adaptor-worker.ts must run as a worker thread');

function handle(req: WorkerRequest): WorkerResponse {
  if (req.op === 'encrypt') {
    const n = req.auxMode.length;
    const out = new Uint8Array(n * ADAPTOR_SIGNATURE_LENGTH);
    for (let i = 0; i < n; i++) {
      const mode = req.auxMode[i];
      const aux =
        mode === AUX_RANDOM ? randomBytes(32) : mode === AUX_GIVEN ? slice(req.aux, i, 32) : null;
      try {
        const sig = adaptorEncrypt(
          req.secretKey,
          slice(req.keys, i, 33),
          slice(req.msgs, i, 32),
          aux,
        );
        out.set(sig, i * ADAPTOR_SIGNATURE_LENGTH);
      } catch (e) {
        const err = e instanceof Error ? e : new Error(String(e));
        return { id: req.id, ok: false, index: i, name: err.name, message: err.message };
      }
    }
    return { id: req.id, ok: true, result: out };
  }
  const n = req.msgs.length / 32;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const sig = slice(req.sigs, i, ADAPTOR_SIGNATURE_LENGTH);
    out[i] = adaptorVerify(sig, req.publicKey, slice(req.msgs, i, 32), slice(req.keys, i, 33))
      ? 1
      : 0;
  }
  return { id: req.id, ok: true, result: out };
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
