// The taker's order entry. Every number shown comes from POST /api/orders/preview (the server
// does the money math). Quantities are lots everywhere; a quantity that cannot be ordered says
// why at once, in lots. The button never blinks while offers follow the price: the last preview
// for the same side, lots and leverage stays until the next one arrives. The confirm dialog
// freezes the preview it opened with: the order names that offer and its price, and the node
// refuses it if the maker's price moved beyond the slippage set here.
import { useEffect, useState } from 'react';
import { post } from '../api';
import { btc, group, sats, signed, usd } from '../format';
import type {
  OffersView,
  OfferView,
  OrderPreview,
  PlacedOrder,
  Position,
  TakerLimitsView,
} from '../types';
import { ConfirmDialog, ErrorLine, Loading, Panel, Row } from './common';
import { shortPeer } from './Health';

/** The node's default maximum slippage, percent (its preview says so too). */
const DEFAULT_SLIPPAGE_PERCENT = '0.5';
/** The most the node accepts, percent. */
const MAX_SLIPPAGE_PERCENT = 5;

/** The offer's range in whole lots (inwards), as the node computes it. */
function lotRange(o: OfferView): { min: bigint; max: bigint } {
  const lot = BigInt(o.lotSize);
  return { min: (BigInt(o.minQuantity) + lot - 1n) / lot, max: BigInt(o.maxQuantity) / lot };
}

/** Why `text` is not a quantity of this offer, in lots; null when it is. */
export function lotsProblem(text: string, o: OfferView): string | null {
  const { min, max } = lotRange(o);
  if (text.trim() === '') return `Enter a quantity: ${min} to ${max} lots`;
  if (!/^\d+$/.test(text.trim()))
    return `Quantity must be a whole number of lots (${min} to ${max})`;
  const n = BigInt(text.trim());
  if (n < min) return `At least ${min} lot${min === 1n ? '' : 's'}`;
  if (n > max) return `At most ${max} lots (${group(o.maxQuantity)} USD)`;
  return null;
}

/** Why `text` is not a slippage in percent; null when it is. */
function slippageProblem(text: string): string | null {
  if (!/^\d+(\.\d{1,2})?$/.test(text.trim()))
    return 'Slippage must be a percentage with at most two decimals';
  if (Number(text) > MAX_SLIPPAGE_PERCENT)
    return `Slippage must be at most ${MAX_SLIPPAGE_PERCENT} %`;
  return null;
}

/** Which maker's offer the panel takes (the order book's choice). */
export interface TradeWith {
  /** The maker per taker side: the chosen one, or whoever quotes the best price of that side. */
  readonly makers: Partial<Record<Position, string>>;
  /** Chosen by the user (else: the best price). */
  readonly chosen: boolean;
  /** Back to the best price. */
  readonly onBest: () => void;
}

