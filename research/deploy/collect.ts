// The results collector of a deployed network (the Kubernetes Job, and the hosts test): logs in to
// every node's API by name with the UI password and writes, per node, its CFDs and a Prometheus
// scrape to the results folder, waiting for nodes that are not up yet.
//
//   DLCFD_UI_PASSWORD=… node research/deploy/collect.ts --out DIR --node NAME=URL … [--wait SECS]
//
// Writes DIR/<name>/cfds.json, DIR/<name>/metrics.prom and DIR/collected.json
// (`{at, nodes: [{name, url, cfds, ok, error?}]}`); exits 1 if a node could not be collected.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';

export interface CollectTarget {
  readonly name: string;
  /** The node's UI/API base URL, e.g. `http://maker-0.maker:8000`. */
  readonly url: string;
}

export interface Collected {
  readonly name: string;
  readonly url: string;
  /** CFDs the node reported; null if it could not be collected. */
  readonly cfds: number | null;
  readonly ok: boolean;
  readonly error?: string;
}

/** A node's session cookie (`name=value`) for `password`. */
async function login(url: string, password: string): Promise<string> {
  const res = await fetch(`${url}/api/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ password }),
    signal: AbortSignal.timeout(10_000),
  });
  if (res.status !== 200) throw new Error(`login: HTTP ${res.status}`);
  const session = res.headers
    .getSetCookie()
    .map((c) => c.split(';')[0]!)
    .find((c) => c.startsWith('dlcfd_session_'));
  if (!session) throw new Error('login: no session cookie');
  return session;
}

async function get(url: string, cookie: string): Promise<string> {
  const res = await fetch(url, { headers: { cookie }, signal: AbortSignal.timeout(10_000) });
  if (res.status !== 200) throw new Error(`GET ${new URL(url).pathname}: HTTP ${res.status}`);
  return res.text();
}

/** Collects one node into `<out>/<name>/`, retrying until `deadline` (ms since the epoch). */
async function collectOne(
  target: CollectTarget,
  out: string,
  password: string,
  deadline: number,
): Promise<Collected> {
  for (;;) {
    try {
      const cookie = await login(target.url, password);
      const cfds = await get(`${target.url}/api/cfds`, cookie);
      const metrics = await get(`${target.url}/metrics`, cookie);
      const dir = join(out, target.name);
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, 'cfds.json'), cfds);
      await writeFile(join(dir, 'metrics.prom'), metrics);
      return { ...target, cfds: (JSON.parse(cfds) as { cfds: unknown[] }).cfds.length, ok: true };
    } catch (err) {
      if (Date.now() > deadline) {
        return { ...target, cfds: null, ok: false, error: (err as Error).message };
      }
      await sleep(2_000);
    }
  }
}

/** Collects every node (in parallel) and writes `collected.json`. */
export async function collect(
  targets: readonly CollectTarget[],
  out: string,
  password: string,
  waitSecs = 300,
): Promise<Collected[]> {
  await mkdir(out, { recursive: true });
  const deadline = Date.now() + waitSecs * 1000;
  const nodes = await Promise.all(targets.map((t) => collectOne(t, out, password, deadline)));
  await writeFile(
    join(out, 'collected.json'),
    `${JSON.stringify({ at: new Date().toISOString(), nodes }, null, 2)}\n`,
  );
  return nodes;
}

/** `NAME=URL` → a target. */
export function parseTarget(text: string): CollectTarget {
  const m = /^([\w.-]+)=(https?:\/\/\S+)$/.exec(text);
  if (!m) throw new Error(`--node '${text}' is not NAME=URL`);
  return { name: m[1]!, url: m[2]!.replace(/\/$/, '') };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      out: { type: 'string' },
      node: { type: 'string', multiple: true },
      wait: { type: 'string', default: '300' },
    },
  });
  const password = process.env.DLCFD_UI_PASSWORD;
  if (!values.out || !values.node?.length || !password || !/^\d+$/.test(values.wait)) {
    process.stderr.write(
      'usage: DLCFD_UI_PASSWORD=… collect.ts --out DIR --node NAME=URL … [--wait SECS]\n',
    );
    process.exit(2);
  }
  const nodes = await collect(
    values.node.map(parseTarget),
    values.out,
    password,
    Number(values.wait),
  );
  for (const n of nodes) {
    process.stdout.write(`${n.name} ${n.ok ? `${n.cfds} cfds` : `failed: ${n.error}`}\n`);
  }
  process.exit(nodes.every((n) => n.ok) ? 0 : 1);
}

if (import.meta.main) await main();
