/**
 * The wallet's BIP39 mnemonic, created on first start in the data dir with mode 0600 and read
 * back on every start. It is the only backup a user needs.
 */
import { constants } from 'node:fs';
import { mkdir, open, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { generateMnemonic, mnemonicToSeedSync, validateMnemonic } from '@scure/bip39';
import { wordlist } from '@scure/bip39/wordlists/english.js';
import { MNEMONIC_FILE } from './constants.ts';
import { MnemonicFileError } from './errors.ts';

export interface LoadedMnemonic {
  readonly mnemonic: string;
  readonly seed: Uint8Array;
  /** True if this call created the file. */
  readonly created: boolean;
  readonly path: string;
}

/** Reads `<dir>/wallet.mnemonic`, creating it (24 words, 0600, fsync'd) if it does not exist. */
export async function loadOrCreateMnemonic(dir: string): Promise<LoadedMnemonic> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, MNEMONIC_FILE);
  let created = false;
  try {
    const words = generateMnemonic(wordlist, 256);
    const fh = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
    try {
      await fh.writeFile(`${words}\n`);
      await fh.sync();
    } finally {
      await fh.close();
    }
    created = true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const mode = (await stat(path)).mode & 0o777;
  if (mode & 0o077) {
    throw new MnemonicFileError(
      `${path} is readable by others (mode ${mode.toString(8)}); run chmod 600 on it`,
    );
  }
  const mnemonic = (await readFile(path, 'utf8')).trim().split(/\s+/).join(' ');
  if (!validateMnemonic(mnemonic, wordlist)) {
    throw new MnemonicFileError(`${path} does not hold a valid BIP39 mnemonic`);
  }
  return { mnemonic, seed: mnemonicToSeedSync(mnemonic), created, path };
}
