// The flags of a research run's nodes: every interval the daemons wait on is compressed with the
// run's time, so a fault cannot leave a CFD waiting out the run (research/run/network.ts).
import assert from 'node:assert/strict';
import { loadConfig } from '../../../node/daemon/config.ts';
import { nodeFlags, type RunParts, runTime } from '../../../research/run/network.ts';

/** Parts that only answer what the flags read of them (no chain, oracle or feed is started). */
const parts = (timeScale: number) =>
  ({
    chain: { rpcUrl: 'http://127.0.0.1:1', rpcAuth: { user: 'u', password: 'p' } },
    oracle: {
      url: 'http://127.0.0.1:2',
      publicKey: '1'.repeat(64),
      announcementPublicKey: '2'.repeat(64),
    },
    feed: { url: 'ws://127.0.0.1:3' },
    time: runTime(timeScale),
  }) as unknown as RunParts;

describe('research/run/network: node flags', () => {
  it('compresses the hour-long setup waits with the run: a taker stopped mid-setup ends within the drain', async () => {
    const config = await loadConfig({ role: 'taker', flags: nodeFlags(parts(4320), '/tmp/x') });
    // Rollovers every 10 s at ×4320: the lock of a cut setup is waited for 20 s, not an hour.
    assert.equal(config.time.setupAdoptTimeoutSecs, 20);
    assert.equal(config.time.lockConfirmTimeoutSecs, 30);
    const slow = await loadConfig({ role: 'taker', flags: nodeFlags(parts(60), '/tmp/x') });
    assert.equal(slow.time.setupAdoptTimeoutSecs, 120);
  });
});
