/**
 * The node's HTTP server: the JSON API, the live feed (server-sent events), Prometheus metrics and
 * the built web UI, on loopback by default.
 *
 * It starts whatever state the node is in — chain, oracle, feed or maker down — because showing
 * that state is its first job (DESIGN.md principle 1); routes that need a missing subsystem answer
 * 503 and say why. Every route but the liveness probe, login and static assets needs the password
 * session or the bearer token in `<datadir>/api.cookie`.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyCookie from '@fastify/cookie';
import fastifyStatic from '@fastify/static';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyRequest,
  LogController,
} from 'fastify';
import type { Logger } from 'pino';
import { failureKind, isChainUnavailable } from '../node/app/errors.ts';
import type { AppService } from '../node/app/service.ts';
import { VERSION } from '../node/app/version.ts';
import { ApiCookie, PasswordStore, PasswordThrottle, SessionStore } from './auth.ts';
import { authenticate } from './context.ts';
import {
  ApiError,
  CrossOriginRequestError,
  errorBody,
  HostNotAllowedError,
  UnauthorizedError,
  ValidationError,
} from './errors.ts';
import { LiveFeed } from './events.ts';
import { checkUiHost, sessionCookieName } from './listen.ts';
import { createMetrics } from './metrics.ts';
import { openApiDocument } from './openapi.ts';
import { registerRoutes } from './routes.ts';

/**
 * Where `npm run build:ui` puts the web UI, found relative to this package (not the working
 * directory), so the node serves it however it was started.
 */
export const BUILT_UI_DIR = fileURLToPath(new URL('../ui/dist', import.meta.url));

/** Largest request body: every body of this API is a few hundred bytes. */
export const MAX_BODY_BYTES = 64 * 1024;

export interface UiServerOptions {
  /**
   * Interface to listen on. Loopback only (127.0.0.0/8, ::1, localhost) unless `unsafeListen`:
   * there is no TLS here, so anything else belongs behind a TLS-terminating proxy (listen.ts).
   */
  readonly host: string;
  /** Allow a `host` that is not loopback (`--unsafe-listen`). @default false */
  readonly unsafeListen?: boolean;
  /** 0 picks a free port (read it back from {@link UiServer.url}). */
  readonly port: number;
  readonly logger: Logger;
  /** The built web UI; without it, `/` serves a short page pointing at the API. */
  readonly staticDir?: string;
  /**
   * The UI password from config or a flag; replaces the stored one if different. Without it, the
   * stored password is kept, or on first start one is generated ({@link UiServer.initialPassword}).
   */
  readonly password?: string;
  /** Where `ui-password.json` and `api.cookie` live. @default the node's data directory */
  readonly datadir?: string;
  /** @default HEARTBEAT_MS */
  readonly heartbeatMs?: number;
  /** @default QUOTE_THROTTLE_MS */
  readonly quoteThrottleMs?: number;
  /**
   * More names the UI may be reached by (a reverse proxy's, a LAN name): `name` (any port) or
   * `name:port`. The bound address, `localhost`, `127.0.0.1` and `[::1]` with the port always are.
   */
  readonly allowedHosts?: readonly string[];
  /** @default SESSION_TTL_MS */
  readonly sessionTtlMs?: number;
}

/** A registered route; `public` ones need no credentials. */
export interface RouteInfo {
  readonly method: string;
  readonly url: string;
  readonly public: boolean;
}

export interface UiServer {
  /** `http://host:port`. */
  readonly url: string;
  /** The generated password, on the start that created it only; show it to the user once. */
  readonly initialPassword: string | undefined;
  /** The bearer-token file for scripts. */
  readonly apiCookiePath: string;
  /** This node's session cookie name, `dlcfd_session_<8 hex>` (listen.ts sessionCookieName). */
  readonly sessionCookie: string;
  /** Every API route (static assets excluded). */
  readonly routes: readonly RouteInfo[];
  /** Ends live streams, stops listening, removes the api.cookie file. */
  close(): Promise<void>;
}

