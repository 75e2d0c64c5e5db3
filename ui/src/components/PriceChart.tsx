// BTCUSD bid and ask over a chosen timeframe, told apart by colour and dash (with a legend), axes
// with their units, and the entry and liquidation prices of the open positions as lines.
import { useMemo, useState } from 'react';
import type uPlot from 'uplot';
import { shortId, usd } from '../format';
import type { QuotePoint } from '../live';
import type { CfdView, QuoteView } from '../types';
import { Chart } from './Chart';
import { Panel } from './common';

const BID = '#26a69a';
const ASK = '#ef5350';
const ENTRY = '#f0b90b';
const LIQUIDATION = '#c678dd';

const SERIES: uPlot.Series[] = [
  { label: 'Bid (USD)', stroke: BID, width: 2 },
  { label: 'Ask (USD)', stroke: ASK, width: 1.5, dash: [6, 4] },
];

/** The timeframes offered, seconds; the node keeps an hour of history. */
const TIMEFRAMES = [
  { label: '5m', secs: 300 },
  { label: '15m', secs: 900 },
  { label: '1h', secs: 3600 },
] as const;

/** States whose position is (still) exposed to the price: its lines are drawn. */
const EXPOSED = new Set(['open', 'rollover', 'pendingOpen', 'pendingCommit', 'openCommitted']);

interface PriceLine {
  kind: 'entry' | 'liquidation';
  price: number;
  text: string;
  cfdId: string;
}

/** Entry and liquidation lines of the positions still exposed to the price. */
function linesOf(cfds: Map<string, CfdView> | null): PriceLine[] {
  const out: PriceLine[] = [];
  for (const c of cfds?.values() ?? []) {
    if (!EXPOSED.has(c.state)) continue;
    const id = shortId(c.id, 6);
    // Display only: a price string becomes a pixel position.
    out.push({
      kind: 'entry',
      price: Number.parseFloat(c.initialPrice),
      text: `entry ${usd(c.initialPrice)} (${c.position} ${id})`,
      cfdId: c.id,
    });
    if (c.liquidationPrice) {
      out.push({
        kind: 'liquidation',
        price: Number.parseFloat(c.liquidationPrice),
        text: `liq. ${usd(c.liquidationPrice)} (${c.position} ${id})`,
        cfdId: c.id,
      });
    }
  }
  return out;
}

/**
 * BTCUSD bid and ask: the node's recent history (up to the last hour, sent on connect) continued
 * by the live feed.
 */
