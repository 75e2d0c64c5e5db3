// Maker capacity and admission figures (issue #11, attacks 7 and 8):
// - maker.concurrent_setups_20: ms from 20 honest takers ordering at the same moment until all
//   20 hold a signed lock (both sides completed). Reference beside it, same run and nodes:
//   maker.single_setup, one setup alone (median of 3), and 20 × that (setups one after another).
// - maker.setups_under_flood: how many of 20 honest takers ordering at once complete while one
//   stranger opens 1,000 order streams on one connection (accepted orders are never answered)
//   and a second sends junk setups (valid orders, then made-up parameters that cost the maker its
//   adaptor signatures, then garbage) two at a time; maker.setups_under_flood_ms is how long the
//   20 took, beside maker.concurrent_setups_20 as its reference.
// One process: the embedded chain, a local oracle, the maker (funded by one coin, which its coin
// pool splits into 32 before the runs), 20 takers, the strangers, over libp2p on loopback, with
// one adaptor worker pool (all cores) shared by everyone, as they share this machine's cores.
// 54000 / 3500 contracts / taker 5× (≈ 1,700 adaptor signatures each way). Locks are not
// broadcast: reservations are released after each phase so the coins fund the next one.
import { rm } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { bytesToHex, randomBytes } from '@noble/hashes/utils.js';
import { CfdRepository } from '../../eventstore/cfd-repository.ts';
import { LevelContractStore } from '../../eventstore/contract-store.ts';
import type { EventStore } from '../../eventstore/event-store.ts';
import { margins } from '../../model/fees.ts';
import type { Offer } from '../../model/offer.ts';
import { broadcast } from '../../node/chain/broadcast.ts';
import { orderWallet } from '../../node/daemon/protocol-ports.ts';
import { OracleClient } from '../../node/oracle/client.ts';
import { loadOrCreateIdentity } from '../../node/p2p/identity.ts';
import { createP2pNode, type P2pNode } from '../../node/p2p/node.ts';
import { CoinPool } from '../../node/wallet/coin-pool.ts';
import type { Wallet } from '../../node/wallet/wallet.ts';
import {
  LOCK_SHARED_VBYTES,
  ORDER_PROTOCOL,
  type OrderOutcome,
  OrderProtocol,
  SetupMessageSchema,
} from '../../protocols/order/index.ts';
import { Framed } from '../../protocols/wire.ts';
import * as live from '../../test/helpers/live-nodes.ts';
import { benchWorld, EVENT_INTERVAL_S, median, SETTLEMENT_INTERVAL_S } from './live.ts';

const TAKERS = 20;
const FLOOD_STREAMS = 1_000;
/** Junk setups the second stranger keeps under way at once (its per-peer limit). */
const JUNK_PARALLEL = 2;
const POOL_COINS = 32;
const QUANTITY = 3_500n;
const LEVERAGE = 5;

const figure = (name: string, value: number, unit: string): void => {
  console.log(`${name} ${Math.round(value)} ${unit}`);
};

interface Side {
  node: P2pNode;
  store: EventStore;
  wallet: Wallet;
  orders: OrderProtocol;
  outcomes: OrderOutcome[];
  client: OracleClient;
}

