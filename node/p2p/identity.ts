/**
 * The node's libp2p identity: an Ed25519 key kept in the data dir (mode 0600), so the PeerId —
 * what takers pin to find their maker — survives restarts.
 */
import { constants } from 'node:fs';
import { mkdir, open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys';
import type { PrivateKey } from '@libp2p/interface';

export const IDENTITY_FILE = 'p2p.key';

/** Loads `<dir>/p2p.key`, creating a new Ed25519 identity on first start. */
export async function loadOrCreateIdentity(dir: string): Promise<PrivateKey> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, IDENTITY_FILE);
  try {
    return privateKeyFromProtobuf(await readFile(path));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const key = await generateKeyPair('Ed25519');
  const fh = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
  try {
    await fh.writeFile(privateKeyToProtobuf(key));
    await fh.sync();
  } finally {
    await fh.close();
  }
  return key;
}
