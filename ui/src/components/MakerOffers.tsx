import { btc, group, sats, usd } from '../format';
import type { OffersView } from '../types';
import { Loading, Panel } from './common';

/** The offers this maker publishes now (they follow the feed), or why there are none. */
export function MakerOffers({ offers }: { offers: OffersView | null }) {
  return (
    <Panel title="Current offers" testId="offers-panel">
      {!offers ? (
        <Loading what="offers" />
      ) : offers.offers.length === 0 ? (
        <div className="warn" data-testid="offers-reason">
          {offers.reason ?? 'No offers'}
        </div>
      ) : (
        <table className="table">
          <thead>
            <tr>
              <th>Maker side</th>
              <th className="num">Price</th>
              <th className="num">Quantity (USD)</th>
              <th className="num">Lot (USD)</th>
              <th>Leverages (taker margin per lot, BTC)</th>
              <th className="num" title="Per settlement interval; positive: long pays short">
                Funding rate
              </th>
              <th className="num">Opening fee</th>
            </tr>
          </thead>
          <tbody>
            {offers.offers.map((o) => (
              <tr key={o.id} data-testid={`offer-${o.makerPosition}`}>
                <td className={o.makerPosition}>{o.makerPosition}</td>
                <td className="num">{usd(o.price)}</td>
                <td className="num">
                  {group(o.minQuantity)}–{group(o.maxQuantity)}
                </td>
                <td className="num">{group(o.lotSize)}</td>
                <td className="small">
                  {o.leverages.map((l) => `${l.leverage}× ${btc(l.marginPerLot)}`).join(' · ')}
                </td>
                <td className="num">{o.fundingRate}</td>
                <td className="num">{sats(o.openingFee)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Panel>
  );
}