export async function maker(): Promise<void> {
  const { dir, chain, rpc, feed, oracle, pool } = await benchWorld('maker');
  const now = Math.floor(Date.now() / 1000);
  const offer: Offer = live.gridOffer(now, SETTLEMENT_INTERVAL_S, EVENT_INTERVAL_S, {
    id: 'bench-offer',
    leverageChoices: [LEVERAGE],
    txFeeRate: 1n,
  });
  const sized = (quantity: bigint) =>
    margins({ makerPosition: 'short', price: offer.price, quantity, takerLeverage: LEVERAGE });
  const poolValue = sized(offer.maxQuantity).maker + BigInt(LOCK_SHARED_VBYTES + 68 + 31);

  const sides: Side[] = [];
  const strangers: P2pNode[] = [];
  async function side(name: string, role: 'maker' | 'taker', coin: bigint): Promise<Side> {
    const { node, store, wallet } = await live.openNode(join(dir, name), role, rpc);
    await chain.fund(await wallet.receiveAddress(), coin);
    const client = new OracleClient({ url: oracle.url, publicKey: oracle.publicKey });
    const coins =
      role === 'maker'
        ? new CoinPool({
            wallet,
            broadcast: async (hex) => {
              await broadcast(rpc, hex);
            },
            target: () => ({ count: POOL_COINS, value: poolValue }),
            feeRate: () => 1n,
          })
        : undefined;
    const orders = new OrderProtocol(node, {
      role,
      repository: new CfdRepository(store),
      contracts: new LevelContractStore(store),
      chain: rpc,
      wallet: orderWallet(wallet, () => coins),
      oracle: client,
      pool,
      offers: () => [offer],
      policy: () => ({ accept: true }),
      // The strangers' accepted orders hold a slot until the parameters time out.
      ...(role === 'maker' && { timeouts: { paramsMs: 10_000 } }),
    });
    const outcomes = await live.startOrders(orders);
    const s = { node, store, wallet, orders, outcomes, client };
    sides.push(s);
    if (coins) {
      await chain.mine(1);
      await wallet.sync();
      await coins.ensure(); // what the daemon does on every block
    }
    return s;
  }

  try {
    const m = await side('maker', 'maker', 10_0000_0000n);
    const takers: Side[] = [];
    for (let i = 0; i < TAKERS; i++) takers.push(await side(`taker-${i}`, 'taker', 5_000_000n));
    await chain.mine(1);
    await Promise.all(sides.map((s) => s.wallet.sync()));
    const makerAddr = m.node.getMultiaddrs()[0]!;
    // All takers share 127.0.0.1: pace the dials under libp2p's 5 new connections/s per host.
    for (const t of takers) {
      await t.node.dial(makerAddr);
      await new Promise((r) => setTimeout(r, 250));
    }
    await Promise.all(sides.map((s) => s.client.fetchEvent(offer.oracleEventId)));
    console.log(
      `# cores: ${availableParallelism()}, maker pool: ${m.wallet.fundingCoins().length} coins`,
    );

    const round = async (parties: Side[]): Promise<{ ms: number; completed: number }> => {
      const t0 = performance.now();
      const results = await Promise.all(
        parties.map(async (t) => {
          const { orderId, outcome } = await t.orders.placeOrder(m.node.peerId, offer, {
            quantity: QUANTITY,
            leverage: LEVERAGE,
          });
          if (outcome.type !== 'completed') {
            console.log(`# ${orderId}: ${outcome.type} ${outcome.reason}`);
            return undefined;
          }
          // Both hold the signed lock once the maker's outcome is in too.
          while (!m.outcomes.some((o) => o.orderId === orderId)) {
            await new Promise((r) => setImmediate(r));
          }
          t.wallet.release(outcome.reservationId);
          return orderId;
        }),
      );
      const ms = performance.now() - t0;
      // The maker's side of each completed order: release, so the coins fund the next round.
      for (const o of m.outcomes) {
        if (o.outcome.type === 'completed') m.wallet.release(o.outcome.reservationId);
      }
      return { ms, completed: results.filter((r) => r !== undefined).length };
    };

    // Reference: one setup alone (warm-up, then the median of 3).
    const single: number[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await round([takers[0]!]);
      if (r.completed !== 1) throw new Error('maker bench: a lone setup failed');
      if (i > 0) single.push(r.ms);
    }
    const one = median(single);
    figure('maker.single_setup', one, 'ms');
    console.log(`# reference: ${TAKERS} setups one after another ≈ ${Math.round(one * TAKERS)} ms`);

    const calm = await round(takers);
    figure(`maker.concurrent_setups_${TAKERS}`, calm.ms, 'ms');
    if (calm.completed !== TAKERS) {
      throw new Error(`maker bench: ${calm.completed}/${TAKERS} setups completed without a flood`);
    }

    // Under flood: the strangers start, then the same 20 takers order at once.
    const stop = new AbortController();
    const flooder = await createP2pNode({
      privateKey: await loadOrCreateIdentity(join(dir, 'stranger-flood')),
    });
    const junker = await createP2pNode({
      privateKey: await loadOrCreateIdentity(join(dir, 'stranger-junk')),
    });
    strangers.push(flooder, junker);
    await flooder.dial(makerAddr);
    await new Promise((r) => setTimeout(r, 250));
    await junker.dial(makerAddr);
    const counts = { floodAccepted: 0, floodRefused: 0, floodReset: 0, junk: 0 };
    const flood = Promise.allSettled(
      Array.from({ length: FLOOD_STREAMS }, async (_, i) => {
        try {
          const stream = await flooder.dialProtocol(m.node.peerId, ORDER_PROTOCOL);
          const f = new Framed(stream, { maxMessageBytes: 4 * 1024 * 1024, timeoutMs: 30_000 });
          await f.write({
            type: 'order',
            orderId: `flood-${i}`,
            offerId: offer.id,
            quantity: 100n,
            leverage: LEVERAGE,
          });
          const d = await f.read(SetupMessageSchema);
          if (d.type === 'decision' && d.accept) counts.floodAccepted++;
          else counts.floodRefused++;
          // Never answers: an accepted order holds its slot until the maker gives up.
        } catch {
          counts.floodReset++;
        }
      }),
    );
    const junkLoop = async (lane: number): Promise<void> => {
      for (let n = 0; !stop.signal.aborted; n++) {
        try {
          await junkSetup(junker, m.node.peerId, offer, `junk-${lane}-${n}`, sized(QUANTITY).taker);
          counts.junk++;
        } catch {
          counts.junk++;
        }
      }
    };
    const junk = Promise.all(Array.from({ length: JUNK_PARALLEL }, (_, i) => junkLoop(i)));
    const flooded = await round(takers);
    stop.abort();
    figure('maker.setups_under_flood', flooded.completed, `of ${TAKERS}`);
    figure('maker.setups_under_flood_ms', flooded.ms, 'ms');
    console.log(
      `# flood: ${counts.floodAccepted} accepted, ${counts.floodRefused} refused, ` +
        `${counts.floodReset} reset; junk setups: ${counts.junk}`,
    );
    await junk;
    for (const s of strangers) await s.stop();
    await flood;
    if (flooded.completed !== TAKERS) {
      throw new Error(`maker bench: ${flooded.completed}/${TAKERS} setups completed under flood`);
    }
  } finally {
    for (const s of strangers) await Promise.resolve(s.stop()).catch(() => {});
    await live.stopNodes(sides);
    await live.stopWorld({ pool, oracle, feed, chain });
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * A junk setup: a valid order; once accepted, parameters that pass the maker's checks of shape,
 * margin and fee but fund from coins that do not exist — the maker computes its CET adaptor
 * signatures for them — and then garbage instead of signatures.
 */
async function junkSetup(
  node: P2pNode,
  maker: P2pNode['peerId'],
  offer: Offer,
  orderId: string,
  takerMargin: bigint,
): Promise<void> {
  const stream = await node.dialProtocol(maker, ORDER_PROTOCOL);
  const f = new Framed(stream, { maxMessageBytes: 4 * 1024 * 1024, timeoutMs: 60_000 });
  await f.write({
    type: 'order',
    orderId,
    offerId: offer.id,
    quantity: QUANTITY,
    leverage: LEVERAGE,
  });
  const d = await f.read(SetupMessageSchema);
  if (d.type !== 'decision' || !d.accept) {
    // Refused (over its limit): try again a little later, as a stubborn stranger would.
    await new Promise((r) => setTimeout(r, 50));
    return;
  }
  await f.read(SetupMessageSchema); // the maker's parameters
  const pk = () => bytesToHex(secp256k1.getPublicKey(secp256k1.utils.randomSecretKey(), true));
  const p2wpkh = () => `0014${bytesToHex(randomBytes(20))}`;
  await f.write({
    type: 'params',
    identityPk: pk(),
    publishPk: pk(),
    revocationPk: pk(),
    payoutScript: p2wpkh(),
    margin: takerMargin,
    inputs: [
      {
        txid: bytesToHex(randomBytes(32)),
        vout: 0,
        value: takerMargin + 10_000n,
        script: p2wpkh(),
      },
    ],
    change: [],
  });
  // The maker's signatures (its adaptor work is done), then garbage.
  await f.read(SetupMessageSchema);
  f.stream.send(new Uint8Array([3, 1, 2, 3]));
  await f.read(SetupMessageSchema).catch(() => undefined);
}
