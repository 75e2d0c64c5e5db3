// Wallet routes against an embedded regtest chain: balance, address, withdrawal (refused for
// another network's address, accepted and in the mempool otherwise), history, mnemonic export.
import assert from 'node:assert/strict';
import { HEALTH } from '../../node/daemon/daemon.ts';
import { chainFor } from '../helpers/chain.ts';
import { newKey, p2wpkh } from '../node/chain/helpers.ts';
import { SseClient, startNode, type TestNode, until } from './helpers.ts';

/** BIP173's example mainnet P2WPKH address: valid, but not on regtest. */
const MAINNET_ADDRESS = 'bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4';

describe('ui-server: wallet', function () {
  this.timeout(90_000);
  const net = chainFor('all');
  let node: TestNode;

  before(async () => {
    node = await startNode(net.cleanups, {
      flags: {
        'chain-rpc': net.chain.rpcUrl,
        'chain-user': net.chain.rpcAuth.user,
        'chain-password': net.chain.rpcAuth.password,
        'chain-poll-ms': '100',
      },
    });
    await until('wallet ok', () => node.daemon.health.get(HEALTH.wallet)?.status === 'ok', 60_000);
  });

  it('shows the balance, hands out regtest addresses and sees a payment arrive', async () => {
    const empty = await node.api.get('/api/wallet');
    assert.equal(empty.status, 200);
    assert.deepEqual(empty.body.balance, {
      confirmed: '0',
      unconfirmed: '0',
      reserved: '0',
      spendable: '0',
    });
    assert.equal(empty.body.network, 'regtest');

    const a = (await node.api.post('/api/wallet/address')).body.address;
    const b = (await node.api.post('/api/wallet/address')).body.address;
    assert.match(a, /^bcrt1q[a-z0-9]{38}$/);
    assert.notEqual(a, b, 'a fresh address each time');

    const live = await SseClient.connect(node.ui.url, {
      authorization: `Bearer ${node.api.bearer}`,
    });
    net.cleanups.add(() => live.close());
    await net.chain.fund(a, 2_000_000n);
    await net.chain.mine(1);
    await until(
      'confirmed balance',
      async () => (await node.api.get('/api/wallet')).body.balance.confirmed === '2000000',
    );
    // The live feed pushed the balance after the wallet's sync.
    await live.next(
      'wallet event',
      (e) => e.event === 'wallet' && e.data.available && e.data.balance.confirmed === '2000000',
    );
    // The history names it: money in that is no CFD's transaction is a deposit.
    const [deposit] = (await node.api.get('/api/wallet/history')).body.transactions;
    assert.equal(deposit.kind, 'deposit');
    assert.equal(deposit.cfdId, null);
  });

  it('refuses an address of another network with the wallet’s message', async () => {
    const res = await node.api.post('/api/wallet/withdraw', {
      address: MAINNET_ADDRESS,
      amount: '100000',
      feeRate: 1,
    });
    assert.equal(res.status, 400);
    assert.equal(res.body.error.name, 'InvalidAddressError');
    assert.match(res.body.error.message, /network|regtest|bc1/i);
    const garbage = await node.api.post('/api/wallet/withdraw', {
      address: 'not-an-address',
      feeRate: 1,
    });
    assert.equal(garbage.status, 400);
    assert.equal(garbage.body.error.name, 'InvalidAddressError');
    const tooMuch = await node.api.post('/api/wallet/withdraw', {
      address: p2wpkh(newKey()).address,
      amount: '900000000',
      feeRate: 1,
    });
    assert.equal(tooMuch.status, 400);
    assert.equal(tooMuch.body.error.name, 'InsufficientFundsError');
  });

  it('withdraws: the transaction reaches the mempool and the history', async () => {
    const to = p2wpkh(newKey()).address;
    const res = await node.api.post('/api/wallet/withdraw', {
      address: to,
      amount: '500000',
      feeRate: '2',
    });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.amount, '500000');
    assert.equal(res.body.status, 'mempool');
    assert.match(res.body.fee, /^\d+$/);
    assert.ok(BigInt(res.body.fee) >= 2n * BigInt(res.body.vsize));
    const mempool = await node.daemon.rpc!.getRawMempool();
    assert.ok(mempool.includes(res.body.txid), 'in the chain backend’s mempool');

    const history = (await node.api.get('/api/wallet/history')).body.transactions;
    const out = history.find((t: { txid: string }) => t.txid === res.body.txid);
    assert.equal(out.height, null, 'unconfirmed');
    assert.equal(BigInt(out.net), -(500_000n + BigInt(res.body.fee)));
    assert.equal(out.kind, 'withdraw');
    const balance = (await node.api.get('/api/wallet')).body.balance;
    assert.equal(
      BigInt(balance.confirmed) + BigInt(balance.unconfirmed),
      2_000_000n - 500_000n - BigInt(res.body.fee),
    );
  });

  it('exports the mnemonic only with the password', async () => {
    const wrong = await node.api.post('/api/wallet/mnemonic', { password: 'guess' });
    assert.equal(wrong.status, 403);
    const res = await node.api.post('/api/wallet/mnemonic', { password: node.ui.initialPassword });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    assert.ok([12, 24].includes(res.body.words));
    assert.equal(res.body.mnemonic.split(' ').length, res.body.words);
  });
});
