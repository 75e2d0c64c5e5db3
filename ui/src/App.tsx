// The app shell: session check, login, and the role's dashboard fed by the live feed, with a
// position's page at its own address (#/cfd/<id>, route.ts).
import { useCallback, useEffect, useState } from 'react';
import { get, post, UNAUTHORIZED_EVENT } from './api';
import { CfdDetail } from './components/CfdDetail';
import { ErrorLine, Loading } from './components/common';
import { FeeLine } from './components/Fees';
import { HealthIndicator, shortPeer } from './components/Health';
import { PositionHistory } from './components/History';
import { Login } from './components/Login';
import { MakerOffers } from './components/MakerOffers';
import { MakerPolicy } from './components/MakerPolicy';
import { OrderBook, useBook } from './components/OrderBook';
import { Positions } from './components/Positions';
import { PriceChart } from './components/PriceChart';
import { Security } from './components/Security';
import { TakerLimits } from './components/TakerLimits';
import { TradePanel, type TradeWith } from './components/TradePanel';
import { ExplorerContext } from './components/Txid';
import { Wallet } from './components/Wallet';
import { btc, shortId } from './format';
import { useLive } from './live';
import { HOME_HREF, navigate, useRoute } from './route';
import type { CfdView, NodeInfo, OffersView, WalletState } from './types';

type Session = 'checking' | 'out' | 'in';

export function App() {
  const [session, setSession] = useState<Session>('checking');
  const [error, setError] = useState<string | null>(null);
  const [node, setNode] = useState<NodeInfo | null>(null);

  const loggedOut = useCallback(() => {
    setSession('out');
    setNode(null);
  }, []);

  useEffect(() => {
    window.addEventListener(UNAUTHORIZED_EVENT, loggedOut);
    return () => window.removeEventListener(UNAUTHORIZED_EVENT, loggedOut);
  }, [loggedOut]);

  // Is there a session? Retries while the node does not answer, saying so.
  useEffect(() => {
    if (session !== 'checking') return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const check = () => {
      get('/api/session')
        .then(() => setSession('in'))
        .catch((err: { status?: number; message: string }) => {
          if (err.status === 401) setSession('out');
          else {
            setError(err.message);
            timer = setTimeout(check, 2000);
          }
        });
    };
    check();
    return () => clearTimeout(timer);
  }, [session]);

  useEffect(() => {
    if (session !== 'in') return;
    let current = true;
    get<NodeInfo>('/api/node')
      .then((n) => {
        if (current) {
          setNode(n);
          setError(null);
        }
      })
      .catch((err: Error) => current && setError(err.message));
    return () => {
      current = false;
    };
  }, [session]);

  if (session === 'checking') {
    return (
      <main className="center">
        <Loading what="dlcfd" />
        <ErrorLine error={error} />
      </main>
    );
  }
  if (session === 'out') return <Login onLoggedIn={() => setSession('checking')} />;
  if (!node) {
    return (
      <main className="center">
        {error ? <ErrorLine error={error} /> : <Loading what="node" />}
      </main>
    );
  }
  return <Dashboard node={node} onLoggedOut={loggedOut} />;
}

