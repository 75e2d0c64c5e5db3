/**
 * "Hosts" on one machine: each a Linux network namespace with its own address on a bridge and its
 * own /etc/hosts (`/etc/netns/<ns>/hosts`, which `ip netns exec` mounts over /etc/hosts), so
 * processes started in them listen on their host's address and reach each other by name — the
 * multi-host topology of a deployment, with nothing on loopback between hosts. Needs root (or
 * CAP_SYS_ADMIN and CAP_NET_ADMIN) and iproute2's `ip`.
 *
 * Layout for run `id`: bridge `dlb<id>` in the calling namespace with `10.<a>.<b>.1/24` (so the
 * caller reaches every host), and per host a namespace `dlcfd-<id>-<name>` whose veth `eth0`
 * (peer `dlv<id><i>` on the bridge) has `10.<a>.<b>.<i+2>`.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Where `ip netns exec` finds a namespace's own /etc files. */
const NETNS_ETC = '/etc/netns';

/** One host to create: its name (a DNS name in every host's /etc/hosts) and more names for it. */
export interface HostSpec {
  readonly name: string;
  /** Services addressed by their own name that live on this host (`chain`, `oracle`). */
  readonly aliases?: readonly string[];
}

export interface Host {
  readonly name: string;
  /** The namespace's name. */
  readonly ns: string;
  /** Its IPv4 address on the bridge. */
  readonly address: string;
}

export interface Hosts {
  readonly id: string;
  /** By host name. */
  readonly hosts: ReadonlyMap<string, Host>;
  /** The bridge's address, in the namespace that created the hosts. */
  readonly gateway: string;
  /** The command prefix that runs a program on `host`: `ip netns exec <ns>`. */
  prefix(host: string): string[];
  /** Removes every namespace, link and hosts file made (idempotent; best effort on each). */
  destroy(): Promise<void>;
}

async function ip(...args: string[]): Promise<void> {
  await run('ip', args);
}

/** A random 4-hex-digit run id: keeps interface names within Linux's 15 characters. */
function newId(): string {
  return randomBytes(2).toString('hex');
}

/** The hosts file every host gets: each host's address with its name and aliases. */
export function hostsFile(specs: readonly HostSpec[], addresses: readonly string[]): string {
  const lines = ['127.0.0.1 localhost'];
  specs.forEach((s, i) => {
    lines.push([addresses[i], s.name, ...(s.aliases ?? [])].join(' '));
  });
  return `${lines.join('\n')}\n`;
}

/**
 * Creates the hosts. On any failure it removes what it had made and rethrows, so a caller needs to
 * clean up only after it resolved.
 */
export async function createHosts(specs: readonly HostSpec[], id = newId()): Promise<Hosts> {
  if (specs.length === 0 || specs.length > 200) throw new Error('1 … 200 hosts');
  const bytes = randomBytes(2);
  // 10.200.0.0 … 10.249.255.0: a /24 unlikely to clash with anything configured here.
  const subnet = `10.${200 + (bytes[0]! % 50)}.${bytes[1]}`;
  const bridge = `dlb${id}`;
  const made: { namespaces: string[]; veths: string[]; etc: string[]; bridge: boolean } = {
    namespaces: [],
    veths: [],
    etc: [],
    bridge: false,
  };
  const hosts = new Map<string, Host>();
  const addresses = specs.map((_, i) => `${subnet}.${i + 2}`);
  const destroy = async () => {
    // Each pair first: a deleted namespace frees its end of a pair only once the kernel gets to it.
    for (const veth of made.veths.splice(0)) await ip('link', 'delete', veth).catch(() => {});
    for (const ns of made.namespaces.splice(0)) await ip('netns', 'delete', ns).catch(() => {});
    if (made.bridge) {
      made.bridge = false;
      await ip('link', 'delete', bridge).catch(() => {});
    }
    for (const dir of made.etc.splice(0)) await rm(dir, { recursive: true, force: true });
  };
  try {
    await ip('link', 'add', bridge, 'type', 'bridge');
    made.bridge = true;
    await ip('addr', 'add', `${subnet}.1/24`, 'dev', bridge);
    await ip('link', 'set', bridge, 'up');
    const etcHosts = hostsFile(specs, addresses);
    for (const [i, spec] of specs.entries()) {
      const ns = `dlcfd-${id}-${spec.name}`;
      const veth = `dlv${id}${i}`;
      await ip('netns', 'add', ns);
      made.namespaces.push(ns);
      const etc = join(NETNS_ETC, ns);
      await mkdir(etc, { recursive: true });
      made.etc.push(etc);
      await writeFile(join(etc, 'hosts'), etcHosts);
      await ip('link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
      made.veths.push(veth);
      await ip('link', 'set', veth, 'master', bridge);
      await ip('link', 'set', veth, 'up');
      await ip('-n', ns, 'addr', 'add', `${addresses[i]}/24`, 'dev', 'eth0');
      await ip('-n', ns, 'link', 'set', 'eth0', 'up');
      await ip('-n', ns, 'link', 'set', 'lo', 'up');
      hosts.set(spec.name, { name: spec.name, ns, address: addresses[i]! });
    }
  } catch (err) {
    await destroy();
    throw err;
  }
  return {
    id,
    hosts,
    gateway: `${subnet}.1`,
    prefix: (name) => {
      const host = hosts.get(name);
      if (!host) throw new Error(`no host '${name}'`);
      return ['ip', 'netns', 'exec', host.ns];
    },
    destroy,
  };
}

/**
 * Why namespaces cannot be made here (no `ip`, no privilege), or undefined if a probe namespace
 * could be created and removed.
 */
export async function netnsProblem(): Promise<string | undefined> {
  const probe = `dlcfd-probe-${newId()}`;
  try {
    await ip('netns', 'add', probe);
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') return "no 'ip' command (Debian: apt-get install iproute2)";
    return `'ip netns add' failed (needs root or CAP_SYS_ADMIN): ${(e.stderr ?? e.message).trim()}`;
  }
  await ip('netns', 'delete', probe).catch(() => {});
  return undefined;
}
