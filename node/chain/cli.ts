/**
 * `dlcfd chain`: runs the embedded regtest node as a process (for the local testnet), and
 * `dlcfd chain fund|mine`: talks to a running one over RPC.
 *
 * On start it prints `key value` lines on stdout once the node is ready, for scripts to read:
 *
 *     rpc-url http://127.0.0.1:18443
 *     rpc-cookie-file /tmp/dlcfd-chain-x1y2/.cookie      (or: rpc-user alice)
 *     faucet-address bcrt1q…
 *     height 432
 *
 * Logs go to stderr (pino JSON). SIGTERM or SIGINT stops the node cleanly (exit 0).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Subcommand } from '../cli.ts';
import {
  integerFlag,
  runSubcommand,
  stderrLogger,
  UsageError,
  untilStopSignal,
} from '../cli-support.ts';
import { restrictUmask, secureDataDir } from '../runtime/datadir.ts';
import { btcToSats, satsToBtc } from './amount.ts';
import { COOKIE_FILE } from './constants.ts';
import type { EmbeddedChain, EmbeddedChainOptions } from './embedded.ts';
import { BitcoinRpc } from './rpc.ts';

const USAGE = `usage: dlcfd chain [--rpc-port <port>] [--rpc-host <ip>] [--rpc-user <u> --rpc-password <p>]
                   [--datadir <dir>] [--block-interval <seconds>] [--log-level <level>]
                   [--min-relay-fee <sat/vB>] [--block-max-weight <wu>] [--fee-spike <sat/vB>]
                   [--allow-insecure-datadir]
       dlcfd chain fund <address> <btc> --rpc-url <url> [auth]
       dlcfd chain mine <blocks> [--address <address>] --rpc-url <url> [auth]
       dlcfd chain fees [--min-relay-fee <sat/vB>] [--fee-spike <sat/vB>] --rpc-url <url> [auth]

Runs an embedded regtest full node (bcoin) with Bitcoin Core compatible JSON-RPC on loopback,
segwit active, and a faucet. Without --datadir the chain lives in memory. Without
--rpc-user/--rpc-password, auth is a Bitcoin Core style cookie (<datadir>/.cookie, or a temporary
file when in memory). --block-interval 0 (default) mines only on demand. --datadir is created 0700 and everything in
it 0600 (umask 077); one open to group or other users is refused (the error prints the chmod that
fixes it) unless --allow-insecure-datadir is given.

Fee market (as Bitcoin Core): blocks take packages (a transaction with its unconfirmed parents)
by ancestor fee rate, so a child can pay for its parent (CPFP); full-RBF replacement;
submitpackage; estimatesmartfee from the blocks mined.
  --min-relay-fee <sat/vB>     refuse transactions paying less (min relay fee not met); default 1.
                               Changeable at run time: RPC setmempoolminfee <sat/vB> (dlcfd only).
  --block-max-weight <wu>      block weight limit when mining (Core's -blockmaxweight), 8000 to
                               4000000; default 4000000. A small value makes a congested chain cheap.
  --fee-spike <sat/vB>         fill every mined block with filler transactions paying this rate
                               (from the faucet) unless something pays more. Changeable at run
                               time: RPC setfeespike <sat/vB> [vbytes_per_block] (0 stops; dlcfd only).

\`fees\` changes a running chain's market (e.g. a spike on the testnet: --fee-spike 50, then
--fee-spike 0) and prints it: min relay fee, spike, estimatesmartfee for 2 and 6 blocks.

auth (fund, mine, fees): --rpc-user <u> --rpc-password <p> | --rpc-cookie-file <file> | --datadir <dir>
`;

/** The `chain` subcommand. */
export const chainCommand: Subcommand = {
  summary: 'embedded regtest full node with Bitcoin Core RPC and a faucet (testnet, tests)',
  run(argv) {
    return runSubcommand(
      'chain',
      USAGE,
      async () => {
        const [first, ...rest] = argv;
        if (first === 'fund') return await fund(rest);
        if (first === 'mine') return await mine(rest);
        if (first === 'fees') return await fees(rest);
        return await serve(argv);
      },
      argv,
    );
  },
};

