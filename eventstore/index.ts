/**
 * The event log: LevelDB-backed, append-only, with optimistic concurrency per stream, group
 * commit, ordered live subscriptions and projections that survive restarts.
 *
 * @example
 * ```ts
 * const store = await EventStore.open(join(dataDir, 'events'), { logger });
 * const cfds = new CfdRepository(store);
 * await cfds.execute(orderId, { type: 'placeOrder', terms });
 * const readModel = await CfdReadModel.open(store); // rebuilds or resumes, then follows live
 * ```
 */
export * from './cfd-read-model.ts';
export * from './cfd-repository.ts';
export * from './contract-store.ts';
export * from './errors.ts';
export * from './event-store.ts';
