/**
 * The trading history as the API sends it (`GET /api/history`) and exports it (CSV, JSON): each
 * position with when it opened and closed, at what price, how it closed in plain words and what it
 * realised, and its funding — the first interval's, charged at the open, then one charge per
 * rollover — with who paid whom. Times come from the event log (when each event was recorded);
 * money figures are read from the CFD's view (views/cfd.ts), never computed again here.
 * Sats and prices are decimal strings (format.ts).
 */

import {
  type Cfd,
  type CfdEvent,
  type CfdUiState,
  ENDED_UI_STATES,
  fold,
  liquidation,
  makerPositionOf,
  uiState,
} from '../../../model/cfd.ts';
import { feeOwedBy, signedFunding } from '../../../model/fees.ts';
import {
  type FundingRate,
  formatFundingRate,
  type Position,
  type Role,
} from '../../../model/units.ts';
import type { CfdView, TxKind } from './cfd.ts';
import type { WalletTxView } from './wallet.ts';

/** How a position ended, for a person (`collaborative`: both signed one close transaction). */
export type CloseKind =
  | 'collaborative'
  | 'forceClose'
  | 'liquidation'
  | 'refund'
  | 'punish'
  | 'rejected'
  | 'setupFailed';

/** {@link CloseKind} in words, as the UI and the exports show it. */
export const CLOSE_KIND_TEXT: Readonly<Record<CloseKind, string>> = {
  collaborative: 'collaborative close',
  forceClose: 'force close (CET)',
  liquidation: 'liquidation (CET)',
  refund: 'refund (the oracle never attested)',
  punish: 'punish (a revoked commit was published)',
  rejected: 'order rejected',
  setupFailed: 'contract setup failed',
};

/** One funding charge of a position: at the open (its first interval) or at a rollover. */
export interface FundingEntryView {
  /** Unix seconds the charge was recorded. */
  readonly atSecs: number;
  readonly kind: 'open' | 'rollover';
  /** Rate per settlement interval it was charged at. */
  readonly rate: string;
  /** Seconds of funding it charged. */
  readonly chargedSecs: number;
  /** Sats that moved, ≥ 0. */
  readonly amount: string;
  /** Which side paid the other; null when nothing moved. */
  readonly paidBy: Position | null;
  /** From this node's side: it paid, it received, or nothing moved. */
  readonly direction: 'pay' | 'receive' | 'none';
}

export interface PositionHistoryView {
  readonly id: string;
  readonly role: Role;
  readonly position: Position;
  /** USD (contracts of $1). */
  readonly quantity: string;
  readonly leverage: number;
  readonly counterparty: string;
  readonly state: CfdUiState;
  readonly entryPrice: string;
  readonly placedAtSecs: number;
  /** When it first showed as open (its lock confirmed); null when it never was. */
  readonly openedAtSecs: number | null;
  /** When it reached its final state (the settling transaction confirmed); null while not. */
  readonly closedAtSecs: number | null;
  /** The price it settled at (the close's, or the oracle's); null while open or without one. */
  readonly exitPrice: string | null;
  /** How it ended; null while not ended. */
  readonly closedBy: CloseKind | null;
  /** {@link closedBy} in words. */
  readonly closedHow: string | null;
  /** Own margin, sats. */
  readonly margin: string;
  /** What it paid this node, sats, once settled; null before or when unknown. */
  readonly payout: string | null;
  /** Realised P/L, sats (negative: a loss), and of own margin in percent; null while not closed. */
  readonly realisedPnl: string | null;
  readonly realisedPnlPercent: string | null;
  readonly openingFee: string;
  /** Net funding this node paid over the position's life, sats (negative: it received). */
  readonly fundingNet: string;
  readonly funding: readonly FundingEntryView[];
  /** The transactions of the position, as in the CFD view. */
  readonly transactions: readonly { readonly kind: TxKind; readonly txid: string }[];
}

/** `GET /api/history`: every position, newest first. */
export interface HistoryView {
  readonly positions: readonly PositionHistoryView[];
}

/** A CFD's stream as the log holds it: each event with the unix ms it was recorded at. */
export interface TimedEvent {
  readonly event: CfdEvent;
  readonly recordedAt: number;
}

