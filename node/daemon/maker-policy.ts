/**
 * The maker's policy: whether it publishes offers, how they follow the price feed (spread), what
 * they allow (quantities, lot size, leverages), the rates it charges (funding, opening fee, fee
 * rate) and whether it accepts orders and settlements without asking.
 *
 * The config's `maker` section holds the defaults. Once the user changes the policy through the
 * API it is kept in `<datadir>/maker-policy.json` (written atomically) and from then on wins over
 * the config on every start — so a restart never silently undoes what the user set. A node whose
 * policy was never changed keeps following its config (flags such as `--auto-accept` still work).
 *
 * Everything that uses the policy reads {@link MakerPolicyStore.current} when it needs it (the
 * offer supervisor, the order, rollover and settlement decisions), so a change applies at once.
 */

import { join } from 'node:path';
import type { Logger } from 'pino';
import { z } from 'zod';
import { NamedError } from '../../model/named-error.ts';
import { formatFundingRate, parseFundingRate, RATE_SCALE } from '../../model/units.ts';
import type { DaemonConfig } from './config.ts';
import { SettingsStore, type SettingsStoreOptions, settingKind } from './settings-store.ts';

/** The policy file in the node's data dir. */
export const MAKER_POLICY_FILE = 'maker-policy.json';

/**
 * Leverages a maker may offer. Above 10× the liquidation price sits within a few percent of the
 * entry; the steps beyond are the usual exchange choices, so a typo (7, 70) is refused.
 */
export const ALLOWED_LEVERAGES: readonly number[] = [1, 2, 3, 4, 5, 10, 15, 20, 25, 50, 100];
/** 10 %: beyond this an offer is no longer "following the feed". */
export const MAX_SPREAD_BPS = 1_000;
/** Contracts (USD of notional); a bound against typos, far above any single position. */
export const MAX_QUANTITY = 100_000_000n;
/** 0.01 BTC: the opening fee is a small fixed charge, not a second margin. */
export const MAX_OPENING_FEE = 1_000_000n;
/** sat/vB, the same bound as a withdrawal's fee rate: far above any fee market so far. */
export const MAX_TX_FEE_RATE = 1_000;
/** ±1 % per settlement interval (365 % a year at daily settlement): more is a typo. */
export const MAX_FUNDING_RATE = RATE_SCALE / 100n;

/** A policy change the API or the file gives that does not pass the checks. */
export class InvalidMakerPolicyError extends NamedError {}

const digits = (what: string, min: bigint, max: bigint) => {
  const message = `${what} must be a whole number, as a string of digits`;
  return z
    .string({ error: message })
    .regex(/^\d+$/, message)
    .refine((s) => BigInt(s) >= min && BigInt(s) <= max, {
      message: `${what} must be from ${min} to ${max}`,
    })
    .transform((s) => BigInt(s).toString());
};

