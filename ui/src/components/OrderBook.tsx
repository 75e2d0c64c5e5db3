// The taker's order book across makers (GET /api/book): a product switch, the best bid and ask,
// and the depth by maker with its record as this node saw it, with the user's choices — trade
// with this maker, prefer it (it wins ties on price), block it (its offers leave the book and the
// node hangs up on it). "Take best" sends the trade panel back to the best price of each side.
import { useEffect, useState } from 'react';
import { get, post } from '../api';
import { btc, group, sats, usd } from '../format';
import type { BestQuoteView, BookMakerView, OffersView, OrderBookView } from '../types';
import { ErrorLine, Loading, Panel, StatusDot, useAction, useNow } from './common';
import { shortPeer } from './Health';

/**
 * The book of `symbol`, fetched again on every offers event of the live feed (`offers` changes
 * identity on each) and after each choice; the last one stays while the next loads.
 */
export function useBook(
  symbol: string,
  offers: OffersView | null,
  /** False on a maker: it has no book. */
  enabled: boolean,
): {
  book: OrderBookView | null;
  error: string | null;
  reload: () => void;
} {
  const [book, setBook] = useState<OrderBookView | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [version, setVersion] = useState(0);
  // biome-ignore lint/correctness/useExhaustiveDependencies: each offers event or reload fetches again
  useEffect(() => {
    if (!enabled) return;
    let current = true;
    const t = setTimeout(() => {
      get<OrderBookView>(`/api/book?symbol=${encodeURIComponent(symbol)}`)
        .then((b) => {
          if (!current) return;
          setBook(b);
          setError(null);
        })
        .catch((err: Error) => current && setError(err.message));
    }, 100);
    return () => {
      current = false;
      clearTimeout(t);
    };
  }, [enabled, symbol, offers, version]);
  return {
    book: book?.symbol === symbol ? book : null,
    error,
    reload: () => setVersion((v) => v + 1),
  };
}

function Best({
  label,
  quote,
  testId,
}: {
  label: string;
  quote: BestQuoteView | null;
  testId: string;
}) {
  return (
    <div className="book-best" data-testid={testId} data-maker={quote?.maker ?? ''}>
      <span className="muted small">{label}</span>{' '}
      {quote ? (
        <>
          <strong>{usd(quote.price)}</strong>{' '}
          <span className="muted small" title={quote.maker}>
            {shortPeer(quote.maker)}
            {quote.preferred ? ' ★' : ''}
          </span>
        </>
      ) : (
        <span className="muted">—</span>
      )}
    </div>
  );
}

function MakerRow({
  m,
  trading,
  onTrade,
  onChoice,
  busy,
}: {
  m: BookMakerView;
  trading: boolean;
  onTrade: () => void;
  onChoice: (verb: 'block' | 'unblock' | 'prefer' | 'unprefer') => void;
  busy: boolean;
}) {
  const now = useNow(5000);
  const bid = m.offers.find((o) => o.makerPosition === 'long');
  const ask = m.offers.find((o) => o.makerPosition === 'short');
  const any = ask ?? bid;
  const r = m.record;
  const lastOffer =
    r.lastOfferSecs === null
      ? 'never'
      : `${Math.max(0, Math.round(now / 1000 - r.lastOfferSecs))} s ago`;
  return (
    <tr
      data-testid="book-maker"
      data-maker={m.peerId}
      data-blocked={m.blocked}
      data-preferred={m.preferred}
      className={trading ? 'selected' : m.blocked ? 'muted' : ''}
    >
      <td className="mono small" title={m.peerId}>
        <StatusDot status={r.connected ? 'ok' : 'down'} /> {shortPeer(m.peerId)}
        {m.preferred && (
          <span className="tag" data-testid="book-preferred">
            preferred
          </span>
        )}
        {m.blocked && (
          <span className="tag" data-testid="book-blocked">
            blocked
          </span>
        )}
      </td>
      <td className="num long">{bid ? usd(bid.price) : '—'}</td>
      <td className="num short">{ask ? usd(ask.price) : '—'}</td>
      <td className="num">{any ? `${group(any.minQuantity)}–${group(any.maxQuantity)}` : ''}</td>
      <td className="num">{any ? group(any.lotSize) : ''}</td>
      <td className="small">
        {any?.leverages.map((l) => `${l.leverage}× ${btc(l.marginPerLot)}`).join(' · ')}
      </td>
      <td className="num">{any?.fundingRate ?? ''}</td>
      <td className="num">{any ? sats(any.openingFee) : ''}</td>
      <td className="num">{any ? `${any.ageSecs} s` : ''}</td>
      <td className="small" data-testid="book-record">
        {r.uptimePercent === null ? 'not seen' : `up ${r.uptimePercent} %`} · setups{' '}
        {r.setupsCompleted}✓ {r.setupsFailed + r.setupsRejected}✗ · rollovers {r.rolloversCompleted}
        ✓ {r.rolloversFailed + r.rolloversRejected}✗ · offer {lastOffer}
      </td>
      <td className="actions">
        {!m.blocked && m.offers.length > 0 && (
          <button type="button" onClick={onTrade} disabled={trading} data-testid="book-trade">
            {trading ? 'Trading' : 'Trade'}
          </button>
        )}
        {!m.blocked && (
          <button
            type="button"
            disabled={busy}
            onClick={() => onChoice(m.preferred ? 'unprefer' : 'prefer')}
            data-testid="book-prefer"
          >
            {m.preferred ? 'Unprefer' : 'Prefer'}
          </button>
        )}
        <button
          type="button"
          className={m.blocked ? '' : 'danger'}
          disabled={busy}
          onClick={() => onChoice(m.blocked ? 'unblock' : 'block')}
          data-testid="book-block"
        >
          {m.blocked ? 'Unblock' : 'Block'}
        </button>
      </td>
    </tr>
  );
}

