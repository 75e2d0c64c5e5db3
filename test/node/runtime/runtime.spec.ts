import assert from 'node:assert/strict';
import { HealthRegistry } from '../../../node/runtime/health.ts';
import { Supervisor } from '../../../node/runtime/supervisor.ts';
import { until } from '../../helpers/wait.ts';

describe('node/runtime', () => {
  describe('health registry', () => {
    it('tracks status, since, last error and restarts, and tells subscribers', () => {
      let now = 1000;
      const h = new HealthRegistry(() => now);
      const seen: string[] = [];
      h.subscribe((c) => seen.push(`${c.name}:${c.status}`));
      h.register('chain');
      now = 2000;
      h.report('chain', { status: 'ok' });
      now = 3000;
      h.report('chain', { detail: 'height 432' });
      assert.equal(h.get('chain')?.since, 2000, 'since moves only with the status');
      h.report('chain', { status: 'down', error: new Error('ECONNREFUSED'), restarted: true });
      const c = h.get('chain')!;
      assert.equal(c.status, 'down');
      assert.deepEqual(c.lastError, { message: 'ECONNREFUSED', at: 3000 });
      assert.equal(c.restarts, 1);
      assert.equal(c.detail, 'height 432');
      assert.deepEqual(seen, ['chain:starting', 'chain:ok', 'chain:ok', 'chain:down']);
    });

    it('overall health is the worst component status', () => {
      const h = new HealthRegistry();
      assert.equal(h.overall(), 'ok');
      h.report('a', { status: 'ok' });
      h.report('b', { status: 'degraded' });
      assert.equal(h.overall(), 'degraded');
      h.report('c', { status: 'down' });
      assert.equal(h.overall(), 'down');
      assert.deepEqual(
        h.snapshot().map((x) => x.name),
        ['a', 'b', 'c'],
      );
    });
  });

  describe('supervisor', () => {
    it('restarts a failing component with growing backoff until it works, reporting each step', async () => {
      const health = new HealthRegistry();
      const statuses: string[] = [];
      health.subscribe((c) => statuses.push(c.status));
      let attempts = 0;
      const starts: number[] = [];
      const sup = new Supervisor({
        name: 'feed',
        health,
        minBackoffMs: 20,
        maxBackoffMs: 200,
        random: () => 0.999,
        run: async ({ signal, ready }) => {
          starts.push(Date.now());
          attempts++;
          if (attempts < 4) throw new Error(`connection refused #${attempts}`);
          ready();
          await new Promise((r) => signal.addEventListener('abort', r));
        },
      });
      sup.start();
      await until('feed ok', () => health.get('feed')?.status === 'ok', 5_000, 5);
      const h = health.get('feed')!;
      assert.equal(h.restarts, 3);
      assert.equal(h.lastError?.message, 'connection refused #3');
      const gaps = starts.slice(1).map((t, i) => t - starts[i]!);
      assert.ok(gaps[1]! > gaps[0]! && gaps[2]! > gaps[1]!, `backoff grows: ${gaps}`);
      assert.ok(statuses.includes('down'));
      await sup.stop();
      assert.equal(health.get('feed')?.status, 'stopped');
    });

    it('a component that returns on its own is a failure too; stop interrupts the backoff', async () => {
      const health = new HealthRegistry();
      let runs = 0;
      const sup = new Supervisor({
        name: 'monitor',
        health,
        minBackoffMs: 60_000,
        run: async () => {
          runs++;
        },
      });
      sup.start();
      await until('monitor down', () => health.get('monitor')?.status === 'down', 5_000, 5);
      assert.match(health.get('monitor')?.detail ?? '', /restarting in/);
      const t = Date.now();
      await sup.stop();
      assert.ok(Date.now() - t < 1000, 'stop does not wait out the backoff');
      assert.equal(runs, 1);
    });

    it('degraded is reported with its reason', async () => {
      const health = new HealthRegistry();
      const sup = new Supervisor({
        name: 'oracle',
        health,
        run: async ({ signal, degraded }) => {
          degraded('attestation overdue', new Error('404'));
          await new Promise((r) => signal.addEventListener('abort', r));
        },
      });
      sup.start();
      await until('oracle degraded', () => health.get('oracle')?.status === 'degraded', 5_000, 5);
      assert.equal(health.get('oracle')?.detail, 'attestation overdue');
      await sup.stop();
    });
  });
});
