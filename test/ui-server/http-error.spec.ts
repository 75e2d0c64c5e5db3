// The HTTP status of an error comes from its class (node/app/errors.ts failureKind), never its name.
import assert from 'node:assert/strict';
import { QuantityOutOfRangeError } from '../../model/errors.ts';
import { FundingRateAboveLimitError } from '../../model/limits.ts';
import { IllegalCommandError, NotFoundError, UnavailableError } from '../../node/app/errors.ts';
import { BroadcastRejectedError, RpcUnreachableError } from '../../node/chain/errors.ts';
import { InsufficientFundsError } from '../../node/wallet/errors.ts';
import { httpError } from '../../ui-server/server.ts';

describe('ui-server httpError', () => {
  it('maps each kind of failure to its status', () => {
    const cases: [Error, number][] = [
      [new InsufficientFundsError('not enough'), 400],
      [new QuantityOutOfRangeError('too many'), 400],
      [new FundingRateAboveLimitError('too high'), 400],
      [new NotFoundError('no such CFD'), 404],
      [new IllegalCommandError('not now'), 409],
      [new BroadcastRejectedError('00'.repeat(32), 'bad-txns'), 502],
      [new UnavailableError('no wallet'), 503],
    ];
    for (const [err, status] of cases) {
      assert.equal(httpError(err).status, status, err.name);
      assert.equal(httpError(err).name, err.name);
    }
  });

  it('says the chain backend is the one unreachable', () => {
    const e = httpError(
      new RpcUnreachableError('getblockcount', 'http://127.0.0.1:1', 'ECONNREFUSED'),
    );
    assert.equal(e.status, 503);
    assert.match(e.message, /^the chain backend: /);
  });

  it('an error merely named like a known one is a 500, not what its name says', () => {
    const impostor = new Error('looks like a wallet error');
    impostor.name = 'InsufficientFundsError';
    assert.deepEqual(httpError(impostor), {
      status: 500,
      name: 'InternalError',
      message: 'looks like a wallet error',
    });
  });
});
