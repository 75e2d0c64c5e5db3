// The live feed (GET /api/events, server-sent events) as React state. The server sends a full
// snapshot on every (re)connect, so a dropped stream heals itself: EventSource retries on its
// own, and when it gives up (the server answered an error, e.g. 401) we check the session and
// open a new one.
import { useEffect, useState } from 'react';
import { get } from './api';
import type {
  AccountView,
  CfdView,
  HealthView,
  MakerPolicy,
  OffersView,
  QuoteHistoryView,
  QuoteView,
  TakerLimitsView,
  WalletState,
} from './types';

export type Connection = 'connecting' | 'live' | 'reconnecting';

export interface QuotePoint {
  /** Unix seconds (uPlot's x axis). */
  t: number;
  bid: number;
  ask: number;
}

export interface LiveState {
  connection: Connection;
  health: HealthView | null;
  cfds: Map<string, CfdView> | null;
  offers: OffersView | null;
  quote: QuoteView | null;
  /** The quote has arrived at least once this session (null means "no quote", not "loading"). */
  quoteKnown: boolean;
  /**
   * Quotes for the chart, oldest first: the node's history (the `quotes` snapshot event, one point
   * per few seconds over the last hour) followed by the live quotes since.
   */
  quotes: QuotePoint[];
  wallet: WalletState | null;
  /** Wallet, margin in contracts, unrealised P/L and equity (the `account` event). */
  account: AccountView | null;
  /** Bumped on every wallet event, so panels refetch history. */
  walletVersion: number;
  /** Maker: the policy as the node applies it (the `policy` event); null until it arrives. */
  policy: MakerPolicy | null;
  /** Taker: its limits as the node applies them (the `limits` event); null until it arrives. */
  limits: TakerLimitsView | null;
  /** How much time the chart keeps, seconds: the node's history window. */
  windowSecs: number;
}

/** The chart shows this much time when the node does not say (its history's window). */
const DEFAULT_WINDOW_SECS = 3600;
/** Bound on the points kept, whatever the window: an hour at one live quote per second. */
const MAX_QUOTES = 3600;

/** Keeps the last `windowSecs` before the newest point, and at most {@link MAX_QUOTES}. */
function bounded(quotes: QuotePoint[], windowSecs: number): QuotePoint[] {
  const newest = quotes[quotes.length - 1];
  if (!newest) return quotes;
  const from = newest.t - windowSecs;
  let i = 0;
  while (i < quotes.length && quotes[i]!.t < from) i++;
  return quotes.slice(Math.max(i, quotes.length - MAX_QUOTES));
}

/** Converts prices for plotting only: the chart needs numbers; nothing is computed from them. */
function point(t: number, bid: string, ask: string): QuotePoint {
  return { t, bid: Number.parseFloat(bid), ask: Number.parseFloat(ask) };
}

const INITIAL: LiveState = {
  connection: 'connecting',
  health: null,
  cfds: null,
  offers: null,
  quote: null,
  quoteKnown: false,
  quotes: [],
  wallet: null,
  account: null,
  walletVersion: 0,
  policy: null,
  limits: null,
  windowSecs: DEFAULT_WINDOW_SECS,
};

export function useLive(onUnauthorized: () => void): LiveState {
  const [state, setState] = useState<LiveState>(INITIAL);

  useEffect(() => {
    let source: EventSource | undefined;
    let retry: ReturnType<typeof setTimeout> | undefined;
    let stopped = false;

    const on = <T>(es: EventSource, name: string, apply: (s: LiveState, data: T) => LiveState) => {
      es.addEventListener(name, (e) => {
        const data = JSON.parse((e as MessageEvent<string>).data) as T;
        setState((s) => apply(s, data));
      });
    };

    const open = () => {
      if (stopped) return;
      const es = new EventSource('/api/events');
      source = es;
      es.onopen = () => setState((s) => ({ ...s, connection: 'live' }));
      es.onerror = () => {
        setState((s) => ({ ...s, connection: 'reconnecting' }));
        if (es.readyState !== EventSource.CLOSED) return; // the browser retries by itself
        es.close();
        // Closed for good: either the session ended (→ login) or the node is away; try again.
        get('/api/session')
          .then(() => {
            retry = setTimeout(open, 2000);
          })
          .catch((err: { status?: number }) => {
            if (err.status === 401) onUnauthorized();
            else retry = setTimeout(open, 2000);
          });
      };
      on<HealthView>(es, 'health', (s, health) => ({ ...s, health }));
      on<{ cfds: CfdView[] }>(es, 'cfds', (s, d) => ({
        ...s,
        cfds: new Map(d.cfds.map((c) => [c.id, c])),
      }));
      on<CfdView>(es, 'cfd', (s, c) => {
        const cfds = new Map(s.cfds ?? []);
        const had = cfds.get(c.id);
        // Events may repeat around a reconnect; the higher version is the newer.
        if (had && had.version > c.version) return s;
        cfds.set(c.id, c);
        return { ...s, cfds };
      });
      on<MakerPolicy>(es, 'policy', (s, policy) => ({ ...s, policy }));
      on<TakerLimitsView>(es, 'limits', (s, limits) => ({ ...s, limits }));
      on<OffersView>(es, 'offers', (s, offers) => ({ ...s, offers }));
      on<QuoteView | null>(es, 'quote', (s, quote) => {
        if (!quote) return { ...s, quote, quoteKnown: true };
        const p = point(quote.receivedAt / 1000, quote.bid, quote.ask);
        const last = s.quotes[s.quotes.length - 1];
        const quotes = last && last.t >= p.t ? s.quotes : [...s.quotes, p];
        return { ...s, quote, quoteKnown: true, quotes: bounded(quotes, s.windowSecs) };
      });
      // The node's history, on every (re)connect: it replaces what we had up to its newest point
      // (filling any gap while disconnected); live quotes newer than that are kept after it.
      on<QuoteHistoryView>(es, 'quotes', (s, h) => {
        const history = h.quotes.map((q) => point(q.t / 1000, q.bid, q.ask));
        const newest = history[history.length - 1]?.t ?? Number.NEGATIVE_INFINITY;
        const windowSecs = h.windowMs / 1000;
        const quotes = bounded([...history, ...s.quotes.filter((q) => q.t > newest)], windowSecs);
        return { ...s, quotes, windowSecs };
      });
      on<AccountView>(es, 'account', (s, account) => ({ ...s, account }));
      on<WalletState>(es, 'wallet', (s, wallet) => ({
        ...s,
        wallet,
        walletVersion: s.walletVersion + 1,
      }));
    };
    open();
    return () => {
      stopped = true;
      clearTimeout(retry);
      source?.close();
    };
  }, [onUnauthorized]);

  return state;
}