/** Each field on its own; a partial of these is what `PUT /api/maker/policy` takes. */
export const makerPolicyFields = {
  /** Accept every valid order and settlement proposal without asking. */
  autoAccept: z.boolean({ error: 'autoAccept must be true or false' }),
  /** false withdraws every offer until it is true again. */
  publishing: z.boolean({ error: 'publishing must be true or false' }),
  /** Offers sit this many basis points outside the feed's bid and ask. */
  spreadBps: z
    .int({ error: 'spreadBps must be a whole number of basis points' })
    .min(0, 'spreadBps must not be negative')
    .max(MAX_SPREAD_BPS, `spreadBps must be at most ${MAX_SPREAD_BPS} (10 %)`),
  minQuantity: digits('minQuantity', 1n, MAX_QUANTITY).describe('contracts, decimal string'),
  maxQuantity: digits('maxQuantity', 1n, MAX_QUANTITY).describe('contracts, decimal string'),
  lotSize: digits('lotSize', 1n, MAX_QUANTITY).describe('contracts, decimal string'),
  leverageChoices: z
    .array(
      z
        .int({ error: 'each leverage must be a whole number' })
        .refine((l) => ALLOWED_LEVERAGES.includes(l), {
          message: `each leverage must be one of ${ALLOWED_LEVERAGES.join(', ')}`,
        }),
      { error: 'leverageChoices must be a list of whole numbers' },
    )
    .min(1, 'leverageChoices needs at least one leverage')
    .refine((ls) => new Set(ls).size === ls.length, {
      message: 'leverageChoices lists a leverage twice',
    })
    .transform((ls) => [...ls].sort((a, b) => a - b)),
  /** Per settlement interval; positive: long pays short. */
  fundingRate: z
    .string({ error: 'fundingRate must be a decimal string, e.g. "0.0001"' })
    .regex(/^-?\d+(\.\d{1,10})?$/, 'fundingRate must be a decimal with at most 10 decimals')
    .refine(
      (s) => {
        try {
          const r = parseFundingRate(s);
          return r <= MAX_FUNDING_RATE && r >= -MAX_FUNDING_RATE;
        } catch {
          return false; // beyond ±1: parseFundingRate refuses it
        }
      },
      { message: 'fundingRate must be from -0.01 to 0.01 per settlement interval' },
    )
    .transform((s) => formatFundingRate(parseFundingRate(s)))
    .describe('per settlement interval, decimal string; positive: long pays short'),
  /** Sats the taker pays at setup. */
  openingFee: digits('openingFee', 0n, MAX_OPENING_FEE).describe('satoshis, decimal string'),
  /** sat/vB of the contract's transactions. */
  txFeeRate: z
    .int({ error: 'txFeeRate must be a whole number of sat/vB' })
    .min(1, 'txFeeRate must be at least 1 sat/vB')
    .max(MAX_TX_FEE_RATE, `txFeeRate must be at most ${MAX_TX_FEE_RATE} sat/vB`),
};

/** A whole policy, with the checks across fields. */
export const MakerPolicySchema = z.strictObject(makerPolicyFields).superRefine((p, ctx) => {
  const [min, max, lot] = [BigInt(p.minQuantity), BigInt(p.maxQuantity), BigInt(p.lotSize)];
  if (min > max) {
    ctx.addIssue({
      code: 'custom',
      path: ['minQuantity'],
      message: `minQuantity (${min}) is above maxQuantity (${max})`,
    });
  }
  for (const [name, q] of [
    ['minQuantity', min],
    ['maxQuantity', max],
  ] as const) {
    if (q % lot !== 0n) {
      ctx.addIssue({
        code: 'custom',
        path: [name],
        message: `${name} (${q}) is not a multiple of lotSize (${lot})`,
      });
    }
  }
});

/** The policy as the API shows it and the file stores it (quantities and sats as strings). */
export type MakerPolicy = z.output<typeof MakerPolicySchema>;
export type MakerPolicyPatch = Partial<MakerPolicy>;

/** How the file stores it and a change is checked and logged. */
const POLICY = settingKind('policy', 'maker policy', MakerPolicySchema, InvalidMakerPolicyError);

/** The policy the config describes (the default until the user changes it). */
export function policyFromConfig(m: DaemonConfig['maker']): MakerPolicy {
  return POLICY.check(
    {
      autoAccept: m.autoAccept,
      publishing: true,
      spreadBps: m.spreadBps,
      minQuantity: String(m.minQuantity),
      maxQuantity: String(m.maxQuantity),
      lotSize: String(m.lotSize),
      leverageChoices: m.leverageChoices,
      fundingRate: m.fundingRate,
      openingFee: String(m.openingFee),
      txFeeRate: m.txFeeRate,
    },
    "the config's maker settings: ",
  );
}

export type MakerPolicyStoreOptions = SettingsStoreOptions<DaemonConfig['maker']>;

/**
 * The live maker policy, persisted on every change; its version goes up by one on every change
 * (the offer supervisor republishes when it moves).
 */
export class MakerPolicyStore extends SettingsStore<MakerPolicy> {
  private constructor(path: string, policy: MakerPolicy, log: Logger) {
    super(path, POLICY, policy, log);
  }

  /**
   * Reads the stored policy, or starts from the config's. An unreadable or invalid file does not
   * stop the node: it logs why, runs on the config's policy, and the next change overwrites it.
   */
  static async open(options: MakerPolicyStoreOptions): Promise<MakerPolicyStore> {
    const path = join(options.datadir, MAKER_POLICY_FILE);
    const stored = await MakerPolicyStore.read(path, POLICY, options.logger);
    return new MakerPolicyStore(path, stored ?? policyFromConfig(options.defaults), options.logger);
  }
}
