// The chart's quote history: one point per bucket (the bucket's last quote), never older than the
// window, never more than its capacity however fast quotes come, and ordered.
import assert from 'node:assert/strict';
import { formatPrice, parsePrice } from '../../../model/units.ts';
import { QuoteHistory } from '../../../node/pricefeed/history.ts';

const quote = (receivedAt: number, bid: string) => ({
  bid: parsePrice(bid),
  ask: parsePrice(`${bid}.5`),
  receivedAt,
});
const bids = (h: QuoteHistory, since?: number, now?: number) =>
  h.since(since, now).map((p) => [p.t, formatPrice(p.bid)]);

describe('QuoteHistory', () => {
  const T0 = 1_700_000_000_000; // a bucket boundary for 5 s and 1 s buckets

  it('keeps the last quote of each bucket', () => {
    const h = new QuoteHistory({ resolutionMs: 5_000, windowMs: 60_000 });
    h.add(quote(T0, '100'));
    h.add(quote(T0 + 1_000, '101'));
    h.add(quote(T0 + 4_999, '102'));
    h.add(quote(T0 + 5_000, '103'));
    h.add(quote(T0 + 12_000, '104'));
    assert.deepEqual(bids(h, undefined, T0 + 12_000), [
      [T0 + 4_999, '102'],
      [T0 + 5_000, '103'],
      [T0 + 12_000, '104'],
    ]);
  });

  it('drops points older than the window, and answers only within it', () => {
    const h = new QuoteHistory({ resolutionMs: 1_000, windowMs: 10_000 });
    for (let i = 0; i <= 20; i++) h.add(quote(T0 + i * 1_000, String(100 + i)));
    // Kept: received at T0+10 s … T0+20 s (the window reaches back exactly 10 s).
    assert.equal(h.size, 11);
    assert.deepEqual(bids(h, undefined, T0 + 20_000)[0], [T0 + 10_000, '110']);
    // Asked later, with no new quote: what has aged out is not answered.
    assert.deepEqual(
      bids(h, undefined, T0 + 25_000).map(([t]) => t),
      [15, 16, 17, 18, 19, 20].map((s) => T0 + s * 1_000),
    );
  });

  it('`since` is exclusive: a client asks for what came after its newest point', () => {
    const h = new QuoteHistory({ resolutionMs: 1_000, windowMs: 60_000 });
    for (let i = 0; i < 5; i++) h.add(quote(T0 + i * 1_000, String(100 + i)));
    assert.deepEqual(bids(h, T0 + 2_000, T0 + 5_000), [
      [T0 + 3_000, '103'],
      [T0 + 4_000, '104'],
    ]);
    assert.deepEqual(bids(h, T0 + 4_000, T0 + 5_000), []);
  });

  it('holds at most one point per bucket of the window, however fast quotes arrive', () => {
    const h = new QuoteHistory(); // 5 s over an hour
    assert.equal(h.capacity, 721);
    // Ten quotes a second for two hours.
    for (let t = T0; t < T0 + 2 * 3_600_000; t += 100) h.add(quote(t, '100'));
    assert.ok(h.size <= h.capacity, `${h.size} points`);
    assert.ok(h.size >= h.capacity - 1, `${h.size} points`);
    const points = h.since();
    for (let i = 1; i < points.length; i++) {
      assert.ok(points[i]!.t - points[i - 1]!.t >= 100, 'one point per bucket');
      assert.notEqual(
        Math.floor(points[i]!.t / 5_000),
        Math.floor(points[i - 1]!.t / 5_000),
        'distinct buckets',
      );
    }
  });

  it('ignores a quote older than the newest (the clock stepped back)', () => {
    const h = new QuoteHistory({ resolutionMs: 1_000, windowMs: 60_000 });
    h.add(quote(T0 + 5_000, '105'));
    h.add(quote(T0 + 1_000, '101'));
    assert.deepEqual(bids(h, undefined, T0 + 5_000), [[T0 + 5_000, '105']]);
  });

  it('refuses a resolution that is not positive or longer than the window', () => {
    assert.throws(() => new QuoteHistory({ resolutionMs: 0 }), RangeError);
    assert.throws(() => new QuoteHistory({ resolutionMs: 10, windowMs: 5 }), RangeError);
  });
});