async function serve(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    options: {
      'rpc-port': { type: 'string' },
      'rpc-host': { type: 'string' },
      'rpc-user': { type: 'string' },
      'rpc-password': { type: 'string' },
      datadir: { type: 'string' },
      'block-interval': { type: 'string' },
      'log-level': { type: 'string' },
      'min-relay-fee': { type: 'string' },
      'block-max-weight': { type: 'string' },
      'fee-spike': { type: 'string' },
      'allow-insecure-datadir': { type: 'boolean' },
    },
    allowPositionals: true,
  });
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  const logger = stderrLogger(values['log-level'] ?? 'info');
  // The cookie (the RPC password) and the wallet-less chain: umask 077 before anything is made.
  restrictUmask();
  const options: EmbeddedChainOptions = { logger };
  if (values['rpc-port'] !== undefined)
    options.rpcPort = integerFlag(values['rpc-port'], '--rpc-port');
  if (values['rpc-host'] !== undefined) options.rpcHost = values['rpc-host'];
  if ((values['rpc-user'] === undefined) !== (values['rpc-password'] === undefined)) {
    throw new UsageError('--rpc-user and --rpc-password go together');
  }
  if (values['rpc-user'] !== undefined) options.rpcUser = values['rpc-user'];
  if (values['rpc-password'] !== undefined) options.rpcPassword = values['rpc-password'];
  if (values.datadir !== undefined) options.datadir = values.datadir;
  if (values['block-interval'] !== undefined) {
    const seconds = Number(values['block-interval']);
    if (!Number.isFinite(seconds) || seconds < 0) {
      throw new UsageError(`--block-interval must be a number of seconds ≥ 0`);
    }
    options.blockIntervalSeconds = seconds;
  }
  if (values['min-relay-fee'] !== undefined) {
    options.minRelayFeeRate = feeRateFlag(values['min-relay-fee'], '--min-relay-fee');
  }
  if (values['block-max-weight'] !== undefined) {
    options.blockMaxWeight = integerFlag(
      values['block-max-weight'],
      '--block-max-weight',
      4_000_000,
      8_000,
    );
  }
  if (values['fee-spike'] !== undefined) {
    const rate = feeRateFlag(values['fee-spike'], '--fee-spike');
    if (rate > 0) options.feeSpike = { rate };
  }

  // In memory with cookie auth: the cookie still needs a home for other processes to read.
  let tempDir: string | undefined;
  if (!options.datadir && !options.rpcUser) {
    tempDir = await mkdtemp(join(tmpdir(), 'dlcfd-chain-'));
    options.cookieFile = join(tempDir, COOKIE_FILE);
  }

  if (options.datadir) {
    await secureDataDir(options.datadir, {
      allowInsecure: values['allow-insecure-datadir'] === true,
      logger,
    });
  }

  let chain: EmbeddedChain;
  try {
    // Loaded here so other subcommands (and --help) do not load bcoin.
    const { EmbeddedChain } = await import('./embedded.ts');
    chain = await EmbeddedChain.start(options);
  } catch (err) {
    if (tempDir) await rm(tempDir, { recursive: true, force: true });
    throw err;
  }

  const lines = [`rpc-url ${chain.rpcUrl}`];
  if (chain.cookieFile) lines.push(`rpc-cookie-file ${chain.cookieFile}`);
  else lines.push(`rpc-user ${chain.rpcAuth.user}`);
  lines.push(`faucet-address ${chain.faucetAddress}`, `height ${chain.height}`);
  // Listen for the stop signal before saying we are ready: a caller may signal at once.
  const stopped = untilStopSignal(logger);
  process.stdout.write(`${lines.join('\n')}\n`);

  await stopped;
  await chain.stop();
  if (tempDir) await rm(tempDir, { recursive: true, force: true });
  return 0;
}

/** A fee rate in sat/vB: a decimal number ≥ 0 (fractions allowed, as Core's sat/vB rates). */
function feeRateFlag(text: string, what: string): number {
  const n = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text) || !Number.isFinite(n) || n > 10_000_000) {
    throw new UsageError(`${what} must be a fee rate in sat/vB (e.g. 20 or 2.5), got '${text}'`);
  }
  return n;
}

const CLIENT_OPTIONS = {
  'rpc-url': { type: 'string' },
  'rpc-user': { type: 'string' },
  'rpc-password': { type: 'string' },
  'rpc-cookie-file': { type: 'string' },
  datadir: { type: 'string' },
} as const;

