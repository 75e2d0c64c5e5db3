// Fee bumping policy: the rate to aim for each block before a deadline, and the deadlines.
import assert from 'node:assert/strict';
import {
  type BumpRateInput,
  budgetRate,
  bumpMethod,
  bumpPlan,
  cetDeadline,
  counterpartyPaysFirst,
  feeForRate,
  nextBumpRate,
  punishDeadline,
  targetDeadline,
} from '../../model/fee-bump.ts';
import type { FeeRate } from '../../model/units.ts';
import { uniform } from '../helpers/prng.ts';

/** Estimates like Core's: 60 sat/vB next block, halving every doubling of the target, ≥ 2. */
const table = (target: number): FeeRate => {
  const rates: [number, FeeRate][] = [
    [1, 60n],
    [2, 40n],
    [3, 30n],
    [6, 20n],
    [12, 10n],
    [25, 5n],
  ];
  const r: FeeRate = 2n;
  for (const [t, rate] of rates) if (target <= t) return rate;
  return r;
};

const base: BumpRateInput = {
  height: 100,
  deadlineHeight: 120,
  estimate: table,
  floor: 1n,
  maxRate: 500n,
  incremental: 1n,
};

const rng = uniform;
const int = (r: () => number, lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));

/** A random estimator that never asks less for fewer blocks, unknown beyond `known` blocks. */
function randomEstimator(r: () => number): (t: number) => FeeRate | undefined {
  const known = int(r, 1, 60);
  const rates: FeeRate[] = [];
  let rate = BigInt(int(r, 1, 400));
  for (let t = 1; t <= known; t++) {
    rates[t] = rate;
    rate -= BigInt(int(r, 0, Number(rate - 1n > 20n ? 20n : rate - 1n)));
  }
  return (t) => (t <= known ? rates[t] : undefined);
}

