// Real nodes with their UI server on a free port, and a small HTTP client for the API tests.
import { readFile } from 'node:fs/promises';
import { loadConfig, type Role } from '../../node/daemon/config.ts';
import { Daemon } from '../../node/daemon/daemon.ts';
import type { PriceFeedServer } from '../../node/pricefeed/server.ts';
import { startUiServer, type UiServer, type UiServerOptions } from '../../ui-server/server.ts';
import { tempDir } from '../helpers/cfd-fixtures.ts';
import { Cleanups } from '../helpers/cleanups.ts';
import { quietFeed } from '../helpers/live-nodes.ts';
import { untilWithin } from '../helpers/wait.ts';
import { silent } from '../node/chain/helpers.ts';

export { Cleanups, silent };

/** A pricefeed URL nobody listens on: the feed stays down. */
export const DEAD_FEED = 'ws://127.0.0.1:1/realtime';

export interface TestNode {
  readonly daemon: Daemon;
  readonly ui: UiServer;
  readonly datadir: string;
  /** Client authenticated with the api.cookie bearer token. */
  readonly api: ApiClient;
  /** Stops the UI server (not the daemon). */
  stopUi(): Promise<void>;
}

/**
 * Starts a daemon (regtest, nothing reachable unless `flags` say so) and its UI server on a free
 * port. `datadir` reuses a directory (a restart).
 */
export async function startNode(
  cleanups: Cleanups,
  options: {
    role?: Role;
    flags?: Record<string, string | string[]>;
    ui?: Partial<UiServerOptions>;
    datadir?: string;
  } = {},
): Promise<TestNode> {
  let datadir = options.datadir;
  if (!datadir) {
    const dir = await tempDir('dlcfd-ui-');
    cleanups.add(dir.cleanup);
    datadir = dir.path;
  }
  const config = await loadConfig({
    role: options.role ?? 'taker',
    flags: { datadir, network: 'regtest', pricefeed: DEAD_FEED, ...options.flags },
  });
  const daemon = await Daemon.start(config, { logger: silent });
  cleanups.add(() => daemon.stop());
  const ui = await startUiServer(daemon, {
    host: '127.0.0.1',
    port: 0,
    logger: silent,
    ...options.ui,
  });
  let stopped = false;
  const stopUi = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await ui.close();
  };
  cleanups.add(stopUi);
  const token = (await readFile(ui.apiCookiePath, 'utf8')).trim();
  return { daemon, ui, datadir, api: new ApiClient(ui.url, { bearer: token }), stopUi };
}

/**
 * A quiet price feed, a maker listening on loopback and a taker dialling it, both on the feed;
 * all stopped by `cleanups`.
 */
export async function startMakerAndTaker(
  cleanups: Cleanups,
): Promise<{ feed: PriceFeedServer; maker: TestNode; taker: TestNode }> {
  const feed = await quietFeed();
  cleanups.add(() => feed.stop());
  const maker = await startNode(cleanups, {
    role: 'maker',
    flags: { listen: ['/ip4/127.0.0.1/tcp/0'], pricefeed: feed.url },
  });
  const address = maker.daemon.p2p.getMultiaddrs()[0]!.toString();
  const taker = await startNode(cleanups, { flags: { maker: [address], pricefeed: feed.url } });
  return { feed, maker, taker };
}

// biome-ignore lint/suspicious/noExplicitAny: JSON bodies under test are read loosely
export interface ApiResponse<T = any> {
  readonly status: number;
  readonly headers: Headers;
  readonly body: T;
  readonly text: string;
}

/** A fetch wrapper: JSON in, JSON (or text) out, credentials attached. */
export class ApiClient {
  readonly url: string;
  bearer: string | undefined;
  cookie: string | undefined;

  constructor(url: string, auth: { bearer?: string; cookie?: string } = {}) {
    this.url = url;
    this.bearer = auth.bearer;
    this.cookie = auth.cookie;
  }

  get(path: string): Promise<ApiResponse> {
    return this.request('GET', path);
  }

