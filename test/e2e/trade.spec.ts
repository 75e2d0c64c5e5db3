// End to end, whole nodes: a maker and a taker daemon over real libp2p on loopback, the embedded
// chain, a local oracle and price feed, compressed time. The taker takes an offer and both reach
// Open once the lock confirms; then either they close collaboratively at the quote, or the taker
// forces the close and, after the oracle attests and the CET lock passes, both see the CET
// confirmed. Either way the taker is paid what the curve says.
import assert from 'node:assert/strict';
import { peerIdFromString } from '@libp2p/peer-id';
import { signedCommit } from '../../dlc/contract.ts';
import { PUNISH_VBYTES } from '../../dlc/transactions.ts';
import { uiState } from '../../model/cfd.ts';
import { margins } from '../../model/fees.ts';
import { parsePrice } from '../../model/units.ts';
import type { EmbeddedChain } from '../../node/chain/embedded.ts';
import type { Daemon } from '../../node/daemon/daemon.ts';
import type { OracleServer } from '../../node/oracle/server.ts';
import type { PriceFeedServer } from '../../node/pricefeed/server.ts';
import {
  cfd,
  cheatWithRevoked,
  closeCollaboratively,
  confirmAfterMempool,
  forceCommit,
  openCfd,
  outputOf,
  revokedOnBoth,
  settleAtNewQuote,
  settleThroughCet,
  startNetwork,
  takerRow,
  until,
  useCleanups,
} from './network.ts';

describe('e2e: two daemons trade', function () {
  this.timeout(240_000);
  const cleanups: (() => Promise<unknown>)[] = [];
  let oracle: OracleServer;
  let chain: EmbeddedChain;
  let feed: PriceFeedServer;
  let maker: Daemon;
  let taker: Daemon;

  before(async () => {
    ({ oracle, chain, feed, maker, taker } = await startNetwork(cleanups));
  });

  after(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  });

  it('open → collaborative close at the quote: both closed, the taker paid its curve row', async () => {
    const id = await openCfd({ oracle, chain, feed, maker, taker });
    const closing = await settleAtNewQuote({ feed, taker }, id);
    await confirmAfterMempool(chain, taker, closing.closeTx!.txid);
    for (const d of [maker, taker]) {
      await until('closed', async () => (await cfd(d, id))?.settled === 'collaborative');
    }
    const price = Number(closing.closePrice! / 100_000_000n);
    const out = await outputOf(taker, closing.closeTx!.txid, 1);
    const row = takerRow(closing, price);
    assert.ok(out && row - out.value >= 0n && row - out.value < 200n, `${row} vs ${out?.value}`);
  });

  it('open → force close → CET after the attestation and the CET lock pays the curve row', async () => {
    const id = await openCfd({ oracle, chain, feed, maker, taker });
    await forceCommit({ chain, maker, taker }, id);
    feed.setPrice(parsePrice('55000'));
    await chain.mine(12);
    const cet = await until('attestation and CET', async () => (await cfd(taker, id))?.cet, 90_000);
    await confirmAfterMempool(chain, taker, cet.txid);
    for (const d of [maker, taker]) {
      await until('closed', async () => (await cfd(d, id))?.settled === 'cet');
    }
    const closed = (await cfd(taker, id))!;
    const price = Number(closed.attestation!.price / 100_000_000n);
    const out = await outputOf(taker, cet.txid, 1);
    const row = takerRow(closed, price);
    assert.ok(out && row - out.value >= 0n && row - out.value < 1_000n, `${row} vs ${out?.value}`);
    const t = closed.terms!;
    const m = margins({
      makerPosition: 'short',
      price: t.initialPrice,
      quantity: t.quantity,
      takerLeverage: 2,
    });
    assert.ok(out.value > m.taker, 'a long position made money when the price rose');
  });
});

describe('e2e: positions roll over and stay closable', function () {
  this.timeout(240_000);
  const cleanups = useCleanups();

  it('open → two rollovers → collaborative close', async () => {
    // Roll over when less than 15 s of the 20-second settlement interval is left.
    const net = await startNetwork(cleanups, { 'rollover-interval': '10' });
    const id = await openCfd(net);
    const opened = (await cfd(net.taker, id))!;
    const first = opened.dlc!.commitTxid;
    // Both sides on the same, second (or later) commit, both open: read as one snapshot, since
    // the next rollover may already be under way.
    const [m, t] = await until(
      'two rollovers on both sides',
      async () => {
        const [m, t] = [await cfd(net.maker, id), await cfd(net.taker, id)];
        const same = m?.dlc && t?.dlc && m.dlc.commitTxid === t.dlc.commitTxid;
        const open = m && t && uiState(m) === 'open' && uiState(t) === 'open';
        return same && open && t.revokedCommitTxids.length >= 2 ? ([m, t] as const) : undefined;
      },
      120_000,
    );
    assert.equal(t.revokedCommitTxids[0], first);
    // Funding accrued at each rollover (positive rate: the long taker pays), the same on both sides.
    assert.ok(t.feeBalance > opened.feeBalance, `${t.feeBalance} > ${opened.feeBalance}`);
    assert.equal(m.feeBalance, t.feeBalance);

    // A rollover may start meanwhile: the proposal is then refused, and simply tried again.
    await closeCollaboratively(net, net.taker, id);
  });
});

