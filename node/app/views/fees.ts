/**
 * The fee market as the API sends it.
 * Sats and prices are decimal strings (format.ts).
 */

import type { FeeRateReading } from '../../chain/fee-estimator.ts';
import type { Same } from './format.ts';

// fees

/** What decided the rate (the estimator's `FeeRateReading['source']`, spelled out for the UI). */
export type FeeSource = 'estimatesmartfee' | 'mempool-minimum' | 'fallback' | 'cap';
const _sources: Same<FeeSource, FeeRateReading['source']> = true;
void _sources;

/**
 * The fee market as the node reads it (`GET /api/fees`), sat/vB as decimal strings: what it pays
 * now and what decided it. The reading's fields are null until the chain answered once; `cap`
 * and `budgetSats` come from the configuration and are always there.
 */
export interface FeesView {
  readonly rate: string | null;
  readonly source: FeeSource | null;
  /** Blocks the rate aims to confirm within. */
  readonly target: number | null;
  /** The backend's estimate for the target; null when it has none (or before a reading). */
  readonly estimate: string | null;
  /** The mempool minimum: nothing cheaper relays. */
  readonly floor: string | null;
  readonly cap: string;
  /** The mempool minimum is above the cap: transactions may not relay. */
  readonly floorAboveCap: boolean | null;
  /** Unix ms of the reading. */
  readonly at: number | null;
  /** Most sats the bumps of one CFD may cost. */
  readonly budgetSats: string;
}

export function feesView(
  reading: FeeRateReading | undefined,
  cap: bigint,
  budgetSats: bigint,
): FeesView {
  return {
    rate: reading?.rate.toString() ?? null,
    source: reading?.source ?? null,
    target: reading?.target ?? null,
    estimate: reading?.estimate?.toString() ?? null,
    floor: reading?.floor.toString() ?? null,
    cap: (reading?.cap ?? cap).toString(),
    floorAboveCap: reading?.floorAboveCap ?? null,
    at: reading?.at ?? null,
    budgetSats: budgetSats.toString(),
  };
}