async function fund(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    options: CLIENT_OPTIONS,
    allowPositionals: true,
  });
  const [address, btc, extra] = positionals;
  if (!address || !btc || extra !== undefined) throw new UsageError('fund takes <address> <btc>');
  const sats = btcToSats(btc);
  const txid = await client(values).call<string>('sendtoaddress', [address, satsToBtc(sats)]);
  process.stdout.write(`${txid}\n`);
  return 0;
}

async function mine(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    options: { ...CLIENT_OPTIONS, address: { type: 'string' } },
    allowPositionals: true,
  });
  const [count, extra] = positionals;
  if (count === undefined || extra !== undefined) throw new UsageError('mine takes <blocks>');
  const blocks = integerFlag(count, '<blocks>');
  const rpc = client(values);
  let address = values.address;
  if (!address) {
    // Pay the faucet: `getnewaddress` is not served, so take it from the last coinbase.
    address = await faucetAddressOf(rpc);
  }
  const hashes = await rpc.call<string[]>('generatetoaddress', [blocks, address]);
  process.stdout.write(hashes.map((h) => `${h}\n`).join(''));
  return 0;
}

async function fees(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    options: {
      ...CLIENT_OPTIONS,
      'min-relay-fee': { type: 'string' },
      'fee-spike': { type: 'string' },
    },
    allowPositionals: true,
  });
  if (positionals.length > 0) throw new UsageError('fees takes no positional arguments');
  const rpc = client(values);
  const rate = (v: string, what: string): number => {
    if (!/^\d+(\.\d+)?$/.test(v)) throw new UsageError(`${what} must be sat/vB, got '${v}'`);
    return Number(v);
  };
  if (values['min-relay-fee'] !== undefined) {
    await rpc.call('setmempoolminfee', [rate(values['min-relay-fee'], '--min-relay-fee')]);
  }
  if (values['fee-spike'] !== undefined) {
    await rpc.call('setfeespike', [rate(values['fee-spike'], '--fee-spike')]);
  }
  const info = await rpc.getMempoolInfo();
  const est = async (n: number) => {
    const e = await rpc.estimateSmartFee(n);
    return e.satPerKvB === undefined ? 'none' : `${Number(e.satPerKvB) / 1000} sat/vB`;
  };
  process.stdout.write(
    `min relay fee ${Number(info.mempoolMinFeeSatPerKvB) / 1000} sat/vB; mempool ${info.size} txs; ` +
      `estimatesmartfee 2: ${await est(2)}, 6: ${await est(6)}\n`,
  );
  return 0;
}

/** The address the tip's coinbase paid (the faucet, unless someone mined elsewhere). */
async function faucetAddressOf(rpc: BitcoinRpc): Promise<string> {
  const tip = await rpc.getBlock(await rpc.getBlockHash(await rpc.getBlockCount()));
  const coinbase = await rpc.call<{
    vout: { scriptPubKey: { address?: string; addresses?: string[] } }[];
  }>('getrawtransaction', [tip.tx[0], 1]);
  const spk = coinbase.vout[0]?.scriptPubKey;
  const address = spk?.address ?? spk?.addresses?.[0];
  if (!address) throw new UsageError('cannot tell the faucet address: pass --address');
  return address;
}

function client(values: {
  'rpc-url'?: string | undefined;
  'rpc-user'?: string | undefined;
  'rpc-password'?: string | undefined;
  'rpc-cookie-file'?: string | undefined;
  datadir?: string | undefined;
}): BitcoinRpc {
  const url = values['rpc-url'];
  if (!url) throw new UsageError('--rpc-url is required');
  if (values['rpc-user'] !== undefined && values['rpc-password'] !== undefined) {
    return new BitcoinRpc({ url, user: values['rpc-user'], password: values['rpc-password'] });
  }
  const cookieFile =
    values['rpc-cookie-file'] ?? (values.datadir ? join(values.datadir, COOKIE_FILE) : undefined);
  if (cookieFile) return new BitcoinRpc({ url, cookieFile });
  if (new URL(url).username) return new BitcoinRpc({ url });
  throw new UsageError('auth needed: --rpc-user/--rpc-password, --rpc-cookie-file or --datadir');
}
