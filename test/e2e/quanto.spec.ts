// End to end, ETHUSD quanto beside BTCUSD: one network (embedded chain, the local feed quoting
// XBTUSD and ETHUSD, the oracle attesting BXBT and BETH, a maker offering both products, a
// taker), compressed time. The taker opens an ETHUSD position; it rolls over; a force close ends
// in the CET of the attested ETH price, whose outputs are the quanto curve's row; a second
// ETHUSD position is liquidated when the ETH price falls past its liquidation price.
import assert from 'node:assert/strict';
import { Transaction } from 'bitcoinjs-lib';
import { payoutCurve, rowAtPrice } from '../../dlc/payout-curve.ts';
import { type Cfd, uiState } from '../../model/cfd.ts';
import { liquidationPrice, margins } from '../../model/fees.ts';
import { oracleEventIndex } from '../../model/oracle-event.ts';
import { ETHUSD_MULTIPLIER_SATS } from '../../model/product.ts';
import { formatPrice, PRICE_SCALE, parsePrice } from '../../model/units.ts';
import { feeBalanceAt } from '../../protocols/rollover/contract.ts';
import {
  awaitOpen,
  cfd,
  closeCollaboratively,
  confirmAfterMempool,
  forceCommit,
  type Network,
  openCfd,
  outputOf,
  settleThroughCet,
  startNetwork,
  takerRow,
  until,
  useCleanups,
} from './network.ts';

/** ETHUSD contracts per position: at ~3,000 USD and 2×, 0.015 BTC of taker margin. */
const QUANTITY = 10n;

/** Both sides open on one commit, no rollover running, after at least `rollovers` rollovers. */
async function settledOpen(net: Network, id: string, rollovers: number): Promise<Cfd> {
  return until(
    `${rollovers} rollover(s), both open on one commit`,
    async () => {
      const [m, t] = [await cfd(net.maker, id), await cfd(net.taker, id)];
      const same = m?.dlc && t?.dlc && m.dlc.commitTxid === t.dlc.commitTxid;
      const open = m && t && uiState(m) === 'open' && uiState(t) === 'open';
      return same && open && t.revokedCommitTxids.length >= rollovers ? t : undefined;
    },
    120_000,
  );
}

