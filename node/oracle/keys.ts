/**
 * The oracle's keys and nonces, all derived from one 32-byte seed kept in `<datadir>/oracle.seed`
 * (mode 0600, fsync'd when created). Nothing else secret is stored: restarting with the same seed
 * yields the same public keys and, for every event, the same nonces, so an announcement served
 * before a restart is still the one the oracle attests after it.
 *
 * Derivation (BIP340 tagged hashes, reduced mod n, negated to even y as olivia normalises):
 * - olivia-v1 attestation key  x   = H_{dlcfd/oracle/olivia-v1/key}(seed)
 * - announcement key           a   = H_{dlcfd/oracle/announcement/key}(seed)
 * - nonce i of event `id`      r_i = H_{dlcfd/oracle/olivia-v1/nonce}(seed ‖ utf8(id) ‖ u32be(i))
 *
 * A nonce depends only on the seed and the event id, so the one guarantee that keeps x secret —
 * never two outcomes for one event — is enforced where outcomes are recorded (outcomes.ts).
 */
import { constants } from 'node:fs';
import { mkdir, open, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { schnorr } from '@noble/curves/secp256k1.js';
import { bytesToHex, hexToBytes, randomBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import { PRICE_DIGITS } from '../../dlc/digits.ts';
import { bytesToBigInt, G, hasEvenY, mod, N, scalarToBytes, taggedHash } from '../../dlc/secp.ts';
import {
  SEED_FILE,
  SEED_FILE_VERSION,
  TAG_ANNOUNCEMENT_AUX,
  TAG_ANNOUNCEMENT_KEY,
  TAG_NONCE,
  TAG_OLIVIA_KEY,
} from './constants.ts';
import { OracleSeedFileError } from './errors.ts';

/** What the seed file holds. */
export interface OracleSeed {
  readonly seed: Uint8Array;
  /** Unix seconds the oracle was created: it announces no event before this. */
  readonly createdAt: number;
}

export interface LoadedSeed extends OracleSeed {
  /** True if this call created the file. */
  readonly created: boolean;
  readonly path: string;
}

/** The oracle's key material, derived from its seed. */
export interface OracleKeys {
  /** olivia-v1 attestation secret key (normalised to even y). */
  readonly oliviaSecretKey: Uint8Array;
  /** olivia-v1 attestation public key, 32-byte x-only: what clients pin. */
  readonly oliviaPublicKey: Uint8Array;
  /** BIP340 announcement signing key. */
  readonly announcementSecretKey: Uint8Array;
  /** Announcement public key, 32-byte x-only (published at `GET /`). */
  readonly announcementPublicKey: Uint8Array;
  readonly createdAt: number;
  /** The n nonce secrets of an event, each normalised so its point has even y. */
  nonceSecrets(eventId: string, n?: number): Uint8Array[];
  /** The n public nonces of an event, 32-byte x-only. */
  nonces(eventId: string, n?: number): Uint8Array[];
  /** Aux randomness for the event's announcement signature (deterministic: byte-stable answers). */
  announcementAux(eventId: string): Uint8Array;
}

/** A scalar in 1 … n−1 from a tagged hash, negated if needed so that its point has even y. */
function evenYScalar(tag: string, ...parts: Uint8Array[]): bigint {
  const s = mod(bytesToBigInt(taggedHash(tag, ...parts)));
  // Probability 2^-128; a seed that hits it is refused rather than worked around.
  if (s === 0n) throw new OracleSeedFileError(`seed derives a zero scalar for ${tag}`);
  return hasEvenY(G.multiply(s)) ? s : N - s;
}

function u32be(i: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, i);
  return b;
}

/** Derives every key of an oracle from its seed (pure; see the module comment for the scheme). */
export function deriveOracleKeys({ seed, createdAt }: OracleSeed): OracleKeys {
  if (!(seed instanceof Uint8Array) || seed.length !== 32) {
    throw new OracleSeedFileError('oracle seed must be 32 bytes');
  }
  const x = scalarToBytes(evenYScalar(TAG_OLIVIA_KEY, seed));
  const a = scalarToBytes(evenYScalar(TAG_ANNOUNCEMENT_KEY, seed));
  const nonceSecrets = (eventId: string, n = PRICE_DIGITS): Uint8Array[] => {
    const id = utf8ToBytes(eventId);
    return Array.from({ length: n }, (_, i) =>
      scalarToBytes(evenYScalar(TAG_NONCE, seed, id, u32be(i))),
    );
  };
  return {
    oliviaSecretKey: x,
    oliviaPublicKey: schnorr.getPublicKey(x),
    announcementSecretKey: a,
    announcementPublicKey: schnorr.getPublicKey(a),
    createdAt,
    nonceSecrets,
    nonces: (eventId, n = PRICE_DIGITS) =>
      nonceSecrets(eventId, n).map((r) => schnorr.getPublicKey(r)),
    announcementAux: (eventId) => taggedHash(TAG_ANNOUNCEMENT_AUX, seed, utf8ToBytes(eventId)),
  };
}

/**
 * Reads `<datadir>/oracle.seed`, creating it (fresh random seed, 0600, fsync'd, directory 0700)
 * on first start. Refuses a file readable by group or others, or one it cannot parse.
 *
 * Format: `{"version":1,"seed":"<64 hex>","createdAt":<unix seconds>}`.
 */
export async function loadOrCreateSeed(
  datadir: string,
  now: () => number = Date.now,
): Promise<LoadedSeed> {
  await mkdir(datadir, { recursive: true, mode: 0o700 });
  const path = join(datadir, SEED_FILE);
  let created = false;
  try {
    const fh = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
    try {
      const body = {
        version: SEED_FILE_VERSION,
        seed: bytesToHex(randomBytes(32)),
        createdAt: Math.floor(now() / 1000),
      };
      await fh.writeFile(`${JSON.stringify(body)}\n`);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await syncDir(datadir);
    created = true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const mode = (await stat(path)).mode & 0o777;
  if (mode & 0o077) {
    throw new OracleSeedFileError(
      `${path} is readable by others (mode ${mode.toString(8)}); run chmod 600 on it`,
    );
  }
  let parsed: { version?: unknown; seed?: unknown; createdAt?: unknown };
  try {
    parsed = JSON.parse(await readFile(path, 'utf8')) as typeof parsed;
  } catch {
    throw new OracleSeedFileError(`${path} is not valid JSON`);
  }
  if (parsed.version !== SEED_FILE_VERSION) {
    throw new OracleSeedFileError(`${path}: unsupported version ${String(parsed.version)}`);
  }
  if (typeof parsed.seed !== 'string' || !/^[0-9a-f]{64}$/.test(parsed.seed)) {
    throw new OracleSeedFileError(`${path}: seed must be 64 lowercase hex digits`);
  }
  if (typeof parsed.createdAt !== 'number' || !Number.isSafeInteger(parsed.createdAt)) {
    throw new OracleSeedFileError(`${path}: createdAt must be unix seconds`);
  }
  return { seed: hexToBytes(parsed.seed), createdAt: parsed.createdAt, created, path };
}

/** fsync a directory so a just-created entry in it survives a crash. */
export async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, constants.O_RDONLY);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
