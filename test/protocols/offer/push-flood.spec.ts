// A flood of valid direct pushes: a peer connected once pushes its own validly signed envelopes
// (seq ever higher) on `/dlcfd/offer/1.0.0` as fast as streams open. The taker applies at most the
// peer's budget (the same per-source buckets as the gossip), and another maker's push still lands.
import assert from 'node:assert/strict';
import { loadOrCreateIdentity } from '../../../node/p2p/identity.ts';
import { createP2pNode, type P2pNode } from '../../../node/p2p/node.ts';
import { envelopeCost } from '../../../protocols/discovery/budget.ts';
import {
  MAX_MESSAGE_BYTES,
  OFFER_PROTOCOL,
  OfferProtocol,
  signEnvelope,
} from '../../../protocols/offer/index.ts';
import { Framed } from '../../../protocols/wire.ts';
import { tempDir } from '../../helpers/cfd-fixtures.ts';
import { smallOffer } from '../../helpers/offers.ts';
import { until } from '../../helpers/wait.ts';

const now = () => Math.floor(Date.now() / 1000);
const PUSHES = 400;
/** Small, so that the flood outruns it in a short spec: the mechanism, not the default's size. */
const BUDGET = { ratePerSec: 20, burst: 40 };

describe('protocols/offer push flood', function () {
  this.timeout(30_000);
  let dir: { path: string; cleanup: () => Promise<void> };
  const nodes: P2pNode[] = [];
  let taker: OfferProtocol;
  let takerNode: P2pNode;

  async function p2p(name: string) {
    const key = await loadOrCreateIdentity(`${dir.path}/${name}`);
    const node = await createP2pNode({ privateKey: key, listen: ['/ip4/127.0.0.1/tcp/0'] });
    nodes.push(node);
    return { node, key };
  }

  before(async () => {
    dir = await tempDir();
    takerNode = (await p2p('taker')).node;
    taker = new OfferProtocol(takerNode, { role: 'taker', sourceBudget: BUDGET });
    await taker.start();
  });

  after(async () => {
    await taker.stop();
    for (const n of nodes) await n.stop();
    await dir.cleanup();
  });

  it('applies at most the pushing peer’s budget; another maker’s push still lands', async () => {
    const { node: rogue, key } = await p2p('rogue');
    const rogueId = rogue.peerId.toString();
    const applied: string[] = [];
    taker.onOffers((u) => {
      if (!u.gone) applied.push(u.maker);
    });
    const started = performance.now();
    let bytes = 0;
    for (let i = 0; i < PUSHES; i++) {
      const envelope = await signEnvelope(key, rogueId, {
        seq: Date.now() * 1000 + i,
        createdAt: now(),
        addrs: [],
        offers: [smallOffer(now(), { id: `push-${i}` })],
      });
      bytes = envelope.payload.length;
      const signal = AbortSignal.timeout(5_000);
      const stream = await rogue.dialProtocol(takerNode.getMultiaddrs()[0]!, OFFER_PROTOCOL, {
        signal,
      });
      const framed = new Framed(stream, { maxMessageBytes: MAX_MESSAGE_BYTES });
      await framed.write(envelope, { signal });
      await framed.close({ signal }).catch(() => undefined);
    }
    await until(
      'every push handled',
      () => applied.filter((m) => m === rogueId).length + taker.pushesOverBudget >= PUSHES,
    );
    const elapsedS = (performance.now() - started) / 1000;
    const admitted = applied.filter((m) => m === rogueId).length;
    const budget = Math.floor((BUDGET.burst + BUDGET.ratePerSec * elapsedS) / envelopeCost(bytes));
    assert.ok(admitted > 0);
    assert.ok(admitted <= budget, `${admitted} pushes applied, over the budget of ${budget}`);
    assert.equal(taker.pushesOverBudget, PUSHES - admitted);

    // An honest maker on its own connection: its push lands whatever the rogue spent.
    const { node: honestNode, key: honestKey } = await p2p('honest');
    const honest = new OfferProtocol(honestNode, {
      role: 'maker',
      signer: { peerId: honestNode.peerId.toString(), key: honestKey },
    });
    await honest.start();
    await honest.publish([smallOffer(now(), { id: 'honest-1' })]);
    await honestNode.dial(takerNode.getMultiaddrs()[0]!);
    await until('the honest maker’s push in the book', () =>
      taker.book.find(honestNode.peerId.toString(), 'honest-1'),
    );
    await honest.stop();
  });
});
