/**
 * `dlcfd pricefeed`: runs the local BitMEX-protocol price feed as a process (local testnets, tests).
 *
 * When ready it prints `key value` lines on stdout, for scripts to read:
 *
 *     ws-url ws://127.0.0.1:41234/realtime
 *     control-url http://127.0.0.1:41234/control
 *
 * Logs go to stderr (pino JSON). SIGTERM or SIGINT stops it cleanly (exit 0).
 */
import { readFile } from 'node:fs/promises';
import { parsePrice } from '../../model/units.ts';
import type { Subcommand } from '../cli.ts';
import { flag, integerFlag, servingSubcommand, UsageError } from '../cli-support.ts';
import { InvalidPricePathError } from './errors.ts';
import { PriceFeedServer, type PriceFeedServerOptions } from './server.ts';

const USAGE = `usage: dlcfd pricefeed [--port <port>] [--host <ip>] [--start-price <usd>] [--seed <n>]
                       [--tick-ms <ms>] [--volatility <rate>] [--drift <rate>] [--spread <usd>]
                       [--csv <file> [--loop]] [--log-level <level>]

Serves the BitMEX realtime websocket protocol (quoteBin1m:XBTUSD, instrument:.BXBT, and
quoteBin1m:ETHUSD, instrument:.BETH on a walk of its own from 3000) at
ws://<host>:<port>/realtime from a seeded random walk (default: start 40000, seed 1, one tick per
1000 ms, volatility 0.0005 and drift 0 per tick, spread 1) or by replaying a CSV of
[timestamp,]price lines, one per tick. Prices are on the 0.5 USD tick. --port 0 (default) picks a
free port; --host defaults to 127.0.0.1. --tick-ms 0 moves the price only through control.

control (loopback only): GET <control-url>/price, POST <control-url>/price {"price":"45000.5"},
POST <control-url>/tick, POST <control-url>/pause, POST <control-url>/resume; ?symbol=ETHUSD for
ETHUSD. With DLCFD_PRICEFEED_CONTROL_TOKEN set (at least 16 characters) other hosts may use it too,
sending Authorization: Bearer <token> (a deployment's scenario runner).
`;

/** The `pricefeed` subcommand. */
export const pricefeedCommand: Subcommand = servingSubcommand({
  name: 'pricefeed',
  summary: 'local price feed speaking the BitMEX realtime protocol (testnet, tests)',
  usage: USAGE,
  options: {
    port: { type: 'string' },
    host: { type: 'string' },
    'start-price': { type: 'string' },
    seed: { type: 'string' },
    'tick-ms': { type: 'string' },
    volatility: { type: 'string' },
    drift: { type: 'string' },
    spread: { type: 'string' },
    csv: { type: 'string' },
    loop: { type: 'boolean' },
  },
  usageErrors: [InvalidPricePathError],
  async start(values, logger) {
    if (values.csv !== undefined && values['start-price'] !== undefined) {
      throw new UsageError('--csv starts at its first price; drop --start-price');
    }
    if (values.loop && values.csv === undefined) throw new UsageError('--loop needs --csv');
    const options: PriceFeedServerOptions = { logger };
    if (values.port !== undefined) options.port = integerFlag(values.port, '--port', 65535);
    if (values.host !== undefined) options.host = values.host;
    if (values['start-price'] !== undefined) {
      options.startPrice = flag('--start-price', () => parsePrice(values['start-price']!));
    }
    if (values.seed !== undefined) options.seed = integerFlag(values.seed, '--seed');
    if (values['tick-ms'] !== undefined)
      options.tickMs = integerFlag(values['tick-ms'], '--tick-ms');
    if (values.volatility !== undefined) options.volatility = values.volatility;
    if (values.drift !== undefined) options.drift = values.drift;
    if (values.spread !== undefined) {
      options.spread = flag('--spread', () => parsePrice(values.spread!));
    }
    // A secret: from the environment, not argv (which `ps` shows to every user).
    const token = process.env.DLCFD_PRICEFEED_CONTROL_TOKEN;
    if (token) options.controlToken = token;
    if (values.csv !== undefined) {
      options.csv = await readFile(values.csv, 'utf8');
      options.loop = values.loop ?? false;
    }

    // A bad --csv is an InvalidPricePathError: a usage error.
    const server = await PriceFeedServer.start(options);
    logger.info({ url: server.url, controlUrl: server.controlUrl }, 'price feed serving');
    const lines = [`ws-url ${server.url}`, `control-url ${server.controlUrl}`];
    return { lines, stop: () => server.stop() };
  },
});
