/** The shapes the application service answers besides the views (node/app/views/). */

import type { ComponentHealth } from '../runtime/health.ts';
import type { Balance } from '../wallet/wallet.ts';
import type { MakerPolicy, TakerLimitsView } from './domain.ts';
import type { CurvePoint } from './preview.ts';
import type { BumpView, CfdView } from './views/cfd.ts';
import type { OfferView } from './views/offer.ts';

/** The offers a user can see now, and why there are none when there are none. */
export interface OffersView {
  readonly offers: readonly OfferView[];
  /** Set when `offers` is empty: what is missing (no maker connected, feed stale…). */
  readonly reason: string | null;
}

/** Who the node is (`GET /api/node` adds the version). */
export interface NodeView {
  readonly role: 'maker' | 'taker';
  readonly peerId: string;
  readonly network: string;
  readonly multiaddrs: string[];
  readonly makers: readonly string[];
  /** Block explorer page of a transaction, `{txid}` where the id goes; null: none (regtest). */
  readonly explorer: string | null;
}

/** `GET /api/node`: who the node is, and its version. */
export interface NodeInfo extends NodeView {
  readonly version: string;
}

/** `GET /api/cfds/{id}`: the CFD's view with its payout chart's points. */
export interface CfdDetail extends CfdView {
  readonly payoutCurve: readonly CurvePoint[];
}

/** `POST /api/orders` (202): the maker accepted the order; setup goes on. */
export interface PlacedOrder {
  /** Also the CFD's id. */
  readonly orderId: string;
  /** The offer taken (for `POST /api/orders/best`, the one chosen). */
  readonly offerId: string;
  /** The contract's price: the offer's. */
  readonly price: string;
}

/** What "bump now" answers: how each bump stands after the attempt. */
export interface BumpResult {
  readonly bumps: readonly BumpView[];
  readonly bumpBudgetSats: string;
  readonly bumpSpentSats: string;
}

/** A change the live feed shows (service.ts `AppService.subscribe`). */
export type AppChange =
  | { readonly type: 'health' | 'offers' | 'wallet' | 'quote' }
  | { readonly type: 'cfds'; readonly views: readonly CfdView[] }
  | { readonly type: 'limits'; readonly limits: TakerLimitsView }
  | { readonly type: 'policy'; readonly policy: MakerPolicy };

/** What the metrics read. */
export interface Gauges {
  readonly components: readonly ComponentHealth[];
  readonly eventStoreHead: number;
  readonly wallet: { readonly balance: Balance; readonly height: number | undefined } | undefined;
  readonly quoteAgeMs: number | undefined;
}
