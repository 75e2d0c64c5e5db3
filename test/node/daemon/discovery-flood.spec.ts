// Whole daemons against a flood of made-up makers on the offer gossip: a taker bootstrapped to a
// real maker hears, through its real topic validator, validly signed envelopes of more made-up
// makers than it has dial places, all announcing an address nobody listens on. An honest maker
// that joins afterwards must still be dialled, and the strangers' failing connections must not
// show in the taker's health.
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { type Message, TopicValidatorResult } from '@libp2p/gossipsub';
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id';
import { loadConfig } from '../../../node/daemon/config.ts';
import { Daemon } from '../../../node/daemon/daemon.ts';
import { loadOrCreateIdentity } from '../../../node/p2p/identity.ts';
import { createP2pNode } from '../../../node/p2p/node.ts';
import { OFFERS_TOPIC } from '../../../protocols/discovery/gossip.ts';
import { OfferProtocol, signEnvelope } from '../../../protocols/offer/index.ts';
import { encode } from '../../../protocols/wire.ts';
import { tempDir } from '../../helpers/cfd-fixtures.ts';
import { quietFeed } from '../../helpers/live-nodes.ts';
import { smallOffer } from '../../helpers/offers.ts';
import { until } from '../../helpers/wait.ts';
import { silent } from '../chain/helpers.ts';

/** More than the taker's 64 discovered-maker places. */
const SYBILS = 70;

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

describe('node/daemon discovery under a flood of made-up makers', function () {
  this.timeout(120_000);
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  const start = async (role: 'maker' | 'taker', flags: Record<string, string | string[]>) => {
    const feed = await quietFeed();
    cleanups.push(() => feed.stop());
    const dir = await tempDir();
    cleanups.push(dir.cleanup);
    const config = await loadConfig({
      role,
      flags: { datadir: dir.path, network: 'regtest', pricefeed: feed.url, ...flags },
    });
    const daemon = await Daemon.start(config, { logger: silent });
    cleanups.push(() => daemon.stop());
    return daemon;
  };

  it('an honest maker joining after the flood is still dialled; the strangers stay out of health', async () => {
    const listen = '/ip4/127.0.0.1/tcp/0';
    const m1 = await start('maker', { listen: [listen], 'announce-interval': '1' });
    const bootstrap = [m1.p2p.getMultiaddrs()[0]!.toString()];
    const taker = await start('taker', { bootstrap });
    await until('the bootstrap maker in the book', () =>
      taker.offers.book.makers().some((m) => m.maker === m1.peerId),
    );

    // The flood: fresh keys, each envelope valid, every address a closed port.
    const validate = taker.p2p.services.pubsub.topicValidators.get(OFFERS_TOPIC)!;
    const nowhere = `/ip4/127.0.0.1/tcp/${await closedPort()}`;
    const sybils: string[] = [];
    for (let i = 0; i < SYBILS; i++) {
      const key = await generateKeyPair('Ed25519');
      const from = peerIdFromPrivateKey(key);
      const now = Math.floor(Date.now() / 1000);
      const envelope = await signEnvelope(key, from.toString(), {
        seq: Date.now(),
        createdAt: now,
        addrs: [nowhere],
        offers: [smallOffer(now, { id: `sybil-${i}` })],
      });
      const message = {
        type: 'signed',
        from,
        topic: OFFERS_TOPIC,
        data: encode(envelope),
        sequenceNumber: BigInt(i),
        signature: new Uint8Array(64),
        key: key.publicKey,
      } as Message;
      assert.equal(await validate(from, message), TopicValidatorResult.Accept);
      sybils.push(from.toString());
    }

    // An honest maker joins through the bootstrap maker; the taker hears it by gossip only.
    const m2 = await start('maker', { listen: [listen], 'announce-interval': '1', bootstrap });
    await until(
      'the taker connected to the honest maker',
      () => taker.p2p.getConnections(peerIdFromString(m2.peerId)).length > 0,
      60_000,
    );
    const peers = taker.health
      .snapshot()
      .map((c) => c.name)
      .filter((n) => n.startsWith('peer:'));
    assert.deepEqual(peers, [`peer:${m1.peerId}`], 'only the configured bootstrap peer');
    assert.ok(
      taker.health.snapshot().every((c) => !sybils.some((s) => c.name.includes(s))),
      'no stranger in the health registry',
    );
  });

  it('an envelope with an address that is no multiaddr is refused where it enters, never costing the honest relay', async () => {
    const m1 = await start('maker', { listen: ['/ip4/127.0.0.1/tcp/0'] });
    const bootstrap = m1.p2p.getMultiaddrs()[0]!;
    const taker = await start('taker', { bootstrap: [bootstrap.toString()] });
    // A rogue maker connected to the bootstrap maker only, announcing a garbage address.
    const dir = await tempDir();
    cleanups.push(dir.cleanup);
    const key = await loadOrCreateIdentity(`${dir.path}/rogue`);
    const node = await createP2pNode({ privateKey: key, listen: ['/ip4/127.0.0.1/tcp/0'] });
    cleanups.push(async () => {
      await node.stop();
    });
    let addrs = ['not a multiaddr'];
    const rogue = new OfferProtocol(node, {
      role: 'maker',
      signer: { peerId: node.peerId.toString(), key },
      addrs: () => addrs,
      pubsub: node.services.pubsub,
    });
    await rogue.start();
    cleanups.push(async () => {
      await rogue.stop();
    });
    await node.dial(bootstrap);
    const pubsub = (n: typeof node) =>
      n.services.pubsub as unknown as { getScore(id: string): number };
    await until('the taker meshed with the bootstrap maker, the rogue with it', () =>
      [
        m1.p2p.services.pubsub.getSubscribers(OFFERS_TOPIC).some((p) => p.equals(node.peerId)),
        node.services.pubsub.getSubscribers(OFFERS_TOPIC).some((p) => p.toString() === m1.peerId),
        m1.p2p.services.pubsub
          .getSubscribers(OFFERS_TOPIC)
          .some((p) => p.toString() === taker.peerId),
      ].every(Boolean),
    );
    const rogueId = node.peerId.toString();
    await rogue.publish([smallOffer(Math.floor(Date.now() / 1000), { id: 'garbage-addr' })]);
    // The bootstrap maker refuses it as malformed: the rogue pays, not the relay.
    await until(
      'the rogue penalised by the bootstrap maker',
      () => pubsub(m1.p2p).getScore(rogueId) < 0,
    );
    // The rogue's next announcement, with an address, passes through the relay to the taker…
    addrs = node.getMultiaddrs().map(String);
    await rogue.announce();
    await until('the rogue in the taker’s book', () =>
      taker.offers.book.makers().find((m) => m.maker === rogueId && m.addrs.length > 0),
    );
    // …which never penalised the honest relay for the garbage.
    assert.ok(pubsub(taker.p2p).getScore(m1.peerId) >= 0, 'the bootstrap maker’s score');
  });
});
