/**
 * Wire schema of `/dlcfd/rollover/1.0.0` (dialer = taker): length-prefixed JSON, validated here
 * at the boundary. Satoshis and rates travel as decimal strings, bytes as lowercase hex.
 *
 * ```
 * taker → maker   propose      {cfdId, fromCommitTxid, timestamp}
 * maker → taker   decision     {accept: false, reason} — end; or {accept: true, events, rates}
 * maker → taker   keys         the maker's NEW publish and revocation keys
 * taker → maker   keys         the taker's
 * taker → maker   signatures   every CET and the refund of the new commit — no commit signature
 * maker → taker   signatures   the same, with the maker's commit adaptor signature
 * taker → maker   commitSignature  the taker's commit adaptor signature
 * taker → maker   revocation   the taker's revocation secrets of its commits from the base on
 * maker → taker   revocation   the maker's
 * ```
 *
 * Commit signatures go last, the maker's first: once a party can publish the new commit, the
 * other already holds every CET and refund signature it needs to get out of it alone. (Had the
 * taker's commit signature gone with its CETs, a maker could publish the new commit and withhold
 * its own CET and refund signatures: the taker's margin held hostage.)
 */
import { z } from 'zod';
import { SignaturesMessage } from '../order/messages.ts';
import { hexSchema, satsSchema, signedSatsSchema } from '../wire.ts';
import { MAX_LIQUIDATION_EVENTS, MAX_REASON_LENGTH } from './constants.ts';

const cfdIdSchema = z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'a CFD id');
const txidSchema = hexSchema(32);
const pointSchema = hexSchema(33);
const eventIdSchema = z.string().min(1).max(100);
const unixSchema = z.number().int().min(0).max(253_402_300_799);

export const ProposeMessage = z.object({
  type: z.literal('propose'),
  cfdId: cfdIdSchema,
  /** The commit the taker rolls over from: its last commit whose rollover it completed. */
  fromCommitTxid: txidSchema,
  /** The taker's clock (unix seconds), for the maker's logs. */
  timestamp: unixSchema,
});

export const RolloverDecisionMessage = z.discriminatedUnion('accept', [
  z.object({
    type: z.literal('decision'),
    accept: z.literal(true),
    /** The new settlement event, one settlement interval ahead. */
    settlementEventId: eventIdSchema,
    /** The hourly liquidation events before it, oldest first. */
    liquidationEventIds: z.array(eventIdSchema).max(MAX_LIQUIDATION_EVENTS),
    /** sat/vB of the new commit. */
    feeRate: satsSchema,
    /** Funding rate per settlement interval, scaled by 10^10 (model `FundingRate`). */
    fundingRate: signedSatsSchema,
    /** When the maker's rate source set this rate (unix seconds): the taker refuses stale ones. */
    fundingRateAsOf: unixSchema,
    /** The fee balance the new payout curve includes (positive: long owes short), to compare. */
    feeBalance: signedSatsSchema,
    /**
     * The commit the new contract follows and funding is charged from: the oldest commit at or
     * after the proposed one that is still live at the maker (never a revoked one).
     */
    baseCommitTxid: txidSchema,
    /**
     * When the base is later than the proposed commit: the taker's own revocation secret of each
     * commit before it, proving the maker holds them revoked (so the base is not the maker's
     * pick among commits both sides still hold live).
     */
    revokedBefore: z.array(z.object({ commitTxid: txidSchema, secret: hexSchema(32) })).max(64),
  }),
  z.object({
    type: z.literal('decision'),
    accept: z.literal(false),
    reason: z.string().max(MAX_REASON_LENGTH),
  }),
]);

export const KeysMessage = z.object({
  type: z.literal('keys'),
  publishPk: pointSchema,
  revocationPk: pointSchema,
});

export const RevocationMessage = z.object({
  type: z.literal('revocation'),
  /**
   * One secret per commit of the sender's from the proposed commit on (normally exactly one),
   * plus those of commits of broken-off runs it signed but never completed. The receiver needs a
   * valid one for every commit it still holds live, and checks every one it knows.
   */
  secrets: z
    .array(z.object({ commitTxid: txidSchema, secret: hexSchema(32) }))
    .min(1)
    .max(64),
});

/**
 * A rollover's `signatures`: setup's, with the commit adaptor signature optional — the taker's
 * comes later, in {@link CommitSignatureMessage}; the maker's must be there.
 */
export const RolloverSignaturesMessage = SignaturesMessage.extend({
  commit: hexSchema(162).optional(),
});

/** The taker's commit adaptor signature (its identity key, encrypted to the maker's publish key). */
export const CommitSignatureMessage = z.object({
  type: z.literal('commitSignature'),
  commit: hexSchema(162),
});

/** Any message of the protocol: each read accepts all, the state machine decides what fits now. */
export const RolloverMessageSchema = z.union([
  ProposeMessage,
  RolloverDecisionMessage,
  KeysMessage,
  RolloverSignaturesMessage,
  CommitSignatureMessage,
  RevocationMessage,
]);

export type ProposeMsg = z.output<typeof ProposeMessage>;
export type RolloverDecisionMsg = z.output<typeof RolloverDecisionMessage>;
export type KeysMsg = z.output<typeof KeysMessage>;
export type RolloverSignaturesMsg = z.output<typeof RolloverSignaturesMessage>;
export type CommitSignatureMsg = z.output<typeof CommitSignatureMessage>;
export type RevocationMsg = z.output<typeof RevocationMessage>;
export type RolloverMessage = z.output<typeof RolloverMessageSchema>;
export type RolloverMessageType = RolloverMessage['type'];
