/**
 * What the remote scenario runner (remote.ts) speaks over the network: a node's HTTP API, logged
 * in with the UI password, and a service's bearer-token control endpoint (the price feed's, the
 * oracle's). Every request is bounded by {@link REMOTE_REQUEST_TIMEOUT_MS}.
 */
import { NamedError } from '../../model/named-error.ts';

/** How long one API or control request may take before it is given up. */
export const REMOTE_REQUEST_TIMEOUT_MS = 10_000;

/** A node or a control endpoint answered a request with an unexpected status. */
export class RemoteApiError extends NamedError {
  readonly status: number;
  readonly body: unknown;
  constructor(what: string, status: number, body: unknown) {
    // The node's API answers `{error: {name, message}}`, the feed's `{error: "…"}`.
    const error = (body as { error?: unknown } | null)?.error;
    const said =
      typeof error === 'string'
        ? error
        : error && typeof error === 'object'
          ? `${(error as { name?: string }).name ?? ''}: ${(error as { message?: string }).message ?? ''}`
          : typeof body === 'string'
            ? body.slice(0, 200)
            : '';
    super(`${what}: HTTP ${status} ${said}`.trim());
    this.status = status;
    this.body = body;
  }
}

// biome-ignore lint/suspicious/noExplicitAny: API answers are read loosely, as JSON
export type Json = any;

/** A request's signal: the run's (if any) and the request timeout. */
export const requestSignal = (signal?: AbortSignal) =>
  signal
    ? AbortSignal.any([signal, AbortSignal.timeout(REMOTE_REQUEST_TIMEOUT_MS)])
    : AbortSignal.timeout(REMOTE_REQUEST_TIMEOUT_MS);

/** One node's API, logged in with the UI password (again when its session lapsed). */
export class RemoteNode {
  readonly name: string;
  readonly url: string;
  readonly #password: string;
  #cookie: string | undefined;
  role: 'maker' | 'taker' | undefined;
  peerId = '';

  constructor(name: string, url: string, password: string) {
    this.name = name;
    this.url = url.replace(/\/$/, '');
    this.#password = password;
  }

  async #login(): Promise<string> {
    const res = await fetch(`${this.url}/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ password: this.#password }),
      signal: requestSignal(),
    });
    if (res.status !== 200) throw new RemoteApiError(`${this.name} login`, res.status, null);
    const session = res.headers
      .getSetCookie()
      .map((c) => c.split(';')[0]!)
      .find((c) => c.startsWith('dlcfd_session_'));
    if (!session) throw new RemoteApiError(`${this.name} login: no session cookie`, 200, null);
    return session;
  }

  /** `method path` with a JSON body; answers status and parsed body (text when not JSON). */
  async call(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; body: Json }> {
    for (let attempt = 0; ; attempt++) {
      this.#cookie ??= await this.#login();
      const res = await fetch(`${this.url}${path}`, {
        method,
        headers: {
          cookie: this.#cookie,
          // A state-changing request with the session cookie must come from the node's own
          // origin (its CSRF wall): the runner reaches it by the name it serves under.
          ...(method !== 'GET' && { origin: new URL(this.url).origin }),
          ...(body !== undefined && { 'content-type': 'application/json' }),
        },
        ...(body !== undefined && { body: JSON.stringify(body) }),
        signal: requestSignal(),
      });
      if (res.status === 401 && attempt === 0) {
        this.#cookie = undefined;
        continue;
      }
      const text = await res.text();
      let parsed: Json = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        // Not JSON: /metrics, CSV.
      }
      return { status: res.status, body: parsed };
    }
  }

  /** GET `path`, which must answer 200. */
  async get(path: string): Promise<Json> {
    const r = await this.call('GET', path);
    if (r.status !== 200) throw new RemoteApiError(`${this.name} GET ${path}`, r.status, r.body);
    return r.body;
  }
}

/**
 * A service's control endpoint (`http://pricefeed:8088/control`, `https://oracle:8443/control`),
 * with the service's bearer token when one is given.
 */
export class ControlEndpoint {
  /** Names it in errors: `feed`, `oracle`. */
  readonly what: string;
  readonly #base: string;
  readonly #token: string | undefined;
  constructor(what: string, base: string, token: string | undefined) {
    this.what = what;
    this.#base = base.replace(/\/$/, '');
    this.#token = token;
  }

  /** `GET` (no body) or `POST` (a JSON body, or none) `path` under the base; must answer 200. */
  async request(method: 'GET' | 'POST', path: string, body?: unknown): Promise<Json> {
    const res = await fetch(`${this.#base}${path}`, {
      method,
      headers: {
        ...(this.#token && { authorization: `Bearer ${this.#token}` }),
        ...(body !== undefined && { 'content-type': 'application/json' }),
      },
      ...(body !== undefined && { body: JSON.stringify(body) }),
      signal: requestSignal(),
    });
    const answer = await res.json().catch(() => null);
    if (res.status !== 200) {
      throw new RemoteApiError(`${this.what} ${method} ${path || '/'}`, res.status, answer);
    }
    return answer;
  }

  post(path: string, body?: unknown): Promise<Json> {
    return this.request('POST', path, body);
  }
}
