/**
 * What the maker policy (maker-policy.ts) and the taker limits (taker-limits.ts) share: a setting
 * the API changes at run time, kept in one JSON file in the datadir (`{ version: 1, <key>: … }`).
 * Updates run one at a time, so each merges with the one before and the file ends as the last.
 */
import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { z } from 'zod';
import { writeFileAtomic } from '../runtime/atomic-file.ts';

/** Formats zod's issues as `field: message; …`. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((i) => `${i.path.length > 0 ? `${i.path.join('.')}: ` : ''}${i.message}`)
    .join('; ');
}

/** How one setting is stored, checked and named. */
export interface SettingKind<T> {
  /** Its key in the file, and in the log line of a change. */
  readonly key: string;
  /** Its name in logs (`maker policy`). */
  readonly name: string;
  /**
   * A value checked: the value, or a named error thrown (nothing changes then), its message
   * prefixed by `context` (what the value came from).
   */
  readonly check: (value: unknown, context?: string) => T;
  /** The file's schema: `{ version: 1, <key>: value }`. */
  readonly file: z.ZodType<Record<string, unknown>>;
}

/** A setting whose values `schema` checks; one that fails is an `Invalid` error with zod's issues. */
export function settingKind<S extends z.ZodType<object>>(
  key: string,
  name: string,
  schema: S,
  Invalid: new (message: string) => Error,
): SettingKind<z.output<S>> {
  return {
    key,
    name,
    check: (value, context = '') => {
      const r = schema.safeParse(value);
      if (!r.success) throw new Invalid(`${context}${describeIssues(r.error)}`);
      return r.data;
    },
    file: z.object({ version: z.literal(1), [key]: schema }),
  };
}

/** Where a store keeps its file, what it starts from until one is stored, and its logger. */
export interface SettingsStoreOptions<Defaults> {
  readonly datadir: string;
  /** The config's section: the value until one is stored. */
  readonly defaults: Defaults;
  readonly logger: Logger;
}

/** A live setting, persisted on every change. */
export abstract class SettingsStore<T extends object> {
  readonly #path: string;
  readonly #kind: SettingKind<T>;
  readonly #log: Logger;
  readonly #listeners = new Set<(v: T) => void>();
  #current: T;
  #version = 0;
  #serial: Promise<unknown> = Promise.resolve();

  protected constructor(path: string, kind: SettingKind<T>, value: T, log: Logger) {
    this.#path = path;
    this.#kind = kind;
    this.#current = value;
    this.#log = log;
  }

  /**
   * The value stored at `path`, or undefined when there is none to use (the store then starts from
   * the config's). An unreadable, non-JSON or invalid file does not stop the node: it is logged, and
   * the next change overwrites it.
   */
  protected static async read<T>(
    path: string,
    kind: SettingKind<T>,
    log: Logger,
  ): Promise<T | undefined> {
    const { name } = kind;
    let text: string | undefined;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        log.error({ err, path }, `cannot read the ${name}; using the config`);
      }
    }
    if (text === undefined) return undefined;
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      log.error({ err, path }, `the ${name} file is not JSON; using the config`);
      return undefined;
    }
    const r = kind.file.safeParse(json);
    if (!r.success) {
      const problems = describeIssues(r.error);
      log.error({ path, problems }, `the ${name} file is invalid; using the config`);
      return undefined;
    }
    log.info({ path }, `${name} as last set through the API (the config gives defaults)`);
    return r.data[kind.key] as T;
  }

  get current(): T {
    return this.#current;
  }

  /** Goes up by one on every change. */
  get version(): number {
    return this.#version;
  }

  /**
   * Applies `patch` over the current value, checks the result, writes it durably, then makes it
   * current and tells every listener. Throws the kind's named error and changes nothing when the
   * result does not pass. A function `patch` is called with the value as it is when this update's
   * turn comes (after the updates before it), for a change that depends on it (add to a list).
   */
  update(patch: Partial<T> | ((current: T) => Partial<T>)): Promise<T> {
    const { key, name, check } = this.#kind;
    const run = async (): Promise<T> => {
      const change = typeof patch === 'function' ? patch(this.#current) : patch;
      const next = check({ ...this.#current, ...change });
      await this.#write(next);
      this.#current = next;
      this.changed(next);
      this.#version += 1;
      this.#log.info({ [key]: next }, `${name} changed`);
      for (const l of this.#listeners) {
        try {
          l(next);
        } catch (err) {
          this.#log.warn({ err }, `${name} listener failed`);
        }
      }
      return next;
    };
    const result = this.#serial.then(run, run);
    this.#serial = result.catch(() => undefined);
    return result;
  }

  /** Calls `listener` after every change. Returns the unsubscribe function. */
  onChange(listener: (v: T) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Called with a new value as it becomes current, before listeners hear of it. */
  protected changed(_value: T): void {}

  /** Durably (node/runtime/atomic-file.ts): the old value or the new after a crash, never half. */
  #write(value: T): Promise<void> {
    const file = { version: 1, [this.#kind.key]: value };
    return writeFileAtomic(this.#path, `${JSON.stringify(file, null, 2)}\n`);
  }
}