export function OrderBook({
  book,
  error,
  symbol,
  onSymbol,
  tradeMaker,
  onTradeMaker,
  onChanged,
}: {
  book: OrderBookView | null;
  error: string | null;
  symbol: string;
  onSymbol: (symbol: string) => void;
  /** The maker the trade panel trades with; null: the best price of each side. */
  tradeMaker: string | null;
  onTradeMaker: (maker: string | null) => void;
  /** After a block, unblock or preference: fetch the book again. */
  onChanged: () => void;
}) {
  const action = useAction();
  const choose = (peer: string, verb: 'block' | 'unblock' | 'prefer' | 'unprefer') =>
    void action
      .run(() => post(`/api/makers/${peer}/${verb}`))
      .then((r) => {
        if (r === undefined) return;
        if (verb === 'block' && tradeMaker === peer) onTradeMaker(null);
        onChanged();
      });
  const symbols = book?.symbols ?? ['BTCUSD', 'ETHUSD'];
  return (
    <Panel
      title="Order book"
      testId="book-panel"
      extra={
        <fieldset className="segmented book-tabs" aria-label="Product">
          {symbols.map((s) => (
            <button
              key={s}
              type="button"
              className={s === symbol ? 'active' : ''}
              aria-pressed={s === symbol}
              onClick={() => onSymbol(s)}
              data-testid={`book-tab-${s}`}
            >
              {s}
            </button>
          ))}
        </fieldset>
      }
    >
      <ErrorLine error={error} testId="book-error" />
      {!book ? (
        !error && <Loading what="the order book" />
      ) : (
        <>
          <div className="book-bests">
            <Best label="Best bid" quote={book.bestBid} testId="book-best-bid" />
            <Best label="Best ask" quote={book.bestAsk} testId="book-best-ask" />
            <button
              type="button"
              className="primary"
              disabled={!book.bestBid && !book.bestAsk}
              onClick={() => onTradeMaker(null)}
              data-testid="book-take-best"
              title="Trade at the best price of each side, whichever maker quotes it"
            >
              Take best
            </button>
          </div>
          {book.reason && (
            <div className="warn" data-testid="book-empty">
              {book.reason}
            </div>
          )}
          {book.makers.length > 0 && (
            <table className="table book-table">
              <thead>
                <tr>
                  <th>Maker</th>
                  <th className="num">Bid</th>
                  <th className="num">Ask</th>
                  <th className="num">Quantity (USD)</th>
                  <th className="num">Lot</th>
                  <th>Leverages (margin per lot, BTC)</th>
                  <th className="num" title="Per settlement interval; positive: long pays short">
                    Funding
                  </th>
                  <th className="num">Opening fee</th>
                  <th className="num">Age</th>
                  <th>Record (as this node saw it)</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {book.makers.map((m) => (
                  <MakerRow
                    key={m.peerId}
                    m={m}
                    trading={tradeMaker === m.peerId}
                    onTrade={() => onTradeMaker(m.peerId)}
                    onChoice={(verb) => choose(m.peerId, verb)}
                    busy={action.busy}
                  />
                ))}
              </tbody>
            </table>
          )}
          <ErrorLine error={action.error} testId="book-action-error" />
        </>
      )}
    </Panel>
  );
}
