// The fee market as the node reads it (GET /api/fees): what it pays now and what decided that —
// the chain's estimate, the mempool minimum, the configured fallback or the user's cap.
import { useEffect, useState } from 'react';
import { errorText, get } from '../api';
import type { FeesView, HealthView } from '../types';

const SOURCE_TEXT: Record<NonNullable<FeesView['source']>, string> = {
  estimatesmartfee: 'estimatesmartfee',
  'mempool-minimum': 'mempool minimum',
  fallback: 'fallback, the chain has no estimate',
  cap: 'your cap',
};

/** One line: "Fees: 12 sat/vB (estimatesmartfee, 3 blocks; mempool minimum 1; cap 500)". */
export function FeeLine({ health }: { health: HealthView | null }) {
  const [fees, setFees] = useState<FeesView | null>(null);
  const [error, setError] = useState<string | null>(null);
  // The node reads the market on every block and reports it as health `fees`: refetch then.
  const component = health?.components.find((c) => c.name === 'fees');
  const key = `${component?.status}|${component?.detail}|${component?.since}`;
  useEffect(() => {
    let current = true;
    if (key === '') return; // never: `key` is here to refetch on every change
    get<FeesView>('/api/fees')
      .then((f) => {
        if (current) {
          setFees(f);
          setError(null);
        }
      })
      .catch((err: unknown) => current && setError(errorText(err)));
    return () => {
      current = false;
    };
  }, [key]);

  if (!fees) {
    return error ? (
      <span className="small warn" data-testid="fee-line" title={error}>
        Fees: unknown
      </span>
    ) : null;
  }
  if (fees.rate === null || fees.source === null) {
    // No reading yet: say why, in the node's words (health `fees`), when it tried and failed.
    const failed = component?.lastError && component.status !== 'ok';
    return (
      <span
        className={`small ${failed ? 'warn' : 'muted'}`}
        data-testid="fee-line"
        data-source="none"
        title={component?.lastError?.message}
      >
        Fees: {failed ? component.detail : 'not read from the chain yet'} (cap {fees.cap} sat/vB)
      </span>
    );
  }
  const parts = [
    fees.source === 'estimatesmartfee'
      ? `${SOURCE_TEXT[fees.source]}, ${fees.target} blocks`
      : SOURCE_TEXT[fees.source],
    `mempool minimum ${fees.floor}`,
    `cap ${fees.cap}`,
  ];
  return (
    <span
      className={`small ${fees.floorAboveCap ? 'warn' : 'muted'}`}
      data-testid="fee-line"
      data-source={fees.source}
      title={
        `Estimate for ${fees.target} blocks: ${fees.estimate ?? 'none'} sat/vB. ` +
        `Bumps of one CFD may cost up to ${fees.budgetSats} sat.`
      }
    >
      Fees: {fees.rate} sat/vB ({parts.join('; ')})
      {fees.floorAboveCap && ' — the mempool minimum is above your cap: transactions may not relay'}
    </span>
  );
}
