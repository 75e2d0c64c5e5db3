// CFD tables (open and closed) with what the user may do now, and the detail of one CFD.
import { useState } from 'react';
import { post } from '../api';
import { ago, btc, duration, group, sats, shortId, shortTime, signed, until, usd } from '../format';
import type { CfdAction, CfdView, Role } from '../types';
import { CfdDetail } from './CfdDetail';
import { ConfirmDialog, Loading, Panel, StateBadge, useNow } from './common';
import { Txid } from './Txid';

const CLOSED = new Set(['closed', 'refunded', 'rejected', 'setupFailed', 'punished']);

interface Pending {
  cfd: CfdView;
  action: 'close' | 'commit' | 'accept' | 'reject';
}

const ACTION_TEXT: Record<Pending['action'], { title: string; label: string; body: string }> = {
  close: {
    title: 'Close this position?',
    label: 'Close',
    body: 'The maker is asked to settle collaboratively at the current price; both sides get their payout in one transaction.',
  },
  commit: {
    title: 'Force close this position?',
    label: 'Force close',
    body: 'Publishes the commit transaction without the counterparty. The payout follows the oracle’s attestation after the timelock; this takes longer and costs more fees than a collaborative close.',
  },
  accept: {
    title: 'Accept?',
    label: 'Accept',
    body: 'The contract is set up (or settled) as proposed.',
  },
  reject: { title: 'Reject?', label: 'Reject', body: 'The counterparty is told it was rejected.' },
};

export function Positions({ cfds, role }: { cfds: Map<string, CfdView> | null; role: Role }) {
  const [pending, setPending] = useState<Pending | null>(null);
  const [selected, setSelected] = useState<string | null>(null);
  if (!cfds) {
    return (
      <Panel title="Positions" testId="positions-panel">
        <Loading what="positions" />
      </Panel>
    );
  }
  const all = [...cfds.values()].sort((a, b) => b.placedAtSecs - a.placedAtSecs);
  // Orders and settlement proposals waiting for this user come first, on their own.
  const waiting = all.filter((c) => has(c, 'acceptOrder', 'acceptSettlement'));
  const open = all.filter((c) => !CLOSED.has(c.state) && !waiting.includes(c));
  const closed = all.filter((c) => CLOSED.has(c.state));
  const chosen = selected ? cfds.get(selected) : undefined;
  const act = (cfd: CfdView, action: Pending['action']) => {
    setPending({ cfd, action });
  };
  return (
    <Panel title="Positions" testId="positions-panel">
      {waiting.length > 0 && (
        <div className="decide" data-testid="awaiting-decision">
          <h3>Awaiting your decision ({waiting.length})</h3>
          <CfdTable
            cfds={waiting}
            role={role}
            onAct={act}
            onSelect={setSelected}
            selected={selected}
          />
        </div>
      )}
      <h3>Open ({open.length})</h3>
      <CfdTable
        cfds={open}
        role={role}
        onAct={act}
        onSelect={setSelected}
        selected={selected}
        empty={
          role === 'taker'
            ? 'No open positions. Take an offer in the Trade panel.'
            : 'No open positions. Takers’ orders appear here.'
        }
      />
      <h3>Closed ({closed.length})</h3>
      <CfdTable
        cfds={closed}
        role={role}
        onAct={act}
        onSelect={setSelected}
        selected={selected}
        empty="No closed positions yet."
      />
      {chosen && <CfdDetail cfd={chosen} onClose={() => setSelected(null)} />}
      {pending && (
        <ConfirmDialog
          title={ACTION_TEXT[pending.action].title}
          confirmLabel={ACTION_TEXT[pending.action].label}
          danger={pending.action === 'commit' || pending.action === 'reject'}
          onClose={() => setPending(null)}
          onConfirm={() =>
            post(`/api/cfds/${encodeURIComponent(pending.cfd.id)}/${pending.action}`)
          }
        >
          <p>
            {pending.cfd.position} {group(pending.cfd.quantity)} USD at{' '}
            {usd(pending.cfd.initialPrice)} ({shortId(pending.cfd.id)})
          </p>
          {pending.action === 'close' && pending.cfd.profit?.basis === 'quote' && (
            <p data-testid="close-expected-payout">
              At the current price, {usd(pending.cfd.profit.price)}, you get about{' '}
              {btc(pending.cfd.profit.payout)} BTC ({sats(signed(pending.cfd.profit.sats))} P/L),
              less your share of the closing transaction's fee; the price is fixed when the maker
              signs.
            </p>
          )}
          {pending.cfd.settlementProposal && (
            <p>
              Proposed settlement at {usd(pending.cfd.settlementProposal.price)}: you get{' '}
              {btc(pending.cfd.settlementProposal.payout)} BTC
            </p>
          )}
          <p className="muted">{ACTION_TEXT[pending.action].body}</p>
        </ConfirmDialog>
      )}
    </Panel>
  );
}

