/**
 * The API's OpenAPI 3.1 document, served at `GET /api/openapi.json`, built from the route table
 * (api/table.ts): every registered route is documented and nothing else, request bodies from the
 * same zod schemas the handlers enforce.
 */
import { z } from 'zod';
import type { ApiRoute } from './api/route.ts';
import { API_ROUTES } from './api/table.ts';

type Json = Record<string, unknown>;

const cfdId = { name: 'id', in: 'path', required: true, schema: { type: 'string' } };

const ERROR_SCHEMA = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['name', 'message'],
      properties: { name: { type: 'string' }, message: { type: 'string' } },
    },
  },
};

function bodySchema(schema: z.ZodType): Json {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, {
    io: 'input',
    unrepresentable: 'any',
  }) as Json;
  return rest;
}

/** Builds the document. */
export function openApiDocument(
  version: string,
  sessionCookie = 'dlcfd_session_<8 hex>',
  routes: readonly ApiRoute[] = API_ROUTES,
): Json {
  const paths: Record<string, Json> = {};
  for (const op of routes) {
    const path = op.path;
    const item: Json = paths[path] ?? {};
    const responses: Json = {};
    for (const [status, description] of Object.entries(op.responses)) {
      const ok = status.startsWith('2');
      responses[status] = {
        description,
        content: ok
          ? { [op.produces ?? 'application/json']: {} }
          : { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
      };
    }
    if (op.body) responses['400'] ??= { description: 'invalid body (the message says why)' };
    if (!op.public) responses['401'] ??= { description: 'not authenticated' };
    item[op.method] = {
      summary: op.summary,
      ...(op.description ? { description: op.description } : {}),
      ...(path.includes('{id}') ? { parameters: [cfdId] } : {}),
      ...(op.public ? { security: [] } : {}),
      ...(op.body
        ? {
            requestBody: {
              required: !op.body.safeParse(undefined).success,
              content: { 'application/json': { schema: bodySchema(op.body) } },
            },
          }
        : {}),
      responses,
    };
    paths[path] = item;
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'dlcfd node API',
      version,
      description:
        'HTTP API of a dlcfd taker or maker. Authenticate with the session cookie from ' +
        '`POST /api/login`, or `Authorization: Bearer <contents of <datadir>/api.cookie>`. ' +
        'Errors are `{error: {name, message}}`. Amounts in satoshis and prices are decimal strings. ' +
        'Every request must name the node in Host (its address, localhost, 127.0.0.1, [::1] or ' +
        'a `--ui-allowed-host`; else 421 HostNotAllowedError), and a POST/PUT/PATCH/DELETE with ' +
        'the session cookie must come from the UI’s own Origin (else 403 CrossOriginRequestError); ' +
        'bearer-token requests are exempt from the Origin check.',
    },
    components: {
      securitySchemes: {
        session: { type: 'apiKey', in: 'cookie', name: sessionCookie },
        bearer: { type: 'http', scheme: 'bearer' },
      },
      schemas: { Error: ERROR_SCHEMA },
    },
    security: [{ session: [] }, { bearer: [] }],
    paths,
  };
}
