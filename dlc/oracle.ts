/**
 * olivia-v1 oracle math (olivia `olivia_secp256k1`, maia `oracle.rs`), event ids and the HTTP
 * documents of an olivia oracle.
 *
 * olivia attests a price as 20 binary digits, most significant first, with one nonce R_i per
 * digit and the scalar s_i = x + (d_i + 1)·r_i (X and R_i are x-only keys lifted to even y). No
 * hash is involved, so before the event anyone can compute the point a digit's scalar will
 * unlock: A_i = X + (d_i + 1)·R_i. A CET for a digit prefix is encrypted to the sum of its
 * digits' points and decrypted with the sum of their scalars.
 */
import { normalizeZ } from '@noble/curves/abstract/curve.js';
import { schnorr } from '@noble/curves/secp256k1.js';
import { bytesToHex, hexToBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import {
  formatOliviaTime,
  type OracleIndex,
  oracleEventId,
  oracleEventTime,
} from '../model/oracle-event.ts';
import { type Digit, type Digits, PRICE_DIGITS, priceToDigits } from './digits.ts';
import {
  InvalidAttestationError,
  InvalidDigitsError,
  InvalidEventIdError,
  InvalidOracleDocumentError,
  InvalidPointError,
  InvalidScalarError,
} from './errors.ts';
import {
  bytesToBigInt,
  G,
  hasEvenY,
  liftX,
  mod,
  N,
  Point,
  parseSecretScalar,
  scalarToBytes,
} from './secp.ts';
import { nativeCurve } from './secp-native.ts';

// ---------------------------------------------------------------------------------------------
// Event ids (one parser, in model/oracle-event.ts; these keep the dlc/ vocabulary)

/** A parsed olivia BXBT or BETH price event id. */
export interface PriceEventId {
  /** The event time (unix seconds, UTC) the price is taken at. */
  readonly unixSeconds: number;
  /** Number of binary digits attested (always 20 for the events dlcfd uses). */
  readonly nDigits: number;
}

export { formatOliviaTime };

/** Formats `/x/BitMEX/<BXBT|BETH>/<UTC time>.price?n=20` for a unix time in seconds. */
export function formatEventId(
  unixSeconds: number,
  nDigits = PRICE_DIGITS,
  index: OracleIndex = 'BXBT',
): string {
  if (nDigits !== PRICE_DIGITS) {
    throw new InvalidEventIdError(`only n=${PRICE_DIGITS} price events are supported`);
  }
  return oracleEventId(unixSeconds, index);
}

/**
 * Parses an event id. Throws {@link InvalidEventIdError} unless it is exactly
 * `/x/BitMEX/<BXBT|BETH>/<YYYY-MM-DDTHH:MM:SS>.price?n=20` naming a real UTC time.
 */
export function parseEventId(eventId: string): PriceEventId {
  return { unixSeconds: oracleEventTime(eventId), nDigits: PRICE_DIGITS };
}

// ---------------------------------------------------------------------------------------------
// Attestation math

/** Per-event precomputation: for every digit i, the points A_{i,0} = X + R_i, A_{i,1} = X + 2R_i. */
export interface OracleEventPoints {
  readonly nDigits: number;
  readonly digitPoints: readonly (readonly [Point, Point])[];
}

/**
 * {@link liftX} with libsecp256k1's square root where the native bindings load (≈ 5 µs instead
 * of ≈ 0.1 ms: an event has 21 keys to lift, a rollover 25 events). Same point, same errors.
 */
function liftXFast(bytes: Uint8Array, what = 'x-only key'): Point {
  if (nativeCurve !== null && bytes instanceof Uint8Array && bytes.length === 32) {
    const compressed = new Uint8Array(33);
    compressed[0] = 0x02;
    compressed.set(bytes, 1);
    const full = nativeCurve.decompress(compressed);
    if (full !== null) {
      return Point.fromAffine({
        x: bytesToBigInt(full.subarray(1, 33)),
        y: bytesToBigInt(full.subarray(33, 65)),
      });
    }
  }
  return liftX(bytes, what); // noble's, or its error
}

function parseNonces(nonces: readonly Uint8Array[], nDigits: number): Point[] {
  if (!Array.isArray(nonces) || nonces.length < nDigits) {
    throw new InvalidPointError(
      `an olivia price event needs at least ${nDigits} nonces, got ${nonces?.length}`,
    );
  }
  return nonces.slice(0, nDigits).map((r, i) => liftXFast(r, `nonce ${i}`));
}

/**
 * Precomputes the per-digit anticipated points of one event (oracle key X, nonces R_i, both
 * 32-byte x-only) so that the points of hundreds of prefixes cost one point addition per digit.
 */
export function prepareOracleEvent(
  oraclePublicKey: Uint8Array,
  nonces: readonly Uint8Array[],
  nDigits = PRICE_DIGITS,
): OracleEventPoints {
  const X = liftXFast(oraclePublicKey, 'oracle public key');
  const R = parseNonces(nonces, nDigits);
  return {
    nDigits,
    digitPoints: R.map((Ri) => {
      const a0 = X.add(Ri);
      return [a0, a0.add(Ri)] as const;
    }),
  };
}

/**
 * Events {@link oracleEventPoints} keeps, most recently used last. A node meets the same events
 * again and again: every order on an offer settles on the offer's event, and consecutive hourly
 * rollovers share 23 of their 24 liquidation events; each event's points (and the memo of its
 * prefix points) are worth keeping for a while, not forever. 32 holds a rollover's 25 events
 * with room to spare; the memo of a whole curve's event is ≈ 1.2 MB (a liquidation event's a few
 * KB), and a few of the 32 are whole-curve settlement events: ~10 MB in steady state.
 */
const EVENT_CACHE_SIZE = 32;
const eventCache = new Map<string, OracleEventPoints>();

/**
 * {@link prepareOracleEvent}, remembered: the same key and nonces give the same object, so its
 * memoized prefix points are reused by every contract on that event (setup, rollover, both
 * roles). Results are exactly those of a fresh {@link prepareOracleEvent}; invalid input throws
 * its errors and is not remembered.
 */
export function oracleEventPoints(
  oraclePublicKey: Uint8Array,
  nonces: readonly Uint8Array[],
  nDigits = PRICE_DIGITS,
): OracleEventPoints {
  const used = Array.isArray(nonces) ? nonces.slice(0, nDigits) : [];
  if (
    !(oraclePublicKey instanceof Uint8Array) ||
    used.length < nDigits ||
    !used.every((n) => n instanceof Uint8Array)
  ) {
    return prepareOracleEvent(oraclePublicKey, nonces, nDigits); // throws its error
  }
  const key = `${nDigits}:${bytesToHex(oraclePublicKey)}:${used.map(bytesToHex).join('')}`;
  const cached = eventCache.get(key);
  if (cached !== undefined) {
    eventCache.delete(key);
    eventCache.set(key, cached);
    return cached;
  }
  const event = prepareOracleEvent(oraclePublicKey, nonces, nDigits);
  eventCache.set(key, event);
  if (eventCache.size > EVENT_CACHE_SIZE) {
    eventCache.delete(eventCache.keys().next().value as string);
  }
  return event;
}

/** An affine point (x, y), or null for the point at infinity. */
type Affine = { readonly x: bigint; readonly y: bigint } | null;

/**
 * Per-event memo of prefix points, keyed by the digit string: affine sums (so a prefix costs one
 * addition to its cached parent) and their compressed encodings. A CET set's ~1,700 prefixes
 * share most of their ancestors. Weakly held: it goes away with the event.
 */
interface PrefixMemo {
  /** The digit points A_{i,d} in affine form. */
  readonly digits: readonly (readonly [Affine, Affine])[];
  readonly sums: Map<string, Affine>;
  readonly encoded: Map<string, Uint8Array>;
}

const prefixMemos = new WeakMap<OracleEventPoints, PrefixMemo>();

function affineOf(p: Point): Affine {
  if (p.is0()) return null;
  const { x, y } = p.toAffine();
  return { x, y };
}

function memoOf(event: OracleEventPoints): PrefixMemo {
  let memo = prefixMemos.get(event);
  if (memo === undefined) {
    // One shared inversion for the 2n digit points (toAffine of a normalized point is free).
    const flat = event.digitPoints.flat();
    const finite = normalizeZ(
      Point,
      flat.filter((p) => !p.is0()),
    );
    let next = 0;
    const affine = flat.map((p) => (p.is0() ? null : affineOf(finite[next++] as Point)));
    memo = {
      digits: event.digitPoints.map((_, i) => [affine[2 * i] ?? null, affine[2 * i + 1] ?? null]),
      sums: new Map(),
      encoded: new Map(),
    };
    prefixMemos.set(event, memo);
  }
  return memo;
}

function prefixKey(event: OracleEventPoints, prefix: Digits): string {
  if (!Array.isArray(prefix) || prefix.length < 1 || prefix.length > event.nDigits) {
    throw new InvalidDigitsError(`prefix must have 1 … ${event.nDigits} digits`);
  }
  let key = '';
  for (const d of prefix) {
    if (d !== 0 && d !== 1) throw new InvalidDigitsError(`digit must be 0 or 1, got ${String(d)}`);
    key += d === 0 ? '0' : '1';
  }
  return key;
}

const Fp = Point.Fp;

/**
 * Fills `memo.sums` for `keys` and all their ancestors: level by level (prefix length 1, 2, …),
 * each new sum is its parent plus one digit point, as an affine addition whose one inversion per
 * level is shared by every addition of that level (Montgomery's trick). That is ≈ 6 field
 * multiplications per prefix, against a projective addition plus normalisation — 3× faster for a
 * whole CET set, on the main thread before every setup and rollover can start signing.
 */
function fillPrefixSums(event: OracleEventPoints, memo: PrefixMemo, keys: readonly string[]): void {
  const levels: string[][] = [];
  let count = 0;
  for (const key of keys) {
    for (let k = key; k.length > 0 && !memo.sums.has(k); k = k.slice(0, -1)) {
      const level = levels[k.length - 1];
      if (level === undefined) levels[k.length - 1] = [k];
      else level.push(k);
      memo.sums.set(k, null); // placeholder, so shared ancestors are listed once
      count++;
    }
  }
  // Few new sums per level (a single prefix, one CET's): an inversion per level would cost more
  // than the additions; add projectively and share one inversion instead.
  if (count < 3 * levels.filter((l) => l !== undefined).length) {
    fillProjectively(event, memo, levels);
    return;
  }
  for (const level of levels) {
    if (level === undefined) continue;
    const pending: { key: string; p: { x: bigint; y: bigint }; d: { x: bigint; y: bigint } }[] = [];
    for (const key of level) {
      const i = key.length - 1;
      const pair = memo.digits[i] as readonly [Affine, Affine];
      const d = key[i] === '0' ? pair[0] : pair[1];
      const p = i === 0 ? null : (memo.sums.get(key.slice(0, i)) as Affine);
      if (p === null || d === null) memo.sums.set(key, p ?? d);
      else if (p.x !== d.x) pending.push({ key, p, d });
      else if (p.y === d.y) {
        // P = D: a doubling (never in practice; noble handles it).
        memo.sums.set(key, affineOf(Point.fromAffine(p).double()));
      } else memo.sums.set(key, null); // P = −D
    }
    const inverses = Fp.invertBatch(pending.map(({ p, d }) => Fp.sub(d.x, p.x)));
    pending.forEach(({ key, p, d }, j) => {
      const lambda = Fp.mul(Fp.sub(d.y, p.y), inverses[j] as bigint);
      const x = Fp.sub(Fp.sub(Fp.sqr(lambda), p.x), d.x);
      const y = Fp.sub(Fp.mul(lambda, Fp.sub(p.x, x)), p.y);
      memo.sums.set(key, { x, y });
    });
  }
}

/** {@link fillPrefixSums} for few sums: projective additions, then one shared inversion. */
function fillProjectively(
  event: OracleEventPoints,
  memo: PrefixMemo,
  levels: readonly (readonly string[] | undefined)[],
): void {
  const fresh = new Map<string, Point>();
  for (const level of levels) {
    for (const key of level ?? []) {
      const i = key.length - 1;
      const pair = event.digitPoints[i] as readonly [Point, Point];
      const d = key[i] === '0' ? pair[0] : pair[1];
      if (i === 0) {
        fresh.set(key, d);
        continue;
      }
      const parentKey = key.slice(0, i);
      const known = memo.sums.get(parentKey) as Affine;
      const parent =
        fresh.get(parentKey) ?? (known === null ? Point.ZERO : Point.fromAffine(known));
      fresh.set(key, parent.add(d));
    }
  }
  const finite = [...fresh].filter(([, p]) => !p.is0());
  const normalized = normalizeZ(
    Point,
    finite.map(([, p]) => p),
  );
  for (const [key, p] of fresh) if (p.is0()) memo.sums.set(key, null);
  finite.forEach(([key], j) => {
    memo.sums.set(key, affineOf(normalized[j] as Point));
  });
}

function encodeAffine(p: { x: bigint; y: bigint }): Uint8Array {
  const out = new Uint8Array(33);
  out[0] = (p.y & 1n) === 0n ? 0x02 : 0x03;
  out.set(Fp.toBytes(p.x), 1);
  return out;
}

/**
 * The adaptor (encryption) point for a digit prefix: Σ_{i<k} (X + (d_i+1)·R_i), 33-byte
 * compressed. The CET for that prefix is encrypted to it; the oracle's scalars for any price with
 * this prefix sum to its discrete log. Memoized per event (see {@link anticipatedPoints} for a
 * whole CET set at once).
 */
export function anticipatedPoint(event: OracleEventPoints, prefix: Digits): Uint8Array {
  return anticipatedPoints(event, [prefix])[0] as Uint8Array;
}

/**
 * {@link anticipatedPoint} for many prefixes at once (a CET set): the sums share their ancestors'
 * additions and each prefix length shares one field inversion. Results are fresh copies.
 */
export function anticipatedPoints(
  event: OracleEventPoints,
  prefixes: readonly Digits[],
): Uint8Array[] {
  const memo = memoOf(event);
  const keys = prefixes.map((prefix) => prefixKey(event, prefix));
  const missing = [...new Set(keys.filter((key) => !memo.encoded.has(key)))];
  if (missing.length > 0) {
    fillPrefixSums(event, memo, missing);
    const sums = missing.map((key) => memo.sums.get(key) as Affine);
    if (sums.some((p) => p === null)) {
      throw new InvalidPointError('the anticipated point of a prefix is the point at infinity');
    }
    sums.forEach((p, i) => {
      memo.encoded.set(missing[i] as string, encodeAffine(p as { x: bigint; y: bigint }));
    });
  }
  return keys.map((key) => (memo.encoded.get(key) as Uint8Array).slice());
}

/**
 * {@link anticipatedPoints} of several prefix lists (e.g. each CET's prefixes) in one batch, which
 * is how a whole CET set gets its shared inversions; one list of points per list of prefixes.
 */
export function anticipatedPointSets(
  event: OracleEventPoints,
  prefixSets: readonly (readonly Digits[])[],
): Uint8Array[][] {
  const all = anticipatedPoints(event, prefixSets.flat());
  let next = 0;
  return prefixSets.map((set) => {
    const start = next;
    next += set.length;
    return all.slice(start, next);
  });
}

/** One-shot form of {@link anticipatedPoint} (prefer preparing the event once for many prefixes). */
export function anticipatedPointFor(
  oraclePublicKey: Uint8Array,
  nonces: readonly Uint8Array[],
  prefix: Digits,
): Uint8Array {
  return anticipatedPoint(prepareOracleEvent(oraclePublicKey, nonces), prefix);
}

function parseAttestScalar(bytes: Uint8Array, what: string): bigint {
  if (!(bytes instanceof Uint8Array) || bytes.length !== 32) {
    throw new InvalidScalarError(`${what} must be 32 bytes`);
  }
  const s = bytesToBigInt(bytes);
  if (s >= N) throw new InvalidScalarError(`${what} must be below the group order`);
  return s;
}

/** Checks one digit's scalar: s·G == X + (d+1)·R (X, R x-only, lifted to even y). */
export function verifyAttestationScalar(
  oraclePublicKey: Uint8Array,
  nonce: Uint8Array,
  digit: Digit,
  scalar: Uint8Array,
): boolean {
  try {
    const X = liftX(oraclePublicKey, 'oracle public key');
    const R = liftX(nonce, 'nonce');
    const s = parseAttestScalar(scalar, 'attestation scalar');
    if (digit !== 0 && digit !== 1) return false;
    return G.multiplyUnsafe(s).equals(X.add(R.multiplyUnsafe(BigInt(digit + 1))));
  } catch {
    return false;
  }
}

/**
 * Checks a whole attestation of `price`: every one of the n scalars against its nonce and digit.
 * Throws {@link InvalidAttestationError} naming the first digit that does not verify.
 */
export function assertAttestation(
  oraclePublicKey: Uint8Array,
  nonces: readonly Uint8Array[],
  price: number,
  scalars: readonly Uint8Array[],
  nDigits = PRICE_DIGITS,
): void {
  const digits = priceToDigits(price, nDigits);
  if (!Array.isArray(nonces) || nonces.length < nDigits) {
    throw new InvalidAttestationError(`need ${nDigits} nonces, got ${nonces?.length}`);
  }
  if (!Array.isArray(scalars) || scalars.length < nDigits) {
    throw new InvalidAttestationError(`need ${nDigits} scalars, got ${scalars?.length}`);
  }
  for (let i = 0; i < nDigits; i++) {
    if (
      !verifyAttestationScalar(
        oraclePublicKey,
        nonces[i] as Uint8Array,
        digits[i] as Digit,
        scalars[i] as Uint8Array,
      )
    ) {
      throw new InvalidAttestationError(
        `attestation scalar ${i} does not verify for price ${price} (digit ${digits[i]})`,
      );
    }
  }
}

/** Boolean form of {@link assertAttestation}. */
export function verifyAttestation(
  oraclePublicKey: Uint8Array,
  nonces: readonly Uint8Array[],
  price: number,
  scalars: readonly Uint8Array[],
  nDigits = PRICE_DIGITS,
): boolean {
  try {
    assertAttestation(oraclePublicKey, nonces, price, scalars, nDigits);
    return true;
  } catch {
    return false;
  }
}

/**
 * The decryption key for the CET of `prefix` once the oracle attested `price`: Σ_{i<k} s_i mod n
 * (32 bytes). Throws {@link InvalidDigitsError} if the attested price does not have this prefix,
 * because decrypting another range's CET with it would yield an invalid signature.
 */
export function attestationDecryptionKey(
  price: number,
  scalars: readonly Uint8Array[],
  prefix: Digits,
  nDigits = PRICE_DIGITS,
): Uint8Array {
  const digits = priceToDigits(price, nDigits);
  if (!Array.isArray(prefix) || prefix.length < 1 || prefix.length > nDigits) {
    throw new InvalidDigitsError(`prefix must have 1 … ${nDigits} digits`);
  }
  if (prefix.some((d, i) => d !== digits[i])) {
    throw new InvalidDigitsError(`price ${price} does not have the prefix ${prefix.join('')}`);
  }
  if (!Array.isArray(scalars) || scalars.length < prefix.length) {
    throw new InvalidScalarError(
      `need ${prefix.length} attestation scalars, got ${scalars?.length}`,
    );
  }
  let y = 0n;
  for (let i = 0; i < prefix.length; i++) {
    y = mod(y + parseAttestScalar(scalars[i] as Uint8Array, `attestation scalar ${i}`));
  }
  if (y === 0n) throw new InvalidScalarError('attestation scalars sum to zero');
  return scalarToBytes(y);
}

/**
 * Oracle side: the n scalars attesting `price`, s_i = x + (d_i+1)·r_i with the oracle key and
 * nonce secrets negated where needed so their points have even y (olivia's normalisation).
 * Used by dlcfd's own olivia-compatible oracle and by tests.
 */
export function attestPrice(
  oracleSecretKey: Uint8Array,
  nonceSecrets: readonly Uint8Array[],
  price: number,
  nDigits = PRICE_DIGITS,
): Uint8Array[] {
  const digits = priceToDigits(price, nDigits);
  if (!Array.isArray(nonceSecrets) || nonceSecrets.length < nDigits) {
    throw new InvalidScalarError(`need ${nDigits} nonce secrets, got ${nonceSecrets?.length}`);
  }
  const x = evenYSecret(parseSecretScalar(oracleSecretKey, 'oracle secret key'));
  return digits.map((d, i) => {
    const r = evenYSecret(parseSecretScalar(nonceSecrets[i] as Uint8Array, `nonce secret ${i}`));
    return scalarToBytes(mod(x + BigInt(d + 1) * r));
  });
}

function evenYSecret(s: bigint): bigint {
  return hasEvenY(G.multiply(s)) ? s : N - s;
}

// ---------------------------------------------------------------------------------------------
// HTTP documents: `GET <event id>` → {"announcement": …, "attestation": null | …}

/** An olivia announcement: the signed event JSON plus what dlcfd needs from it. */
export interface OliviaAnnouncement {
  /** The exact JSON text the announcement signature covers. */
  readonly data: string;
  /** 64-byte BIP340 signature by the oracle's announcement key. */
  readonly signature: Uint8Array;
  readonly eventId: string;
  readonly unixSeconds: number;
  /** `expected-outcome-time` as sent (olivia time format), or null. */
  readonly expectedOutcomeTime: string | null;
  readonly nDigits: number;
  /** olivia-v1 nonces, 32-byte x-only, at least `nDigits` of them. */
  readonly nonces: readonly Uint8Array[];
}

/** An olivia attestation of a price event. */
export interface OliviaAttestation {
  /** The attested price (olivia's decimal outcome string, parsed). */
  readonly outcome: number;
  /** olivia-v1 scalars, 32 bytes each, one per digit. */
  readonly scalars: readonly Uint8Array[];
  /** ecdsa-v1 64-byte r ‖ s signature, if present (dlcfd does not use it). */
  readonly ecdsaSignature: Uint8Array | null;
  /** When the oracle attested (olivia time format). */
  readonly time: string;
}

/** The body of `GET <event id>` on an olivia oracle. */
export interface OliviaEventResponse {
  readonly announcement: OliviaAnnouncement;
  readonly attestation: OliviaAttestation | null;
}

function docError(message: string): InvalidOracleDocumentError {
  return new InvalidOracleDocumentError(message);
}

function asObject(v: unknown, what: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw docError(`${what} must be a JSON object`);
  }
  return v as Record<string, unknown>;
}

