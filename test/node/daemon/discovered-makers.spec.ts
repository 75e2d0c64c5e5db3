// The taker's dial places for makers heard on the gossip, under a stranger's flood: places come
// back, a connected maker keeps its own, a kept one is never released, and new dials are
// rate-bounded.
import assert from 'node:assert/strict';
import { DiscoveredMakers } from '../../../node/daemon/discovered-makers.ts';

describe('node/daemon/discovered-makers', () => {
  let now: number;
  let stopped: string[];
  let connected: Set<string>;
  let kept: Set<string>;
  const make = (maxConnections: number, maxNewPerMinute = 100, burst = maxConnections) =>
    new DiscoveredMakers({
      maxConnections,
      maxNewPerMinute,
      burst,
      connect: (maker) => ({
        stop: async () => {
          stopped.push(maker);
        },
      }),
      keep: (m) => kept.has(m),
      connected: (m) => connected.has(m),
      clock: () => now,
    });
  const ADDRS = ['/ip4/192.0.2.1/tcp/4001'];

  beforeEach(() => {
    now = 1_800_000_000_000;
    stopped = [];
    connected = new Set();
    kept = new Set();
  });

  it('an honest maker heard after a flood of unreachable ones still gets a place', () => {
    const d = make(3, 100, 10);
    for (const s of ['s1', 's2', 's3']) assert.ok(d.heard(s, ADDRS));
    // s2 answered the dial; s1 and s3 never will (someone else's address).
    connected.add('s2');
    assert.ok(d.heard('honest', ADDRS), 'a place of an unreachable maker is taken');
    assert.deepEqual(stopped, ['s1']);
    assert.deepEqual(d.makers.sort(), ['honest', 's2', 's3']);
  });

  it('never takes the place of a connected or kept maker', () => {
    const d = make(2);
    d.heard('a', ADDRS);
    d.heard('b', ADDRS);
    connected.add('a');
    kept.add('b');
    assert.equal(d.heard('c', ADDRS), false);
    assert.deepEqual(stopped, []);
  });

  it('gives a place back when its maker leaves the book, unless kept or connected', () => {
    const d = make(3, 100, 10);
    for (const m of ['gone', 'traded', 'linked']) d.heard(m, ADDRS);
    kept.add('traded');
    connected.add('linked');
    for (const m of ['gone', 'traded', 'linked']) d.gone(m);
    assert.deepEqual(stopped, ['gone']);
    assert.deepEqual(d.makers.sort(), ['linked', 'traded']);
    // Heard again later: dialled again (at the addrs it announces then).
    assert.ok(d.heard('gone', ADDRS));
  });

  it('past a burst, dials at most maxNewPerMinute new makers a minute', () => {
    // 3 places, a burst of 3, then 2 a minute: a flood churning through unreachable places.
    const d = make(3, 2);
    const got = ['m1', 'm2', 'm3', 'm4'].map((m) => d.heard(m, ADDRS));
    assert.deepEqual(got, [true, true, true, false]);
    now += 29_000;
    assert.equal(d.heard('m4', ADDRS), false);
    now += 1_000;
    assert.equal(d.heard('m4', ADDRS), true, 'one token after 30 s');
    assert.equal(d.heard('m5', ADDRS), false);
    now += 10 * 60_000;
    // Refilled to the burst, not beyond.
    const later = ['m6', 'm7', 'm8', 'm9'].map((m) => d.heard(m, ADDRS));
    assert.deepEqual(later, [true, true, true, false]);
  });

  it('does not dial a maker without addrs; stop stops them all', async () => {
    const d = make(3);
    assert.equal(d.heard('nowhere', []), false);
    d.heard('a', ADDRS);
    d.heard('b', ADDRS);
    await d.stop();
    assert.deepEqual(stopped.sort(), ['a', 'b']);
    assert.deepEqual(d.makers, []);
  });
});
