/**
 * A node's net exposure over its positions that hold coins (set up, not yet ended): contracts long
 * and short, the net, and the margin it has at stake — what a maker watches across its takers.
 * Sats and quantities are decimal strings (format.ts).
 */
import { type CfdUiState, ENDED_UI_STATES } from '../../../model/cfd.ts';
import type { CfdView } from './cfd.ts';

export interface ExposureView {
  /** Positions counted: set up (their lock exists) and not ended. */
  readonly positions: number;
  /** USD (contracts of $1) this node is long and short. */
  readonly longContracts: string;
  readonly shortContracts: string;
  /** long − short (negative: net short). */
  readonly netContracts: string;
  /** Own margin in those positions, sats: what this node can lose at most. */
  readonly marginAtRisk: string;
}

/** States whose coins are not (or no longer) in a contract. */
const NOT_AT_RISK: ReadonlySet<CfdUiState> = new Set<CfdUiState>([
  'pendingSetup',
  'contractSetup',
  ...ENDED_UI_STATES,
]);

export function exposureView(views: readonly CfdView[]): ExposureView {
  let long = 0n;
  let short = 0n;
  let margin = 0n;
  let positions = 0;
  for (const v of views) {
    if (NOT_AT_RISK.has(v.state)) continue;
    positions++;
    if (v.position === 'long') long += BigInt(v.quantity);
    else short += BigInt(v.quantity);
    margin += BigInt(v.margin);
  }
  return {
    positions,
    longContracts: long.toString(),
    shortContracts: short.toString(),
    netContracts: (long - short).toString(),
    marginAtRisk: margin.toString(),
  };
}