/** The status of each kind of failure the application service names (node/app/errors.ts). */
const STATUS_OF_KIND = {
  invalid: 400,
  notFound: 404,
  illegal: 409,
  conflict: 409,
  refused: 502,
  unavailable: 503,
} as const;
/** Fastify's own client errors, by status. */
const FASTIFY_NAMES: Record<number, string> = {
  400: 'BadRequest',
  413: 'PayloadTooLarge',
  415: 'UnsupportedMediaType',
};

/** The status, name and message an error is answered with. */
export function httpError(err: unknown): { status: number; name: string; message: string } {
  const e = err instanceof Error ? err : new Error(String(err));
  if (e instanceof ApiError) return { status: e.statusCode, name: e.name, message: e.message };
  const kind = failureKind(e);
  if (kind) {
    const message = isChainUnavailable(e) ? `the chain backend: ${e.message}` : e.message;
    return { status: STATUS_OF_KIND[kind], name: e.name, message };
  }
  const status = (e as FastifyError).statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return { status, name: FASTIFY_NAMES[status] ?? 'BadRequest', message: e.message };
  }
  return { status: 500, name: 'InternalError', message: e.message };
}

/** Methods that change state: they must come from the UI's own origin (or carry the token). */
const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** `host[:port]` → lower-case name (IPv6 in brackets) and port, if any. */
function splitHost(hostport: string): { name: string; port: string | undefined } | undefined {
  const m = /^(\[[0-9a-f:.]+\]|[^:[\]]+)(?::(\d{1,5}))?$/.exec(hostport.trim().toLowerCase());
  if (!m) return undefined;
  return { name: m[1]!.replace(/\.$/, ''), port: m[2] };
}

/**
 * The names a request may address the UI by (defence against DNS rebinding): the bound address,
 * `localhost`, `127.0.0.1` and `[::1]` on the listening port, and the configured extras (`name`
 * for any port, `name:port` for that one).
 */
export class HostAllowlist {
  readonly #exact = new Set<string>();
  readonly #anyPort = new Set<string>();

  constructor(boundHost: string, port: number, extra: readonly string[] = []) {
    const bound = boundHost.includes(':')
      ? `[${boundHost.toLowerCase()}]`
      : boundHost.toLowerCase();
    const names = ['localhost', '127.0.0.1', '[::1]'];
    // A wildcard address is not a name anyone can browse to; list the real ones with --ui-allowed-host.
    if (!['0.0.0.0', '[::]', ''].includes(bound)) names.push(bound);
    for (const n of names) this.#exact.add(`${n}:${port}`);
    for (const e of extra) {
      const h = splitHost(e);
      if (!h) continue;
      if (h.port) this.#exact.add(`${h.name}:${Number(h.port)}`);
      else this.#anyPort.add(h.name);
    }
  }

