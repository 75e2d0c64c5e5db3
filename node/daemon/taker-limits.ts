/**
 * The taker's limits, live: what it accepts from its maker (model/limits.ts). The config's `taker`
 * section holds the defaults; once the user changes them through the API they are kept in
 * `<datadir>/taker-limits.json` (written atomically) and win over the config on every start, as
 * the maker's policy does (maker-policy.ts). Everything that checks them reads
 * {@link TakerLimitsStore.limits} when it needs them, so a change applies at once: the offer list,
 * the next order, the next rollover, and a paused auto-rollover (it resumes on a new version).
 */

import { join } from 'node:path';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { TakerLimits } from '../../model/limits.ts';
import { NamedError } from '../../model/named-error.ts';
import { formatFundingRate, parseFundingRate } from '../../model/units.ts';
import type { DaemonConfig } from './config.ts';
import { MAX_TX_FEE_RATE } from './maker-policy.ts';
import { SettingsStore, type SettingsStoreOptions, settingKind } from './settings-store.ts';

/** The limits file in the node's data dir. */
export const TAKER_LIMITS_FILE = 'taker-limits.json';

/** A change the API or the file gives that does not pass the checks. */
export class InvalidTakerLimitsError extends NamedError {}

/** Each field on its own; a partial of these is what `PUT /api/taker/limits` takes. */
export const takerLimitsFields = {
  maxFundingRate: z
    .string({ error: 'maxFundingRate must be a decimal string, e.g. "0.003"' })
    .regex(/^\d+(\.\d{1,10})?$/, 'maxFundingRate must be a non-negative decimal, ≤ 10 decimals')
    .refine(
      (s) => {
        try {
          parseFundingRate(s);
          return true;
        } catch {
          return false;
        }
      },
      { message: 'maxFundingRate must be at most 1 (100 % per settlement interval)' },
    )
    .transform((s) => formatFundingRate(parseFundingRate(s)))
    .describe('largest absolute funding rate per settlement interval, decimal string'),
  maxOpeningFeeBps: z
    .int({ error: 'maxOpeningFeeBps must be a whole number of basis points' })
    .min(0, 'maxOpeningFeeBps must not be negative')
    .max(10_000, 'maxOpeningFeeBps must be at most 10000 (the whole margin)')
    .describe("largest opening fee, basis points of the taker's margin"),
  maxTxFeeRate: z
    .int({ error: 'maxTxFeeRate must be a whole number of sat/vB' })
    .min(1, 'maxTxFeeRate must be at least 1 sat/vB')
    .max(MAX_TX_FEE_RATE, `maxTxFeeRate must be at most ${MAX_TX_FEE_RATE} sat/vB`)
    .describe("highest fee rate of the contract's transactions, sat/vB"),
};

export const TakerLimitsSchema = z.strictObject(takerLimitsFields);

/** The limits as the API shows them and the file stores them. */
export type TakerLimitsView = z.output<typeof TakerLimitsSchema>;
export type TakerLimitsPatch = Partial<TakerLimitsView>;

/** How the file stores it and a change is checked and logged. */
const LIMITS = settingKind('limits', 'taker limits', TakerLimitsSchema, InvalidTakerLimitsError);

/** The limits the config describes (the default until the user changes them). */
export function limitsFromConfig(t: DaemonConfig['taker']): TakerLimitsView {
  return LIMITS.check(t, "the config's taker settings: ");
}

/** The model's form of the view. */
export function toTakerLimits(v: TakerLimitsView): TakerLimits {
  return {
    maxFundingRate: parseFundingRate(v.maxFundingRate),
    maxOpeningFeeBps: v.maxOpeningFeeBps,
    maxTxFeeRate: BigInt(v.maxTxFeeRate),
  };
}

export type TakerLimitsStoreOptions = SettingsStoreOptions<DaemonConfig['taker']>;

/** The live taker limits, persisted on every change; `current` as the API shows them. */
export class TakerLimitsStore extends SettingsStore<TakerLimitsView> {
  #limits: TakerLimits;

  private constructor(path: string, limits: TakerLimitsView, log: Logger) {
    super(path, LIMITS, limits, log);
    this.#limits = toTakerLimits(limits);
  }

  /**
   * Reads the stored limits, or starts from the config's. An unreadable or invalid file does not
   * stop the node: it logs why, runs on the config's limits, and the next change overwrites it.
   */
  static async open(options: TakerLimitsStoreOptions): Promise<TakerLimitsStore> {
    const path = join(options.datadir, TAKER_LIMITS_FILE);
    const stored = await TakerLimitsStore.read(path, LIMITS, options.logger);
    return new TakerLimitsStore(path, stored ?? limitsFromConfig(options.defaults), options.logger);
  }

  /** As the model checks them. */
  get limits(): TakerLimits {
    return this.#limits;
  }

  protected override changed(limits: TakerLimitsView): void {
    this.#limits = toTakerLimits(limits);
  }
}