describe('e2e: a stale commit is punished', function () {
  this.timeout(240_000);
  const cleanups = useCleanups();

  it('whoever publishes a revoked commit loses the whole lock to the other side', async () => {
    const net = await startNetwork(cleanups, { 'rollover-interval': '10' });
    // Two positions; each cheater keeps the commit it signed at setup.
    const a = await openCfd(net);
    const b = await openCfd(net);
    const staleByMaker = signedCommit((await net.maker.contracts.get(a))!);
    const staleByTaker = signedCommit((await net.taker.contracts.get(b))!);
    for (const [id, stale] of [
      [a, staleByMaker],
      [b, staleByTaker],
    ] as const) {
      await revokedOnBoth(net, id, stale);
    }

    for (const [id, stale, cheater, honest] of [
      [a, staleByMaker, net.maker, net.taker],
      [b, staleByTaker, net.taker, net.maker],
    ] as const) {
      const punishing = await cheatWithRevoked(net, id, stale, cheater, honest);
      await confirmAfterMempool(net.chain, honest, punishing.txid);
      await until('punished', async () => (await cfd(honest, id))?.settled === 'punish');
      // The honest side took the stale commit's whole output, less the punish fee.
      const out = await outputOf(honest, punishing.txid, 0);
      // A quiet chain has no estimate: the punish starts at the 1 sat/vB fallback, 232 vB.
      assert.equal(out?.value, stale.outs[0]!.value - PUNISH_VBYTES);
    }
  });
});

describe('e2e: liquidation by an hourly event', function () {
  this.timeout(240_000);
  const cleanups = useCleanups();

  it('a liquidating price on a liquidation event closes the position through its CET', async () => {
    const net = await startNetwork(cleanups, { 'rollover-interval': '10' });
    const id = await openCfd(net);
    // After a rollover the contract also has CETs for the hourly liquidation events.
    await until(
      'rolled over',
      async () => ((await cfd(net.taker, id))?.revokedCommitTxids.length ?? 0) >= 1,
      120_000,
    );
    // The long taker at 2× is liquidated below two thirds of the opening price.
    net.feed.setPrice(parsePrice('30000'));
    const attested = await until(
      'attested',
      async () => (await cfd(net.taker, id))?.attestation,
      60_000,
    );
    assert.notEqual(
      attested.eventId,
      (await cfd(net.taker, id))!.dlc!.settlementEventId,
      'a liquidation event',
    );
    const cet = await settleThroughCet(net, id, (await cfd(net.taker, id))!.commitTx!.txid);
    // Liquidated: the whole pool (less fees) goes to the maker; the taker's output is dust, dropped.
    const tx = await net.taker.rpc!.getTransaction(cet.txid);
    assert.ok(tx);
    const { Transaction } = await import('bitcoinjs-lib');
    assert.equal(Transaction.fromHex(tx.hex).outs.length, 1);
  });
});

describe('e2e: over mplex', function () {
  this.timeout(240_000);
  const cleanups = useCleanups();

  it('open → rollover → collaborative close with both nodes on mplex', async () => {
    const net = await startNetwork(cleanups, { muxer: 'mplex', 'rollover-interval': '10' });
    const connections = net.taker.p2p.getConnections(peerIdFromString(net.maker.peerId));
    assert.equal(connections[0]?.multiplexer, '/mplex/6.7.0');
    const id = await openCfd(net);
    await until(
      'rolled over',
      async () => ((await cfd(net.taker, id))?.revokedCommitTxids.length ?? 0) >= 1,
      120_000,
    );
    await closeCollaboratively(net, net.taker, id);
  });
});

describe('e2e: the oracle goes silent', function () {
  this.timeout(240_000);
  const cleanups = useCleanups();

  it('open → force close → no attestation before the refund lock → both get their margins back', async () => {
    // A short refund lock so the test mines little (production: 216 blocks).
    const net = await startNetwork(cleanups, { 'refund-timelock': '20' });
    const id = await openCfd(net);
    await net.oracle.stop(); // silent from now on
    const record = (await net.taker.contracts.get(id))!;
    await forceCommit(net, id);
    await net.chain.mine(19);
    const refund = await until('refund out', async () => (await cfd(net.taker, id))?.refundTx);
    await confirmAfterMempool(net.chain, net.taker, refund.txid);
    for (const d of [net.maker, net.taker]) {
      await until('refunded', async () => (await cfd(d, id))?.settled === 'refund');
    }
    // Each side gets its own margin back, less half the refund fee.
    const margins = record.lock.margins;
    const maker = await outputOf(net.taker, refund.txid, 0);
    const taker = await outputOf(net.taker, refund.txid, 1);
    assert.ok(maker && margins.maker - maker.value > 0n && margins.maker - maker.value < 1_000n);
    assert.ok(taker && margins.taker - taker.value > 0n && margins.taker - taker.value < 1_000n);
  });
});

describe('e2e: the maker decides', function () {
  this.timeout(240_000);
  const cleanups = useCleanups();

  it('a maker that decides by hand rejects an order: the taker records the rejection and why', async () => {
    const net = await startNetwork(cleanups, { 'auto-accept': 'false' });
    const now = () => Math.floor(Date.now() / 1000);
    const { offer } = await until('offers', () =>
      net.taker.offers.book
        .current(now(), { maxOfferAgeSecs: 600 })
        .find((o) => o.offer.makerPosition === 'short'),
    );
    const placing = net.taker.orders.placeOrder(peerIdFromString(net.maker.peerId), offer, {
      quantity: 100n,
      leverage: 2,
    });
    const pending = await until('a decision awaited', () => net.maker.orders.pendingDecisions()[0]);
    net.maker.orders.decide(pending.id, { accept: false, reason: 'not today' });
    const placed = await placing;
    assert.equal(placed.outcome.type, 'rejected');
    const rejected = await until('recorded', () => cfd(net.taker, placed.orderId));
    assert.equal(uiState(rejected), 'rejected');
    assert.match(rejected.failureReason ?? '', /not today/);
    // Nothing is reserved any more: the whole balance is spendable again on both sides.
    for (const d of [net.maker, net.taker]) assert.equal(d.wallet!.balance().reserved, 0n);
  });
});
