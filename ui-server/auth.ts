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
  createHmac,
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
/** Wrong passwords one client may make in a row before it has to wait ({@link PasswordThrottle}). */
export const FREE_FAILURES = 3;
/** The first wait after the free failures; doubles with each further wrong password. */
export const BACKOFF_BASE_MS = 1_000;
/** The longest wait between two checks for one client: ~1,440 guesses a day at most. */
export const MAX_BACKOFF_MS = 60_000;
/** Password checks at once for clients known only by their address (scrypt: 32 MiB each). */
export const MAX_ANONYMOUS_CHECKS = 4;
/**
 * Name of the cookie that marks a browser which has logged in before (see PasswordThrottle):
 * `dlcfd_device_<8 hex>`, per node like the session cookie it goes with.
 */
export function deviceCookieName(sessionCookie: string): string {
  return sessionCookie.replace(/^dlcfd_session_/, 'dlcfd_device_');
}
/** A device cookie lasts a year; a restart invalidates it (the key is in memory, like the throttle). */
export const DEVICE_TTL_MS = 365 * 24 * 3600 * 1000;

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
  readonly #onEnd = new Set<() => void>();
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
      this.#ended();
      return false;
    }
    return true;
  }

  delete(id: string | undefined): void {
    if (id && this.#sessions.delete(id)) this.#ended();
  }

  /** Ends every session (after a password change). */
  clear(): void {
    this.#sessions.clear();
    this.#ended();
  }

  /**
   * Calls `fn` whenever a session ends (logout, password change, expiry noticed); whatever was
   * opened with a session (live streams) checks {@link valid} then. Returns an unsubscribe.
   */
  onEnd(fn: () => void): () => void {
    this.#onEnd.add(fn);
    return () => this.#onEnd.delete(fn);
  }

  #ended(): void {
    for (const fn of this.#onEnd) fn();
  }

  get size(): number {
    return this.#sessions.size;
  }

  #prune(): void {
    const now = this.#clock();
    let ended = false;
    for (const [id, expires] of this.#sessions) {
      if (expires <= now) ended = this.#sessions.delete(id);
    }
    if (ended) this.#ended();
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

/** A password check that may go ahead: report its outcome exactly once. */
export interface PasswordCheckSlot {
  succeeded(): void;
  failed(): void;
}

interface ClientState {
  /** Wrong passwords in a row. */
  failures: number;
  /** No check before this time (ms). */
  notBefore: number;
  /** A check of this client is running (scrypt is async). */
  checking: boolean;
  /** Last touched, for pruning. */
  seen: number;
}

/**
 * Slows password guessing down per client without ever locking the owner out.
 *
 * - A client is a browser that has logged in before (its device cookie, {@link deviceKey}), else
 *   its source address (IPv6 by /64); a re-authentication (mnemonic export, withdrawal, policy,
 *   password change) is keyed by the session or bearer token that sent it, which an anonymous
 *   attacker does not have, so guessing at the login can never block them.
 * - Each client gets {@link FREE_FAILURES} wrong passwords, then waits {@link BACKOFF_BASE_MS}
 *   doubling per further wrong one up to {@link MAX_BACKOFF_MS}; a right one resets it. Attempts
 *   during the wait are answered 429 with Retry-After without being checked or counted.
 * - Concurrency-safe: {@link reserve} is synchronous and takes the client's only slot before the
 *   async scrypt compare starts, so 200 parallel guesses get one check, not 200. Clients known only
 *   by address also share {@link MAX_ANONYMOUS_CHECKS} slots (CPU and memory).
 * - The owner's browser carries a device cookie (signed with a per-start key) from its last
 *   login, so it has its own budget an attacker at the same address cannot use up.
 */
export class PasswordThrottle {
  readonly #clients = new Map<string, ClientState>();
  readonly #clock: () => number;
  readonly #deviceKey = randomBytes(TOKEN_BYTES);
  #anonymousChecks = 0;

  constructor(clock: () => number = Date.now) {
    this.#clock = clock;
  }

  /** A new device token (the cookie value after a successful login). */
  issueDevice(): string {
    const id = randomBytes(16).toString('base64url');
    return `${id}.${this.#mac(id)}`;
  }

  /** The throttle key of a device token, or undefined if it is not one this node issued. */
  deviceKey(token: string | undefined): string | undefined {
    if (!token) return undefined;
    const [id, mac] = token.split('.');
    if (!id || !mac) return undefined;
    const expected = Buffer.from(this.#mac(id));
    const given = Buffer.from(mac);
    return given.length === expected.length && timingSafeEqual(given, expected)
      ? `device:${id}`
      : undefined;
  }

  /** The throttle key of a source address: the address, or its /64 for IPv6. */
  static addressKey(ip: string): string {
    const v4 = /^(?:::ffff:)?(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
    if (v4) return `ip:${v4[1]}`;
    const [head = '', tail = ''] = ip.toLowerCase().split('::');
    const left = head ? head.split(':') : [];
    const right = tail ? tail.split(':') : [];
    const groups = ip.includes('::')
      ? [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right]
      : left;
    return `ip6:${groups.slice(0, 4).join(':')}::/64`;
  }

  /**
   * Takes the client's check slot, or returns the seconds to wait. `anonymous`: the client is
   * known by address only (shares the global slots).
   */
  reserve(key: string, anonymous: boolean): PasswordCheckSlot | { retryAfterSecs: number } {
    const now = this.#clock();
    this.#prune(now);
    let c = this.#clients.get(key);
    if (!c) {
      c = { failures: 0, notBefore: 0, checking: false, seen: now };
      this.#clients.set(key, c);
    }
    c.seen = now;
    if (c.checking) return { retryAfterSecs: 1 };
    if (c.notBefore > now) return { retryAfterSecs: Math.ceil((c.notBefore - now) / 1000) };
    if (anonymous && this.#anonymousChecks >= MAX_ANONYMOUS_CHECKS) return { retryAfterSecs: 1 };
    c.checking = true;
    if (anonymous) this.#anonymousChecks++;
    const state = c;
    let done = false;
    const finish = (ok: boolean): void => {
      if (done) return;
      done = true;
      state.checking = false;
      if (anonymous) this.#anonymousChecks--;
      if (ok) {
        state.failures = 0;
        state.notBefore = 0;
        return;
      }
      state.failures++;
      const over = state.failures - FREE_FAILURES;
      if (over >= 0) {
        const wait = Math.min(BACKOFF_BASE_MS * 2 ** Math.min(over, 30), MAX_BACKOFF_MS);
        state.notBefore = this.#clock() + wait;
      }
    };
    return { succeeded: () => finish(true), failed: () => finish(false) };
  }

  #mac(id: string): string {
    return createHmac('sha256', this.#deviceKey).update(id).digest('base64url');
  }

  /** Forgets clients idle for longer than the longest wait (bounded memory). */
  #prune(now: number): void {
    if (this.#clients.size < 10_000) return;
    for (const [k, c] of this.#clients) {
      if (!c.checking && c.seen + MAX_BACKOFF_MS < now) this.#clients.delete(k);
    }
  }
}
