/**
 * The signed offer envelope: what a maker announces, on the gossip topic and in a direct push
 * alike — `{ maker, seq, createdAt, addrs, offers }`, signed by the maker's libp2p key.
 *
 * Gossip relays messages for others, so the transport's own signature (gossipsub's StrictSign)
 * only proves who published a message, not that the offers in it are the maker's. The envelope's
 * signature is over its payload, by the key behind the maker's peer id (an Ed25519 peer id embeds
 * its public key), so no relay can forge or alter offers, and an envelope naming another maker
 * fails. `seq` strictly increases per maker (the maker's clock in ms, never repeating), and
 * `createdAt` bounds the age: an old envelope replayed by a relay is refused.
 *
 * One verification path: {@link EnvelopeVerifier.verify} is what the gossip validator and the
 * direct push both call before anything reaches the {@link OfferBook}.
 */
import type { PrivateKey } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import { multiaddr } from '@multiformats/multiaddr';
import { z } from 'zod';
import { NamedError } from '../../model/named-error.ts';
import type { Offer } from '../../model/offer.ts';
import { encode } from '../wire.ts';
import { MAX_ADDRS_PER_ENVELOPE, MAX_MESSAGE_BYTES, MAX_OFFERS_PER_MESSAGE } from './constants.ts';
import { offerSchema, offerToWire } from './messages.ts';

/** Signed bytes start with this: a signature over an envelope means nothing anywhere else. */
export const ENVELOPE_DOMAIN = 'dlcfd/offer-envelope/1\n';

/** Why an envelope was refused; each subclass one reason. */
export class EnvelopeError extends NamedError {}
/** Not an envelope: bad JSON or schema, or a maker id without a public key. */
export class MalformedEnvelopeError extends EnvelopeError {}
/** The signature is not the named maker's over this payload (forged, altered, another maker's). */
export class BadSignatureError extends EnvelopeError {}
/** A valid envelope of a maker other than the peer that must have sent it. */
export class WrongMakerError extends EnvelopeError {}
/** `seq` not above the last one accepted from this maker: a replay or an older announcement. */
export class ReplayedEnvelopeError extends EnvelopeError {}
/** `createdAt` older than the offer age. */
export class StaleEnvelopeError extends EnvelopeError {}
/** `createdAt` in the future beyond the clock skew allowed. */
export class FutureEnvelopeError extends EnvelopeError {}

/** On the wire: the payload exactly as signed (a JSON string) and its signature (base64). */
export const SignedEnvelopeMessage = z.object({
  type: z.literal('signed-offers'),
  payload: z.string().max(MAX_MESSAGE_BYTES),
  signature: z.string().max(200),
});
export type SignedEnvelope = z.input<typeof SignedEnvelopeMessage>;

/**
 * A multiaddr as text. Checked here, where the envelope enters, so that a garbage address is the
 * announcing maker's fault (rejected, its sender penalised) — not a failure later, in the taker's
 * dialling, that would make every taker reject the envelope from the honest maker relaying it.
 */
const addrSchema = z
  .string()
  .max(256)
  .refine(
    (a) => {
      try {
        multiaddr(a);
        return true;
      } catch {
        return false;
      }
    },
    { message: 'not a multiaddr' },
  );

const payloadSchema = z.object({
  maker: z.string().min(1).max(128),
  seq: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  createdAt: z.number().int().nonnegative(),
  addrs: z.array(addrSchema).max(MAX_ADDRS_PER_ENVELOPE),
  offers: z.array(offerSchema).max(MAX_OFFERS_PER_MESSAGE),
});

/** What a payload says about itself, read before anything is checked (see `EnvelopeVerifier`). */
const headerSchema = payloadSchema.pick({ maker: true, seq: true, createdAt: true });
type EnvelopeHeader = z.infer<typeof headerSchema>;

/** A verified envelope's content. */
export interface OfferAnnouncement {
  readonly maker: string;
  readonly seq: number;
  /** Unix seconds. */
  readonly createdAt: number;
  /** Where the maker can be dialled (multiaddrs, with or without `/p2p/<maker>`). */
  readonly addrs: readonly string[];
  readonly offers: readonly Offer[];
}

const bytes = (payload: string): Uint8Array => new TextEncoder().encode(ENVELOPE_DOMAIN + payload);

