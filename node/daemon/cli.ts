/**
 * `dlcfd taker` and `dlcfd maker`: run a node. Configuration from flags, `DLCFD_*` environment
 * variables and `<datadir>/dlcfd.json` (or `--config FILE`), in that order of precedence.
 *
 * Ready lines on stdout: `peer-id <id>`, `multiaddr <addr>` (maker, one per address),
 * `ui-url <url>`, `ui-password <password>` (first start only, unless configured),
 * `datadir <dir>`. Logs go to stderr. SIGTERM or SIGINT stops the node cleanly (exit 0).
 */
import { parseArgs } from 'node:util';
import {
  DEFAULT_MAX_FUNDING_RATE,
  DEFAULT_MAX_OPENING_FEE_BPS,
  DEFAULT_MAX_TX_FEE_RATE,
} from '../../model/limits.ts';
import { formatFundingRate } from '../../model/units.ts';
import { checkUiHost, UnsafeListenError } from '../../ui-server/listen.ts';
import { BUILT_UI_DIR, startUiServer, type UiServer } from '../../ui-server/server.ts';
import type { Subcommand } from '../cli.ts';
import { runSubcommand, stderrLogger, UsageError, untilStopSignal } from '../cli-support.ts';
import {
  BOOLEAN_FLAGS,
  ConfigError,
  type DaemonConfig,
  FLAGS,
  loadConfig,
  type Role,
} from './config.ts';
import { Daemon } from './daemon.ts';

/** The taker's limits (model/limits.ts): what it accepts from its maker. */
const TAKER_LIMITS_USAGE = `  --max-funding-rate R          refuse offers and rollovers whose funding rate per settlement
                                interval is beyond ±R (default ${formatFundingRate(DEFAULT_MAX_FUNDING_RATE)})
  --max-opening-fee-bps B       refuse orders whose opening fee is above B bps of the margin
                                (default ${DEFAULT_MAX_OPENING_FEE_BPS}: 1 %)
  --max-tx-fee-rate F           refuse offers and rollovers above F sat/vB (default ${DEFAULT_MAX_TX_FEE_RATE})
                                (all three change live: PUT /api/taker/limits)
`;

const MAKER_FLAGS = `  --auto-accept                 accept valid orders and settlements without asking
  --spread BPS                  offers follow the feed at this spread
  --products LIST               products offered, e.g. BTCUSD,ETHUSD (default BTCUSD)
  admission (orders over a limit are refused with the reason, before anything is written,
  reserved or signed):
  --max-setups-per-peer N       contract setups one peer may run at once (default 2)
  --max-setups N                contract setups at once, all peers (default 32)
  --max-decisions-per-peer N    orders of one peer awaiting your decision (default 1)
  --max-decisions N             orders awaiting your decision, all peers (default 8)
  --max-connections N           open libp2p connections (default 256)
  --max-pending-connections N   inbound connections still handshaking (default 10)
  --max-connections-per-host-per-second N   new connections per second from one host (default 5)
  coin pool (funds kept split so setups at the same time do not wait for each other's coins):
  --coin-pool-count N           coins to keep (default 32, one per admitted setup; 0: off)
  --coin-pool-value SATS        sats per coin (default: margin of the largest offer plus fees)
`;

const usage = (role: Role): string => `usage: dlcfd ${role} --datadir DIR [options]

  --datadir DIR                 where the node keeps its keys, wallet and database (required);
                                created 0700, everything in it 0600 (umask 077)
  --allow-insecure-datadir      start even if group or other users may access DIR or anything in
                                it (default: refuse, and print the chmod that fixes it)
  --config FILE                 JSON config file (default: DIR/dlcfd.json if present)
  --network mainnet|testnet|regtest
  --chain-rpc URL               Bitcoin Core JSON-RPC (or dlcfd chain); with --chain-user and
  --chain-user U --chain-password W | --chain-cookie-file F
  --oracle URL --oracle-public-key HEX --oracle-announcement-key HEX
                                the oracle (https unless loopback) and its pinned keys; the
                                announcement key may be left out on regtest only
  --pricefeed URL               BitMEX realtime websocket (default: BitMEX for the network)
  --max-quote-age SECS          a quote older than this, by its own timestamp, is stale (default 75: BitMEX
                                sends one quote bin a minute)
  ${role === 'maker' ? '--listen MULTIADDR            where takers reach this maker (repeatable)' : '--maker MULTIADDR/p2p/ID       the maker to trade with (repeatable)'}
  --bootstrap MULTIADDR/p2p/ID  a node (usually a maker) to join the offer gossip through: a taker
                                then dials every maker announced there (repeatable)
  --announce-interval S         maker: re-announce its offers every S s (default 60)
  --maker-timeout S             a maker not heard for S s leaves the book (default 180)
  --muxer yamux|mplex           stream multiplexer (default yamux)
  --block PEER_ID               refuse this peer in both directions (repeatable)
  --ui-host H --ui-port P       where the UI is served (default 127.0.0.1:8000); loopback only
  --unsafe-listen               allow a --ui-host that is not loopback. The UI is plain HTTP: put
                                a TLS-terminating reverse proxy in front of it
  --ui-allowed-host NAME[:PORT] another name the UI answers to (a proxy's, a LAN name;
                                repeatable); other Host headers and cross-origin changes are refused
  --ui-password W               the UI password (default: generated on first start, printed once)
  --explorer-url URL            txid links, {txid} replaced (default: mempool.space; none on regtest)
  --settlement-interval S --rollover-interval S --oracle-event-interval S
  --cet-timelock BLOCKS --refund-timelock BLOCKS --offer-max-age S
  --protocol-timeout-ms MS --chain-poll-ms MS
  --signed-close-window S       taker: a close we signed must be on chain this soon, else we
                                force-close (default 60)
  fees (rates from the chain's estimatesmartfee, floored at its mempool minimum):
  --fee-target BLOCKS           confirmation target of lock, commit and close rates (default 3)
  --max-fee-rate F              never pay more than F sat/vB, bumps included (default 500)
  --fallback-fee-rate F         rate while the chain has no estimate (default 1)
  --bump-budget SATS            most sats spent bumping one CFD's transactions (default 100000)
  --confirm-within BLOCKS       a commit or close we publish is bumped to confirm this soon
                                (default 6); a punish and a CET have their own deadlines
${role === 'maker' ? MAKER_FLAGS : TAKER_LIMITS_USAGE}  --log-level LEVEL             fatal … trace, silent (default info)

Every flag also reads from DLCFD_<FLAG> (e.g. DLCFD_CHAIN_RPC). A service that is down does not
stop the node: it starts degraded and reports health until the service returns.
`;

