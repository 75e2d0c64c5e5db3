/**
 * How every CFD protocol puts messages on a libp2p stream: length-prefixed JSON, validated by a
 * schema at the boundary, bounded in size, each read and write bounded in time.
 *
 * JSON carries satoshis and prices as decimal strings (`"123456"`, `"42640.5"`), never as JSON
 * numbers: a peer's float must never become an amount in a transaction. The schemas turn them
 * into `bigint` / `Price` on the way in; {@link encode} turns them back on the way out.
 */

import type { AbortOptions, Stream } from '@libp2p/interface';
import { lpStream } from '@libp2p/utils';
import { z } from 'zod';
import { formatDecimal } from '../model/fixed.ts';
import { NamedError } from '../model/named-error.ts';
import { asPrice, PRICE_DECIMALS, type Price } from '../model/units.ts';

/** Default bound on one read or write of a protocol message. */
export const DEFAULT_MESSAGE_TIMEOUT_MS = 30_000;

export class ProtocolError extends NamedError {}

/** The peer sent something that is not a valid message here (malformed, oversized, unexpected). */
export class ProtocolViolationError extends ProtocolError {}

/** The peer did not send (or accept) a message in time. */
export class ProtocolTimeoutError extends ProtocolError {}

/** The peer closed the stream where a message was expected. */
export class StreamClosedError extends ProtocolError {}

/** Satoshis: a decimal integer string, ≥ 0 unless `signed`. */
export const satsSchema = z
  .string()
  .regex(/^\d{1,16}$/, 'satoshis as a decimal string')
  .transform((s) => BigInt(s));
export const signedSatsSchema = z
  .string()
  .regex(/^-?\d{1,16}$/, 'signed satoshis as a decimal string')
  .transform((s) => BigInt(s));

/** A price: a positive decimal string with at most 8 places. */
export const priceSchema = z
  .string()
  .regex(/^\d{1,9}(\.\d{1,8})?$/, 'a price as a decimal string')
  .transform((s, ctx) => {
    const [whole, frac = ''] = s.split('.');
    const scaled =
      BigInt(whole!) * 10n ** BigInt(PRICE_DECIMALS) + BigInt(frac.padEnd(PRICE_DECIMALS, '0'));
    if (scaled <= 0n) {
      ctx.addIssue({ code: 'custom', message: 'price must be positive' });
      return z.NEVER;
    }
    return asPrice(scaled);
  });

export const hexSchema = (bytes?: number) =>
  z
    .string()
    .regex(
      bytes === undefined ? /^([0-9a-f]{2})*$/ : new RegExp(`^[0-9a-f]{${bytes * 2}}$`),
      bytes === undefined ? 'lowercase hex' : `${bytes} bytes of lowercase hex`,
    );

/** Prices in outgoing messages: exact decimal text. */
export function priceToWire(p: Price): string {
  return formatDecimal(p, PRICE_DECIMALS);
}

/** JSON text of a message; bigints become decimal strings. */
export function encode(message: unknown): Uint8Array {
  return new TextEncoder().encode(
    JSON.stringify(message, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)),
  );
}

/** Parses and validates one message; anything else is a {@link ProtocolViolationError}. */
export function decode<S extends z.ZodType>(bytes: Uint8Array, schema: S): z.output<S> {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (err) {
    throw new ProtocolViolationError('message is not UTF-8 JSON', { cause: err });
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ProtocolViolationError(
      `invalid message: ${issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'schema mismatch'}`,
    );
  }
  return parsed.data;
}

export interface FramedOptions {
  /** Largest message accepted, in bytes. */
  readonly maxMessageBytes: number;
  /** Bound on each read and write unless the call passes its own signal. */
  readonly timeoutMs?: number;
}

/**
 * A stream carrying length-prefixed, schema-checked JSON messages. Every read and write is bounded
 * by the caller's signal, or else by the default timeout.
 */
export class Framed {
  readonly stream: Stream;
  readonly #lp: ReturnType<typeof lpStream<Stream>>;
  readonly #timeoutMs: number;

  constructor(stream: Stream, options: FramedOptions) {
    this.stream = stream;
    this.#lp = lpStream(stream, { maxDataLength: options.maxMessageBytes });
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_MESSAGE_TIMEOUT_MS;
  }

  async read<S extends z.ZodType>(schema: S, options: AbortOptions = {}): Promise<z.output<S>> {
    const signal = options.signal ?? AbortSignal.timeout(this.#timeoutMs);
    let bytes: Uint8Array;
    try {
      bytes = (await this.#lp.read({ signal })).subarray();
    } catch (err) {
      throw this.#classify(err, signal, 'reading');
    }
    return decode(bytes, schema);
  }

  async write(message: unknown, options: AbortOptions = {}): Promise<void> {
    const signal = options.signal ?? AbortSignal.timeout(this.#timeoutMs);
    try {
      await this.#lp.write(encode(message), { signal });
    } catch (err) {
      throw this.#classify(err, signal, 'writing');
    }
  }

  /** Half-closes our side: we will send nothing more. */
  async close(options: AbortOptions = {}): Promise<void> {
    await this.stream.close({ signal: options.signal ?? AbortSignal.timeout(this.#timeoutMs) });
  }

  /** Resets the stream (the peer sees an error): for protocol violations and local failures. */
  abort(err: Error): void {
    this.stream.abort(err);
  }

  #classify(err: unknown, signal: AbortSignal, doing: string): Error {
    const e = err as Error;
    if (
      signal.aborted &&
      signal.reason instanceof DOMException &&
      signal.reason.name === 'TimeoutError'
    ) {
      return new ProtocolTimeoutError(`timed out ${doing} a message`, { cause: err });
    }
    if (e?.name === 'UnexpectedEOFError') {
      return new StreamClosedError(`peer closed the stream while we were ${doing}`, { cause: err });
    }
    if (
      e?.name === 'InvalidDataLengthError' ||
      e?.name === 'InvalidDataLengthLengthError' ||
      e?.name === 'InvalidMessageLengthError'
    ) {
      return new ProtocolViolationError(`oversized or malformed frame: ${e.message}`, {
        cause: err,
      });
    }
    return e instanceof Error ? e : new ProtocolError(String(err));
  }
}
