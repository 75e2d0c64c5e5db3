// A flood of *valid* envelopes over real gossipsub: a rogue host publishes thousands of envelopes,
// each from a fresh maker key and validly signed (publisher and envelope alike), as fast as it can.
// The taker it is connected to verifies and applies at most its budget for that connection and
// relays no more than that to the taker behind it, while an honest maker's announcement on another
// connection still reaches both books during the flood.
import assert from 'node:assert/strict';
import { generateKeyPair, publicKeyToProtobuf } from '@libp2p/crypto/keys';
import { PublishConfigType } from '@libp2p/gossipsub/types';
import type { PeerId, PrivateKey } from '@libp2p/interface';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { loadOrCreateIdentity } from '../../../node/p2p/identity.ts';
import { createP2pNode, type P2pNode } from '../../../node/p2p/node.ts';
import { DEFAULT_SOURCE_BUDGET, envelopeCost } from '../../../protocols/discovery/budget.ts';
import { OFFERS_TOPIC } from '../../../protocols/discovery/gossip.ts';
import { OfferProtocol, signEnvelope } from '../../../protocols/offer/index.ts';
import { encode } from '../../../protocols/wire.ts';
import { tempDir } from '../../helpers/cfd-fixtures.ts';
import { smallOffer } from '../../helpers/offers.ts';
import { until } from '../../helpers/wait.ts';

const now = () => Math.floor(Date.now() / 1000);
/** Envelopes the rogue floods the first taker with. */
const FLOOD = 3_000;
const OFFERS_PER_ENVELOPE = 10;
/** Flood envelopes handled before the honest maker announces: past the burst (≈ 600 of these),
 * well before the end. */
const HONEST_AFTER = 1_000;

interface Taker {
  node: P2pNode;
  offers: OfferProtocol;
  /** Makers of every update applied to the book (not the "gone" ones), in order. */
  applied: string[];
}

interface SybilEnvelope {
  key: PrivateKey;
  peerId: PeerId;
  maker: string;
  bytes: Uint8Array;
}

