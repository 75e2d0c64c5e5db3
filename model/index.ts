/**
 * The CFD domain, pure: units, offers and orders, fees and funding, and the CFD aggregate.
 *
 * Nothing in model/ does IO or reads a clock; callers pass `now`. Both parties of a contract run
 * this code and must reach the same satoshi, so money is `bigint` and every rounding is named.
 *
 * @example
 * ```ts
 * import { decide, apply, EMPTY_CFD, uiState } from './model/index.ts';
 * const events = decide(EMPTY_CFD, { type: 'placeOrder', terms }, now);
 * const cfd = events.reduce(apply, EMPTY_CFD);
 * uiState(cfd); // 'pendingSetup'
 * ```
 */
export * from './cfd.ts';
export * from './errors.ts';
export * from './fee-bump.ts';
export * from './fees.ts';
export * from './fixed.ts';
export * from './limits.ts';
export * from './offer.ts';
export * from './oracle-event.ts';
export * from './units.ts';
