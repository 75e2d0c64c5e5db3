/**
 * Health `database` and `p2p`, pushed when they change — not a figure read once at start-up (a
 * node showed "0 events" for a whole session, and a taker "dialing" while connected).
 */
import type { Libp2p } from '@libp2p/interface';
import type { CfdReadModel } from '../../eventstore/cfd-read-model.ts';
import type { EventStore } from '../../eventstore/event-store.ts';
import type { HealthReporter } from '../runtime/health.ts';

/** The database line changes at most this often (each batch of events would otherwise push one). */
export const DATABASE_HEALTH_INTERVAL_MS = 1000;

/**
 * Health `database`: the log's length and how far the CFD read model follows it; `down` once the
 * read model stops following (the UI would show stale CFDs; a restart replays the log). Returns
 * the unsubscribe function.
 */
export function reportDatabase(
  store: EventStore,
  readModel: CfdReadModel,
  reporter: HealthReporter,
  intervalMs = DATABASE_HEALTH_INTERVAL_MS,
): () => void {
  let timer: NodeJS.Timeout | undefined;
  let failed = false;
  const report = (): void => {
    timer = undefined;
    if (failed) return;
    reporter.report({
      status: 'ok',
      detail: `${store.head} events; ${readModel.openCfds().length} open CFDs`,
    });
  };
  report();
  const offChange = readModel.onChange(() => {
    timer ??= setTimeout(report, intervalMs).unref();
  });
  const offFailure = readModel.onFailure((err) => {
    failed = true;
    reporter.report({
      status: 'down',
      error: err,
      detail: `the CFD view stopped following the log at event ${readModel.position}; restart the node`,
    });
  });
  return () => {
    clearTimeout(timer);
    offChange();
    offFailure();
  };
}

/**
 * Health `p2p`: where a maker listens and how many peers are connected now; updated on every
 * connection and disconnection. Returns the unsubscribe function.
 */
export function reportP2p(
  p2p: Libp2p,
  role: 'maker' | 'taker',
  reporter: HealthReporter,
): () => void {
  const report = (): void => {
    const peers = p2p.getPeers().length;
    const connected =
      peers === 0 ? 'no peer connected' : `${peers} peer${peers === 1 ? '' : 's'} connected`;
    reporter.report({
      status: 'ok',
      detail:
        role === 'maker'
          ? `listening on ${p2p.getMultiaddrs().map(String).join(' ')}; ${connected}`
          : connected,
    });
  };
  report();
  p2p.addEventListener('peer:connect', report);
  p2p.addEventListener('peer:disconnect', report);
  return () => {
    p2p.removeEventListener('peer:connect', report);
    p2p.removeEventListener('peer:disconnect', report);
  };
}
