/**
 * The API routes. Each handler parses its input with a schema from schemas.ts, asks the
 * {@link UiService} and answers JSON; failures are thrown and turned into
 * `{ error: { name, message } }` by the server's error handler.
 *
 * Routes whose work needs the order, collaborative-settlement and contract protocols (being built
 * now) validate everything they can — body, CFD, state, role — and then answer 501: the UI can be
 * built against them, and nothing pretends to have happened.
 */

import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { peerIdFromString } from '@libp2p/peer-id';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { signedCommit } from '../dlc/contract.ts';
import type { CfdAction } from '../model/cfd.ts';
import { checkOrderLimits } from '../model/limits.ts';
import { DEFAULT_MAX_CLOCK_SKEW_SECS, validateOrder } from '../model/offer.ts';
import {
  CollabSettlementMaker,
  CollabSettlementTaker,
} from '../protocols/collab-settlement/index.ts';
import {
  type ApiCookie,
  DEVICE_TTL_MS,
  deviceCookieName,
  type PasswordStore,
  PasswordThrottle,
  type SessionStore,
} from './auth.ts';
import {
  IllegalCommandError,
  InvalidPasswordError,
  NotFoundError,
  PasswordRequiredError,
  TooManyAttemptsError,
  UnavailableError,
} from './errors.ts';
import type { LiveFeed } from './events.ts';
import { registerMakerRoutes } from './maker-routes.ts';
import { openApiDocument } from './openapi.ts';
import { payoutCurvePoints } from './preview.ts';
import {
  CfdParams,
  ChangePasswordBody,
  LoginBody,
  MnemonicBody,
  OrderBody,
  parseInput,
  QuotesQuery,
  RejectBody,
  WithdrawBody,
} from './schemas.ts';
import type { UiService } from './service.ts';
import { registerTakerRoutes } from './taker-routes.ts';
import { explorerTemplate } from './views.ts';

/** Everything the routes need. */
export interface RouteContext {
  readonly service: UiService;
  readonly passwords: PasswordStore;
  readonly sessions: SessionStore;
  /** This node's session cookie name (listen.ts sessionCookieName). */
  readonly sessionCookie: string;
  readonly apiCookie: ApiCookie;
  readonly throttle: PasswordThrottle;
  readonly live: LiveFeed;
  readonly metrics: { contentType: string; metrics(): Promise<string> };
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

const VERSION = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string;
  }
).version;

const PeerParams = z.strictObject({
  peerId: z.string().regex(/^12D3KooW[1-9A-HJ-NP-Za-km-z]{44}$/, 'a libp2p Ed25519 peer id'),
});