/** Signs `content` as `key`'s peer. */
export async function signEnvelope(
  key: PrivateKey,
  maker: string,
  content: Omit<OfferAnnouncement, 'maker'>,
): Promise<SignedEnvelope> {
  // encode(): bigints as decimal strings, like every message on the wire.
  const payload = new TextDecoder().decode(
    encode({
      maker,
      seq: content.seq,
      createdAt: content.createdAt,
      addrs: content.addrs,
      offers: content.offers.map(offerToWire),
    }),
  );
  const signature = await key.sign(bytes(payload));
  return {
    type: 'signed-offers',
    payload,
    signature: Buffer.from(signature).toString('base64'),
  };
}

/**
 * Checks the schema and the signature; nothing about time or order. `precheck` is called first
 * with the payload's maker, seq and createdAt as it claims them (when it has them), unchecked, and
 * may throw to refuse it before the costly part (the offers' schema, the signature).
 */
export async function openEnvelope(
  message: unknown,
  precheck?: (claimed: EnvelopeHeader) => void,
): Promise<OfferAnnouncement> {
  const wire = SignedEnvelopeMessage.safeParse(message);
  if (!wire.success) throw new MalformedEnvelopeError(`not an envelope: ${wire.error.message}`);
  let json: unknown;
  try {
    json = JSON.parse(wire.data.payload);
  } catch (err) {
    throw new MalformedEnvelopeError(`bad envelope payload: ${(err as Error).message}`);
  }
  const claimed = headerSchema.safeParse(json);
  if (claimed.success) precheck?.(claimed.data);
  let content: OfferAnnouncement;
  try {
    content = payloadSchema.parse(json);
  } catch (err) {
    throw new MalformedEnvelopeError(`bad envelope payload: ${(err as Error).message}`);
  }
  let publicKey: ReturnType<typeof peerIdFromString>['publicKey'];
  try {
    publicKey = peerIdFromString(content.maker).publicKey;
  } catch {
    throw new MalformedEnvelopeError(`'${content.maker}' is not a peer id`);
  }
  if (!publicKey) throw new MalformedEnvelopeError(`peer id ${content.maker} embeds no key`);
  const signature = Buffer.from(wire.data.signature, 'base64');
  if (!(await publicKey.verify(bytes(wire.data.payload), signature)))
    throw new BadSignatureError(`not signed by ${content.maker}`);
  return content;
}

export interface EnvelopeLimits {
  /** The offer age: an envelope older than this is refused. */
  readonly maxAgeSecs: number;
  /** How far in the future `createdAt` may be. */
  readonly maxClockSkewSecs: number;
}

/**
 * Most makers whose last `seq` the verifier remembers. Past it, makers whose last envelope is older
 * than the offer age (plus the clock skew) are forgotten first — any envelope of theirs still
 * around is refused as stale anyway — then the least recently heard: peer ids cost nothing to
 * mint, and a flood of fresh makers must not grow the map without end. Forgetting a maker still
 * fresh only lets a relay replay its last few envelopes (within the offer age) once.
 */
export const MAX_TRACKED_MAKERS = 4_096;

/**
 * Verifies envelopes and remembers the last `seq` accepted per maker (kept when a maker drops
 * out, so its old envelopes stay refused when it returns), for at most `maxTracked` makers
 * ({@link MAX_TRACKED_MAKERS}).
 */
export class EnvelopeVerifier {
  readonly #limits: EnvelopeLimits;
  readonly #maxTracked: number;
  /** Least recently accepted first (a maker is re-inserted on each acceptance). */
  readonly #last = new Map<string, { readonly seq: number; readonly createdAt: number }>();

  constructor(limits: EnvelopeLimits, maxTracked: number = MAX_TRACKED_MAKERS) {
    this.#limits = limits;
    this.#maxTracked = maxTracked;
  }

  /** How many makers' sequences are remembered. */
  get tracked(): number {
    return this.#last.size;
  }