describe('protocols/discovery flood of valid envelopes', function () {
  this.timeout(60_000);
  let dir: { path: string; cleanup: () => Promise<void> };
  const nodes: P2pNode[] = [];
  const protocols: OfferProtocol[] = [];
  let first: Taker;
  let second: Taker;
  let honest: { node: P2pNode; offers: OfferProtocol };
  let rogue: P2pNode;
  const sybils: SybilEnvelope[] = [];

  async function p2p(name: string): Promise<P2pNode> {
    const key = await loadOrCreateIdentity(`${dir.path}/${name}`);
    const node = await createP2pNode({ privateKey: key, listen: ['/ip4/127.0.0.1/tcp/0'] });
    nodes.push(node);
    return node;
  }

  async function taker(name: string): Promise<Taker> {
    const node = await p2p(name);
    const offers = new OfferProtocol(node, { role: 'taker', pubsub: node.services.pubsub });
    const applied: string[] = [];
    offers.onOffers((u) => {
      if (!u.gone) applied.push(u.maker);
    });
    await offers.start();
    protocols.push(offers);
    return { node, offers, applied };
  }

  /** Whether `a` relays the topic to `b` (gossipsub's mesh; not in its public type). */
  const inMesh = (a: P2pNode, b: P2pNode) =>
    (a.services.pubsub as unknown as { getMeshPeers(topic: string): string[] })
      .getMeshPeers(OFFERS_TOPIC)
      .includes(b.peerId.toString());

  before(async () => {
    dir = await tempDir();
    first = await taker('first');
    second = await taker('second');
    const honestNode = await p2p('honest');
    const honestKey = await loadOrCreateIdentity(`${dir.path}/honest`);
    honest = {
      node: honestNode,
      offers: new OfferProtocol(honestNode, {
        role: 'maker',
        signer: { peerId: honestNode.peerId.toString(), key: honestKey },
        pubsub: honestNode.services.pubsub,
      }),
    };
    await honest.offers.start();
    protocols.push(honest.offers);
    // The rogue runs plain gossipsub: no validator of its own, it only publishes.
    rogue = await p2p('rogue');
    rogue.services.pubsub.subscribe(OFFERS_TOPIC);
    // rogue — first — second, and honest — first: the second taker hears only through the first.
    const at = first.node.getMultiaddrs()[0]!;
    await rogue.dial(at);
    await second.node.dial(at);
    await honest.node.dial(at);
    await until(
      'the first taker’s mesh holds the second and the honest maker, the rogue its subscription',
      () =>
        inMesh(first.node, second.node) &&
        inMesh(second.node, first.node) &&
        inMesh(first.node, honest.node) &&
        inMesh(honest.node, first.node) &&
        rogue.services.pubsub.getSubscribers(OFFERS_TOPIC).some((p) => p.equals(first.node.peerId)),
    );
    for (let i = 0; i < FLOOD; i++) {
      const key = await generateKeyPair('Ed25519');
      const peerId = peerIdFromPrivateKey(key);
      const maker = peerId.toString();
      const offers = Array.from({ length: OFFERS_PER_ENVELOPE }, (_, j) =>
        smallOffer(now(), { id: `sybil-${i}-${j}` }),
      );
      const envelope = await signEnvelope(key, maker, {
        seq: Date.now(),
        createdAt: now(),
        addrs: ['/ip4/192.0.2.1/tcp/4001'],
        offers,
      });
      sybils.push({ key, peerId, maker, bytes: encode(envelope) });
    }
  });

  after(async () => {
    for (const p of protocols) await p.stop();
    for (const n of nodes) await n.stop();
    await dir.cleanup();
  });

  /** Publishes `s` on the rogue's gossipsub as if the rogue were that maker (StrictSign by its key). */
  async function publishAs(s: SybilEnvelope): Promise<void> {
    const pubsub = rogue.services.pubsub as unknown as { publishConfig: unknown };
    pubsub.publishConfig = {
      type: PublishConfigType.Signing,
      author: s.peerId,
      key: publicKeyToProtobuf(s.key.publicKey),
      privateKey: s.key,
    };
    await rogue.services.pubsub.publish(OFFERS_TOPIC, s.bytes);
  }

  it('applies at most the rogue connection’s budget, relays no more, and still hears an honest maker', async () => {
    const honestId = honest.node.peerId.toString();
    const sybilMakers = new Set(sybils.map((s) => s.maker));
    const bySybil = (applied: string[]) => applied.filter((m) => sybilMakers.has(m)).length;
    const honestHeard = (t: Taker) => t.offers.book.find(honestId, 'honest-1') !== undefined;
    const processed = () => {
      const s = first.offers.gossipStats!;
      return s.accepted + s.refused + s.overBudget;
    };
    // The honest maker announces on its own connection once the rogue's is over budget, the flood
    // still being handled; `duringFlood` is how much of it the first taker had handled when it
    // applied the honest offer (all of it, here: in one process the taker works through the backlog
    // already read before it reads the honest connection — with the budget, ignoring it is quick).
    let honestSent: Promise<void> | undefined;
    let duringFlood: number | undefined;
    let ignoredWhenHonest = 0;
    first.offers.onOffers((u) => {
      if (u.accepted.some((o) => o.id === 'honest-1') && duringFlood === undefined)
        duringFlood = processed();
    });
    const validate = first.node.services.pubsub.topicValidators.get(OFFERS_TOPIC)!;
    first.node.services.pubsub.topicValidators.set(OFFERS_TOPIC, async (peer, message) => {
      try {
        return await validate(peer, message);
      } finally {
        if (!honestSent && processed() >= HONEST_AFTER) {
          ignoredWhenHonest = first.offers.gossipStats!.overBudget;
          honestSent = honest.offers.publish([smallOffer(now(), { id: 'honest-1' })]);
        }
      }
    });

    const started = performance.now();
    // The whole process's CPU: the rogue publishing, both takers receiving and validating.
    const cpu0 = process.cpuUsage();
    // The rogue sends its whole flood as fast as gossipsub takes it (far faster than it is validated).
    const flooding = (async () => {
      for (const s of sybils) await publishAs(s);
    })();
    await until('the honest offer in the first taker’s book', () => honestHeard(first), 15_000);
    await flooding;
    // The first taker has taken every message in hand: the rogue's and the honest one.
    const stats = await until(
      'the first taker validated the whole flood',
      () => processed() >= FLOOD + 1 && first.offers.gossipStats!,
      15_000,
    );
    await honestSent;
    assert.ok(duringFlood !== undefined);
    const elapsedS = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const cost = envelopeCost(sybils[0]!.bytes.length);
    const { burst, ratePerSec } = DEFAULT_SOURCE_BUDGET;
    const budget = Math.floor((burst + ratePerSec * elapsedS) / cost);
    const admitted = bySybil(first.applied);
    console.log(
      `      ${FLOOD} envelopes (${sybils[0]!.bytes.length} B) in ${elapsedS.toFixed(2)} s: ` +
        `${admitted} applied (budget ${budget}), ${stats.overBudget} ignored over budget; ` +
        `process CPU ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms; honest offer applied after ${duringFlood}`,
    );
    assert.equal(stats.refused, 0, 'every envelope was valid');
    assert.ok(admitted > 0, 'the rogue’s first envelopes are applied (a burst is allowed)');
    assert.ok(admitted <= budget, `${admitted} applied, over the budget of ${budget}`);
    assert.ok(ignoredWhenHonest > 0, 'the rogue was over budget when the honest maker announced');
    assert.equal(stats.overBudget, FLOOD - admitted, 'the rest ignored unopened');
    assert.ok(honestHeard(first));

    // The second taker gets what the first relayed — what it accepted — and nothing else.
    await until(
      'the second taker validated everything the first relayed',
      () => {
        const s = second.offers.gossipStats!;
        return s.accepted + s.refused + s.overBudget >= stats.accepted;
      },
      15_000,
    );
    assert.ok(honestHeard(second), 'the honest offer relayed');
    const relayed = bySybil(second.applied);
    assert.ok(relayed > 0, 'the first taker relays what it accepted');
    assert.ok(relayed <= admitted, `${relayed} relayed, more than the ${admitted} applied`);
  });
});
