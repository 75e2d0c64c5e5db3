/** Helpers for the oracle specs: a tiny scripted olivia server, temp dirs, the real vectors. */
import { readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OracleClient } from '../../../node/oracle/client.ts';

export { until } from '../pricefeed/helpers.ts';

/** test/fixtures/olivia_attestations.json: real attestations of the public olivia oracle (github.com/LLFourn/olivia) and one real HTTP answer; origin in test/fixtures/README.md. */
export interface OliviaVectors {
  oracle_public_key_xonly: string;
  events: { id: string; price: number; nonces: string[]; scalars: string[] }[];
  http_response_example: {
    announcement: { oracle_event: { encoding: string; data: string }; signature: string };
    attestation: { outcome: string; schemes: Record<string, unknown>; time: string } | null;
  };
}

export const vectors = JSON.parse(
  readFileSync(new URL('../../fixtures/olivia_attestations.json', import.meta.url), 'utf8'),
) as OliviaVectors;

/** The event id of the real HTTP response. */
export const REAL_EVENT_ID = (
  JSON.parse(vectors.http_response_example.announcement.oracle_event.data) as { id: string }
).id;

/** A deep copy of the real HTTP response, to tamper with. */
export function realResponse(): OliviaVectors['http_response_example'] {
  return structuredClone(vectors.http_response_example);
}

/** The announcement's event JSON, as much of it as the specs edit. */
export interface EventJson {
  id: string;
  'expected-outcome-time': string;
  schemes: { 'olivia-v1': { nonces: string[] } };
  [key: string]: unknown;
}

/** Rewrites the announcement's event JSON (keeps the original signature, now over other bytes). */
export function editEventData(
  response: OliviaVectors['http_response_example'],
  edit: (event: EventJson) => void,
): void {
  const event = JSON.parse(response.announcement.oracle_event.data) as EventJson;
  edit(event);
  response.announcement.oracle_event.data = JSON.stringify(event);
}

/** A loopback HTTP server answering from a mutable table: path → [status, body text]. */
export interface ScriptedOracle {
  url: string;
  routes: Map<string, [number, string]>;
  /** Paths requested, in order. */
  requests: string[];
  close(): Promise<void>;
}

export async function scriptedOracle(
  routes: Record<string, unknown> = {},
): Promise<ScriptedOracle> {
  const table = new Map<string, [number, string]>();
  for (const [path, body] of Object.entries(routes)) {
    table.set(path, [200, typeof body === 'string' ? body : JSON.stringify(body)]);
  }
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    requests.push(req.url ?? '');
    const [status, body] = table.get(req.url ?? '') ?? [404, '{"error":"not found"}'];
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    routes: table,
    requests,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export function tempDir(prefix = 'dlcfd-oracle-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

/** Options of an oracle client under test. */
export type ClientOptions = Partial<ConstructorParameters<typeof OracleClient>[0]>;

/**
 * For each test of the calling suite: a {@link scriptedOracle} announcing `pinned.publicKey`, and
 * `client()` to make oracle clients of it, pinned to `pinned`, polling every 20 to 200 ms, with
 * `defaults()` and then `options` over that; clients and server (a test may replace it) are
 * stopped after the test.
 */
export function scriptedOracleEach(
  pinned: { publicKey: string; announcementPublicKey: string },
  defaults: () => ClientOptions = () => ({}),
): { server: ScriptedOracle; client(options?: ClientOptions): OracleClient } {
  const clients: OracleClient[] = [];
  const t = {
    server: undefined as unknown as ScriptedOracle,
    client(options: ClientOptions = {}): OracleClient {
      const c = new OracleClient({
        url: t.server.url,
        ...pinned,
        pollInitialMs: 20,
        pollMaxMs: 200,
        ...defaults(),
        ...options,
      });
      clients.push(c);
      return c;
    },
  };
  beforeEach(async () => {
    t.server = await scriptedOracle({ '/': { public_keys: { 'olivia-v1': pinned.publicKey } } });
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.stop()));
    await t.server.close();
  });
  return t;
}
