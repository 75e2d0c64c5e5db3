/**
 * The taker's choices of makers (issue #17, "one order book"): makers it blocks — their offers
 * leave the book, orders to them are refused, the node hangs up on them and refuses them until
 * unblocked — and makers it prefers, which win ties on price in "best". Kept in
 * `<datadir>/maker-choices.json` through the settings store (settings-store.ts), so a block
 * outlives a restart; `--block` (config `p2p.blocked`) stays the static, config-side list.
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import { z } from 'zod';
import { NamedError } from '../../model/named-error.ts';
import { SettingsStore, settingKind } from './settings-store.ts';

/** The choices file in the node's data dir. */
export const MAKER_CHOICES_FILE = 'maker-choices.json';

/** A stored or changed set of choices that does not pass the checks. */
export class InvalidMakerChoicesError extends NamedError {}

const PeerIds = z.array(z.string().min(1).max(128)).max(1_000);

export const MakerChoicesSchema = z
  .strictObject({ blocked: PeerIds, preferred: PeerIds })
  .refine((c) => !c.blocked.some((p) => c.preferred.includes(p)), {
    message: 'a maker cannot be both blocked and preferred',
  });

export type MakerChoicesValue = z.output<typeof MakerChoicesSchema>;

const CHOICES = settingKind(
  'makers',
  'maker choices',
  MakerChoicesSchema,
  InvalidMakerChoicesError,
);

/** The live choices, persisted on every change. */
export class MakerChoicesStore extends SettingsStore<MakerChoicesValue> {
  private constructor(path: string, value: MakerChoicesValue, log: Logger) {
    super(path, CHOICES, value, log);
  }

  /** Reads the stored choices, or starts with none; a bad file is logged and overwritten later. */
  static async open(options: { datadir: string; logger: Logger }): Promise<MakerChoicesStore> {
    const path = join(options.datadir, MAKER_CHOICES_FILE);
    const stored = await MakerChoicesStore.read(path, CHOICES, options.logger);
    return new MakerChoicesStore(path, stored ?? { blocked: [], preferred: [] }, options.logger);
  }

  /** Blocks `peer` (no longer preferred). */
  block(peer: string): Promise<MakerChoicesValue> {
    return this.update((c) => ({
      blocked: [...without(c.blocked, peer), peer],
      preferred: without(c.preferred, peer),
    }));
  }

  unblock(peer: string): Promise<MakerChoicesValue> {
    return this.update((c) => ({ blocked: without(c.blocked, peer) }));
  }

  /** Prefers `peer` (`on`: unblocking it too), or no longer. */
  prefer(peer: string, on: boolean): Promise<MakerChoicesValue> {
    return this.update((c) => ({
      preferred: on ? [...without(c.preferred, peer), peer] : without(c.preferred, peer),
      blocked: on ? without(c.blocked, peer) : c.blocked,
    }));
  }
}

const without = (list: readonly string[], peer: string): string[] => list.filter((p) => p !== peer);
