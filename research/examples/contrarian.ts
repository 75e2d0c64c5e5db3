/**
 * An example strategy plugin: a scenario uses it as `strategy: plugin:research/examples/contrarian.ts`
 * (the path from the repository root). A plugin is a module whose default export is a
 * {@link Strategy}: `decide` is called at each of the actor's ticks with the quotes so far, what it
 * holds (by its own decisions), its private seeded `random` and its spec, and returns an order, a
 * close, or null. It must not use other randomness, the clock or state of its own (one module serves every actor
 * that names it), so runs replay from the seed.
 *
 * This one fades the last tick's move: short after a rise, long after a fall; it closes on the first
 * move its way.
 */

import { openOrder } from '../scenario/strategies.ts';
import type { Strategy } from '../scenario/types.ts';

const contrarian: Strategy = {
  decide: ({ prices, holding, random, spec }) => {
    const [before, last] = [prices.at(-2), prices.at(-1)];
    if (!before || !last) return null;
    const move = last.price - before.price;
    if (!holding) {
      if (move === 0) return null;
      return openOrder(move > 0 ? 'short' : 'long', spec, random);
    }
    const wentItsWay = holding.side === 'long' ? move > 0 : move < 0;
    return wentItsWay ? { action: 'close' } : null;
  },
};

export default contrarian;
