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
import { CFD_UI_STATES, type CfdUiState, type HealthStatus } from '../node/app/domain.ts';
import type { AppService } from '../node/app/service.ts';
import type { LiveFeed } from './events.ts';

const STATUSES: readonly HealthStatus[] = ['starting', 'ok', 'degraded', 'down', 'stopped'];
/** Every UI state, so a state with no CFDs reads 0 instead of vanishing. */
const UI_STATES: readonly CfdUiState[] = CFD_UI_STATES;

/** A registry for one UI server (not prom-client's global one: tests run several nodes). */
export function createMetrics(service: AppService, live: Pick<LiveFeed, 'size'>): Registry {
  const register = new Registry();
  collectDefaultMetrics({ register, prefix: 'dlcfd_' });

  new Gauge({
    name: 'dlcfd_health_status',
    help: 'Health of each subsystem: 1 for its current status, 0 for the others',
    labelNames: ['component', 'status'],
    registers: [register],
    collect() {
      this.reset();
      for (const c of service.gauges().components) {
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
      for (const c of service.gauges().components) this.set({ component: c.name }, c.restarts);
    },
  });
  new Gauge({
    name: 'dlcfd_cfds',
    help: 'CFDs per UI state',
    labelNames: ['state'],
    registers: [register],
    async collect() {
      const counts = await service.cfdStates();
      for (const state of UI_STATES) this.set({ state }, counts.get(state) ?? 0);
    },
  });
  new Gauge({
    name: 'dlcfd_eventstore_head',
    help: 'Global position of the last event written',
    registers: [register],
    collect() {
      this.set(service.gauges().eventStoreHead);
    },
  });
  new Gauge({
    name: 'dlcfd_wallet_balance_sats',
    help: 'Wallet balance in satoshis, by kind',
    labelNames: ['kind'],
    registers: [register],
    collect() {
      this.reset();
      const b = service.gauges().wallet?.balance;
      if (!b) return;
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
      const h = service.gauges().wallet?.height;
      if (h !== undefined) this.set(h);
    },
  });
  new Gauge({
    name: 'dlcfd_quote_age_seconds',
    help: 'Age of the latest price feed quote',
    registers: [register],
    collect() {
      this.reset();
      const ageMs = service.gauges().quoteAgeMs;
      if (ageMs !== undefined) this.set(ageMs / 1000);
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
