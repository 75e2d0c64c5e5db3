// Per-CFD isolation: a failure is recorded as that CFD's problem, retried with doubling backoff,
// rethrown when the caller retries, and cleared by a success.
import assert from 'node:assert/strict';
import { CfdProblems } from '../../../node/daemon/cfd-problems.ts';
import { until } from '../../helpers/wait.ts';
import { silent } from '../chain/helpers.ts';

describe('node/daemon/cfd-problems', () => {
  it('records a failure per CFD, retries it with doubling backoff, and a success clears it', async () => {
    const problems = new CfdProblems({ logger: silent, retryMs: { first: 20, max: 80 } });
    const changed: string[] = [];
    problems.onChange((id) => changed.push(id));
    let fail = true;
    const at: number[] = [];
    const attempt = (): Promise<void> =>
      problems.run(
        'a',
        'reconcile',
        async () => {
          at.push(Date.now());
          if (fail) throw new Error('corrupt record');
        },
        { retry: () => void attempt() },
      );
    await attempt();
    await problems.run('b', 'reconcile', async () => {});
    assert.equal(problems.get('b'), undefined, 'another CFD is unaffected');
    await until('three retries', () => at.length >= 4, 5_000, 5);
    const p = problems.get('a')!;
    assert.equal(p.during, 'reconcile');
    assert.equal(p.reason, 'corrupt record');
    assert.ok(p.retries >= 3);
    assert.deepEqual([...problems.all().keys()], ['a']);
    // 20, 40, 80 ms: each pause at least the one before.
    const pauses = at.slice(1).map((t, i) => t - at[i]!);
    assert.ok(pauses[2]! >= 70, `backoff grew: ${pauses.join(', ')}`);
    fail = false;
    await until('healed', () => problems.get('a') === undefined, 5_000, 5);
    assert.ok(changed.every((id) => id === 'a') && changed.length >= 2);
    problems.stop();
  });

  it('rethrows for a caller that retries itself, and a reconcile success clears an attestation failure', async () => {
    const problems = new CfdProblems({ logger: silent });
    await assert.rejects(
      problems.run(
        'a',
        'chain report',
        async () => {
          throw new Error('no such revoked commit');
        },
        { rethrow: true },
      ),
      /no such revoked commit/,
    );
    assert.equal(problems.get('a')?.during, 'chain report');
    await problems.run('a', 'attestation', async () => {
      throw new Error('bad CET');
    });
    await problems.run('a', 'reconcile', async () => {}, { clears: ['attestation'] });
    assert.equal(problems.get('a')?.during, 'chain report', 'only what succeeded is cleared');
    await problems.run('a', 'chain report', async () => {});
    assert.equal(problems.get('a'), undefined);
    problems.stop();
  });
});
