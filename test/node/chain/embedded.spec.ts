import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { address, payments } from 'bitcoinjs-lib';
import { broadcast } from '../../../node/chain/broadcast.ts';
import { EmbeddedChain, SEGWIT_ACTIVE_HEIGHT } from '../../../node/chain/embedded.ts';
import { BitcoinRpc } from '../../../node/chain/rpc.ts';
import { newKey, p2wpkh, regtest, silent, spendP2wpkh } from './helpers.ts';

describe('embedded regtest chain', () => {
  describe('in memory', () => {
    let chain: EmbeddedChain;
    let rpc: BitcoinRpc;

    before(async () => {
      chain = await EmbeddedChain.start({ logger: silent });
      rpc = new BitcoinRpc({ url: chain.rpcUrl, ...chain.rpcAuth });
    });
    after(() => chain?.stop());

    /** A confirmed coin of `value` to a new key, and its spend back to that key (not sent). */
    async function confirmedCoinAndSpend(value: bigint) {
      const key = newKey();
      const { address, output } = p2wpkh(key);
      const funded = await chain.fund(address, value);
      await chain.mine(1);
      return { funded, spend: spendP2wpkh(key, { ...funded, value }, output, 1_000n) };
    }

    it('starts past segwit activation on loopback with cookie-style auth', async () => {
      assert.ok(chain.height >= SEGWIT_ACTIVE_HEIGHT);
      assert.match(chain.rpcUrl, /^http:\/\/127\.0\.0\.1:\d+$/);
      assert.equal(chain.rpcAuth.user, '__cookie__');
      assert.match(chain.rpcAuth.password, /^[0-9a-f]{64}$/);
      assert.equal(chain.cookieFile, undefined);
      const info = await rpc.getBlockchainInfo();
      assert.equal(info.chain, 'regtest');
      assert.equal(info.blocks, chain.height);
    });

    it("uses Bitcoin Core's regtest address prefixes", async () => {
      assert.match(chain.faucetAddress, /^bcrt1q/);
      const key = newKey();
      // base58 P2PKH (111) and P2SH (196) addresses from bitcoinjs-lib's regtest are accepted.
      const pkh = payments.p2pkh({ pubkey: key.pub, network: regtest }).address!;
      const sh = payments.p2sh({
        redeem: payments.p2wpkh({ pubkey: key.pub, network: regtest }),
        network: regtest,
      }).address!;
      assert.match(pkh, /^[mn]/);
      assert.match(sh, /^2/);
      await chain.fund(pkh, 10_000n);
      await chain.fund(sh, 10_000n);
      // bcoin's own regtest prefix ('rb') and mainnet addresses are refused.
      const hash = payments.p2wpkh({ pubkey: key.pub }).hash!;
      for (const other of [address.toBech32(hash, 0, 'rb'), address.toBech32(hash, 0, 'bc')]) {
        await assert.rejects(chain.fund(other, 10_000n), { name: 'InvalidAddressError' });
      }
    });

    it('mines on demand, to the faucet or a given address', async () => {
      const before = chain.height;
      const hashes = await chain.mine(3);
      assert.equal(hashes.length, 3);
      assert.equal(chain.height, before + 3);
      assert.equal(await rpc.getBlockHash(before + 3), hashes[2]);
      const key = newKey();
      const [hash] = await chain.mine(1, p2wpkh(key).address);
      const block = await rpc.getBlock(hash!);
      const coinbase = await rpc.getTransaction(block.tx[0]!);
      assert.ok(coinbase);
      assert.ok(coinbase.hex.includes(Buffer.from(p2wpkh(key).output).toString('hex')));
    });

    it('funds an address from the faucet, confirmed by the next block', async () => {
      const key = newKey();
      const { address } = p2wpkh(key);
      const { txid, vout } = await chain.fund(address, 123_456_789n);
      assert.ok(await rpc.getMempoolEntry(txid));
      const unconfirmed = await rpc.getTxOut(txid, vout);
      assert.equal(unconfirmed?.value, 123_456_789n);
      assert.equal(unconfirmed?.confirmations, 0);
      await chain.mine(1);
      const out = await rpc.getTxOut(txid, vout);
      assert.equal(out?.value, 123_456_789n);
      assert.equal(out?.confirmations, 1);
      assert.equal(await rpc.getMempoolEntry(txid), null);
    });

    it('validates segwit signatures (a valid P2WPKH spend is accepted and mined)', async () => {
      const { spend } = await confirmedCoinAndSpend(50_000n);
      const result = await broadcast(rpc, spend.toHex());
      assert.deepEqual(result, { txid: spend.getId(), status: 'mempool' });
      await chain.mine(1);
      assert.equal((await rpc.getTransaction(spend.getId()))?.confirmations, 1);
    });

    it('answers gettxout as Core does: null once a mempool transaction spends the output, unless include_mempool is false', async () => {
      const { funded, spend } = await confirmedCoinAndSpend(60_000n);
      await broadcast(rpc, spend.toHex());
      assert.equal(await rpc.getTxOut(funded.txid, funded.vout), null);
      assert.equal(await rpc.getTxOut(funded.txid, funded.vout, true), null);
      const confirmedOnly = await rpc.getTxOut(funded.txid, funded.vout, false);
      assert.equal(confirmedOnly?.value, 60_000n);
      assert.equal(confirmedOnly?.confirmations, 1);
      // The spender's own output is in the mempool: seen with the mempool, not without.
      assert.equal((await rpc.getTxOut(spend.getId(), 0))?.confirmations, 0);
      assert.equal(await rpc.getTxOut(spend.getId(), 0, false), null);
      await chain.mine(1);
      assert.equal(await rpc.getTxOut(funded.txid, funded.vout, false), null);
    });

    it('refuses amounts it cannot pay', async () => {
      const { address } = p2wpkh(newKey());
      await assert.rejects(chain.fund(address, 0n), { name: 'InvalidAmountError' });
      await assert.rejects(chain.fund(address, 20_000_000n * 100_000_000n), {
        name: 'FaucetEmptyError',
      });
    });

    it('pays the faucet over RPC (sendtoaddress) and mines over RPC (generatetoaddress)', async () => {
      const { address } = p2wpkh(newKey());
      const txid = await rpc.call<string>('sendtoaddress', [address, '0.5']);
      const before = chain.height;
      const hashes = await rpc.call<string[]>('generatetoaddress', [2, chain.faucetAddress]);
      assert.equal(hashes.length, 2);
      assert.equal(chain.height, before + 2);
      assert.equal((await rpc.getTxOut(txid, 0))?.value, 50_000_000n);
      await assert.rejects(rpc.call('sendtoaddress', [address, '0.000000001']), {
        name: 'RpcError',
        code: -8,
      });
      await assert.rejects(rpc.call('sendtoaddress', ['nonsense', 1]), {
        name: 'RpcError',
        code: -5,
      });
    });

    it('checks both RPC user and password', async () => {
      const { user, password } = chain.rpcAuth;
      const wrongPassword = new BitcoinRpc({ url: chain.rpcUrl, user, password: 'x' });
      await assert.rejects(wrongPassword.getBlockCount(), { name: 'RpcAuthError' });
      const wrongUser = new BitcoinRpc({ url: chain.rpcUrl, user: 'someone', password });
      await assert.rejects(wrongUser.getBlockCount(), { name: 'RpcAuthError' });
      const none = new BitcoinRpc({ url: chain.rpcUrl });
      await assert.rejects(none.getBlockCount(), { name: 'RpcAuthError' });
    });
  });

  describe('options', () => {
    let chain: EmbeddedChain | undefined;
    let dir: string;

    beforeEach(async () => {
      dir = await mkdtemp(join(tmpdir(), 'dlcfd-chain-'));
    });
    afterEach(async () => {
      await chain?.stop();
      chain = undefined;
      await rm(dir, { recursive: true, force: true });
    });

    it('uses a configured user/password and port', async () => {
      const probe = await EmbeddedChain.start({ logger: silent });
      const port = Number(new URL(probe.rpcUrl).port);
      await probe.stop();
      chain = await EmbeddedChain.start({
        logger: silent,
        rpcPort: port,
        rpcUser: 'alice',
        rpcPassword: 'secret',
      });
      assert.equal(chain.rpcUrl, `http://127.0.0.1:${port}`);
      const rpc = new BitcoinRpc({ url: `http://alice:secret@127.0.0.1:${port}` });
      assert.equal(await rpc.getBlockCount(), chain.height);
    });

    it('persists the chain and faucet in a data dir, with a 0600 cookie removed at stop', async () => {
      chain = await EmbeddedChain.start({ logger: silent, datadir: dir });
      const cookieFile = join(dir, '.cookie');
      assert.equal(chain.cookieFile, cookieFile);
      assert.equal((await stat(cookieFile)).mode & 0o777, 0o600);
      assert.equal(await readFile(cookieFile, 'utf8'), `__cookie__:${chain.rpcAuth.password}`);
      const rpc = new BitcoinRpc({ url: chain.rpcUrl, cookieFile });
      const { address } = p2wpkh(newKey());
      const { txid } = await chain.fund(address, 77_000n);
      await chain.mine(1);
      const height = chain.height;
      const faucet = chain.faucetAddress;
      assert.equal(await rpc.getBlockCount(), height);
      await chain.stop();
      await assert.rejects(stat(cookieFile), { code: 'ENOENT' });

      chain = await EmbeddedChain.start({ logger: silent, datadir: dir });
      assert.equal(chain.height, height);
      assert.equal(chain.faucetAddress, faucet);
      const again = new BitcoinRpc({ url: chain.rpcUrl, cookieFile });
      assert.equal((await again.getTxOut(txid, 0))?.value, 77_000n);
    });

    it('mines on an interval', async () => {
      chain = await EmbeddedChain.start({ logger: silent, blockIntervalSeconds: 0.05 });
      const start = chain.height;
      const deadline = Date.now() + 5_000;
      while (chain.height < start + 3 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.ok(chain.height >= start + 3, `height ${chain.height} did not advance`);
      await chain.stop();
      const stopped = chain.height;
      await new Promise((r) => setTimeout(r, 150));
      assert.equal(chain.height, stopped);
    });

    it('fails to start, cleanly, on a port in use', async () => {
      chain = await EmbeddedChain.start({ logger: silent });
      const port = Number(new URL(chain.rpcUrl).port);
      await assert.rejects(EmbeddedChain.start({ logger: silent, rpcPort: port, datadir: dir }), {
        code: 'EADDRINUSE',
      });
      // The data dir was released: a node can open it now.
      const other = await EmbeddedChain.start({ logger: silent, datadir: dir });
      await other.stop();
    });

    it('refuses work after stop', async () => {
      chain = await EmbeddedChain.start({ logger: silent });
      await chain.stop();
      assert.equal(chain.running, false);
      await assert.rejects(chain.mine(1), { name: 'ChainNotRunningError' });
    });
  });
});
