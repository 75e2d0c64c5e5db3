// Smoke test of `npm run testnet`: it comes up with one taker, describes itself in testnet.json,
// and Ctrl-C stops every process it started.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { BitcoinRpc } from '../../node/chain/rpc.ts';
import { NODE_BIN } from '../../scripts/lib/dlcfd-process.ts';
import { tempDir } from '../helpers/cfd-fixtures.ts';

const script = fileURLToPath(new URL('../../scripts/testnet.ts', import.meta.url));

async function processesMentioning(text: string): Promise<string[]> {
  try {
    const { stdout } = await promisify(execFile)('pgrep', ['-af', text]);
    return stdout.split('\n').filter((l) => l && !l.includes('pgrep'));
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}

describe('npm run testnet (smoke)', function () {
  this.timeout(120_000);

  it('starts chain, feed, oracle, maker and a taker, then stops them all on SIGINT', async () => {
    const dir = await tempDir('dlcfd-testnet-');
    const child = spawn(
      NODE_BIN,
      [script, '--takers', '1', '--dir', dir.path, '--log-level', 'warn'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    try {
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
      });
      child.stderr.on('data', (d: Buffer) => {
        out += d.toString();
      });
      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      const deadline = Date.now() + 90_000;
      while (!out.includes('Ctrl-C stops everything')) {
        if (Date.now() > deadline || child.exitCode !== null)
          throw new Error(`testnet did not come up:\n${out}`);
        await new Promise((r) => setTimeout(r, 200));
      }
      const description = JSON.parse(await readFile(join(dir.path, 'testnet.json'), 'utf8'));
      assert.deepEqual(
        description.nodes.map((n: { name: string; role: string }) => `${n.name}:${n.role}`),
        ['maker:maker', 'taker1:taker'],
      );
      assert.match(description.nodes[0].multiaddr, /\/p2p\/12D3KooW/);
      // Every node serves its UI and its wallet is funded from the faucet (once it has synced).
      for (const node of description.nodes) {
        const cookie = (await readFile(node.api_cookie, 'utf8')).trim();
        const confirmed = async (): Promise<string | undefined> => {
          const res = await fetch(`${node.ui}/api/wallet`, {
            headers: { authorization: `Bearer ${cookie}` },
          });
          return res.ok
            ? ((await res.json()) as { balance: { confirmed: string } }).balance.confirmed
            : undefined;
        };
        const until = Date.now() + 30_000;
        while ((await confirmed()) !== '100000000') {
          if (Date.now() > until) assert.fail(`${node.name} was not funded`);
          await new Promise((r) => setTimeout(r, 250));
        }
      }
      const rpc = new BitcoinRpc({ url: description.chain.rpc, ...description.chain });
      assert.ok((await rpc.getBlockCount()) >= 432);
      assert.ok((await processesMentioning(dir.path)).length >= 5);

      child.kill('SIGINT');
      assert.equal(await exited, 0);
      for (const name of ['taker1', 'maker', 'oracle', 'pricefeed', 'chain']) {
        assert.match(out, new RegExp(`stopped ${name} \\(0\\)`), `${name} stopped cleanly`);
      }
      assert.deepEqual(await processesMentioning(dir.path), [], 'no stray processes');
    } finally {
      // On a failure: Ctrl-C the testnet (it stops its children), then make sure.
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGINT');
        await new Promise((r) => setTimeout(r, 8_000));
        child.kill('SIGKILL');
      }
      await dir.cleanup();
    }
  });
});
