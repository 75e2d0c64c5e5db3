// The node's health as a compact header indicator (ok / degraded / down) that opens the table of
// every subsystem, each named by what it is ("maker peer 12D3…abcd", not a 52-character id).
import { useEffect, useRef, useState } from 'react';
import { ago, time } from '../format';
import type { HealthView, Role } from '../types';
import { Loading, StatusDot, useNow } from './common';

/** What each subsystem is, in words. */
const LABEL: Record<string, string> = {
  database: 'database (event log)',
  chain: 'chain backend',
  'chain-monitor': 'chain monitor',
  wallet: 'wallet',
  oracle: 'oracle',
  pricefeed: 'price feed',
  p2p: 'p2p network',
  offers: 'offers',
  cfds: 'CFD handling',
  fees: 'fee market',
};

const PEER_ID = /12D3KooW[1-9A-HJ-NP-Za-km-z]{44}/g;

/** A libp2p peer id shortened to its head and tail: `12D3…abcd`. */
export function shortPeer(id: string): string {
  return id.length > 12 ? `${id.slice(0, 4)}…${id.slice(-4)}` : id;
}

/** A subsystem's name for a person: peers by the role they have for this node. */
export function componentLabel(name: string, role: Role): string {
  if (name.startsWith('peer:')) {
    // A taker's peers are its makers; a maker's peers are takers.
    return `${role === 'taker' ? 'maker' : 'taker'} peer ${shortPeer(name.slice(5))}`;
  }
  return LABEL[name] ?? name;
}

/** Peer ids in a detail text, shortened (the whole text stays in the tooltip). */
const shortenIds = (text: string): string => text.replace(PEER_ID, shortPeer);

/** The overall status, in the header; a click opens the table of every subsystem. */
export function HealthIndicator({ health, role }: { health: HealthView | null; role: Role }) {
  const [open, setOpen] = useState(false);
  const box = useRef<HTMLDivElement>(null);
  // Closes on Escape and on a click elsewhere.
  useEffect(() => {
    if (!open) return;
    const key = (e: KeyboardEvent) => e.key === 'Escape' && setOpen(false);
    const click = (e: MouseEvent) => {
      if (box.current && !box.current.contains(e.target as Node)) setOpen(false);
    };
    window.addEventListener('keydown', key);
    window.addEventListener('mousedown', click);
    return () => {
      window.removeEventListener('keydown', key);
      window.removeEventListener('mousedown', click);
    };
  }, [open]);
  const overall = health?.overall ?? 'starting';
  const notOk = health?.components.filter((c) => c.status !== 'ok').length ?? 0;
  return (
    <div className="health-indicator" ref={box}>
      <button
        type="button"
        className={`health-button status-${overall}`}
        aria-expanded={open}
        aria-haspopup="true"
        title="Health of every subsystem"
        onClick={() => setOpen((o) => !o)}
        data-testid="health-indicator"
        data-status={overall}
      >
        <StatusDot status={overall} /> {health ? overall : 'health…'}
        {notOk > 0 && <span className="muted small"> · {notOk} not ok</span>}
      </button>
      {open && (
        <div className="health-popover" role="dialog" aria-label="Health">
          <HealthTable health={health} role={role} />
        </div>
      )}
    </div>
  );
}

/** Every subsystem's health as the node reports it, live. */
export function HealthTable({ health, role }: { health: HealthView | null; role: Role }) {
  const now = useNow();
  return (
    <section className="panel" data-testid="health-panel">
      <header>
        <h2>Health</h2>
        {health && (
          <span className={`status-text status-${health.overall}`} data-testid="health-overall">
            <StatusDot status={health.overall} /> {health.overall}
          </span>
        )}
      </header>
      <div className="panel-body">
        {!health ? (
          <Loading what="health" />
        ) : (
          <div className="scroll">
            <table className="table">
              <thead>
                <tr>
                  <th>Subsystem</th>
                  <th>Status</th>
                  <th>Since</th>
                  <th>Detail / last error</th>
                  <th className="num">Restarts</th>
                </tr>
              </thead>
              <tbody>
                {health.components.map((c) => (
                  <tr key={c.name} data-testid={`health-${c.name}`} data-status={c.status}>
                    <td className="nowrap" title={c.name} data-testid="health-name">
                      {componentLabel(c.name, role)}
                    </td>
                    <td className={`status-${c.status} nowrap`}>
                      <StatusDot status={c.status} /> {c.status}
                    </td>
                    <td className="nowrap" title={time(c.since)}>
                      {ago(c.since, now)}
                    </td>
                    <td className="wrap">
                      {c.detail && <div title={c.detail}>{shortenIds(c.detail)}</div>}
                      {c.lastError && (
                        <div
                          className="muted"
                          title={`${time(c.lastError.at)}: ${c.lastError.message}`}
                        >
                          {ago(c.lastError.at, now)}: {shortenIds(c.lastError.message)}
                        </div>
                      )}
                    </td>
                    <td className="num">{c.restarts}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </div>
    </section>
  );
}
