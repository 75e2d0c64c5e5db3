/** The one health contract: a subsystem pushes through a reporter bound to its name. */
import assert from 'node:assert/strict';
import { changesOnly, HealthRegistry, reporterFor } from '../../../node/runtime/health.ts';

describe('node/runtime/health: reporters', () => {
  it('a reporter is registered in starting and reports under its name', () => {
    const registry = new HealthRegistry(() => 1);
    const feed = registry.reporter('pricefeed');
    assert.equal(registry.get('pricefeed')?.status, 'starting');
    feed.report({ status: 'ok', detail: 'wss://x' });
    assert.equal(registry.get('pricefeed')?.status, 'ok');
    assert.equal(registry.get('pricefeed')?.detail, 'wss://x');
    assert.equal(reporterFor(registry, 'oracle').name, 'oracle');
    assert.equal(reporterFor(feed, 'ignored'), feed);
  });

  it('changesOnly passes a changed status or detail and a new error, nothing else', () => {
    const registry = new HealthRegistry();
    const seen: string[] = [];
    registry.subscribe((h) => seen.push(`${h.status}:${h.detail}:${h.lastError?.message ?? ''}`));
    const push = changesOnly(registry.reporter('chain-monitor'));
    seen.length = 0;
    push({ status: 'ok', detail: 'watching 1', lastError: undefined });
    push({ status: 'ok', detail: 'watching 1', lastError: undefined });
    push({ status: 'degraded', detail: 'watching 1', lastError: { message: 'boom', at: 5 } });
    push({ status: 'degraded', detail: 'watching 1', lastError: { message: 'boom', at: 5 } });
    push({ status: 'ok', detail: 'watching 1', lastError: { message: 'boom', at: 5 } });
    assert.deepEqual(seen, ['ok:watching 1:', 'degraded:watching 1:boom', 'ok:watching 1:boom']);
  });
});
