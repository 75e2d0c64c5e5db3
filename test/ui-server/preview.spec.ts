// What the web UI needs computed on the node: the order preview (margin, liquidation price,
// funding and fees for a number of lots) and the payout curve points of a CFD's detail.
import assert from 'node:assert/strict';
import { type Cfd, EMPTY_CFD } from '../../model/cfd.ts';
import { CURVE_POINTS, payoutCurvePoints } from '../../node/app/preview.ts';
import { terms } from '../helpers/cfd-fixtures.ts';
import { Cleanups, startMakerAndTaker, until } from './helpers.ts';

describe('ui-server: order preview and payout curve', function () {
  this.timeout(60_000);
  const cleanups = new Cleanups();
  afterEach(() => cleanups.run());

  it('previews an order from lots: quantity, margin, liquidation price, funding, fees', async () => {
    const { maker, taker } = await startMakerAndTaker(cleanups);
    await until(
      'taker sees offers',
      async () => (await taker.api.get('/api/offers')).body.offers.length === 2,
    );
    const { offers } = (await taker.api.get('/api/offers')).body;
    const short = offers.find((o: { makerPosition: string }) => o.makerPosition === 'short');
    const two = short.leverages.find((l: { leverage: number }) => l.leverage === 2);

    const one = await taker.api.post('/api/orders/preview', {
      offerId: short.id,
      lots: 1,
      leverage: 2,
    });
    assert.equal(one.status, 200, one.text);
    assert.equal(one.body.quantity, short.lotSize);
    assert.equal(one.body.takerPosition, 'long');
    assert.equal(one.body.margin, two.marginPerLot, 'one lot: the offer’s per-lot margin');
    assert.equal(one.body.liquidationPrice, two.liquidationPrice);
    assert.equal(one.body.funding, two.fundingPerLot);
    assert.equal(one.body.openingFee, short.openingFee);
    assert.equal(one.body.problem, null);

    const three = await taker.api.post('/api/orders/preview', {
      offerId: short.id,
      lots: 3,
      leverage: 2,
    });
    assert.equal(three.body.quantity, String(BigInt(short.lotSize) * 3n));
    assert.ok(Math.abs(Number(three.body.margin) - 3 * Number(two.marginPerLot)) <= 3);

    const tooMany = await taker.api.post('/api/orders/preview', {
      offerId: short.id,
      lots: 999_999,
      leverage: 2,
    });
    assert.equal(tooMany.status, 200);
    assert.match(tooMany.body.problem, /outside the offer/);

    const bad = await taker.api.post('/api/orders/preview', { offerId: short.id, lots: 0 });
    assert.equal(bad.status, 400);
    assert.match(bad.body.error.message, /lots/);
    assert.match(bad.body.error.message, /leverage/);
    const leverage = await taker.api.post('/api/orders/preview', {
      offerId: short.id,
      lots: 1,
      leverage: 4,
    });
    assert.equal(leverage.status, 409);
    const gone = await taker.api.post('/api/orders/preview', {
      offerId: 'gone',
      lots: 1,
      leverage: 2,
    });
    assert.equal(gone.status, 404);
    const onMaker = await maker.api.post('/api/orders/preview', {
      offerId: short.id,
      lots: 1,
      leverage: 2,
    });
    assert.equal(onMaker.status, 409);
  });

  it('samples the payout curve across the liquidation range, rising for a long', () => {
    const cfd: Cfd = { ...EMPTY_CFD, terms: terms({ role: 'taker', position: 'long' }) };
    const points = payoutCurvePoints(cfd);
    assert.equal(points.length, CURVE_POINTS);
    const prices = points.map((p) => Number(p.price));
    const payouts = points.map((p) => BigInt(p.payout));
    assert.ok(prices.every((p, i) => i === 0 || p > prices[i - 1]!));
    assert.ok(
      payouts.every((p, i) => i === 0 || p >= payouts[i - 1]!),
      'a long gains as it rises',
    );
    // 2× long from 50 000: liquidated at 33 333; the chart starts below that, at nothing.
    assert.ok(prices[0]! < 33_333);
    assert.equal(payouts[0], 0n);
    // A 1× short is never liquidated: the chart ends at 2× the opening price, where the long has
    // its 1 000 000 margin plus 1000/50000 − 1000/100000 BTC = 2 000 000 sats.
    assert.equal(prices[prices.length - 1], 100_000);
    assert.equal(payouts[payouts.length - 1], 2_000_000n);

    const maker: Cfd = { ...EMPTY_CFD, terms: terms({ role: 'maker', position: 'short' }) };
    const m = payoutCurvePoints(maker).map((p) => BigInt(p.payout));
    assert.ok(m[0]! > m[m.length - 1]!, 'the short maker loses as the price rises');
    assert.deepEqual(payoutCurvePoints(EMPTY_CFD), []);
  });
});