function hexField(v: unknown, bytes: number, what: string): Uint8Array {
  if (typeof v !== 'string' || v.length !== bytes * 2 || !/^[0-9a-fA-F]*$/.test(v)) {
    throw docError(`${what} must be ${bytes} bytes of hex`);
  }
  return hexToBytes(v);
}

function hexList(v: unknown, bytes: number, what: string): Uint8Array[] {
  if (!Array.isArray(v)) throw docError(`${what} must be a list`);
  return v.map((item, i) => hexField(item, bytes, `${what}[${i}]`));
}

function oliviaTimeField(v: unknown, what: string): string {
  if (typeof v !== 'string' || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/.test(v)) {
    throw docError(`${what} must be a YYYY-MM-DDTHH:MM:SS time`);
  }
  return v;
}

/**
 * Parses an olivia announcement object `{oracle_event: {encoding: "json", data}, signature}`.
 * Checks the shape, the event id, the digit-decomposition descriptor and that the olivia-v1
 * nonces are valid x-only points; it does NOT check the signature (see
 * {@link verifyAnnouncementSignature}).
 */
export function parseOliviaAnnouncement(json: unknown): OliviaAnnouncement {
  const ann = asObject(json, 'announcement');
  const oracleEvent = asObject(ann.oracle_event, 'announcement.oracle_event');
  if (oracleEvent.encoding !== 'json') throw docError('oracle_event.encoding must be "json"');
  const data = oracleEvent.data;
  if (typeof data !== 'string') throw docError('oracle_event.data must be a string');
  const signature = hexField(ann.signature, 64, 'announcement.signature');
  let event: Record<string, unknown>;
  try {
    event = asObject(JSON.parse(data), 'oracle_event.data');
  } catch (e) {
    if (e instanceof InvalidOracleDocumentError) throw e;
    throw docError('oracle_event.data is not valid JSON');
  }
  if (typeof event.id !== 'string') throw docError('event id missing');
  let parsedId: PriceEventId;
  try {
    parsedId = parseEventId(event.id);
  } catch (e) {
    throw docError((e as Error).message);
  }
  const descriptor = asObject(event.descriptor, 'descriptor');
  if (descriptor.type !== 'digit-decomposition') {
    throw docError('descriptor.type must be "digit-decomposition"');
  }
  if (descriptor.is_signed !== false) throw docError('descriptor.is_signed must be false');
  if (descriptor.n_digits !== parsedId.nDigits) {
    throw docError(`descriptor.n_digits must be ${parsedId.nDigits} as the event id says`);
  }
  const eot = event['expected-outcome-time'];
  const expectedOutcomeTime =
    eot === undefined || eot === null ? null : oliviaTimeField(eot, 'expected-outcome-time');
  const schemes = asObject(event.schemes, 'schemes');
  const oliviaV1 = asObject(schemes['olivia-v1'], 'schemes.olivia-v1');
  const nonces = hexList(oliviaV1.nonces, 32, 'olivia-v1 nonces');
  if (nonces.length < parsedId.nDigits) {
    throw docError(`olivia-v1 needs ${parsedId.nDigits} nonces, got ${nonces.length}`);
  }
  nonces.forEach((n, i) => {
    try {
      liftXFast(n);
    } catch {
      throw docError(`olivia-v1 nonce ${i} is not a valid x-only point`);
    }
  });
  return {
    data,
    signature,
    eventId: event.id,
    unixSeconds: parsedId.unixSeconds,
    expectedOutcomeTime,
    nDigits: parsedId.nDigits,
    nonces,
  };
}

