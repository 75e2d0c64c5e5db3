import { chainCommand } from './chain/cli.ts';
import { makerCommand, takerCommand } from './daemon/cli.ts';
import { oracleCommand } from './oracle/cli.ts';
import { pricefeedCommand } from './pricefeed/cli.ts';
import { VERSION } from './version.ts';

export interface Subcommand {
  /** One line for `dlcfd --help`. */
  readonly summary: string;
  /** Runs the subcommand with the arguments after its name; resolves to the exit code. */
  run(argv: readonly string[]): Promise<number>;
}

/** Every subcommand. */
export const subcommands: Record<string, Subcommand> = {
  taker: takerCommand,
  maker: makerCommand,
  chain: chainCommand,
  oracle: oracleCommand,
  pricefeed: pricefeedCommand,
};

function usage(): string {
  const names = Object.keys(subcommands);
  const list = names.length
    ? names.map((n) => `  ${n.padEnd(12)}${subcommands[n]?.summary}`).join('\n')
    : '  (none yet: taker, maker, oracle, pricefeed and chain arrive with their issues)';
  return `dlcfd ${VERSION}: peer-to-peer CFDs on Bitcoin, secured by DLCs

usage: dlcfd <subcommand> [options]
       dlcfd --help | --version

subcommands:
${list}
`;
}

/** Entry point; returns the process exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
    process.stdout.write(usage());
    return first === undefined ? 2 : 0;
  }
  if (first === '--version' || first === '-v') {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  const sub = subcommands[first];
  if (!sub) {
    process.stderr.write(`dlcfd: unknown subcommand '${first}'\n\n${usage()}`);
    return 2;
  }
  return sub.run(rest);
}
