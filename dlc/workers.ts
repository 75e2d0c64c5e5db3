/**
 * A pool of worker threads that encrypts or verifies whole sets of ECDSA adaptor signatures in
 * parallel: the CETs of a contract need one per digit prefix (≈ 1,700 for a 5× BTCUSD curve), at
 * every setup and rollover. Spreading them over all cores divides the wall time by the core
 * count, and keeps the node's event loop free while they are computed.
 *
 * This module (with its worker entry `dlc/adaptor-worker.ts`) is the one exception to dlc/ being
 * pure: it starts threads. The results are exactly those of `adaptorEncrypt` / `adaptorVerify`,
 * which the workers call.
 *
 * Lifecycle: start one pool per process (`new AdaptorWorkerPool()`), reuse it for every contract,
 * `close()` it on shutdown. Idle workers are unref'd, so a forgotten pool does not keep the
 * process alive; workers that die are replaced and fail only the chunk they were running.
 *
 * The workers run the TypeScript sources: under Node's type stripping (Node ≥ 22.18/24) the
 * `.ts` entry loads as is; otherwise the parent's `--import tsx` (inherited `execArgv`, as under
 * mocha) loads it, and without either `--import tsx` is added.
 */
import { availableParallelism } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import { ADAPTOR_SIGNATURE_LENGTH, adaptorEncrypt } from './adaptor.ts';
import * as errors from './errors.ts';
import { DlcError, WorkerPoolClosedError } from './errors.ts';
import { parseSecretScalar } from './secp.ts';

/** One adaptor signature to produce: the message hash encrypted to a point. */
export interface AdaptorEncryptItem {
  /** 33-byte compressed encryption point (e.g. the anticipated oracle point of a prefix). */
  readonly encryptionKey: Uint8Array;
  /** 32-byte message hash (the CET sighash). */
  readonly msg32: Uint8Array;
  /** As in `adaptorEncrypt`: 32 bytes, `null` for the deterministic variant, omitted = random. */
  readonly auxRand?: Uint8Array | null;
}

/** One adaptor signature to check (as `adaptorVerify` takes it, minus the shared public key). */
export interface AdaptorVerifyItem {
  readonly adaptorSignature: Uint8Array;
  readonly msg32: Uint8Array;
  readonly encryptionKey: Uint8Array;
}

/**
 * Whose work goes first. `high`: rollovers of positions that already exist (their deadline is the
 * settlement interval, and they are bounded by the positions we hold); `normal`: new contract
 * setups, which anyone can ask for. Queued `high` chunks are handed to the next idle worker
 * before any `normal` one, so a flood of setups cannot delay a rollover by more than the chunks
 * already running (a chunk is ~15–30 ms).
 */
export type AdaptorPriority = 'high' | 'normal';

/** Per-call options of {@link AdaptorWorkerPool.encryptMany} / {@link AdaptorWorkerPool.verifyMany}. */
export interface AdaptorWorkOptions {
  /** @default 'normal' */
  readonly priority?: AdaptorPriority;
  /**
   * When the protocol run this work belongs to started, on the `performance.now()` clock; within
   * a priority, queued chunks of older runs go first. A run needs the pool two or three
   * times (verify the other side's set, then encrypt its own), each after a message round trip:
   * handed out in arrival order, the later steps of every run would queue behind the first step
   * of every newer one, and under a wave of runs (a maker's takers all rolling over at one
   * oracle event) all of them would finish together at the end of the wave — late, and past
   * their peers' read timeouts — instead of one after another. Default: the call's own time.
   */
  readonly since?: number;
}

/** Options of {@link AdaptorWorkerPool}. */
export interface AdaptorWorkerPoolOptions {
  /** Number of worker threads; default `os.availableParallelism()`. */
  readonly size?: number;
}

/** Aux randomness mode of a packed encrypt item. */
export const AUX_RANDOM = 0;
export const AUX_NONE = 1;
export const AUX_GIVEN = 2;

