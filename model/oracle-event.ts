/**
 * Olivia event ids for BitMEX's BXBT index: `/x/BitMEX/BXBT/2022-04-15T01:00:00.price?n=20` — the
 * price at that UTC second, attested as 20 binary digits. Offers and CFDs name their settlement
 * event by this id, so its time is part of the contract.
 */
import { InvalidOracleEventIdError } from './errors.ts';

/** Number of binary digits an olivia price event attests (prices 0 … 2^20 − 1). */
export const ORACLE_PRICE_DIGITS = 20;

const EVENT_ID =
  /^\/x\/BitMEX\/BXBT\/(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.price\?n=20$/;

/** The last second ISO 8601 can write with four year digits (9999-12-31T23:59:59Z). */
const MAX_EVENT_TIME = 253_402_300_799;

/** Olivia's time path segment for a unix time: `YYYY-MM-DDTHH:MM:SS` (UTC). */
export function formatOliviaTime(unixSeconds: number): string {
  if (!Number.isSafeInteger(unixSeconds) || unixSeconds < 0 || unixSeconds > MAX_EVENT_TIME) {
    throw new InvalidOracleEventIdError(
      `event time must be whole unix seconds, got ${unixSeconds}`,
    );
  }
  return new Date(unixSeconds * 1000).toISOString().slice(0, 19);
}

/** Formats the event id for a unix time (seconds). */
export function oracleEventId(unixSeconds: number): string {
  return `/x/BitMEX/BXBT/${formatOliviaTime(unixSeconds)}.price?n=${ORACLE_PRICE_DIGITS}`;
}

/** The unix time (seconds) an event id names. Throws {@link InvalidOracleEventIdError}. */
export function oracleEventTime(eventId: string): number {
  const m = typeof eventId === 'string' ? EVENT_ID.exec(eventId) : null;
  if (!m) {
    throw new InvalidOracleEventIdError(
      `'${String(eventId)}' is not an olivia BXBT price event id (/x/BitMEX/BXBT/<YYYY-MM-DDTHH:MM:SS>.price?n=20)`,
    );
  }
  const [, y, mo, d, h, mi, s] = m.map(Number) as number[];
  const ms = Date.UTC(y!, mo! - 1, d!, h!, mi!, s!);
  // Date.UTC normalises 2022-02-30 to March: refuse what does not round-trip.
  if (new Date(ms).toISOString().slice(0, 19) !== eventId.slice(15, 34)) {
    throw new InvalidOracleEventIdError(`'${eventId}' names a time that does not exist`);
  }
  return ms / 1000;
}

/**
 * The first event at or after `unixSeconds` on a grid of `spacingSeconds` (hourly by default),
 * e.g. the settlement event of a new offer is `nextEventTime(now + settlementInterval)`.
 */
export function nextEventTime(unixSeconds: number, spacingSeconds = 3600): number {
  return Math.ceil(unixSeconds / spacingSeconds) * spacingSeconds;
}
