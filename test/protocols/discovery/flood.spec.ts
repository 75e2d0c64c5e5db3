// A sybil flood on the offer topic: hundreds of made-up makers, each envelope validly signed by
// its own fresh key, reach a taker's real gossipsub validator (what gossipsub calls once it has
// checked the publisher's signature). The book, the verifier's memory and what the taker would
// dial stay bounded, and the maker the taker keeps (it traded with it) is never evicted.
import assert from 'node:assert/strict';
import { generateKeyPair } from '@libp2p/crypto/keys';
import type { Message } from '@libp2p/gossipsub';
import { TopicValidatorResult } from '@libp2p/gossipsub';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { loadOrCreateIdentity } from '../../../node/p2p/identity.ts';
import { createP2pNode, type P2pNode } from '../../../node/p2p/node.ts';
import { OFFERS_TOPIC } from '../../../protocols/discovery/gossip.ts';
import { MAX_BOOK_MAKERS, OfferProtocol, signEnvelope } from '../../../protocols/offer/index.ts';
import { encode } from '../../../protocols/wire.ts';
import { tempDir } from '../../helpers/cfd-fixtures.ts';
import { smallOffer } from '../../helpers/offers.ts';

const now = () => Math.floor(Date.now() / 1000);

describe('protocols/discovery flood of made-up makers', function () {
  this.timeout(60_000);
  let dir: { path: string; cleanup: () => Promise<void> };
  let node: P2pNode;
  let offers: OfferProtocol;
  let traded: string;
  const gone: string[] = [];
  /** Makers of the updates flagged `gone` (the daemon's records must not count them as offers). */
  const goneUpdates: string[] = [];

  before(async () => {
    dir = await tempDir();
    const key = await loadOrCreateIdentity(`${dir.path}/taker`);
    node = await createP2pNode({ privateKey: key, listen: [] });
    offers = new OfferProtocol(node, {
      role: 'taker',
      pubsub: node.services.pubsub,
      keepMaker: (maker) => maker === traded,
    });
    offers.onMakerGone((m) => gone.push(m));
    offers.onOffers((u) => {
      if (u.gone) goneUpdates.push(u.maker);
    });
    await offers.start();
  });

  after(async () => {
    await offers.stop();
    await node.stop();
    await dir.cleanup();
  });

  /** A fresh maker's envelope as the gossip validator sees it. */
  async function announce(n: number, addrs: string[] = ['/ip4/192.0.2.1/tcp/4001']) {
    const key = await generateKeyPair('Ed25519');
    const from = peerIdFromPrivateKey(key);
    const envelope = await signEnvelope(key, from.toString(), {
      seq: Date.now(),
      createdAt: now(),
      addrs,
      offers: [smallOffer(now(), { id: `sybil-${n}` })],
    });
    const message = {
      type: 'signed',
      from,
      topic: OFFERS_TOPIC,
      data: encode(envelope),
      sequenceNumber: BigInt(n),
      signature: new Uint8Array(64),
      key: key.publicKey,
    } as Message;
    const validate = node.services.pubsub.topicValidators.get(OFFERS_TOPIC);
    assert.ok(validate, 'the offer protocol validates its topic');
    return { maker: from.toString(), result: await validate(from, message) };
  }

  it('keeps the book at its bound, evicting the least recently heard, never a kept maker', async () => {
    const first = await announce(0);
    assert.equal(first.result, TopicValidatorResult.Accept);
    traded = first.maker;
    const flood = MAX_BOOK_MAKERS + 100;
    const results: TopicValidatorResult[] = [];
    for (let i = 1; i <= flood; i++) results.push((await announce(i)).result);
    // Every envelope is valid: relayed as usual (a flood is gossipsub's peer scoring's business).
    assert.ok(results.every((r) => r === TopicValidatorResult.Accept));
    const makers = offers.book.makers().map((m) => m.maker);
    assert.equal(makers.length, MAX_BOOK_MAKERS);
    assert.ok(makers.includes(traded), 'the maker the taker traded with stays');
    assert.equal(gone.length, flood + 1 - MAX_BOOK_MAKERS, 'each eviction is told as a maker gone');
    assert.ok(!gone.includes(traded));
    assert.deepEqual(goneUpdates, gone, 'each told to the offer listeners as gone, not as offers');
    assert.equal(
      offers.book.current(now(), { maxOfferAgeSecs: 600 }).length,
      MAX_BOOK_MAKERS,
      'the evicted makers’ offers are gone with them',
    );
  });

  it('a listener that throws does not turn a valid envelope into a rejection (that penalises its relay)', async () => {
    const off = offers.onOffers(() => {
      throw new Error('listener bug');
    });
    try {
      const { maker, result } = await announce(-1);
      assert.equal(result, TopicValidatorResult.Accept);
      assert.ok(offers.book.makers().some((m) => m.maker === maker));
    } finally {
      off();
    }
  });
});
