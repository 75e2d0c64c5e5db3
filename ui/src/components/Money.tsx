// A position's money and state in words, shared by the positions table and the detail: its
// payout figure (one number from preview to closed, computed by the node), why it is where it is
// and until when, and the warning band before its liquidation price.
import { btc, duration, hhmm, sats, signed, until, usd } from '../format';
import type { CfdView } from '../types';

const VIA: Record<NonNullable<CfdView['profit']>['via'], string> = {
  close: 'collaborative close',
  cet: 'CET',
  refund: 'refund',
  punish: 'punish transaction',
};

/** "payout 0.00170764 BTC (the CET's output)" — where the figure comes from, in words. */
export function PayoutLine({ profit: p }: { profit: NonNullable<CfdView['profit']> }) {
  const what =
    p.source === 'transaction'
      ? `the ${VIA[p.via]}’s output to you`
      : p.basis === 'quote'
        ? `if settled by ${p.via === 'cet' ? 'the CET' : 'a collaborative close'} at ${usd(p.price)} now`
        : `expected from the ${VIA[p.via]} at ${usd(p.price)}`;
  return (
    <span data-testid="payout-figure" data-source={p.source} data-payout={p.payout}>
      payout {btc(p.payout)} BTC <span className="muted">({what})</span>
    </span>
  );
}

/** Why the position is in its state and until when, in the user's clock. */
export function StatusLine({
  status: s,
  now,
}: {
  status: NonNullable<CfdView['status']>;
  now: number;
}) {
  const parts: string[] = [s.reason];
  if (s.untilSecs !== null) {
    const ms = s.untilSecs * 1000;
    parts[0] = `${s.reason} at ${hhmm(ms)} (${until(ms, now)})`;
  }
  if (s.cetBlocksLeft !== null) parts.push(`CET timelock: ${s.cetBlocksLeft} blocks left`);
  if (s.refundBlocksLeft !== null) {
    parts.push(`refund after ${s.refundBlocksLeft} more blocks if the oracle does not attest`);
  }
  return (
    <div className="muted small" data-testid="cfd-status">
      {parts.join('; ')}
    </div>
  );
}

/** The price is near this position's liquidation price. */
export function LiquidationWarning({
  warning: w,
}: {
  warning: NonNullable<CfdView['liquidationWarning']>;
}) {
  return (
    <div className="warn small" data-testid="cfd-liquidation-warning">
      ⚠ {usd(w.price)} is {w.distancePercent}% from your liquidation price {usd(w.liquidationPrice)}
    </div>
  );
}

/** "you pay 21 sat per 24m" — who pays funding, in real units. */
export function fundingText(f: NonNullable<CfdView['fundingPayment']>): string {
  const per = `per ${duration(f.perSecs)}`;
  if (f.direction === 'none') return `no funding ${per}`;
  return `you ${f.direction} ${sats(f.sats)} ${per}`;
}

/** P/L with its sign and percent. */
export function pnlText(p: NonNullable<CfdView['profit']>): string {
  return `${sats(signed(p.sats))} (${signed(p.percent)}%)`;
}
