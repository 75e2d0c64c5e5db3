/**
 * What every route handler gets ({@link RouteContext}), and how a request proves who it is: the
 * session cookie or the bearer token, and the password again for the actions that need it.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AppService } from '../node/app/service.ts';
import type { ApiCookie, PasswordStore, PasswordThrottle, SessionStore } from './auth.ts';
import { InvalidPasswordError, PasswordRequiredError, TooManyAttemptsError } from './errors.ts';
import type { LiveFeed } from './events.ts';

/** Everything the routes need. */
export interface RouteContext {
  readonly service: AppService;
  readonly passwords: PasswordStore;
  readonly sessions: SessionStore;
  /** This node's session cookie name (listen.ts sessionCookieName). */
  readonly sessionCookie: string;
  readonly apiCookie: ApiCookie;
  readonly throttle: PasswordThrottle;
  readonly live: LiveFeed;
  readonly metrics: { contentType: string; metrics(): Promise<string> };
  /** The OpenAPI document (openapi.ts), built from the route table. */
  readonly openApi: () => Record<string, unknown>;
}

/** How a request proved who it is. */
export type AuthMethod = 'session' | 'bearer';

/** Which credential the request carries, if a valid one. */
export function authenticate(
  ctx: Pick<RouteContext, 'sessions' | 'sessionCookie' | 'apiCookie'>,
  request: FastifyRequest,
): AuthMethod | undefined {
  if (ctx.apiCookie.matches(request.headers.authorization)) return 'bearer';
  if (ctx.sessions.valid(request.cookies[ctx.sessionCookie])) return 'session';
  return undefined;
}

/**
 * Verifies a password under the throttle, for the client `key`; 401 (login) or 403
 * (re-authentication). The slot is taken before the async compare, so parallel guesses wait.
 */
export async function checkPassword(
  ctx: Pick<RouteContext, 'passwords' | 'throttle'>,
  password: string,
  status: 401 | 403,
  key: string,
  anonymous: boolean,
): Promise<void> {
  const slot = ctx.throttle.reserve(key, anonymous);
  if ('retryAfterSecs' in slot) throw new TooManyAttemptsError(slot.retryAfterSecs);
  let ok = false;
  try {
    ok = await ctx.passwords.verify(password);
  } finally {
    if (ok) slot.succeeded();
    else slot.failed();
  }
  if (!ok) throw new InvalidPasswordError(status);
}

/**
 * The password again, for an action a ridden or unattended browser session must not do alone
 * (mnemonic export, withdrawal, policy and limits, password change). Throttled per credential,
 * so guessing at the login never blocks it. Scripts with the bearer token may omit it (the token
 * is readable only by the node's own user) except where `always` (mnemonic, password change).
 */
export async function reauthenticate(
  ctx: Pick<RouteContext, 'passwords' | 'throttle' | 'sessions' | 'sessionCookie' | 'apiCookie'>,
  request: FastifyRequest,
  password: string | undefined,
  what: string,
  always = false,
): Promise<void> {
  const method = authenticate(ctx, request);
  if (password === undefined) {
    if (method === 'bearer' && !always) return;
    throw new PasswordRequiredError(what);
  }
  const key = method === 'bearer' ? 'bearer' : `session:${request.cookies[ctx.sessionCookie]}`;
  await checkPassword(ctx, password, 403, key, false);
}

export function setSessionCookie(
  ctx: Pick<RouteContext, 'sessions' | 'sessionCookie'>,
  reply: FastifyReply,
  id: string,
): void {
  reply.setCookie(ctx.sessionCookie, id, {
    httpOnly: true,
    sameSite: 'strict',
    path: '/',
    maxAge: Math.floor(ctx.sessions.ttlMs / 1000),
  });
}
