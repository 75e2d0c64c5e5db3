/**
 * Wire schema of `/dlcfd/collab-settlement/1.0.0`, one length-prefixed JSON message per frame:
 *
 * 1. taker → maker `{ type: 'propose', cfdId, price, makerPayout, takerPayout, feeRate, txid }`
 *    (`feeRate`: sat/vB of the close, from the taker's fee estimate; the maker checks its bounds)
 * 2. maker → taker `{ type: 'accept' }` or `{ type: 'reject', reason }`
 * 3. taker → maker `{ type: 'signature', signature }` (the taker's, over the close transaction)
 * 4. maker → taker `{ type: 'signature', signature }` (the maker's)
 *
 * Prices and amounts travel as decimal strings, signatures as 64-byte compact `r ‖ s` hex. Every
 * read accepts any of the four shapes, so a well-formed message at the wrong step is told apart
 * (out of order) from bytes that are no message at all (malformed).
 */
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { z } from 'zod';
import type { FeeRate, Price, Sats } from '../../model/units.ts';
import { hexSchema, priceSchema, priceToWire, satsSchema } from '../wire.ts';

/** Same alphabet and bound as event-store stream ids, which CFD ids are. */
const cfdIdSchema = z.string().regex(/^[A-Za-z0-9_.-]{1,128}$/, 'a CFD id');

/** Longest rejection reason we accept; a reason is a sentence for a log or a UI. */
export const MAX_REASON_LENGTH = 500;

const ProposeMessage = z.strictObject({
  type: z.literal('propose'),
  cfdId: cfdIdSchema,
  price: priceSchema,
  makerPayout: satsSchema,
  takerPayout: satsSchema,
  /** sat/vB of the close transaction (its fee is 169 × rate, split): decimal string. */
  feeRate: z
    .string()
    .regex(/^[1-9]\d{0,5}$/, 'a fee rate in sat/vB as a decimal string')
    .transform((s) => BigInt(s)),
  /** The unsigned close transaction's id: both sides must build exactly this transaction. */
  txid: hexSchema(32),
});

const AcceptMessage = z.strictObject({ type: z.literal('accept') });

const RejectMessage = z.strictObject({
  type: z.literal('reject'),
  reason: z.string().min(1).max(MAX_REASON_LENGTH),
});

const SignatureMessage = z.strictObject({
  type: z.literal('signature'),
  signature: hexSchema(64).transform((h) => hexToBytes(h)),
});

/** Any message of the protocol, validated; what every read parses with. */
export const CollabSettlementMessage = z.discriminatedUnion('type', [
  ProposeMessage,
  AcceptMessage,
  RejectMessage,
  SignatureMessage,
]);

/** A message as the state machines see it: prices and sats as bigints, signatures as bytes. */
export type CollabMessage =
  | {
      readonly type: 'propose';
      readonly cfdId: string;
      readonly price: Price;
      readonly makerPayout: Sats;
      readonly takerPayout: Sats;
      readonly feeRate: FeeRate;
      readonly txid: string;
    }
  | { readonly type: 'accept' }
  | { readonly type: 'reject'; readonly reason: string }
  | { readonly type: 'signature'; readonly signature: Uint8Array };

/** A message as JSON for the wire (the inverse of {@link CollabSettlementMessage}). */
export function messageToWire(m: CollabMessage): Record<string, unknown> {
  switch (m.type) {
    case 'propose':
      return { ...m, price: priceToWire(m.price), feeRate: m.feeRate.toString() };
    case 'signature':
      return { type: m.type, signature: bytesToHex(m.signature) };
    case 'reject':
      return { type: m.type, reason: m.reason.slice(0, MAX_REASON_LENGTH) };
    case 'accept':
      return { type: m.type };
  }
}
