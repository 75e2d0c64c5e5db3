// The trading history (GET /api/history): the closed positions' table — exit price, close time,
// how each closed in words, realised P/L — a position's funding charge by charge, and the export
// buttons (CSV and JSON downloads from the node).
import { useEffect, useState } from 'react';
import { get } from '../api';
import { duration, group, STATE_LABEL, sats, shortId, shortTime, signed, usd } from '../format';
import { cfdHref } from '../route';
import type { CfdView, FundingEntryView, HistoryView, PositionHistoryView } from '../types';
import { PnlCell, TxCell } from './CfdCells';
import { ErrorLine, Loading, Row } from './common';

/**
 * GETs `path` whenever `key` changes (e.g. the versions of the CFDs it depends on); keeps the last
 * answer while the next one loads.
 */
export function useFetched<T>(path: string, key: string): { data: T | null; error: string | null } {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let current = true;
    if (key === '\u0000') return; // never: `key` is here to refetch on every change
    get<T>(path)
      .then((d) => {
        if (current) {
          setData(d);
          setError(null);
        }
      })
      .catch((err: Error) => current && setError(err.message));
    return () => {
      current = false;
    };
  }, [path, key]);
  return { data, error };
}

/** A key that changes whenever any of `cfds` does. */
export const versionsKey = (cfds: readonly CfdView[]): string =>
  cfds.map((c) => `${c.id}:${c.version}`).join(',');

/** The history of every position, refetched whenever one of `cfds` changes. */
export function useHistory(cfds: readonly CfdView[]) {
  return useFetched<HistoryView>('/api/history', versionsKey(cfds));
}

const DIRECTION_TEXT: Record<FundingEntryView['direction'], string> = {
  pay: 'you paid',
  receive: 'you received',
  none: 'nothing moved',
};

/** Positions that ended: when, at what price, how, and what they realised. */
export function ClosedTable({
  cfds,
  history,
  empty,
}: {
  cfds: CfdView[];
  history: HistoryView | null;
  empty: string;
}) {
  if (cfds.length === 0) {
    return (
      <div className="muted empty" data-testid="cfd-table-empty">
        {empty}
      </div>
    );
  }
  const byId = new Map(history?.positions.map((p) => [p.id, p]) ?? []);
  return (
    <div className="scroll">
      <table className="table" data-testid="closed-table">
        <thead>
          <tr>
            <th>Id</th>
            <th>Side</th>
            <th className="num" title="Quantity in USD (contracts of $1)">
              Qty (USD)
            </th>
            <th className="num">Lev.</th>
            <th className="num">Entry</th>
            <th className="num">Exit</th>
            <th>Closed</th>
            <th>How</th>
            <th className="num">Realised P/L</th>
            <th>Transactions</th>
          </tr>
        </thead>
        <tbody>
          {cfds.map((c) => {
            const h = byId.get(c.id);
            return (
              <tr key={c.id} data-cfd-id={c.id} className="cfd-row">
                <td className="nowrap">
                  <a href={cfdHref(c.id)} className="mono" data-testid="cfd-details">
                    {shortId(c.id, 6)}
                  </a>
                </td>
                <td className={`${c.position} nowrap`}>{c.position}</td>
                <td className="num">{group(c.quantity)}</td>
                <td className="num">{c.leverage}×</td>
                <td className="num">{usd(c.initialPrice)}</td>
                <td className="num" data-testid="closed-exit">
                  {h?.exitPrice ? usd(h.exitPrice) : '—'}
                </td>
                <td className="nowrap" data-testid="closed-at">
                  {h?.closedAtSecs ? shortTime(h.closedAtSecs * 1000) : '—'}
                </td>
                <td data-testid="closed-how" data-closed-by={h?.closedBy ?? ''}>
                  <span data-testid="cfd-state" data-state={c.state} className="nowrap">
                    {h?.closedHow ?? STATE_LABEL[c.state] ?? c.state}
                  </span>
                  {c.failureReason && (
                    <div className="muted small clamp" title={c.failureReason}>
                      {c.failureReason}
                    </div>
                  )}
                </td>
                <PnlCell cfd={c} />
                <TxCell cfd={c} />
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

/** The links that download the history from the node (the session cookie goes along). */
export function ExportLinks() {
  const base = '/api/history/export';
  return (
    <span className="export small" data-testid="export">
      Export:{' '}
      <a href={`${base}?format=csv&table=positions`} download data-testid="export-csv">
        positions CSV
      </a>{' '}
      ·{' '}
      <a href={`${base}?format=csv&table=funding`} download data-testid="export-funding-csv">
        funding CSV
      </a>{' '}
      ·{' '}
      <a href={`${base}?format=json`} download data-testid="export-json">
        JSON
      </a>
    </span>
  );
}

/** One position's history: open and close, how it closed, and every funding charge. */
export function PositionHistory({ cfd }: { cfd: CfdView }) {
  const { data, error } = useHistory([cfd]);
  const h: PositionHistoryView | undefined = data?.positions.find((p) => p.id === cfd.id);
  return (
    <div className="subpanel first" data-testid="position-history">
      <h3>History</h3>
      <ErrorLine error={error} />
      {!h && !error && <Loading what="history" />}
      {h && (
        <>
          <Row label="Placed">{shortTime(h.placedAtSecs * 1000)}</Row>
          <Row label="Opened">{h.openedAtSecs ? shortTime(h.openedAtSecs * 1000) : '—'}</Row>
          {h.closedBy && (
            <>
              <Row label="Closed" testId="history-closed-at">
                {h.closedAtSecs ? shortTime(h.closedAtSecs * 1000) : '—'}
              </Row>
              <Row label="How it closed" testId="history-how">
                {h.closedHow}
              </Row>
              <Row label="Exit price">{usd(h.exitPrice)}</Row>
              {h.realisedPnl && (
                <Row label="Realised P/L">
                  {sats(signed(h.realisedPnl))} ({signed(h.realisedPnlPercent ?? '0')}%)
                </Row>
              )}
            </>
          )}
          <Row label="Funding, net">
            {h.fundingNet.startsWith('-')
              ? `you received ${sats(h.fundingNet.slice(1))}`
              : h.fundingNet === '0'
                ? 'none'
                : `you paid ${sats(h.fundingNet)}`}
          </Row>
          {h.funding.length > 0 && (
            <div className="scroll capped">
              <table className="table" data-testid="funding-history">
                <thead>
                  <tr>
                    <th>Time</th>
                    <th>For</th>
                    <th className="num">Rate</th>
                    <th className="num">Amount</th>
                    <th>Direction</th>
                  </tr>
                </thead>
                <tbody>
                  {h.funding.map((f) => (
                    <tr key={`${f.kind}-${f.atSecs}-${f.amount}`} data-testid="funding-row">
                      <td className="nowrap">{shortTime(f.atSecs * 1000)}</td>
                      <td className="nowrap">
                        {f.kind === 'open' ? 'opening' : 'rollover'}, {duration(f.chargedSecs)}
                      </td>
                      <td className="num">{f.rate}</td>
                      <td className="num">{sats(f.amount)}</td>
                      <td className="nowrap" data-testid="funding-direction">
                        {DIRECTION_TEXT[f.direction]}
                        {f.paidBy && (
                          <span className="muted">
                            {' '}
                            ({f.paidBy} pays {f.paidBy === 'long' ? 'short' : 'long'})
                          </span>
                        )}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </>
      )}
    </div>
  );
}
