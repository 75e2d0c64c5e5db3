/** Every route of the API, in the order the OpenAPI document lists them (route.ts). */
import type { LiveEventName } from '../events.ts';
import { BOOK_ROUTES } from './book.ts';
import { HISTORY_ROUTES } from './history.ts';
import { NODE_ROUTES } from './node.ts';
import type { ApiRoute } from './route.ts';
import { SETTINGS_ROUTES } from './settings.ts';
import { TRADING_ROUTES } from './trading.ts';
import { WALLET_ROUTES } from './wallet.ts';

export const API_ROUTES: readonly ApiRoute[] = [
  ...NODE_ROUTES,
  ...TRADING_ROUTES,
  ...BOOK_ROUTES,
  ...HISTORY_ROUTES,
  ...SETTINGS_ROUTES,
  ...WALLET_ROUTES,
];

/** What each live feed event (`GET /api/events`) carries, as {@link ApiRoute.response}. */
export const LIVE_EVENT_TYPES: Readonly<Record<LiveEventName, string>> = {
  health: 'HealthView',
  cfds: '{ cfds: CfdView[] }',
  cfd: 'CfdView',
  offers: 'OffersView',
  quote: 'QuoteView | null',
  wallet: 'WalletState',
  policy: 'MakerPolicy',
  limits: 'TakerLimitsView',
  quotes: 'QuoteHistoryView',
  account: 'AccountView',
  liquidationWarning: 'LiquidationWarningEvent',
};
