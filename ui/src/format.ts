// Display only: these functions rearrange the digits of the decimal strings the API sends (grouping,
// a decimal point for BTC); they never compute an amount.

/** `"-1234567"` → `"-1,234,567"`. */
export function group(digits: string): string {
  const neg = digits.startsWith('-');
  const body = neg ? digits.slice(1) : digits;
  const [int = '', frac] = body.split('.');
  const grouped = int.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${neg ? '-' : ''}${grouped}${frac !== undefined ? `.${frac}` : ''}`;
}

/** Sats as BTC with eight decimals: `"123456789"` → `"1.23456789"`. */
export function btc(sats: string): string {
  const neg = sats.startsWith('-');
  const digits = (neg ? sats.slice(1) : sats).padStart(9, '0');
  return `${neg ? '-' : ''}${group(digits.slice(0, -8))}.${digits.slice(-8)}`;
}

/** Sats with grouping and unit. */
export function sats(s: string): string {
  return `${group(s)} sat`;
}

/** A price string as USD, two decimals at most (cut, not rounded: display only). */
export function usd(price: string | null | undefined): string {
  if (price === null || price === undefined) return '—';
  const [int = '', frac = ''] = price.split('.');
  return `$${group(int)}.${frac.padEnd(2, '0').slice(0, 2)}`;
}

export function signed(s: string): string {
  return s.startsWith('-') || s === '0' ? s : `+${s}`;
}

export function shortId(id: string, n = 8): string {
  return id.length > n + 2 ? `${id.slice(0, n)}…` : id;
}

export function ago(ms: number, now: number): string {
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86400)}d ago`;
}

/** How far `ms` lies ahead of `now`: "in 23h 10m", "in 4m", "now" (past: {@link ago}). */
export function until(ms: number, now: number): string {
  const s = Math.round((ms - now) / 1000);
  if (s <= 0) return s > -60 ? 'now' : ago(ms, now);
  if (s < 60) return `in ${s}s`;
  if (s < 3600) return `in ${Math.floor(s / 60)}m`;
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (h < 48) return m > 0 ? `in ${h}h ${m}m` : `in ${h}h`;
  return `in ${Math.floor(h / 24)}d`;
}

/** A duration in words: 3600 → "1h", 90 → "1m 30s". */
export function duration(secs: number): string {
  if (secs < 60) return `${secs}s`;
  if (secs < 3600) return secs % 60 ? `${Math.floor(secs / 60)}m ${secs % 60}s` : `${secs / 60}m`;
  const h = Math.floor(secs / 3600);
  const m = Math.floor((secs % 3600) / 60);
  return m ? `${h}h ${m}m` : `${h}h`;
}

/** A moment in the next days, compactly: "Nov 25, 22:06". */
export function shortTime(ms: number): string {
  return new Date(ms).toLocaleString(undefined, {
    month: 'short',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
  });
}

export function time(ms: number): string {
  return new Date(ms).toLocaleString();
}

/** Human words for the CFD states. */
export const STATE_LABEL: Record<string, string> = {
  pendingSetup: 'Pending',
  contractSetup: 'Setting up',
  pendingOpen: 'Waiting for lock confirmation',
  open: 'Open',
  rollover: 'Rolling over',
  pendingCommit: 'Committing',
  openCommitted: 'Committed',
  pendingCet: 'Settling on chain',
  liquidating: 'Liquidating',
  pendingClose: 'Closing',
  closed: 'Closed',
  liquidated: 'Liquidated',
  pendingRefund: 'Refunding',
  refunded: 'Refunded',
  rejected: 'Rejected',
  setupFailed: 'Setup failed',
  punished: 'Punished',
};

/** States where something is under way: shown with a progress indicator. */
export const IN_PROGRESS = new Set([
  'pendingSetup',
  'contractSetup',
  'pendingOpen',
  'rollover',
  'pendingCommit',
  'openCommitted',
  'pendingCet',
  'liquidating',
  'pendingClose',
  'pendingRefund',
]);

/** A moment today or soon, as hours and minutes: "08:35". */
export function hhmm(ms: number): string {
  return new Date(ms).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
}