  /**
   * The envelope's content if it is the maker's, fresh at `now` (unix seconds), newer than any
   * accepted before, and — with `from` — sent by the maker itself. Throws an {@link EnvelopeError}
   * naming the reason otherwise. Accepting records its `seq`.
   *
   * An envelope too old, or whose seq is not after its maker's last, is refused before its offers
   * are parsed and its signature checked: whoever signed it, it would be refused, so a relay
   * replaying old announcements costs a JSON parse each, not a verification (and a forgery with an
   * old seq is ignored, not rejected — its relay is not penalised, but it costs nothing either).
   */
  async verify(message: unknown, now: number, from?: string): Promise<OfferAnnouncement> {
    const content = await openEnvelope(message, (claimed) => this.#ordered(claimed, now));
    const { maker, seq, createdAt } = content;
    if (from !== undefined && from !== maker)
      throw new WrongMakerError(`envelope of ${maker} sent as ${from}`);
    if (createdAt - now > this.#limits.maxClockSkewSecs)
      throw new FutureEnvelopeError(`envelope of ${maker} made ${createdAt - now} s in the future`);
    this.#ordered(content, now);
    this.#last.delete(maker);
    this.#last.set(maker, { seq, createdAt });
    if (this.#last.size > this.#maxTracked) this.#forget(now);
    return content;
  }

  /** Throws unless the envelope is fresh at `now` and after its maker's last accepted `seq`. */
  #ordered({ maker, seq, createdAt }: EnvelopeHeader, now: number): void {
    if (now - createdAt > this.#limits.maxAgeSecs)
      throw new StaleEnvelopeError(`envelope of ${maker} is ${now - createdAt} s old`);
    const last = this.#last.get(maker)?.seq;
    if (last !== undefined && seq <= last)
      throw new ReplayedEnvelopeError(`envelope ${seq} of ${maker} not after ${last}`);
  }

  /** Back under the bound: stale makers first, then the least recently heard. */
  #forget(now: number): void {
    const horizon = this.#limits.maxAgeSecs + this.#limits.maxClockSkewSecs;
    for (const [maker, { createdAt }] of this.#last) {
      if (now - createdAt > horizon) this.#last.delete(maker);
    }
    for (const maker of this.#last.keys()) {
      if (this.#last.size <= this.#maxTracked) break;
      this.#last.delete(maker);
    }
  }
}

/**
 * Where a maker keeps, across restarts, a ceiling on every `seq` it may have announced (the
 * node's datadir). Only the maker's own {@link EnvelopeSequence} writes it: nothing a peer sends
 * reaches it.
 */
export interface SequenceStore {
  /** The ceiling stored, or undefined on first start. */
  load(): Promise<number | undefined>;
  /** Stores `ceiling` durably; no seq up to it leaves before this resolves. */
  save(ceiling: number): Promise<void>;
}

/**
 * Seqs reserved per write of the store (ms of clock): an envelope costs an fsync only once per
 * this much clock, and a restart jumps at most this far ahead of the clock (harmless: takers only
 * compare seqs).
 */
export const SEQUENCE_RESERVE = 60_000;

export interface EnvelopeSequenceOptions {
  /** Unix ms the seq follows. @default Date.now */
  readonly clockMs?: () => number;
  /** Keeps the ceiling across restarts. @default none: the clock alone (a step back repeats seqs) */
  readonly store?: SequenceStore;
  /** @default SEQUENCE_RESERVE */
  readonly reserve?: number;
}

/**
 * A maker's envelope sequence: its clock in ms, strictly increasing even within one ms, and —
 * with a {@link SequenceStore} — above every seq announced before a restart, however far the
 * clock stepped back meanwhile (takers refuse a seq not above the last they accepted: a maker
 * going backwards would be refused until its clock caught up). It depends on nothing but the
 * clock and the store: no peer can move it.
 */
export class EnvelopeSequence {
  readonly #clockMs: () => number;
  readonly #store: SequenceStore | undefined;
  readonly #reserve: number;
  #last = 0;
  /** Seqs up to here are covered by the store; loaded on first use. */
  #ceiling: number | undefined;
  /** Calls run one after another: a reservation is written before any seq it covers leaves. */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(options: EnvelopeSequenceOptions = {}) {
    this.#clockMs = options.clockMs ?? Date.now;
    this.#store = options.store;
    this.#reserve = options.reserve ?? SEQUENCE_RESERVE;
  }

  /** The next seq: max(clock, last + 1), stored before it is answered. */
  next(): Promise<number> {
    const run = this.#queue.then(() => this.#next());
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #next(): Promise<number> {
    const store = this.#store;
    if (store && this.#ceiling === undefined) {
      const stored = (await store.load()) ?? 0;
      this.#ceiling = stored;
      this.#last = Math.max(this.#last, stored);
    }
    const seq = Math.max(this.#last + 1, Math.floor(this.#clockMs()));
    if (store && seq > this.#ceiling!) {
      const ceiling = Math.min(seq + this.#reserve, Number.MAX_SAFE_INTEGER);
      await store.save(ceiling);
      this.#ceiling = ceiling;
    }
    this.#last = seq;
    return seq;
  }
}
