/** Named errors of the runtime. */
import { NamedError } from '../../model/named-error.ts';

export class RuntimeError extends NamedError {}

/**
 * The component a message was sent to is stopped (or stopping). Callers handle it like any other
 * failed request: report it, retry later, or give up. It never crashes the sender.
 */
export class DisconnectedError extends RuntimeError {
  readonly component: string;
  constructor(component: string) {
    super(`${component} is not running`);
    this.component = component;
  }
}

/**
 * A data directory, or something in it, lets its group or other users in: they could read the
 * node's secret keys (CFD identity, publish and revocation keys, the wallet seed, RPC passwords).
 * The node refuses to start on it unless told `--allow-insecure-datadir`.
 */
export class InsecureDataDirError extends RuntimeError {
  /** The data directory checked. */
  readonly dataDir: string;
  /** The first offending path and its permission bits. */
  readonly path: string;
  readonly mode: number;
  /** Every offending path found (the first {@link MAX_REPORTED} are named in the message). */
  readonly insecure: readonly { readonly path: string; readonly mode: number }[];
  constructor(dataDir: string, insecure: readonly { path: string; mode: number }[]) {
    const first = insecure[0]!;
    const named = insecure
      .slice(0, MAX_REPORTED)
      .map((e) => `${e.path} (mode ${octal(e.mode)})`)
      .join(', ');
    const more =
      insecure.length > MAX_REPORTED ? ` and ${insecure.length - MAX_REPORTED} more` : '';
    super(
      `insecure data directory ${dataDir}: group or other users have access to ${named}${more}; ` +
        `it holds the node's secret keys. Fix it with: chmod -R go-rwx ${shellQuote(dataDir)} ` +
        '(or start with --allow-insecure-datadir to run anyway)',
    );
    this.dataDir = dataDir;
    this.path = first.path;
    this.mode = first.mode;
    this.insecure = insecure;
  }
}

const MAX_REPORTED = 3;

function octal(mode: number): string {
  return `0${(mode & 0o7777).toString(8).padStart(3, '0')}`;
}

/** `s` as one POSIX shell word (quoted only when it needs to be). */
function shellQuote(s: string): string {
  return /^[\w./:@%+=,-]+$/.test(s) ? s : `'${s.replaceAll("'", `'\\''`)}'`;
}
