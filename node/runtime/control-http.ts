/**
 * What the price feed's and the oracle's control endpoints share: the bearer check and a bounded
 * body read.
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/**
 * Whether an `Authorization` header carries `Bearer <expected>`, compared in constant time.
 * False when no token is configured.
 */
export function bearerMatches(header: string | undefined, expected: Buffer | undefined): boolean {
  if (!expected || !header?.startsWith('Bearer ')) return false;
  const given = Buffer.from(header.slice('Bearer '.length));
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** The request body as text, or undefined as soon as it exceeds `maxBytes` (nothing more is kept). */
export async function readBody(
  req: IncomingMessage,
  maxBytes: number,
): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