/**
 * Parses an olivia attestation object `{outcome, schemes: {"olivia-v1": {scalars}, "ecdsa-v1":
 * {signature}}, time}`. Shape only; check it against the announcement with
 * {@link assertAttestation} (or {@link parseOliviaEventResponse} + {@link assertOliviaEvent}).
 */
export function parseOliviaAttestation(json: unknown, nDigits = PRICE_DIGITS): OliviaAttestation {
  const att = asObject(json, 'attestation');
  if (typeof att.outcome !== 'string' || !/^(0|[1-9]\d{0,15})$/.test(att.outcome)) {
    throw docError('attestation.outcome must be a decimal price string');
  }
  const outcome = Number(att.outcome);
  if (!Number.isSafeInteger(outcome) || outcome > 2 ** nDigits - 1) {
    throw docError(`attestation.outcome ${att.outcome} is above 2^${nDigits}−1`);
  }
  const schemes = asObject(att.schemes, 'attestation.schemes');
  const oliviaV1 = asObject(schemes['olivia-v1'], 'attestation.schemes.olivia-v1');
  const scalars = hexList(oliviaV1.scalars, 32, 'olivia-v1 scalars');
  if (scalars.length !== nDigits) {
    throw docError(`olivia-v1 needs ${nDigits} scalars, got ${scalars.length}`);
  }
  scalars.forEach((s, i) => {
    if (bytesToBigInt(s) >= N) throw docError(`olivia-v1 scalar ${i} is not below the order`);
  });
  let ecdsaSignature: Uint8Array | null = null;
  if (schemes['ecdsa-v1'] !== undefined && schemes['ecdsa-v1'] !== null) {
    const ecdsa = asObject(schemes['ecdsa-v1'], 'attestation.schemes.ecdsa-v1');
    ecdsaSignature = hexField(ecdsa.signature, 64, 'ecdsa-v1 signature');
  }
  return { outcome, scalars, ecdsaSignature, time: oliviaTimeField(att.time, 'attestation.time') };
}

