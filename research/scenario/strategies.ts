/**
 * Trading actors: the built-in strategies a scenario names, and plugins (`plugin:<path>`, a
 * module whose default export is a {@link Strategy}; see research/examples/).
 *
 * A strategy sees the quotes so far and what it believes it holds (its own decisions), never the
 * network's answers, so a run's decisions are fixed by the seed and the price path alone.
 */

import { pathToFileURL } from 'node:url';
import { resolveScenarioPath, ScenarioError } from './parse.ts';
import { intBetween, pick, type Random } from './random.ts';
import type { ActorSpec, PricePoint, Scenario, Strategy, StrategyName } from './types.ts';

type Decision = ReturnType<Strategy['decide']>;

/** An order for `side` within the actor's lot range, at `leverage` or one of its leverages. */
export function openOrder(
  side: 'long' | 'short',
  spec: ActorSpec,
  random: Random,
  leverage = pick(random, spec.leverages),
): Decision {
  return { action: 'open', side, lots: intBetween(random, spec.lots[0], spec.lots[1]), leverage };
}

const CLOSE: Decision = { action: 'close' };

/** A move smaller than this (0.1 %) is noise: trend following has no view. */
export const TREND_THRESHOLD = 0.001;
/** Trend following compares the last quote with the one this many of its ticks ago. */
export const TREND_LOOKBACK_TICKS = 5;
/** Mean reverting enters when the price is this far (0.2 %) from its mean. */
export const REVERSION_BAND = 0.002;
/** Mean reverting averages the quotes of this many of its ticks. */
export const REVERSION_WINDOW_TICKS = 10;

/** The last quote, and the quotes since `secsAgo` before it. */
function recent(prices: readonly PricePoint[], secsAgo: number) {
  const last = prices.at(-1)!;
  const since = prices.filter((p) => p.atSecs >= last.atSecs - secsAgo);
  return { last: last.price, since };
}

/** Flat, opens a random side half the time; holding, closes a quarter of the time. */
const random: Strategy = {
  decide: ({ holding, random, spec }) => {
    if (!holding)
      return random() < 0.5 ? openOrder(random() < 0.5 ? 'long' : 'short', spec, random) : null;
    return random() < 0.25 ? CLOSE : null;
  },
};

/**
 * Goes with the move of the last {@link TREND_LOOKBACK_TICKS} ticks (long on a rise, short on a
 * fall) and closes when the move turns against it.
 */
const trendFollowing: Strategy = {
  decide: ({ prices, holding, random, spec }) => {
    const { last, since } = recent(prices, TREND_LOOKBACK_TICKS * spec.everySecs);
    const move = last / since[0]!.price - 1;
    const view = move > TREND_THRESHOLD ? 'long' : move < -TREND_THRESHOLD ? 'short' : null;
    if (!holding) return view && openOrder(view, spec, random);
    return view && view !== holding.side ? CLOSE : null;
  },
};

/**
 * Bets on a return to the mean of the last {@link REVERSION_WINDOW_TICKS} ticks: short above it
 * by {@link REVERSION_BAND}, long below; closes once the price is back at the mean.
 */
const meanReverting: Strategy = {
  decide: ({ prices, holding, random, spec }) => {
    const { last, since } = recent(prices, REVERSION_WINDOW_TICKS * spec.everySecs);
    const mean = since.reduce((sum, p) => sum + p.price, 0) / since.length;
    const away = last / mean - 1;
    if (!holding) {
      if (away > REVERSION_BAND) return openOrder('short', spec, random);
      return away < -REVERSION_BAND ? openOrder('long', spec, random) : null;
    }
    const back = holding.side === 'long' ? away >= 0 : away <= 0;
    return back ? CLOSE : null;
  },
};

/** Opens once, on `spec.side` (long by default) at its highest leverage, and never closes. */
const holdToLiquidation: Strategy = {
  decide: ({ holding, random, spec }) =>
    holding ? null : openOrder(spec.side ?? 'long', spec, random, Math.max(...spec.leverages)),
};

/** The built-in strategies by name. */
export const STRATEGIES: Readonly<Record<StrategyName, Strategy>> = {
  random,
  trendFollowing,
  meanReverting,
  holdToLiquidation,
};

/** The strategy a scenario names: a built-in, or the default export of a `plugin:` module. */
export async function loadStrategy(ref: ActorSpec['strategy']): Promise<Strategy> {
  if (!ref.startsWith('plugin:')) return STRATEGIES[ref as StrategyName];
  const path = ref.slice('plugin:'.length);
  const mod = (await import(pathToFileURL(resolveScenarioPath(path)).href)) as {
    default?: Partial<Strategy>;
  };
  if (typeof mod.default?.decide !== 'function') {
    throw new ScenarioError(path, ['(module): must export default a Strategy (with decide)']);
  }
  return mod.default as Strategy;
}

/** Every strategy a scenario's takers use, by the name the scenario gives (for `plan`). */
export async function loadStrategies(scenario: Scenario): Promise<Map<string, Strategy>> {
  const refs = new Set(scenario.takers.map((g) => g.actor.strategy));
  return new Map(
    await Promise.all([...refs].map(async (r) => [r, await loadStrategy(r)] as const)),
  );
}
