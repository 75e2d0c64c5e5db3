import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { btcToSats, satsToBtc } from '../../../node/chain/amount.ts';
import { EmbeddedChain } from '../../../node/chain/embedded.ts';
import { BitcoinRpc, DEFAULT_RPC_TIMEOUT_MS } from '../../../node/chain/rpc.ts';
import { newKey, p2wpkh, silent } from './helpers.ts';

/** An HTTP server on a free loopback port; `handler` decides what (if anything) it answers. */
async function httpServer(handler: Parameters<typeof createServer>[1]): Promise<Server> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

function urlOf(server: Server): string {
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('chain amounts', () => {
  it('converts BTC decimal text to sats exactly, including exponent notation', () => {
    assert.equal(btcToSats('1'), 100_000_000n);
    assert.equal(btcToSats('0.00000001'), 1n);
    assert.equal(btcToSats('20999999.99999999'), 2_099_999_999_999_999n);
    assert.equal(btcToSats('1e-7'), 10n);
    assert.equal(btcToSats('1.5E+2'), 15_000_000_000n);
    assert.equal(btcToSats('0.10000000000'), 10_000_000n);
    assert.equal(btcToSats('-0.5', true), -50_000_000n);
  });

  it('refuses malformed, negative and sub-satoshi amounts', () => {
    for (const bad of ['', 'abc', '1.', '.5', '0x10', '1,5', '0.000000001', '1e-9']) {
      assert.throws(() => btcToSats(bad), { name: 'InvalidAmountError' }, bad);
    }
    assert.throws(() => btcToSats('-1'), { name: 'InvalidAmountError' });
  });

  it('formats sats as Bitcoin Core prints BTC', () => {
    assert.equal(satsToBtc(1n), '0.00000001');
    assert.equal(satsToBtc(123_456_789n), '1.23456789');
    assert.equal(satsToBtc(-5n), '-0.00000005');
  });
});

describe('BitcoinRpc against the embedded node', () => {
  let chain: EmbeddedChain;
  let rpc: BitcoinRpc;

  before(async () => {
    chain = await EmbeddedChain.start({ logger: silent });
    rpc = new BitcoinRpc({ url: chain.rpcUrl, ...chain.rpcAuth, logger: silent });
  });
  after(() => chain?.stop());

  it('reads the chain: count, hashes, blocks', async () => {
    const height = await rpc.getBlockCount();
    assert.equal(height, chain.height);
    const hash = await rpc.getBlockHash(height);
    const block = await rpc.getBlock(hash);
    assert.equal(block.hash, hash);
    assert.equal(block.height, height);
    assert.equal(block.confirmations, 1);
    assert.equal(block.previousBlockHash, await rpc.getBlockHash(height - 1));
    assert.equal(block.tx.length, 1);
    const hex = await rpc.getBlockHex(hash);
    assert.match(hex, /^[0-9a-f]+$/);
    assert.ok(hex.length > 160); // header + coinbase
    const info = await rpc.getBlockchainInfo();
    assert.deepEqual(info, { chain: 'regtest', blocks: height, bestBlockHash: hash });
  });

  it('follows a transaction from mempool to block, and its output until spent', async () => {
    const key = newKey();
    const { txid, vout } = await chain.fund(p2wpkh(key).address, 250_000n);
    assert.ok((await rpc.getRawMempool()).includes(txid));
    const entry = await rpc.getMempoolEntry(txid);
    assert.ok(entry);
    assert.equal(entry.height, chain.height);
    assert.ok(entry.fee !== undefined && entry.fee > 0n && entry.fee < 10_000n);
    // No child yet: what pays for it is itself.
    assert.equal(entry.descendants?.fee, entry.fee);
    assert.ok(entry.descendants.vsize > 100 && entry.descendants.vsize < 300);
    const pending = await rpc.getTransaction(txid);
    assert.equal(pending?.confirmations, 0);
    assert.equal(pending?.blockHash, undefined);
    assert.equal(await rpc.getRawTransaction(txid), pending?.hex);

    const [hash] = await chain.mine(2);
    assert.equal(await rpc.getMempoolEntry(txid), null);
    const mined = await rpc.getTransaction(txid);
    assert.equal(mined?.blockHash, hash);
    assert.equal(mined?.confirmations, 2);
    const out = await rpc.getTxOut(txid, vout);
    assert.deepEqual(out && { ...out, bestBlock: '' }, {
      value: 250_000n,
      confirmations: 2,
      scriptPubKey: Buffer.from(p2wpkh(key).output).toString('hex'),
      coinbase: false,
      bestBlock: '',
    });
    assert.equal(await rpc.getTxOut(txid, vout + 5), null);
  });

  it('returns null for transactions the node does not know', async () => {
    const unknown = '00'.repeat(32);
    assert.equal(await rpc.getRawTransaction(unknown), null);
    assert.equal(await rpc.getTransaction(unknown), null);
    assert.equal(await rpc.getMempoolEntry(unknown), null);
    assert.equal(await rpc.getTxOut(unknown, 0), null);
  });

  it('reports "no estimate" on a quiet regtest chain', async () => {
    const estimate = await rpc.estimateSmartFee(6);
    assert.equal(estimate.blocks, 6);
    assert.equal(estimate.satPerKvB, undefined);
  });

  it('raises RpcError with the code for errors from the node, and stays healthy', async () => {
    await assert.rejects(rpc.call('nosuchmethod'), { name: 'RpcError', code: -32601 });
    await assert.rejects(rpc.getBlockHash(1_000_000), { name: 'RpcError', code: -8 });
    await chain.mine(1);
    await rpc.getBlockCount();
    const health = rpc.health();
    assert.equal(health.reachable, true);
    assert.equal(health.lastError, undefined);
    assert.equal(health.height, chain.height);
  });

  it('reads credentials from a cookie file and re-reads it when refused', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dlcfd-cookie-'));
    try {
      const cookieFile = join(dir, '.cookie');
      await writeFile(cookieFile, '__cookie__:stale');
      const viaCookie = new BitcoinRpc({ url: chain.rpcUrl, cookieFile });
      await assert.rejects(viaCookie.getBlockCount(), { name: 'RpcAuthError' });
      await writeFile(cookieFile, `__cookie__:${chain.rpcAuth.password}`);
      assert.equal(await viaCookie.getBlockCount(), chain.height);
      const missing = new BitcoinRpc({ url: chain.rpcUrl, cookieFile: join(dir, 'nope') });
      await assert.rejects(missing.getBlockCount(), { name: 'RpcUnreachableError' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('BitcoinRpc failures and health', () => {
  let server: Server | undefined;
  let chain: EmbeddedChain | undefined;

  afterEach(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
    server = undefined;
    await chain?.stop();
    chain = undefined;
  });

  it('has a 10 s default timeout', () => {
    assert.equal(DEFAULT_RPC_TIMEOUT_MS, 10_000);
  });

  it('times out a node that never answers', async () => {
    server = await httpServer(() => {}); // accepts, never responds
    const rpc = new BitcoinRpc({ url: urlOf(server), timeoutMs: 100 });
    const started = Date.now();
    await assert.rejects(rpc.getBlockCount(), { name: 'RpcTimeoutError', timeoutMs: 100 });
    assert.ok(Date.now() - started < 2_000);
    const health = rpc.health();
    assert.equal(health.reachable, false);
    assert.equal(health.lastError?.name, 'RpcTimeoutError');
  });

  it("passes the caller's abort through unchanged", async () => {
    server = await httpServer(() => {});
    const rpc = new BitcoinRpc({ url: urlOf(server) });
    const controller = new AbortController();
    const reason = new Error('shutting down');
    setTimeout(() => controller.abort(reason), 20);
    await assert.rejects(rpc.getBlockCount({ signal: controller.signal }), (err) => err === reason);
    assert.equal(rpc.health().reachable, undefined); // a cancelled call says nothing about the node
  });

  it('sends a call again, once, when the connection is reset under it (a kept-alive socket closed)', async () => {
    let requests = 0;
    server = await httpServer((req, res) => {
      requests++;
      if (requests === 1) {
        req.socket.destroy(); // as a node closing an idle kept-alive socket the client reuses
        return;
      }
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ result: 7, error: null, id: 1 }));
    });
    const rpc = new BitcoinRpc({ url: urlOf(server) });
    assert.equal(await rpc.getBlockCount(), 7);
    assert.equal(requests, 2);
    // Only once: a node that resets every time is unreachable.
    requests = 0;
    server.removeAllListeners('request');
    server.on('request', (req) => {
      requests++;
      req.socket.destroy();
    });
    await assert.rejects(rpc.getBlockCount(), { name: 'RpcUnreachableError' });
    assert.equal(requests, 2);
  });

  it("reads Bitcoin Core's getmempoolentry: its fee, and what its descendants pay with it, exactly", async () => {
    // Bitcoin Core 28's shape (fees in BTC as JSON numbers; the deprecated sat fields gone).
    const result =
      '{"vsize":141,"weight":561,"time":1733356800,"height":870001,"descendantcount":2,' +
      '"descendantsize":251,"ancestorcount":1,"ancestorsize":141,"wtxid":"' +
      'ab'.repeat(32) +
      '","fees":{"base":0.00000141,"modified":0.00000141,"ancestor":0.00000141,' +
      '"descendant":0.00013051},"depends":[],"spentby":["' +
      'cd'.repeat(32) +
      '"],"bip125-replaceable":true,"unbroadcast":false}';
    server = await httpServer((_req, res) => res.end(`{"result":${result},"error":null,"id":1}`));
    const rpc = new BitcoinRpc({ url: urlOf(server) });
    assert.deepEqual(await rpc.getMempoolEntry('ab'.repeat(32)), {
      height: 870001,
      time: 1733356800,
      fee: 141n,
      descendants: { fee: 13_051n, vsize: 251 },
      depends: [],
    });
  });

  it('names a response that is not JSON-RPC', async () => {
    server = await httpServer((_req, res) => res.end('<html>hello</html>'));
    const rpc = new BitcoinRpc({ url: urlOf(server) });
    await assert.rejects(rpc.getBlockCount(), { name: 'RpcResponseError' });
  });

  it('goes unreachable when the node stops and recovers when it is back', async () => {
    chain = await EmbeddedChain.start({ logger: silent, rpcUser: 'u', rpcPassword: 'p' });
    const url = chain.rpcUrl;
    const rpc = new BitcoinRpc({ url, user: 'u', password: 'p', logger: silent });
    const height = await rpc.getBlockCount();
    const up = rpc.health();
    assert.equal(up.reachable, true);

    await chain.stop();
    await assert.rejects(rpc.getBlockCount(), {
      name: 'RpcUnreachableError',
      message: /ECONNREFUSED/,
    });
    const down = rpc.health();
    assert.equal(down.reachable, false);
    assert.equal(down.height, height);
    assert.equal(down.lastError?.name, 'RpcUnreachableError');
    assert.ok(down.since >= up.since);

    chain = await EmbeddedChain.start({
      logger: silent,
      rpcPort: Number(new URL(url).port),
      rpcUser: 'u',
      rpcPassword: 'p',
    });
    assert.equal(await rpc.getBlockCount(), chain.height);
    const back = rpc.health();
    assert.equal(back.reachable, true);
    assert.ok(back.since >= down.since);
    assert.equal(back.lastError?.name, 'RpcUnreachableError'); // kept for the display
  });
});
