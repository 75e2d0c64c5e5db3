/**
 * `/dlcfd/order/1.0.0` — a taker places an order on a maker's offer; the maker accepts (by policy
 * or by its user) or rejects with a reason; then both set the contract up: parameters → every
 * signature (commit, CETs, refund) → signed lock → ack. Both end with the same signed lock and a
 * stored contract record ({@link ContractRecord}) from which either can get out alone.
 *
 * - `constants.ts` — protocol id, size limits, timeouts (each with its reason);
 * - `admission.ts` — the maker's per-peer and global limits, checked before any work;
 * - `messages.ts` — the wire schema, validated at the boundary;
 * - `setup.ts` — the IO-free state machines ({@link TakerSetup}, {@link MakerSetup});
 * - `order.ts` — the libp2p handler ({@link OrderProtocol}), on the shared driver (../driver.ts).
 *
 * @example
 * ```ts
 * const maker = new OrderProtocol(makerNode, { role: 'maker', repository, contracts, wallet,
 *   oracle, pool, offers: () => published, policy: () => ({ accept: true }) });
 * await maker.start();
 * const taker = new OrderProtocol(takerNode, { role: 'taker', repository, contracts, wallet, oracle, pool });
 * const { outcome } = await taker.placeOrder(makerPeerId, offer, { quantity: 3_500n, leverage: 5 });
 * if (outcome.type === 'completed') await broadcast(rpc, outcome.lockTx.toHex());
 * ```
 */
export type { ContractRecord } from '../../dlc/contract.ts';
export * from './admission.ts';
export * from './constants.ts';
export * from './errors.ts';
export * from './messages.ts';
export * from './order.ts';
export * from './setup.ts';
