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
    try {
      const child = spawn(
        NODE_BIN,
        [script, '--takers', '1', '--dir', dir.path, '--log-level', 'warn'],
        {
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
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
      const rpc = new BitcoinRpc({ url: description.chain.rpc, ...description.chain });
      assert.ok((await rpc.getBlockCount()) >= 432);
      assert.ok((await processesMentioning(dir.path)).length >= 5);

      child.kill('SIGINT');
      assert.equal(await exited, 0);
      assert.match(out, /stopped chain \(0\)/);
      assert.deepEqual(await processesMentioning(dir.path), [], 'no stray processes');
    } finally {
      await dir.cleanup();
    }
  });
});
