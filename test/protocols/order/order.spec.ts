// `/dlcfd/order/1.0.0` between two real nodes: libp2p on loopback, the embedded regtest chain, a
// local oracle and price feed (compressed time: 60 s settlement interval, an event every 5 s),
// real wallets funded by the faucet, the event log and the contract-record store on disk.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Transaction } from 'bitcoinjs-lib';
import { z } from 'zod';
import { signedLock } from '../../../dlc/index.ts';
import type { Offer } from '../../../model/offer.ts';
import { broadcast } from '../../../node/chain/broadcast.ts';
import {
  ORDER_PROTOCOL,
  type OrderDecision,
  SetupMessageSchema,
} from '../../../protocols/order/index.ts';
import { Framed } from '../../../protocols/wire.ts';
import * as live from '../../helpers/live-nodes.ts';
import { until } from '../../helpers/wait.ts';
import { silent } from '../../node/chain/helpers.ts';

const SETTLEMENT_INTERVAL_S = 60;
const EVENT_INTERVAL_S = 5;

type Side = live.OrderNode;

describe('protocols/order over libp2p with real wallets, chain and oracle', function () {
  this.timeout(60_000);
  const w = live.worldFor({
    eventIntervalS: EVENT_INTERVAL_S,
    lookaheadS: 3 * SETTLEMENT_INTERVAL_S,
  });
  let maker: Side;
  let taker: Side;
  let offers: Offer[] = [];
  let policy: (terms: unknown) => OrderDecision = () => ({ accept: true });

  const offer = (): Offer =>
    live.gridOffer(Math.floor(Date.now() / 1000), SETTLEMENT_INTERVAL_S, EVENT_INTERVAL_S);

  const side = (name: 'maker' | 'taker'): Promise<Side> =>
    live.openOrderNode(join(w.dir, name), name, w, w.pool, {
      coins: [5_000_000n, 5_000_000n, 5_000_000n],
      offers: () => offers,
      policy: (terms) => policy(terms),
      logger: silent,
    });

  before(async () => {
    ({ maker, taker } = await live.openPair(w, side));
  });

  const types = async (s: Side, id: string) => (await s.store.readStream(id)).map((e) => e.type);

  it('taker orders, maker auto-accepts: both hold the identical signed lock; it confirms', async () => {
    offers = [offer()];
    const { orderId, outcome } = await taker.orders.placeOrder(maker.node.peerId, offers[0]!, {
      quantity: 3_500n,
      leverage: 5,
    });
    assert.equal(
      outcome.type,
      'completed',
      JSON.stringify(outcome.type === 'completed' || outcome),
    );
    const makerOutcome = await until('the order at the maker', () =>
      maker.outcomes.find((o) => o.orderId === orderId),
    );
    assert.equal(makerOutcome.outcome.type, 'completed');
    if (outcome.type !== 'completed' || makerOutcome.outcome.type !== 'completed') return;
    assert.equal(outcome.lockTx.toHex(), makerOutcome.outcome.lockTx.toHex());

    for (const s of [taker, maker]) {
      assert.deepEqual(await types(s, orderId), [
        'OrderPlaced',
        'ContractSetupStarted',
        'ContractSetupCompleted',
      ]);
      const record = await s.contracts.get(orderId);
      assert.ok(record?.lock.signed);
      assert.equal(signedLock(record).getId(), outcome.lockTx.getId());
      const cfd = await s.repository.load(orderId);
      assert.equal(cfd.dlc?.lockTxid, outcome.lockTx.getId());
    }
    // Both broadcast (the second is a no-op); it confirms.
    await broadcast(w.rpc, makerOutcome.outcome.lockTx.toHex());
    await broadcast(w.rpc, outcome.lockTx.toHex());
    await w.chain.mine(1);
    const info = await w.rpc.getTransaction(outcome.lockTx.getId());
    assert.ok(info && info.confirmations > 0);
    taker.wallet.release(outcome.reservationId);
    maker.wallet.release(makerOutcome.outcome.reservationId);
    await Promise.all([taker.wallet.sync(), maker.wallet.sync()]);
    assert.ok(Transaction.fromHex(outcome.lockTx.toHex()).outs[0]!.value > 0n);
  });

  it('the maker rejects: the taker records OrderRejected with the reason', async () => {
    policy = () => ({ accept: false, reason: 'no appetite for longs today' });
    try {
      const { orderId, outcome } = await taker.orders.placeOrder(maker.node.peerId, offers[0]!, {
        quantity: 100n,
        leverage: 2,
      });
      assert.deepEqual(outcome, { type: 'rejected', reason: 'no appetite for longs today' });
      assert.deepEqual(await types(taker, orderId), ['OrderPlaced', 'OrderRejected']);
      const cfd = await taker.repository.load(orderId);
      assert.equal(cfd.failureReason, 'no appetite for longs today');
      assert.equal(taker.wallet.balance().reserved, 0n);
    } finally {
      policy = () => ({ accept: true });
    }
  });

  it('malformed, oversized and out-of-order messages reset the stream; the maker fails cleanly and keeps serving', async () => {
    const rogue = async (write: (f: Framed) => Promise<void>): Promise<string> => {
      const stream = await taker.node.dialProtocol(maker.node.peerId, ORDER_PROTOCOL);
      const f = new Framed(stream, { maxMessageBytes: 4 * 1024 * 1024, timeoutMs: 5_000 });
      await write(f);
      return f
        .read(z.unknown())
        .then(() => 'answered')
        .catch((e: Error) => e.name);
    };
    // Malformed JSON, then a frame whose length prefix is over the limit.
    assert.match(
      await rogue(async (f) => {
        f.stream.send(new Uint8Array([5, ...new TextEncoder().encode('{"a":')]));
      }),
      /StreamReset|StreamClosed|Error/,
    );
    assert.match(
      await rogue(async (f) => {
        f.stream.send(new Uint8Array([0xff, 0xff, 0xff, 0x7f]));
      }),
      /StreamReset|StreamClosed|Error/,
    );

    // A valid order, accepted; then 'ack' where the taker's params belong.
    const orderId = `rogue-${Date.now()}`;
    const stream = await taker.node.dialProtocol(maker.node.peerId, ORDER_PROTOCOL);
    const f = new Framed(stream, { maxMessageBytes: 4 * 1024 * 1024, timeoutMs: 5_000 });
    await f.write({ type: 'order', orderId, offerId: offers[0]!.id, quantity: 100n, leverage: 2 });
    const decision = await f.read(SetupMessageSchema);
    assert.equal(decision.type === 'decision' && decision.accept, true);
    await f.read(SetupMessageSchema); // the maker's params
    await f.write({ type: 'ack' });
    await until('the order at the maker', () => maker.outcomes.find((o) => o.orderId === orderId));
    const failed = maker.outcomes.find((o) => o.orderId === orderId)!.outcome;
    assert.equal(failed.type, 'failed');
    assert.match((failed as { reason: string }).reason, /unexpected 'ack'/);
    assert.deepEqual(await types(maker, orderId), [
      'OrderPlaced',
      'ContractSetupStarted',
      'ContractSetupFailed',
    ]);
    assert.equal(maker.wallet.balance().reserved, 0n, 'the maker released its coins');

    // And it keeps serving: a proper order completes.
    const next = await taker.orders.placeOrder(maker.node.peerId, offers[0]!, {
      quantity: 200n,
      leverage: 2,
    });
    assert.equal(next.outcome.type, 'completed');
  });
});
