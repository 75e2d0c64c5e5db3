// `npm run testnet [-- --makers M --takers N --time-scale S --dir DIR]`: a whole local network on
// this machine — the embedded regtest chain, the price feed, the oracle, M makers and N takers — with
// compressed time, funded wallets, every node's UI URL and password printed, and `testnet.json`
// written for scripts. Ctrl-C stops everything cleanly. A first start chooses free ports; a
// restart on the same --dir asks for the same ports again (a new one only if one is taken) and
// keeps every node's UI password, so bookmarks and saved passwords keep working.
//
// Secrets: testnet.json holds the chain's RPC password and the UI passwords, and the node datadirs
// their keys, so everything this script (and the processes it starts) creates is owner-only:
// umask 077, the testnet directory 0700, testnet.json and the logs 0600.
import { createWriteStream } from 'node:fs';
import { chmod, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { isContractSymbol } from '../model/product.ts';
import { BitcoinRpc } from '../node/chain/rpc.ts';
import { parseArgsProblem } from '../node/cli-support.ts';
import { restrictUmask, secureDataDir } from '../node/runtime/datadir.ts';
import { generatePassword } from '../ui-server/auth.ts';
import { type RunningDlcfd, startDlcfd } from './lib/dlcfd-process.ts';
import { compressedTime, nodeNetworkArgs, oracleNetworkArgs } from './lib/network-flags.ts';
import {
  DESCRIPTION_FILE,
  portOf,
  readDescription,
  reusablePort,
  type TestnetDescription,
  type TestnetNode,
} from './lib/testnet-description.ts';

const USAGE = `usage: npm run testnet [-- options]

  --makers M         makers, 1 … 10 (default 1); maker 1 is the bootstrap node the others and
                     every taker join the offer gossip through, and the makers quote spreads
                     of 20, 35, 50 … bps, so the best price moves between them
  --takers N         takers, 0 … 20 (default 2)
  --products LIST    what every maker offers: BTCUSD (inverse), ETHUSD (quanto), or both
                     (default BTCUSD,ETHUSD: the UI's product switch has a market on each side)
  --time-scale S     production time divided by S, 1 … 3600 (default 60: a day-long settlement
                     interval lasts 24 minutes; rollovers and oracle events every minute, blocks
                     every 10 s)
  --dir DIR          where the testnet lives: chain, node datadirs, logs, testnet.json
                     (default ./testnet); run again on the same DIR to restart it with the same
                     ports and UI passwords
  --fresh            remove DIR first: a new chain, keys, ports and passwords
  --fund BTC         each wallet's funding from the faucet on every start (default 1)
  --log-level LEVEL  the processes' log level, in DIR/<name>.log (default info)
  --no-ui-build      do not build the web UI first (npm run build:ui)
  -h, --help         this text
`;

function fail(message: string): never {
  console.error(`npm run testnet: ${message}\n\n${USAGE}`);
  process.exit(2);
}

let parsed: ReturnType<typeof parseOptions>;
function parseOptions() {
  return parseArgs({
    options: {
      makers: { type: 'string', default: '1' },
      takers: { type: 'string', default: '2' },
      products: { type: 'string', default: 'BTCUSD,ETHUSD' },
      'time-scale': { type: 'string', default: '60' },
      dir: { type: 'string', default: 'testnet' },
      fund: { type: 'string', default: '1' },
      fresh: { type: 'boolean', default: false },
      'log-level': { type: 'string', default: 'info' },
      'ui-build': { type: 'boolean', default: true },
      help: { type: 'boolean', short: 'h', default: false },
    },
    allowNegative: true,
  });
}
try {
  parsed = parseOptions();
} catch (err) {
  fail(parseArgsProblem(err) ?? (err as Error).message);
}
const { values } = parsed;
if (values.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}

// Before anything is created; inherited by every process started below.
restrictUmask();

const makers = Number(values.makers);
if (!/^\d+$/.test(values.makers) || makers < 1 || makers > 10) fail('--makers must be 1 … 10');
const takers = Number(values.takers);
const scale = Number(values['time-scale']);
if (!/^\d+$/.test(values.takers) || takers > 20) fail('--takers must be 0 … 20');
if (!/^\d+$/.test(values['time-scale']) || scale < 1 || scale > 3600) {
  fail('--time-scale must be 1 … 3600');
}
if (!/^\d+(\.\d{1,8})?$/.test(values.fund) || Number(values.fund) > 50) {
  fail('--fund must be BTC, 0 … 50');
}
const products = values.products;
const listed = products.split(',');
if (!listed.every(isContractSymbol) || new Set(listed).size !== listed.length) {
  fail(`--products must list BTCUSD and/or ETHUSD once each, not ${products}`);
}
const dir = resolve(values.dir);
const logLevel = values['log-level'];

const time = compressedTime(scale);

/** The makers' spreads with --makers > 1: a different best price per side from each. */
const MAKER_SPREADS_BPS = [20, 35, 50, 65, 80, 95, 110, 125, 140, 155];

const running: { name: string; process: RunningDlcfd }[] = [];
let stopping = false;

async function start(
  name: string,
  sub: string,
  args: string[],
  lastKey: string,
  env?: Record<string, string>,
): Promise<RunningDlcfd> {
  const log = join(dir, `${name}.log`);
  const file = createWriteStream(log, { flags: 'a', mode: 0o600 });
  const p = await startDlcfd(sub, args, lastKey, 60_000, {
    logLevel,
    onStderr: (c) => file.write(c),
    ...(env && { env }),
  });
  running.push({ name, process: p });
  void p.exited.then((code) => {
    file.end();
    if (!stopping) console.error(`! ${name} exited (${code}); see ${log}`);
  });
  return p;
}

async function stopAll(): Promise<void> {
  stopping = true;
  for (const { name, process } of running.reverse()) {
    const code = await process.stop('SIGTERM');
    console.log(`stopped ${name} (${code})`);
  }
}

async function bearer(datadir: string): Promise<string> {
  return (await readFile(join(datadir, 'api.cookie'), 'utf8')).trim();
}

/** Asks a node's API for a fresh receive address, retrying while its wallet is starting. */
async function walletAddress(ui: string, datadir: string): Promise<string> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      const res = await fetch(`${ui}/api/wallet/address`, {
        method: 'POST',
        headers: { authorization: `Bearer ${await bearer(datadir)}` },
        signal: AbortSignal.timeout(5_000),
      });
      if (res.ok) return ((await res.json()) as { address: string }).address;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`no wallet address from ${ui}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** Builds the web UI into ui/dist (what `npm run build:ui` does), unless --no-ui-build. */
async function buildUi(): Promise<void> {
  if (!values['ui-build']) return;
  const { build } = await import('vite');
  await build({ configFile: fileURLToPath(new URL('../ui/vite.config.ts', import.meta.url)) });
}

async function main(): Promise<void> {
  await buildUi();
  if (values.fresh) await rm(dir, { recursive: true, force: true });
  // 0700; a --dir left by an earlier version (0755 datadirs, 0644 files) is tightened, since the
  // nodes it starts refuse a datadir open to others.
  await secureDataDir(dir, { fix: true });
  // A restart: the same ports (if still free) and the same UI passwords as last time.
  const before = await readDescription(dir);
  const port = (address: string | null | undefined, what: string) =>
    reusablePort(portOf(address), what, (m) => console.error(`! ${m}`));
  console.log(
    `testnet in ${dir} (time ×${scale}: settlement ${time.settlement} s, rollover every ${time.rollover} s, oracle events every ${time.events} s, blocks every ${time.block} s)${before ? '; restarted with its ports and passwords' : ''}`,
  );

  const chainDir = join(dir, 'chain');
  const chain = await start(
    'chain',
    'chain',
    [
      '--datadir',
      chainDir,
      '--rpc-port',
      String(await port(before?.chain?.rpc, 'chain RPC')),
      '--block-interval',
      String(time.block),
    ],
    'height',
  );
  const rpcUrl = chain.ready.get('rpc-url')!;
  const cookieFile = chain.ready.get('rpc-cookie-file')!;
  const [rpcUser, rpcPassword] = (await readFile(cookieFile, 'utf8')).trim().split(':') as [
    string,
    string,
  ];
  const rpc = new BitcoinRpc({ url: rpcUrl, cookieFile });

  const feed = await start(
    'pricefeed',
    'pricefeed',
    [
      '--port',
      String(await port(before?.pricefeed, 'price feed')),
      '--seed',
      '1',
      '--start-price',
      '50000',
    ],
    'control-url',
  );
  const feedUrl = feed.ready.get('ws-url')!;

  const oracle = await start(
    'oracle',
    'oracle',
    [
      ...oracleNetworkArgs(join(dir, 'oracle'), feedUrl, time),
      '--port',
      String(await port(before?.oracle, 'oracle')),
    ],
    'announcement-key',
  );
  const oracleUrl = oracle.ready.get('url')!;

  const common = nodeNetworkArgs({
    chainRpc: rpcUrl,
    chainAuth: ['--chain-cookie-file', cookieFile],
    oracle: oracleUrl,
    oraclePublicKey: oracle.ready.get('public-key')!,
    oracleAnnouncementKey: oracle.ready.get('announcement-key')!,
    pricefeed: feedUrl,
    time,
  });
  const nodes: {
    name: string;
    role: TestnetNode['role'];
    datadir: string;
    password: string;
    p: RunningDlcfd;
  }[] = [];
  /** Starts a node with last time's UI port and password (a new password on a first start). */
  const startNode = async (
    name: string,
    role: TestnetNode['role'],
    args: string[],
  ): Promise<RunningDlcfd> => {
    const last = before?.nodes?.find((n) => n.name === name);
    const datadir = join(dir, name);
    const password =
      typeof last?.ui_password === 'string' && last.ui_password.length > 0
        ? last.ui_password
        : generatePassword();
    const uiPort = await port(last?.ui, `${name} UI`);
    // The password through the environment, not argv: other users can read argv in ps.
    const p = await start(
      name,
      role,
      ['--datadir', datadir, ...common, '--ui-port', String(uiPort), ...args],
      'datadir',
      { DLCFD_UI_PASSWORD: password },
    );
    nodes.push({ name, role, datadir, password, p });
    return p;
  };
  // Maker 1 is `maker` (as with one maker), the others maker2, maker3, …; every maker after the
  // first and every taker know only maker 1's address and discover the rest over the gossip.
  const multiaddrs = new Map<string, string>();
  let bootstrap: string | undefined;
  for (let i = 1; i <= makers; i++) {
    const name = i === 1 ? 'maker' : `maker${i}`;
    const last = before?.nodes?.find((n) => n.name === name)?.multiaddr;
    const p = await startNode(name, 'maker', [
      '--listen',
      `/ip4/127.0.0.1/tcp/${await port(last, `${name} p2p`)}`,
      '--auto-accept',
      '--products',
      products,
      ...(makers > 1 ? ['--spread', String(MAKER_SPREADS_BPS[i - 1])] : []),
      ...(bootstrap ? ['--bootstrap', bootstrap] : []),
    ]);
    const addr = p.ready.get('multiaddr')!;
    const full = addr.includes('/p2p/') ? addr : `${addr}/p2p/${p.ready.get('peer-id')}`;
    multiaddrs.set(name, full);
    bootstrap ??= full;
  }
  for (let i = 1; i <= takers; i++) {
    await startNode(`taker${i}`, 'taker', ['--bootstrap', bootstrap!]);
  }

  // Fund every wallet from the faucet and confirm.
  const faucet = chain.ready.get('faucet-address')!;
  for (const n of nodes) {
    const ui = n.p.ready.get('ui-url');
    if (!ui) {
      console.error(`! ${n.name} serves no UI yet; its wallet is not funded`);
      continue;
    }
    const address = await walletAddress(ui, n.datadir);
    await rpc.call('sendtoaddress', [address, Number(values.fund)]);
  }
  await rpc.call('generatetoaddress', [1, faucet]);

  const description: TestnetDescription = {
    chain: { rpc: rpcUrl, user: rpcUser, password: rpcPassword },
    oracle: oracleUrl,
    pricefeed: feedUrl,
    pricefeed_control: feed.ready.get('control-url'),
    nodes: nodes.map((n) => ({
      name: n.name,
      role: n.role,
      ui: n.p.ready.get('ui-url') ?? null,
      ui_password: n.password,
      api_cookie: join(n.datadir, 'api.cookie'),
      datadir: n.datadir,
      peer_id: n.p.ready.get('peer-id'),
      multiaddr: multiaddrs.get(n.name) ?? null,
    })),
  };
  // The chain's RPC password and the UI passwords are in it: owner-only, even when an earlier
  // run left it 0644.
  const descriptionFile = join(dir, DESCRIPTION_FILE);
  await writeFile(descriptionFile, `${JSON.stringify(description, null, 2)}\n`, { mode: 0o600 });
  await chmod(descriptionFile, 0o600);

  console.log('\ntestnet ready:');
  console.log(`  chain      ${rpcUrl} (cookie ${cookieFile})`);
  console.log(`  price feed ${feedUrl}`);
  console.log(`  oracle     ${oracleUrl}`);
  for (const n of nodes) {
    console.log(
      `  ${n.name.padEnd(10)} ${n.p.ready.get('ui-url') ?? '(no UI)'}  password ${n.password}`,
    );
  }
  console.log(`  ${descriptionFile} describes it for scripts; Ctrl-C stops everything.`);
}

const stop = async (): Promise<void> => {
  if (stopping) return;
  await stopAll();
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);

main().catch(async (err: unknown) => {
  console.error(`npm run testnet: ${(err as Error).message}`);
  await stopAll();
  process.exit(1);
});
