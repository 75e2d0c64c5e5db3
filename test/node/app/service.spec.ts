// The application service's order command: checked once, synchronously, before anything starts;
// a failure after the answer is the CFD's problem, not only a log line.
import assert from 'node:assert/strict';
import { pino } from 'pino';
import type { Offer } from '../../../model/offer.ts';
import { parseFundingRate } from '../../../model/units.ts';
import { failureKind, IllegalCommandError, NotFoundError } from '../../../node/app/errors.ts';
import { AppService } from '../../../node/app/service.ts';
import { CfdProblems } from '../../../node/daemon/cfd-problems.ts';
import type { Daemon } from '../../../node/daemon/daemon.ts';
import { smallOffer } from '../../helpers/offers.ts';

const NOW = 1_700_000_000;
const MAKER = '12D3KooWRBhwfeP2Y4TCx1SM6s9rUoHhR5STiGwxBhgFRcw3UERE';

const offer: Offer = smallOffer(NOW, {
  fundingRate: parseFundingRate('0.00024'),
  createdAt: NOW - 30,
});

/** The parts of a taker daemon `placeOrder` reads; `placeOrder` of the protocol is `place`. */
function taker(place: () => Promise<unknown>) {
  const calls: string[] = [];
  const problems = new CfdProblems({ logger: pino({ level: 'silent' }) });
  const daemon = {
    config: {
      role: 'taker',
      time: { offerMaxAgeSecs: 120, oracleEventIntervalSecs: 3600 },
      p2p: { makers: [MAKER] },
    },
    limits: undefined,
    offers: { book: { current: () => [{ maker: MAKER, offer }] } },
    orders: {
      placeOrder: (_maker: unknown, _offer: Offer, order: { orderId: string }) => {
        calls.push(order.orderId);
        return place();
      },
    },
    processManager: { problems },
  } as unknown as Daemon;
  return { app: new AppService(daemon, () => NOW * 1000), calls, problems };
}

describe('node/app/service', () => {
  it('placeOrder checks the order before it starts anything, and answers the order id at once', () => {
    const { app, calls } = taker(() => new Promise(() => {}));
    assert.throws(
      () => app.placeOrder({ offerId: 'offer-1', quantity: 150n, leverage: 2 }),
      (err: Error) =>
        err.name === 'QuantityNotMultipleOfLotSizeError' && failureKind(err) === 'invalid',
    );
    assert.throws(
      () => app.placeOrder({ offerId: 'gone', quantity: 300n, leverage: 2 }),
      NotFoundError,
    );
    assert.deepEqual(calls, [], 'nothing started');
    const orderId = app.placeOrder({ offerId: 'offer-1', quantity: 300n, leverage: 2 });
    assert.deepEqual(calls, [orderId]);
  });

  it('placeOrder: a failure after the answer becomes the CFD’s problem', async () => {
    const { app, problems } = taker(() => Promise.reject(new Error('the maker hung up')));
    const orderId = app.placeOrder({ offerId: 'offer-1', quantity: 300n, leverage: 2 });
    for (let i = 0; i < 100 && !problems.get(orderId); i++)
      await new Promise((r) => setImmediate(r));
    assert.equal(problems.get(orderId)?.during, 'order');
    assert.equal(problems.get(orderId)?.reason, 'the maker hung up');
  });

  it('a maker does not place orders', () => {
    const maker = new AppService(
      { config: { role: 'maker' } } as unknown as Daemon,
      () => NOW * 1000,
    );
    assert.throws(
      () => maker.placeOrder({ offerId: 'offer-1', quantity: 300n, leverage: 2 }),
      IllegalCommandError,
    );
  });
});
