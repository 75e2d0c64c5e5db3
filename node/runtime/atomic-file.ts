/**
 * Replaces a small file durably: temp file (mode 0600), fsync, rename. After a crash the file
 * holds the old text or the new, never half of either. For the node's settings files (the maker's
 * policy, the taker's limits).
 */
import { open, rename, rm } from 'node:fs/promises';

export async function writeFileAtomic(path: string, text: string): Promise<void> {
  const tmp = `${path}.tmp`;
  const file = await open(tmp, 'w', 0o600);
  try {
    await file.writeFile(text);
    await file.sync();
  } finally {
    await file.close();
  }
  try {
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}
