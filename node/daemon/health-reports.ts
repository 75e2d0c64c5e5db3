/**
 * The daemon's own health lines: `cfds` (the process manager's failing CFDs) and `fees` (the fee
 * market as read, and what the bumper is raising).
 */
import type { FeeEstimator } from '../chain/fee-estimator.ts';
import type { HealthRegistry } from '../runtime/health.ts';
import type { CfdProblems } from './cfd-problems.ts';
import type { FeeBumper } from './fee-bumper.ts';
import { HEALTH } from './health-names.ts';

/** Health `cfds`: how many CFDs' handling is failing, which, and the last error. Unsubscribes. */
export function reportCfdProblems(problems: CfdProblems, health: HealthRegistry): () => void {
  health.report(HEALTH.cfds, { status: 'ok', detail: 'no CFD failing' });
  return problems.onChange((cfdId) => {
    const all = problems.all();
    const failing = [...all].map(([id, p]) => `${id} (${p.during}: ${p.reason})`);
    const now = problems.get(cfdId);
    health.report(HEALTH.cfds, {
      status: all.size === 0 ? 'ok' : 'degraded',
      ...(now && { error: new Error(`${cfdId}: ${now.reason}`) }),
      detail:
        all.size === 0
          ? 'no CFD failing'
          : `${all.size} CFD${all.size === 1 ? '' : 's'} failing, retried: ${failing.join('; ')}`,
    });
  });
}

/** Health `fees` also says what is being bumped, and which bump the budget or cap holds back. */
export function reportBumps(bumper: FeeBumper, health: HealthRegistry): void {
  const pending = bumper.pending();
  if (pending.length === 0) return;
  const capped = pending.filter((p) => p.capped);
  const current = health.snapshot().find((c) => c.name === HEALTH.fees);
  const base = current?.detail?.split(' | ')[0] ?? '';
  health.report(HEALTH.fees, {
    ...(capped.length > 0 && { status: 'degraded' }),
    detail:
      `${base} | bumping ${pending.map((p) => `${p.kind} of ${p.cfdId} at ${p.rate} sat/vB (deadline ${p.deadlineHeight})`).join(', ')}` +
      (capped.length > 0
        ? `; held back by the budget or cap: ${capped.map((p) => p.kind).join(', ')}`
        : ''),
  });
}

/** Reads the fee market (every block) and reports it as health `fees`; never throws. */
export async function refreshFees(
  fees: FeeEstimator,
  health: HealthRegistry,
  signal: AbortSignal,
): Promise<void> {
  try {
    const r = await fees.refresh({ signal });
    const estimate = r.estimate !== undefined ? `estimate ${r.estimate}` : 'no estimate';
    health.report(HEALTH.fees, {
      status: r.floorAboveCap ? 'degraded' : 'ok',
      detail:
        `${r.rate} sat/vB from ${r.source} (target ${r.target} blocks: ${estimate}; mempool ` +
        `minimum ${r.floor}, cap ${r.cap})` +
        (r.floorAboveCap
          ? ': the mempool minimum is above the cap, transactions may not relay'
          : ''),
    });
  } catch (err) {
    if (signal.aborted) return;
    health.report(HEALTH.fees, {
      status: 'degraded',
      error: err,
      detail: `cannot read fee rates; using ${fees.rate()} sat/vB`,
    });
  }
}
