// Contract setup figures:
// - setup.rollover: ms from the taker proposing a rollover until both completed it (new commit,
//   CETs of the settlement event with the whole curve and of 24 liquidation events, refund,
//   revocation secrets exchanged, records stored), same curve, same nodes; announcements cached.
// - setup.contract_setup: ms from the taker placing an order until both nodes hold the signed lock
//   (both outcomes completed: records stored, events appended), 54000 / 3500 contracts / taker 5×
//   curve (≈ 1,700 adaptor signatures each way), both nodes in this process over libp2p on
//   loopback, real wallets on the embedded chain, a local oracle; one adaptor worker pool (all
//   cores) shared by both nodes, as both share this machine's cores. Median of the runs.
import { rm } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { CfdRepository } from '../../eventstore/cfd-repository.ts';
import { LevelContractStore } from '../../eventstore/contract-store.ts';
import type { Offer } from '../../model/offer.ts';
import { parseFundingRate } from '../../model/units.ts';
import { orderWallet } from '../../node/daemon/protocol-ports.ts';
import { OracleClient } from '../../node/oracle/client.ts';
import { OrderProtocol } from '../../protocols/order/index.ts';
import {
  liquidationEventIds,
  nextSettlementEventId,
  RolloverProtocol,
} from '../../protocols/rollover/index.ts';
import * as live from '../../test/helpers/live-nodes.ts';
import { benchWorld, EVENT_INTERVAL_S, median, SETTLEMENT_INTERVAL_S } from './live.ts';

/** Timed runs (after one warm-up); the median is reported. */
const RUNS = 5;

export async function setup(): Promise<void> {
  const { dir, chain, rpc, feed, oracle, pool } = await benchWorld('setup');
  let skew = 0;
  const rolloverClock = () => Math.floor(Date.now() / 1000) + skew;
  const now = Math.floor(Date.now() / 1000);
  const offer: Offer = live.gridOffer(now, SETTLEMENT_INTERVAL_S, EVENT_INTERVAL_S, {
    id: 'bench-offer',
    leverageChoices: [5],
    txFeeRate: 1n,
  });
  const sides = [];
  for (const role of ['maker', 'taker'] as const) {
    const { node, store, wallet } = await live.openNode(join(dir, role), role, rpc);
    await chain.fund(await wallet.receiveAddress(), 50_000_000n);
    const client = new OracleClient({ url: oracle.url, publicKey: oracle.publicKey });
    const repository = new CfdRepository(store);
    const contracts = new LevelContractStore(store);
    const rollovers = new RolloverProtocol(node, {
      role,
      repository,
      contracts,
      oracle: client,
      pool,
      policy: () => ({
        accept: true,
        fundingRate: parseFundingRate('0.0001'),
        fundingRateAsOf: rolloverClock(),
        feeRate: 1n,
      }),
      config: { eventSpacingSecs: EVENT_INTERVAL_S, settlementWindowSecs: 2 * EVENT_INTERVAL_S },
      clock: rolloverClock,
    });
    await rollovers.start();
    const orders = new OrderProtocol(node, {
      role,
      repository,
      contracts,
      wallet: orderWallet(wallet),
      oracle: client,
      chain: rpc,
      pool,
      offers: () => [offer],
      policy: () => ({ accept: true }),
    });
    const outcomes = await live.startOrders(orders);
    sides.push({ node, store, wallet, orders, outcomes, client, repository, rollovers });
  }
  const [maker, taker] = sides as [(typeof sides)[0], (typeof sides)[0]];
  await live.connectPair(chain, maker, taker);
  // Both nodes have the announcement cached, as a running node does (fetched with the offer).
  await Promise.all([
    maker.client.fetchEvent(offer.oracleEventId),
    taker.client.fetchEvent(offer.oracleEventId),
  ]);

  try {
    const timings: number[] = [];
    for (let run = 0; run < RUNS + 1; run++) {
      const t0 = performance.now();
      const { orderId, outcome } = await taker.orders.placeOrder(maker.node.peerId, offer, {
        quantity: 3_500n,
        leverage: 5,
      });
      let makerOutcome = maker.outcomes.find((o) => o.orderId === orderId);
      while (!makerOutcome) {
        await new Promise((r) => setImmediate(r));
        makerOutcome = maker.outcomes.find((o) => o.orderId === orderId);
      }
      const elapsed = performance.now() - t0;
      if (outcome.type !== 'completed' || makerOutcome.outcome.type !== 'completed') {
        throw new Error(`setup bench: ${outcome.type}/${makerOutcome.outcome.type}`);
      }
      // Not broadcast: the coins can fund the next run.
      taker.wallet.release(outcome.reservationId);
      maker.wallet.release(makerOutcome.outcome.reservationId);
      if (run > 0) timings.push(elapsed);
    }
    console.log(
      `# cores: ${availableParallelism()}, runs: ${timings.map(Math.round).join(' ')} ms`,
    );
    console.log(`setup.contract_setup ${Math.round(median(timings))} ms`);

    // Rollover of the last contract, RUNS + 1 times, each moving the settlement event one step.
    const cfdId = maker.outcomes.at(-1)!.orderId;
    for (const s of sides) await s.repository.execute(cfdId, { type: 'confirmLock' });
    const rolls: number[] = [];
    for (let run = 0; run < RUNS + 1; run++) {
      skew += EVENT_INTERVAL_S;
      const settlement = nextSettlementEventId(
        rolloverClock(),
        SETTLEMENT_INTERVAL_S,
        EVENT_INTERVAL_S,
      );
      const ids = [
        ...liquidationEventIds(settlement, {
          liquidationEventCount: 24,
          eventSpacingSecs: EVENT_INTERVAL_S,
        }),
        settlement,
      ];
      await Promise.all(
        ids.flatMap((id) => [maker.client.fetchEvent(id), taker.client.fetchEvent(id)]),
      );
      const t0 = performance.now();
      const { outcome } = await taker.rollovers.rollover(maker.node.peerId, cfdId);
      const elapsed = performance.now() - t0;
      if (outcome.type !== 'completed') {
        throw new Error(`rollover bench: ${outcome.type} ${outcome.reason}`);
      }
      if (run > 0) rolls.push(elapsed);
    }
    console.log(`# rollover runs: ${rolls.map(Math.round).join(' ')} ms`);
    console.log(`setup.rollover ${Math.round(median(rolls))} ms`);
  } finally {
    await live.stopNodes(sides);
    await live.stopWorld({ pool, oracle, feed, chain });
    await rm(dir, { recursive: true, force: true });
  }
}
