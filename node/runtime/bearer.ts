import { timingSafeEqual } from 'node:crypto';

/**
 * Whether an `Authorization` header carries `Bearer <expected>`, compared in constant time (the
 * price feed's and the oracle's control endpoints). False when no token is configured.
 */
export function bearerMatches(header: string | undefined, expected: Buffer | undefined): boolean {
  if (!expected || !header?.startsWith('Bearer ')) return false;
  const given = Buffer.from(header.slice('Bearer '.length));
  return given.length === expected.length && timingSafeEqual(given, expected);
}
