/**
 * Shrinking a full-size scenario to CI size: fewer takers, a shorter run, the same story. Every
 * time in the scenario (shocks, faults, actors' cadences) scales with the duration, so a crash at
 * two thirds of the run stays at two thirds; takers are spread over the groups in proportion (at
 * least one per group, and at least up to any taker a fault names). A scenario file gives its CI
 * size in `ci: {takers, durationSecs, timeScale?}`; {@link ciScenario} applies it.
 */

import { crossCheck, ScenarioError } from './parse.ts';
import type { FaultSpec, Scenario, ScenarioSize, Shock } from './types.ts';

/** The highest `<prefix><n>` a fault names in a group of `prefix` (0: none). */
function highestNamed(faults: readonly FaultSpec[], prefix: string): number {
  const names = faults.flatMap((f) =>
    f.kind === 'takerOffline' ? [f.taker] : f.kind === 'partition' ? [...f.between] : [],
  );
  const numbers = names
    .filter((n) => n.startsWith(prefix) && /^\d+$/.test(n.slice(prefix.length)))
    .map((n) => Number(n.slice(prefix.length)));
  return Math.max(0, ...numbers);
}

/**
 * `scenario` at `size`: its takers spread over `size.takers` (more if faults name more), its
 * times scaled by `size.durationSecs / scenario.durationSecs`.
 * @throws ScenarioError if the shrunk scenario does not hold together.
 */
export function shrink(scenario: Scenario, size: ScenarioSize): Scenario {
  const f = size.durationSecs / scenario.durationSecs;
  const at = (t: number) => Math.min(Math.round(t * f), size.durationSecs - 1);
  // a length that still ends within the run
  const span = (start: number, secs: number) =>
    Math.max(1, Math.min(Math.round(secs * f), size.durationSecs - at(start)));
  const total = scenario.takers.reduce((n, g) => n + g.count, 0);
  const shock = (s: Shock): Shock => ({
    atSecs: at(s.atSecs),
    changePercent: s.changePercent,
    overSecs: span(s.atSecs, s.overSecs),
  });
  const fault = (x: FaultSpec): FaultSpec => {
    const atSecs = at(x.atSecs);
    switch (x.kind) {
      case 'makerRestart':
        return { ...x, atSecs, downSecs: span(x.atSecs, x.downSecs) };
      case 'takerOffline':
        return { ...x, atSecs };
      case 'oracleLate':
        return {
          ...x,
          atSecs,
          forSecs: span(x.atSecs, x.forSecs),
          delaySecs: Math.max(1, Math.round(x.delaySecs * f)),
        };
      default:
        return { ...x, atSecs, forSecs: span(x.atSecs, x.forSecs) };
    }
  };
  const { ci: _, ...rest } = scenario;
  const takers = scenario.takers.map((g) => ({
    ...g,
    count: Math.max(
      1,
      Math.round((size.takers * g.count) / total),
      highestNamed(scenario.faults, g.prefix),
    ),
    actor: { ...g.actor, everySecs: Math.max(1, Math.round(g.actor.everySecs * f)) },
  }));
  // the takers there are after rounding, not the size asked for
  const shrunkTotal = takers.reduce((n, g) => n + g.count, 0);
  const shrunk: Scenario = {
    ...rest,
    durationSecs: size.durationSecs,
    timeScale: size.timeScale ?? scenario.timeScale,
    takers,
    price: { ...scenario.price, shocks: scenario.price.shocks.map(shock) },
    faults: scenario.faults.map(fault),
    expect: {
      ...scenario.expect,
      minLiquidations: Math.min(
        scenario.expect.minLiquidations,
        Math.ceil((scenario.expect.minLiquidations * shrunkTotal) / total),
      ),
    },
  };
  const problems = crossCheck(shrunk);
  if (problems.length) throw new ScenarioError(`${scenario.name} (shrunk)`, problems);
  return shrunk;
}

/** The CI-sized form the scenario's `ci:` gives. @throws ScenarioError when it gives none. */
export function ciScenario(scenario: Scenario): Scenario {
  if (!scenario.ci) throw new ScenarioError(scenario.name, ['ci: is required for a CI run']);
  return shrink(scenario, scenario.ci);
}
