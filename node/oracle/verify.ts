/**
 * Verification of an olivia-v1 event response, pure: the announcement is for the asked event and
 * time, has one nonce per digit, no nonce twice, a valid signature by the announcement key and
 * the same nonces as any earlier copy; an attestation verifies against the pinned key and those
 * nonces. Each failure is its named error (errors.ts). The client (client.ts) does the IO, the
 * nonce log and compromise detection around it.
 */
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { PRICE_DIGITS } from '../../dlc/digits.ts';
import { DlcError } from '../../dlc/errors.ts';
import {
  assertAttestation,
  formatOliviaTime,
  type OliviaEventResponse,
  parseOliviaEventResponse,
  verifyAnnouncementSignature,
} from '../../dlc/oracle.ts';
import { liftX } from '../../dlc/secp.ts';
import { ANNOUNCEMENT_KEY, OLIVIA_V1 } from './constants.ts';
import {
  AnnouncementChangedError,
  AnnouncementKeyUnknownError,
  AttestationVerificationError,
  DuplicateNonceError,
  EventIdMismatchError,
  InvalidAnnouncementSignatureError,
  MalformedOracleResponseError,
  NonceCountError,
  OracleKeyMismatchError,
} from './errors.ts';

/** An announcement that passed every check. */
export interface VerifiedAnnouncement {
  readonly eventId: string;
  /** Event time, unix seconds. */
  readonly unixSeconds: number;
  /** The 20 olivia-v1 nonces R_i, 32-byte x-only, most significant digit first. */
  readonly nonces: readonly Uint8Array[];
  /** The signed event JSON text and its BIP340 signature, as served. */
  readonly data: string;
  readonly signature: Uint8Array;
  /** Whether the signature was checked: always true (unverified announcements are refused). */
  readonly signatureVerified: boolean;
}

/** A verified attestation: what a CFD needs to decrypt its CET. */
export interface VerifiedAttestation {
  readonly eventId: string;
  /** The attested whole-dollar price. */
  readonly price: number;
  /** The 20 olivia-v1 scalars, 32 bytes each. */
  readonly scalars: readonly Uint8Array[];
  /** When the oracle says it attested (olivia time format; informational, unsigned). */
  readonly time: string;
}

/** A verified event: its announcement and, once attested, its attestation. */
export interface VerifiedEvent {
  readonly announcement: VerifiedAnnouncement;
  readonly attestation: VerifiedAttestation | null;
}

/** What a verification checks against. */
export interface VerifyContext {
  /** The pinned olivia-v1 attestation key, x-only. */
  readonly pinned: Uint8Array;
  /** The announcement key in use; null: unknown yet (every announcement is refused). */
  readonly announcementKey: Uint8Array | null;
  /** The announcement verified earlier for this event, if any. */
  readonly cached: VerifiedAnnouncement | undefined;
  /** The nonces (hex) the nonce log holds for this event, if any. */
  readonly logged: readonly string[] | undefined;
}

/**
 * Verifies `body`, the response for `eventId` (at `unixSeconds`); throws the named error of the
 * first check that fails. The announcement returned is the cached one when there is one.
 */
