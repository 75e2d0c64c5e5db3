// The app shell: session check, login, and the role's dashboard fed by the live feed.
import { useCallback, useEffect, useState } from 'react';
import { get, post, UNAUTHORIZED_EVENT } from './api';
import { ErrorLine, Loading, StatusDot } from './components/common';
import { FeeLine } from './components/Fees';
import { Health } from './components/Health';
import { Login } from './components/Login';
import { MakerOffers } from './components/MakerOffers';
import { MakerPolicy } from './components/MakerPolicy';
import { Positions } from './components/Positions';
import { PriceChart } from './components/PriceChart';
import { Security } from './components/Security';
import { TakerLimits } from './components/TakerLimits';
import { TradePanel } from './components/TradePanel';
import { ExplorerContext } from './components/Txid';
import { Wallet } from './components/Wallet';
import { shortId } from './format';
import { useLive } from './live';
import type { NodeInfo } from './types';

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
  const logout = () => {
    void post('/api/logout').finally(onLoggedOut);
  };
  return (
    <ExplorerContext.Provider value={node.explorer}>
      <div className="app" data-role={node.role}>
        <header className="topbar">
          <span className="brand">dlcfd</span>
          <span className="tag" data-testid="node-role">
            {node.role}
          </span>
          <span className="muted small" title={node.peerId}>
            {node.network} · {shortId(node.peerId, 14)} · v{node.version}
          </span>
          <FeeLine health={live.health} />
          <span className="spacer" />
          {live.health && (
            <span className={`status-text status-${live.health.overall}`} title="overall health">
              <StatusDot status={live.health.overall} /> {live.health.overall}
            </span>
          )}
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
            <PriceChart quotes={live.quotes} quote={live.quote} quoteKnown={live.quoteKnown} />
            {node.role === 'maker' && <MakerOffers offers={live.offers} />}
            <Positions cfds={live.cfds} role={node.role} />
            <Health health={live.health} />
          </div>
          <div className="col-side">
            {node.role === 'taker' ? (
              <>
                <TradePanel offers={live.offers} limits={live.limits} />
                <TakerLimits live={live.limits} />
              </>
            ) : (
              <MakerPolicy live={live.policy} />
            )}
            <Wallet wallet={live.wallet} version={live.walletVersion} account={live.account} />
            <Security />
          </div>
        </main>
      </div>
    </ExplorerContext.Provider>
  );
}