/** Parses the body of `GET <event id>` (an object, or its JSON text). */
export function parseOliviaEventResponse(json: unknown): OliviaEventResponse {
  let body = json;
  if (typeof body === 'string') {
    try {
      body = JSON.parse(body);
    } catch {
      throw docError('response is not valid JSON');
    }
  }
  const obj = asObject(body, 'response');
  const announcement = parseOliviaAnnouncement(obj.announcement);
  const attestation =
    obj.attestation === null || obj.attestation === undefined
      ? null
      : parseOliviaAttestation(obj.attestation, announcement.nDigits);
  return { announcement, attestation };
}

/**
 * Checks a parsed response against the oracle's olivia-v1 public key: if attested, every scalar
 * must match the announced nonces and the outcome ({@link InvalidAttestationError} otherwise).
 */
export function assertOliviaEvent(
  response: OliviaEventResponse,
  oraclePublicKey: Uint8Array,
): void {
  const { announcement, attestation } = response;
  if (attestation === null) return;
  assertAttestation(
    oraclePublicKey,
    announcement.nonces,
    attestation.outcome,
    attestation.scalars,
    announcement.nDigits,
  );
}

const ANNOUNCEMENT_TAG = 'DLC/announcement';

/**
 * The bytes a BIP340 announcement signature signs: schnorr_fun's `Message::plain` — the tag
 * "DLC/announcement" zero-padded to 64 bytes, then the event JSON text. (BIP340 hashes this with
 * the "BIP0340/challenge" tag as usual.)
 */
export function announcementMessage(data: string): Uint8Array {
  const msg = utf8ToBytes(data);
  const out = new Uint8Array(64 + msg.length);
  out.set(utf8ToBytes(ANNOUNCEMENT_TAG), 0);
  out.set(msg, 64);
  return out;
}

/**
 * Verifies an announcement's BIP340 signature under the oracle's *announcement* key (32-byte
 * x-only; olivia publishes it at `GET /` as `public_keys.announcement`, distinct from the
 * olivia-v1 attestation key).
 */
export function verifyAnnouncementSignature(
  announcement: Pick<OliviaAnnouncement, 'data' | 'signature'>,
  announcementPublicKey: Uint8Array,
): boolean {
  try {
    return schnorr.verify(
      announcement.signature,
      announcementMessage(announcement.data),
      announcementPublicKey,
    );
  } catch {
    return false;
  }
}

/** Signs announcement JSON text with the announcement key (for dlcfd's own oracle). */
export function signAnnouncement(
  data: string,
  announcementSecretKey: Uint8Array,
  auxRand?: Uint8Array,
): Uint8Array {
  parseSecretScalar(announcementSecretKey, 'announcement secret key');
  return schnorr.sign(announcementMessage(data), announcementSecretKey, auxRand);
}