/** A chunk of work, items packed into flat byte arrays (cheap to transfer between threads). */
export type WorkerRequest =
  | {
      readonly id: number;
      readonly op: 'encrypt';
      readonly secretKey: Uint8Array;
      /** n × 33-byte encryption points. */
      readonly keys: Uint8Array;
      /** n × 32-byte message hashes. */
      readonly msgs: Uint8Array;
      /** n × 32-byte aux randomness (used where auxMode is AUX_GIVEN). */
      readonly aux: Uint8Array;
      /** n modes: AUX_RANDOM, AUX_NONE or AUX_GIVEN. */
      readonly auxMode: Uint8Array;
    }
  | {
      readonly id: number;
      readonly op: 'verify';
      readonly publicKey: Uint8Array;
      /** n × 162-byte adaptor signatures. */
      readonly sigs: Uint8Array;
      readonly msgs: Uint8Array;
      readonly keys: Uint8Array;
    };

/** A worker's answer: n × 162 signature bytes or n verdict bytes, or the first item's error. */
export type WorkerResponse =
  | { readonly id: number; readonly ok: true; readonly result: Uint8Array }
  | {
      readonly id: number;
      readonly ok: false;
      readonly index: number;
      readonly name: string;
      readonly message: string;
    };

/**
 * Chunks per worker a job is cut into, so a worker slowed by other processes on its core does
 * not hold up the whole job (idle workers take the remaining chunks), and the last chunk of a
 * setup — when only one worker may still be busy — is short: ~100 of a CET set's 1,661 items,
 * ~15 ms, rather than ~200. A chunk costs one message round trip (~0.1 ms) and one batch
 * inversion (~20 µs).
 */
const CHUNKS_PER_WORKER = 8;
/** Fewest items worth a message round trip (~0.1 ms, vs ~0.12–0.18 ms of work per item). */
const MIN_CHUNK_ITEMS = 16;

/** Longest close() waits for a busy worker to finish its chunk (one is ~15–200 ms). */
const CLOSE_GRACE_MS = 2_000;

const WORKER_URL = new URL('./adaptor-worker.ts', import.meta.url);

/**
 * Young generation of each worker, MB. A worker's garbage is short-lived byte arrays; V8's
 * default on a large machine lets the young generation grow far beyond this per thread, resident
 * memory for nothing here.
 */
const WORKER_YOUNG_GENERATION_MB = 16;

interface Task {
  readonly message: Omit<WorkerRequest, 'id'>;
  readonly transfer: ArrayBuffer[];
  readonly resolve: (result: Uint8Array) => void;
  readonly reject: (error: Error) => void;
  /** Index of the chunk's first item in the whole job, to report errors by job index. */
  readonly offset: number;
  /** Queue order within a priority: the run's start ({@link AdaptorWorkOptions.since}), then arrival. */
  readonly since: number;
  readonly seq: number;
}

interface Slot {
  readonly worker: Worker;
  readonly ready: Promise<void>;
  task: Task | null;
  taskId: number;
}

/**
 * Worker threads signing and verifying adaptor signatures in bulk. Methods return the same
 * results as calling `adaptorEncrypt` / `adaptorVerify` item by item, in item order.
 */
export class AdaptorWorkerPool {
  /** Number of worker threads. */
  readonly size: number;
  #slots: Slot[] = [];
  /** Queued chunks per priority; {@link #pump} drains `high` first. */
  #queues: Record<AdaptorPriority, Task[]> = { high: [], normal: [] };
  #nextId = 1;
  #nextSeq = 0;
  #closed = false;

  constructor(options: AdaptorWorkerPoolOptions = {}) {
    const size = options.size ?? availableParallelism();
    if (!Number.isInteger(size) || size < 1) {
      throw new RangeError(`worker pool size must be a positive whole number, got ${size}`);
    }
    this.size = size;
    for (let i = 0; i < size; i++) this.#slots.push(this.#spawn());
  }