function Dashboard({ node, onLoggedOut }: { node: NodeInfo; onLoggedOut: () => void }) {
  const live = useLive(onLoggedOut);
  const market = useMarket(node.role === 'taker', live.offers);
  const route = useRoute();
  const logout = () => {
    void post('/api/logout').finally(onLoggedOut);
  };
  const selected = route.page === 'cfd' ? route.id : null;
  return (
    <ExplorerContext.Provider value={node.explorer}>
      <div className="app" data-role={node.role}>
        <header className="topbar">
          <a className="brand" href={HOME_HREF}>
            dlcfd
          </a>
          <span className="tag" data-testid="node-role">
            {node.role}
          </span>
          <span className="muted small node-id" title={node.peerId}>
            {node.network} · {shortPeer(node.peerId)} · v{node.version}
          </span>
          <span className="fees">
            <FeeLine health={live.health} />
          </span>
          <span className="spacer" />
          <WalletSummary wallet={live.wallet} />
          <HealthIndicator health={live.health} role={node.role} />
          <span className={`conn conn-${live.connection}`} data-testid="connection">
            {live.connection === 'live'
              ? 'live'
              : live.connection === 'connecting'
                ? 'connecting…'
                : 'reconnecting…'}
          </span>
          <button type="button" onClick={logout} data-testid="logout">
            Log out
          </button>
        </header>
        <main className="grid">
          <div className="col-main">
            {selected !== null && (
              <div className="slot slot-detail">
                <PositionPage id={selected} cfds={live.cfds} />
              </div>
            )}
            <div className="slot slot-chart">
              <PriceChart
                quotes={live.quotes}
                quote={live.quote}
                quoteKnown={live.quoteKnown}
                cfds={live.cfds}
              />
            </div>
            {node.role === 'maker' && (
              <div className="slot slot-offers">
                <MakerOffers offers={live.offers} />
              </div>
            )}
            {market && (
              <div className="slot slot-book">
                <OrderBook {...market.bookProps} />
              </div>
            )}
            <div className="slot slot-positions">
              <Positions cfds={live.cfds} role={node.role} selected={selected} />
            </div>
          </div>
          <div className="col-side">
            {/* The taker trades first, then sees its wallet; the maker's wallet comes before its
                long policy form. */}
            {node.role === 'taker' && (
              <div className="slot slot-trade">
                <TradePanel
                  offers={live.offers}
                  limits={live.limits}
                  {...(market ? { tradeWith: market.tradeWith } : {})}
                />
              </div>
            )}
            <div className="slot slot-wallet" id="wallet">
              <Wallet wallet={live.wallet} version={live.walletVersion} account={live.account} />
            </div>
            <div className="slot slot-settings">
              {node.role === 'taker' ? (
                <TakerLimits live={live.limits} />
              ) : (
                <MakerPolicy live={live.policy} />
              )}
            </div>
            <div className="slot slot-security">
              <Security />
            </div>
          </div>
        </main>
      </div>
    </ExplorerContext.Provider>
  );
}

/**
 * The taker's market: the order book of the chosen product (refetched on each offers event) and
 * the maker the trade panel trades with — one the user chose in the book, or, per side, the one
 * quoting the best price. Null on a maker.
 */
function useMarket(taker: boolean, offers: OffersView | null) {
  const [symbol, setSymbol] = useState('BTCUSD');
  const [chosen, setChosen] = useState<string | null>(null);
  const { book, error, reload } = useBook(symbol, offers, taker);
  if (!taker) return null;
  const tradeWith: TradeWith = {
    makers: chosen
      ? { long: chosen, short: chosen }
      : {
          ...(book?.bestAsk ? { long: book.bestAsk.maker } : {}),
          ...(book?.bestBid ? { short: book.bestBid.maker } : {}),
        },
    chosen: chosen !== null,
    onBest: () => setChosen(null),
  };
  return {
    tradeWith,
    bookProps: {
      book,
      error,
      symbol,
      onSymbol: setSymbol,
      tradeMaker: chosen,
      onTradeMaker: setChosen,
      onChanged: reload,
    },
  };
}

/** The spendable balance in the header, always in view; a click goes to the wallet panel. */
function WalletSummary({ wallet }: { wallet: WalletState | null }) {
  if (!wallet?.available) return null;
  return (
    <button
      type="button"
      className="wallet-summary small"
      onClick={() => document.getElementById('wallet')?.scrollIntoView({ behavior: 'smooth' })}
      title="Spendable balance; shows the wallet"
      data-testid="wallet-summary"
    >
      Wallet {btc(wallet.balance.spendable)} BTC
    </button>
  );
}

/** A position's own page (#/cfd/<id>): its detail and its history, or why there is none. */
function PositionPage({ id, cfds }: { id: string; cfds: Map<string, CfdView> | null }) {
  const cfd = cfds?.get(id);
  const back = () => navigate(HOME_HREF);
  return (
    <section className="panel" data-testid="position-page" data-position-id={id}>
      <header>
        <h2>
          Position <span className="mono">{shortId(id, 8)}</span>
        </h2>
        <a href={HOME_HREF} data-testid="position-back">
          ← all positions
        </a>
      </header>
      <div className="panel-body">
        {!cfds ? (
          <Loading what="position" />
        ) : !cfd ? (
          <div className="warn" data-testid="position-missing">
            This node has no position {id}.
          </div>
        ) : (
          <>
            <CfdDetail cfd={cfd} onClose={back} />
            <PositionHistory cfd={cfd} />
          </>
        )}
      </div>
    </section>
  );
}
