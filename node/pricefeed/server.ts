/**
 * The local price feed: a websocket server speaking the BitMEX realtime protocol, for local
 * testnets and tests, plus a loopback HTTP control endpoint to force the price.
 *
 * Protocol (as BitMEX at `wss://www.bitmex.com/realtime`, the subset dlcfd reads):
 * - on connect, a welcome frame `{"info":"Welcome to …","version":…,"timestamp":…,…}`;
 * - `{"op":"subscribe","args":["quoteBin1m:XBTUSD"]}` (or `?subscribe=quoteBin1m:XBTUSD` on the URL)
 *   → `{"success":true,"subscribe":"quoteBin1m:XBTUSD","request":{…}}`, then a `partial` frame with
 *   the current quote, then an `insert` frame on every tick. `quoteBin1m:ETHUSD` likewise, from its
 *   own price path (its own seed, starting at `ethStartPrice`, 3,000 USD by default); the bare
 *   table `quoteBin1m` is both. `instrument:.BXBT` and `instrument:.BETH` likewise, with `update`
 *   frames carrying `markPrice`/`lastPrice`. `unsubscribe` is answered too;
 * - the text `ping` → `pong`;
 * - anything else → `{"status":400,"error":"…","meta":{},"request":…}`.
 *
 * Prices are exact {@link Price}s on the 0.5 USD tick, written as JSON numbers with at most one
 * decimal: bid = price − spread/2, ask = price + spread/2.
 *
 * Control (loopback clients, and others presenting `Authorization: Bearer <controlToken>` when the
 * feed was given one — a deployment's scenario runner sets prices from another host; JSON bodies
 * and answers, prices as decimal strings; each route acts on XBTUSD, or on ETHUSD with
 * `?symbol=ETHUSD`):
 * - `GET /control/price` → `{"price":"45000.5","bid":"45000","ask":"45001","timestamp":"…"}`
 * - `POST /control/price` `{"price":"45000.5"}` → sets it, pushes it to subscribers, answers as GET
 * - `POST /control/tick` → advances the price path one step now, answers as GET
 * - `POST /control/pause` / `POST /control/resume` → goes silent (a feed dead upstream: sockets
 *   and pings live, no quotes) / sends quotes again
 *
 * With no tick due, the current quote is re-sent with a fresh timestamp every `republishMs`, as
 * BitMEX sends a bin every minute whether or not the price moved.
 *
 * @example
 * const feed = await PriceFeedServer.start({ port: 0, seed: 7, tickMs: 500 });
 * feed.url;        // ws://127.0.0.1:41234/realtime
 * feed.controlUrl; // http://127.0.0.1:41234/control
 * await feed.stop();
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { type Logger, pino } from 'pino';
import { type RawData, WebSocket, WebSocketServer } from 'ws';
import { formatPrice, type Price, parsePrice } from '../../model/units.ts';
import { bearerMatches, readBody } from '../runtime/control-http.ts';
import {
  CONTROL_PATH,
  DEFAULT_ETH_START_PRICE,
  DEFAULT_HOST,
  DEFAULT_REPUBLISH_MS,
  DEFAULT_SPREAD,
  DEFAULT_START_PRICE,
  DEFAULT_TICK_MS,
  FEED_SYMBOLS,
  type FeedSymbol,
  INDEX_OF,
  INSTRUMENT_TABLE,
  MAX_CONTROL_BODY_BYTES,
  QUOTE_SYMBOL,
  QUOTE_TABLE,
  quoteTopic,
  REALTIME_PATH,
  TICK,
} from './constants.ts';
import { InvalidPricePathError } from './errors.ts';
import { priceToJson, quoteRow } from './frames.ts';
import { csvReplay, isOnTick, type PricePath, parseCsvPrices, randomWalk } from './price-path.ts';

export interface PriceFeedServerOptions {
  /** Interface to bind. @default '127.0.0.1' */
  host?: string;
  /** Port; 0 picks a free one. @default 0 */
  port?: number;
  /** First price (on the 0.5 tick). Ignored with `csv`, whose first price is the start. @default 40000 */
  startPrice?: Price;
  /** ETHUSD's first price (on the 0.5 tick); ETHUSD always walks (`csv` is XBTUSD's). @default 3000 */
  ethStartPrice?: Price;
  /** Seed of the random walk (ETHUSD's walk is seeded from it too, on a path of its own). @default 1 */
  seed?: number;
  /** Milliseconds between ticks; 0 moves the price only through control or {@link PriceFeedServer.tick}. @default 1000 */
  tickMs?: number;
  /** Relative standard deviation per tick, decimal string. @default '0.0005' */
  volatility?: string;
  /** Relative mean move per tick, decimal string. @default '0' */
  drift?: string;
  /** Bid–ask spread, a multiple of 1 USD (two ticks) so bid and ask stay on the tick. @default 1 */
  spread?: Price;
  /**
   * Re-send the current quote with a fresh timestamp after this long without a new one (BitMEX
   * sends a bin every minute whether or not the price moved), so a feed whose price stands still
   * (`tickMs: 0`) does not look dead to clients measuring staleness from the quote's timestamp.
   * 0 never. @default DEFAULT_REPUBLISH_MS (5 s)
   */
  republishMs?: number;
  /** CSV text to replay instead of the walk (`[timestamp,]price` lines; see parseCsvPrices). */
  csv?: string;
  /** Start the CSV over at its end instead of holding the last price. @default false */
  loop?: boolean;
  /** Logger; silent by default. */
  logger?: Logger;
  /**
   * Lets clients off loopback use the control endpoint with `Authorization: Bearer <token>`
   * (at least {@link MIN_CONTROL_TOKEN_LENGTH} characters). Without it only loopback may.
   */
  controlToken?: string;
}

