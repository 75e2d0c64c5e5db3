/**
 * The JSON documents dlcfd's oracle serves, in olivia's exact shape (olivia_core `http.rs`,
 * `announcement.rs`, `attestation.rs`; a real response is in
 * test/fixtures/olivia_attestations.json), built from the oracle's keys:
 *
 *     GET /                → {"public_keys": {"olivia-v1": <x-only hex>, "announcement": <x-only hex>,
 *                             "group": "secp256k1"}}
 *     GET <event id>       → {"announcement": {"oracle_event": {"encoding": "json", "data": <text>},
 *                             "signature": <BIP340 hex>}, "attestation": null | {"outcome": "49262",
 *                             "schemes": {"olivia-v1": {"scalars": [20 × hex]}}, "time": <time>}}
 *
 * dlcfd does not implement olivia's `ecdsa-v1` scheme (maia and ItchySats never used it), so it is
 * neither announced nor attested; parsers treat it as optional.
 */
import { bytesToHex } from '@noble/hashes/utils.js';
import { PRICE_DIGITS } from '../../dlc/digits.ts';
import { attestPrice, formatOliviaTime, signAnnouncement } from '../../dlc/oracle.ts';
import { ANNOUNCEMENT_KEY, GROUP, OLIVIA_V1 } from './constants.ts';
import type { OracleKeys } from './keys.ts';
import type { OutcomeRecord } from './outcomes.ts';

/** `GET /`. */
export interface RootDocument {
  public_keys: { 'olivia-v1': string; announcement: string; group: typeof GROUP };
}

/** The announcement object of an event response. */
export interface AnnouncementDocument {
  oracle_event: { encoding: 'json'; data: string };
  signature: string;
}

/** The attestation object of an event response. */
export interface AttestationDocument {
  outcome: string;
  schemes: { 'olivia-v1': { scalars: string[] } };
  time: string;
}

/** `GET <event id>`. */
export interface EventDocument {
  announcement: AnnouncementDocument;
  attestation: AttestationDocument | null;
}

export function rootDocument(keys: OracleKeys): RootDocument {
  return {
    public_keys: {
      [OLIVIA_V1]: bytesToHex(keys.oliviaPublicKey),
      [ANNOUNCEMENT_KEY]: bytesToHex(keys.announcementPublicKey),
      group: GROUP,
    } as RootDocument['public_keys'],
  };
}

/**
 * The event JSON text an announcement signs, byte for byte in olivia's field order and compact
 * form: id, expected-outcome-time, descriptor (20 unsigned binary digits), olivia-v1 nonces.
 */
export function announcementData(
  eventId: string,
  unixSeconds: number,
  nonces: readonly Uint8Array[],
): string {
  return JSON.stringify({
    id: eventId,
    'expected-outcome-time': formatOliviaTime(unixSeconds),
    descriptor: {
      type: 'digit-decomposition',
      is_signed: false,
      n_digits: PRICE_DIGITS,
      unit: null,
    },
    schemes: { [OLIVIA_V1]: { nonces: nonces.map(bytesToHex) } },
  });
}

/** The signed announcement of an event (deterministic: the same bytes after every restart). */
export function buildAnnouncement(
  keys: OracleKeys,
  eventId: string,
  unixSeconds: number,
): AnnouncementDocument {
  const data = announcementData(eventId, unixSeconds, keys.nonces(eventId));
  const signature = signAnnouncement(
    data,
    keys.announcementSecretKey,
    keys.announcementAux(eventId),
  );
  return { oracle_event: { encoding: 'json', data }, signature: bytesToHex(signature) };
}

/** The attestation of a recorded outcome: s_i = x + (d_i + 1)·r_i for its 20 digits. */
export function buildAttestation(keys: OracleKeys, record: OutcomeRecord): AttestationDocument {
  const scalars = attestPrice(
    keys.oliviaSecretKey,
    keys.nonceSecrets(record.eventId),
    record.outcome,
  );
  return {
    outcome: String(record.outcome),
    schemes: {
      [OLIVIA_V1]: { scalars: scalars.map(bytesToHex) },
    } as AttestationDocument['schemes'],
    time: record.time,
  };
}
