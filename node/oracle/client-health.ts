/** The oracle client's health: what the UI shows, and how the status follows from the facts. */
import { oracleEventTime } from '../../model/oracle-event.ts';
import type { HealthStatus } from '../runtime/health.ts';
import type { Compromise } from './nonce-log.ts';

/** What the UI shows for the oracle. */
export interface OracleClientHealth {
  /** `down`: unreachable; `degraded`: reachable but something was rejected or not found. */
  status: HealthStatus;
  /** When `status` last changed, unix ms. */
  since: number;
  url: string;
  /** The last request got an HTTP answer (null before the first). */
  reachable: boolean | null;
  /** Latest event (by time) with a verified announcement. */
  latestAnnounced: string | null;
  /** Latest event (by time) with a verified attestation. */
  latestAttested: string | null;
  lastError: { name: string; message: string; at: number; eventId: string | null } | null;
  /** Events watched and not yet attested. */
  pending: number;
  /** Watched events whose latest fetch failed, with why (what the UI lists per CFD). */
  failing: { eventId: string; name: string; message: string }[];
  /** The announcement key in use (configured or learned from `GET /`), x-only hex. */
  announcementKey: string | null;
  /**
   * Set once the oracle reused a nonce across events or attested two prices for one event (the
   * reason names the nonce or prices and both events); `status` is then `down` for good.
   */
  compromised: Compromise | null;
}

/**
 * `down` if compromised or the oracle did not answer; `starting` before any answer; `degraded` if
 * it answered but the latest request, a watched event's latest response or `GET /` was rejected
 * or missing; `ok` otherwise.
 */
export function oracleStatus(facts: {
  compromised: boolean;
  reachable: boolean | null;
  rejected: boolean;
}): HealthStatus {
  if (facts.compromised) return 'down';
  if (facts.reachable === null) return 'starting';
  if (!facts.reachable) return 'down';
  return facts.rejected ? 'degraded' : 'ok';
}

/** What the registry says about a `down` or `degraded` oracle. */
export function degradedDetail(status: HealthStatus, eventId: string | null): string {
  return status === 'down'
    ? `oracle unreachable; retrying with backoff`
    : `rejected or missing oracle data${eventId ? ` for ${eventId}` : ''}`;
}

/** The latest (by event time) event id among `items`. */
export function latest(items: Iterable<{ eventId: string }>): string | null {
  let best: { id: string; t: number } | null = null;
  for (const { eventId } of items) {
    const t = oracleEventTime(eventId);
    if (!best || t > best.t) best = { id: eventId, t };
  }
  return best?.id ?? null;
}
