/**
 * Wire schema of `/dlcfd/order/1.0.0`: length-prefixed JSON, validated here at the boundary.
 * Satoshis travel as decimal strings, bytes as lowercase hex.
 *
 * ```
 * taker → maker   order          {orderId, offerId, quantity, leverage, maxSlippageBps?}
 * maker → taker   decision       {accept: false, reason} — end; or {accept: true, timelocks}
 * maker → taker   params         the maker's keys, payout script, margin and lock funding
 * taker → maker   params         the taker's
 * both            signatures     commit adaptor signature, every CET adaptor signature, refund
 * both            lockSignature  signatures of one's own lock inputs (after verifying everything)
 * both            ack            both hold the signed lock
 * ```
 */
import { z } from 'zod';
import { MAX_SLIPPAGE_BPS } from '../../model/offer.ts';
import { hexSchema, satsSchema } from '../wire.ts';
import {
  MAX_CETS_PER_EVENT,
  MAX_EVENTS,
  MAX_FUNDING_INPUTS,
  MAX_PREFIXES_PER_CET,
  MAX_REASON_LENGTH,
} from './constants.ts';

/** An order id names the CFD on both nodes: an event-stream id (`[A-Za-z0-9_.-]`). */
const orderIdSchema = z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'an order id');
const txidSchema = hexSchema(32);
const pointSchema = hexSchema(33);
/** A P2WPKH scriptPubKey (`0014 <20 bytes>`): the only kind of coin and payout address we take. */
const p2wpkhScriptSchema = z.string().regex(/^0014[0-9a-f]{40}$/, 'a P2WPKH scriptPubKey');
const priceSchema = z
  .number()
  .int()
  .min(0)
  .max(2 ** 20 - 1);

export const OrderMessage = z.object({
  type: z.literal('order'),
  orderId: orderIdSchema,
  offerId: z.string().min(1).max(64),
  quantity: satsSchema,
  leverage: z.number().int().min(1).max(100),
  /**
   * How far the maker's current quote for the offer's side may have moved from the offer's price
   * for the maker still to honour the offer (at its own price); absent: 0, only the current price.
   */
  maxSlippageBps: z.number().int().min(0).max(MAX_SLIPPAGE_BPS).optional(),
});

export const DecisionMessage = z.discriminatedUnion('accept', [
  z.object({
    type: z.literal('decision'),
    accept: z.literal(true),
    /** Relative timelocks (blocks) of the CETs and the refund; the taker checks them. */
    cetTimelock: z.number().int().min(1).max(0xffff),
    refundTimelock: z.number().int().min(1).max(0xffff),
  }),
  z.object({
    type: z.literal('decision'),
    accept: z.literal(false),
    reason: z.string().max(MAX_REASON_LENGTH),
  }),
]);

export const ParamsMessage = z.object({
  type: z.literal('params'),
  identityPk: pointSchema,
  publishPk: pointSchema,
  revocationPk: pointSchema,
  payoutScript: p2wpkhScriptSchema,
  /** This party's margin: its share of the lock output. */
  margin: satsSchema,
  inputs: z
    .array(
      z.object({
        txid: txidSchema,
        vout: z.number().int().min(0).max(0xffff),
        value: satsSchema,
        script: p2wpkhScriptSchema,
      }),
    )
    .min(1)
    .max(MAX_FUNDING_INPUTS),
  change: z.array(z.object({ script: p2wpkhScriptSchema, value: satsSchema })).max(1),
});

export const SignaturesMessage = z.object({
  type: z.literal('signatures'),
  /** The txids the sender built: both must have built the same transactions. */
  lockTxid: txidSchema,
  commitTxid: txidSchema,
  refundTxid: txidSchema,
  /** Commit adaptor signature: sender's identity key, encrypted to the receiver's publish key. */
  commit: hexSchema(162),
  /** Refund: plain 64-byte compact signature. */
  refund: hexSchema(64),
  events: z
    .array(
      z.object({
        eventId: z.string().max(100),
        cets: z
          .array(
            z.object({
              start: priceSchema,
              end: priceSchema,
              /** One per digit prefix of start … end, in canonical (ascending) order. */
              signatures: z.array(hexSchema(162)).min(1).max(MAX_PREFIXES_PER_CET),
            }),
          )
          .min(1)
          .max(MAX_CETS_PER_EVENT),
      }),
    )
    .min(1)
    .max(MAX_EVENTS),
});

export const LockSignatureMessage = z.object({
  type: z.literal('lockSignature'),
  /** One signature per own lock input, by input index of the lock transaction. */
  signatures: z
    .array(
      z.object({
        input: z
          .number()
          .int()
          .min(0)
          .max(2 * MAX_FUNDING_INPUTS),
        pubkey: pointSchema,
        /** DER with the sighash byte, as it goes into the witness. */
        signature: z.string().regex(/^30[0-9a-f]{12,140}01$/, 'a DER signature with SIGHASH_ALL'),
      }),
    )
    .min(1)
    .max(MAX_FUNDING_INPUTS),
});

export const AckMessage = z.object({ type: z.literal('ack') });

/** Any message of the protocol: each read accepts all, the state machine decides what fits now. */
export const SetupMessageSchema = z.union([
  OrderMessage,
  DecisionMessage,
  ParamsMessage,
  SignaturesMessage,
  LockSignatureMessage,
  AckMessage,
]);

export type OrderMsg = z.output<typeof OrderMessage>;
export type DecisionMsg = z.output<typeof DecisionMessage>;
export type ParamsMsg = z.output<typeof ParamsMessage>;
export type SignaturesMsg = z.output<typeof SignaturesMessage>;
export type LockSignatureMsg = z.output<typeof LockSignatureMessage>;
export type AckMsg = z.output<typeof AckMessage>;
export type SetupMessage = z.output<typeof SetupMessageSchema>;
export type SetupMessageType = SetupMessage['type'];
