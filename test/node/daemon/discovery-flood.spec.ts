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
import { OFFERS_TOPIC } from '../../../protocols/discovery/gossip.ts';
import { signEnvelope } from '../../../protocols/offer/index.ts';
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
  after(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('an honest maker joining after the flood is still dialled; the strangers stay out of health', async () => {
    const feed = await quietFeed();
    cleanups.push(() => feed.stop());
    const start = async (role: 'maker' | 'taker', flags: Record<string, string | string[]>) => {
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
});
