// The live feed (GET /api/events, server-sent events) as React state. The server sends a full
// snapshot on every (re)connect, so a dropped stream heals itself: EventSource retries on its
// own, and when it gives up (the server answered an error, e.g. 401) we check the session and
// open a new one.
import { useEffect, useState } from 'react';
import { get } from './api';
import type { CfdView, HealthView, MakerPolicy, OffersView, QuoteView, WalletState } from './types';

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
  /** Recent quotes for the chart, oldest first. */
  quotes: QuotePoint[];
  wallet: WalletState | null;
  /** Bumped on every wallet event, so panels refetch history. */
  walletVersion: number;
  /** Maker: the policy as the node applies it (the `policy` event); null until it arrives. */
  policy: MakerPolicy | null;
}

/** Quotes kept for the chart: about ten minutes at one per second. */
const MAX_QUOTES = 600;

const INITIAL: LiveState = {
  connection: 'connecting',
  health: null,
  cfds: null,
  offers: null,
  quote: null,
  quoteKnown: false,
  quotes: [],
  wallet: null,
  walletVersion: 0,
  policy: null,
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
      on<OffersView>(es, 'offers', (s, offers) => ({ ...s, offers }));
      on<QuoteView | null>(es, 'quote', (s, quote) => {
        if (!quote) return { ...s, quote, quoteKnown: true };
        const point = {
          t: quote.receivedAt / 1000,
          bid: Number.parseFloat(quote.bid),
          ask: Number.parseFloat(quote.ask),
        };
        const last = s.quotes[s.quotes.length - 1];
        const quotes = last && last.t >= point.t ? s.quotes : [...s.quotes, point];
        return { ...s, quote, quoteKnown: true, quotes: quotes.slice(-MAX_QUOTES) };
      });
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
