// Runs the real `dlcfd` binary (tests, the testnet script): one-shot commands, and serving
// subcommands that print `<key> <value>` ready lines and stop on a signal.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
export const DLCFD_BIN = join(root, 'bin/dlcfd.js');
/** dlcfd runs on Node ≥ 24 (type stripping); the pinned one is the `node` dev dependency. */
export const NODE_BIN =
  Number(process.versions.node.split('.')[0]) >= 24
    ? process.execPath
    : join(root, 'node_modules/.bin/node');

const run = promisify(execFile);

/** Runs `dlcfd …` to completion. */
export function dlcfd(
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  return runScript(DLCFD_BIN, ...args);
}

/** Runs a script of this repository on the pinned Node to completion (e.g. its usage paths). */
export function runScript(
  file: string,
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  return runUnder([], file, args);
}

/**
 * Runs a script on the pinned Node under a command `prefix` (e.g. `ip netns exec ns1`), with
 * `env` added to the environment, to completion (60 s at most).
 */
export async function runUnder(
  prefix: readonly string[],
  file: string,
  args: readonly string[],
  env?: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const [command, ...prefixArgs] = [...prefix, NODE_BIN];
  try {
    const { stdout, stderr } = await run(command!, [...prefixArgs, file, ...args], {
      timeout: prefix.length > 0 ? 60_000 : 15_000,
      ...(env && { env: { ...process.env, ...env } }),
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/** How long a signalled dlcfd may take to stop before it is killed (and its stop reported hung). */
export const STOP_GRACE_MS = 15_000;

export interface RunningDlcfd {
  readonly child: ChildProcess;
  /** The ready lines, `key → value`. */
  readonly ready: Map<string, string>;
  readonly exited: Promise<number | null>;
  /** Sends `signal` (SIGKILL after {@link STOP_GRACE_MS}) and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export interface StartOptions {
  logLevel?: string;
  onStderr?: (chunk: Buffer) => void;
  /** Added to this process's environment (e.g. a `DLCFD_UI_PASSWORD` kept out of `ps`). */
  env?: Record<string, string>;
  /**
   * A command the process runs under, e.g. `['ip', 'netns', 'exec', 'ns1']` (which execs the
   * rest, so the child's pid and signals are the process's own).
   */
  prefix?: readonly string[];
}

/**
 * Starts `dlcfd <subcommand> --log-level silent …args` and resolves once it has printed the
 * ready line `lastKey …` (with every ready line before it).
 */
export function startDlcfd(
  subcommand: string,
  args: readonly string[],
  lastKey: string,
  timeoutMs = 15_000,
  options: StartOptions = {},
): Promise<RunningDlcfd> {
  return startReady(
    DLCFD_BIN,
    [subcommand, '--log-level', options.logLevel ?? 'silent', ...args],
    lastKey,
    timeoutMs,
    options,
  );
}

/**
 * Starts a script of this repository on the pinned Node that prints `<key> <value>` ready lines
 * (as dlcfd's serving subcommands do) and resolves once it has printed `lastKey …`.
 */
export async function startReady(
  script: string,
  args: readonly string[],
  lastKey: string,
  timeoutMs = 15_000,
  options: StartOptions = {},
): Promise<RunningDlcfd> {
  const [command, ...prefixArgs] = [...(options.prefix ?? []), NODE_BIN];
  const child = spawn(command!, [...prefixArgs, script, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(options.env && { env: { ...process.env, ...options.env } }),
  });
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  let out = '';
  let err = '';
  child.stderr?.on('data', (d: Buffer) => {
    if (err.length < 64 * 1024) err += d.toString();
    options.onStderr?.(d);
  });
  const last = new RegExp(`^${lastKey} \\S+$`, 'm');
  const ready = await new Promise<Map<string, string>>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ready lines; stderr: ${err}`)), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited ${code}; stderr: ${err}`));
    });
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      if (last.test(out)) {
        clearTimeout(timer);
        resolve(
          new Map(
            out
              .trim()
              .split('\n')
              .map((l) => l.split(' ', 2) as [string, string]),
          ),
        );
      }
    });
  });
  const stop = async (signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> => {
    if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
    const done = once(child, 'exit');
    child.kill(signal);
    // A clean stop closes libp2p, the adaptor workers and LevelDB: well under a second on a quiet
    // machine, but seen past 5 s on a loaded 2-core CI machine. Past this it counts as hung.
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
    const [code] = (await done) as [number | null];
    clearTimeout(timer);
    return code;
  };
  return { child, ready, exited, stop };
}