describe('model/fee-bump', () => {
  describe('nextBumpRate', () => {
    it('aims two blocks before the deadline with the estimate for that many blocks', () => {
      const r = nextBumpRate(base);
      assert.deepEqual(r, { rate: 5n, capped: false, blocksLeft: 20, urgent: false, target: 18 });
      assert.equal(nextBumpRate({ ...base, height: 114 }).rate, 20n); // 6 left → target 4
    });

    it('falls back to the floor when the estimator has no answer', () => {
      const r = nextBumpRate({ ...base, estimate: () => undefined, floor: 3n });
      assert.equal(r.rate, 3n);
    });

    it('never goes below the floor, and escalates from it when the estimate is lower', () => {
      assert.equal(nextBumpRate({ ...base, floor: 15n }).rate, 15n);
      const low = { ...base, floor: 15n, startHeight: 100, estimate: () => 1n };
      assert.equal(nextBumpRate({ ...low, height: 110 }).rate, 23n, '15 × 1.5 → 23');
      assert.equal(nextBumpRate({ ...low, height: 118 }).rate, 30n, 'urgent: 15 × 2');
    });

    it('escalates ×1.5 (rounded up) past half the window since first broadcast', () => {
      const start = { ...base, startHeight: 100 };
      assert.equal(nextBumpRate({ ...start, height: 109 }).rate, 10n); // 11 left → target 9
      assert.equal(nextBumpRate({ ...start, height: 110 }).rate, 15n); // halfway: 10 × 1.5
      assert.equal(nextBumpRate({ ...start, height: 113 }).rate, 30n); // target 5 → 20 × 1.5
      const odd = nextBumpRate({ ...start, height: 110, estimate: () => 7n });
      assert.equal(odd.rate, 11n, '7 × 1.5 = 10.5 → 11');
    });

    it('within 3 blocks of the deadline is urgent: twice the next-block estimate', () => {
      for (const height of [117, 118, 119, 120, 125]) {
        const r = nextBumpRate({ ...base, height, startHeight: 100 });
        assert.equal(r.urgent, true);
        assert.equal(r.rate, 120n, `at ${height}`);
        assert.equal(r.target, 1);
      }
      assert.equal(nextBumpRate({ ...base, height: 116 }).urgent, false);
      assert.equal(nextBumpRate({ ...base, height: 125 }).blocksLeft, -5);
      assert.equal(nextBumpRate({ ...base, height: 119, estimate: () => undefined }).rate, 2n);
    });

    it('pays strictly more than a previous rate that did not confirm', () => {
      assert.equal(nextBumpRate({ ...base, previous: 10n }).rate, 11n);
      assert.equal(nextBumpRate({ ...base, previous: 5n }).rate, 6n, 'equal to the estimate');
      assert.equal(nextBumpRate({ ...base, previous: 50n, incremental: 2n }).rate, 52n);
      assert.equal(nextBumpRate({ ...base, previous: 3n }).rate, 5n, 'the estimate is higher');
    });

    it('caps at maxRate and says so; the cap wins over the floor and the previous rate', () => {
      const r = nextBumpRate({ ...base, height: 119, maxRate: 100n });
      assert.deepEqual([r.rate, r.capped], [100n, true]);
      const p = nextBumpRate({ ...base, previous: 100n, maxRate: 100n });
      assert.deepEqual([p.rate, p.capped], [100n, true]);
      assert.equal(nextBumpRate({ ...base, maxRate: 10n }).capped, false, 'exactly at the cap');
    });

    it('refuses rates below 1 sat/vB', () => {
      assert.throws(() => nextBumpRate({ ...base, floor: 0n }), { name: 'InvalidAmountError' });
    });

    it('properties: monotone in height, never above maxRate, never below floor (2000 cases)', () => {
      const r = rng(0xb0b);
      for (let i = 0; i < 2_000; i++) {
        const estimate = randomEstimator(r);
        const startHeight = int(r, 0, 1_000);
        const window = int(r, 1, 250);
        const floor = BigInt(int(r, 1, 50));
        const maxRate = floor + BigInt(int(r, 0, 800));
        const previous = r() < 0.3 ? BigInt(int(r, 1, 900)) : undefined;
        const input = {
          deadlineHeight: startHeight + window,
          startHeight: r() < 0.5 ? startHeight : undefined,
          estimate,
          floor,
          maxRate,
          previous,
          incremental: 1n,
        };
        let last = 0n;
        for (let height = startHeight; height <= startHeight + window + 3; height++) {
          const out = nextBumpRate({ ...input, height });
          const ctx = `case ${i} at ${height}: ${out.rate}`;
          assert.ok(out.rate <= maxRate, ctx);
          assert.ok(out.rate >= floor, ctx);
          assert.ok(out.rate >= last, `${ctx} fell from ${last}`);
          if (out.capped) assert.equal(out.rate, maxRate, ctx);
          if (previous !== undefined && !out.capped) assert.ok(out.rate > previous, ctx);
          last = out.rate;
        }
      }
    });
  });

  describe('feeForRate and budgetRate', () => {
    it('rate × ⌈vbytes⌉, and the highest whole rate a budget pays', () => {
      assert.equal(feeForRate(30n, 110), 3_300n);
      assert.equal(feeForRate(30n, 109.5), 3_300n);
      assert.equal(budgetRate(3_300n, 110), 30n);
      assert.equal(budgetRate(3_299n, 110), 29n);
      assert.equal(budgetRate(0n, 110), 0n);
      assert.throws(() => feeForRate(1n, 0), { name: 'InvalidAmountError' });
    });

    it('round-trip: the budget rate never overspends the budget', () => {
      const r = rng(7);
      for (let i = 0; i < 1_000; i++) {
        const vbytes = int(r, 1, 2_000) + (r() < 0.5 ? 0.25 : 0);
        const budget = BigInt(int(r, 0, 1_000_000));
        const rate = budgetRate(budget, vbytes);
        assert.ok(feeForRate(rate, vbytes) <= budget);
        assert.ok(feeForRate(rate + 1n, vbytes) > budget);
      }
    });
  });

  describe('deadlines and bump plans', () => {
    it('punish: before the cheater’s CET is valid, revoked commit height + 12 − 1', () => {
      assert.equal(punishDeadline(800_000, 12), 800_011);
    });

    it('CET: before the refund is valid, commit height + refund timelock − 1', () => {
      assert.equal(cetDeadline(800_000, 216), 800_215);
    });

    it('commit, close, refund: a user target from first broadcast', () => {
      assert.equal(targetDeadline(800_000, 6), 800_006);
    });

    it('refuses nonsense heights and timelocks', () => {
      assert.throws(() => punishDeadline(-1, 12), { name: 'InvalidAmountError' });
      assert.throws(() => cetDeadline(1, 0), { name: 'InvalidAmountError' });
      assert.throws(() => targetDeadline(1.5, 6), { name: 'InvalidAmountError' });
    });

    it('a transaction both send: the party it pays more pays first, the maker on a tie — both sides agree', () => {
      const cases: [bigint, bigint][] = [
        [90_000n, 10_000n],
        [10_000n, 90_000n],
        [0n, 100_000n],
        [50_000n, 50_000n],
      ];
      for (const [maker, taker] of cases) {
        const makerDefers = counterpartyPaysFirst('maker', { ours: maker, theirs: taker });
        const takerDefers = counterpartyPaysFirst('taker', { ours: taker, theirs: maker });
        assert.notEqual(makerDefers, takerDefers, `exactly one pays first (${maker}/${taker})`);
        assert.equal(makerDefers, taker > maker, `the larger payout pays (${maker}/${taker})`);
      }
    });

    it('bumps commits through the anchor, payouts through our output, the punish by RBF', () => {
      assert.equal(bumpMethod('commit'), 'cpfp-anchor');
      for (const k of ['cet', 'refund', 'close'] as const)
        assert.equal(bumpMethod(k), 'cpfp-output');
      assert.equal(bumpMethod('punish'), 'rbf');
      assert.deepEqual(bumpPlan('punish', punishDeadline(100, 12)), {
        kind: 'punish',
        method: 'rbf',
        deadlineHeight: 111,
      });
    });
  });
});
