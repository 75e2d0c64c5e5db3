// The per-source token buckets of the offer gossip, on an injected clock.
import assert from 'node:assert/strict';
import {
  COST_BYTES_PER_UNIT,
  envelopeCost,
  SourceBudgets,
} from '../../../protocols/discovery/budget.ts';

describe('protocols/discovery/budget', () => {
  const budget = { ratePerSec: 10, burst: 5 };

  it('a new source spends its burst at once, then its rate', () => {
    const b = new SourceBudgets(budget);
    for (let i = 0; i < 5; i++) assert.ok(b.charge('a', 1, 0), `burst ${i}`);
    assert.equal(b.charge('a', 1, 0), false, 'burst spent');
    assert.equal(b.charge('a', 1, 50), false, 'half a unit back after 50 ms');
    assert.ok(b.charge('a', 1, 100), 'one unit back after 100 ms');
    assert.equal(b.charge('a', 1, 100), false);
    // Refilled up to the burst, no further.
    for (let i = 0; i < 5; i++) assert.ok(b.charge('a', 1, 60_000));
    assert.equal(b.charge('a', 1, 60_000), false);
  });

  it('refused work takes nothing: a source sending over budget still gets its rate', () => {
    const b = new SourceBudgets(budget);
    assert.ok(b.charge('a', 5, 0));
    for (let t = 1; t < 100; t++) assert.equal(b.charge('a', 1, t), false);
    assert.ok(b.charge('a', 1, 100));
  });

  it('each source its own bucket: one spent does not touch another', () => {
    const b = new SourceBudgets(budget);
    assert.ok(b.charge('a', 5, 0));
    assert.equal(b.charge('a', 1, 0), false);
    assert.ok(b.charge('b', 5, 0));
  });

  it('keeps at most maxSources buckets, forgetting the least recently active', () => {
    const b = new SourceBudgets(budget, 3);
    b.charge('a', 5, 0);
    b.charge('b', 5, 0);
    b.charge('c', 5, 0);
    b.charge('a', 1, 0); // refused, but 'a' is now the most recently active
    b.charge('d', 1, 0);
    assert.equal(b.size, 3);
    assert.equal(b.charge('a', 1, 0), false, 'a kept, still spent');
    assert.equal(b.charge('c', 1, 0), false, 'c kept, still spent');
    assert.ok(b.charge('b', 5, 0), 'b forgotten: starts full again');
  });

  it('an envelope costs one unit plus one per COST_BYTES_PER_UNIT bytes', () => {
    assert.equal(envelopeCost(0), 1);
    assert.equal(envelopeCost(COST_BYTES_PER_UNIT), 2);
    assert.ok(envelopeCost(38_000) > 5 && envelopeCost(38_000) < 6);
  });
});
