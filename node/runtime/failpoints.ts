/**
 * Fail points: named steps of the order and rollover handlers where a test can make the node die
 * by SIGKILL, exactly as a power cut or the OOM killer would, to prove every CFD ends consistent
 * after a restart (`test/e2e/crash.spec.ts`).
 *
 * Inert unless armed. Arming is read once from the environment at the first check:
 * - `DLCFD_FAILPOINTS=order.taker.after-send-lockSignature:kill,rollover.maker.after-persist-pending:kill`
 *   arms those points (`kill` is the only action today);
 * - `DLCFD_FAILPOINTS_FILE=/path` re-reads that file (same syntax, one spec per line or comma
 *   separated) at every check, so a test can arm and disarm a long-running node between cases
 *   without restarting it. A missing file arms nothing.
 * With neither set, {@link failPoint} is one boolean test.
 *
 * Names: `<protocol>.<role>.<step>`, where step is one of
 * - `after-send-<message>` — the message is written to the stream (it may or may not have reached
 *   the peer: the kill races the bytes);
 * - `after-receive-<message>` — the peer's message is read, nothing done with it yet;
 * - `after-record-<command>` — the CFD command's events are durable in the log;
 * - `after-persist-pending` / `after-persist-final` — the contract record is fsync'd (setup: the
 *   record with the unsigned lock, stored before our lock signature leaves, then the one with the
 *   signed lock; rollover: the record with the new commit before any revocation secret leaves,
 *   then the one with the counterparty's secrets);
 * - `before-send-<message>` — for the sends that reveal something irreversible (our lock
 *   signature, our revocation secrets): the step before them is durable, they have not left.
 * Between two consecutive points of one run there is no durable write and no send, so together
 * they cover every place a real crash can hit.
 */
import { readFileSync } from 'node:fs';

/** The environment variables read (documented above). */
export const FAILPOINTS_ENV = 'DLCFD_FAILPOINTS';
export const FAILPOINTS_FILE_ENV = 'DLCFD_FAILPOINTS_FILE';

/** Sends of these messages reveal something irreversible: they get a `before-send-` point too. */
const IRREVERSIBLE = new Set(['lockSignature', 'revocation']);

let armed: Set<string> | undefined;
let file: string | undefined;
let loaded = false;

function parse(spec: string): Set<string> {
  const out = new Set<string>();
  for (const part of spec.split(/[\s,]+/)) {
    const [name, action = 'kill'] = part.split(':');
    if (name && action === 'kill') out.add(name);
  }
  return out;
}

function load(): void {
  loaded = true;
  const spec = process.env[FAILPOINTS_ENV];
  if (spec) armed = parse(spec);
  file = process.env[FAILPOINTS_FILE_ENV] || undefined;
}

/** True when any fail point may be armed in this process (cheap; for callers that build names). */
export function failPointsEnabled(): boolean {
  if (!loaded) load();
  return armed !== undefined || file !== undefined;
}

function isArmed(name: string): boolean {
  if (armed?.has(name)) return true;
  if (file === undefined) return false;
  try {
    return parse(readFileSync(file, 'utf8')).has(name);
  } catch {
    return false;
  }
}

/** Dies at once by SIGKILL (no clean-up, no flush) if `name` is armed; otherwise does nothing. */
export function failPoint(name: string): void {
  if (!failPointsEnabled()) return;
  if (!isArmed(name)) return;
  process.stderr.write(`fail point ${name}: SIGKILL\n`);
  process.kill(process.pid, 'SIGKILL');
}

/** Structural twins of `protocols/driver.ts` (this module stays below protocols/). */
interface AnyTransport<M, T> {
  read(expecting: T): Promise<M>;
  write(message: M): Promise<void>;
  close(): Promise<void>;
  abort(err: Error): void;
}
interface AnyExecutor<E, Q, R> {
  effect(effect: E): Promise<void>;
  request(request: Q): Promise<R>;
}

/**
 * The transport with `after-receive-*`, `before-send-*` (irreversible sends) and `after-send-*`
 * points under `prefix` (e.g. `order.taker`). Returns the transport itself when nothing is armed.
 */
export function withFailPointsTransport<
  M extends { readonly type: string },
  T,
  X extends AnyTransport<M, T>,
>(prefix: string, transport: X): X {
  if (!failPointsEnabled()) return transport;
  return {
    ...transport,
    read: async (expecting: T) => {
      const m = await transport.read(expecting);
      failPoint(`${prefix}.after-receive-${m.type}`);
      return m;
    },
    write: async (message: M) => {
      if (IRREVERSIBLE.has(message.type)) failPoint(`${prefix}.before-send-${message.type}`);
      await transport.write(message);
      failPoint(`${prefix}.after-send-${message.type}`);
    },
  };
}

/**
 * The executor with `after-record-<command>` and `after-persist-<kind>` points under `prefix`;
 * `persistKind` names the record written (pending, final; a rollover's unfinished and
 * counterpartyOnly too).
 */
export function withFailPointsExecutor<
  E extends { readonly type: string },
  Q,
  R,
  X extends AnyExecutor<E, Q, R>,
>(prefix: string, executor: X, persistKind: (effect: E) => string | undefined): X {
  if (!failPointsEnabled()) return executor;
  return {
    ...executor,
    effect: async (effect: E) => {
      await executor.effect(effect);
      if (effect.type === 'record') {
        const command = (effect as unknown as { command: { type: string } }).command;
        failPoint(`${prefix}.after-record-${command.type}`);
      } else if (effect.type === 'persist') {
        const kind = persistKind(effect);
        if (kind) failPoint(`${prefix}.after-persist-${kind}`);
      }
    },
  };
}
