/**
 * Named errors of the oracle (dlcfd's olivia-compatible server) and of the node's oracle client.
 * Callers branch on `name` (or `instanceof`). Every way an oracle response can be forged, tampered
 * or inconsistent has its own class, so health and logs say exactly what was rejected.
 */
import { NamedError } from '../../model/named-error.ts';

/** Base class of every oracle error. */
export class OracleError extends NamedError {
  constructor(message = 'oracle error', options?: ErrorOptions) {
    super(message, options);
  }
}

// --- client: transport --------------------------------------------------------------------------

/** The oracle could not be reached: connection refused, timeout, a 5xx, a cut-off body. */
export class OracleUnreachableError extends OracleError {
  constructor(message = 'oracle unreachable', options?: ErrorOptions) {
    super(message, options);
  }
}

/** The oracle answered 404 for an event: off its cadence, or not announced (yet). */
export class OracleEventNotFoundError extends OracleError {
  readonly eventId: string;

  constructor(eventId: string) {
    super(`oracle has no announcement for ${eventId}`);
    this.eventId = eventId;
  }
}

/** Any other unexpected HTTP status. */
export class OracleHttpError extends OracleError {
  readonly status: number;

  constructor(status: number, url: string) {
    super(`oracle answered HTTP ${status} for ${url}`);
    this.status = status;
  }
}

// --- client: rejected responses -----------------------------------------------------------------

/** Not JSON, or not the shape of an olivia document (the cause says which field). */
export class MalformedOracleResponseError extends OracleError {
  constructor(message = 'malformed oracle response', options?: ErrorOptions) {
    super(message, options);
  }
}

/** No announcement key is known yet, so no announcement can be verified (none is accepted). */
export class AnnouncementKeyUnknownError extends OracleError {
  constructor(eventId: string) {
    super(`${eventId}: no announcement key known to verify its announcement; not accepted`);
  }
}

/** An announcement lists the same nonce twice: two digits' attestations would leak the key. */
export class DuplicateNonceError extends OracleError {
  constructor(eventId: string, nonce: string) {
    super(`${eventId}: announcement repeats nonce ${nonce}`);
  }
}

/**
 * The oracle is compromised: it reused a nonce across two events (which leaks its attestation key
 * once both are attested, after which anyone can attest any price) or attested two prices for one
 * event. Nothing of it is used any more until the user intervenes (see client.ts).
 */
export class OracleCompromisedError extends OracleError {
  readonly reason: string;

  constructor(reason: string) {
    super(`oracle compromised: ${reason}; nothing from it is used`);
    this.reason = reason;
  }
}

/** The announcement names another event, or an expected outcome time other than the event's. */
export class EventIdMismatchError extends OracleError {
  constructor(message = 'announcement is for another event') {
    super(message);
  }
}

/** An announcement without exactly 20 olivia-v1 nonces (one per price digit). */
export class NonceCountError extends OracleError {
  constructor(expected: number, got: number) {
    super(`announcement must have exactly ${expected} olivia-v1 nonces, got ${got}`);
  }
}

/** The announcement's BIP340 signature does not verify under the oracle's announcement key. */
export class InvalidAnnouncementSignatureError extends OracleError {
  constructor(eventId: string) {
    super(`announcement signature for ${eventId} does not verify under the announcement key`);
  }
}

/**
 * The oracle served an announcement for an event that differs from the one already accepted:
 * other nonces mean CFDs built on the first one could never settle through the oracle.
 */
export class AnnouncementChangedError extends OracleError {
  constructor(eventId: string) {
    super(`oracle changed its announcement (nonces) for ${eventId}`);
  }
}

/**
 * Attestation scalars that do not verify against the pinned olivia-v1 key and the announced
 * nonces for the claimed outcome (a tampered scalar, a wrong key, an outcome the scalars do not
 * attest).
 */
export class AttestationVerificationError extends OracleError {
  constructor(message = 'attestation does not verify', options?: ErrorOptions) {
    super(message, options);
  }
}

/** `GET /` publishes another olivia-v1 key than the one configured: this is not our oracle. */
export class OracleKeyMismatchError extends OracleError {
  constructor(pinned: string, served: string) {
    super(`oracle publishes olivia-v1 key ${served}, configured key is ${pinned}`);
  }
}

// --- server -------------------------------------------------------------------------------------

/** Options that cannot run an oracle (interval, lookahead, port…). */
export class InvalidOracleOptionsError extends OracleError {
  constructor(message = 'invalid oracle options') {
    super(message);
  }
}

/** The seed file is unreadable, malformed, or readable by others. */
export class OracleSeedFileError extends OracleError {
  constructor(message = 'bad oracle seed file') {
    super(message);
  }
}

/**
 * The outcome log is inconsistent (two outcomes for one event, an unparsable record in the
 * middle): the oracle refuses to start rather than risk attesting an event twice.
 */
export class OutcomeLogCorruptError extends OracleError {
  constructor(message = 'oracle outcome log is corrupt') {
    super(message);
  }
}

/** An attempt to record a second outcome for an event: refused, it would leak the oracle key. */
export class OutcomeExistsError extends OracleError {
  readonly eventId: string;

  constructor(eventId: string) {
    super(`an outcome for ${eventId} is already recorded; the oracle never attests twice`);
    this.eventId = eventId;
  }
}
