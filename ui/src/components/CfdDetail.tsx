// One CFD in full, with its payout curve (computed by the node from the contract's curve) and the
// current price marked on it.
import { useEffect, useMemo, useState } from 'react';
import type uPlot from 'uplot';
import { get, post } from '../api';
import { btc, duration, group, sats, signed, time, until, usd } from '../format';
import type { BumpResult, BumpView, CfdView, CfdDetail as Detail } from '../types';
import { Chart } from './Chart';
import { ConfirmDialog, ErrorLine, Loading, Row, StateBadge, useNow } from './common';
import { fundingText, LiquidationWarning, PayoutLine, pnlText, StatusLine } from './Money';
import { Txid } from './Txid';

const SERIES: uPlot.Series[] = [{ label: 'Your payout (sat)', stroke: '#5b9cf6', width: 2 }];

export function CfdDetail({ cfd, onClose }: { cfd: CfdView; onClose: () => void }) {
  const [detail, setDetail] = useState<Detail | null>(null);
  const [error, setError] = useState<string | null>(null);
  const now = useNow(5_000);
  const [refresh, setRefresh] = useState(0);
  // Refetch when the CFD changes (a rollover moves the fee balance, so the curve), and while the
  // node is bumping its transactions (the bumps move with blocks, not with CFD events).
  const { id, version } = cfd;
  const bumping = (detail?.bumps ?? cfd.bumps).some((b) => b.state !== 'confirmed');
  useEffect(() => {
    if (!bumping) return;
    const t = setInterval(() => setRefresh((r) => r + 1), 15_000);
    return () => clearInterval(t);
  }, [bumping]);
  useEffect(() => {
    let current = true;
    if (version < 0 || refresh < 0) return; // never: both are here to refetch on every change
    get<Detail>(`/api/cfds/${encodeURIComponent(id)}`)
      .then((d) => {
        if (current) {
          setDetail(d);
          setError(null);
        }
      })
      .catch((err: Error) => current && setError(err.message));
    return () => {
      current = false;
    };
  }, [id, version, refresh]);

  const data = useMemo<uPlot.AlignedData>(() => {
    const curve = detail?.payoutCurve ?? [];
    return [curve.map((p) => Number(p.price)), curve.map((p) => Number(p.payout))];
  }, [detail]);
  // The marker: where the price is now (or where it settled), a vertical line on the chart.
  const markPrice = cfd.profit?.price ?? cfd.closingPrice;
  const mark = markPrice ? Number.parseFloat(markPrice) : undefined;
  const draw = (u: uPlot) => {
    if (mark === undefined) return;
    const x = u.valToPos(mark, 'x', true);
    const ctx = u.ctx;
    ctx.save();
    ctx.strokeStyle = '#f0b90b';
    ctx.setLineDash([4, 4]);
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    ctx.moveTo(x, u.bbox.top);
    ctx.lineTo(x, u.bbox.top + u.bbox.height);
    ctx.stroke();
    ctx.restore();
  };
  return (
    <div className="detail" data-testid="cfd-detail">
      <header>
        <h3>
          CFD {cfd.id} <StateBadge state={cfd.state} />
        </h3>
        <button type="button" onClick={onClose} data-testid="cfd-detail-close">
          ✕
        </button>
      </header>
      <div className="detail-grid">
        <div>
          {cfd.status && (
            <Row label="Why / until" testId="detail-status">
              <StatusLine status={cfd.status} now={now} />
            </Row>
          )}
          {cfd.liquidationWarning && <LiquidationWarning warning={cfd.liquidationWarning} />}
          <Row label="Role / side">
            {cfd.role}, {cfd.position} {group(cfd.quantity)} USD at {cfd.leverage}×
          </Row>
          <Row label="Entry price">{usd(cfd.initialPrice)}</Row>
          <Row label="Liquidation price">
            {cfd.liquidationPrice ? usd(cfd.liquidationPrice) : 'never'}
          </Row>
          <Row label="Margin (own / other)">
            {btc(cfd.margin)} / {btc(cfd.marginCounterparty)} BTC
          </Row>
          <Row label="Funding" testId="detail-funding-payment">
            {cfd.fundingPayment ? fundingText(cfd.fundingPayment) : '—'}
            {cfd.fundingRate && <span className="muted small"> (rate {cfd.fundingRate})</span>}
          </Row>
          <Row label="Fees owed (net)">{sats(signed(cfd.fees.owed))}</Row>
          <Row label="Opening fee">{sats(cfd.openingFee)}</Row>
          {cfd.funding ? (
            <>
              <Row label="Funded until (if not rolled over)" testId="detail-funded-until">
                {time(cfd.funding.untilSecs * 1000)} ({until(cfd.funding.untilSecs * 1000, now)})
              </Row>
              <Row label="Rollovers" testId="detail-rollovers">
                {cfd.funding.rolloverUnderWay ? (
                  'rolling over now'
                ) : cfd.funding.autoRolloverPaused ? (
                  <span className="warn" data-testid="detail-rollover-paused">
                    auto-rollover paused: {cfd.funding.autoRolloverPaused.reason}. It resumes when
                    you change your limits or the maker's terms come back within them.
                  </span>
                ) : cfd.funding.rolloversStalled ? (
                  <span className="warn">
                    not happening (one was due{' '}
                    {until((cfd.funding.nextRolloverSecs ?? 0) * 1000, now)}): the contract settles
                    at the oracle's price at the time above unless one succeeds
                  </span>
                ) : cfd.funding.nextRolloverSecs === null ? (
                  `every ${duration(cfd.funding.rolloverIntervalSecs)}: none before it settles`
                ) : (
                  <>
                    every {duration(cfd.funding.rolloverIntervalSecs)}, next{' '}
                    {until(cfd.funding.nextRolloverSecs * 1000, now)}
                  </>
                )}
              </Row>
            </>
          ) : (
            <Row label="Settlement event">{time(cfd.settlementEvent.timeSecs * 1000)}</Row>
          )}
          {cfd.closingPrice && <Row label="Closing price">{usd(cfd.closingPrice)}</Row>}
          {/* How it closed, in words, is in its history (History.tsx), not "Settled by: cet". */}
          {cfd.profit && (
            <>
              <Row label="Payout" testId="detail-payout">
                <PayoutLine profit={cfd.profit} />
              </Row>
              <Row label={cfd.profit.basis === 'quote' ? 'P/L now' : 'P/L'} testId="detail-pnl">
                {pnlText(cfd.profit)}
                <div className="muted small">
                  payout − margin {btc(cfd.margin)}
                  {cfd.profit.lockFee !== null && <> − lock fee {sats(cfd.profit.lockFee)}</>}
                  {cfd.profit.bumpFees !== '0' && <> − fee bumps {sats(cfd.profit.bumpFees)}</>}
                  {' (the opening fee and funding are in the payout)'}
                </div>
              </Row>
            </>
          )}
          <Row label="Counterparty">
            <span className="mono small ellipsis" title={cfd.counterparty}>
              {cfd.counterparty}
            </span>
          </Row>
          {cfd.transactions.map((t) => (
            <Row key={`${t.kind}-${t.txid}`} label={`${t.kind} tx`}>
              <span className="small">
                <Txid txid={t.txid} chars={0} />
              </span>
            </Row>
          ))}
          <Confirming
            cfdId={cfd.id}
            bumps={detail?.bumps ?? cfd.bumps}
            budget={detail?.bumpBudgetSats ?? cfd.bumpBudgetSats}
            spent={detail?.bumpSpentSats ?? cfd.bumpSpentSats}
            onBumped={(r) => {
              setDetail((d) => d && { ...d, ...r });
              setRefresh((n) => n + 1);
            }}
          />
        </div>
        <div>
          <ErrorLine error={error} />
          {!detail && !error && <Loading what="payout curve" />}
          {data[0].length > 0 && (
            <Chart
              data={data}
              series={SERIES}
              height={220}
              time={false}
              draw={draw}
              testId="payout-chart"
            />
          )}
          {mark !== undefined && <div className="muted small">Dashed line: {usd(markPrice)}</div>}
        </div>
      </div>
    </div>
  );
}

