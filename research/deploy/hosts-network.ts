/**
 * A dlcfd network on "hosts" of this machine (netns.ts): the chain, price feed and oracle on the
 * maker's host under their own names, the maker, and takers each on a host of its own. Every
 * process listens on its host's address and dials the others by name: the chain at
 * http://chain:18443, the feed at ws://pricefeed:8088, the oracle at https://oracle:8443 (behind
 * tls-proxy.ts: nodes take plain http to loopback only), the maker at /dns4/maker/tcp/9000. The
 * UIs listen on their host's address (--unsafe-listen), which the creating namespace reaches
 * over the bridge.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BitcoinRpc } from '../../node/chain/rpc.ts';
import { restrictUmask } from '../../node/runtime/datadir.ts';
import {
  type RunningDlcfd,
  type StartOptions,
  startDlcfd,
  startReady,
} from '../../scripts/lib/dlcfd-process.ts';
import {
  type NetworkTime,
  nodeNetworkArgs,
  oracleNetworkArgs,
} from '../../scripts/lib/network-flags.ts';
import { generatePassword } from '../../ui-server/auth.ts';
import { createHosts, type Hosts } from './netns.ts';
import { selfSignedCert } from './tls.ts';

const TLS_PROXY = fileURLToPath(new URL('./tls-proxy.ts', import.meta.url));

/** The ports every host uses for its service (each host has its own address). */
export const PORTS = {
  chain: 18443,
  pricefeed: 8088,
  oracle: 8080,
  oracleTls: 8443,
  p2p: 9000,
  ui: 8000,
} as const;

/** Compressed time: rollovers and oracle events every 10 s, a minute-long settlement interval. */
export const TIME: NetworkTime = { settlement: 60, rollover: 10, events: 10, block: 2 };

export interface HostsNetworkOptions {
  /** Datadirs, the certificate and the logs (`<name>.log`). */
  readonly dir: string;
  /** Takers, each on its own host: 1 … 20. */
  readonly takers: number;
  readonly logLevel?: string;
  /** BTC each node's wallet gets from the faucet. */
  readonly fundBtc?: number;
  /**
   * More hosts with nothing started on them, by name (e.g. `runner`, for the remote scenario
   * runner): they reach every other host by name, as a pod does.
   */
  readonly extraHosts?: readonly string[];
  /**
   * Whether the feed walks on its own (a tick a second) or moves only through its control
   * endpoint (a scenario runner serving its plan's prices). @default true
   */
  readonly feedWalks?: boolean;
}

export interface HostsNode {
  readonly name: string;
  readonly role: 'maker' | 'taker';
  /** The node's UI and API, on its host's address. */
  readonly ui: string;
  readonly datadir: string;
  readonly process: RunningDlcfd;
  /** The API bearer token (`<datadir>/api.cookie`). */
  cookie(): Promise<string>;
}

export interface HostsNetwork {
  readonly hosts: Hosts;
  /** The chain's RPC, from the creating namespace. */
  readonly rpc: BitcoinRpc;
  readonly nodes: readonly HostsNode[];
  /** Every node's UI password (one for all, as in the Kubernetes Secret). */
  readonly uiPassword: string;
  /** The feed's control endpoint, by name: `http://pricefeed:8088/control`. */
  readonly feedControl: string;
  /** The token other hosts need for the feed's control endpoint (as in the Kubernetes Secret). */
  readonly feedControlToken: string;
  /** Every process started, by name (chain, pricefeed, oracle, oracle-tls, maker, taker1 …). */
  readonly processes: ReadonlyMap<string, RunningDlcfd>;
  /** Stops every process (reverse order), then removes the hosts. Idempotent. */
  stop(): Promise<void>;
}

