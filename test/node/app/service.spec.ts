// The application service's order command: checked once, before anything starts (lots, the price
// against the maker's current quote, the offer's rules); answered only once the maker answered;
// a failure after that is the CFD's problem, not only a log line.
import assert from 'node:assert/strict';
import { pino } from 'pino';
import type { Offer } from '../../../model/offer.ts';
import { parseFundingRate, price } from '../../../model/units.ts';
import {
  failureKind,
  IllegalCommandError,
  MakerNoAnswerError,
  NotFoundError,
  OrderRejectedError,
} from '../../../node/app/errors.ts';
import { AppService } from '../../../node/app/service.ts';
import { CfdProblems } from '../../../node/daemon/cfd-problems.ts';
import type { Daemon } from '../../../node/daemon/daemon.ts';
import type { OrderAnswer } from '../../../protocols/order/index.ts';
import { smallOffer } from '../../helpers/offers.ts';

const NOW = 1_700_000_000;
const MAKER = '12D3KooWRBhwfeP2Y4TCx1SM6s9rUoHhR5STiGwxBhgFRcw3UERE';

const offer: Offer = smallOffer(NOW, {
  fundingRate: parseFundingRate('0.00024'),
  createdAt: NOW - 30,
});

/**
 * The parts of a taker daemon `placeOrder` reads. `place` is the protocol's `placeOrder`: it gets
 * the order's `onAnswer`. `current` is the maker's current offer of the offer's side.
 */
function taker(
  place: (answer: (a: OrderAnswer) => void) => Promise<unknown>,
  current: Offer = offer,
) {
  const calls: string[] = [];
  const problems = new CfdProblems({ logger: pino({ level: 'silent' }) });
  const daemon = {
    config: {
      role: 'taker',
      time: { offerMaxAgeSecs: 120, oracleEventIntervalSecs: 3600 },
      p2p: { makers: [MAKER] },
    },
    limits: undefined,
    offers: {
      book: {
        current: () => [{ maker: MAKER, offer: current }],
        findRecent: (id: string) =>
          id === offer.id ? { maker: MAKER, offer, current } : undefined,
      },
    },
    orders: {
      placeOrder: (
        _maker: unknown,
        _offer: Offer,
        order: { orderId: string; onAnswer: (a: OrderAnswer) => void },
      ) => {
        calls.push(order.orderId);
        return place(order.onAnswer);
      },
    },
    health: { snapshot: () => [] },
    processManager: { problems },
  } as unknown as Daemon;
  return { app: new AppService(daemon, () => NOW * 1000), calls, problems };
}

const accepting = (answer: (a: OrderAnswer) => void) => {
  answer({ type: 'accepted' });
  return new Promise(() => {});
};

describe('node/app/service', () => {
  it('placeOrder checks the order before it starts anything: lots, in lots', async () => {
    const { app, calls } = taker(accepting);
    await assert.rejects(
      app.placeOrder({ offerId: 'offer-1', lots: 11, leverage: 2 }),
      (err: Error) =>
        err.name === 'QuantityOutOfRangeError' &&
        err.message === "11 lots is outside the offer's 1…10 lots (a lot is 100 USD)" &&
        failureKind(err) === 'invalid',
    );
    await assert.rejects(app.placeOrder({ offerId: 'gone', lots: 3, leverage: 2 }), NotFoundError);
    assert.deepEqual(calls, [], 'nothing started');
  });

  it('placeOrder refuses an offer whose price moved beyond the slippage from the maker’s quote now', async () => {
    // 50,000 → 50,300: 0.6 %, beyond the default 0.5 %, within 1 %.
    const moved = { ...offer, id: 'offer-2', price: price(50_300) };
    const { app, calls } = taker(accepting, moved);
    await assert.rejects(
      app.placeOrder({ offerId: 'offer-1', lots: 3, leverage: 2 }),
      (err: Error) =>
        err.name === 'SlippageExceededError' &&
        /from 50000 to 50300 \(0\.60 %\), beyond your maximum slippage of 0\.50 %/.test(
          err.message,
        ) &&
        failureKind(err) === 'conflict',
    );
    assert.deepEqual(calls, [], 'nothing started');
    const placed = await app.placeOrder({
      offerId: 'offer-1',
      lots: 3,
      leverage: 2,
      maxSlippageBps: 100,
    });
    assert.deepEqual(calls, [placed.orderId]);
    assert.equal(placed.offerId, 'offer-1', 'made on the offer confirmed, at its price');
    assert.equal(placed.price, '50000');
  });

  it('placeOrder answers once the maker answered: accepted, refused with its reason, or no answer', async () => {
    const accepted = taker(accepting);
    const placed = await accepted.app.placeOrder({ offerId: 'offer-1', lots: 3, leverage: 2 });
    assert.deepEqual(accepted.calls, [placed.orderId]);
    const refused = taker(async (answer) => answer({ type: 'rejected', reason: 'not today' }));
    await assert.rejects(
      refused.app.placeOrder({ offerId: 'offer-1', lots: 3, leverage: 2 }),
      (err: Error) =>
        err instanceof OrderRejectedError &&
        err.message === 'the maker refused the order: not today',
    );
    const silent = taker(async (answer) => answer({ type: 'noAnswer', afterMs: 60_000 }));
    await assert.rejects(
      silent.app.placeOrder({ offerId: 'offer-1', lots: 3, leverage: 2 }),
      (err: Error) => err instanceof MakerNoAnswerError && failureKind(err) === 'unavailable',
    );
  });

  it('placeOrder: a failure before the answer is the answer, and the CFD’s problem', async () => {
    const { app, problems, calls } = taker(() => Promise.reject(new Error('the maker hung up')));
    await assert.rejects(
      app.placeOrder({ offerId: 'offer-1', lots: 3, leverage: 2 }),
      /the maker hung up/,
    );
    const orderId = calls[0]!;
    for (let i = 0; i < 100 && !problems.get(orderId); i++)
      await new Promise((r) => setImmediate(r));
    assert.equal(problems.get(orderId)?.during, 'order');
    assert.equal(problems.get(orderId)?.reason, 'the maker hung up');
  });

  it('a maker does not place orders', async () => {
    const maker = new AppService(
      { config: { role: 'maker' } } as unknown as Daemon,
      () => NOW * 1000,
    );
    await assert.rejects(
      maker.placeOrder({ offerId: 'offer-1', lots: 3, leverage: 2 }),
      IllegalCommandError,
    );
  });
});