export function verifyEvent(
  eventId: string,
  unixSeconds: number,
  body: unknown,
  known: VerifyContext,
): VerifiedEvent {
  precheckNonceCount(body);
  let parsed: OliviaEventResponse;
  try {
    parsed = parseOliviaEventResponse(body);
  } catch (err) {
    if (err instanceof DlcError) {
      throw new MalformedOracleResponseError(`${eventId}: ${err.message}`, { cause: err });
    }
    throw err;
  }
  const ann = parsed.announcement;
  if (ann.eventId !== eventId) {
    throw new EventIdMismatchError(`asked for ${eventId}, announcement is for ${ann.eventId}`);
  }
  if (ann.expectedOutcomeTime !== formatOliviaTime(unixSeconds)) {
    throw new EventIdMismatchError(
      `${eventId}: expected-outcome-time is ${ann.expectedOutcomeTime}, not the event's time`,
    );
  }
  if (ann.nonces.length !== PRICE_DIGITS) {
    throw new NonceCountError(PRICE_DIGITS, ann.nonces.length);
  }
  const key = known.announcementKey;
  if (key === null) throw new AnnouncementKeyUnknownError(eventId);
  if (!verifyAnnouncementSignature(ann, key)) {
    throw new InvalidAnnouncementSignatureError(eventId);
  }
  const hexNonces = ann.nonces.map(bytesToHex);
  const seen = new Set<string>();
  for (const n of hexNonces) {
    if (seen.has(n)) throw new DuplicateNonceError(eventId, n);
    seen.add(n);
  }
  const { cached } = known;
  const { logged } = known;
  if (
    (cached && !sameNonces(cached.nonces, ann.nonces)) ||
    (logged && logged.join() !== hexNonces.join())
  ) {
    throw new AnnouncementChangedError(eventId);
  }
  const announcement: VerifiedAnnouncement = cached ?? {
    eventId,
    unixSeconds,
    nonces: ann.nonces,
    data: ann.data,
    signature: ann.signature,
    signatureVerified: true,
  };
  const att = parsed.attestation;
  if (att === null) return { announcement, attestation: null };
  try {
    assertAttestation(known.pinned, announcement.nonces, att.outcome, att.scalars);
  } catch (err) {
    if (err instanceof DlcError) {
      throw new AttestationVerificationError(`${eventId}: ${err.message}`, { cause: err });
    }
    throw err;
  }
  // Fresh from this response (not the cached one), so #remember sees a contradiction.
  return {
    announcement,
    attestation: { eventId, price: att.outcome, scalars: att.scalars, time: att.time },
  };
}

/** A 32-byte x-only key from hex or bytes; InvalidPointError unless valid. */
export function xOnlyKey(key: string | Uint8Array, what: string): Uint8Array {
  const bytes =
    typeof key === 'string'
      ? /^[0-9a-fA-F]{64}$/.test(key)
        ? hexToBytes(key)
        : new Uint8Array(0)
      : key;
  liftX(bytes, what); // throws InvalidPointError unless a valid x-only key
  return bytes;
}

export function sameNonces(a: readonly Uint8Array[], b: readonly Uint8Array[]): boolean {
  return a.length === b.length && a.every((n, i) => bytesToHex(n) === bytesToHex(b[i]!));
}

/**
 * olivia-v1 needs exactly one nonce per digit. Checked before the full parse so a wrong count is
 * reported as such ({@link NonceCountError}) rather than as a generic malformed document.
 */
function precheckNonceCount(body: unknown): void {
  try {
    const data = (body as { announcement: { oracle_event: { data: string } } }).announcement
      .oracle_event.data;
    const event = JSON.parse(data) as { schemes: Record<string, { nonces: unknown }> };
    const nonces = event.schemes[OLIVIA_V1]?.nonces;
    if (Array.isArray(nonces) && nonces.length !== PRICE_DIGITS) {
      throw new NonceCountError(PRICE_DIGITS, nonces.length);
    }
  } catch (err) {
    if (err instanceof NonceCountError) throw err;
    // Anything else is for the full parser to name.
  }
}

/**
 * The keys in a `GET /` body: the olivia-v1 key (must be `pinned`, hex, else
 * {@link OracleKeyMismatchError}) and the announcement key, if published.
 */
export function parseInfo(
  body: unknown,
  pinned: string,
): { oliviaPublicKey: string; announcementPublicKey: string | null } {
  const keys = (body as { public_keys?: Record<string, unknown> } | null)?.public_keys;
  if (typeof keys !== 'object' || keys === null) {
    throw new MalformedOracleResponseError('GET / has no public_keys object');
  }
  const served = keys[OLIVIA_V1];
  if (typeof served !== 'string' || !/^[0-9a-fA-F]{64}$/.test(served)) {
    throw new MalformedOracleResponseError('GET / has no olivia-v1 x-only key');
  }
  if (served.toLowerCase() !== pinned) {
    throw new OracleKeyMismatchError(pinned, served.toLowerCase());
  }
  const ann = keys[ANNOUNCEMENT_KEY];
  let announcementPublicKey: string | null = null;
  if (ann !== undefined && ann !== null) {
    try {
      announcementPublicKey = bytesToHex(xOnlyKey(ann as string, 'announcement key'));
    } catch {
      throw new MalformedOracleResponseError('GET / announcement key is not an x-only key');
    }
  }
  return { oliviaPublicKey: served.toLowerCase(), announcementPublicKey };
}
