/**
 * `/dlcfd/collab-settlement/1.0.0` — the taker proposes to close a CFD at the current quote, the
 * maker decides, both sign the same close transaction (it spends the lock directly, paying the
 * payout-curve row at the agreed price minus half the close fee each) and each side's process
 * manager publishes it (node/daemon/process-manager.ts).
 *
 * - close.ts: {@link CloseContext} (what the protocol needs about a contract) and the pure
 *   computations: closing price, curve payouts, the close transaction, the price tolerance.
 * - settlement.ts: the IO-free state machines {@link TakerSettlement} and {@link MakerSettlement}.
 * - run.ts: the machines on the shared driver (../driver.ts): commands as effects, the maker's
 *   decision as a request.
 * - handler.ts: the libp2p stream handlers {@link CollabSettlementTaker} (`settle(cfdId)`) and
 *   {@link CollabSettlementMaker} (policy or manual `accept`/`reject`).
 * - messages.ts: the wire schema; constants.ts: id, limits, timeouts; errors.ts: named errors.
 */
export * from './close.ts';
export * from './constants.ts';
export * from './errors.ts';
export * from './handler.ts';
export { type CollabMessage, CollabSettlementMessage, messageToWire } from './messages.ts';
export * from './settlement.ts';