describe('e2e: ETHUSD quanto beside BTCUSD', function () {
  this.timeout(300_000);
  const cleanups = useCleanups();
  let net: Network;

  before(async () => {
    net = await startNetwork(cleanups, {
      products: 'BTCUSD,ETHUSD',
      // Roll over when less than 10 s of the 20-second settlement interval is left.
      'rollover-interval': '10',
    });
  });

  it('open ETHUSD → rollover → force close → the CET pays the quanto curve row of the ETH price', async () => {
    // The maker offers both products, each on its own oracle index, priced from its own quote.
    const now = Math.floor(Date.now() / 1000);
    const offers = await until('both products offered', () => {
      const o = net.taker.offers.book.current(now, { maxOfferAgeSecs: 600 });
      return o.some((x) => x.offer.symbol === 'ETHUSD') &&
        o.some((x) => x.offer.symbol === 'BTCUSD')
        ? o
        : undefined;
    });
    for (const { offer } of offers) {
      assert.equal(
        oracleEventIndex(offer.oracleEventId),
        offer.symbol === 'ETHUSD' ? 'BETH' : 'BXBT',
      );
      const mid = net.feed.quoteOf(offer.symbol === 'ETHUSD' ? 'ETHUSD' : 'XBTUSD').price;
      assert.ok(offer.price > (mid * 98n) / 100n && offer.price < (mid * 102n) / 100n);
    }

    const id = await openCfd(net, { symbol: 'ETHUSD', quantity: QUANTITY });
    const opened = (await cfd(net.taker, id))!;
    assert.equal(opened.terms!.symbol, 'ETHUSD');
    assert.equal((await cfd(net.maker, id))!.terms!.symbol, 'ETHUSD');
    // The lock holds the quanto margins: n·P0·m/L per side (maker 1×, taker 2×).
    const m = margins({
      symbol: 'ETHUSD',
      makerPosition: 'short',
      price: opened.terms!.initialPrice,
      quantity: QUANTITY,
      takerLeverage: 2,
    });
    assert.equal(opened.dlc!.takerLockAmount, m.taker);
    assert.equal(opened.dlc!.makerLockAmount, m.maker);
    assert.equal(
      m.taker,
      (QUANTITY * opened.terms!.initialPrice * ETHUSD_MULTIPLIER_SATS) / (2n * PRICE_SCALE),
    );

    // A rollover completes, onto BETH events again.
    const rolled = await settledOpen(net, id, 1);
    assert.equal(oracleEventIndex(rolled.dlc!.settlementEventId), 'BETH');
    assert.ok(rolled.dlc!.oracleEventIds.every((e) => oracleEventIndex(e) === 'BETH'));

    // Force close: the taker publishes its current commit.
    const record = (await net.taker.contracts.get(id))!;
    const commit = await forceCommit(net, id);
    // ETH up 10 %, BTC unchanged: only the ETH price may move this payout.
    net.feed.setPrice(parsePrice('3300'), { symbol: 'ETHUSD' });
    await net.chain.mine(12);
    const cet = await until(
      'attestation and CET',
      async () => (await cfd(net.taker, id))?.cet,
      90_000,
    );
    await confirmAfterMempool(net.chain, net.taker, cet.txid);
    for (const d of [net.maker, net.taker]) {
      await until('closed', async () => (await cfd(d, id))?.settled === 'cet');
    }
    const closed = (await cfd(net.taker, id))!;
    assert.equal(oracleEventIndex(closed.attestation!.eventId), 'BETH');
    const usd = Number(closed.attestation!.price / PRICE_SCALE);
    assert.ok(usd > 3_200 && usd < 3_400, `attested ETH ${usd}, not BTC's price`);

    // The CET's outputs are exactly the quanto curve's row at that price, each less half the fee.
    const t = closed.terms!;
    const curve = payoutCurve({
      symbol: 'ETHUSD',
      initialPrice: t.initialPrice,
      quantity: t.quantity,
      longLeverage: 2,
      shortLeverage: 1,
      feeBalance: closed.feeBalance,
    });
    const row = rowAtPrice(curve.rows, usd);
    const tx = Transaction.fromHex((await net.taker.rpc!.getRawTransaction(cet.txid))!);
    const spent = Transaction.fromHex((await net.taker.rpc!.getRawTransaction(commit.getId()))!)
      .outs[tx.ins[0]!.index]!.value;
    const [makerOut, takerOut] = tx.outs.map((o) => o.value);
    assert.equal(row.long + row.short, m.total, 'the row pays out the whole pool');
    // Each side pays half the fees between the lock and its output (commit and CET).
    const half = (m.total - makerOut! - takerOut!) / 2n;
    assert.ok(makerOut! + takerOut! < spent && half < 5_000n, `fees ${2n * half}`);
    assert.equal(closed.feeBalance, feeBalanceAt(record, t, commit.getId()));
    assert.equal(takerOut, row.long - half, 'the long taker is paid its row');
    assert.equal(makerOut, row.short - half, 'the short maker is paid its row');
    // Checked against the formula rather than the curve code: ItchySats' quanto PnL
    // (P − P0)·m·n on the long's margin less the fees it owes, within the row's width.
    const pnl =
      ((BigInt(usd) * PRICE_SCALE - t.initialPrice) * ETHUSD_MULTIPLIER_SATS * t.quantity) /
      PRICE_SCALE;
    const formula = m.long + pnl - closed.feeBalance;
    const slack = BigInt(row.end - row.start + 1) * ETHUSD_MULTIPLIER_SATS * t.quantity;
    const diff = row.long > formula ? row.long - formula : formula - row.long;
    assert.ok(diff <= slack, `row ${row.long} vs formula ${formula} (±${slack})`);
    assert.ok(takerOut! > m.taker, 'the long made money when ETH rose');
  });

  it('open ETHUSD → collaborative close at the ETH quote pays the quanto curve row', async () => {
    const id = await openCfd(net, { symbol: 'ETHUSD', quantity: QUANTITY });
    const closing = await closeCollaboratively(net, net.taker, id);
    // Closed at ETH's quote (the maker's bid: it is short), not BTC's.
    const eth = net.feed.quoteOf('ETHUSD');
    assert.ok(closing.closePrice! <= eth.ask && closing.closePrice! >= (eth.bid * 99n) / 100n);
    const usd = Number(closing.closePrice! / PRICE_SCALE);
    const out = await outputOf(net.taker, closing.closeTx!.txid, 1);
    const row = takerRow(closing, usd);
    assert.ok(out && row - out.value >= 0n && row - out.value < 200n, `${row} vs ${out?.value}`);
  });

  it('ETH falling past the liquidation price liquidates the long: its CET pays it nothing', async () => {
    // Through the API's service this time: the offer, its preview and the order carry ETHUSD.
    const app = net.taker.app;
    const offer = await until('an ETHUSD short offer', () =>
      app.offers().offers.find((o) => o.symbol === 'ETHUSD' && o.makerPosition === 'short'),
    );
    const order = { offerId: offer.id, lots: Number(QUANTITY), leverage: 2 as const };
    const preview = app.previewOrder(order);
    assert.equal(preview.symbol, 'ETHUSD');
    assert.equal(preview.problem, null);
    assert.equal(preview.quantity, QUANTITY.toString());
    const p0 = parsePrice(offer.price);
    assert.equal(preview.liquidationPrice, formatPrice(liquidationPrice('long', p0, 2, 'ETHUSD')));
    const placed = await app.placeOrder(order);
    const id = await awaitOpen(net, placed.orderId);
    // After a rollover the contract also has CETs for the liquidation events before settlement.
    const rolled = await settledOpen(net, id, 1);
    const t = rolled.terms!;
    const liq = liquidationPrice('long', t.initialPrice, 2, 'ETHUSD');
    assert.ok(liq > 0n && liq < t.initialPrice);
    // ETH drops below the long taker's liquidation price; BTC does not move.
    const below = (liq * 9n) / 10n / PRICE_SCALE;
    net.feed.setPrice(parsePrice(String(below)), { symbol: 'ETHUSD' });
    const attested = await until(
      'attested',
      async () => (await cfd(net.taker, id))?.attestation,
      60_000,
    );
    assert.equal(oracleEventIndex(attested.eventId), 'BETH');
    assert.ok(attested.price <= liq);
    const commitTxid = await until(
      'commit published',
      async () => (await cfd(net.taker, id))?.commitTx?.txid,
    );
    const cet = await settleThroughCet(net, id, commitTxid);
    // Liquidated: the whole pool less the fee goes to the maker; the taker has no output.
    const tx = Transaction.fromHex((await net.taker.rpc!.getRawTransaction(cet.txid))!);
    assert.equal(tx.outs.length, 1);
    const pool = rolled.dlc!.makerLockAmount + rolled.dlc!.takerLockAmount;
    assert.ok(tx.outs[0]!.value > pool - 10_000n && tx.outs[0]!.value < pool);
  });
});
