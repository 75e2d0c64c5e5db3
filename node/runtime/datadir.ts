/**
 * A data directory only its owner can enter. The node keeps secret keys on disk (each contract
 * record in `<datadir>/events` holds that CFD's identity, publish and revocation keys; the wallet
 * seed; the p2p identity; RPC passwords in `dlcfd.json`), and LevelDB creates its files with
 * whatever the process umask allows — 0644 under the common umask 022. So, before anything is
 * created, {@link secureDataDir}:
 *
 * 1. sets the process umask to 0077: every directory the node (or LevelDB, bcoin…) creates from
 *    then on is 0700 and every file 0600, whatever mode the code asked for;
 * 2. creates the data directory (0700) if it does not exist;
 * 3. checks the directory and everything in it, recursively, and refuses with
 *    {@link InsecureDataDirError} if group or other have any permission bit on any of them
 *    (a data directory written by an earlier version, or loosened by hand). The message names the
 *    paths and modes, and the command that fixes it: `chmod -R go-rwx <datadir>`.
 *    `allowInsecure` (the `--allow-insecure-datadir` flag) logs a warning and goes on instead;
 *    `fix` tightens them (chmod go-rwx) instead of refusing.
 *
 * Symbolic links: the data directory itself may be one (it is resolved, and its target checked);
 * a link inside it is skipped, neither followed nor refused. Its own mode bits mean nothing on
 * Linux, and what it points at (e.g. bitcoind's `.cookie`, a shared disk) is outside the node's
 * data; whoever links a secret there keeps its target private. A link cannot appear inside a
 * 0700 directory without its owner's doing.
 */
import { lstat, mkdir, readdir, chmod as setMode, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { InsecureDataDirError } from './errors.ts';

/** Group and other get nothing on what the node creates. */
export const PRIVATE_UMASK = 0o077;
/** Permission bits that must be clear on everything in a data directory. */
const GROUP_OTHER = 0o077;

export interface SecureDataDirOptions {
  /** Warn (through `logger`) instead of refusing. The `--allow-insecure-datadir` flag. */
  readonly allowInsecure?: boolean;
  /** Remove group and other bits from what is too open instead of refusing. @default false */
  readonly fix?: boolean;
  readonly logger?: Pick<Logger, 'warn'>;
}

/** What {@link secureDataDir} found too open (and left as it was, unless `fix`). */
export interface DataDirReport {
  readonly insecure: readonly { readonly path: string; readonly mode: number }[];
  /** True if this call created the directory. */
  readonly created: boolean;
}

/**
 * Restricts the umask (0077), then creates (0700) or checks `path` and everything in it. Throws
 * {@link InsecureDataDirError} if group or other may access any of it, unless `allowInsecure` or
 * `fix` is given.
 */
export async function secureDataDir(
  path: string,
  options: SecureDataDirOptions = {},
): Promise<DataDirReport> {
  restrictUmask();
  let created = false;
  try {
    const s = await stat(path);
    if (!s.isDirectory()) throw new Error(`data directory ${path} is not a directory`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    await mkdir(path, { recursive: true, mode: 0o700 });
    created = true;
  }
  const insecure: { path: string; mode: number }[] = [];
  const root = await stat(path); // follows a data directory that is itself a link
  if (root.mode & GROUP_OTHER) insecure.push({ path, mode: root.mode & 0o7777 });
  await walk(path, insecure);
  if (insecure.length > 0) {
    if (options.fix) {
      for (const e of insecure) await setMode(e.path, e.mode & ~GROUP_OTHER);
    } else if (options.allowInsecure) {
      options.logger?.warn(
        { dataDir: path, insecure: insecure.slice(0, 20).map((e) => `${e.path} ${octal(e.mode)}`) },
        'data directory is readable by group or other users (--allow-insecure-datadir)',
      );
    } else {
      throw new InsecureDataDirError(path, insecure);
    }
  }
  return { insecure, created };
}

/** Sets the process umask to {@link PRIVATE_UMASK} (or stricter: bits already masked stay). */
export function restrictUmask(): void {
  const previous = process.umask(PRIVATE_UMASK);
  if ((previous | PRIVATE_UMASK) !== PRIVATE_UMASK) process.umask(previous | PRIVATE_UMASK);
}

async function walk(dir: string, out: { path: string; mode: number }[]): Promise<void> {
  for (const name of await readdir(dir)) {
    const p = join(dir, name);
    let s: Awaited<ReturnType<typeof lstat>>;
    try {
      s = await lstat(p);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // removed meanwhile
      throw err;
    }
    if (s.isSymbolicLink()) continue;
    if (s.mode & GROUP_OTHER) out.push({ path: p, mode: s.mode & 0o7777 });
    if (s.isDirectory()) await walk(p, out);
  }
}

function octal(mode: number): string {
  return `0${mode.toString(8).padStart(3, '0')}`;
}
