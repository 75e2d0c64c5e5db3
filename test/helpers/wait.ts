/**
 * Polling for specs: wait until something the code under test does asynchronously has happened.
 *
 * One loop for every spec, so that a wait reads the same everywhere and says what it waited for
 * when it times out.
 */
import { setTimeout as sleep } from 'node:timers/promises';

/** What a poll returns while the thing waited for has not happened yet. */
export type NotYet = undefined | null | false;

/** How long {@link until} waits by default, in milliseconds. */
export const WAIT_MS = 10_000;

/** How often {@link until} polls by default, in milliseconds. */
export const POLL_MS = 20;

/**
 * Calls `get` every `everyMs` until it returns something other than `undefined`, `null` or
 * `false`, and returns that; a `get` returning a boolean is thus a condition. Fails with
 * "timed out after `ms` ms waiting for `what`" once `ms` have passed. An error thrown by `get`
 * fails the wait at once.
 */
export async function until<T>(
  what: string,
  get: () => T | PromiseLike<T>,
  ms = WAIT_MS,
  everyMs = POLL_MS,
): Promise<Exclude<T, NotYet>> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await get();
    if (v !== undefined && v !== null && v !== false) return v as Exclude<T, NotYet>;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/**
 * {@link until} with other defaults, for a set of specs whose waits are all longer (a whole
 * network) or shorter (an in-process unit).
 */
export function untilWithin(
  defaultMs: number,
  everyMs = POLL_MS,
): <T>(what: string, get: () => T | PromiseLike<T>, ms?: number) => Promise<Exclude<T, NotYet>> {
  return (what, get, ms = defaultMs) => until(what, get, ms, everyMs);
}

/** The one call a mempool wait needs of a Bitcoin node. */
export interface MempoolView {
  getMempoolEntry(txid: string): Promise<unknown>;
}

/** Waits until `txid` is in the mempool of the node behind `rpc`. */
export async function untilInMempool(rpc: MempoolView, txid: string, ms = 15_000): Promise<void> {
  await until(`${txid} in the mempool`, () => rpc.getMempoolEntry(txid), ms, 25);
}