function has(c: CfdView, ...a: CfdAction[]): boolean {
  return a.some((x) => c.actions.includes(x));
}

function CfdTable({
  cfds,
  role,
  onAct,
  onSelect,
  selected,
  empty = 'None',
}: {
  cfds: CfdView[];
  role: Role;
  onAct: (c: CfdView, a: Pending['action']) => void;
  onSelect: (id: string) => void;
  selected: string | null;
  /** What an empty table says. */
  empty?: string;
}) {
  const now = useNow(5_000);
  if (cfds.length === 0) {
    return (
      <div className="muted empty" data-testid="cfd-table-empty">
        {empty}
      </div>
    );
  }
  return (
    <div className="scroll">
      <table className="table" data-testid="cfd-table">
        <thead>
          <tr>
            <th>Id</th>
            <th>Side</th>
            <th className="num" title="Quantity in USD (contracts of $1)">
              Qty (USD)
            </th>
            <th className="num">Lev.</th>
            <th className="num">Entry</th>
            <th className="num" title="Liquidation price">
              Liq.
            </th>
            <th className="num">Margin (BTC)</th>
            <th>State</th>
            <th className="num">P/L</th>
            <th>Transactions</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {cfds.map((c) => (
            <tr
              key={c.id}
              data-testid={`cfd-row-${c.id}`}
              data-cfd-id={c.id}
              className={`cfd-row ${selected === c.id ? 'selected' : ''}`}
            >
              <td className="nowrap">
                <button
                  type="button"
                  className="link"
                  onClick={() => onSelect(c.id)}
                  data-testid="cfd-details"
                >
                  {shortId(c.id, 6)}
                </button>
              </td>
              <td className={`${c.position} nowrap`}>{c.position}</td>
              <td className="num">{group(c.quantity)}</td>
              <td className="num">{c.leverage}×</td>
              <td className="num">{usd(c.initialPrice)}</td>
              <td className="num" title={c.liquidationPrice ? undefined : 'never liquidated'}>
                {c.liquidationPrice ? usd(c.liquidationPrice) : 'never'}
              </td>
              <td className="num">{btc(c.margin)}</td>
              <td>
                <StateBadge state={c.state} />
                {c.failureReason && <div className="muted small">{c.failureReason}</div>}
                {c.problem && <ProblemLine problem={c.problem} now={now} />}
                {c.signedCloseUntilSecs !== null && (
                  <div className="muted small">
                    close signed, not yet on chain: force close at{' '}
                    {new Date(c.signedCloseUntilSecs * 1000).toLocaleTimeString()}
                  </div>
                )}
                {c.funding && <FundingLine funding={c.funding} now={now} />}
                {c.settlementProposal && (
                  <div className="muted small">
                    {c.settlementProposal.direction === 'incoming'
                      ? 'proposed to you'
                      : 'you proposed'}{' '}
                    at {usd(c.settlementProposal.price)}
                  </div>
                )}
              </td>
              <td className="num" data-testid="cfd-pnl">
                {c.profit ? (
                  <span className={c.profit.sats.startsWith('-') ? 'loss' : 'gain'}>
                    {sats(signed(c.profit.sats))} ({signed(c.profit.percent)}%)
                    {c.profit.basis === 'settlement' && (
                      <div className="small" data-testid="cfd-payout">
                        payout {btc(c.profit.payout)} BTC
                      </div>
                    )}
                    {c.profit.stale && <div className="warn small">stale price</div>}
                  </span>
                ) : (
                  '—'
                )}
              </td>
              <td className="small mono">
                {c.transactions.map((t) => (
                  <div key={`${t.kind}-${t.txid}`} title={t.txid} data-testid={`tx-${t.kind}`}>
                    {t.kind} <Txid txid={t.txid} chars={6} />
                  </div>
                ))}
              </td>
              <td className="actions">
                {role === 'taker' && has(c, 'settle') && (
                  <button type="button" onClick={() => onAct(c, 'close')} data-testid="cfd-close">
                    Close
                  </button>
                )}
                {has(c, 'acceptOrder', 'acceptSettlement') && (
                  <button
                    type="button"
                    className="primary"
                    onClick={() => onAct(c, 'accept')}
                    data-testid="cfd-accept"
                  >
                    Accept
                  </button>
                )}
                {has(c, 'rejectOrder', 'rejectSettlement') && (
                  <button type="button" onClick={() => onAct(c, 'reject')} data-testid="cfd-reject">
                    Reject
                  </button>
                )}
                {has(c, 'commit') && (
                  <button
                    type="button"
                    className="danger"
                    onClick={() => onAct(c, 'commit')}
                    data-testid="cfd-commit"
                  >
                    Force close
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/**
 * Until when an open position is funded — its settlement event, where it settles at the oracle's
 * price unless a rollover moves it on — and whether rollovers keep it going (ItchySats #1260).
 */
/** This node fails to handle the CFD (other CFDs are unaffected); it retries on its own. */
export function ProblemLine({
  problem: p,
  now,
}: {
  problem: NonNullable<CfdView['problem']>;
  now: number;
}) {
  return (
    <div
      className="warn small"
      data-testid="cfd-problem"
      title={`This node keeps failing to handle this CFD (${p.during}) and retries with backoff; your other positions are unaffected. Check the node's log for this CFD id.`}
    >
      failing since {ago(p.sinceSecs * 1000, now)}
      {p.retries > 0 && `, retried ${p.retries}×`}: {p.reason}
    </div>
  );
}

export function FundingLine({
  funding: f,
  now,
}: {
  funding: NonNullable<CfdView['funding']>;
  now: number;
}) {
  const untilMs = f.untilSecs * 1000;
  const title = `Without a rollover the contract settles at the oracle's price at ${shortTime(untilMs)}; the taker rolls it over every ${duration(f.rolloverIntervalSecs)} while both nodes are online.`;
  if (f.autoRolloverPaused) {
    return (
      <div
        className="warn small"
        data-testid="cfd-funding"
        data-stalled={String(f.rolloversStalled)}
        data-paused="true"
        title={`${title} Paused: ${f.autoRolloverPaused.reason}. It resumes when you change your limits or the maker's terms come back within them.`}
      >
        auto-rollover paused: {f.autoRolloverPaused.reason}; settles {shortTime(untilMs)} (
        {until(untilMs, now)})
      </div>
    );
  }
  if (f.rolloversStalled) {
    return (
      <div className="warn small" data-testid="cfd-funding" data-stalled="true" title={title}>
        rollovers not happening: settles {shortTime(untilMs)} ({until(untilMs, now)})
      </div>
    );
  }
  return (
    <div
      className="muted small nowrap"
      data-testid="cfd-funding"
      data-stalled="false"
      title={title}
    >
      <div>funded until {shortTime(untilMs)}</div>
      <div>
        {f.rolloverUnderWay
          ? 'rolling over now'
          : f.nextRolloverSecs === null
            ? 'no rollover before then'
            : `next rollover ${until(f.nextRolloverSecs * 1000, now)}`}
      </div>
    </div>
  );
}
