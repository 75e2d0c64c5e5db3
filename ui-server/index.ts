/**
 * The node's HTTP API, live feed and web UI server.
 *
 * @example
 * ```ts
 * import { startUiServer } from './ui-server/index.ts';
 * const ui = await startUiServer(daemon, { host: '127.0.0.1', port: 8000, logger });
 * // ui.url, ui.initialPassword (first start only), ui.apiCookiePath
 * await ui.close();
 * ```
 */
export {
  API_COOKIE_FILE,
  PASSWORD_FILE,
  SESSION_COOKIE_PREFIX,
  sessionCookieName,
} from './auth.ts';
export * from './errors.ts';
export { HEARTBEAT_MS, type LiveEventName, QUOTE_THROTTLE_MS } from './events.ts';
export { checkUiHost, isLoopbackHost, UnsafeListenError } from './listen.ts';
export { openApiDocument } from './openapi.ts';
export {
  httpError,
  MAX_BODY_BYTES,
  type RouteInfo,
  startUiServer,
  type UiServer,
  type UiServerOptions,
} from './server.ts';
