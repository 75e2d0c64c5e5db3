/**
 * Schemas of everything the API accepts. Handlers parse with {@link parseInput}, so a bad body is
 * a 400 whose message names each wrong field; the OpenAPI document is generated from the same
 * schemas, so it cannot drift from what is enforced.
 */
import { z } from 'zod';
import {
  DEFAULT_MAX_SLIPPAGE_BPS,
  MAX_LEVERAGE,
  MAX_SLIPPAGE_BPS,
  makerPolicyFields,
  takerLimitsFields,
} from '../node/app/domain.ts';
import { ValidationError } from '../node/app/errors.ts';
import { MIN_PASSWORD_LENGTH } from './auth.ts';

/** Longest password accepted: bounds the work of one scrypt call on attacker-chosen input. */
export const MAX_PASSWORD_LENGTH = 1024;
/**
 * Highest withdrawal fee rate accepted, sat/vB: a thousand times the relay minimum, far above any
 * fee market so far; anything higher is a typo that would burn the withdrawal in fees.
 */
export const MAX_WITHDRAW_FEE_RATE = 1_000n;

/** A string field whose type errors say what is expected in words. */
const text = (what: string) =>
  z.string({
    error: (issue) =>
      issue.input === undefined ? `${what} is required` : `${what} must be a string`,
  });
const password = text('password').min(1, 'password is required').max(MAX_PASSWORD_LENGTH);
const wholeNumber = (what: string) => {
  const message = `${what} must be a whole number, as a string of digits`;
  return z
    .string({ error: message })
    .regex(/^\d+$/, message)
    .transform((s) => BigInt(s));
};

export const LoginBody = z.strictObject({ password });

/** `GET /api/quotes?since=<unix ms>`: only points received after it (omitted: the whole window). */
export const QuotesQuery = z.strictObject({
  since: z
    .string({ error: 'since must be unix milliseconds, as digits' })
    .regex(/^\d{1,16}$/, 'since must be unix milliseconds, as digits')
    .transform(Number)
    .optional(),
});

/** A peer in a path: `/api/peers/{peerId}/…`, `/api/makers/{peerId}/…`. */
export const PeerParams = z.strictObject({
  peerId: z.string().regex(/^12D3KooW[1-9A-HJ-NP-Za-km-z]{44}$/, 'a libp2p Ed25519 peer id'),
});

/** `GET /api/history/export`: which format, and for CSV which table. */
export const HistoryExportQuery = z.strictObject({
  format: z.enum(['csv', 'json'], { error: 'format must be csv or json' }).default('csv'),
  table: z
    .enum(['positions', 'funding'], { error: 'table must be positions or funding' })
    .default('positions'),
});

export const ChangePasswordBody = z.strictObject({
  current: password,
  new: text('the new password')
    .min(MIN_PASSWORD_LENGTH, `the new password needs at least ${MIN_PASSWORD_LENGTH} characters`)
    .max(MAX_PASSWORD_LENGTH),
});

export const MnemonicBody = z.strictObject({ password });

/** The password again: required from a browser session, optional with the bearer token. */
const reauthPassword = password
  .optional()
  .describe('the UI password again (required with a session cookie; optional with the token)');

export const WithdrawBody = z.strictObject({
  password: reauthPassword,
  address: text('address').min(1, 'address is required').max(200),
  /** Sats as a string of digits, or `all` (also when absent): everything spendable. */
  amount: z
    .union([z.literal('all'), wholeNumber('amount')])
    .optional()
    .describe('sats as a decimal string, or "all" (the default): everything spendable'),
  feeRate: z
    .union([z.int().min(1), z.string().regex(/^\d+$/, 'feeRate must be a whole number')])
    .transform((v) => BigInt(v))
    .refine((v) => v >= 1n && v <= MAX_WITHDRAW_FEE_RATE, {
      message: `feeRate must be from 1 to ${MAX_WITHDRAW_FEE_RATE} sat/vB`,
    })
    .describe('sat/vB'),
});

/** Most lots one order or preview may ask for: far above any offer's maximum, bounds the work. */
const MAX_LOTS = 1_000_000;

/** Whole lots: the one quantity unit of the API (a lot is the offer's `lotSize` USD). */
const lots = z
  .int({ error: 'lots must be a whole number of lots' })
  .min(1, 'lots must be at least 1')
  .max(MAX_LOTS, `lots must be at most ${MAX_LOTS}`)
  .describe('whole lots');

/** The taker's maximum slippage, basis points of the offer's price. */
const maxSlippageBps = z
  .int({ error: 'maxSlippageBps must be a whole number of basis points' })
  .min(0, 'maxSlippageBps must be 0 or more')
  .max(MAX_SLIPPAGE_BPS, `maxSlippageBps must be at most ${MAX_SLIPPAGE_BPS} (5 %)`)
  .optional()
  .describe(
    `basis points of the offer's price the maker's quote may have moved (default ${DEFAULT_MAX_SLIPPAGE_BPS})`,
  );

export const OrderBody = z.strictObject({
  offerId: text('offerId').min(1, 'offerId is required'),
  lots,
  leverage: z.int().min(1).max(MAX_LEVERAGE),
  maxSlippageBps,
});

/** `POST /api/orders/best`: the maker's current offer for the taker's side. */
export const BestOrderBody = z.strictObject({
  side: z.enum(['long', 'short'], { error: 'side must be "long" or "short"' }),
  /** The product; BTCUSD when absent. */
  symbol: z.enum(['BTCUSD', 'ETHUSD'], { error: 'symbol must be "BTCUSD" or "ETHUSD"' }).optional(),
  lots,
  leverage: z.int().min(1).max(MAX_LEVERAGE),
  maxSlippageBps,
});

export const PreviewBody = z.strictObject({
  offerId: z.string().min(1, 'offerId is required'),
  lots,
  leverage: z.int().min(1).max(MAX_LEVERAGE),
});

export const RejectBody = z.strictObject({ reason: z.string().max(500).optional() }).optional();

/**
 * `PUT /api/maker/policy`: any subset of the policy's fields, each checked on its own here; the
 * checks across fields (min ≤ max, multiples of the lot size) run on the merged policy.
 */
export const MakerPolicyBody = z
  .strictObject(makerPolicyFields)
  .partial()
  .extend({ password: reauthPassword });

/** `PUT /api/taker/limits`: any subset of the taker's limits. */
export const TakerLimitsBody = z
  .strictObject(takerLimitsFields)
  .partial()
  .extend({ password: reauthPassword });

export const CfdParams = z.strictObject({
  id: z.string().min(1).max(200),
});

/** Parses `input` with `schema`, or throws a {@link ValidationError} naming every problem. */
export function parseInput<S extends z.ZodType>(
  schema: S,
  input: unknown,
  what = 'body',
): z.output<S> {
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  const problems = r.error.issues.map((i) => {
    const at = i.path.length > 0 ? `${i.path.join('.')}: ` : '';
    return `${at}${i.message}`;
  });
  throw new ValidationError(`invalid ${what}: ${problems.join('; ')}`);
}