  /** Whether `hostport` (a Host header, or an origin's host) is one of ours. */
  allows(hostport: string | undefined, defaultPort = 80): boolean {
    if (!hostport) return false;
    const h = splitHost(hostport);
    if (!h) return false;
    if (this.#anyPort.has(h.name)) return true;
    return this.#exact.has(`${h.name}:${h.port ? Number(h.port) : defaultPort}`);
  }

  /** Whether `origin` (`scheme://host[:port]`, from Origin or Referer) is the UI's own. */
  allowsOrigin(origin: string | undefined): boolean {
    if (!origin) return false;
    let url: URL;
    try {
      url = new URL(origin);
    } catch {
      return false;
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return false;
    return this.allows(url.host, url.protocol === 'https:' ? 443 : 80);
  }
}

/**
 * Refuses a state-changing request that a page of another origin could have sent with the
 * owner's cookie. SameSite=Strict does not help here: sites are compared without the port, so
 * every other server on 127.0.0.1 is "same-site".
 */
function checkOrigin(
  request: FastifyRequest,
  hosts: HostAllowlist,
  apiCookie: ApiCookie,
  sessionCookie: string,
): void {
  if (!STATE_CHANGING.has(request.method)) return;
  // Scripts with the token: not a browser, nothing rides along on it.
  if (apiCookie.matches(request.headers.authorization)) return;
  const origin = request.headers.origin;
  if (origin !== undefined) {
    if (hosts.allowsOrigin(origin)) return;
    throw new CrossOriginRequestError(
      `a ${request.method} from origin '${origin}' is refused: only the node's own UI may change things`,
    );
  }
  // No Origin: fine for a client with no cookie (curl logging in); a browser request riding on
  // the cookie must show it comes from the UI some other way.
  if (request.cookies[sessionCookie] === undefined) return;
  const site = request.headers['sec-fetch-site'];
  if (site === 'same-origin' || site === 'none') return;
  const referer = request.headers.referer;
  if (site === undefined && referer !== undefined && hosts.allowsOrigin(referer)) return;
  throw new CrossOriginRequestError(
    `a ${request.method} with the session cookie but no Origin from the node's UI is refused`,
  );
}

const PLACEHOLDER_PAGE = `<!doctype html>
<meta charset="utf-8"><title>dlcfd</title>
<p>This dlcfd node is running, but its web UI has not been built: run <code>npm run build:ui</code>
in the dlcfd directory and reload. The API is described at
<a href="/api/openapi.json">/api/openapi.json</a> (log in first).</p>
`;

/**
 * Starts the UI server for a running daemon.
 *
 * @example
 * ```ts
 * const ui = await startUiServer(daemon, { host: '127.0.0.1', port: 8000, logger }); // daemon.app
 * process.stdout.write(`ui-url ${ui.url}\n`);
 * if (ui.initialPassword) process.stdout.write(`ui-password ${ui.initialPassword}\n`); // first start only
 * // scripts: curl -H "Authorization: Bearer $(cat <datadir>/api.cookie)" $URL/api/health
 * await ui.close();
 * ```
 */
export async function startUiServer(
  node: { readonly app: AppService },
  options: UiServerOptions,
): Promise<UiServer> {
  const log = options.logger;
  checkUiHost(options.host, options.unsafeListen);
  const service = node.app;
  const datadir = options.datadir ?? service.datadir;
  const sessionCookie = sessionCookieName(datadir);
  const { store: passwords, generated } = await PasswordStore.open(datadir, options.password);
  const apiCookie = await ApiCookie.create(datadir);
  const sessions = new SessionStore(options.sessionTtlMs);
  const live = new LiveFeed(service, {
    logger: log,
    sessionValid: (id) => sessions.valid(id),
    ...(options.heartbeatMs !== undefined ? { heartbeatMs: options.heartbeatMs } : {}),
    ...(options.quoteThrottleMs !== undefined ? { quoteThrottleMs: options.quoteThrottleMs } : {}),
  });
  // Streams opened with a session end with it (logout, password change, expiry).
  sessions.onEnd(() => live.sessionsEnded());
  const registry = createMetrics(service, live);
  const routes: RouteInfo[] = [];
  // Known once listening (the port may be 0 until then).
  let hosts: HostAllowlist | undefined;

  const app: FastifyInstance = Fastify({
    loggerInstance: log as FastifyBaseLogger,
    // Per-request lines are logged at debug by our onResponse hook instead of at info.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: MAX_BODY_BYTES,
    exposeHeadRoutes: false,
    // On close, drop every connection: browsers and fetch keep pre-opened sockets that never send
    // a request, and Node does not count those as idle, so close would wait for them to time out.
    forceCloseConnections: true,
  });
  try {
    await app.register(fastifyCookie);
    // JSON bodies, where an empty body means "no body": a browser's fetch to a command route
    // (close, commit…) often sends the JSON content type with nothing after it.
    app.removeContentTypeParser('application/json');
    app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
      const text = String(body);
      if (text.trim() === '') return done(null, undefined);
      try {
        done(null, JSON.parse(text));
      } catch (err) {
        done(new ValidationError(`the body is not valid JSON: ${(err as Error).message}`));
      }
    });

    app.addHook('onRoute', (r) => {
      if (!r.url.startsWith('/api/') && r.url !== '/metrics') return; // static assets, `/`
      const methods = Array.isArray(r.method) ? r.method : [r.method];
      const isPublic = (r.config as { public?: boolean } | undefined)?.public === true;
      for (const m of methods) routes.push({ method: m, url: r.url, public: isPublic });
    });
    // Every request, static files and 404s included: first the Host, then where it comes from.
    app.addHook('onRequest', async (request) => {
      const host = request.headers.host;
      if (!hosts?.allows(host)) throw new HostNotAllowedError(host ?? '');
      checkOrigin(request, hosts, apiCookie, sessionCookie);
    });
    app.addHook('onRequest', async (request) => {
      if (request.is404) return;
      const config = request.routeOptions.config as { public?: boolean; static?: boolean };
      if (config.public || config.static) return;
      if (authenticate({ sessions, sessionCookie, apiCookie }, request)) return;
      throw new UnauthorizedError();
    });
    app.addHook('onResponse', async (request, reply) => {
      request.log.debug(
        { method: request.method, route: request.routeOptions.url, status: reply.statusCode },
        'request',
      );
    });
    app.setErrorHandler((err, request, reply) => {
      const { status, name, message } = httpError(err);
      if (status === 500) request.log.error({ err }, 'request failed');
      else request.log.debug({ status, name, message }, 'request refused');
      if (err instanceof ApiError && 'retryAfterSecs' in err) {
        reply.header('retry-after', String(err.retryAfterSecs));
      }
      reply.status(status).send(errorBody(name, message));
    });

    registerRoutes(app, {
      service,
      passwords,
      sessions,
      sessionCookie,
      apiCookie,
      throttle: new PasswordThrottle(),
      live,
      metrics: registry,
      openApi: () => openApiDocument(VERSION, sessionCookie),
    });

    const index = options.staticDir
      ? await readFile(join(options.staticDir, 'index.html'), 'utf8').catch(() => undefined)
      : undefined;
    if (options.staticDir && index) {
      const root = options.staticDir;
      await app.register(async (scope) => {
        scope.addHook('onRoute', (r) => {
          r.config = { ...r.config, static: true };
        });
        await scope.register(fastifyStatic, { root, prefix: '/', wildcard: true });
      });
    } else {
      app.get('/', { config: { static: true } }, async (_request, reply) =>
        reply.type('text/html; charset=utf-8').send(PLACEHOLDER_PAGE),
      );
    }
    app.setNotFoundHandler(async (request, reply) => {
      const path = request.url.split('?')[0] ?? '';
      // A single-page app: its client-side routes load index.html.
      if (index && request.method === 'GET' && !path.startsWith('/api/') && path !== '/metrics') {
        return reply.type('text/html; charset=utf-8').send(index);
      }
      return reply.status(404).send(errorBody('NotFound', `no route ${request.method} ${path}`));
    });

    await app.listen({ host: options.host, port: options.port });
    const bound = app.server.address();
    hosts = new HostAllowlist(
      options.host,
      typeof bound === 'object' && bound ? bound.port : options.port,
      options.allowedHosts,
    );
  } catch (err) {
    live.close();
    await app.close().catch(() => undefined);
    await apiCookie.remove();
    throw err;
  }

  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  const url = `http://${host}:${port}`;
  log.info({ url, apiCookie: apiCookie.path }, 'ui server listening');
  let closing: Promise<void> | undefined;
  return {
    url,
    initialPassword: generated,
    apiCookiePath: apiCookie.path,
    sessionCookie,
    routes,
    close() {
      closing ??= (async () => {
        live.close();
        await app.close();
        await apiCookie.remove();
      })();
      return closing;
    },
  };
}