  /** Chunks waiting for a worker, per priority (for tests and metrics). */
  get queued(): Record<AdaptorPriority, number> {
    return { high: this.#queues.high.length, normal: this.#queues.normal.length };
  }

  /** Number of worker threads currently alive (0 after {@link close}). */
  get liveWorkers(): number {
    return this.#slots.length;
  }

  /** Resolves once every worker has loaded its modules (optional: work queues until then). */
  async ready(): Promise<void> {
    await Promise.all(this.#slots.map((slot) => slot.ready));
  }

  /**
   * `adaptorEncrypt(secretKey, item.encryptionKey, item.msg32, item.auxRand)` for every item, in
   * parallel; resolves to the 162-byte signatures in item order. Rejects with the error
   * `adaptorEncrypt` throws for a bad item (same class and message, plus `itemIndex`).
   */
  async encryptMany(
    secretKey: Uint8Array,
    items: readonly AdaptorEncryptItem[],
    options: AdaptorWorkOptions = {},
  ): Promise<Uint8Array[]> {
    this.#assertOpen();
    parseSecretScalar(secretKey, 'signing key');
    // Items the packed format cannot carry get their exact error from adaptorEncrypt itself.
    for (const item of items) {
      if (!isEncryptItemPackable(item)) {
        adaptorEncrypt(secretKey, item.encryptionKey, item.msg32, item.auxRand ?? null);
      }
    }
    const chunks = this.#chunkBounds(items.length).map(([start, end]) => {
      const n = end - start;
      const keys = new Uint8Array(n * 33);
      const msgs = new Uint8Array(n * 32);
      const aux = new Uint8Array(n * 32);
      const auxMode = new Uint8Array(n);
      for (let i = 0; i < n; i++) {
        const item = items[start + i] as AdaptorEncryptItem;
        keys.set(item.encryptionKey, i * 33);
        msgs.set(item.msg32, i * 32);
        if (item.auxRand === undefined) auxMode[i] = AUX_RANDOM;
        else if (item.auxRand === null) auxMode[i] = AUX_NONE;
        else {
          auxMode[i] = AUX_GIVEN;
          aux.set(item.auxRand, i * 32);
        }
      }
      const message = {
        op: 'encrypt' as const,
        secretKey: secretKey.slice(),
        keys,
        msgs,
        aux,
        auxMode,
      };
      return this.#run(
        message,
        [keys.buffer, msgs.buffer, aux.buffer, auxMode.buffer],
        start,
        options,
      );
    });
    const results = await Promise.all(chunks);
    return results.flatMap((packed) => unpack(packed, ADAPTOR_SIGNATURE_LENGTH));
  }

  /**
   * `adaptorVerify(item.adaptorSignature, publicKey, item.msg32, item.encryptionKey)` for every
   * item, in parallel; resolves to the verdicts in item order (malformed items are false).
   */
  async verifyMany(
    publicKey: Uint8Array,
    items: readonly AdaptorVerifyItem[],
    options: AdaptorWorkOptions = {},
  ): Promise<boolean[]> {
    this.#assertOpen();
    const verdicts: boolean[] = new Array(items.length).fill(false);
    if (!hasLength(publicKey, 33)) return verdicts;
    // Wrong-length items are invalid without any arithmetic; the rest go to the workers.
    const packable: number[] = [];
    items.forEach((item, i) => {
      if (isVerifyItemPackable(item)) packable.push(i);
    });
    const chunks = this.#chunkBounds(packable.length).map(async ([start, end]) => {
      const n = end - start;
      const sigs = new Uint8Array(n * ADAPTOR_SIGNATURE_LENGTH);
      const msgs = new Uint8Array(n * 32);
      const keys = new Uint8Array(n * 33);
      for (let i = 0; i < n; i++) {
        const item = items[packable[start + i] as number] as AdaptorVerifyItem;
        sigs.set(item.adaptorSignature, i * ADAPTOR_SIGNATURE_LENGTH);
        msgs.set(item.msg32, i * 32);
        keys.set(item.encryptionKey, i * 33);
      }
      const message = { op: 'verify' as const, publicKey: publicKey.slice(), sigs, msgs, keys };
      const packed = await this.#run(
        message,
        [sigs.buffer, msgs.buffer, keys.buffer],
        start,
        options,
      );
      packed.forEach((v, i) => {
        verdicts[packable[start + i] as number] = v === 1;
      });
    });
    await Promise.all(chunks);
    return verdicts;
  }

  /**
   * Terminates every worker. Work still queued or running is rejected with
   * {@link WorkerPoolClosedError}; later calls throw it. Idempotent.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const closed = (): WorkerPoolClosedError => new WorkerPoolClosedError();
    for (const queue of Object.values(this.#queues)) {
      for (const task of queue.splice(0)) task.reject(closed());
    }
    const slots = this.#slots.splice(0);
    await Promise.all(
      slots.map(async (slot) => {
        if (slot.task) {
          slot.task.reject(closed());
          // Terminating a worker inside a native secp256k1 call throws Napi::Error into a dying
          // environment, which aborts the whole process: let it answer its chunk first (its
          // answer, not its `ready`: a worker still loading gets to the chunk after that).
          await Promise.race([answered(slot.worker), sleep(CLOSE_GRACE_MS)]);
        }
        await slot.worker.terminate();
      }),
    );
  }

  #assertOpen(): void {
    if (this.#closed) throw new WorkerPoolClosedError();
  }

  /** [start, end) bounds splitting n items into balanced chunks. */
  #chunkBounds(n: number): [number, number][] {
    const count = Math.max(
      1,
      Math.min(this.size * CHUNKS_PER_WORKER, Math.floor(n / MIN_CHUNK_ITEMS)),
    );
    const bounds: [number, number][] = [];
    for (let c = 0; c < count; c++) {
      const start = Math.floor((c * n) / count);
      const end = Math.floor(((c + 1) * n) / count);
      if (end > start) bounds.push([start, end]);
    }
    return bounds;
  }

  #run(
    message: Task['message'],
    transfer: ArrayBuffer[],
    offset: number,
    options: AdaptorWorkOptions,
  ): Promise<Uint8Array> {
    return new Promise((resolve, reject) => {
      const seq = this.#nextSeq++;
      const task = {
        message,
        transfer,
        resolve,
        reject,
        offset,
        since: options.since ?? now(),
        seq,
      };
      insertInOrder(this.#queues[options.priority ?? 'normal'], task);
      this.#pump();
    });
  }

  /** Hands queued chunks to idle workers; a busy worker is ref'd so the process waits for it. */
  #pump(): void {
    for (const slot of this.#slots) {
      if (slot.task !== null) continue;
      const task = this.#queues.high.shift() ?? this.#queues.normal.shift();
      if (task === undefined) return;
      slot.task = task;
      slot.taskId = this.#nextId++;
      slot.worker.ref();
      slot.worker.postMessage({ ...task.message, id: slot.taskId }, task.transfer);
    }
  }

  #spawn(): Slot {
    const worker = new Worker(WORKER_URL, {
      execArgv: workerExecArgv(),
      resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB },
    });
    let markReady: () => void = () => {};
    let failReady: (error: Error) => void = () => {};
    const ready = new Promise<void>((resolve, reject) => {
      markReady = resolve;
      failReady = reject;
    });
    ready.catch(() => {}); // observed through ready() or the failed tasks
    const slot: Slot = { worker, ready, task: null, taskId: 0 };
    worker.on('message', (msg: WorkerResponse | { ready: true }) => {
      if ('ready' in msg) {
        markReady();
        if (slot.task === null) worker.unref();
        return;
      }
      const task = slot.task;
      if (task === null || msg.id !== slot.taskId) return;
      slot.task = null;
      worker.unref();
      if (msg.ok) task.resolve(msg.result);
      else task.reject(rebuildError(msg.name, msg.message, task.offset + msg.index));
      this.#pump();
    });
    const fail = (error: Error): void => {
      failReady(error);
      const i = this.#slots.indexOf(slot);
      if (i < 0) return; // closed, or already replaced
      this.#slots.splice(i, 1);
      slot.task?.reject(error);
      slot.task = null;
      if (!this.#closed) {
        this.#slots.push(this.#spawn());
        this.#pump();
      }
    };
    worker.on('error', fail);
    worker.on('exit', (code) => {
      fail(new DlcError(`adaptor worker exited unexpectedly (code ${code})`));
    });
    return slot;
  }
}

