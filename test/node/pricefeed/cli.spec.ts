import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parsePrice } from '../../../model/units.ts';
import { PriceFeedClient } from '../../../node/pricefeed/client.ts';
import { waitFor } from './helpers.ts';

const bin = fileURLToPath(new URL('../../../bin/dlcfd.js', import.meta.url));
const run = promisify(execFile);

interface Feed {
  child: ChildProcess;
  wsUrl: string;
  controlUrl: string;
  exited: Promise<number | null>;
}

/** Starts `dlcfd pricefeed …` and waits for its URL lines. */
async function startFeed(...args: string[]): Promise<Feed> {
  const child = spawn(process.execPath, [bin, 'pricefeed', '--log-level', 'silent', ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  let out = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const lines = await waitFor(
    'the URL lines',
    () => (/control-url \S+\n/.test(out) ? out : ''),
    10_000,
  );
  const wsUrl = /^ws-url (\S+)$/m.exec(lines)?.[1];
  const controlUrl = /^control-url (\S+)$/m.exec(lines)?.[1];
  assert.ok(wsUrl && controlUrl, lines);
  return { child, wsUrl, controlUrl, exited };
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
      const q = await waitFor('first quote', () => client.latest());
      assert.equal(q.bid, parsePrice('42640'));

      feed.child.kill('SIGKILL');
      await feed.exited;
      await waitFor('disconnected', () => client.health().status === 'disconnected');

      feed = await startFeed('--port', port, '--start-price', '50000', '--tick-ms', '0');
      await waitFor('quotes again', () => client.latest()?.ask === parsePrice('50000.5'), 10_000);
      assert.ok(client.health().reconnects >= 1);

      await fetch(`${feed.controlUrl}/price`, {
        method: 'POST',
        body: JSON.stringify({ price: '45000.5' }),
      });
      await waitFor('forced price', () => client.latest()?.bid === parsePrice('45000'));
    } finally {
      await client.stop();
      feed.child.kill('SIGTERM');
    }
    assert.equal(await feed.exited, 0);
  });

  it('refuses bad options with usage and exit code 2', async () => {
    const err = (await run(process.execPath, [bin, 'pricefeed', '--start-price', 'abc']).catch(
      (e: unknown) => e,
    )) as { code: number; stderr: string };
    assert.equal(err.code, 2);
    assert.match(err.stderr, /--start-price/);
    assert.match(err.stderr, /usage: dlcfd pricefeed/);
  });

  it('is listed in dlcfd --help', async () => {
    const { stdout } = await run(process.execPath, [bin, '--help']);
    assert.match(stdout, /pricefeed\s+local price feed/);
  });
});
