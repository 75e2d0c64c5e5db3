/**
 * The taker's limits, live: what it accepts from its maker (model/limits.ts). The config's `taker`
 * section holds the defaults; once the user changes them through the API they are kept in
 * `<datadir>/taker-limits.json` (written atomically) and win over the config on every start, as
 * the maker's policy does (maker-policy.ts). Everything that checks them reads
 * {@link TakerLimitsStore.limits} when it needs them, so a change applies at once: the offer list,
 * the next order, the next rollover, and a paused auto-rollover (it resumes on a new version).
 */

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { TakerLimits } from '../../model/limits.ts';
import { NamedError } from '../../model/named-error.ts';
import { formatFundingRate, parseFundingRate } from '../../model/units.ts';
import { writeFileAtomic } from '../runtime/atomic-file.ts';
import type { DaemonConfig } from './config.ts';
import { MAX_TX_FEE_RATE } from './maker-policy.ts';

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

const LimitsFileSchema = z.object({ version: z.literal(1), limits: TakerLimitsSchema });

function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((i) => `${i.path.length > 0 ? `${i.path.join('.')}: ` : ''}${i.message}`)
    .join('; ');
}

/** The limits the config describes (the default until the user changes them). */
export function limitsFromConfig(t: DaemonConfig['taker']): TakerLimitsView {
  const r = TakerLimitsSchema.safeParse(t);
  if (!r.success) {
    throw new InvalidTakerLimitsError(`the config's taker settings: ${describeIssues(r.error)}`);
  }
  return r.data;
}

/** The model's form of the view. */
export function toTakerLimits(v: TakerLimitsView): TakerLimits {
  return {
    maxFundingRate: parseFundingRate(v.maxFundingRate),
    maxOpeningFeeBps: v.maxOpeningFeeBps,
    maxTxFeeRate: BigInt(v.maxTxFeeRate),
  };
}

export interface TakerLimitsStoreOptions {
  readonly datadir: string;
  /** The config's taker section: the limits until some are stored. */
  readonly defaults: DaemonConfig['taker'];
  readonly logger: Logger;
}

/** The live taker limits, persisted on every change. */
export class TakerLimitsStore {
  readonly #path: string;
  readonly #log: Logger;
  readonly #listeners = new Set<(l: TakerLimitsView) => void>();
  #current: TakerLimitsView;
  #limits: TakerLimits;
  #version = 0;
  #serial: Promise<unknown> = Promise.resolve();

  private constructor(path: string, limits: TakerLimitsView, log: Logger) {
    this.#path = path;
    this.#current = limits;
    this.#limits = toTakerLimits(limits);
    this.#log = log;
  }

  /**
   * Reads the stored limits, or starts from the config's. An unreadable or invalid file does not
   * stop the node: it logs why, runs on the config's limits, and the next change overwrites it.
   */
  static async open(options: TakerLimitsStoreOptions): Promise<TakerLimitsStore> {
    const path = join(options.datadir, TAKER_LIMITS_FILE);
    const log = options.logger;
    let json: unknown;
    try {
      json = JSON.parse(await readFile(path, 'utf8'));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        log.error({ err, path }, 'cannot read the taker limits; using the config');
      }
    }
    if (json !== undefined) {
      const r = LimitsFileSchema.safeParse(json);
      if (r.success) {
        log.info({ path }, 'taker limits as last set through the API (the config gives defaults)');
        return new TakerLimitsStore(path, r.data.limits, log);
      }
      log.error(
        { path, problems: describeIssues(r.error) },
        'the taker limits file is invalid; using the config',
      );
    }
    return new TakerLimitsStore(path, limitsFromConfig(options.defaults), log);
  }

  /** As the API shows them. */
  get current(): TakerLimitsView {
    return this.#current;
  }

  /** As the model checks them. */
  get limits(): TakerLimits {
    return this.#limits;
  }

  /** Goes up by one on every change. */
  get version(): number {
    return this.#version;
  }

  /**
   * Applies `patch`, checks the result, writes it durably, then makes it current and tells every
   * listener. Throws {@link InvalidTakerLimitsError} and changes nothing when it does not pass.
   */
  update(patch: TakerLimitsPatch): Promise<TakerLimitsView> {
    const run = async (): Promise<TakerLimitsView> => {
      const r = TakerLimitsSchema.safeParse({ ...this.#current, ...patch });
      if (!r.success) throw new InvalidTakerLimitsError(describeIssues(r.error));
      await this.#write(r.data);
      this.#current = r.data;
      this.#limits = toTakerLimits(r.data);
      this.#version += 1;
      this.#log.info({ limits: r.data }, 'taker limits changed');
      for (const l of this.#listeners) {
        try {
          l(r.data);
        } catch (err) {
          this.#log.warn({ err }, 'taker limits listener failed');
        }
      }
      return r.data;
    };
    const result = this.#serial.then(run, run);
    this.#serial = result.catch(() => undefined);
    return result;
  }

  /** Calls `listener` after every change. Returns the unsubscribe function. */
  onChange(listener: (l: TakerLimitsView) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Durably (node/runtime/atomic-file.ts): the old limits or the new after a crash, never half. */
  #write(limits: TakerLimitsView): Promise<void> {
    return writeFileAtomic(this.#path, `${JSON.stringify({ version: 1, limits }, null, 2)}\n`);
  }
}