export function TradePanel({
  offers,
  limits,
  tradeWith,
}: {
  offers: OffersView | null;
  /** The taker's limits: a change previews again (the preview says whether they allow the order). */
  limits: TakerLimitsView | null;
  /** Which maker to trade with; absent: the first offer of the side. */
  tradeWith?: TradeWith;
}) {
  const [side, setSide] = useState<Position>('long');
  const [lots, setLots] = useState('1');
  const [leverage, setLeverage] = useState(2);
  const [slippage, setSlippage] = useState(DEFAULT_SLIPPAGE_PERCENT);
  const [preview, setPreview] = useState<OrderPreview | null>(null);
  const [previewError, setPreviewError] = useState<string | null>(null);
  /** The preview the confirm dialog opened with: it does not move. */
  const [confirming, setConfirming] = useState<OrderPreview | null>(null);
  const [placed, setPlaced] = useState<PlacedOrder | null>(null);

  const withMaker = tradeWith?.makers[side];
  const offer: OfferView | undefined = offers?.offers.find(
    (o) => o.takerPosition === side && (!tradeWith || o.maker === withMaker),
  );
  const choices = offer?.leverages.map((l) => l.leverage) ?? [];
  const lev = choices.includes(leverage) ? leverage : (choices[0] ?? leverage);
  const lotsError = offer ? lotsProblem(lots, offer) : null;
  const lotCount = lotsError === null ? Number(lots.trim()) : 0;
  const slippageError = slippageProblem(slippage);
  const offerId = offer?.id;
  const limitsKey = limits ? JSON.stringify(limits) : '';
  /** What the preview shown is for: a new offer id alone does not make it stale, another maker does. */
  const previewKey = `${side}:${lotCount}:${lev}:${offer?.maker ?? ''}`;
  const [previewFor, setPreviewFor] = useState('');

  // biome-ignore lint/correctness/useExhaustiveDependencies: a new offer or limits (limitsKey) previews again
  useEffect(() => {
    if (!offerId || lotCount < 1) return;
    let current = true;
    const key = previewKey;
    const t = setTimeout(() => {
      post<OrderPreview>('/api/orders/preview', { offerId, lots: lotCount, leverage: lev })
        .then((p) => {
          if (!current) return;
          setPreview(p);
          setPreviewFor(key);
          setPreviewError(null);
        })
        .catch((err: Error) => {
          if (!current) return;
          setPreviewError(err.message);
        });
    }, 150);
    return () => {
      current = false;
      clearTimeout(t);
    };
  }, [offerId, lotCount, lev, limitsKey]);

  const shown = preview && previewFor === previewKey && lotsError === null ? preview : null;
  const ready = shown !== null && !shown.problem && slippageError === null;
  const slippageBps = slippageError === null ? Math.round(Number(slippage) * 100) : 0;
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
              {tradeWith && (
                <div className="small muted" data-testid="trade-maker" data-maker={offer.maker}>
                  Maker <span title={offer.maker}>{shortPeer(offer.maker)}</span>
                  {tradeWith.chosen ? (
                    <>
                      {' '}
                      (chosen){' '}
                      <button type="button" className="link" onClick={tradeWith.onBest}>
                        best price instead
                      </button>
                    </>
                  ) : (
                    ' (best price)'
                  )}
                </div>
              )}
              {offer.outsideLimits.length > 0 && (
                <div className="warn" data-testid="offer-outside-limits">
                  Outside your limits: {offer.outsideLimits.join('; ')}
                </div>
              )}
              <label className="field">
                <span>Quantity (lots of {group(offer.lotSize)} USD)</span>
                <input
                  type="text"
                  inputMode="numeric"
                  value={lots}
                  onChange={(e) => setLots(e.target.value)}
                  aria-invalid={lotsError !== null}
                  data-testid="trade-lots"
                />
              </label>
              <ErrorLine error={lotsError} testId="trade-lots-error" />
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
              <label className="field">
                <span>Max slippage (%, default {DEFAULT_SLIPPAGE_PERCENT})</span>
                <input
                  type="text"
                  inputMode="decimal"
                  value={slippage}
                  onChange={(e) => setSlippage(e.target.value)}
                  aria-invalid={slippageError !== null}
                  data-testid="trade-slippage"
                />
              </label>
              <ErrorLine error={slippageError} testId="trade-slippage-error" />
              {shown ? (
                <div className="preview" data-testid="trade-preview">
                  <Row label="Quantity">
                    {shown.lots} lot{shown.lots === 1 ? '' : 's'} ({group(shown.quantity)} USD)
                  </Row>
                  <Row label="Margin" testId="preview-margin">
                    {btc(shown.margin)} BTC
                  </Row>
                  <Row label="Liquidation price" testId="preview-liquidation">
                    {shown.liquidationPrice ? usd(shown.liquidationPrice) : 'never'}
                  </Row>
                  <Row
                    label={`Funding (${shown.settlementIntervalSecs / 3600 >= 1 ? `${shown.settlementIntervalSecs / 3600} h` : `${shown.settlementIntervalSecs} s`})`}
                  >
                    {sats(signed(shown.funding))} ({shown.fundingRate} rate)
                  </Row>
                  <Row label="Opening fee">{sats(shown.openingFee)}</Row>
                  <Row label="Tx fee rate">{shown.txFeeRate} sat/vB</Row>
                  {shown.problem && <div className="warn">{shown.problem}</div>}
                </div>
              ) : (
                lotsError === null && !previewError && <Loading what="the order's numbers" />
              )}
              <ErrorLine error={lotsError === null ? previewError : null} testId="preview-error" />
              <button
                type="button"
                className={`primary wide ${side}`}
                disabled={!ready}
                onClick={() => {
                  setPlaced(null);
                  setConfirming(shown);
                }}
                data-testid="trade-submit"
              >
                {side === 'long' ? 'Buy / Long' : 'Sell / Short'}
              </button>
              {placed && (
                <div className="ok" data-testid="trade-placed">
                  Order {placed.orderId.slice(0, 8)} accepted by the maker at {usd(placed.price)}:
                  contract setup is under way (see Positions).
                </div>
              )}
            </>
          )}
        </>
      )}
      {confirming && (
        <ConfirmDialog
          title={`${confirming.takerPosition === 'long' ? 'Long' : 'Short'} ${confirming.lots} lot${confirming.lots === 1 ? '' : 's'} at ${usd(confirming.price)}?`}
          confirmLabel="Place order"
          onClose={() => setConfirming(null)}
          onConfirm={async () => {
            const r = await post<PlacedOrder>('/api/orders', {
              offerId: confirming.offerId,
              lots: confirming.lots,
              leverage: confirming.leverage,
              maxSlippageBps: slippageBps,
            });
            setPlaced(r);
          }}
        >
          <Row label="Price" testId="confirm-price">
            {usd(confirming.price)}
          </Row>
          <Row label="Quantity">{group(confirming.quantity)} USD</Row>
          <Row label="Leverage">{confirming.leverage}×</Row>
          <Row label="Margin locked">{btc(confirming.margin)} BTC</Row>
          <Row label="Liquidation price">
            {confirming.liquidationPrice ? usd(confirming.liquidationPrice) : 'never'}
          </Row>
          <Row label="Funding, first interval">{sats(signed(confirming.funding))}</Row>
          <Row label="Opening fee">{sats(confirming.openingFee)}</Row>
          <Row label="Max slippage" testId="confirm-slippage">
            {(slippageBps / 100).toFixed(2)} %
          </Row>
          <p className="muted">
            The order is made at this price. If the maker's price has moved more than your maximum
            slippage since, the node refuses it and says so.
          </p>
        </ConfirmDialog>
      )}
    </Panel>
  );
}
