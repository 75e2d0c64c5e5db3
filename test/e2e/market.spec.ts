// End to end, whole daemons: a market of three makers and two takers that were told only maker
// 1's address (the bootstrap node). The takers discover the other makers over the offer gossip,
// take the best price, and each CFD stays bound to its maker: one maker down takes only its own
// offers and CFDs with it, and when it returns its CFDs roll over again.
import assert from 'node:assert/strict';
import { Daemon } from '../../node/daemon/daemon.ts';
import type { RolloverResultEvent } from '../../protocols/rollover/index.ts';
import { silent } from '../node/chain/helpers.ts';
import {
  addressOf,
  cfd,
  type Market,
  openCfd,
  startMarket,
  until,
  useCleanups,
} from './network.ts';

const now = () => Math.floor(Date.now() / 1000);
const AGE = { maxOfferAgeSecs: 600 };

/** The makers `taker` has offers of now. */
const makersIn = (taker: Daemon): Set<string> =>
  new Set(taker.offers.book.current(now(), AGE).map((o) => o.maker));

/** `maker`'s short offer in `taker`'s book. */
const shortOf = (taker: Daemon, maker: Daemon) =>
  taker.offers.book
    .current(now(), AGE)
    .find((o) => o.maker === maker.peerId && o.offer.makerPosition === 'short')?.offer;

describe('e2e: a market of makers discovered through one bootstrap address', function () {
  this.timeout(240_000);
  const cleanups = useCleanups();
  let net: Market;
  /** Completed rollovers per CFD, with when they completed (ms). */
  const rolled = new Map<string, number[]>();
  const watch = (taker: Daemon) =>
    taker.rollovers.onOutcome((o: RolloverResultEvent) => {
      if (o.outcome.type === 'completed')
        rolled.set(o.cfdId, [...(rolled.get(o.cfdId) ?? []), Date.now()]);
    });
  const rolledSince = (id: string, since: number) =>
    (rolled.get(id) ?? []).some((at) => at > since);

  before(async () => {
    // Makers announce every second and drop out of a book after 4 silent seconds; takers roll
    // over every 10 s of a 90-second settlement interval: long enough that maker 3's CFD is still
    // before its settlement event when maker 3 returns (it is down while the book drops it, CFD a
    // rolls over and CFD c opens — tens of seconds on a loaded machine), so it can roll over again.
    net = await startMarket(cleanups, {
      spreads: [50, 20, 35],
      takers: 2,
      extra: {
        'settlement-interval': '90',
        'rollover-interval': '10',
        'announce-interval': '1',
        'maker-timeout': '4',
      },
    });
    for (const t of net.takers) watch(t);
  });

  it('takers find every maker, trade the best price with its maker, and survive one maker’s absence', async () => {
    const [m1, m2, m3] = net.makers as [Daemon, Daemon, Daemon];
    const [t1, t2] = net.takers as [Daemon, Daemon];
    const all = new Set(net.makers.map((m) => m.peerId));
    for (const t of net.takers) {
      await until('all three makers in the book', () => {
        const seen = makersIn(t);
        return [...all].every((m) => seen.has(m));
      });
      assert.deepEqual(t.config.p2p.makers, [], 'no maker configured');
      assert.deepEqual(t.config.p2p.bootstrap, [addressOf(m1)], 'only maker 1 given');
    }

    // The best short price is the narrowest spread: maker 2's.
    const shorts = t1.offers.book
      .current(now(), AGE)
      .filter((o) => o.offer.makerPosition === 'short');
    const best = shorts.reduce((a, b) => (b.offer.price < a.offer.price ? b : a));
    assert.equal(best.maker, m2.peerId);
    const a = await openCfd({ chain: net.chain, maker: m2, taker: t1 }, best.offer);
    assert.equal((await cfd(t1, a))!.terms!.counterpartyPeerId, m2.peerId);
    const b = await openCfd({ chain: net.chain, maker: m3, taker: t2 }, shortOf(t2, m3));
    assert.equal((await cfd(t2, b))!.terms!.counterpartyPeerId, m3.peerId);

    // Maker 3 goes down: its offers leave both books; maker 1 and 2 stay.
    const config = m3.config;
    const listen = addressOf(m3).replace(`/p2p/${m3.peerId}`, '');
    await m3.stop();
    const downAt = Date.now();
    for (const t of net.takers) {
      await until('maker 3 out of the book', () => !makersIn(t).has(m3.peerId));
      assert.ok(makersIn(t).has(m1.peerId) && makersIn(t).has(m2.peerId));
    }
    // The others keep trading and rolling over.
    await until('CFD a (maker 2) rolls over while maker 3 is down', () => rolledSince(a, downAt));
    const c = await openCfd({ chain: net.chain, maker: m1, taker: t2 }, shortOf(t2, m1));
    assert.equal((await cfd(t2, c))!.terms!.counterpartyPeerId, m1.peerId);
    assert.ok(!rolledSince(b, downAt), 'CFD b cannot roll over without its maker');

    // Maker 3 returns at the same address, with the same identity: back in the books, and its
    // CFD rolls over again.
    const back = await Daemon.start(
      { ...config, p2p: { ...config.p2p, listen: [listen] } },
      { logger: silent },
    );
    cleanups.push(() => back.stop());
    const backAt = Date.now();
    for (const t of net.takers) await until('maker 3 back', () => makersIn(t).has(back.peerId));
    await until('CFD b rolls over with its returned maker', () => rolledSince(b, backAt));
    assert.equal((await cfd(t2, b))!.terms!.counterpartyPeerId, m3.peerId);
  });
});