/**
 * A node's configuration from its command line and `env` (flags, `DLCFD_*`, the config file),
 * checked as a start checks it — before anything starts. A usage mistake throws UsageError.
 */
export async function nodeConfigFromArgs(
  role: Role,
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
): Promise<DaemonConfig> {
  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean }> = {
    config: { type: 'string' },
  };
  for (const flag of Object.keys(FLAGS)) {
    options[flag] = BOOLEAN_FLAGS.has(flag)
      ? { type: 'boolean' }
      : {
          type: 'string',
          ...(flag === 'listen' ||
          flag === 'maker' ||
          flag === 'bootstrap' ||
          flag === 'block' ||
          flag === 'ui-allowed-host'
            ? { multiple: true }
            : {}),
        };
  }
  const { values, positionals } = parseArgs({
    args: [...argv],
    options,
    strict: true,
    allowPositionals: true,
  });
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  let config: Awaited<ReturnType<typeof loadConfig>>;
  try {
    config = await loadConfig({
      role,
      flags: values as Record<string, string | string[] | boolean>,
      env,
      ...(typeof values.config === 'string' ? { configFile: values.config } : {}),
    });
  } catch (err) {
    if (err instanceof ConfigError) throw new UsageError(err.message);
    throw err;
  }
  // Before anything starts: a UI that would be refused must not leave a node half up.
  try {
    checkUiHost(config.ui.host, config.ui.unsafeListen);
  } catch (err) {
    if (err instanceof UnsafeListenError) throw new UsageError(`${err.name}: ${err.message}`);
    throw err;
  }
  return config;
}

function command(role: Role): Subcommand {
  return {
    summary:
      role === 'taker'
        ? 'run a taker node (takes offers, keeps positions open)'
        : 'run a maker node (publishes offers, accepts orders)',
    run(argv) {
      return runSubcommand(
        role,
        usage(role),
        async () => {
          const config = await nodeConfigFromArgs(role, argv, process.env);
          const logger = stderrLogger(config.logLevel);
          const daemon = await Daemon.start(config, { logger });
          let ui: UiServer;
          try {
            ui = await startUiServer(daemon, {
              host: config.ui.host,
              port: config.ui.port,
              logger: logger.child({ component: 'ui' }),
              staticDir: BUILT_UI_DIR,
              unsafeListen: config.ui.unsafeListen,
              allowedHosts: config.ui.allowedHosts,
              ...(config.ui.password !== undefined ? { password: config.ui.password } : {}),
            });
          } catch (err) {
            await daemon.stop();
            throw new Error(
              `cannot serve the UI on ${config.ui.host}:${config.ui.port}: ${(err as Error).message}`,
            );
          }
          const lines = [`peer-id ${daemon.peerId}`];
          for (const a of daemon.p2p.getMultiaddrs()) lines.push(`multiaddr ${a.toString()}`);
          lines.push(`ui-url ${ui.url}`);
          if (ui.initialPassword) lines.push(`ui-password ${ui.initialPassword}`);
          lines.push(`datadir ${config.datadir}`);
          // Listen for the stop signal before saying we are ready: a caller may signal at once.
          const stopped = untilStopSignal(logger);
          process.stdout.write(`${lines.join('\n')}\n`);
          await stopped;
          await ui.close();
          await daemon.stop();
          return 0;
        },
        argv,
      );
    },
  };
}

export const takerCommand = command('taker');
export const makerCommand = command('maker');
