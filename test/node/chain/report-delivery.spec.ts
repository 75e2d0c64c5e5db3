/** Report delivery without a chain: per-tag hold-back on listener failure, the others go on. */
import assert from 'node:assert/strict';
import { ReportDelivery } from '../../../node/chain/report-delivery.ts';
import type { ChainReport } from '../../../node/chain/watch-registry.ts';
import { silent } from './helpers.ts';

const confirmed = (tag: string, confirmations: number): ChainReport => ({
  kind: 'confirmed',
  tag,
  txid: 'a'.repeat(64),
  height: 1,
  confirmations,
});

describe('node/chain/report-delivery: in order, at least once, per-tag hold-back', () => {
  it('a failing tag is held back with the rest of its reports; other tags go on', async () => {
    const delivered: string[] = [];
    const unreported: string[] = [];
    const failures: string[] = [];
    const delivery = new ReportDelivery({
      listener: (r) => {
        if (r.kind !== 'rebroadcastFailed' && r.tag === 'bad') throw new Error('no');
        delivered.push(
          `${r.kind !== 'rebroadcastFailed' ? r.tag : ''}${'confirmations' in r ? r.confirmations : ''}`,
        );
      },
      retryMs: { first: 60_000, max: 120_000 },
      unreport: (r) => unreported.push(`${r.kind !== 'rebroadcastFailed' ? r.tag : ''}`),
      onFailure: (e) => failures.push(e.message),
      log: silent,
    });
    await delivery.deliver([confirmed('bad', 1), confirmed('ok', 1), confirmed('bad', 2)]);
    assert.deepEqual(delivered, ['ok1']);
    assert.deepEqual(unreported, ['bad', 'bad'], 'both of its reports come again');
    assert.equal(failures.length, 1);
    assert.equal(delivery.isHeld('bad'), true);
    assert.equal(delivery.isHeld('ok'), false);
    assert.equal(delivery.heldCount, 1);
    assert.equal(delivery.due().size, 0, 'not due before the backoff');
    delivery.release('bad');
    assert.equal(delivery.heldCount, 0);
  });
});