/** Starts the network; on a failure it stops what it started and removes the hosts. */
export async function startHostsNetwork(options: HostsNetworkOptions): Promise<HostsNetwork> {
  const { dir, takers } = options;
  if (!Number.isInteger(takers) || takers < 1 || takers > 20) throw new Error('takers: 1 … 20');
  restrictUmask();
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const takerNames = Array.from({ length: takers }, (_, i) => `taker${i + 1}`);
  const hosts = await createHosts([
    { name: 'maker', aliases: ['chain', 'pricefeed', 'oracle'] },
    ...takerNames.map((name) => ({ name })),
    ...(options.extraHosts ?? []).map((name) => ({ name })),
  ]);
  const processes = new Map<string, RunningDlcfd>();
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    for (const p of [...processes.values()].reverse()) await p.stop('SIGTERM');
    await hosts.destroy();
  };
  try {
    const makerAddress = hosts.hosts.get('maker')!.address;
    const start = async (
      name: string,
      host: string,
      run: (o: StartOptions) => Promise<RunningDlcfd>,
      env?: Record<string, string>,
    ) => {
      const log = createWriteStream(join(dir, `${name}.log`), { flags: 'a', mode: 0o600 });
      const p = await run({
        prefix: hosts.prefix(host),
        logLevel: options.logLevel ?? 'info',
        onStderr: (c) => log.write(c),
        ...(env && { env }),
      });
      void p.exited.then(() => log.end());
      processes.set(name, p);
      return p;
    };
    const rpcUser = 'dlcfd';
    const rpcPassword = generatePassword();
    await start('chain', 'maker', (o) =>
      startDlcfd(
        'chain',
        [
          '--rpc-host',
          makerAddress,
          '--rpc-port',
          String(PORTS.chain),
          '--rpc-user',
          rpcUser,
          '--rpc-password',
          rpcPassword,
          '--block-interval',
          String(TIME.block),
        ],
        'height',
        60_000,
        o,
      ),
    );
    const feedControlToken = generatePassword();
    await start(
      'pricefeed',
      'maker',
      (o) =>
        startDlcfd(
          'pricefeed',
          [
            '--host',
            makerAddress,
            '--port',
            String(PORTS.pricefeed),
            '--start-price',
            '50000',
            ...(options.feedWalks === false ? ['--tick-ms', '0'] : []),
          ],
          'control-url',
          15_000,
          o,
        ),
      { DLCFD_PRICEFEED_CONTROL_TOKEN: feedControlToken },
    );
    const feedUrl = `ws://pricefeed:${PORTS.pricefeed}/realtime`;
    const oracle = await start('oracle', 'maker', (o) =>
      startDlcfd(
        'oracle',
        [
          ...oracleNetworkArgs(join(dir, 'oracle'), feedUrl, TIME),
          '--listen',
          makerAddress,
          '--port',
          String(PORTS.oracle),
        ],
        'announcement-key',
        30_000,
        o,
      ),
    );
    const tlsDir = join(dir, 'tls');
    await mkdir(tlsDir, { recursive: true, mode: 0o700 });
    const cert = await selfSignedCert(tlsDir, ['oracle']);
    await start('oracle-tls', 'maker', (o) =>
      startReady(
        TLS_PROXY,
        [
          '--listen',
          `${makerAddress}:${PORTS.oracleTls}`,
          '--to',
          `${makerAddress}:${PORTS.oracle}`,
          '--cert',
          cert.certFile,
          '--key',
          cert.keyFile,
        ],
        'listening',
        15_000,
        o,
      ),
    );
    const common = [
      ...nodeNetworkArgs({
        chainRpc: `http://chain:${PORTS.chain}`,
        chainAuth: ['--chain-user', rpcUser],
        oracle: `https://oracle:${PORTS.oracleTls}`,
        oraclePublicKey: oracle.ready.get('public-key')!,
        oracleAnnouncementKey: oracle.ready.get('announcement-key')!,
        pricefeed: feedUrl,
        time: TIME,
      }),
      '--ui-port',
      String(PORTS.ui),
      '--unsafe-listen',
    ];
    const uiPassword = generatePassword();
    const nodes: HostsNode[] = [];
    const startNode = async (name: string, role: 'maker' | 'taker', args: string[]) => {
      const host = hosts.hosts.get(name)!;
      const datadir = join(dir, name);
      // Secrets through the environment, not argv (which `ps` shows to every user).
      const env = {
        DLCFD_CHAIN_PASSWORD: rpcPassword,
        DLCFD_UI_PASSWORD: uiPassword,
        NODE_EXTRA_CA_CERTS: cert.certFile,
      };
      const p = await start(
        name,
        name,
        (o) =>
          startDlcfd(
            role,
            [
              '--datadir',
              datadir,
              ...common,
              '--ui-host',
              host.address,
              // Reached by name too (the collector): http://<name>:8000.
              '--ui-allowed-host',
              name,
              ...args,
            ],
            'datadir',
            60_000,
            o,
          ),
        env,
      );
      const node: HostsNode = {
        name,
        role,
        ui: p.ready.get('ui-url')!,
        datadir,
        process: p,
        cookie: async () => (await readFile(join(datadir, 'api.cookie'), 'utf8')).trim(),
      };
      nodes.push(node);
      return p;
    };
    const maker = await startNode('maker', 'maker', [
      '--listen',
      `/ip4/${makerAddress}/tcp/${PORTS.p2p}`,
      '--auto-accept',
    ]);
    const makerAddr = `/dns4/maker/tcp/${PORTS.p2p}/p2p/${maker.ready.get('peer-id')}`;
    for (const name of takerNames) await startNode(name, 'taker', ['--maker', makerAddr]);

    const rpc = new BitcoinRpc({
      url: `http://${makerAddress}:${PORTS.chain}`,
      user: rpcUser,
      password: rpcPassword,
    });
    for (const node of nodes) {
      const res = await fetch(`${node.ui}/api/wallet/address`, {
        method: 'POST',
        headers: { authorization: `Bearer ${await node.cookie()}` },
      });
      if (!res.ok) throw new Error(`${node.name}: no wallet address (${res.status})`);
      const { address } = (await res.json()) as { address: string };
      await rpc.call('sendtoaddress', [address, options.fundBtc ?? 1]);
    }
    return {
      hosts,
      rpc,
      nodes,
      uiPassword,
      feedControl: `http://pricefeed:${PORTS.pricefeed}/control`,
      feedControlToken,
      processes,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