/**
 * The `execArgv` workers start with: the parent's (so `--import tsx` carries over), plus
 * `--import tsx` when neither Node's type stripping nor tsx would load the `.ts` entry.
 */
const HEAP_SIZE_FLAG = /^--(max|min)-(semi|old)-space-size(=|$)|^--max-heap-size(=|$)/;

/**
 * The parent's `execArgv` for a worker, without the V8 heap-size flags a worker refuses
 * (ERR_WORKER_INVALID_EXEC_ARGV: they are per process; bin/dlcfd.js sets one).
 */
function workerExecArgv(): string[] {
  const argv = process.execArgv.filter((arg) => !HEAP_SIZE_FLAG.test(arg));
  const hasTsx = argv.some((arg) => /(^|[=/\s])tsx(\/|$)/.test(arg));
  if (!process.features.typescript && !hasTsx) argv.push('--import', 'tsx');
  return argv;
}

/** The dlc/ error class a worker threw, rebuilt by name (class identity does not cross threads). */
function rebuildError(name: string, message: string, index: number): Error {
  const ctor = (errors as Record<string, unknown>)[name];
  if (typeof ctor === 'function' && ctor.prototype instanceof DlcError) {
    const error = new (ctor as new (message: string) => Error)(message);
    return Object.assign(error, { itemIndex: index });
  }
  const error = new DlcError(`adaptor worker failed on item ${index}: ${name}: ${message}`);
  return Object.assign(error, { itemIndex: index });
}

