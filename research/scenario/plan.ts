/**
 * The plan of a run: everything it will do, worked out before it starts — the price path, every
 * actor's decisions on its own cadence, and the faults in time order. It depends on the scenario
 * alone (each taker draws from its own stream, derived from the seed and its name), so the same
 * seed gives a deep-equal plan and adding a taker does not change what the others do.
 */

import { ScenarioError, takerNames } from './parse.ts';
import { pricePath } from './price.ts';
import { streamFor } from './random.ts';
import { STRATEGIES } from './strategies.ts';
import type {
  ActorSpec,
  Plan,
  PlannedAction,
  PricePoint,
  Scenario,
  Strategy,
  StrategyName,
} from './types.ts';

/** A strategy sees at most this many of the latest quotes (enough for any lookback here). */
export const PRICE_HISTORY = 1_000;

/** What a strategy may decide given what the actor holds; a plugin that errs is named. */
function checked(
  decision: ReturnType<Strategy['decide']>,
  holding: boolean,
  spec: ActorSpec,
  taker: string,
  atSecs: number,
): ReturnType<Strategy['decide']> {
  if (!decision) return null;
  const wrong = (why: string) =>
    new ScenarioError(spec.strategy, [`${taker} at ${atSecs} s: ${why}`]);
  if (decision.action === 'close') {
    if (!holding) throw wrong('closes while holding nothing');
    return { action: 'close' };
  }
  if (holding) throw wrong('opens while holding a position');
  const { side, lots, leverage } = decision;
  if (side !== 'long' && side !== 'short') throw wrong('opens without a side');
  if (!Number.isInteger(lots) || lots! < 1) throw wrong('opens without whole lots');
  if (!spec.leverages.includes(leverage!))
    throw wrong(`opens at leverage ${leverage}, not its own`);
  return { action: 'open', side, lots, leverage };
}

/** One taker's decisions: a first tick at a random offset within its cadence, then every `everySecs`. */
function actorActions(
  taker: string,
  spec: ActorSpec,
  strategy: Strategy,
  prices: readonly PricePoint[],
  seed: number,
  durationSecs: number,
): PlannedAction[] {
  const random = streamFor(seed, taker);
  const actions: PlannedAction[] = [];
  let holding: { side: 'long' | 'short' } | null = null;
  let seen = 0; // quotes at or before the current tick
  for (let t = Math.floor(random() * spec.everySecs); t < durationSecs; t += spec.everySecs) {
    while (seen < prices.length && prices[seen]!.atSecs <= t) seen++;
    const history = prices.slice(Math.max(0, seen - PRICE_HISTORY), seen);
    const decision = checked(
      strategy.decide({ atSecs: t, prices: history, holding, random, spec }),
      holding !== null,
      spec,
      taker,
      t,
    );
    if (!decision) continue;
    actions.push({ atSecs: t, taker, ...decision });
    holding = decision.action === 'open' ? { side: decision.side! } : null;
  }
  return actions;
}

/**
 * The plan of `scenario`. Built-in strategies need nothing more; `plugin:` ones come in
 * `strategies` (from {@link import('./strategies.ts').loadStrategies}).
 * @throws ScenarioError when a plugin is not loaded or decides something impossible.
 */
export function plan(
  scenario: Scenario,
  strategies: ReadonlyMap<string, Strategy> = new Map(),
): Plan {
  const prices = pricePath(
    scenario.price,
    scenario.seed,
    scenario.durationSecs,
    scenario.timeScale,
  );
  const actions = scenario.takers.flatMap((group, i) => {
    const ref = group.actor.strategy;
    const strategy = strategies.get(ref) ?? STRATEGIES[ref as StrategyName];
    if (!strategy) {
      throw new ScenarioError(scenario.name, [
        `takers[${i}].actor.strategy: ${ref} is not loaded (loadStrategies)`,
      ]);
    }
    return takerNames({ takers: [group] }).flatMap((taker) =>
      actorActions(taker, group.actor, strategy, prices, scenario.seed, scenario.durationSecs),
    );
  });
  return {
    prices,
    // stable sorts: ties keep taker order and file order
    actions: actions.sort((a, b) => a.atSecs - b.atSecs),
    faults: [...scenario.faults].sort((a, b) => a.atSecs - b.atSecs),
  };
}
