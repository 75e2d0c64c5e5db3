// `npm run testnet [-- --takers N --time-scale S --dir DIR]`: a whole local network on this
// machine — the embedded regtest chain, the price feed, the oracle, one maker and N takers — with
// compressed time, funded wallets, every node's UI URL and password printed, and `testnet.json`
// written for scripts. Ctrl-C stops everything cleanly. Every port is chosen free, so several
// testnets (in different --dir) do not collide.
//
// Secrets: testnet.json holds the chain's RPC password and the node datadirs their keys, so
// everything this script (and the processes it starts) creates is owner-only: umask 077, the
// testnet directory 0700, testnet.json and the logs 0600.
import { createWriteStream } from 'node:fs';
import { chmod, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { BitcoinRpc } from '../node/chain/rpc.ts';
import { restrictUmask, secureDataDir } from '../node/runtime/datadir.ts';
import { type RunningDlcfd, startDlcfd } from './lib/dlcfd-process.ts';

// Before anything is created; inherited by every process started below.
restrictUmask();

const { values } = parseArgs({
  options: {
    takers: { type: 'string', default: '2' },
    'time-scale': { type: 'string', default: '60' },
    dir: { type: 'string', default: 'testnet' },
    fund: { type: 'string', default: '1' },
    fresh: { type: 'boolean', default: false },
    'log-level': { type: 'string', default: 'info' },
  },
});

const takers = Number(values.takers);
const scale = Number(values['time-scale']);
if (!Number.isInteger(takers) || takers < 0 || takers > 20) fail('--takers must be 0 … 20');
if (!Number.isInteger(scale) || scale < 1 || scale > 3600) fail('--time-scale must be 1 … 3600');
const dir = resolve(values.dir);
const logLevel = values['log-level'];

/**
 * Production time divided by the scale: at 60, a day-long settlement interval lasts 24 minutes,
 * hourly rollovers and oracle events come every minute, and blocks every 10 s, so the 12-block
 * CET lock and the 216-block refund lock keep their meaning in blocks.
 */
const time = {
  settlement: Math.max(60, Math.round(86_400 / scale)),
  rollover: Math.max(10, Math.round(3_600 / scale)),
  events: Math.max(10, Math.round(3_600 / scale)),
  block: Math.max(1, Math.round(600 / scale)),
};

function fail(message: string): never {
  console.error(`npm run testnet: ${message}`);
  process.exit(2);
}

const running: { name: string; process: RunningDlcfd }[] = [];
let stopping = false;

async function start(
  name: string,
  sub: string,
  args: string[],
  lastKey: string,
): Promise<RunningDlcfd> {
  const log = join(dir, `${name}.log`);
  const file = createWriteStream(log, { flags: 'a', mode: 0o600 });
  const p = await startDlcfd(sub, args, lastKey, 60_000, {
    logLevel,
    onStderr: (c) => file.write(c),
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

async function main(): Promise<void> {
  if (values.fresh) await rm(dir, { recursive: true, force: true });
  // 0700; a --dir left by an earlier version (0755 datadirs, 0644 files) is tightened, since the
  // nodes it starts refuse a datadir open to others.
  await secureDataDir(dir, { fix: true });
  console.log(
    `testnet in ${dir} (time ×${scale}: settlement ${time.settlement} s, rollover ${time.rollover} s, blocks ${time.block} s)`,
  );

  const chainDir = join(dir, 'chain');
  const chain = await start(
    'chain',
    'chain',
    ['--datadir', chainDir, '--rpc-port', '0', '--block-interval', String(time.block)],
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
    ['--port', '0', '--seed', '1', '--start-price', '50000'],
    'control-url',
  );
  const feedUrl = feed.ready.get('ws-url')!;

  const oracle = await start(
    'oracle',
    'oracle',
    [
      '--datadir',
      join(dir, 'oracle'),
      '--port',
      '0',
      '--pricefeed',
      feedUrl,
      '--event-interval',
      String(time.events),
      '--lookahead',
      String(time.settlement + 3 * time.events),
    ],
    'announcement-key',
  );
  const oracleUrl = oracle.ready.get('url')!;

  const common = [
    '--network',
    'regtest',
    '--chain-rpc',
    rpcUrl,
    '--chain-cookie-file',
    cookieFile,
    '--oracle',
    oracleUrl,
    '--oracle-public-key',
    oracle.ready.get('public-key')!,
    '--oracle-announcement-key',
    oracle.ready.get('announcement-key')!,
    '--pricefeed',
    feedUrl,
    '--ui-port',
    '0',
    '--settlement-interval',
    String(time.settlement),
    '--rollover-interval',
    String(time.rollover),
    '--oracle-event-interval',
    String(time.events),
    '--chain-poll-ms',
    String(Math.min(5_000, time.block * 500)),
  ];
  const nodes: { name: string; role: string; datadir: string; p: RunningDlcfd }[] = [];
  const makerDir = join(dir, 'maker');
  const maker = await start(
    'maker',
    'maker',
    ['--datadir', makerDir, ...common, '--listen', '/ip4/127.0.0.1/tcp/0', '--auto-accept'],
    'datadir',
  );
  nodes.push({ name: 'maker', role: 'maker', datadir: makerDir, p: maker });
  const makerAddr = maker.ready.get('multiaddr')!;
  const makerMultiaddr = makerAddr.includes('/p2p/')
    ? makerAddr
    : `${makerAddr}/p2p/${maker.ready.get('peer-id')}`;
  for (let i = 1; i <= takers; i++) {
    const datadir = join(dir, `taker${i}`);
    const p = await start(
      `taker${i}`,
      'taker',
      ['--datadir', datadir, ...common, '--maker', makerMultiaddr],
      'datadir',
    );
    nodes.push({ name: `taker${i}`, role: 'taker', datadir, p });
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

  const description = {
    chain: { rpc: rpcUrl, user: rpcUser, password: rpcPassword },
    oracle: oracleUrl,
    pricefeed: feedUrl,
    pricefeed_control: feed.ready.get('control-url'),
    nodes: nodes.map((n) => ({
      name: n.name,
      role: n.role,
      ui: n.p.ready.get('ui-url') ?? null,
      api_cookie: join(n.datadir, 'api.cookie'),
      datadir: n.datadir,
      peer_id: n.p.ready.get('peer-id'),
      multiaddr: n.role === 'maker' ? makerMultiaddr : null,
    })),
  };
  // The chain's RPC password is in it: owner-only, even when an earlier run left it 0644.
  const descriptionFile = join(dir, 'testnet.json');
  await writeFile(descriptionFile, `${JSON.stringify(description, null, 2)}\n`, { mode: 0o600 });
  await chmod(descriptionFile, 0o600);

  console.log('\ntestnet ready:');
  console.log(`  chain      ${rpcUrl} (cookie ${cookieFile})`);
  console.log(`  price feed ${feedUrl}`);
  console.log(`  oracle     ${oracleUrl}`);
  for (const n of nodes) {
    const password = n.p.ready.get('ui-password');
    console.log(
      `  ${n.name.padEnd(10)} ${n.p.ready.get('ui-url') ?? '(no UI)'}${password ? `  password ${password}` : ''}`,
    );
  }
  console.log(`  ${join(dir, 'testnet.json')} describes it for scripts; Ctrl-C stops everything.`);
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
