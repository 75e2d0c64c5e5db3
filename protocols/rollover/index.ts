/**
 * `/dlcfd/rollover/1.0.0` — the taker rolls an open CFD over on its cadence: the maker supplies
 * the next settlement event (one interval ahead) and the hourly liquidation events, the fee and
 * funding rates; both make new publish/revocation keys, sign a new commit, CETs and refund on the
 * same lock, persist them, then reveal the old revocation secrets (taker first).
 *
 * - `constants.ts` — protocol id, bounds, timeouts, defaults;
 * - `messages.ts` — the wire schema;
 * - `contract.ts` — pure helpers (events, fee balance, the rules of a base, the rolled record;
 *   the record's commit chain and lifecycle are `dlc/record.ts`);
 * - `machine.ts` — the IO-free machines ({@link TakerRollover}, {@link MakerRollover});
 * - `rollover.ts` — the libp2p handler ({@link RolloverProtocol}), on the shared driver (../driver.ts);
 * - `scheduler.ts` — when a taker rolls over ({@link rolloverDue}, {@link RolloverScheduler}).
 */
export * from './constants.ts';
export * from './contract.ts';
export * from './errors.ts';
export * from './machine.ts';
export * from './messages.ts';
export * from './rollover.ts';
export * from './scheduler.ts';