/** Registers every route. Routes with `config: { public: true }` need no credentials. */
export function registerRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const { service } = ctx;
  const daemon = service.daemon;
  const pub = { config: { public: true } };
  const deviceCookie = deviceCookieName(ctx.sessionCookie);

  // ------------------------------------------------------------------ session
  app.get('/api/alive', pub, async () => ({ alive: true }));

  app.post('/api/login', pub, async (request, reply) => {
    const { password } = parseInput(LoginBody, request.body);
    // A browser that logged in before has its own budget; anyone else is known by address.
    const device = ctx.throttle.deviceKey(request.cookies[deviceCookie]);
    await checkPassword(
      ctx,
      password,
      401,
      device ?? PasswordThrottle.addressKey(request.ip),
      !device,
    );
    setSessionCookie(ctx, reply, ctx.sessions.create());
    reply.setCookie(deviceCookie, ctx.throttle.issueDevice(), {
      httpOnly: true,
      sameSite: 'strict',
      path: '/api/login',
      maxAge: Math.floor(DEVICE_TTL_MS / 1000),
    });
    return { authenticated: true };
  });

  app.post('/api/logout', async (request, reply) => {
    ctx.sessions.delete(request.cookies[ctx.sessionCookie]);
    reply.clearCookie(ctx.sessionCookie, { path: '/' });
    return { authenticated: false };
  });

  app.get('/api/session', async (request) => ({
    authenticated: true,
    method: authenticate(ctx, request),
  }));

  app.post('/api/password', async (request, reply) => {
    const body = parseInput(ChangePasswordBody, request.body);
    await reauthenticate(ctx, request, body.current, 'changing the password', true);
    await ctx.passwords.set(body.new);
    // Every other browser session ends; this one continues with a fresh id.
    ctx.sessions.clear();
    if (request.cookies[ctx.sessionCookie]) setSessionCookie(ctx, reply, ctx.sessions.create());
    return { changed: true };
  });

  // ------------------------------------------------------------------ node
  app.get('/api/node', async () => ({
    role: daemon.config.role,
    peerId: daemon.peerId,
    network: daemon.config.network,
    multiaddrs: daemon.p2p.getMultiaddrs().map(String),
    makers: daemon.config.p2p.makers,
    version: VERSION,
    explorer: explorerTemplate(daemon.config.network, daemon.config.ui.explorerUrl),
  }));

  app.get('/api/health', async () => service.health());

  app.get('/api/fees', async () => service.fees());

  app.get('/api/quote', async () => ({ quote: service.quote() }));

  app.get('/api/quotes', async (request) => {
    const { since } = parseInput(QuotesQuery, request.query ?? {}, 'query');
    return service.quoteHistory(since);
  });

  app.get('/api/openapi.json', async () => openApiDocument(VERSION, ctx.sessionCookie));

  app.get('/api/events', async (request, reply) => {
    reply.hijack();
    // A stream opened with a session ends when the session does.
    const session =
      authenticate(ctx, request) === 'session' ? request.cookies[ctx.sessionCookie] : undefined;
    await ctx.live.attach(reply.raw, session);
    request.log.debug('live feed client connected');
  });

  app.get('/metrics', async (_request, reply) => {
    reply.header('content-type', ctx.metrics.contentType);
    return ctx.metrics.metrics();
  });

  // ------------------------------------------------------------------ offers and orders
  app.get('/api/offers', async () => service.offers());

  app.post('/api/orders', async (request, reply) => {
    const body = parseInput(OrderBody, request.body);
    if (daemon.config.role !== 'taker') {
      throw new IllegalCommandError('a maker does not place orders; it publishes offers');
    }
    const now = Math.floor(Date.now() / 1000);
    const t = daemon.config.time;
    const found = daemon.offers.book
      .current(now, { maxOfferAgeSecs: t.offerMaxAgeSecs })
      .find((o) => o.offer.id === body.offerId);
    if (!found) {
      const { offers, reason } = service.offers();
      if (offers.length === 0 && reason) {
        throw new UnavailableError(`cannot take an offer now: ${reason}`);
      }
      throw new NotFoundError(
        `no current offer '${body.offerId}': offers are replaced as the price moves; take one from GET /api/offers`,
      );
    }
    validateOrder(
      found.offer,
      { offerId: body.offerId, symbol: 'BTCUSD', quantity: body.quantity, leverage: body.leverage },
      now,
      {
        maxOfferAgeSecs: t.offerMaxAgeSecs,
        // The event is the first one a settlement interval after the offer was made: up to one
        // event spacing later, or up to the offer's age earlier.
        eventWindowSecs: Math.max(t.oracleEventIntervalSecs, t.offerMaxAgeSecs),
        maxClockSkewSecs: DEFAULT_MAX_CLOCK_SKEW_SECS,
      },
    );
    // The taker's limits, here too so the caller gets the reason (placeOrder checks them again).
    if (daemon.limits) {
      checkOrderLimits(
        found.offer,
        { quantity: body.quantity, leverage: body.leverage },
        daemon.limits.limits,
      );
    }
    // Contract setup takes a few seconds: answer now, report progress on the live feed.
    const orderId = randomUUID();
    void daemon.orders
      .placeOrder(peerIdFromString(found.maker), found.offer, {
        quantity: body.quantity,
        leverage: body.leverage,
        orderId,
      })
      .catch((err: unknown) => request.log.warn({ err, orderId }, 'order failed'));
    return reply.code(202).send({ orderId });
  });

  // ------------------------------------------------------------------ CFDs
  app.get('/api/cfds', async () => ({ cfds: await service.cfds() }));

  app.get('/api/cfds/:id', async (request) => {
    const { id } = parseInput(CfdParams, request.params, 'path');
    const { cfd, view } = await service.cfd(id);
    // The detail view adds the payout chart's points (the list stays light).
    return { ...view, payoutCurve: payoutCurvePoints(cfd) };
  });

  /** The CFD's view if one of `allowed` is possible now; otherwise a 409 saying what is. */
  const requireAction = async (id: string, verb: string, allowed: readonly CfdAction[]) => {
    const { view } = await service.cfd(id);
    if (!allowed.some((a) => view.actions.includes(a))) {
      const possible = view.actions.length > 0 ? view.actions.join(', ') : 'nothing';
      throw new IllegalCommandError(
        `cannot ${verb} CFD ${id}: it is ${view.state} and this ${view.role} can do ${possible} now`,
      );
    }
    return view;
  };

  // Collaborative close at the current quote; the outcome arrives on the live feed.
  app.post('/api/cfds/:id/close', async (request, reply) => {
    const { id } = parseInput(CfdParams, request.params, 'path');
    await requireAction(id, 'close', ['settle']);
    const settlements = daemon.settlements;
    if (!(settlements instanceof CollabSettlementTaker)) {
      throw new IllegalCommandError('only the taker proposes a collaborative close');
    }
    void settlements
      .settle(id)
      .catch((err: unknown) => request.log.warn({ err, id }, 'close failed'));
    return reply.code(202).send({ cfdId: id });
  });

  // Force close: publish the commit; the process manager takes it from there (CET or refund).
  app.post('/api/cfds/:id/commit', async (request, reply) => {
    const { id } = parseInput(CfdParams, request.params, 'path');
    await requireAction(id, 'force close', ['commit']);
    const record = await daemon.contracts.get(id);
    if (!record) throw new UnavailableError(`CFD ${id} has no signed contract record`);
    const tx = signedCommit(record);
    await daemon.cfds.execute(id, {
      type: 'commit',
      commitTx: { txid: tx.getId(), hex: tx.toHex() },
    });
    return reply.code(202).send({ commitTxid: tx.getId() });
  });

  // "Bump now": raise the fees of what the CFD needs confirmed, toward the next block.
  app.post('/api/cfds/:id/bump', async (request) => {
    const { id } = parseInput(CfdParams, request.params, 'path');
    const result = await service.bump(id);
    request.log.info({ id, bumps: result.bumps.length }, 'fees bumped on request');
    return result;
  });

  const decide = (accept: boolean) => async (request: FastifyRequest) => {
    const { id } = parseInput(CfdParams, request.params, 'path');
    const reason = accept ? '' : (parseInput(RejectBody, request.body)?.reason ?? '');
    await requireAction(
      id,
      accept ? 'accept' : 'reject',
      accept ? ['acceptOrder', 'acceptSettlement'] : ['rejectOrder', 'rejectSettlement'],
    );
    const settlements = daemon.settlements;
    if (
      settlements instanceof CollabSettlementMaker &&
      settlements.pending().some((p) => p.cfdId === id)
    ) {
      if (accept) settlements.accept(id);
      else settlements.reject(id, reason || 'rejected by the maker');
      return { ok: true };
    }
    if (daemon.orders.pendingDecisions().some((t) => t.id === id)) {
      daemon.orders.decide(
        id,
        accept ? { accept: true } : { accept: false, reason: reason || 'rejected by the maker' },
      );
      return { ok: true };
    }
    throw new NotFoundError(`no order or settlement proposal of CFD ${id} awaits a decision`);
  };
  app.post('/api/cfds/:id/accept', decide(true));
  app.post('/api/cfds/:id/reject', decide(false));

  // ------------------------------------------------------------------ peers
  app.post('/api/peers/:peerId/block', async (request) => {
    const { peerId } = parseInput(PeerParams, request.params, 'path');
    await daemon.blockPeer(peerId);
    return { blocked: daemon.blockedPeers };
  });

  // ------------------------------------------------------------------ maker policy, taker limits
  const reauth = (request: FastifyRequest, password: string | undefined, what: string) =>
    reauthenticate(ctx, request, password, what);
  registerMakerRoutes(app, service, reauth);
  registerTakerRoutes(app, service, reauth);

  // ------------------------------------------------------------------ wallet
  app.get('/api/wallet', async () => service.wallet());

  app.post('/api/wallet/address', async () => ({
    address: await service.requireWallet().receiveAddress(),
  }));

  app.get('/api/wallet/history', async () => ({ transactions: service.history() }));

  app.post('/api/wallet/withdraw', async (request) => {
    const body = parseInput(WithdrawBody, request.body);
    await reauthenticate(ctx, request, body.password, 'a withdrawal');
    const amount = body.amount === 'all' ? undefined : body.amount;
    service.requireWallet(); // 503 before anything else when there is no wallet
    const result = await service.withdraw(body.address, amount, body.feeRate);
    request.log.info({ txid: result.txid, amount: result.amount }, 'withdrawal broadcast');
    ctx.live.walletChanged();
    return result;
  });

  app.post('/api/wallet/mnemonic', async (request, reply) => {
    const { password } = parseInput(MnemonicBody, request.body);
    await reauthenticate(ctx, request, password, 'exporting the mnemonic', true);
    const mnemonic = service.requireWallet().exportMnemonic();
    reply.header('cache-control', 'no-store');
    request.log.warn('wallet mnemonic exported');
    return { mnemonic, words: mnemonic.split(' ').length };
  });
}

/**
 * Verifies a password under the throttle, for the client `key`; 401 (login) or 403
 * (re-authentication). The slot is taken before the async compare, so parallel guesses wait.
 */
async function checkPassword(
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

function setSessionCookie(
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
