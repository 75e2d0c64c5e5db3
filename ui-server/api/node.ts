/** Routes of the session (login, logout, password) and of the node itself (info, health, feed). */

import { VERSION } from '../../node/app/version.ts';
import { DEVICE_TTL_MS, deviceCookieName, PasswordThrottle } from '../auth.ts';
import { authenticate, checkPassword, reauthenticate, setSessionCookie } from '../context.ts';
import { ChangePasswordBody, LoginBody, QuotesQuery } from '../schemas.ts';
import { type ApiRoute, route } from './route.ts';

export const NODE_ROUTES: readonly ApiRoute[] = [
  route({
    method: 'get',
    path: '/api/alive',
    summary: 'Liveness probe',
    public: true,
    responses: { 200: '`{alive: true}`' },
    handler: async () => ({ alive: true }),
  }),
  route({
    method: 'post',
    path: '/api/login',
    summary: 'Log in with the UI password',
    description:
      'Sets the session cookie `dlcfd_session_<8 hex>`, named per node (HttpOnly, ' +
      'SameSite=Strict), and a `dlcfd_device` cookie that gives this browser its own ' +
      'guessing budget next time. After 3 wrong passwords in a row a client (that browser, ' +
      'else its address) waits 1 s, doubling per wrong one up to 60 s: 429 ' +
      'TooManyAttemptsError with Retry-After, and parallel attempts of one client are ' +
      'refused while one is checked.',
    public: true,
    body: LoginBody,
    responses: { 200: '`{authenticated: true}`', 401: 'wrong password', 429: 'throttled' },
    handler: async ({ body, request, reply, ctx }) => {
      const deviceCookie = deviceCookieName(ctx.sessionCookie);
      // A browser that logged in before has its own budget; anyone else is known by address.
      const device = ctx.throttle.deviceKey(request.cookies[deviceCookie]);
      await checkPassword(
        ctx,
        body.password,
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
    },
  }),
  route({
    method: 'post',
    path: '/api/logout',
    summary: 'End this session',
    responses: { 200: '`{authenticated: false}`' },
    handler: async ({ request, reply, ctx }) => {
      ctx.sessions.delete(request.cookies[ctx.sessionCookie]);
      reply.clearCookie(ctx.sessionCookie, { path: '/' });
      return { authenticated: false };
    },
  }),
  route({
    method: 'get',
    path: '/api/session',
    summary: 'Whether the request is authenticated, and how',
    responses: { 200: "`{authenticated: true, method: 'session' | 'bearer'}`" },
    handler: async ({ request, ctx }) => ({
      authenticated: true,
      method: authenticate(ctx, request),
    }),
  }),
  route({
    method: 'post',
    path: '/api/password',
    summary: 'Change the UI password (re-authenticate with the current one)',
    description: 'Ends every other session.',
    body: ChangePasswordBody,
    responses: { 200: '`{changed: true}`', 403: 'wrong current password', 429: 'throttled' },
    handler: async ({ body, request, reply, ctx }) => {
      await reauthenticate(ctx, request, body.current, 'changing the password', true);
      await ctx.passwords.set(body.new);
      // Every other browser session ends; this one continues with a fresh id.
      ctx.sessions.clear();
      if (request.cookies[ctx.sessionCookie]) setSessionCookie(ctx, reply, ctx.sessions.create());
      return { changed: true };
    },
  }),
  route({
    method: 'get',
    path: '/api/node',
    summary: 'This node: role, peer id, network, addresses, makers, version, explorer',
    description:
      '`{role, peerId, network, multiaddrs, makers, version, explorer}`: `explorer` is the ' +
      'block explorer page of a transaction with `{txid}` where its id goes (`--explorer-url`; ' +
      'default mempool.space on mainnet and testnet), or null (regtest without one).',
    responses: { 200: 'node info' },
    response: 'NodeInfo',
    handler: async ({ ctx }) => {
      const n = ctx.service.node();
      return {
        role: n.role,
        peerId: n.peerId,
        network: n.network,
        multiaddrs: n.multiaddrs,
        makers: n.makers,
        version: VERSION,
        explorer: n.explorer,
      };
    },
  }),
  route({
    method: 'get',
    path: '/api/health',
    summary: 'Health of every subsystem',
    description:
      '`{overall, components: [{name, status, since, lastError, restarts, detail}]}`; status ' +
      'is one of starting, ok, degraded, down, stopped.',
    responses: { 200: 'health' },
    response: 'HealthView',
    handler: async ({ ctx }) => ctx.service.health(),
  }),
  route({
    method: 'get',
    path: '/api/fees',
    summary: 'The fee market as the node reads it, and what it pays',
    description:
      '`{rate, source, target, estimate, floor, cap, floorAboveCap, at, budgetSats}`: rate, ' +
      'estimate, floor (the mempool minimum) and cap in sat/vB as decimal strings; `source` is ' +
      'what decided the rate (estimatesmartfee, mempool-minimum, fallback or cap); `target` the ' +
      'confirmation target in blocks; `at` unix ms of the reading; `budgetSats` the most the ' +
      'bumps of one CFD may cost. Before the chain answered once, every field of the reading is ' +
      'null (`cap` and `budgetSats` come from the configuration).',
    responses: { 200: 'fees' },
    response: 'FeesView',
    handler: async ({ ctx }) => ctx.service.fees(),
  }),
  route({
    method: 'get',
    path: '/api/quote',
    summary: 'Latest price feed quote',
    responses: {
      200: '`{quote: {symbol, bid, ask, timeSecs, receivedAt, ageMs, stale} | null}`',
    },
    response: '{ quote: QuoteView | null }',
    handler: async ({ ctx }) => ({ quote: ctx.service.quote() }),
  }),
  route({
    method: 'get',
    path: '/api/quotes',
    summary: 'Recent quotes, for a price chart',
    description:
      'Kept in memory since the node started: one point per `resolutionMs` (the last quote of ' +
      'each interval) over the last `windowMs` (default 5 s over 1 h). Query `since` (unix ms): ' +
      'only points received after it. The live feed sends the same as its `quotes` event on ' +
      'connect.',
    query: QuotesQuery,
    responses: {
      200: '`{resolutionMs, windowMs, quotes: [{t, bid, ask}]}`: oldest first, `t` unix ms',
      400: '`since` is not unix milliseconds',
    },
    response: 'QuoteHistoryView',
    handler: async ({ query, ctx }) => ctx.service.quoteHistory(query.since),
  }),
  route({
    method: 'get',
    path: '/api/openapi.json',
    summary: 'This document',
    responses: { 200: 'OpenAPI 3.1' },
    handler: async ({ ctx }) => ctx.openApi(),
  }),
  route({
    method: 'get',
    path: '/api/events',
    summary: 'Live feed (server-sent events)',
    description:
      'Snapshot on connect (`health`, `cfds`, `offers`, `quote`, `wallet`, on a maker ' +
      '`policy`, on a taker `limits`, and `quotes`: the chart history as `GET /api/quotes`; ' +
      '`account` as `GET /api/account`; a `liquidationWarning` per CFD in the warning band), ' +
      'then `health`, `cfd`, `offers`, `quote` (throttled), `wallet`, `account`, `policy` and ' +
      '`limits` events as they happen, and `liquidationWarning` `{cfdId, warning}` when a CFD ' +
      'enters the warning band of its liquidation price (`warning` set) or leaves it (null); ' +
      'heartbeat comments.',
    produces: 'text/event-stream',
    responses: { 200: 'event stream' },
    handler: async ({ request, reply, ctx }) => {
      reply.hijack();
      // A stream opened with a session ends when the session does.
      const session =
        authenticate(ctx, request) === 'session' ? request.cookies[ctx.sessionCookie] : undefined;
      await ctx.live.attach(reply.raw, session);
      request.log.debug('live feed client connected');
    },
  }),
  route({
    method: 'get',
    path: '/metrics',
    summary: 'Prometheus metrics',
    produces: 'text/plain',
    responses: { 200: 'Prometheus text format' },
    handler: async ({ reply, ctx }) => {
      reply.header('content-type', ctx.metrics.contentType);
      return ctx.metrics.metrics();
    },
  }),
];
