// A maker's envelope seq across a restart with its clock stepped back, over real libp2p on
// loopback: the seq kept in its datadir (node/p2p/offer-sequence.ts) keeps it above what a taker
// accepted, so the taker takes its new offers at once instead of refusing them as replays.
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Offer } from '../../../model/offer.ts';
import { loadOrCreateIdentity } from '../../../node/p2p/identity.ts';
import { createP2pNode, type P2pNode } from '../../../node/p2p/node.ts';
import {
  OFFER_SEQUENCE_FILE,
  OfferSequenceFileError,
  offerSequenceFile,
} from '../../../node/p2p/offer-sequence.ts';
import {
  EnvelopeSequence,
  type OfferBookUpdate,
  OfferProtocol,
} from '../../../protocols/offer/index.ts';
import { tempDir } from '../../helpers/cfd-fixtures.ts';
import { smallOffer } from '../../helpers/offers.ts';
import { until } from '../../helpers/wait.ts';

const NOW = Math.floor(Date.now() / 1000);
/** How far the maker's clock steps back across its restart: within the envelope age allowed. */
const STEP_BACK_MS = 120_000;

describe('protocols/offer: the seq across a maker restart', function () {
  this.timeout(30_000);
  let dir: { path: string; cleanup: () => Promise<void> };
  const nodes: P2pNode[] = [];

  before(async () => {
    dir = await tempDir();
  });

  after(async () => {
    for (const n of nodes) await n.stop();
    await dir.cleanup();
  });

  /** A maker on `dir/maker` whose clock runs `offsetMs` from the real one, publishing `offers`. */
  async function startMaker(offsetMs: number, offers: Offer[]) {
    const datadir = join(dir.path, 'maker');
    const key = await loadOrCreateIdentity(datadir);
    const node = await createP2pNode({ privateKey: key, listen: ['/ip4/127.0.0.1/tcp/0'] });
    nodes.push(node);
    const clockMs = () => Date.now() + offsetMs;
    const maker = new OfferProtocol(node, {
      role: 'maker',
      signer: { peerId: node.peerId.toString(), key },
      clock: () => Math.floor(clockMs() / 1000),
      sequence: new EnvelopeSequence({ clockMs, store: offerSequenceFile(datadir) }),
    });
    await maker.start();
    await maker.publish(offers);
    return { node, maker };
  }

  it('a taker that accepted its envelopes takes the restarted maker’s offers at once', async () => {
    const takerNode = await createP2pNode({
      privateKey: await loadOrCreateIdentity(join(dir.path, 'taker')),
    });
    nodes.push(takerNode);
    const taker = new OfferProtocol(takerNode, { role: 'taker' });
    const updates: OfferBookUpdate[] = [];
    taker.onOffers((u) => updates.push(u));
    await taker.start();

    const first = await startMaker(0, [smallOffer(NOW, { id: 'before' })]);
    await takerNode.dial(first.node.getMultiaddrs()[0]!);
    await until('the first offers', () => updates.find((u) => u.accepted[0]?.id === 'before'));
    await first.maker.stop();
    await first.node.stop();
    await until('the maker gone', () => takerNode.getConnections().length === 0);

    // Same datadir and key; the clock now two minutes behind what the taker last saw.
    const second = await startMaker(-STEP_BACK_MS, [smallOffer(NOW, { id: 'after' })]);
    await takerNode.dial(second.node.getMultiaddrs()[0]!);
    const u = await until('the offers after the restart', () =>
      updates.find((x) => x.accepted[0]?.id === 'after'),
    );
    assert.equal(u.maker, second.node.peerId.toString());
    assert.deepEqual(
      taker.book.current(NOW, { maxOfferAgeSecs: 600 }).map((c) => c.offer.id),
      ['after'],
    );
    await second.maker.stop();
  });

  it('stores a ceiling ahead of the seqs it hands out, and refuses a file it did not write', async () => {
    const datadir = join(dir.path, 'alone');
    await loadOrCreateIdentity(datadir);
    const store = offerSequenceFile(datadir);
    let now = 5_000;
    const first = new EnvelopeSequence({ clockMs: () => now, store, reserve: 1_000 });
    assert.equal(await first.next(), 5_000);
    assert.equal(await first.next(), 5_001);
    const stored = JSON.parse(await readFile(join(datadir, OFFER_SEQUENCE_FILE), 'utf8'));
    assert.deepEqual(stored, { version: 1, ceiling: 6_000 });
    // A restart with the clock stepped back: above the ceiling, then one by one.
    now = 1_000;
    const again = new EnvelopeSequence({ clockMs: () => now, store, reserve: 1_000 });
    assert.equal(await again.next(), 6_001);
    assert.equal(await again.next(), 6_002);

    await writeFile(join(datadir, OFFER_SEQUENCE_FILE), '{"version":1,"ceiling":-4}');
    await assert.rejects(
      new EnvelopeSequence({ store: offerSequenceFile(datadir) }).next(),
      OfferSequenceFileError,
    );
  });
});
