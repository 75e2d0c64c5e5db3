// The libp2p host both roles run (node/p2p/node.ts), on loopback: many takers behind one address
// (a NAT, a VPN, Tor, a testnet on one machine) all hear a maker's offers.
import assert from 'node:assert/strict';
import type { Offer } from '../../../model/offer.ts';
import { OFFERS_TOPIC } from '../../../protocols/discovery/gossip.ts';
import { tempDir } from '../../helpers/cfd-fixtures.ts';
import { offerHost } from '../../helpers/offer-hosts.ts';
import { smallOffer } from '../../helpers/offers.ts';
import { until } from '../../helpers/wait.ts';

const now = () => Math.floor(Date.now() / 1000);

/** More than gossipsub's default IP colocation threshold (10) plus the publish margin. */
const TAKERS = 16;

describe('node/p2p: the libp2p host', function () {
  this.timeout(60_000);
  let dir: { path: string; cleanup: () => Promise<void> };
  const stops: (() => Promise<void>)[] = [];

  before(async () => {
    dir = await tempDir();
  });
  after(async () => {
    for (const stop of stops.reverse()) await stop();
    await dir.cleanup();
  });

  async function host(name: string, role: 'maker' | 'taker') {
    // All the takers dial at once from one host; the per-host rate is not what this tests.
    const h = await offerHost(dir.path, name, role, { inboundConnectionThreshold: 1_000 });
    stops.push(() => h.stop());
    return h;
  }

  it(`${TAKERS} takers on one IP address all receive the maker's offers (no IP colocation penalty)`, async () => {
    const maker = await host('maker', 'maker');
    const makerId = maker.node.peerId.toString();
    const takers = await Promise.all(
      Array.from({ length: TAKERS }, (_, i) => host(`taker${i}`, 'taker')),
    );
    await Promise.all(takers.map((t) => t.node.dial(maker.node.getMultiaddrs()[0]!)));
    await until('every taker subscribed at the maker', () => {
      const subs = new Set(
        maker.node.services.pubsub.getSubscribers(OFFERS_TOPIC).map((p) => p.toString()),
      );
      return takers.every((t) => subs.has(t.node.peerId.toString()));
    });
    const offer: Offer = smallOffer(now(), { id: 'crowd-1' });
    await maker.offers.publish([offer]);
    await until(
      'the offer in every taker’s book',
      () => takers.every((t) => t.offers.book.find(makerId, 'crowd-1')),
      20_000,
    );
    // Gossipsub scores each of them as a peer of its own: none is below a threshold.
    const score = (id: string) =>
      (maker.node.services.pubsub as unknown as { getScore(id: string): number }).getScore(id);
    for (const t of takers) assert.ok(score(t.node.peerId.toString()) >= 0);
  });
});
