// `/dlcfd/offer/1.0.0` between a real maker and takers over libp2p on loopback.
import assert from 'node:assert/strict';
import type { Offer } from '../../../model/offer.ts';
import { parseFundingRate, price } from '../../../model/units.ts';
import { loadOrCreateIdentity } from '../../../node/p2p/identity.ts';
import { createP2pNode, type P2pNode } from '../../../node/p2p/node.ts';
import {
  OFFER_PROTOCOL,
  OfferBook,
  type OfferBookUpdate,
  OfferProtocol,
} from '../../../protocols/offer/index.ts';
import { Framed } from '../../../protocols/wire.ts';
import { tempDir } from '../../helpers/cfd-fixtures.ts';
import { smallOffer } from '../../helpers/offers.ts';
import { until } from '../../helpers/wait.ts';

const NOW = Math.floor(Date.now() / 1000);
const offer = (over: Partial<Offer> = {}): Offer =>
  smallOffer(NOW, {
    id: 'o-short',
    price: (price(50_000) + 50_000_000n) as Offer['price'],
    fundingRate: parseFundingRate('-0.00024'),
    ...over,
  });

describe('protocols/offer', function () {
  this.timeout(20_000);
  let dir: { path: string; cleanup: () => Promise<void> };
  let makerNode: P2pNode;
  let maker: OfferProtocol;
  let signer: ConstructorParameters<typeof OfferProtocol>[1]['signer'];
  const takers: { node: P2pNode; offers: OfferProtocol; updates: OfferBookUpdate[] }[] = [];

  before(async () => {
    dir = await tempDir();
    const key = await loadOrCreateIdentity(`${dir.path}/maker`);
    makerNode = await createP2pNode({ privateKey: key, listen: ['/ip4/127.0.0.1/tcp/0'] });
    signer = { peerId: makerNode.peerId.toString(), key };
    maker = new OfferProtocol(makerNode, { role: 'maker', signer });
    await maker.start();
    await maker.publish([offer(), offer({ id: 'o-long', makerPosition: 'long' })]);
    for (const name of ['t1', 't2']) {
      const node = await createP2pNode({
        privateKey: await loadOrCreateIdentity(`${dir.path}/${name}`),
      });
      const offers = new OfferProtocol(node, { role: 'taker' });
      const updates: OfferBookUpdate[] = [];
      offers.onOffers((u) => updates.push(u));
      await offers.start();
      takers.push({ node, offers, updates });
    }
  });

  after(async () => {
    for (const t of takers) await t.node.stop();
    await makerNode.stop();
    await dir.cleanup();
  });

  it('takers receive the current offers when they connect, exactly', async () => {
    for (const t of takers) await t.node.dial(makerNode.getMultiaddrs()[0]!);
    for (const t of takers) {
      const u = await until('an update', () => t.updates[0], 5_000, 10);
      assert.equal(u.maker, makerNode.peerId.toString());
      assert.deepEqual(u.accepted, [offer(), offer({ id: 'o-long', makerPosition: 'long' })]);
      assert.deepEqual(u.rejected, []);
      assert.equal(t.offers.book.current(NOW, { maxOfferAgeSecs: 600 }).length, 2);
    }
  });

  it('takers see every change; stale offers are hidden', async () => {
    await maker.publish([offer({ id: 'o-new', createdAt: NOW - 700 }), offer({ id: 'o-fresh' })]);
    for (const t of takers) {
      await until(
        'o-new',
        () => t.updates.find((u) => u.accepted.some((o) => o.id === 'o-new')),
        5_000,
        10,
      );
      const current = t.offers.book.current(NOW, { maxOfferAgeSecs: 600 }).map((c) => c.offer.id);
      assert.deepEqual(current, ['o-fresh']);
    }
  });

  it('a malformed offer from a maker is rejected with a reason and never reaches the book', async () => {
    await maker.publish([offer({ id: 'o-bad', minQuantity: 5_000n }), offer({ id: 'o-ok' })]);
    const t = takers[0]!;
    const u = await until(
      'a rejection',
      () => t.updates.find((x) => x.rejected.length > 0),
      5_000,
      10,
    );
    assert.deepEqual(
      u.accepted.map((o) => o.id),
      ['o-ok'],
    );
    assert.equal(u.rejected[0]?.id, 'o-bad');
    assert.match(u.rejected[0]?.reason ?? '', /minimum quantity is above the maximum/);
    assert.equal(t.offers.book.find(makerNode.peerId.toString(), 'o-bad'), undefined);
  });

  it('a message that is not an offers message resets the stream and changes nothing', async () => {
    const t = takers[1]!;
    const before = t.updates.length;
    const stream = await makerNode.dialProtocol(t.node.peerId, OFFER_PROTOCOL);
    const f = new Framed(stream, { maxMessageBytes: 1024 });
    await f.write({ type: 'offers', offers: [{ ...offer(), price: 50000.5 }] });
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(t.updates.length, before);
  });

  it('the book is a pure state machine', () => {
    const book = new OfferBook();
    book.apply('m1', [offer()]);
    book.apply('m2', [offer({ id: 'x' })]);
    book.remove('m1');
    assert.deepEqual(
      book.current(NOW, { maxOfferAgeSecs: 600 }).map((c) => c.maker),
      ['m2'],
    );
  });

  it('keeps the offers replaced within the offer age takeable, until the maker withdraws them', () => {
    const book = new OfferBook();
    const first = offer({ id: 'short-1', createdAt: NOW - 100 });
    const next = offer({
      id: 'short-2',
      createdAt: NOW - 99,
      price: (first.price + 1n) as Offer['price'],
    });
    const long = offer({ id: 'long-2', createdAt: NOW - 99, makerPosition: 'long' });
    book.apply('m1', [first]);
    book.apply('m1', [next, long]);
    // The UI shows the latest set only; an order may still name the one replaced.
    assert.deepEqual(
      book.current(NOW, { maxOfferAgeSecs: 600 }).map((c) => c.offer.id),
      ['short-2', 'long-2'],
    );
    const found = book.findRecent('short-1', NOW, { maxOfferAgeSecs: 600 });
    assert.equal(found?.maker, 'm1');
    assert.equal(found?.offer.id, 'short-1');
    assert.equal(found?.current?.id, 'short-2', 'with the current offer of its side');
    assert.equal(book.findRecent('short-1', NOW, { maxOfferAgeSecs: 99 }), undefined, 'too old');
    book.apply('m1', []);
    assert.equal(
      book.findRecent('short-2', NOW, { maxOfferAgeSecs: 600 }),
      undefined,
      'withdrawn: nothing of it is takeable',
    );
  });

  it("an offer's current quote is of its own product: ETHUSD's is never BTCUSD's", () => {
    const book = new OfferBook();
    const btc = offer({ id: 'BTCUSD-short-1' });
    const eth = offer({
      id: 'ETHUSD-short-1',
      symbol: 'ETHUSD',
      price: price(3_000),
      oracleEventId: btc.oracleEventId.replace('/BXBT/', '/BETH/'),
    });
    book.apply('m1', [btc, eth]);
    assert.equal(book.findRecent(eth.id, NOW, { maxOfferAgeSecs: 600 })?.current?.id, eth.id);
    assert.equal(book.findRecent(btc.id, NOW, { maxOfferAgeSecs: 600 })?.current?.id, btc.id);
  });

  it('the maker honours what it published within the offer age, not after it withdrew', async () => {
    const maker = new OfferProtocol(makerNode, { role: 'maker', signer });
    const first = offer({ id: 'short-1', createdAt: NOW - 10 });
    const next = offer({ id: 'short-2', createdAt: NOW - 5 });
    await maker.publish([first]);
    await maker.publish([next]);
    assert.deepEqual(maker.published, [next]);
    assert.equal(maker.recent('short-1', NOW, 600)?.current?.id, 'short-2');
    assert.equal(maker.recent('short-1', NOW, 9), undefined);
    await maker.publish([]);
    assert.equal(maker.recent('short-2', NOW, 600), undefined);
  });

  it('a maker that disconnects leaves the book and is told gone (the UI refreshes, a dial place comes back)', async () => {
    const t = takers[1]!;
    const makerId = makerNode.peerId.toString();
    assert.ok(t.offers.book.has(makerId));
    const gone: string[] = [];
    const off = t.offers.onMakerGone((m) => gone.push(m));
    await t.node.hangUp(makerNode.peerId);
    await until('told gone', () => gone.includes(makerId));
    off();
    assert.equal(t.offers.book.has(makerId), false);
    assert.deepEqual(t.updates.at(-1), { maker: makerId, accepted: [], rejected: [], gone: true });
  });
});
