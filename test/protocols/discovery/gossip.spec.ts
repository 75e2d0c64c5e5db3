// Offer gossip between real libp2p hosts on loopback: a maker reached only through a relay is
// heard, and a rogue's forged envelope never reaches the taker's book (and costs the rogue).
import assert from 'node:assert/strict';
import type { Offer } from '../../../model/offer.ts';
import { OFFERS_TOPIC } from '../../../protocols/discovery/gossip.ts';
import { signEnvelope } from '../../../protocols/offer/index.ts';
import { encode } from '../../../protocols/wire.ts';
import { tempDir } from '../../helpers/cfd-fixtures.ts';
import { type OfferHost, offerHost } from '../../helpers/offer-hosts.ts';
import { smallOffer } from '../../helpers/offers.ts';
import { until } from '../../helpers/wait.ts';

const now = () => Math.floor(Date.now() / 1000);
const offer = (id: string): Offer => smallOffer(now(), { id });

describe('protocols/discovery/gossip', function () {
  this.timeout(30_000);
  let dir: { path: string; cleanup: () => Promise<void> };
  const hosts: OfferHost[] = [];
  let relay: OfferHost;
  let far: OfferHost;
  let taker: OfferHost;
  let rogue: OfferHost;

  async function host(name: string, role: 'maker' | 'taker'): Promise<OfferHost> {
    const h = await offerHost(dir.path, name, role);
    hosts.push(h);
    return h;
  }

  const subscribed = (from: OfferHost, to: OfferHost) =>
    from.node.services.pubsub.getSubscribers(OFFERS_TOPIC).some((p) => p.equals(to.node.peerId));

  before(async () => {
    dir = await tempDir();
    relay = await host('relay', 'maker');
    far = await host('far', 'maker');
    taker = await host('taker', 'taker');
    rogue = await host('rogue', 'maker');
    // far — relay — taker — rogue: the taker has no connection to the far maker.
    await far.node.dial(relay.node.getMultiaddrs()[0]!);
    await taker.node.dial(relay.node.getMultiaddrs()[0]!);
    await taker.node.dial(rogue.node.getMultiaddrs()[0]!);
    await until('gossip subscriptions exchanged', () =>
      [subscribed(far, relay), subscribed(relay, far), subscribed(relay, taker)]
        .concat([subscribed(taker, relay), subscribed(rogue, taker)])
        .every(Boolean),
    );
  });

  after(async () => {
    for (const h of hosts) await h.stop();
    await dir.cleanup();
  });

  it('a maker the taker is not connected to reaches its book through a relay, with its addrs', async () => {
    const farId = far.node.peerId.toString();
    assert.equal(taker.node.getConnections(far.node.peerId).length, 0);
    await far.offers.publish([offer('far-1')]);
    const seen = await until('the far maker in the taker’s book', () =>
      taker.offers.book.makers().find((m) => m.maker === farId),
    );
    assert.deepEqual(
      taker.offers.book.current(now(), { maxOfferAgeSecs: 600 }).map((o) => o.offer.id),
      ['far-1'],
    );
    assert.deepEqual(seen.addrs, far.node.getMultiaddrs().map(String));
  });

  it('a forged envelope never reaches the book; the rogue relaying it is penalised', async () => {
    const farId = far.node.peerId.toString();
    const rogueId = rogue.node.peerId.toString();
    // The rogue signs offers in the far maker's name with its own key…
    const forged = await signEnvelope(rogue.key, farId, {
      seq: Date.now() + 1_000_000,
      createdAt: now(),
      addrs: rogue.node.getMultiaddrs().map(String),
      offers: [offer('forged')],
    });
    await rogue.node.services.pubsub.publish(OFFERS_TOPIC, encode(forged));
    // …and republishes as its own a valid envelope of the far maker with its offers altered.
    const genuine = await signEnvelope(far.key, farId, {
      seq: Date.now() + 2_000_000,
      createdAt: now(),
      addrs: [],
      offers: [offer('genuine')],
    });
    const altered = { ...genuine, payload: genuine.payload.replace('genuine', 'altered') };
    await rogue.node.services.pubsub.publish(OFFERS_TOPIC, encode(altered));
    const score = () =>
      (taker.node.services.pubsub as unknown as { getScore(id: string): number }).getScore(rogueId);
    // The taker's validator rejected them: gossipsub counts invalid deliveries against the rogue.
    await until('the rogue penalised by the taker', () => score() < 0);
    // An honest announcement after the forgeries still comes through the relay.
    await far.offers.publish([offer('far-2')]);
    await until('far-2 in the book', () => taker.offers.book.find(farId, 'far-2'));
    const ids = taker.offers.book.current(now(), { maxOfferAgeSecs: 600 }).map((o) => o.offer.id);
    assert.deepEqual(ids, ['far-2']);
    assert.deepEqual(
      taker.offers.book.makers().find((m) => m.maker === farId)?.addrs,
      far.node.getMultiaddrs().map(String),
      'the far maker’s addrs are its own, not the rogue’s',
    );
  });
});