export function PriceChart({
  quotes,
  quote,
  quoteKnown,
  cfds,
}: {
  quotes: QuotePoint[];
  quote: QuoteView | null;
  quoteKnown: boolean;
  /** The node's positions: the open ones' entry and liquidation prices are drawn. */
  cfds: Map<string, CfdView> | null;
}) {
  const [timeframe, setTimeframe] = useState<number>(900);
  const shown = useMemo(() => {
    const newest = quotes[quotes.length - 1];
    return newest ? quotes.filter((q) => q.t >= newest.t - timeframe) : quotes;
  }, [quotes, timeframe]);
  const data = useMemo<uPlot.AlignedData>(() => {
    // A lone quote is carried to now, so the chart shows a line over the last minute rather
    // than a dot on an axis of years (the feed sends a quote only when the price moves).
    const last = shown[shown.length - 1];
    const now = Date.now() / 1000;
    const points =
      last && shown.length === 1 && now > last.t ? [...shown, { ...last, t: now }] : shown;
    return [points.map((q) => q.t), points.map((q) => q.bid), points.map((q) => q.ask)];
  }, [shown]);
  const lines = useMemo(() => linesOf(cfds), [cfds]);
  const entries = lines.filter((l) => l.kind === 'entry').map((l) => l.price);
  const drawKey = lines.map((l) => `${l.kind}${l.price}`).join(',');
  // The y axis takes in the entry prices (near the market); liquidation prices far off are
  // marked at the chart's edge instead of squashing the prices into a flat line.
  const yRange = (min: number, max: number): [number, number] => {
    const lo = Math.min(min, ...entries);
    const hi = Math.max(max, ...entries);
    const pad = Math.max((hi - lo) * 0.1, hi * 0.0005, 1);
    return [lo - pad, hi + pad];
  };
  const draw = (u: uPlot) => drawLines(u, lines);
  return (
    <Panel
      title="BTCUSD"
      testId="price-panel"
      extra={
        <span className="quote" data-testid="quote">
          {!quoteKnown ? (
            'loading…'
          ) : quote ? (
            <>
              bid <b className="bid">{usd(quote.bid)}</b> · ask{' '}
              <b className="ask">{usd(quote.ask)}</b>
              {quote.stale && <span className="warn"> (stale)</span>}
            </>
          ) : (
            <span className="warn">no price: the price feed has not sent a quote</span>
          )}
        </span>
      }
    >
      <div className="chart-bar">
        <div className="chart-legend" data-testid="price-legend">
          <span className="key" data-testid="legend-bid">
            <i className="swatch" style={{ borderColor: BID }} /> Bid
          </span>
          <span className="key" data-testid="legend-ask">
            <i className="swatch dashed" style={{ borderColor: ASK }} /> Ask
          </span>
          {lines.map((l) => (
            <span
              key={`${l.kind}-${l.cfdId}`}
              className="key"
              data-testid={`legend-${l.kind}`}
              data-line-cfd={l.cfdId}
            >
              <i
                className={`swatch ${l.kind === 'entry' ? 'dashed' : 'dotted'}`}
                style={{ borderColor: l.kind === 'entry' ? ENTRY : LIQUIDATION }}
              />{' '}
              {l.text}
            </span>
          ))}
        </div>
        <fieldset className="timeframe" aria-label="Timeframe">
          {TIMEFRAMES.map((tf) => (
            <button
              key={tf.secs}
              type="button"
              className={timeframe === tf.secs ? 'active' : ''}
              aria-pressed={timeframe === tf.secs}
              onClick={() => setTimeframe(tf.secs)}
              data-testid={`timeframe-${tf.label}`}
            >
              {tf.label}
            </button>
          ))}
        </fieldset>
      </div>
      {/* data-points: how many quotes the chart holds, data-shown: how many it draws (for tests;
          the canvas cannot be read). */}
      <div
        data-testid="price-chart-points"
        data-points={quotes.length}
        data-shown={shown.length}
        data-timeframe={timeframe}
      >
        <Chart
          data={data}
          series={SERIES}
          height={220}
          time
          draw={draw}
          drawKey={drawKey}
          yRange={yRange}
          labels={{ x: 'time (local)', y: 'price (USD)' }}
          legend={false}
          testId="price-chart"
        />
      </div>
    </Panel>
  );
}

/** Each line across the plot, labelled; one beyond the y range as a label at that edge. */
function drawLines(u: uPlot, lines: PriceLine[]) {
  const ctx = u.ctx;
  const { left, top, width, height } = u.bbox;
  const [lo, hi] = [u.scales.y?.min ?? 0, u.scales.y?.max ?? 0];
  const px = devicePixelRatio || 1;
  ctx.save();
  ctx.font = `${11 * px}px system-ui, sans-serif`;
  ctx.textAlign = 'right';
  for (const l of lines) {
    const color = l.kind === 'entry' ? ENTRY : LIQUIDATION;
    ctx.strokeStyle = color;
    ctx.fillStyle = color;
    ctx.lineWidth = 1.5 * px;
    if (l.price >= lo && l.price <= hi) {
      const y = u.valToPos(l.price, 'y', true);
      ctx.setLineDash(l.kind === 'entry' ? [6 * px, 4 * px] : [2 * px, 3 * px]);
      ctx.beginPath();
      ctx.moveTo(left, y);
      ctx.lineTo(left + width, y);
      ctx.stroke();
      ctx.fillText(l.text, left + width - 4 * px, y - 4 * px);
    } else {
      const below = l.price < lo;
      const y = below ? top + height - 6 * px : top + 14 * px;
      ctx.fillText(`${l.text} ${below ? '↓' : '↑'}`, left + width - 4 * px, y);
    }
  }
  ctx.restore();
}
