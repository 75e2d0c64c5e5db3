// Seeded streams: the same label gives the same numbers, another label others; draws are shaped.
import assert from 'node:assert/strict';
import { intBetween, normal, streamFor } from '../../../research/scenario/random.ts';

const draws = (f: () => number, n: number) => Array.from({ length: n }, f);

describe('research/scenario/random', () => {
  it('gives the same stream for the same seed and label, another for another', () => {
    const a = draws(streamFor(1, 'taker1'), 20);
    assert.deepEqual(draws(streamFor(1, 'taker1'), 20), a);
    assert.notDeepEqual(draws(streamFor(1, 'taker2'), 20), a);
    assert.notDeepEqual(draws(streamFor(2, 'taker1'), 20), a);
    assert.ok(a.every((x) => x >= 0 && x < 1));
  });

  it('draws whole numbers over the whole range and standard normals', () => {
    const random = streamFor(3, 'shape');
    assert.deepEqual(new Set(draws(() => intBetween(random, 2, 4), 200)), new Set([2, 3, 4]));
    const z = draws(() => normal(random), 20_000);
    const mean = z.reduce((s, x) => s + x, 0) / z.length;
    const sd = Math.sqrt(z.reduce((s, x) => s + (x - mean) ** 2, 0) / z.length);
    assert.ok(Math.abs(mean) < 0.03 && Math.abs(sd - 1) < 0.03, `mean ${mean}, sd ${sd}`);
  });
});
