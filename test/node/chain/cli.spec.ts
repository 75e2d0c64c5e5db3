import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { BitcoinRpc } from '../../../node/chain/rpc.ts';
import { dlcfd, startDlcfd } from '../../helpers/dlcfd-cli.ts';
import { newKey, p2wpkh } from './helpers.ts';

/** Starts `dlcfd chain …` and resolves with its ready lines once it printed them. */
async function startChain(
  ...args: string[]
): Promise<{ child: ChildProcess; ready: Map<string, string> }> {
  const { child, ready } = await startDlcfd('chain', args, 'height');
  return { child, ready };
}

async function stopWith(child: ChildProcess, signal: NodeJS.Signals): Promise<number | null> {
  const exited = once(child, 'exit');
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  const [code] = (await exited) as [number | null];
  clearTimeout(timer);
  return code;
}

describe('dlcfd chain (CLI)', () => {
  let child: ChildProcess | undefined;
  let dir: string | undefined;

  afterEach(async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      await stopWith(child, 'SIGKILL');
    }
    child = undefined;
    if (dir) await rm(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('is listed by dlcfd --help', async () => {
    const { code, stdout } = await dlcfd('--help');
    assert.equal(code, 0);
    assert.match(stdout, /^ {2}chain /m);
  });

  it('serves RPC with a cookie, funds and mines over RPC, and stops on SIGTERM', async () => {
    const started = await startChain();
    child = started.child;
    const url = started.ready.get('rpc-url')!;
    const cookieFile = started.ready.get('rpc-cookie-file')!;
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal((await stat(cookieFile)).mode & 0o777, 0o600);
    assert.equal(started.ready.get('height'), '432');
    assert.match(started.ready.get('faucet-address')!, /^bcrt1q/);

    const { address, output } = p2wpkh(newKey());
    const funded = await dlcfd(
      'chain',
      'fund',
      address,
      '0.25',
      '--rpc-url',
      url,
      '--rpc-cookie-file',
      cookieFile,
    );
    assert.equal(funded.code, 0, funded.stderr);
    const txid = funded.stdout.trim();
    assert.match(txid, /^[0-9a-f]{64}$/);

    const mined = await dlcfd(
      'chain',
      'mine',
      '2',
      '--rpc-url',
      url,
      '--rpc-cookie-file',
      cookieFile,
    );
    assert.equal(mined.code, 0, mined.stderr);
    assert.equal(mined.stdout.trim().split('\n').length, 2);

    const rpc = new BitcoinRpc({ url, cookieFile });
    const out = await rpc.getTxOut(txid, 0);
    assert.equal(out?.value, 25_000_000n);
    assert.equal(out?.confirmations, 2);
    assert.equal(out?.scriptPubKey, Buffer.from(output).toString('hex'));
    // The faucet got the coinbases: the tip's coinbase pays it.
    const tip = await rpc.getBlock(await rpc.getBlockHash(434));
    const coinbase = await rpc.call<{
      vout: { scriptPubKey: { addresses?: string[]; address?: string } }[];
    }>('getrawtransaction', [tip.tx[0], 1]);
    const paid = coinbase.vout[0]?.scriptPubKey;
    assert.equal(paid?.address ?? paid?.addresses?.[0], started.ready.get('faucet-address'));

    assert.equal(await stopWith(child, 'SIGTERM'), 0);
    await assert.rejects(stat(dirname(cookieFile)), { code: 'ENOENT' });
  });

  it('uses --datadir, --rpc-user/--rpc-password, --rpc-port, --block-interval; stops on SIGINT', async () => {
    dir = await mkdtemp(join(tmpdir(), 'dlcfd-chain-cli-'));
    const probe = await startChain();
    const port = Number(new URL(probe.ready.get('rpc-url')!).port);
    await stopWith(probe.child, 'SIGTERM');

    const started = await startChain(
      '--datadir',
      dir,
      '--rpc-user',
      'alice',
      '--rpc-password',
      'secret',
      '--rpc-port',
      String(port),
      '--block-interval',
      '0.1',
    );
    child = started.child;
    assert.equal(started.ready.get('rpc-url'), `http://127.0.0.1:${port}`);
    assert.equal(started.ready.get('rpc-user'), 'alice');
    const rpc = new BitcoinRpc({
      url: started.ready.get('rpc-url')!,
      user: 'alice',
      password: 'secret',
    });
    const first = await rpc.getBlockCount();
    const deadline = Date.now() + 5_000;
    let height = first;
    while (height < first + 2 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      height = await rpc.getBlockCount();
    }
    assert.ok(height >= first + 2, 'auto-mining did not advance the chain');
    const bad = await dlcfd(
      'chain',
      'fund',
      'bcrt1qxyz',
      '1',
      '--rpc-url',
      `http://alice:secret@127.0.0.1:${port}`,
    );
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /regtest address/);
    assert.equal(await stopWith(child, 'SIGINT'), 0);
    await stat(join(dir, 'regtest')); // the chain is on disk
  });

  it('rejects bad flags with usage (exit 2) and bad amounts (exit 1)', async () => {
    const flag = await dlcfd('chain', '--block-interval', 'soon');
    assert.equal(flag.code, 2);
    assert.match(flag.stderr, /--block-interval/);
    const unknown = await dlcfd('chain', '--nope');
    assert.equal(unknown.code, 2);
    const noAuth = await dlcfd('chain', 'fund', 'bcrt1q', '1', '--rpc-url', 'http://127.0.0.1:1');
    assert.equal(noAuth.code, 2);
    assert.match(noAuth.stderr, /auth needed/);
    const amount = await dlcfd(
      'chain',
      'fund',
      'x',
      '0.000000001',
      '--rpc-url',
      'http://u:p@127.0.0.1:1',
    );
    assert.equal(amount.code, 1);
    assert.match(amount.stderr, /finer than 1 sat/);
  });
});
