/**
 * Registers the route table (api/table.ts) with Fastify. Each route's input is parsed with its
 * schemas (path, then query, then body), so a bad one is a 400 naming each wrong field; the
 * handler asks the application service ({@link RouteContext.service}) and answers JSON with the
 * route's success status. Failures are thrown and turned into `{ error: { name, message } }` by
 * the server's error handler.
 */
import type { FastifyInstance } from 'fastify';
import type { ApiRoute } from './api/route.ts';
import { successStatus } from './api/route.ts';
import { API_ROUTES } from './api/table.ts';
import type { RouteContext } from './context.ts';
import { parseInput } from './schemas.ts';

/** `/api/cfds/{id}` → `/api/cfds/:id`. */
export function fastifyPath(path: string): string {
  return path.replace(/\{(\w+)\}/g, ':$1');
}

/** Registers every route of `routes`; public ones get `config: { public: true }`. */
export function registerRoutes(
  app: FastifyInstance,
  ctx: RouteContext,
  routes: readonly ApiRoute[] = API_ROUTES,
): void {
  for (const r of routes) {
    const status = successStatus(r);
    app.route({
      method: r.method.toUpperCase() as 'GET' | 'POST' | 'PUT',
      url: fastifyPath(r.path),
      ...(r.public ? { config: { public: true } } : {}),
      handler: async (request, reply) => {
        r.precheck?.(ctx);
        const params = r.params ? parseInput(r.params, request.params, 'path') : undefined;
        const query = r.query ? parseInput(r.query, request.query ?? {}, 'query') : undefined;
        const body = r.body ? parseInput(r.body, request.body) : undefined;
        const result = await r.handler({ body, params, query, request, reply, ctx });
        if (status !== 200) reply.code(status);
        return result;
      },
    });
  }
}
