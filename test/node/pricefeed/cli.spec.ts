import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { parsePrice } from '../../../model/units.ts';
import { PriceFeedClient } from '../../../node/pricefeed/client.ts';
import { dlcfd, startDlcfd } from '../../helpers/dlcfd-cli.ts';
import { until } from './helpers.ts';

interface Feed {
  child: ChildProcess;
  wsUrl: string;
  controlUrl: string;
  exited: Promise<number | null>;
}

/** Starts `dlcfd pricefeed …` and waits for its URL lines. */
async function startFeed(...args: string[]): Promise<Feed> {
  const { child, ready, exited } = await startDlcfd('pricefeed', args, 'control-url');
  return { child, wsUrl: ready.get('ws-url')!, controlUrl: ready.get('control-url')!, exited };
}

describe('dlcfd pricefeed (command line)', function () {
  this.timeout(30_000);

  it('prints its URLs, serves quotes, survives kill -9 and restart, stops on SIGTERM', async () => {
    let feed = await startFeed(
      '--port',
      '0',
      '--start-price',
      '42640.5',
      '--seed',
      '3',
      '--tick-ms',
      '0',
    );
    assert.match(feed.wsUrl, /^ws:\/\/127\.0\.0\.1:\d+\/realtime$/);
    const port = new URL(feed.wsUrl).port;
    const client = new PriceFeedClient({
      url: feed.wsUrl,
      pingAfterMs: 100,
      pongTimeoutMs: 100,
      backoffInitialMs: 20,
      backoffMaxMs: 100,
    });
    try {
      client.start();
      const q = await until('first quote', () => client.latest());
      assert.equal(q.bid, parsePrice('42640'));

      feed.child.kill('SIGKILL');
      await feed.exited;
      await until('disconnected', () => client.health().status === 'disconnected');

      feed = await startFeed('--port', port, '--start-price', '50000', '--tick-ms', '0');
      await until('quotes again', () => client.latest()?.ask === parsePrice('50000.5'), 10_000);
      assert.ok(client.health().reconnects >= 1);

      await fetch(`${feed.controlUrl}/price`, {
        method: 'POST',
        body: JSON.stringify({ price: '45000.5' }),
      });
      await until('forced price', () => client.latest()?.bid === parsePrice('45000'));
    } finally {
      await client.stop();
      feed.child.kill('SIGTERM');
    }
    assert.equal(await feed.exited, 0);
  });

  it('refuses bad options with usage and exit code 2', async () => {
    const err = await dlcfd('pricefeed', '--start-price', 'abc');
    assert.equal(err.code, 2);
    assert.match(err.stderr, /--start-price/);
    assert.match(err.stderr, /usage: dlcfd pricefeed/);
  });

  it('is listed in dlcfd --help', async () => {
    const { stdout } = await dlcfd('--help');
    assert.match(stdout, /pricefeed\s+local price feed/);
  });
});
