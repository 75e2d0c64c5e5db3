/**
 * Who may use a node's API: the person at the browser (a password, then a session cookie) and
 * scripts on the same machine (a bearer token read from a file only the node's user can read,
 * like Bitcoin Core's `.cookie`).
 *
 * The password is stored as an scrypt hash with its salt and cost parameters, so the file keeps
 * verifying after the defaults change. Sessions live in memory: a restart logs everyone out, which
 * is the safe direction for a money-holding node.
 */
import {
  randomBytes,
  type ScryptOptions,
  scrypt as scryptCallback,
  timingSafeEqual,
} from 'node:crypto';
import { chmod, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';

/** File in the data dir holding the password hash. */
export const PASSWORD_FILE = 'ui-password.json';
/** File in the data dir holding the bearer token for scripts; recreated on every start. */
export const API_COOKIE_FILE = 'api.cookie';
/** The browser's session cookie is named per node: see ui-server/listen.ts sessionCookieName. */
export { SESSION_COOKIE_PREFIX, sessionCookieName } from './listen.ts';

/**
 * scrypt cost: N = 2^15, r = 8, p = 1 — OWASP's recommended minimum for interactive logins; about
 * 50–100 ms and 32 MiB per check on a small machine, so guessing is slow and logging in is not.
 */
export const SCRYPT_PARAMS = { N: 2 ** 15, r: 8, p: 1 } as const;
/** Bytes of derived key and of salt: 256 bits each, more than any guesser can search. */
const KEY_BYTES = 32;
const SALT_BYTES = 16;
/** scrypt needs 128·N·r bytes; Node's default cap (32 MiB) is exactly that, so allow headroom. */
const SCRYPT_MAXMEM = 64 * 1024 * 1024;
/** Shortest password a person may choose; a generated one is far longer. */
export const MIN_PASSWORD_LENGTH = 8;
/** Random bytes in a generated password: 144 bits, printed as 24 base64url characters. */
const GENERATED_PASSWORD_BYTES = 18;
/** Random bytes in a session id and in the API cookie: 256 bits, unguessable. */
const TOKEN_BYTES = 32;

/** A session lasts a week: ItchySats' choice; the browser re-logs in after that or a restart. */
export const SESSION_TTL_MS = 7 * 24 * 3600 * 1000;
/** Wrong passwords tolerated per window before refusing attempts for the rest of it. */
export const MAX_FAILED_LOGINS = 10;
export const FAILED_LOGIN_WINDOW_MS = 60_000;

function scrypt(
  password: string,
  salt: Buffer,
  keylen: number,
  opts: ScryptOptions,
): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scryptCallback(password, salt, keylen, opts, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

const PasswordFileSchema = z.object({
  algorithm: z.literal('scrypt'),
  N: z.number().int().positive(),
  r: z.number().int().positive(),
  p: z.number().int().positive(),
  salt: z.string().regex(/^[0-9a-f]+$/),
  hash: z.string().regex(/^[0-9a-f]+$/),
});
type PasswordFile = z.infer<typeof PasswordFileSchema>;

/** Writes `text` to `path` readable by the owner only, atomically (temp file, then rename). */
async function writePrivate(path: string, text: string): Promise<void> {
  const tmp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(tmp, text, { mode: 0o600 });
  await chmod(tmp, 0o600); // the umask may have widened nothing, but be explicit
  await rename(tmp, path);
}

/** A new random password for a first start. */
export function generatePassword(): string {
  return randomBytes(GENERATED_PASSWORD_BYTES).toString('base64url');
}

/** The UI password, hashed in `<datadir>/ui-password.json` (mode 0600). */
export class PasswordStore {
  readonly path: string;
  #record: PasswordFile | undefined;

  private constructor(path: string) {
    this.path = path;
  }

  /**
   * Opens the store. `configured` (from config or a flag) becomes the password if it is not
   * already; with none configured and none stored, a password is generated and returned once as
   * `generated` — the caller shows it to the user, and it is never shown again.
   */
  static async open(
    datadir: string,
    configured?: string,
  ): Promise<{ store: PasswordStore; generated: string | undefined }> {
    const store = new PasswordStore(join(datadir, PASSWORD_FILE));
    let text: string | undefined;
    try {
      text = await readFile(store.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    if (text !== undefined) {
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      const parsed = PasswordFileSchema.safeParse(json);
      if (!parsed.success) {
        throw new Error(`${store.path} is not a password file this node wrote; remove it to reset`);
      }
      store.#record = parsed.data;
      await chmod(store.path, 0o600);
    }
    if (configured !== undefined) {
      if (!store.#record || !(await store.verify(configured))) await store.set(configured);
      return { store, generated: undefined };
    }
    if (store.#record) return { store, generated: undefined };
    const generated = generatePassword();
    await store.set(generated);
    return { store, generated };
  }

  /** True if `password` is the current one. Constant-time in the hash comparison. */
  async verify(password: string): Promise<boolean> {
    const r = this.#record;
    if (!r) return false;
    const expected = Buffer.from(r.hash, 'hex');
    const key = await scrypt(password, Buffer.from(r.salt, 'hex'), expected.length, {
      N: r.N,
      r: r.r,
      p: r.p,
      maxmem: SCRYPT_MAXMEM,
    });
    return timingSafeEqual(key, expected);
  }

  /** Replaces the password (a fresh salt, the current cost parameters). */
  async set(password: string): Promise<void> {
    const salt = randomBytes(SALT_BYTES);
    const key = await scrypt(password, salt, KEY_BYTES, {
      ...SCRYPT_PARAMS,
      maxmem: SCRYPT_MAXMEM,
    });
    const record: PasswordFile = {
      algorithm: 'scrypt',
      ...SCRYPT_PARAMS,
      salt: salt.toString('hex'),
      hash: key.toString('hex'),
    };
    await writePrivate(this.path, `${JSON.stringify(record, null, 2)}\n`);
    this.#record = record;
  }
}

/** In-memory sessions: random id → expiry. */
export class SessionStore {
  readonly #sessions = new Map<string, number>();
  readonly #ttlMs: number;
  readonly #clock: () => number;

  constructor(ttlMs = SESSION_TTL_MS, clock: () => number = Date.now) {
    this.#ttlMs = ttlMs;
    this.#clock = clock;
  }

  get ttlMs(): number {
    return this.#ttlMs;
  }

  /** Starts a session; returns its id (the cookie value). */
  create(): string {
    this.#prune();
    const id = randomBytes(TOKEN_BYTES).toString('base64url');
    this.#sessions.set(id, this.#clock() + this.#ttlMs);
    return id;
  }

  valid(id: string | undefined): boolean {
    if (!id) return false;
    const expires = this.#sessions.get(id);
    if (expires === undefined) return false;
    if (expires <= this.#clock()) {
      this.#sessions.delete(id);
      return false;
    }
    return true;
  }

  delete(id: string | undefined): void {
    if (id) this.#sessions.delete(id);
  }

  /** Ends every session (after a password change). */
  clear(): void {
    this.#sessions.clear();
  }

  get size(): number {
    return this.#sessions.size;
  }

  #prune(): void {
    const now = this.#clock();
    for (const [id, expires] of this.#sessions) if (expires <= now) this.#sessions.delete(id);
  }
}

/**
 * The bearer token for scripts, in `<datadir>/api.cookie` (0600). A new one on every start, so a
 * token copied somewhere stops working at the next restart; removed on stop.
 */
export class ApiCookie {
  readonly path: string;
  readonly #token: Buffer;

  private constructor(path: string, token: string) {
    this.path = path;
    this.#token = Buffer.from(token);
  }

  static async create(datadir: string): Promise<ApiCookie> {
    const token = randomBytes(TOKEN_BYTES).toString('hex');
    const cookie = new ApiCookie(join(datadir, API_COOKIE_FILE), token);
    await writePrivate(cookie.path, token);
    return cookie;
  }

  /** True if `header` is `Bearer <token>`. Constant-time. */
  matches(header: string | undefined): boolean {
    if (!header?.startsWith('Bearer ')) return false;
    const given = Buffer.from(header.slice('Bearer '.length).trim());
    return given.length === this.#token.length && timingSafeEqual(given, this.#token);
  }

  /** Removes the file if it still holds this token (a newer node may have replaced it). */
  async remove(): Promise<void> {
    const text = await readFile(this.path, 'utf8').catch(() => undefined);
    if (text === this.#token.toString()) await rm(this.path, { force: true });
  }
}

/**
 * Slows down guessing: after {@link MAX_FAILED_LOGINS} wrong passwords within
 * {@link FAILED_LOGIN_WINDOW_MS}, every password check is refused until the window has passed.
 * One counter for the whole node, since the server listens on loopback by default.
 */
export class LoginThrottle {
  readonly #failures: number[] = [];
  readonly #clock: () => number;

  constructor(clock: () => number = Date.now) {
    this.#clock = clock;
  }

  /** Seconds until attempts are allowed again, or 0 if they are now. */
  retryAfterSecs(): number {
    const now = this.#clock();
    while (this.#failures.length > 0 && this.#failures[0]! <= now - FAILED_LOGIN_WINDOW_MS) {
      this.#failures.shift();
    }
    if (this.#failures.length < MAX_FAILED_LOGINS) return 0;
    return Math.ceil((this.#failures[0]! + FAILED_LOGIN_WINDOW_MS - now) / 1000);
  }

  failed(): void {
    this.#failures.push(this.#clock());
  }
}
