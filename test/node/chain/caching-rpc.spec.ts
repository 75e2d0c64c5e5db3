// CachingBitcoinRpc (node/chain/caching-rpc.ts) against the embedded node, through a loopback HTTP
// proxy that forwards every request and counts what reaches the node. The cache's clock is the
// spec's own, so a TTL passes when the spec says, never by sleeping.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CachingBitcoinRpc } from '../../../node/chain/caching-rpc.ts';
import { EmbeddedChain } from '../../../node/chain/embedded.ts';
import { newKey, p2wpkh, silent, spendP2wpkh } from './helpers.ts';

const TTL = 1_000;

/** Forwards JSON-RPC to `target`, counting methods; `hold` delays forwarding until released. */
class CountingProxy {
  readonly calls: string[] = [];
  hold: Promise<void> | undefined;
  #server: Server | undefined;

  readonly target: string;

  constructor(target: string) {
    this.target = target;
  }

  async start(): Promise<string> {
    this.#server = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const body = Buffer.concat(chunks).toString();
      this.calls.push((JSON.parse(body) as { method: string }).method);
      await this.hold;
      const upstream = await fetch(this.target, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: req.headers.authorization ?? '',
        },
        body,
      });
      res.writeHead(upstream.status, { 'content-type': 'application/json' });
      res.end(await upstream.text());
    });
    await new Promise<void>((resolve) => this.#server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  count(method: string): number {
    return this.calls.filter((m) => m === method).length;
  }

  stop(): Promise<void> {
    this.#server?.closeAllConnections();
    return new Promise((resolve) =>
      this.#server ? this.#server.close(() => resolve()) : resolve(),
    );
  }
}

describe('CachingBitcoinRpc: one shared reader of the chain', () => {
  let chain: EmbeddedChain;
  let proxy: CountingProxy;
  let url: string;
  let now = 0;
  /** A fresh client (its own cache) through the proxy, on the spec's clock. */
  const client = () =>
    new CachingBitcoinRpc({ url, ...chain.rpcAuth, ttlMs: TTL, now: () => now, logger: silent });

  before(async () => {
    chain = await EmbeddedChain.start({ logger: silent });
    proxy = new CountingProxy(chain.rpcUrl);
    url = await proxy.start();
  });
  after(async () => {
    await proxy?.stop();
    await chain?.stop();
  });
  beforeEach(() => {
    proxy.calls.length = 0;
    proxy.hold = undefined;
    now = 1_000_000;
  });

  it('coalesces identical reads in flight into one request', async () => {
    const rpc = client();
    const heights = await Promise.all(Array.from({ length: 10 }, () => rpc.getBlockCount()));
    assert.deepEqual(new Set(heights), new Set([chain.height]));
    assert.equal(proxy.count('getblockcount'), 1);
  });

  it('serves the tip from cache for the TTL, then asks again', async () => {
    const rpc = client();
    const before = await rpc.getBlockCount();
    await chain.mine(1);
    now += TTL - 1;
    assert.equal(await rpc.getBlockCount(), before, 'within the TTL: the cached tip');
    assert.equal(proxy.count('getblockcount'), 1);
    now += 1;
    assert.equal(await rpc.getBlockCount(), before + 1, 'after it: the node asked again');
    assert.equal(proxy.count('getblockcount'), 2);
    assert.equal(rpc.health().height, before + 1);
  });

  it('keeps what a hash names (block and transaction hex) past any TTL', async () => {
    const rpc = client();
    const hash = await rpc.getBlockHash(chain.height);
    const { txid } = await chain.fund(p2wpkh(newKey()).address, 100_000n);
    const hex = await rpc.getBlockHex(hash);
    const txHex = await rpc.getRawTransaction(txid);
    now += 100 * TTL;
    assert.equal(await rpc.getBlockHex(hash), hex);
    assert.equal(await rpc.getRawTransaction(txid), txHex);
    assert.equal(proxy.count('getblock'), 1);
    assert.equal(proxy.count('getrawtransaction'), 1);
    // "Not found" is never kept: it may be found next time.
    const unknown = '00'.repeat(32);
    assert.equal(await rpc.getRawTransaction(unknown), null);
    assert.equal(await rpc.getRawTransaction(unknown), null);
    assert.equal(proxy.count('getrawtransaction'), 3);
  });

  it('a reorg: the new hash at a height is served once the TTL has passed', async () => {
    const rpc = client();
    await chain.mine(1);
    const height = chain.height;
    const old = await rpc.getBlockHash(height);
    await chain.invalidate(old);
    await chain.mine(2);
    const replaced = await rpc.getBlockHash(height);
    assert.equal(replaced, old, 'within the TTL the old answer may still be served');
    now += TTL;
    const fresh = await rpc.getBlockHash(height);
    assert.notEqual(fresh, old, 'not served stale beyond the TTL');
    assert.equal((await rpc.getBlock(fresh)).height, height);
  });

  it('writes pass straight through and drop the changing answers (a node reads its broadcast)', async () => {
    const rpc = client();
    const key = newKey();
    const { txid, vout } = await chain.fund(p2wpkh(key).address, 100_000n);
    await chain.mine(1);
    assert.deepEqual(await rpc.getRawMempool(), []);
    const tx = spendP2wpkh(key, { txid, vout, value: 100_000n }, p2wpkh(newKey()).output, 500n);
    assert.equal(await rpc.sendRawTransaction(tx.toHex()), tx.getId());
    assert.equal(await rpc.sendRawTransaction(tx.toHex()).catch(() => tx.getId()), tx.getId());
    assert.equal(proxy.count('sendrawtransaction'), 2, 'every write reaches the node');
    assert.deepEqual(await rpc.getRawMempool(), [tx.getId()], 'no clock advance needed');
    // gettxout is not cached either: the spent output's answer is the node's own, every time.
    assert.equal(await rpc.getTxOut(txid, vout), null);
    assert.equal(await rpc.getTxOut(txid, vout), null);
    assert.equal(proxy.count('gettxout'), 2);
    await chain.mine(1);
  });

  it("a caller's abort ends its own wait, not the shared request", async () => {
    const rpc = client();
    let release!: () => void;
    proxy.hold = new Promise((r) => {
      release = r;
    });
    const ac = new AbortController();
    const aborted = rpc.getBlockCount({ signal: ac.signal });
    const other = rpc.getBlockCount();
    ac.abort(new Error('gave up'));
    await assert.rejects(aborted, /gave up/);
    release();
    assert.equal(await other, chain.height);
    assert.equal(proxy.count('getblockcount'), 1);
  });
});
