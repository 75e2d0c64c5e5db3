// The taker's order entry. Every number shown comes from POST /api/orders/preview (the server
// does the money math); the order sends the preview's quantity, for the preview's offer.
import { useEffect, useState } from 'react';
import { post } from '../api';
import { btc, group, sats, signed, usd } from '../format';
import type { OffersView, OfferView, OrderPreview, Position, TakerLimitsView } from '../types';
import { ConfirmDialog, ErrorLine, Loading, Panel, Row } from './common';

export function TradePanel({
  offers,
  limits,
}: {
  offers: OffersView | null;
  /** The taker's limits: a change previews again (the preview says whether they allow the order). */
  limits: TakerLimitsView | null;
}) {
  const [side, setSide] = useState<Position>('long');
  const [lots, setLots] = useState('1');
  const [leverage, setLeverage] = useState(2);
  const [preview, setPreview] = useState<OrderPreview | null>(null);
  const [previewError, setPreviewError] = useState<string | null>(null);
  const [confirming, setConfirming] = useState(false);
  const [placed, setPlaced] = useState<string | null>(null);

  const offer: OfferView | undefined = offers?.offers.find((o) => o.takerPosition === side);
  const choices = offer?.leverages.map((l) => l.leverage) ?? [];
  const lev = choices.includes(leverage) ? leverage : (choices[0] ?? leverage);
  const lotCount = /^\d+$/.test(lots) ? Number.parseInt(lots, 10) : 0;
  const offerId = offer?.id;
  const limitsKey = limits ? JSON.stringify(limits) : '';

  // biome-ignore lint/correctness/useExhaustiveDependencies: a limits change (limitsKey) previews again
  useEffect(() => {
    if (!offerId || lotCount < 1) {
      setPreview(null);
      return;
    }
    let current = true;
    const t = setTimeout(() => {
      post<OrderPreview>('/api/orders/preview', { offerId, lots: lotCount, leverage: lev })
        .then((p) => {
          if (!current) return;
          setPreview(p);
          setPreviewError(null);
        })
        .catch((err: Error) => {
          if (!current) return;
          setPreview(null);
          setPreviewError(err.message);
        });
    }, 150);
    return () => {
      current = false;
      clearTimeout(t);
    };
  }, [offerId, lotCount, lev, limitsKey]);

  const ready = preview && preview.offerId === offerId && !preview.problem && lotCount >= 1;
  return (
    <Panel title="Trade" testId="trade-panel">
      {!offers ? (
        <Loading what="offers" />
      ) : (
        <>
          <fieldset className="segmented" aria-label="Side">
            {(['long', 'short'] as const).map((p) => (
              <button
                key={p}
                type="button"
                className={side === p ? `active ${p}` : ''}
                onClick={() => setSide(p)}
                data-testid={`side-${p}`}
                aria-pressed={side === p}
              >
                {p === 'long' ? 'Long' : 'Short'}
              </button>
            ))}
          </fieldset>
          {!offer ? (
            <div className="warn" data-testid="no-offer">
              No {side} offer now{offers.reason ? `: ${offers.reason}` : ''}
            </div>
          ) : (
            <>
              <Row label="Price" testId="offer-price">
                {usd(offer.price)}
              </Row>
              {offer.outsideLimits.length > 0 && (
                <div className="warn" data-testid="offer-outside-limits">
                  Outside your limits: {offer.outsideLimits.join('; ')}
                </div>
              )}
              <label className="field">
                <span>Quantity (lots of {group(offer.lotSize)} USD)</span>
                <input
                  type="number"
                  min={1}
                  step={1}
                  value={lots}
                  onChange={(e) => setLots(e.target.value)}
                  data-testid="trade-lots"
                />
              </label>
              <label className="field">
                <span>Leverage</span>
                <select
                  value={lev}
                  onChange={(e) => setLeverage(Number(e.target.value))}
                  data-testid="trade-leverage"
                >
                  {choices.map((l) => (
                    <option key={l} value={l}>
                      {l}×
                    </option>
                  ))}
                </select>
              </label>
              {preview ? (
                <div className="preview" data-testid="trade-preview">
                  <Row label="Quantity">{group(preview.quantity)} USD</Row>
                  <Row label="Margin" testId="preview-margin">
                    {btc(preview.margin)} BTC
                  </Row>
                  <Row label="Liquidation price" testId="preview-liquidation">
                    {preview.liquidationPrice ? usd(preview.liquidationPrice) : 'never'}
                  </Row>
                  <Row
                    label={`Funding (${preview.settlementIntervalSecs / 3600 >= 1 ? `${preview.settlementIntervalSecs / 3600} h` : `${preview.settlementIntervalSecs} s`})`}
                  >
                    {sats(signed(preview.funding))} ({preview.fundingRate} rate)
                  </Row>
                  <Row label="Opening fee">{sats(preview.openingFee)}</Row>
                  <Row label="Tx fee rate">{preview.txFeeRate} sat/vB</Row>
                  <Row label="Lots allowed">
                    {preview.minLots}–{preview.maxLots}
                  </Row>
                  {preview.problem && <div className="warn">{preview.problem}</div>}
                </div>
              ) : (
                !previewError && <Loading what="the order's numbers" />
              )}
              <ErrorLine error={previewError} testId="preview-error" />
              <button
                type="button"
                className={`primary wide ${side}`}
                disabled={!ready}
                onClick={() => setConfirming(true)}
                data-testid="trade-submit"
              >
                {side === 'long' ? 'Buy / Long' : 'Sell / Short'}
              </button>
              {placed && (
                <div className="ok" data-testid="trade-placed">
                  Order {placed.slice(0, 8)} sent: contract setup is under way (see Positions).
                </div>
              )}
            </>
          )}
        </>
      )}
      {confirming && preview && (
        <ConfirmDialog
          title={`${preview.takerPosition === 'long' ? 'Long' : 'Short'} ${group(preview.quantity)} USD at ${usd(preview.price)}?`}
          confirmLabel="Place order"
          onClose={() => setConfirming(false)}
          onConfirm={async () => {
            const r = await post<{ orderId: string }>('/api/orders', {
              offerId: preview.offerId,
              quantity: preview.quantity,
              leverage: preview.leverage,
            });
            setPlaced(r.orderId);
          }}
        >
          <Row label="Leverage">{preview.leverage}×</Row>
          <Row label="Margin locked">{btc(preview.margin)} BTC</Row>
          <Row label="Liquidation price">
            {preview.liquidationPrice ? usd(preview.liquidationPrice) : 'never'}
          </Row>
          <Row label="Funding, first interval">{sats(signed(preview.funding))}</Row>
          <Row label="Opening fee">{sats(preview.openingFee)}</Row>
          <p className="muted">
            Offers follow the price; if this one has been replaced, the node refuses the order and
            says so.
          </p>
        </ConfirmDialog>
      )}
    </Panel>
  );
}
