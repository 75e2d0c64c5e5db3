/**
 * Prometheus metrics at `GET /metrics` (behind auth). Every value is read from the node when
 * scraped, so a metric can never disagree with what the API says.
 *
 * - `dlcfd_health_status{component,status}` 1 for the component's current status, 0 otherwise
 * - `dlcfd_health_restarts{component}` supervisor restarts
 * - `dlcfd_cfds{state}` CFDs per UI state
 * - `dlcfd_eventstore_head` global position of the last event written
 * - `dlcfd_wallet_balance_sats{kind}` confirmed / unconfirmed / reserved / spendable (absent
 *   while the wallet is not available)
 * - `dlcfd_wallet_height`, `dlcfd_quote_age_seconds`, `dlcfd_live_feed_clients`
 * - the default Node process metrics, prefixed `dlcfd_`
 */
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { CFD_UI_STATES, type CfdUiState, uiState } from '../model/cfd.ts';
import type { HealthStatus } from '../node/runtime/health.ts';
import type { LiveFeed } from './events.ts';
import type { UiService } from './service.ts';

const STATUSES: readonly HealthStatus[] = ['starting', 'ok', 'degraded', 'down', 'stopped'];
/** Every UI state, so a state with no CFDs reads 0 instead of vanishing. */
const UI_STATES: readonly CfdUiState[] = CFD_UI_STATES;

/** A registry for one UI server (not prom-client's global one: tests run several nodes). */
export function createMetrics(service: UiService, live: LiveFeed): Registry {
  const register = new Registry();
  const d = service.daemon;
  collectDefaultMetrics({ register, prefix: 'dlcfd_' });

  new Gauge({
    name: 'dlcfd_health_status',
    help: 'Health of each subsystem: 1 for its current status, 0 for the others',
    labelNames: ['component', 'status'],
    registers: [register],
    collect() {
      this.reset();
      for (const c of d.health.snapshot()) {
        for (const s of STATUSES)
          this.set({ component: c.name, status: s }, c.status === s ? 1 : 0);
      }
    },
  });
  new Gauge({
    name: 'dlcfd_health_restarts',
    help: 'Times a supervisor restarted each subsystem',
    labelNames: ['component'],
    registers: [register],
    collect() {
      this.reset();
      for (const c of d.health.snapshot()) this.set({ component: c.name }, c.restarts);
    },
  });
  new Gauge({
    name: 'dlcfd_cfds',
    help: 'CFDs per UI state',
    labelNames: ['state'],
    registers: [register],
    async collect() {
      const counts = new Map<string, number>(UI_STATES.map((s) => [s, 0]));
      const all = [...d.readModel.openCfds(), ...(await d.readModel.closedCfds())];
      for (const c of all) {
        const s = uiState(c);
        counts.set(s, (counts.get(s) ?? 0) + 1);
      }
      for (const [state, n] of counts) this.set({ state }, n);
    },
  });
  new Gauge({
    name: 'dlcfd_eventstore_head',
    help: 'Global position of the last event written',
    registers: [register],
    collect() {
      this.set(d.store.head);
    },
  });
  new Gauge({
    name: 'dlcfd_wallet_balance_sats',
    help: 'Wallet balance in satoshis, by kind',
    labelNames: ['kind'],
    registers: [register],
    collect() {
      this.reset();
      const w = d.wallet;
      if (!w) return;
      const b = w.balance();
      // Below 2^53 for any amount of bitcoin that can exist, so the float is exact.
      this.set({ kind: 'confirmed' }, Number(b.confirmed));
      this.set({ kind: 'unconfirmed' }, Number(b.unconfirmed));
      this.set({ kind: 'reserved' }, Number(b.reserved));
      this.set({ kind: 'spendable' }, Number(b.spendable));
    },
  });
  new Gauge({
    name: 'dlcfd_wallet_height',
    help: 'Block height the wallet has scanned to',
    registers: [register],
    collect() {
      this.reset();
      const h = d.wallet?.height;
      if (h !== undefined) this.set(h);
    },
  });
  new Gauge({
    name: 'dlcfd_quote_age_seconds',
    help: 'Age of the latest price feed quote',
    registers: [register],
    collect() {
      this.reset();
      const q = d.feed.latest();
      if (q) this.set(q.ageMs / 1000);
    },
  });
  new Gauge({
    name: 'dlcfd_live_feed_clients',
    help: 'Clients connected to the server-sent events feed',
    registers: [register],
    collect() {
      this.set(live.size);
    },
  });
  return register;
}
