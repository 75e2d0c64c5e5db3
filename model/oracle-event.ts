/**
 * Olivia event ids for BitMEX's price indices: `/x/BitMEX/BXBT/2022-04-15T01:00:00.price?n=20` —
 * the BTC/USD index (BXBT) at that UTC second, attested as 20 binary digits — and likewise
 * `/x/BitMEX/BETH/<time>.price?n=20` for ETH/USD (olivia serves both; ItchySats 0.6.0 settled its
 * ETHUSD quanto CFDs on BETH). Offers and CFDs name their settlement event by this id, so its
 * index and its time are part of the contract.
 */
import { InvalidOracleEventIdError } from './errors.ts';

/** Number of binary digits an olivia price event attests (prices 0 … 2^20 − 1). */
export const ORACLE_PRICE_DIGITS = 20;

/** The BitMEX indices an event may attest: BTC/USD and ETH/USD. */
export const ORACLE_INDICES = ['BXBT', 'BETH'] as const;
export type OracleIndex = (typeof ORACLE_INDICES)[number];

const EVENT_ID =
  /^\/x\/BitMEX\/(BXBT|BETH)\/(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.price\?n=20$/;

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

/** Formats the event id of `index` (BXBT unless given) for a unix time (seconds). */
export function oracleEventId(unixSeconds: number, index: OracleIndex = 'BXBT'): string {
  if (!ORACLE_INDICES.includes(index)) {
    throw new InvalidOracleEventIdError(`unknown oracle index ${String(index)}`);
  }
  return `/x/BitMEX/${index}/${formatOliviaTime(unixSeconds)}.price?n=${ORACLE_PRICE_DIGITS}`;
}

/** Parses an event id into its index and unix time. Throws {@link InvalidOracleEventIdError}. */
export function parseOracleEventId(eventId: string): { index: OracleIndex; unixSeconds: number } {
  const m = typeof eventId === 'string' ? EVENT_ID.exec(eventId) : null;
  if (!m) {
    throw new InvalidOracleEventIdError(
      `'${String(eventId)}' is not an olivia BXBT or BETH price event id (/x/BitMEX/<BXBT|BETH>/<YYYY-MM-DDTHH:MM:SS>.price?n=20)`,
    );
  }
  const [y, mo, d, h, mi, s] = m.slice(2).map(Number) as number[];
  const ms = Date.UTC(y!, mo! - 1, d!, h!, mi!, s!);
  // Date.UTC normalises 2022-02-30 to March: refuse what does not round-trip.
  if (new Date(ms).toISOString().slice(0, 19) !== eventId.slice(15, 34)) {
    throw new InvalidOracleEventIdError(`'${eventId}' names a time that does not exist`);
  }
  return { index: m[1] as OracleIndex, unixSeconds: ms / 1000 };
}

/** The unix time (seconds) an event id names. Throws {@link InvalidOracleEventIdError}. */
export function oracleEventTime(eventId: string): number {
  return parseOracleEventId(eventId).unixSeconds;
}

/** The index an event id attests (BXBT or BETH). Throws {@link InvalidOracleEventIdError}. */
export function oracleEventIndex(eventId: string): OracleIndex {
  return parseOracleEventId(eventId).index;
}

/**
 * The first event at or after `unixSeconds` on a grid of `spacingSeconds` (hourly by default),
 * e.g. the settlement event of a new offer is `nextEventTime(now + settlementInterval)`.
 */
export function nextEventTime(unixSeconds: number, spacingSeconds = 3600): number {
  return Math.ceil(unixSeconds / spacingSeconds) * spacingSeconds;
}
