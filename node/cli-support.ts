/**
 * What every `dlcfd` subcommand does the same way: usage errors exit 2 with the usage text, other
 * failures exit 1 with the message, and a serving subcommand runs until SIGTERM or SIGINT.
 */

import { type ParseArgsOptionsConfig, parseArgs } from 'node:util';
import { type Logger, pino } from 'pino';
import { NamedError } from '../model/named-error.ts';
import { InsecureDataDirError } from './runtime/errors.ts';

/** A bad flag or value: printed with the usage text, exit code 2. */
export class UsageError extends NamedError {}

const PARSE_ARGS_CODES = new Set([
  'ERR_PARSE_ARGS_UNKNOWN_OPTION',
  'ERR_PARSE_ARGS_INVALID_OPTION_VALUE',
  'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL',
]);

/**
 * The one line to print for a `node:util` parseArgs error, or undefined if `err` is not one.
 * Node's own text for an unknown option goes on about placing positionals after `--`, which no
 * dlcfd command (nor the testnet script) takes: it is cut to `unknown option '--x'`.
 */
export function parseArgsProblem(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || !PARSE_ARGS_CODES.has(code)) return undefined;
  const message = (err as Error).message;
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const option = /^Unknown option '([^']*)'/.exec(message)?.[1];
    if (option !== undefined) return `unknown option '${option}'`;
  }
  return message;
}

/** Whether `argv` asks for help: `--help` or `-h` anywhere before a `--`. */
export function wantsHelp(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end === -1 ? argv : argv.slice(0, end)).some((a) => a === '--help' || a === '-h');
}

/**
 * Runs a subcommand body, turning its failures into the exit code and a message on stderr:
 * `--help` or `-h` anywhere prints `usage` (exit 0), a usage error one line and `usage` (exit 2).
 */
export async function runSubcommand(
  name: string,
  usage: string,
  body: () => Promise<number>,
  argv: readonly string[] = [],
): Promise<number> {
  if (wantsHelp(argv)) {
    process.stdout.write(usage);
    return 0;
  }
  try {
    return await body();
  } catch (err) {
    const problem = err instanceof UsageError ? err.message : parseArgsProblem(err);
    if (problem !== undefined) {
      process.stderr.write(`dlcfd ${name}: ${problem}\n\n${usage}`);
      return 2;
    }
    // A refusal to start that the user must act on is named, so it can be looked up.
    const prefix = err instanceof InsecureDataDirError ? `${err.name}: ` : '';
    process.stderr.write(`dlcfd ${name}: ${prefix}${(err as Error).message}\n`);
    return 1;
  }
}

/** The flags of `argv` as `options` declares them; a positional argument is a {@link UsageError}. */
export function parseFlags<const O extends ParseArgsOptionsConfig>(
  argv: readonly string[],
  options: O,
) {
  const { values, positionals } = parseArgs({ args: [...argv], options, allowPositionals: true });
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  return values;
}

/** The values of flags `O` as {@link parseFlags} gives them. */
export type FlagValues<O extends ParseArgsOptionsConfig> = ReturnType<typeof parseFlags<O>>;

/** A running server, as a serving subcommand's `start` gives it. */
export interface Serving {
  /** The `key value` lines printed on stdout once it is ready, for scripts to read. */
  readonly lines: readonly string[];
  stop(): Promise<void>;
}

/** A subcommand that runs a server until SIGTERM or SIGINT (see {@link servingSubcommand}). */
export interface ServingSpec<O extends ParseArgsOptionsConfig> {
  readonly name: string;
  /** One line for `dlcfd --help`. */
  readonly summary: string;
  readonly usage: string;
  /** Its flags besides `--log-level`, which every serving subcommand has. */
  readonly options: O;
  /** The server's own errors that mean a bad flag: exit 2 with the usage, as a {@link UsageError}. */
  readonly usageErrors?: readonly (new (
    ...args: never[]
  ) => Error)[];
  /** Other subcommands by their first argument (`chain fund …`), each resolving to the exit code. */
  readonly others?: Readonly<Record<string, (argv: readonly string[]) => Promise<number>>>;
  /** Checks the flags and starts the server (logging to `logger`). */
  start(values: FlagValues<O>, logger: Logger): Promise<Serving>;
}

/**
 * A serving subcommand: `--help`, its flags, a stderr logger at `--log-level`, the server
 * started; then the ready lines on stdout (after listening for the stop signal: a caller may
 * signal as soon as they appear), and on SIGTERM or SIGINT the server stopped, exit 0.
 */
export function servingSubcommand<const O extends ParseArgsOptionsConfig>(
  spec: ServingSpec<O>,
): { readonly summary: string; run(argv: readonly string[]): Promise<number> } {
  const { name, usage } = spec;
  const serve = async (argv: readonly string[]): Promise<number> => {
    const [first, ...rest] = argv;
    const others = spec.others ?? {};
    if (first !== undefined && Object.hasOwn(others, first)) return others[first]!(rest);
    const logLevel = { 'log-level': { type: 'string' } } as const;
    // O's values plus the log level (TypeScript cannot spell the spread of a generic O).
    const values = parseFlags(argv, { ...spec.options, ...logLevel }) as FlagValues<O> &
      FlagValues<typeof logLevel>;
    const logger = stderrLogger(values['log-level'] ?? 'info');
    let server: Serving;
    try {
      server = await spec.start(values, logger);
    } catch (err) {
      if (spec.usageErrors?.some((E) => err instanceof E))
        throw new UsageError((err as Error).message);
      throw err;
    }
    const stopped = untilStopSignal(logger);
    process.stdout.write(`${server.lines.join('\n')}\n`);
    await stopped;
    await server.stop();
    return 0;
  };
  return {
    summary: spec.summary,
    run: (argv) => runSubcommand(name, usage, () => serve(argv), argv),
  };
}

/** Parses a flag's value with `parse`, reporting a failure as a {@link UsageError}. */
export function flag<T>(what: string, parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    throw new UsageError(`${what}: ${(err as Error).message}`);
  }
}

/**
 * Resolves on the first SIGTERM or SIGINT, with the signal's name. Call it before printing the
 * ready lines, so a signal sent as soon as they appear is caught.
 */
export function untilStopSignal(logger?: Logger): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      logger?.info({ signal }, 'stopping');
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolve(signal);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}

/** A whole-number flag value in `[min, max]`, or a {@link UsageError} naming the flag. */
export function integerFlag(
  text: string,
  what: string,
  max = Number.MAX_SAFE_INTEGER,
  min = 0,
): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n > max || n < min) {
    throw new UsageError(`${what} must be a whole number from ${min} to ${max}, got '${text}'`);
  }
  return n;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** A pino logger writing JSON lines to stderr, so stdout keeps only the ready lines. */
export function stderrLogger(level: string): Logger {
  if (!LOG_LEVELS.includes(level)) {
    throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(', ')}`);
  }
  return pino({ level }, pino.destination({ dest: 2, sync: true }));
}