  post(path: string, body?: unknown): Promise<ApiResponse> {
    return this.request('POST', path, body);
  }

  /** POST /api/orders: takes offer `offerId` for `lots` lots at `leverage`. */
  order(offerId: string, lots: number, leverage: number): Promise<ApiResponse> {
    return this.post('/api/orders', { offerId, lots, leverage });
  }

  async request(
    method: string,
    path: string,
    body?: unknown,
    extraHeaders: Record<string, string> = {},
  ): Promise<ApiResponse> {
    // Like the UI's own page: a state-changing fetch carries the UI's origin.
    const headers: Record<string, string> = {
      ...(method === 'GET' || method === 'HEAD' ? {} : { origin: this.url }),
      ...extraHeaders,
    };
    if (this.bearer) headers.authorization = `Bearer ${this.bearer}`;
    if (this.cookie) headers.cookie = this.cookie;
    let payload: string | undefined;
    if (body !== undefined) {
      payload = typeof body === 'string' ? body : JSON.stringify(body);
      headers['content-type'] ??= 'application/json';
    }
    const res = await fetch(`${this.url}${path}`, { method, headers, body: payload });
    const text = await res.text();
    let parsed: unknown = text;
    if (res.headers.get('content-type')?.includes('application/json')) parsed = JSON.parse(text);
    return { status: res.status, headers: res.headers, body: parsed, text };
  }

  /** Logs in with `password`; keeps the session cookie. Returns the raw Set-Cookie header. */
  async login(password: string): Promise<{ res: ApiResponse; setCookie: string | undefined }> {
    const res = await this.post('/api/login', { password });
    // Each node names its own session cookie: dlcfd_session_<8 hex> (ui-server/listen.ts).
    const setCookie = res.headers.getSetCookie().find((c) => c.startsWith('dlcfd_session_'));
    if (setCookie) this.cookie = setCookie.split(';')[0];
    return { res, setCookie };
  }
}

/** {@link untilWithin | until} for the API specs: 20 s by default, polled every 25 ms. */
export const until = untilWithin(20_000, 25);

/** One server-sent event. */
export interface SseEvent {
  readonly event: string;
  // biome-ignore lint/suspicious/noExplicitAny: JSON bodies under test are read loosely
  readonly data: any;
}

/** A live feed subscription that records every event and comment. */
export class SseClient {
  readonly events: SseEvent[] = [];
  readonly comments: string[] = [];
  readonly #abort = new AbortController();
  #done: Promise<void> | undefined;
  status = 0;
  contentType: string | null = null;

  static async connect(url: string, headers: Record<string, string>): Promise<SseClient> {
    const client = new SseClient();
    const res = await fetch(`${url}/api/events`, { headers, signal: client.#abort.signal });
    client.status = res.status;
    client.contentType = res.headers.get('content-type');
    if (res.ok && res.body) client.#done = client.#read(res.body);
    return client;
  }

  async #read(body: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of body) {
        buffer += decoder.decode(chunk, { stream: true });
        let end = buffer.indexOf('\n\n');
        while (end >= 0) {
          this.#parse(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
          end = buffer.indexOf('\n\n');
        }
      }
    } catch {
      // aborted
    }
  }

  #parse(block: string): void {
    let event = 'message';
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) this.comments.push(line.slice(1).trim());
      else if (line.startsWith('event: ')) event = line.slice(7);
      else if (line.startsWith('data: ')) data.push(line.slice(6));
    }
    if (data.length > 0) this.events.push({ event, data: JSON.parse(data.join('\n')) });
  }

  /** Waits for an event matching `match` and returns it. */
  async next(what: string, match: (e: SseEvent) => boolean, ms = 20_000): Promise<SseEvent> {
    await until(what, () => this.events.some(match), ms);
    return this.events.find(match)!;
  }

  /** Ended by the server. */
  get ended(): Promise<void> {
    return this.#done ?? Promise.resolve();
  }

  async close(): Promise<void> {
    this.#abort.abort();
    await this.#done;
  }
}