/** The history of one CFD from its events and its view (for the money figures). */
export function positionHistory(events: readonly TimedEvent[], view: CfdView): PositionHistoryView {
  let cfd: Cfd | undefined;
  let openedAt: number | undefined;
  let endedAt: number | undefined;
  const funding: FundingEntryView[] = [];
  for (const { event, recordedAt } of events) {
    cfd = fold([event], cfd);
    const state = uiState(cfd);
    if (openedAt === undefined && state === 'open') openedAt = recordedAt;
    // The last time it entered an end state: a reorg that undid an end counts the later one.
    if (!ENDED_UI_STATES.has(state)) endedAt = undefined;
    else if (endedAt === undefined) endedAt = recordedAt;
    const entry = fundingEntry(cfd, event, recordedAt);
    if (entry) funding.push(entry);
  }
  const closedBy = cfd && endedAt !== undefined ? closeKind(cfd) : null;
  const settled = closedBy !== null && view.profit?.basis === 'settlement' ? view.profit : null;
  const fundingNet = funding.reduce(
    (sum, f) =>
      sum +
      (f.direction === 'pay'
        ? BigInt(f.amount)
        : f.direction === 'receive'
          ? -BigInt(f.amount)
          : 0n),
    0n,
  );
  return {
    id: view.id,
    role: view.role,
    position: view.position,
    quantity: view.quantity,
    leverage: view.leverage,
    counterparty: view.counterparty,
    state: view.state,
    entryPrice: view.initialPrice,
    placedAtSecs: view.placedAtSecs,
    openedAtSecs: secs(openedAt),
    closedAtSecs: secs(endedAt),
    exitPrice: closedBy === null ? null : view.closingPrice,
    closedBy,
    closedHow: closedBy === null ? null : CLOSE_KIND_TEXT[closedBy],
    margin: view.margin,
    payout: settled?.payout ?? null,
    realisedPnl: settled?.sats ?? null,
    realisedPnlPercent: settled?.percent ?? null,
    openingFee: view.openingFee,
    fundingNet: fundingNet.toString(),
    funding,
    transactions: view.transactions,
  };
}

const secs = (ms: number | undefined): number | null =>
  ms === undefined ? null : Math.floor(ms / 1000);

/**
 * How an ended CFD ended. A CET is a liquidation when the price it settled at is at or beyond
 * either side's liquidation price (model/cfd.ts `liquidation`, the same answer as the
 * `liquidated` state); any other CET is a force close.
 */
export function closeKind(cfd: Cfd): CloseKind | null {
  switch (cfd.settled) {
    case 'collaborative':
      return 'collaborative';
    case 'refund':
      return 'refund';
    case 'punish':
      return 'punish';
    case 'cet':
      return liquidation(cfd) ? 'liquidation' : 'forceClose';
    case undefined:
      if (cfd.setup === 'rejected') return 'rejected';
      if (cfd.setup === 'failed') return 'setupFailed';
      return null;
  }
}

/** The funding an event charged, if it charged any: the open's first interval, or a rollover. */
function fundingEntry(cfd: Cfd, event: CfdEvent, recordedAt: number): FundingEntryView | undefined {
  const t = cfd.terms;
  if (!t) return undefined;
  let change: bigint;
  let rate: FundingRate;
  let chargedSecs: number;
  let kind: FundingEntryView['kind'];
  if (event.type === 'ContractSetupCompleted') {
    // The curve carries the first interval's funding from the start (model/fees.ts
    // initialFeeBalance), next to the opening fee, which is not funding.
    kind = 'open';
    rate = t.fundingRate;
    chargedSecs = t.settlementIntervalSecs;
    change = signedFunding({
      symbol: t.symbol,
      makerPosition: makerPositionOf(t),
      price: t.initialPrice,
      quantity: t.quantity,
      takerLeverage: t.takerLeverage,
      rate: t.fundingRate,
      chargedSecs,
      settlementIntervalSecs: t.settlementIntervalSecs,
    });
  } else if (event.type === 'RolloverCompleted') {
    kind = 'rollover';
    rate = event.data.funding.rate;
    chargedSecs = event.data.funding.chargedSecs;
    change = event.data.funding.balanceChange;
  } else {
    return undefined;
  }
  // A positive change of the fee balance: the long side owes the short side more.
  const owed = feeOwedBy(change, t.position);
  return {
    atSecs: Math.floor(recordedAt / 1000),
    kind,
    rate: formatFundingRate(rate),
    chargedSecs,
    amount: (change < 0n ? -change : change).toString(),
    paidBy: change === 0n ? null : change > 0n ? 'long' : 'short',
    direction: owed > 0n ? 'pay' : owed < 0n ? 'receive' : 'none',
  };
}

