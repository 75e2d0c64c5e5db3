/**
 * A scenario's price path: the quotes the feed serves during a run, fixed before it starts.
 *
 * - `walk`: a seeded log-normal random walk (no drift: each step multiplies the price by
 *   `exp(σ√Δt·z − σ²Δt/2)`, so the expected price stays put), one quote every `stepSecs`.
 * - `csv`: real quotes replayed, production time compressed by `timeScale` (at 60, a day of
 *   1-minute quotes is one quote per run second for 24 minutes). After the last row the last
 *   price holds.
 *
 * Shocks apply on top of either: from `atSecs` the price moves by `changePercent` of what it
 * would have been, linearly over `overSecs`, and stays moved. Quotes are added at each shock's
 * start and end, so its target is always on the path. Prices are rounded to cents.
 */

import { readFileSync } from 'node:fs';
import { resolveScenarioPath, ScenarioError } from './parse.ts';
import { normal, streamFor } from './random.ts';
import type { PricePoint, PriceSpec, Shock } from './types.ts';

/** One row of a quotes CSV: unix seconds and USD. */
export interface Quote {
  readonly time: number;
  readonly price: number;
}

/**
 * Reads a `time,price` CSV (header row; time in unix seconds, increasing; price in USD).
 * `file` is relative to the repository root.
 * @throws ScenarioError naming each bad line.
 */
export function readQuotes(file: string): Quote[] {
  const lines = readFileSync(resolveScenarioPath(file), 'utf8').trim().split(/\r?\n/);
  const problems: string[] = [];
  if (lines[0]?.trim() !== 'time,price') problems.push('line 1: the header must be time,price');
  const quotes: Quote[] = [];
  lines.slice(1).forEach((text, i) => {
    const [time, price, ...rest] = text.split(',').map(Number);
    const last = quotes.at(-1);
    if (rest.length || !Number.isInteger(time) || !(price! > 0)) {
      problems.push(`line ${i + 2}: must be <unix seconds>,<price above 0>`);
    } else if (last && time! <= last.time) {
      problems.push(`line ${i + 2}: time must increase`);
    } else {
      quotes.push({ time: time!, price: price! });
    }
  });
  if (!quotes.length && !problems.length) problems.push('has no quotes');
  if (problems.length) throw new ScenarioError(file, problems);
  return quotes;
}

const cents = (usd: number) => Math.max(0.01, Math.round(usd * 100) / 100);
/** Run seconds to the millisecond: replayed times are fractions at most time scales. */
const ms = (secs: number) => Math.round(secs * 1000) / 1000;

/** The factor all shocks together apply at `t`. */
function shockFactor(shocks: readonly Shock[], t: number): number {
  let factor = 1;
  for (const s of shocks) {
    const done = Math.min(1, Math.max(0, (t - s.atSecs) / s.overSecs));
    factor *= 1 + (s.changePercent / 100) * done;
  }
  return factor;
}

/** The walk before shocks: a quote at every multiple of `stepSecs` up to the duration. */
function walkPath(
  spec: Extract<PriceSpec, { kind: 'walk' }>,
  seed: number,
  durationSecs: number,
): PricePoint[] {
  const random = streamFor(seed, 'price');
  const sd = spec.volatility * Math.sqrt(spec.stepSecs);
  const points: PricePoint[] = [{ atSecs: 0, price: spec.start }];
  for (let t = spec.stepSecs; t <= durationSecs; t += spec.stepSecs) {
    const prev = points.at(-1)!.price;
    points.push({ atSecs: t, price: prev * Math.exp(sd * normal(random) - (sd * sd) / 2) });
  }
  return points;
}

/** The CSV's quotes within the run, their times compressed. */
function replayPath(file: string, durationSecs: number, timeScale: number): PricePoint[] {
  const quotes = readQuotes(file);
  const t0 = quotes[0]!.time;
  return quotes
    .map((q) => ({ atSecs: ms((q.time - t0) / timeScale), price: q.price }))
    .filter((p) => p.atSecs <= durationSecs);
}

/**
 * The quotes of a run, in time order: the base path of `spec`, shocks applied.
 * `seed` drives the walk (same seed, same path); `timeScale` compresses a replay.
 */
export function pricePath(
  spec: PriceSpec,
  seed: number,
  durationSecs: number,
  timeScale: number,
): PricePoint[] {
  const base =
    spec.kind === 'walk'
      ? walkPath(spec, seed, durationSecs)
      : replayPath(spec.file, durationSecs, timeScale);
  const times = new Set(base.map((p) => p.atSecs));
  const edges = spec.shocks
    .flatMap((s) => [s.atSecs, s.atSecs + s.overSecs])
    .filter((t) => t <= durationSecs && !times.has(t));
  // a quote at each shock edge, at the base price then in force
  const withEdges = [...base];
  for (const t of new Set(edges)) {
    const before = base.findLast((p) => p.atSecs <= t) ?? base[0]!;
    withEdges.push({ atSecs: t, price: before.price });
  }
  return withEdges
    .sort((a, b) => a.atSecs - b.atSecs)
    .map((p) => ({ atSecs: p.atSecs, price: cents(p.price * shockFactor(spec.shocks, p.atSecs)) }));
}
