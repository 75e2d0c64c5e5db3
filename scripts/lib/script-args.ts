// The command line of an `npm run <name>` script: its flags, `--help`, and usage errors (one line
// and the usage on stderr, exit 2).
import { type ParseArgsOptionsConfig, parseArgs } from 'node:util';
import { parseArgsProblem } from '../../node/cli-support.ts';

/** Parses `process.argv` by `options` (plus `-h/--help`, which prints `usage` and exits 0). */
export function scriptArgs<const O extends ParseArgsOptionsConfig>(
  name: string,
  usage: string,
  options: O,
) {
  const fail = (message: string): never => {
    process.stderr.write(`npm run ${name}: ${message}\n\n${usage}`);
    process.exit(2);
  };
  const all = { ...options, help: { type: 'boolean', short: 'h' } } as O & {
    help: { type: 'boolean'; short: 'h' };
  };
  const parse = () => parseArgs({ options: all });
  let values: ReturnType<typeof parse>['values'];
  try {
    ({ values } = parse());
  } catch (err) {
    return fail(parseArgsProblem(err) ?? (err as Error).message);
  }
  if ((values as { help?: boolean }).help) {
    process.stdout.write(usage);
    process.exit(0);
  }
  return { values, fail };
}
