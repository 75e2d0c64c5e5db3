/**
 * Routes as data: one {@link ApiRoute} per route — its input schemas, its handler, what it answers
 * — and from the table of them (table.ts) come the Fastify routes (routes.ts), the OpenAPI
 * document (openapi.ts) and the UI's types (scripts/gen-ui-types.ts → ui/src/types.ts). Nothing
 * of the three is kept in sync by hand.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import type { RouteContext } from '../context.ts';

/** What a handler gets: its parsed input, the request and reply, and the context. */
export interface RouteCall<B, P, Q> {
  readonly body: B;
  readonly params: P;
  readonly query: Q;
  readonly request: FastifyRequest;
  readonly reply: FastifyReply;
  readonly ctx: RouteContext;
}

export interface ApiRoute {
  readonly method: 'get' | 'post' | 'put';
  /** OpenAPI syntax: `/api/cfds/{id}` (Fastify's `:id` is derived). */
  readonly path: string;
  readonly summary: string;
  readonly description?: string;
  /** No credentials needed. */
  readonly public?: boolean;
  readonly params?: z.ZodType;
  readonly query?: z.ZodType;
  readonly body?: z.ZodType;
  /** The success body's content type. @default application/json */
  readonly produces?: string;
  /**
   * Status → description, besides the error statuses every route may answer. The first 2xx is
   * the status a success is answered with.
   */
  readonly responses: Readonly<Record<number, string>>;
  /**
   * The success body's type, in TypeScript: exported types of node/app (views, service) that
   * scripts/gen-ui-types.ts copies into ui/src/types.ts, e.g. `OffersView` or
   * `{ cfds: CfdView[] }`.
   */
  readonly response?: string;
  /** Runs before the input is parsed: a refusal that does not depend on it (the node's role). */
  precheck?(ctx: RouteContext): void;
  handler(call: RouteCall<unknown, unknown, unknown>): Promise<unknown>;
}

type Out<S> = S extends z.ZodType ? z.output<S> : undefined;

/** One route, with its handler's input typed by its schemas. */
export function route<
  B extends z.ZodType | undefined = undefined,
  P extends z.ZodType | undefined = undefined,
  Q extends z.ZodType | undefined = undefined,
>(
  r: Omit<ApiRoute, 'body' | 'params' | 'query' | 'handler'> & {
    readonly body?: B;
    readonly params?: P;
    readonly query?: Q;
    handler(call: RouteCall<Out<B>, Out<P>, Out<Q>>): Promise<unknown>;
  },
): ApiRoute {
  return r as ApiRoute;
}

/** The status a success is answered with. */
export function successStatus(r: ApiRoute): number {
  return Number(Object.keys(r.responses).find((s) => s.startsWith('2')) ?? 200);
}
