// `testnet.json`: what `npm run testnet` tells scripts about a running testnet, and what a restart
// on the same directory reads back so its ports and UI passwords stay the same (bookmarks, saved
// passwords and scripts keep working).
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';

/** One node of the testnet, as testnet.json lists it. */
export interface TestnetNode {
  readonly name: string;
  readonly role: 'maker' | 'taker';
  /** The node's UI and HTTP API, or null if it serves none. */
  readonly ui: string | null;
  /** The UI password: the same on every start of this testnet (set through DLCFD_UI_PASSWORD). */
  readonly ui_password: string;
  readonly api_cookie: string;
  readonly datadir: string;
  readonly peer_id: string | undefined;
  /** The maker's address for takers (with /p2p/<peer id>); null for a taker. */
  readonly multiaddr: string | null;
}

/** The whole of testnet.json (mode 0600: it holds the chain's RPC password and UI passwords). */
export interface TestnetDescription {
  readonly chain: { readonly rpc: string; readonly user: string; readonly password: string };
  readonly oracle: string;
  readonly pricefeed: string;
  readonly pricefeed_control: string | undefined;
  readonly nodes: readonly TestnetNode[];
}

export const DESCRIPTION_FILE = 'testnet.json';

/**
 * The description an earlier run left in `dir`, or undefined (none, or not one this script wrote:
 * then the restart picks new ports and passwords, as a first start does).
 */
export async function readDescription(
  dir: string,
): Promise<Partial<TestnetDescription> | undefined> {
  let text: string;
  try {
    text = await readFile(join(dir, DESCRIPTION_FILE), 'utf8');
  } catch {
    return undefined;
  }
  try {
    const json = JSON.parse(text) as unknown;
    return json !== null && typeof json === 'object'
      ? (json as Partial<TestnetDescription>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** The TCP port of a URL (`http://127.0.0.1:8000/…`) or multiaddr (`/ip4/…/tcp/4001/…`). */
export function portOf(address: string | null | undefined): number | undefined {
  if (!address) return undefined;
  const m = /\/tcp\/(\d+)/.exec(address) ?? /^[a-z]+:\/\/[^/]*:(\d+)/.exec(address);
  const port = m ? Number(m[1]) : Number.NaN;
  return Number.isInteger(port) && port > 0 && port < 65_536 ? port : undefined;
}

/** Whether nothing listens on `port` on loopback now (a moment later it may be taken). */
export function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * The port to ask for: the one used last time if it is still free, else 0 (a free one, chosen by
 * the OS), saying so through `warn`.
 */
export async function reusablePort(
  previous: number | undefined,
  what: string,
  warn: (message: string) => void,
): Promise<number> {
  if (previous === undefined) return 0;
  if (await portFree(previous)) return previous;
  warn(`${what}: port ${previous} is taken now; a new one is chosen`);
  return 0;
}
