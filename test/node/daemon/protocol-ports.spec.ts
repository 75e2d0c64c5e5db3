import assert from 'node:assert/strict';
import { bytesToHex } from '@noble/hashes/utils.js';
import { announcements, failPoints, orderWallet } from '../../../node/daemon/protocol-ports.ts';
import { DisconnectedError } from '../../../node/runtime/errors.ts';
import { outputScript } from '../../../node/wallet/keys.ts';
import type { Funding, Wallet } from '../../../node/wallet/wallet.ts';

const ADDRESS = 'bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080';

function fakeWallet(calls: string[]): Wallet {
  const funding = (from: string): Funding => {
    calls.push(from);
    return { reservationId: from, inputs: [], change: undefined, fee: 0n, expiresAt: 0 };
  };
  return {
    network: 'regtest',
    reserveFunding: () => funding('wallet'),
    release: (id: string) => calls.push(`release ${id}`),
    signPsbt: () => 0,
    receiveAddress: async () => ADDRESS,
  } as unknown as Wallet;
}

describe('node/daemon/protocol-ports', () => {
  it('funds from the coin pool when there is one, else from the wallet; pays to a fresh address', async () => {
    const calls: string[] = [];
    const wallet = fakeWallet(calls);
    const pool = {
      reserveFunding: (): Funding => {
        calls.push('pool');
        return { reservationId: 'p', inputs: [], change: undefined, fee: 0n, expiresAt: 0 };
      },
    };
    await orderWallet(wallet).reserveFunding(1n, 1n, {});
    await orderWallet(wallet, () => pool).reserveFunding(1n, 1n, {});
    orderWallet(wallet).release('x');
    assert.deepEqual(calls, ['wallet', 'pool', 'release x']);
    assert.equal(
      await orderWallet(wallet).payoutScript(),
      bytesToHex(outputScript(ADDRESS, 'regtest')),
    );
  });

  it('without a wallet or an oracle yet, each use refuses with DisconnectedError', async () => {
    const port = orderWallet(() => undefined);
    assert.throws(() => port.reserveFunding(1n, 1n, {}), DisconnectedError);
    await assert.rejects(port.payoutScript(), DisconnectedError);
    port.release('nothing to release: no throw');
    const oracle = announcements(() => undefined);
    assert.throws(() => oracle.publicKey, DisconnectedError);
    assert.throws(() => oracle.announcement('e'), DisconnectedError);
  });

  it('fail points leave a run as it is when none is armed', async () => {
    const written: string[] = [];
    const io = failPoints(
      'order.taker',
      {
        transport: {
          read: async () => ({ type: 'order' }),
          write: async (m: { type: string }) => {
            written.push(m.type);
          },
          close: async () => {},
          abort: () => {},
        },
        executor: { effect: async () => {}, request: async () => 'done' },
      },
      () => undefined,
    );
    await io.transport.write({ type: 'lockSignature' });
    assert.deepEqual(await io.transport.read('order'), { type: 'order' });
    assert.equal(await io.executor.request({ type: 'x' }), 'done');
    assert.deepEqual(written, ['lockSignature']);
  });
});
