import { useMemo } from 'react';
import type uPlot from 'uplot';
import { usd } from '../format';
import type { QuotePoint } from '../live';
import type { QuoteView } from '../types';
import { Chart } from './Chart';
import { Panel } from './common';

const SERIES: uPlot.Series[] = [
  { label: 'Bid', stroke: '#26a69a', width: 1.5 },
  { label: 'Ask', stroke: '#ef5350', width: 1.5 },
];

/**
 * BTCUSD bid and ask: the node's recent history (up to the last hour, sent on connect) continued
 * by the live feed.
 */
export function PriceChart({
  quotes,
  quote,
  quoteKnown,
}: {
  quotes: QuotePoint[];
  quote: QuoteView | null;
  quoteKnown: boolean;
}) {
  const data = useMemo<uPlot.AlignedData>(() => {
    // A lone quote is carried to now, so the chart shows a line over the last minute rather
    // than a dot on an axis of years (the feed sends a quote only when the price moves).
    const last = quotes[quotes.length - 1];
    const now = Date.now() / 1000;
    const points =
      last && quotes.length === 1 && now > last.t ? [...quotes, { ...last, t: now }] : quotes;
    return [points.map((q) => q.t), points.map((q) => q.bid), points.map((q) => q.ask)];
  }, [quotes]);
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
              bid <b>{usd(quote.bid)}</b> · ask <b>{usd(quote.ask)}</b>
              {quote.stale && <span className="warn"> (stale)</span>}
            </>
          ) : (
            <span className="warn">no price: the price feed has not sent a quote</span>
          )}
        </span>
      }
    >
      {/* data-points: how many quotes the chart holds (for tests; the canvas cannot be read). */}
      <div data-testid="price-chart-points" data-points={quotes.length}>
        <Chart data={data} series={SERIES} height={220} time testId="price-chart" />
      </div>
    </Panel>
  );
}
