import type { Subcommand } from '../cli.ts';
import { integerFlag, servingSubcommand, UsageError } from '../cli-support.ts';
import { secureDataDir } from '../runtime/datadir.ts';
import { DEFAULT_EVENT_INTERVAL_S, DEFAULT_LOOKAHEAD_S } from './constants.ts';
import { InvalidOracleOptionsError } from './errors.ts';
import { OracleServer, type OracleServerOptions } from './server.ts';

const USAGE = `usage: dlcfd oracle --datadir <dir> [--pricefeed <ws url>] [--port <port>] [--listen <ip>]
                    [--event-interval <seconds>] [--lookahead <seconds>]
                    [--max-quote-age <seconds>] [--max-attest-delay <seconds>] [--log-level <level>]
                    [--allow-insecure-datadir]

Serves olivia's HTTP API (GET /, GET /x/BitMEX/<BXBT|BETH>/<YYYY-MM-DDTHH:MM:SS>.price?n=20) for
BitMEX BXBT (from XBTUSD quotes) and BETH (from ETHUSD quotes) price events every --event-interval
seconds (default ${DEFAULT_EVENT_INTERVAL_S}), announced
--lookahead seconds ahead (default ${DEFAULT_LOOKAHEAD_S}, 26 h) and attested at their time from the
mid of the latest quote of --pricefeed (default BitMEX mainnet), in whole dollars rounded half up.
A quote older than --max-quote-age (default 15) is never attested; an event without a fresh quote
within --max-attest-delay (default 600) is given up.

Keys and nonces derive from <datadir>/oracle.seed (created 0600 on first start); attested outcomes
are kept in <datadir>/oracle-outcomes.jsonl and never change. --port 0 (default) picks a free port;
--listen defaults to 127.0.0.1 (loopback).

Fault injection (research runs): with DLCFD_ORACLE_CONTROL_TOKEN set (at least 16 characters),
GET <url>/control and POST <url>/control {"silent": true|false, "attestDelaySecs": <n>} silence or
delay attestations, for requests with Authorization: Bearer <token> (loopback ones too); without
the token the control endpoint is off.

<datadir> is created 0700 and everything in it 0600 (umask 077). If group or other users may
access it or anything in it, the oracle refuses to start (and prints the chmod that fixes it)
unless --allow-insecure-datadir is given.
`;

/** The `oracle` subcommand. */
export const oracleCommand: Subcommand = servingSubcommand({
  name: 'oracle',
  summary: 'olivia-compatible price oracle (announces and attests BitMEX BXBT and BETH events)',
  usage: USAGE,
  options: {
    datadir: { type: 'string' },
    pricefeed: { type: 'string' },
    port: { type: 'string' },
    listen: { type: 'string' },
    'event-interval': { type: 'string' },
    lookahead: { type: 'string' },
    'max-quote-age': { type: 'string' },
    'max-attest-delay': { type: 'string' },
    'allow-insecure-datadir': { type: 'boolean' },
  },
  usageErrors: [InvalidOracleOptionsError],
  async start(values, logger) {
    if (values.datadir === undefined) throw new UsageError('--datadir is required');
    const options: OracleServerOptions = { datadir: values.datadir, logger };
    if (values.pricefeed !== undefined) {
      if (!/^wss?:\/\//.test(values.pricefeed)) {
        throw new UsageError(
          `--pricefeed must be a ws:// or wss:// URL, got '${values.pricefeed}'`,
        );
      }
      options.pricefeedUrl = values.pricefeed;
    }
    if (values.port !== undefined) options.port = integerFlag(values.port, '--port', 65535);
    if (values.listen !== undefined) options.host = values.listen;
    if (values['event-interval'] !== undefined) {
      options.eventIntervalS = integerFlag(
        values['event-interval'],
        '--event-interval',
        undefined,
        1,
      );
    }
    if (values.lookahead !== undefined) {
      options.lookaheadS = integerFlag(values.lookahead, '--lookahead');
    }
    if (values['max-quote-age'] !== undefined) {
      options.maxQuoteAgeMs =
        integerFlag(values['max-quote-age'], '--max-quote-age', undefined, 1) * 1000;
    }
    if (values['max-attest-delay'] !== undefined) {
      options.maxAttestDelayS = integerFlag(
        values['max-attest-delay'],
        '--max-attest-delay',
        undefined,
        1,
      );
    }
    // A secret: from the environment, not argv (which `ps` shows to every user).
    const token = process.env.DLCFD_ORACLE_CONTROL_TOKEN;
    if (token) options.controlToken = token;

    // The seed derives every attestation key: umask 077, datadir 0700, refuse one open to others.
    await secureDataDir(values.datadir, {
      allowInsecure: values['allow-insecure-datadir'] === true,
      logger,
    });
    const oracle = await OracleServer.start(options);
    const lines = [
      `url ${oracle.url}`,
      `public-key ${oracle.publicKey}`,
      ...(token ? [`control-url ${oracle.url}/control`] : []),
      // Last: scripts wait for it.
      `announcement-key ${oracle.announcementPublicKey}`,
    ];
    return { lines, stop: () => oracle.stop() };
  },
});