const STATE_TEXT: Record<BumpView['state'], string> = {
  waiting: 'not in a mempool yet',
  mempool: 'in the mempool',
  confirmed: 'confirmed',
  ended: 'no longer followed: the position settled',
};

/**
 * What the node is pushing to confirmation for this CFD (its fee bumper): each transaction, the
 * rate it pays against the rate its deadline needs, and what the bumps cost of the budget.
 */
function Confirming({
  cfdId,
  bumps,
  budget,
  spent,
  onBumped,
}: {
  cfdId: string;
  bumps: BumpView[];
  budget: string;
  spent: string;
  onBumped: (r: BumpResult) => void;
}) {
  const [asking, setAsking] = useState(false);
  if (bumps.length === 0) return null;
  const unconfirmed = bumps.some((b) => b.state !== 'confirmed');
  return (
    <div className="subpanel" data-testid="cfd-confirming">
      <h3>Confirming</h3>
      {bumps.map((b) => (
        <div key={`${b.kind}-${b.txid}`} className="bump" data-testid={`bump-${b.kind}`}>
          <Row label={`${b.kind} tx`}>
            <span className="small">
              <Txid txid={b.txid} />
            </span>{' '}
            <span className={b.state === 'confirmed' ? 'gain' : 'muted'} data-testid="bump-state">
              {STATE_TEXT[b.state]}
            </span>
          </Row>
          {b.state !== 'confirmed' && (
            <Row label="Fee">
              paying {b.rate} sat/vB
              {b.targetRate !== null && <>, target {b.targetRate} sat/vB</>}
              {b.childTxid && (
                <span className="small">
                  {' '}
                  (child <Txid txid={b.childTxid} />)
                </span>
              )}
            </Row>
          )}
          {b.state !== 'confirmed' && (
            <Row label="Deadline">
              height {b.deadlineHeight}
              {b.blocksLeft !== null && `, ${b.blocksLeft} blocks left`}
            </Row>
          )}
          {b.spent !== '0' && <Row label="Bumps cost">{sats(b.spent)}</Row>}
          {b.capped && (
            <div className="warn small" data-testid="bump-capped">
              Held back by your budget or cap: it pays less than its deadline needs. Raise
              --bump-budget or --max-fee-rate if it must confirm in time.
            </div>
          )}
          {b.lastError && <div className="error small">Last attempt: {b.lastError}</div>}
        </div>
      ))}
      <Row label="Spent of budget" testId="bump-spent">
        {sats(spent)} of {sats(budget)}
      </Row>
      {unconfirmed && (
        <button type="button" onClick={() => setAsking(true)} data-testid="bump-now">
          Bump now
        </button>
      )}
      {asking && (
        <ConfirmDialog
          title="Bump the fees now?"
          confirmLabel="Bump now"
          onClose={() => setAsking(false)}
          onConfirm={async () =>
            onBumped(await post<BumpResult>(`/api/cfds/${encodeURIComponent(cfdId)}/bump`))
          }
        >
          <p>
            Raises the fees of this CFD's unconfirmed transactions toward the next block, now rather
            than at the next block.
          </p>
          <p className="muted">
            It spends from your wallet, within the bump budget ({sats(spent)} of {sats(budget)}{' '}
            spent) and your fee-rate cap.
          </p>
        </ConfirmDialog>
      )}
    </div>
  );
}
