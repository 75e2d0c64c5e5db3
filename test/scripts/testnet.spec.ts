// Smoke test of `npm run testnet`: it comes up with one taker, describes itself in testnet.json,
// trades through the HTTP API as a script would (take an offer, see the CFD open, close it
// collaboratively, see the payout confirmed), and Ctrl-C stops every process it started.
import assert from 'node:assert/strict';
import { type ChildProcessByStdio, execFile, spawn } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { networks, payments } from 'bitcoinjs-lib';
import { BitcoinRpc } from '../../node/chain/rpc.ts';
import { NODE_BIN, runScript } from '../../scripts/lib/dlcfd-process.ts';
import { apiOf, type Json } from '../helpers/api.ts';
import { tempDir } from '../helpers/cfd-fixtures.ts';
import { until } from '../helpers/wait.ts';

const script = fileURLToPath(new URL('../../scripts/testnet.ts', import.meta.url));

async function processesMentioning(text: string): Promise<string[]> {
  try {
    const { stdout } = await promisify(execFile)('pgrep', ['-af', text]);
    return stdout.split('\n').filter((l) => l && !l.includes('pgrep'));
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}

/** Polls `check` until it returns a value; `onWait` runs between polls (e.g. mines a block). */
const waitFor = <T>(
  what: string,
  ms: number,
  check: () => Promise<T | undefined>,
  onWait: () => Promise<unknown> = async () => undefined,
): Promise<T> =>
  until(
    what,
    async () => {
      const v = await check();
      if (v === undefined) await onWait();
      return v;
    },
    ms,
    1_000,
  ) as Promise<T>;

function startTestnet(args: string[]): ChildProcessByStdio<null, Readable, Readable> {
  return spawn(NODE_BIN, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Waits for the testnet's "ready" text; its exit code, and all it printed so far. */
async function untilReady(child: ChildProcessByStdio<null, Readable, Readable>) {
  let out = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  await until(
    'the testnet to come up',
    () => {
      if (child.exitCode !== null) throw new Error(`testnet exited:\n${out}`);
      return out.includes('Ctrl-C stops everything');
    },
    90_000,
    200,
  );
  return { exited, output: () => out };
}

describe('npm run testnet: usage', () => {
  it('--help prints the usage and exits 0 at once, building nothing', async () => {
    const started = Date.now();
    const { code, stdout, stderr } = await runScript(script, '--help');
    assert.equal(code, 0, stderr);
    assert.match(stdout, /^usage: npm run testnet/);
    assert.match(stdout, /--no-ui-build/);
    assert.equal(stderr, '');
    // A UI build or a chain start would take longer (and print); parsing takes well under this.
    assert.ok(Date.now() - started < 15_000);
  });

  it('an unknown option is one line and the usage on stderr, exit 2', async () => {
    const { code, stdout, stderr } = await runScript(script, '--bogus');
    assert.equal(code, 2);
    assert.equal(stdout, '');
    const [first, blank, usage] = stderr.split('\n');
    assert.equal(first, "npm run testnet: unknown option '--bogus'");
    assert.equal(blank, '');
    assert.match(usage!, /^usage: npm run testnet/);
    assert.doesNotMatch(stderr, /ERR_PARSE_ARGS|at parseArgs/);
  });

  it('--products names only known products, each once, before anything starts', async () => {
    for (const bad of ['BTCUSD,DOGEUSD', 'ETHUSD,ETHUSD', '']) {
      const { code, stderr } = await runScript(script, '--products', bad);
      assert.equal(code, 2, bad);
      assert.match(stderr.split('\n')[0]!, /--products must list BTCUSD and\/or ETHUSD/, bad);
    }
  });
});

describe('npm run testnet (smoke)', function () {
  this.timeout(300_000);

  it('starts chain, feed, oracle, maker and a taker, trades through the API, then stops them all on SIGINT', async () => {
    const dir = await tempDir('dlcfd-testnet-');
    // At ×10 the taker rolls over only every 6 minutes, so no rollover crosses the trade; blocks
    // (every minute at this scale) are mined on demand through the chain's RPC instead.
    // Under the common umask 022, which the script and its nodes must not rely on.
    const umask = process.umask(0o022);
    // The UI is built by `npm test` already; rebuilding it here would empty ui/dist under the
    // browser specs running beside this one.
    const args = ['--takers', '1', '--dir', dir.path, '--log-level', 'warn', '--time-scale', '10'];
    let child = startTestnet([...args, '--no-ui-build']);
    process.umask(umask);
    try {
      let { exited, output } = await untilReady(child);
      const description = JSON.parse(await readFile(join(dir.path, 'testnet.json'), 'utf8'));
      // It holds the chain's RPC password: owner-only, in an owner-only directory (umask 022 here).
      assert.equal((await stat(join(dir.path, 'testnet.json'))).mode & 0o777, 0o600);
      assert.equal((await stat(dir.path)).mode & 0o777, 0o700);
      for (const name of ['chain', 'oracle', 'maker', 'taker1']) {
        assert.equal((await stat(join(dir.path, name))).mode & 0o777, 0o700, name);
      }
      assert.equal((await stat(join(dir.path, 'maker', 'events'))).mode & 0o777, 0o700);
      assert.equal((await stat(join(dir.path, 'maker.log'))).mode & 0o777, 0o600);
      assert.deepEqual(
        description.nodes.map((n: { name: string; role: string }) => `${n.name}:${n.role}`),
        ['maker:maker', 'taker1:taker'],
      );
      assert.match(description.nodes[0].multiaddr, /\/p2p\/12D3KooW/);
      const rpc = new BitcoinRpc({ url: description.chain.rpc, ...description.chain });
      // Blocks come every minute at this scale: mine to nobody's address while waiting.
      const burn = payments.p2wpkh({ hash: Buffer.alloc(20, 1), network: networks.regtest })
        .address!;
      // Every node serves its UI and its wallet is funded from the faucet (once it has synced):
      // 1 BTC, which a maker splits into its coin pool, paying that split's fee.
      for (const node of description.nodes) {
        const cookie = (await readFile(node.api_cookie, 'utf8')).trim();
        const confirmed = async (): Promise<bigint | undefined> => {
          const res = await fetch(`${node.ui}/api/wallet`, {
            headers: { authorization: `Bearer ${cookie}` },
          });
          if (!res.ok) return undefined;
          type Balance = { confirmed: string; unconfirmed: string; spendable: string };
          const b = ((await res.json()) as { balance: Balance }).balance;
          const c = BigInt(b.confirmed);
          // A maker's coin-pool split must have confirmed too: locks spend only confirmed coins.
          const split = !node.name.startsWith('maker') || c < 100_000_000n;
          const settled = BigInt(b.unconfirmed) === 0n && BigInt(b.spendable) === c;
          return c <= 100_000_000n && c > 99_900_000n && split && settled ? c : undefined;
        };
        await waitFor(`${node.name} funded`, 60_000, confirmed, () =>
          rpc.call('generatetoaddress', [1, burn]),
        );
      }
      assert.ok((await rpc.getBlockCount()) >= 432);
      assert.ok((await processesMentioning(dir.path)).length >= 5);

      // Trade through the API, as a script with the taker's api.cookie would.
      const [makerNode, takerNode] = description.nodes;
      const taker = apiOf(takerNode.ui, (await readFile(takerNode.api_cookie, 'utf8')).trim());
      const maker = apiOf(makerNode.ui, (await readFile(makerNode.api_cookie, 'utf8')).trim());
      const mineAddress = ((await taker('POST', '/api/wallet/address')).body as Json).address;
      const mine = () => rpc.call('generatetoaddress', [1, mineAddress]);
      // The maker offers both products by default (--products BTCUSD,ETHUSD); this trade is BTCUSD.
      const offers = await waitFor('offers of both products', 30_000, async () => {
        const { body } = await taker('GET', '/api/offers');
        const symbols = new Set(body.offers.map((o: Json) => o.symbol));
        return symbols.has('BTCUSD') && symbols.has('ETHUSD') ? body.offers : undefined;
      });
      const offer = offers.find((o: Json) => o.symbol === 'BTCUSD' && o.takerPosition === 'long');
      assert.ok(offer, 'a BTCUSD offer for a long');
      const order = await taker('POST', '/api/orders', {
        offerId: offer.id,
        lots: Number(BigInt(offer.minQuantity) / BigInt(offer.lotSize)),
        leverage: 2,
      });
      assert.equal(order.status, 202, JSON.stringify(order.body));
      const id: string = order.body.orderId;
      const cfd = async (): Promise<Json> => {
        const res = await taker('GET', `/api/cfds/${id}`);
        return res.status === 200 ? res.body : undefined;
      };
      // Contract setup, then the lock is published; a block confirms it.
      const opened = await waitFor(
        'the CFD to open',
        60_000,
        async () => {
          const c = await cfd();
          if (c && ['rejected', 'setupFailed'].includes(c.state)) {
            assert.fail(`the order failed: ${c.state} ${c.failureReason}`);
          }
          return c?.state === 'open' ? c : undefined;
        },
        async () => ((await cfd())?.state === 'pendingOpen' ? mine() : undefined),
      );
      assert.deepEqual(opened.actions, ['settle', 'commit']);
      assert.equal(opened.transactions[0].kind, 'lock');
      assert.equal(opened.quantity, offer.minQuantity);
      assert.equal(opened.leverage, 2);
      assert.equal(opened.profit?.basis, 'quote', 'an open CFD shows its P/L at the quote');
      // The maker's node follows the same block on its own poll: it sees the CFD open soon after.
      await waitFor('the maker to see the same CFD open', 30_000, async () => {
        const makerSide = (await maker('GET', `/api/cfds/${id}`)).body;
        return makerSide.state === 'open' ? makerSide : undefined;
      });

      // Close collaboratively at the quote; the close transaction confirms in a block.
      let closeAt = 0;
      const closed = await waitFor(
        'the CFD to close',
        60_000,
        async () => {
          const c = await cfd();
          if (c.state === 'closed') return c;
          // The close runs in the background: propose (again) while nothing is under way.
          if (c.state === 'open' && !c.settlementProposal && Date.now() - closeAt > 5_000) {
            const res = await taker('POST', `/api/cfds/${id}/close`);
            assert.equal(res.status, 202, JSON.stringify(res.body));
            closeAt = Date.now();
          }
          return undefined;
        },
        async () => ((await cfd()).state === 'pendingClose' ? mine() : undefined),
      );
      assert.equal(closed.settledBy, 'collaborative');
      assert.deepEqual(closed.actions, []);
      assert.equal(closed.profit.basis, 'settlement');
      assert.ok(BigInt(closed.profit.payout) > 0n, `payout ${closed.profit.payout}`);
      assert.match(closed.closingPrice, /^\d+(\.\d+)?$/);
      const closeTx = closed.transactions.find((t: Json) => t.kind === 'close');
      assert.ok(closeTx, JSON.stringify(closed.transactions));
      // The payout reached the taker's wallet in a block.
      const paid = await waitFor('the payout in the wallet', 30_000, async () => {
        const { body } = await taker('GET', '/api/wallet/history');
        return body.transactions?.find((t: Json) => t.txid === closeTx.txid && t.height !== null);
      });
      assert.equal(BigInt(paid.received), BigInt(closed.profit.payout));
      const makerClosed = await waitFor('the maker to see it closed', 15_000, async () => {
        const c = (await maker('GET', `/api/cfds/${id}`)).body;
        return c.state === 'closed' ? c : undefined;
      });
      assert.equal(makerClosed.settledBy, 'collaborative');

      child.kill('SIGINT');
      assert.equal(await exited, 0);
      for (const name of ['taker1', 'maker', 'oracle', 'pricefeed', 'chain']) {
        assert.match(output(), new RegExp(`stopped ${name} \\(0\\)`), `${name} stopped cleanly`);
      }
      assert.deepEqual(await processesMentioning(dir.path), [], 'no stray processes');

      // Restarted on the same directory: every port and UI password as before, printed again,
      // and the password logs in at the same URL (a bookmark and a saved password still work).
      child = startTestnet([...args, '--no-ui-build']);
      ({ exited, output } = await untilReady(child));
      const again = JSON.parse(await readFile(join(dir.path, 'testnet.json'), 'utf8'));
      const endpoints = (d: Json) => [
        d.chain.rpc,
        d.oracle,
        d.pricefeed,
        ...d.nodes.map((n: Json) => [n.ui, n.ui_password, n.multiaddr]),
      ];
      assert.deepEqual(endpoints(again), endpoints(description));
      for (const node of again.nodes) {
        assert.match(node.ui_password, /^[\w-]{24}$/);
        assert.ok(output().includes(`${node.ui}  password ${node.ui_password}`), output());
        const login = await fetch(`${node.ui}/api/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ password: node.ui_password }),
        });
        assert.equal(login.status, 200, `${node.name} logs in with its kept password`);
      }
      child.kill('SIGINT');
      assert.equal(await exited, 0);
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
