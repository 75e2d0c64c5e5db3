// CFD tables — awaiting a decision, open (what the user may do now), closed (how each ended) —
// and, for a maker, the counterparty of each and the net exposure over them. A position's detail
// has its own address (#/cfd/<id>): its id links there.
import { useState } from 'react';
import { post } from '../api';
import { ago, btc, duration, group, shortId, shortTime, until, usd } from '../format';
import { cfdHref } from '../route';
import type { CfdAction, CfdView, ExposureView, Role } from '../types';
import { PnlCell, TxCell } from './CfdCells';
import { ConfirmDialog, Loading, Panel, StateBadge, useNow } from './common';
import { shortPeer } from './Health';
import { ClosedTable, ExportLinks, useFetched, useHistory, versionsKey } from './History';
import { LiquidationWarning, pnlText, StatusLine } from './Money';
import { CopyButton } from './Txid';

const CLOSED = new Set(['closed', 'liquidated', 'refunded', 'rejected', 'setupFailed', 'punished']);

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

export function Positions({
  cfds,
  role,
  selected,
}: {
  cfds: Map<string, CfdView> | null;
  role: Role;
  /** The position whose detail is open (the address's #/cfd/<id>), highlighted. */
  selected: string | null;
}) {
  const [pending, setPending] = useState<Pending | null>(null);
  const all = cfds ? [...cfds.values()].sort((a, b) => b.placedAtSecs - a.placedAtSecs) : [];
  const closed = all.filter((c) => CLOSED.has(c.state));
  const { data: history } = useHistory(closed);
  if (!cfds) {
    return (
      <Panel title="Positions" testId="positions-panel">
        <Loading what="positions" />
      </Panel>
    );
  }
  // Orders and settlement proposals waiting for this user come first, on their own.
  const waiting = all.filter((c) => has(c, 'acceptOrder', 'acceptSettlement'));
  const open = all.filter((c) => !CLOSED.has(c.state) && !waiting.includes(c));
  const act = (cfd: CfdView, action: Pending['action']) => {
    setPending({ cfd, action });
  };
  return (
    <Panel title="Positions" testId="positions-panel" extra={<ExportLinks />}>
      {waiting.length > 0 && (
        <div className="decide" data-testid="awaiting-decision">
          <h3>Awaiting your decision ({waiting.length})</h3>
          <CfdTable cfds={waiting} role={role} onAct={act} selected={selected} />
        </div>
      )}
      <h3>Open ({open.length})</h3>
      {role === 'maker' && <Exposure open={open} />}
      <CfdTable
        cfds={open}
        role={role}
        onAct={act}
        selected={selected}
        empty={
          role === 'taker'
            ? 'No open positions. Take an offer in the Trade panel.'
            : 'No open positions. Takers’ orders appear here.'
        }
      />
      <h3>Closed ({closed.length})</h3>
      <ClosedTable cfds={closed} history={history} empty="No closed positions yet." />
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
              {btc(pending.cfd.profit.payout)} BTC ({pnlText(pending.cfd.profit)} P/L), after your
              share of the closing transaction's fee; the price is fixed when the maker signs.
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

/** The maker's net exposure over its open positions (GET /api/exposure), refetched on changes. */
function Exposure({ open }: { open: CfdView[] }) {
  const { data: e } = useFetched<ExposureView>('/api/exposure', versionsKey(open));
  if (!e || e.positions === 0) return null;
  const net = e.netContracts;
  return (
    <div className="exposure" data-testid="exposure">
      <span>
        Long <b data-testid="exposure-long">{group(e.longContracts)}</b> USD
      </span>
      <span>
        Short <b data-testid="exposure-short">{group(e.shortContracts)}</b> USD
      </span>
      <span>
        Net{' '}
        <b
          data-testid="exposure-net"
          className={net.startsWith('-') ? 'short' : net === '0' ? '' : 'long'}
        >
          {net.startsWith('-')
            ? `short ${group(net.slice(1))}`
            : net === '0'
              ? 'flat'
              : `long ${group(net)}`}
        </b>{' '}
        USD
      </span>
      <span title="Your margin in these positions: the most they can lose">
        Margin at risk <b data-testid="exposure-margin">{btc(e.marginAtRisk)}</b> BTC
      </span>
    </div>
  );
}

function has(c: CfdView, ...a: CfdAction[]): boolean {
  return a.some((x) => c.actions.includes(x));
}

function CfdTable({
  cfds,
  role,
  onAct,
  selected,
  empty = 'None',
}: {
  cfds: CfdView[];
  role: Role;
  onAct: (c: CfdView, a: Pending['action']) => void;
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
            {role === 'maker' && <th>Counterparty</th>}
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
                <a href={cfdHref(c.id)} className="mono" data-testid="cfd-details">
                  {shortId(c.id, 6)}
                </a>
              </td>
              {role === 'maker' && (
                <td className="nowrap" data-testid="cfd-counterparty">
                  <span className="mono" title={c.counterparty}>
                    {shortPeer(c.counterparty)}
                  </span>{' '}
                  <CopyButton text={c.counterparty} what="peer id" />
                </td>
              )}
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
                {c.status && <StatusLine status={c.status} now={now} />}
                {c.liquidationWarning && <LiquidationWarning warning={c.liquidationWarning} />}
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
              <PnlCell cfd={c} />
              <TxCell cfd={c} />
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
      className="warn small clamp"
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
