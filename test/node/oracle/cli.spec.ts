import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { nextEventTime, oracleEventId } from '../../../model/oracle-event.ts';
import { parsePrice } from '../../../model/units.ts';
import { OracleClient } from '../../../node/oracle/client.ts';
import { PriceFeedServer } from '../../../node/pricefeed/server.ts';
import { DLCFD_BIN, dlcfd, runUnder, startDlcfd } from '../../helpers/dlcfd-cli.ts';
import { tempDir, until } from './helpers.ts';

interface Running {
  child: ChildProcess;
  ready: Map<string, string>;
  exited: Promise<number | null>;
}

/** Starts `dlcfd oracle …` and waits for its `key value` ready lines. */
async function startOracle(...args: string[]): Promise<Running> {
  const { child, ready, exited } = await startDlcfd('oracle', args, 'announcement-key');
  return { child, ready, exited };
}

describe('dlcfd oracle (command line)', function () {
  this.timeout(20_000);

  it('prints its URL and keys, attests from the feed, stops cleanly on SIGTERM', async () => {
    const feed = await PriceFeedServer.start({
      port: 0,
      startPrice: parsePrice('42000'),
      tickMs: 0,
    });
    const datadir = await tempDir();
    const args = ['--datadir', datadir, '--pricefeed', feed.url, '--event-interval', '1'];
    let oracle = await startOracle(...args, '--port', '0');
    let client: OracleClient | undefined;
    try {
      const url = oracle.ready.get('url')!;
      const publicKey = oracle.ready.get('public-key')!;
      assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
      assert.match(publicKey, /^[0-9a-f]{64}$/);
      const root = (await (await fetch(`${url}/`)).json()) as { public_keys: object };
      assert.equal((root.public_keys as Record<string, string>)['olivia-v1'], publicKey);

      client = new OracleClient({ url, publicKey, pollInitialMs: 50, pollMaxMs: 250 });
      const id = oracleEventId(nextEventTime(Date.now() / 1000 + 1, 1));
      client.watch([id]);
      client.start();
      const a = await until('attestation', () => client!.attestation(id), 5_000);
      assert.equal(a.price, 42000);
      await client.stop();

      oracle.child.kill('SIGTERM');
      assert.equal(await oracle.exited, 0);

      // Same datadir: same key.
      oracle = await startOracle(...args);
      assert.equal(oracle.ready.get('public-key'), publicKey);
    } finally {
      await client?.stop();
      oracle.child.kill('SIGTERM');
      await feed.stop();
    }
    assert.equal(await oracle.exited, 0);
  });

  it('refuses bad options with usage and exit code 2', async () => {
    for (const args of [
      ['--event-interval', '0', '--datadir', '/tmp/x'],
      ['--port', '1'], // no --datadir
      ['--datadir', '/tmp/x', '--pricefeed', 'http://example'],
      ['--bogus'],
    ]) {
      const err = await dlcfd('oracle', ...args);
      assert.equal(err.code, 2, args.join(' '));
      assert.match(err.stderr, /usage: dlcfd oracle/);
    }
  });

  it('DLCFD_ORACLE_CONTROL_TOKEN turns its control endpoint on for that token; a short one is refused', async () => {
    const datadir = await tempDir();
    const token = 'cli-oracle-control-token-01234';
    const oracle = await startDlcfd(
      'oracle',
      ['--datadir', datadir, '--pricefeed', 'ws://127.0.0.1:1/realtime', '--port', '0'],
      'announcement-key',
      15_000,
      { env: { DLCFD_ORACLE_CONTROL_TOKEN: token } },
    );
    try {
      const control = oracle.ready.get('control-url')!;
      assert.equal(control, `${oracle.ready.get('url')}/control`);
      const get = (auth?: string) =>
        fetch(control, { headers: auth ? { authorization: auth } : {} }).then((r) => r.status);
      assert.equal(await get(), 403);
      assert.equal(await get(`Bearer ${token}`), 200);
    } finally {
      assert.equal(await oracle.stop(), 0);
    }
    const short = await runUnder([], DLCFD_BIN, ['oracle', '--datadir', datadir], {
      DLCFD_ORACLE_CONTROL_TOKEN: 'short',
    });
    assert.equal(short.code, 2);
    assert.match(short.stderr, /at least 16 characters[\s\S]*usage: dlcfd oracle/);
  });

  it('is listed in dlcfd --help', async () => {
    const { stdout } = await dlcfd('--help');
    assert.match(stdout, /oracle\s+olivia-compatible/);
  });
});