/** The shortest control token accepted: a guessable one would open the price to anyone. */
export const MIN_CONTROL_TOKEN_LENGTH = 16;

/** The feed's current quote. */
export interface FeedQuote {
  price: Price;
  bid: Price;
  ask: Price;
  /** When the price was set (tick, control or start). */
  at: Date;
}

/** A served topic: one table of one contract. */
interface Topic {
  readonly table: typeof QUOTE_TABLE | typeof INSTRUMENT_TABLE;
  readonly symbol: FeedSymbol;
}
const TOPIC_LIST: readonly Topic[] = FEED_SYMBOLS.flatMap((symbol) => [
  { table: QUOTE_TABLE, symbol },
  { table: INSTRUMENT_TABLE, symbol },
]);
const topicName = (t: Topic): string =>
  t.table === QUOTE_TABLE ? quoteTopic(t.symbol) : `${INSTRUMENT_TABLE}:${INDEX_OF[t.symbol]}`;

/** Requested topic → what it serves. A bare table name means every symbol of the table. */
const TOPICS: Record<string, readonly Topic[]> = Object.fromEntries([
  ...TOPIC_LIST.map((t) => [topicName(t), [t]] as const),
  [QUOTE_TABLE, TOPIC_LIST.filter((t) => t.table === QUOTE_TABLE)],
  [INSTRUMENT_TABLE, TOPIC_LIST.filter((t) => t.table === INSTRUMENT_TABLE)],
]);

/** ETHUSD's walk: seeded from the feed's seed, offset so its path is not XBTUSD's. */
const ETH_SEED_OFFSET = 1_000_003;

/** One contract's price path and current quote. */
interface Book {
  readonly path: PricePath;
  quote: FeedQuote;
}

const WELCOME_INFO = 'Welcome to the BitMEX Realtime API.';
const WELCOME_VERSION = 'dlcfd-pricefeed';
const BITMEX_WS_DOCS = 'https://www.bitmex.com/app/wsAPI';

const quotePartialMeta = (symbols: readonly FeedSymbol[]) => ({
  keys: [],
  types: {
    timestamp: 'timestamp',
    symbol: 'symbol',
    bidSize: 'long',
    bidPrice: 'float',
    askPrice: 'float',
    askSize: 'long',
  },
  foreignKeys: { symbol: 'instrument' },
  attributes: { timestamp: 'sorted', symbol: 'grouped' },
  filter: symbols.length === 1 ? { symbol: symbols[0] } : {},
});

const instrumentPartialMeta = (symbols: readonly FeedSymbol[]) => ({
  keys: ['symbol'],
  types: { symbol: 'symbol', timestamp: 'timestamp', markPrice: 'float', lastPrice: 'float' },
  foreignKeys: {},
  attributes: { symbol: 'unique' },
  filter: symbols.length === 1 ? { symbol: INDEX_OF[symbols[0]!] } : {},
});