/**
 * Puts `task` after every queued task of the same or an older run (smaller `since`, then `seq`).
 * Scans from the back: new work is usually the newest run's, so this is O(1) then.
 */
const now = (): number => performance.now();

/** Resolves at the worker's next answer to a chunk (not its `ready` message), or its exit. */
function answered(worker: Worker): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      worker.off('message', onMessage);
      worker.off('exit', done);
      worker.off('error', done);
      resolve();
    };
    const onMessage = (msg: WorkerResponse | { ready: true }): void => {
      if (!('ready' in msg)) done();
    };
    worker.on('message', onMessage);
    worker.on('exit', done);
    worker.on('error', done);
  });
}

function insertInOrder(queue: Task[], task: Task): void {
  let i = queue.length;
  while (i > 0) {
    const before = queue[i - 1] as Task;
    if (before.since < task.since || (before.since === task.since && before.seq < task.seq)) break;
    i--;
  }
  queue.splice(i, 0, task);
}

function hasLength(bytes: unknown, length: number): boolean {
  return bytes instanceof Uint8Array && bytes.length === length;
}

function isEncryptItemPackable(item: AdaptorEncryptItem): boolean {
  return (
    hasLength(item.encryptionKey, 33) &&
    hasLength(item.msg32, 32) &&
    (item.auxRand === undefined || item.auxRand === null || hasLength(item.auxRand, 32))
  );
}

function isVerifyItemPackable(item: AdaptorVerifyItem): boolean {
  return (
    hasLength(item.adaptorSignature, ADAPTOR_SIGNATURE_LENGTH) &&
    hasLength(item.msg32, 32) &&
    hasLength(item.encryptionKey, 33)
  );
}

function unpack(packed: Uint8Array, size: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < packed.length; i += size) out.push(packed.slice(i, i + size));
  return out;
}