// export

/** One CSV field: quoted when it holds a comma, a quote or a line break (RFC 4180). */
function csvField(v: string | number | null): string {
  const s = v === null ? '' : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

function csv(header: readonly string[], rows: readonly (string | number | null)[][]): string {
  return [header, ...rows]
    .map((r) => r.map(csvField).join(','))
    .join('\r\n')
    .concat('\r\n');
}

/** Unix seconds → ISO 8601 (UTC), or empty. */
const iso = (s: number | null): string | null =>
  s === null ? null : new Date(s * 1000).toISOString();

/** Every position as CSV, one row each (amounts in sats, prices in USD). */
export function positionsCsv(h: HistoryView): string {
  return csv(
    [
      'id',
      'role',
      'side',
      'quantity_usd',
      'leverage',
      'state',
      'entry_price',
      'exit_price',
      'placed_at',
      'opened_at',
      'closed_at',
      'closed_how',
      'margin_sat',
      'payout_sat',
      'realised_pnl_sat',
      'realised_pnl_percent',
      'opening_fee_sat',
      'funding_net_sat',
      'counterparty',
    ],
    h.positions.map((p) => [
      p.id,
      p.role,
      p.position,
      p.quantity,
      p.leverage,
      p.state,
      p.entryPrice,
      p.exitPrice,
      iso(p.placedAtSecs),
      iso(p.openedAtSecs),
      iso(p.closedAtSecs),
      p.closedHow,
      p.margin,
      p.payout,
      p.realisedPnl,
      p.realisedPnlPercent,
      p.openingFee,
      p.fundingNet,
      p.counterparty,
    ]),
  );
}

/** Every funding charge of every position as CSV, oldest first within a position. */
export function fundingCsv(h: HistoryView): string {
  return csv(
    [
      'cfd_id',
      'side',
      'time',
      'kind',
      'rate',
      'charged_secs',
      'amount_sat',
      'paid_by',
      'direction',
    ],
    h.positions.flatMap((p) =>
      p.funding.map((f) => [
        p.id,
        p.position,
        iso(f.atSecs),
        f.kind,
        f.rate,
        f.chargedSecs,
        f.amount,
        f.paidBy,
        f.direction,
      ]),
    ),
  );
}

// wallet history

/** What a wallet transaction was, for a person. */
export type WalletTxKind =
  | 'deposit'
  | 'withdraw'
  | 'lock'
  | 'close'
  | 'cet'
  | 'refund'
  | 'punish'
  | 'commit'
  | 'feeBump';

/** A wallet transaction with what it was and the position it belongs to, if any. */
export interface WalletHistoryRow extends WalletTxView {
  readonly kind: WalletTxKind;
  /** The CFD whose transaction it is; null for deposits and withdrawals. */
  readonly cfdId: string | null;
}

/**
 * Names each wallet transaction: a CFD's own transaction (lock, close, CET, refund, punish,
 * commit) or a fee bump of one (the CPFP child the node pays) by its txid; anything else is a
 * deposit when it brought money in, else a withdrawal.
 */
export function walletHistory(
  txs: readonly WalletTxView[],
  cfds: readonly CfdView[],
): WalletHistoryRow[] {
  const known = new Map<string, { kind: WalletTxKind; cfdId: string }>();
  for (const c of cfds) {
    for (const t of c.transactions) known.set(t.txid, { kind: t.kind, cfdId: c.id });
    for (const b of c.bumps) {
      if (b.childTxid && !known.has(b.childTxid)) {
        known.set(b.childTxid, { kind: 'feeBump', cfdId: c.id });
      }
    }
  }
  return txs.map((tx) => {
    const k = known.get(tx.txid);
    if (k) return { ...tx, ...k };
    return { ...tx, kind: tx.net.startsWith('-') ? 'withdraw' : 'deposit', cfdId: null };
  });
}