/** A running local feed. Create with {@link PriceFeedServer.start}; it prints nothing. */
export class PriceFeedServer {
  /** Websocket URL to give clients: `ws://<host>:<port>/realtime`. */
  readonly url: string;
  /** Base of the control endpoint: `http://<host>:<port>/control`. */
  readonly controlUrl: string;
  readonly host: string;
  readonly port: number;

  readonly #http: Server;
  readonly #wss: WebSocketServer;
  readonly #log: Logger;
  readonly #books: Record<FeedSymbol, Book>;
  readonly #halfSpread: Price;
  readonly #floor: Price;
  readonly #subscriptions = new Map<WebSocket, Set<Topic>>();
  #timer: NodeJS.Timeout | undefined;
  #republish: NodeJS.Timeout | undefined;
  #paused = false;
  #stopped = false;
  #controlToken: Buffer | undefined;

  /** Starts listening; resolves once the port is bound. */
  static async start(options: PriceFeedServerOptions = {}): Promise<PriceFeedServer> {
    const spread = options.spread ?? DEFAULT_SPREAD;
    if (spread <= 0n || spread % (2n * TICK) !== 0n) {
      throw new InvalidPricePathError(
        `spread must be a positive multiple of ${formatPrice((2n * TICK) as Price)} USD`,
      );
    }
    if (
      options.controlToken !== undefined &&
      options.controlToken.length < MIN_CONTROL_TOKEN_LENGTH
    ) {
      throw new InvalidPricePathError(
        `the control token must have at least ${MIN_CONTROL_TOKEN_LENGTH} characters`,
      );
    }
    const tickMs = options.tickMs ?? DEFAULT_TICK_MS;
    if (!Number.isSafeInteger(tickMs) || tickMs < 0) {
      throw new InvalidPricePathError(`tick interval must be a whole number of ms ≥ 0`);
    }
    const halfSpread = (spread / 2n) as Price;
    const floor = (halfSpread + TICK) as Price;
    let path: PricePath;
    let start: Price;
    const walk = (seed: number): PricePath =>
      randomWalk({ seed, drift: options.drift, volatility: options.volatility, floor });
    if (options.csv !== undefined) {
      const prices = parseCsvPrices(options.csv, floor);
      path = csvReplay(prices, options.loop ?? false);
      start = prices[0]!;
    } else {
      path = walk(options.seed ?? 1);
      start = options.startPrice ?? DEFAULT_START_PRICE;
    }
    checkPrice(start, floor);
    const ethStart = options.ethStartPrice ?? DEFAULT_ETH_START_PRICE;
    checkPrice(ethStart, floor);
    const starts = {
      XBTUSD: { path, start },
      ETHUSD: { path: walk((options.seed ?? 1) + ETH_SEED_OFFSET), start: ethStart },
    };

    const http = createServer();
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(options.port ?? 0, options.host ?? DEFAULT_HOST, () => {
        http.off('error', reject);
        resolve();
      });
    });
    const server = new PriceFeedServer(http, starts, halfSpread, floor, options.logger);
    if (options.controlToken !== undefined) {
      server.#controlToken = Buffer.from(options.controlToken);
    }
    const republishMs = options.republishMs ?? DEFAULT_REPUBLISH_MS;
    if (!Number.isSafeInteger(republishMs) || republishMs < 0) {
      throw new InvalidPricePathError(`republish interval must be a whole number of ms ≥ 0`);
    }
    if (tickMs > 0) {
      server.#timer = setInterval(() => {
        for (const symbol of FEED_SYMBOLS) server.tick(symbol);
      }, tickMs);
    }
    if (republishMs > 0) {
      server.#republish = setInterval(
        () => {
          for (const symbol of FEED_SYMBOLS) {
            const at = server.#books[symbol].quote.at.getTime();
            if (Date.now() - at >= republishMs) server.#restamp(symbol);
          }
        },
        Math.max(1, Math.floor(republishMs / 2)),
      );
    }
    return server;
  }

  private constructor(
    http: Server,
    starts: Record<FeedSymbol, { path: PricePath; start: Price }>,
    halfSpread: Price,
    floor: Price,
    logger: Logger | undefined,
  ) {
    this.#http = http;
    this.#halfSpread = halfSpread;
    this.#floor = floor;
    this.#log = (logger ?? pino({ level: 'silent' })).child({ component: 'pricefeed:server' });
    const book = (symbol: FeedSymbol): Book => ({
      path: starts[symbol].path,
      quote: this.#quoteAt(starts[symbol].start),
    });
    this.#books = { XBTUSD: book('XBTUSD'), ETHUSD: book('ETHUSD') };
    const address = http.address() as AddressInfo;
    this.host = address.address;
    this.port = address.port;
    const hostInUrl = this.host.includes(':') ? `[${this.host}]` : this.host;
    this.url = `ws://${hostInUrl}:${this.port}${REALTIME_PATH}`;
    this.controlUrl = `http://${hostInUrl}:${this.port}${CONTROL_PATH}`;

    this.#wss = new WebSocketServer({ noServer: true });
    this.#wss.on('connection', (ws, req) => this.#onConnection(ws, req));
    http.on('upgrade', (req, socket, head) => this.#onUpgrade(req, socket, head));
    http.on('request', (req, res) => {
      this.#onRequest(req, res).catch((err: unknown) => {
        this.#log.warn({ err }, 'control request failed');
        if (!res.headersSent) reply(res, 500, { error: 'internal error' });
      });
    });
  }

  /** The current XBTUSD quote. */
  get quote(): FeedQuote {
    return this.#books.XBTUSD.quote;
  }

  /** The current quote of a contract. */
  quoteOf(symbol: FeedSymbol): FeedQuote {
    return this.#books[symbol].quote;
  }

  /** Open websocket connections. */
  get connections(): number {
    return this.#subscriptions.size;
  }

  /**
   * Forces the price of `symbol` (XBTUSD unless given; on the tick, at least spread/2 + one tick)
   * and pushes it to subscribers at once. The walk continues from it. Throws
   * {@link InvalidPricePathError} otherwise.
   */
  setPrice(price: Price, options: { at?: Date; symbol?: FeedSymbol } = {}): FeedQuote {
    checkPrice(price, this.#floor);
    return this.#publish(options.symbol ?? QUOTE_SYMBOL, price, options.at);
  }

  /** Whether quote frames are held back ({@link pause}). */
  get paused(): boolean {
    return this.#paused;
  }

  /**
   * Goes silent as a feed that died upstream: sockets stay open and `ping` is still answered, but
   * no quote or index frame is sent (ticks, republishing and {@link setPrice} still move the
   * price) until {@link resume}, which sends the current quote at once.
   */
  pause(): void {
    this.#paused = true;
  }

  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    for (const symbol of FEED_SYMBOLS) this.#restamp(symbol);
  }

  /** Advances the price path of `symbol` (XBTUSD unless given) one step and pushes the new quote. */
  tick(symbol: FeedSymbol = QUOTE_SYMBOL): FeedQuote {
    const book = this.#books[symbol];
    return this.#publish(symbol, book.path.next(book.quote.price));
  }

  /** Stops ticking, drops every connection and closes the port. Idempotent. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    clearInterval(this.#timer);
    clearInterval(this.#republish);
    for (const ws of this.#subscriptions.keys()) ws.terminate();
    this.#subscriptions.clear();
    this.#wss.close();
    await new Promise<void>((resolve) => {
      this.#http.close(() => resolve());
      this.#http.closeAllConnections();
    });
  }

  #quoteAt(price: Price, at = new Date()): FeedQuote {
    return {
      price,
      bid: (price - this.#halfSpread) as Price,
      ask: (price + this.#halfSpread) as Price,
      at,
    };
  }

  /** The current price of `symbol` again, timestamped now. */
  #restamp(symbol: FeedSymbol): void {
    this.#publish(symbol, this.#books[symbol].quote.price);
  }

  #publish(symbol: FeedSymbol, price: Price, at?: Date): FeedQuote {
    const book = this.#books[symbol];
    book.quote = this.#quoteAt(price, at);
    if (this.#paused) return book.quote;
    const frames = new Map<Topic, string>();
    for (const topic of TOPIC_LIST) {
      if (topic.symbol !== symbol) continue;
      const quote = topic.table === QUOTE_TABLE;
      frames.set(
        topic,
        JSON.stringify({
          table: topic.table,
          action: quote ? 'insert' : 'update',
          data: [quote ? this.#quoteRow(symbol) : this.#indexRow(symbol)],
        }),
      );
    }
    for (const [ws, topics] of this.#subscriptions) {
      for (const [topic, frame] of frames) if (topics.has(topic)) send(ws, frame);
    }
    return book.quote;
  }

  #quoteRow(symbol: FeedSymbol): ReturnType<typeof quoteRow> {
    const q = this.#books[symbol].quote;
    return quoteRow(q.bid, q.ask, q.at, undefined, symbol);
  }

  #indexRow(symbol: FeedSymbol): Record<string, unknown> {
    const q = this.#books[symbol].quote;
    const p = priceToJson(q.price);
    return { symbol: INDEX_OF[symbol], timestamp: q.at.toISOString(), markPrice: p, lastPrice: p };
  }

  #onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (this.#stopped || path !== REALTIME_PATH) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
      return;
    }
    this.#wss.handleUpgrade(req, socket, head, (ws) => this.#wss.emit('connection', ws, req));
  }

  #onConnection(ws: WebSocket, req: IncomingMessage): void {
    this.#subscriptions.set(ws, new Set());
    this.#log.debug({ remote: req.socket.remoteAddress }, 'client connected');
    ws.on('close', () => this.#subscriptions.delete(ws));
    ws.on('error', (err) => this.#log.debug({ err }, 'client socket error'));
    ws.on('message', (data, isBinary) => this.#onMessage(ws, data, isBinary));
    send(
      ws,
      JSON.stringify({
        info: WELCOME_INFO,
        version: WELCOME_VERSION,
        timestamp: new Date().toISOString(),
        docs: BITMEX_WS_DOCS,
        heartbeatEnabled: false,
      }),
    );
    const query = new URL(req.url ?? '/', 'http://localhost').searchParams.get('subscribe');
    if (query) {
      const args = query.split(',').filter((t) => t !== '');
      for (const topic of args) this.#subscribe(ws, topic, { op: 'subscribe', args });
    }
  }

  #onMessage(ws: WebSocket, data: RawData, isBinary: boolean): void {
    const text = isBinary ? '' : data.toString();
    if (text === 'ping') {
      send(ws, 'pong');
      return;
    }
    let request: unknown;
    try {
      request = JSON.parse(text);
    } catch {
      sendError(ws, 'Unable to parse request.', text);
      return;
    }
    const op = (request as { op?: unknown } | null)?.op;
    const rawArgs = (request as { args?: unknown } | null)?.args;
    const args = typeof rawArgs === 'string' ? [rawArgs] : rawArgs;
    if (op !== 'subscribe' && op !== 'unsubscribe') {
      sendError(ws, `Unknown op: ${JSON.stringify(op)}`, request);
      return;
    }
    if (!Array.isArray(args) || args.length === 0 || !args.every((a) => typeof a === 'string')) {
      sendError(ws, 'args must be a topic or a list of topics', request);
      return;
    }
    for (const topic of args as string[]) {
      if (op === 'subscribe') this.#subscribe(ws, topic, request);
      else this.#unsubscribe(ws, topic, request);
    }
  }

  #subscribe(ws: WebSocket, requested: string, request: unknown): void {
    const topics = this.#subscriptions.get(ws);
    const wanted = TOPICS[requested];
    if (!topics) return;
    if (!wanted) {
      sendError(ws, `Unknown or expired table, or you do not have access: ${requested}`, request);
      return;
    }
    if (wanted.every((t) => topics.has(t))) {
      sendError(ws, `You are already subscribed to this topic: ${requested}`, request);
      return;
    }
    for (const t of wanted) topics.add(t);
    send(ws, JSON.stringify({ success: true, subscribe: requested, request }));
    // One partial per request, with a row per contract it covers (all of a bare table's).
    const symbols = wanted.map((t) => t.symbol);
    const partial =
      wanted[0]!.table === QUOTE_TABLE
        ? {
            table: QUOTE_TABLE,
            action: 'partial',
            ...quotePartialMeta(symbols),
            data: this.#paused ? [] : symbols.map((s) => this.#quoteRow(s)),
          }
        : {
            table: INSTRUMENT_TABLE,
            action: 'partial',
            ...instrumentPartialMeta(symbols),
            data: this.#paused ? [] : symbols.map((s) => this.#indexRow(s)),
          };
    send(ws, JSON.stringify(partial));
  }

  #unsubscribe(ws: WebSocket, requested: string, request: unknown): void {
    const wanted = TOPICS[requested];
    const topics = this.#subscriptions.get(ws);
    if (!wanted || !topics || !wanted.some((t) => topics.has(t))) {
      sendError(ws, `You are not subscribed to this topic: ${requested}`, request);
      return;
    }
    for (const t of wanted) topics.delete(t);
    send(ws, JSON.stringify({ success: true, unsubscribe: requested, request }));
  }

  /** Whether the request carries the control token (compared in constant time). */
  #bearerMatches(req: IncomingMessage): boolean {
    return bearerMatches(req.headers.authorization, this.#controlToken);
  }

  async #onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname;
    if (!path.startsWith(`${CONTROL_PATH}/`)) {
      reply(res, 404, { error: `not found; the websocket is at ${REALTIME_PATH}` });
      return;
    }
    if (!isLoopback(req.socket.remoteAddress) && !this.#bearerMatches(req)) {
      reply(res, 403, {
        error: this.#controlToken
          ? 'the control endpoint answers loopback clients, or others with the control token'
          : 'the control endpoint answers loopback clients only',
      });
      return;
    }
    const symbolParam = url.searchParams.get('symbol') ?? QUOTE_SYMBOL;
    if (!(FEED_SYMBOLS as readonly string[]).includes(symbolParam)) {
      reply(res, 400, { error: `symbol must be one of ${FEED_SYMBOLS.join(', ')}` });
      return;
    }
    const symbol = symbolParam as FeedSymbol;
    const route = `${req.method} ${path.slice(CONTROL_PATH.length)}`;
    switch (route) {
      case 'GET /price':
        reply(res, 200, quoteJson(this.quoteOf(symbol)));
        return;
      case 'POST /tick':
        reply(res, 200, quoteJson(this.tick(symbol)));
        return;
      case 'POST /pause':
        this.pause();
        reply(res, 200, { ...quoteJson(this.quoteOf(symbol)), paused: true });
        return;
      case 'POST /resume':
        this.resume();
        reply(res, 200, { ...quoteJson(this.quoteOf(symbol)), paused: false });
        return;
      case 'POST /price': {
        const body = await readBody(req, MAX_CONTROL_BODY_BYTES);
        if (body === undefined) {
          reply(res, 413, { error: `body over ${MAX_CONTROL_BODY_BYTES} bytes` });
          return;
        }
        let priceText: unknown;
        try {
          priceText = (JSON.parse(body) as { price?: unknown } | null)?.price;
        } catch {
          reply(res, 400, { error: 'body is not JSON' });
          return;
        }
        if (typeof priceText !== 'string') {
          reply(res, 400, { error: 'expected {"price":"<decimal USD>"}, price as a string' });
          return;
        }
        try {
          reply(res, 200, quoteJson(this.setPrice(parsePrice(priceText), { symbol })));
        } catch (err) {
          reply(res, 400, { error: (err as Error).message });
        }
        return;
      }
      default:
        reply(
          res,
          path === `${CONTROL_PATH}/price` || path === `${CONTROL_PATH}/tick` ? 405 : 404,
          {
            error: `no route ${route}`,
          },
        );
    }
  }
}

function checkPrice(price: Price, floor: Price): void {
  if (!isOnTick(price)) {
    throw new InvalidPricePathError(
      `price ${formatPrice(price)} is not a multiple of the ${formatPrice(TICK)} USD tick`,
    );
  }
  if (price < floor) {
    throw new InvalidPricePathError(
      `price ${formatPrice(price)} is below ${formatPrice(floor)} (bid would not be positive)`,
    );
  }
}

function send(ws: WebSocket, text: string): void {
  if (ws.readyState === WebSocket.OPEN) ws.send(text);
}

function sendError(ws: WebSocket, error: string, request: unknown): void {
  send(ws, JSON.stringify({ status: 400, error, meta: {}, request }));
}

function quoteJson(q: FeedQuote): Record<string, string> {
  return {
    price: formatPrice(q.price),
    bid: formatPrice(q.bid),
    ask: formatPrice(q.ask),
    timestamp: q.at.toISOString(),
  };
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  return address === '::1' || /^(::ffff:)?127\./.test(address);
}
