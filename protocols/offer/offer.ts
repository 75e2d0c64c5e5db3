import type { PeerId, PrivateKey, Stream } from '@libp2p/interface';
import { type Logger, pino } from 'pino';
import {
  DEFAULT_MAX_CLOCK_SKEW_SECS,
  DEFAULT_MAX_OFFER_AGE_SECS,
  type Offer,
} from '../../model/offer.ts';
import {
  envelopeCost,
  OverBudgetError,
  type SourceBudget,
  SourceBudgets,
} from '../discovery/budget.ts';
import { OfferGossip, type OfferGossipStats, type PubSubPort } from '../discovery/gossip.ts';
import { type Clock, type ProtocolHost, systemClock } from '../ports.ts';
import { Framed } from '../wire.ts';
import {
  MAX_INBOUND_STREAMS,
  MAX_MESSAGE_BYTES,
  MAX_OUTBOUND_STREAMS,
  OFFER_PROTOCOL,
  TIMEOUT_MS,
} from './constants.ts';
import {
  type EnvelopeLimits,
  EnvelopeSequence,
  EnvelopeVerifier,
  ReplayedEnvelopeError,
  SignedEnvelopeMessage,
  signEnvelope,
} from './envelope.ts';
import { OfferBook, type OfferBookUpdate } from './offer-book.ts';
import { RecentOffers } from './recent.ts';

/** How often a taker looks for makers silent longer than `makerTimeoutSecs`. */
const EXPIRY_TICK_MS = 1_000;

export interface OfferProtocolInit {
  /** The maker publishes; the taker receives. */
  readonly role: 'maker' | 'taker';
  readonly logger?: Logger;
  /** @default TIMEOUT_MS */
  readonly timeoutMs?: number;
  /** Maker: its libp2p key, which signs its envelopes (required to publish). */
  readonly signer?: { readonly peerId: string; readonly key: PrivateKey };
  /** Maker: where it can be dialled, announced in every envelope. @default none */
  readonly addrs?: () => readonly string[];
  /** The gossip service: without it offers go only by direct push (no discovery). */
  readonly pubsub?: PubSubPort;
  /** Unix seconds. @default the system clock */
  readonly clock?: Clock;
  /** Envelope age and clock skew accepted. @default the order policy's defaults */
  readonly limits?: EnvelopeLimits;
  /**
   * Maker: the seq of its envelopes. Give it a {@link SequenceStore} (envelope.ts) so a restart
   * with the clock stepped back does not announce seqs takers already passed.
   * @default the system clock in ms, kept in memory only
   */
  readonly sequence?: EnvelopeSequence;
  /** Maker: re-announce the current offers this often (ms); 0 = only on change. @default 0 */
  readonly announceIntervalMs?: number;
  /** Taker: most makers in the book. @default MAX_BOOK_MAKERS */
  readonly maxMakers?: number;
  /**
   * Taker: makers never evicted from a full book for a newcomer (offer-book.ts), e.g. those the
   * node traded with or is connected to. @default none
   */
  readonly keepMaker?: (maker: string) => boolean;
  /**
   * Envelope work each gossip neighbour, or peer pushing, may cause before its envelopes are
   * ignored unopened (protocols/discovery/budget.ts). @default DEFAULT_SOURCE_BUDGET
   */
  readonly sourceBudget?: SourceBudget;
  /** A maker not heard for this long (s) leaves the book (checked every `announceIntervalMs`
   * on a maker, every second on a taker). 0 = never. @default 0 */
  readonly makerTimeoutSecs?: number;
}

/**
 * `/dlcfd/offer/1.0.0` and the offer gossip. The maker signs its whole current offer set into an
 * envelope (envelope.ts) and announces it on the gossip topic (protocols/discovery/) on every
 * change and every `announceIntervalMs`; a taker that connects (identify says it speaks the
 * protocol) gets a freshly signed envelope pushed at once. Without gossip every change is pushed
 * to every connected taker. Both ways end in one check, {@link EnvelopeVerifier}, before the
 * offers reach the {@link OfferBook}, which validates each offer. A push that fails is logged and
 * not retried: the next announcement or reconnect sends the full set.
 */
export class OfferProtocol {
  readonly book: OfferBook;
  readonly #node: ProtocolHost;
  readonly #init: OfferProtocolInit;
  readonly #log: Logger;
  readonly #listeners = new Set<(u: OfferBookUpdate) => void>();
  readonly #published = new RecentOffers();
  readonly #verifier: EnvelopeVerifier;
  readonly #sequence: EnvelopeSequence;
  readonly #clock: Clock;
  readonly #gossip: OfferGossip | undefined;
  readonly #goneListeners = new Set<(maker: string) => void>();
  readonly #budgets: SourceBudgets;
  #pushesOverBudget = 0;
  #timer: NodeJS.Timeout | undefined;
  #onIdentify = (evt: CustomEvent<{ peerId: PeerId; protocols: string[] }>): void => {
    if (evt.detail.protocols.includes(OFFER_PROTOCOL)) void this.#push(evt.detail.peerId);
  };
  #onDisconnect = (evt: CustomEvent<PeerId>): void => {
    const maker = evt.detail.toString();
    if (!this.book.has(maker)) return;
    this.book.remove(maker);
    this.#gone(maker);
  };

  constructor(node: ProtocolHost, init: OfferProtocolInit) {
    this.#node = node;
    this.#init = init;
    this.#log = (init.logger ?? pino({ level: 'silent' })).child({ protocol: OFFER_PROTOCOL });
    this.#clock = init.clock ?? systemClock;
    this.#sequence = init.sequence ?? new EnvelopeSequence();
    this.book = new OfferBook({
      maxClockSkewSecs: init.limits?.maxClockSkewSecs ?? DEFAULT_MAX_CLOCK_SKEW_SECS,
      ...(init.maxMakers !== undefined ? { maxMakers: init.maxMakers } : {}),
      ...(init.keepMaker ? { keep: init.keepMaker } : {}),
    });
    this.#verifier = new EnvelopeVerifier(
      init.limits ?? {
        maxAgeSecs: DEFAULT_MAX_OFFER_AGE_SECS,
        maxClockSkewSecs: DEFAULT_MAX_CLOCK_SKEW_SECS,
      },
    );
    this.#budgets = new SourceBudgets(init.sourceBudget);
    this.#gossip =
      init.pubsub &&
      new OfferGossip(init.pubsub, {
        accept: (envelope, from) => this.#accept(envelope, from),
        refused: (err, from) => this.#log.debug({ err, from }, 'gossiped envelope refused'),
        overBudget: (source) => this.#log.debug({ source }, 'gossip source over budget: ignored'),
        budgets: this.#budgets,
      });
  }

  async start(): Promise<void> {
    // Every node relays announcements; a taker also reads them into its book.
    this.#gossip?.start();
    const tickMs =
      this.#init.role === 'maker'
        ? (this.#init.announceIntervalMs ?? 0)
        : (this.#init.makerTimeoutSecs ?? 0) > 0
          ? EXPIRY_TICK_MS
          : 0;
    if (tickMs > 0) this.#timer = setInterval(() => void this.#tick(), tickMs).unref();
    if (this.#init.role === 'taker') {
      await this.#node.handle(
        OFFER_PROTOCOL,
        (stream, connection) => this.#receive(stream, connection.remotePeer),
        {
          maxInboundStreams: MAX_INBOUND_STREAMS,
          maxOutboundStreams: MAX_OUTBOUND_STREAMS,
        },
      );
      this.#node.addEventListener('peer:disconnect', this.#onDisconnect);
    } else {
      this.#node.addEventListener('peer:identify', this.#onIdentify);
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#gossip?.stop();
    this.#node.removeEventListener('peer:identify', this.#onIdentify);
    this.#node.removeEventListener('peer:disconnect', this.#onDisconnect);
    if (this.#init.role === 'taker') await this.#node.unhandle(OFFER_PROTOCOL);
  }

  /** Maker: replaces the offer set and announces it (gossip, or a push to every taker). */
  async publish(offers: readonly Offer[], options: { signal?: AbortSignal } = {}): Promise<void> {
    this.#published.publish(offers);
    await this.announce(options);
  }

  /** Maker: announces the current offer set again, in a freshly signed envelope. */
  async announce(options: { signal?: AbortSignal } = {}): Promise<void> {
    if (!this.#gossip) {
      const peers = this.#node.getPeers();
      await Promise.all(peers.map((p) => this.#push(p, options.signal)));
      return;
    }
    try {
      await this.#gossip.publish(await this.#envelope());
    } catch (err) {
      this.#log.debug({ err }, 'offer announcement failed');
    }
  }

  /**
   * Called with a maker that left the book: disconnected, silent for `makerTimeoutSecs`, or
   * evicted from a full book for a newcomer.
   */
  onMakerGone(listener: (maker: string) => void): () => void {
    this.#goneListeners.add(listener);
    return () => this.#goneListeners.delete(listener);
  }

  /** What the gossip validator did with the envelopes it was given (undefined without gossip). */
  get gossipStats(): Readonly<OfferGossipStats> | undefined {
    return this.#gossip?.stats;
  }

  /** Taker: how many direct pushes were refused unopened, their peer over its budget. */
  get pushesOverBudget(): number {
    return this.#pushesOverBudget;
  }

  /** What the maker last published (the taker's view is {@link book}). */
  get published(): readonly Offer[] {
    return this.#published.latest;
  }

  /**
   * Maker: the offer `id` if it published it at most `maxAgeSecs` before `now` and has not
   * withdrawn its offers since, with its current offer for the same side.
   */
  recent(
    id: string,
    now: number,
    maxAgeSecs: number,
  ): { offer: Offer; current: Offer | undefined } | undefined {
    return this.#published.find(id, now, maxAgeSecs);
  }

  /** Taker: called with every update of a maker's offers (rejected ones listed with reasons). */
  onOffers(listener: (u: OfferBookUpdate) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async #push(peer: PeerId, abort?: AbortSignal): Promise<void> {
    const timeout = AbortSignal.timeout(this.#init.timeoutMs ?? TIMEOUT_MS);
    const signal = abort ? AbortSignal.any([abort, timeout]) : timeout;
    let framed: Framed | undefined;
    try {
      const stream = await this.#node.dialProtocol(peer, OFFER_PROTOCOL, { signal });
      framed = new Framed(stream, { maxMessageBytes: MAX_MESSAGE_BYTES });
      await framed.write(await this.#envelope(), { signal });
      await framed.close({ signal });
    } catch (err) {
      framed?.abort(err as Error);
      this.#log.debug({ err, peer: peer.toString() }, 'offer push failed');
    }
  }

  async #receive(stream: Stream, peer: PeerId): Promise<void> {
    const framed = new Framed(stream, {
      maxMessageBytes: MAX_MESSAGE_BYTES,
      timeoutMs: this.#init.timeoutMs ?? TIMEOUT_MS,
    });
    const from = peer.toString();
    try {
      const envelope = await framed.read(SignedEnvelopeMessage);
      if (!this.#budgets.charge(from, envelopeCost(envelope.payload.length), Date.now())) {
        this.#pushesOverBudget++;
        throw new OverBudgetError(`${from} pushes offers past its budget`);
      }
      await this.#accept(envelope, from);
      await framed.close();
    } catch (err) {
      if (err instanceof OverBudgetError) this.#log.debug({ err, peer: from }, 'push ignored');
      // An honest maker's push can arrive after a newer envelope came by gossip.
      else if (err instanceof ReplayedEnvelopeError)
        this.#log.debug({ err, peer: from }, 'older offers');
      else this.#log.warn({ err, peer: from }, 'bad offer message');
      framed.abort(err as Error);
    }
  }

  /** The current offer set signed by the maker, with the next sequence number. */
  async #envelope() {
    const signer = this.#init.signer;
    if (!signer) throw new Error('a maker needs its key (signer) to announce offers');
    return signEnvelope(signer.key, signer.peerId, {
      seq: await this.#sequence.next(),
      createdAt: this.#clock(),
      addrs: this.#init.addrs?.() ?? [],
      offers: this.#published.latest,
    });
  }

  /**
   * The one way into the book: an envelope verified (signature, maker = sender, age, sequence),
   * then its offers validated one by one. Throws the envelope's refusal.
   */
  async #accept(envelope: unknown, from: string): Promise<OfferBookUpdate> {
    const now = this.#clock();
    const a = await this.#verifier.verify(envelope, now, from);
    const update = this.book.apply(a.maker, a.offers, { at: now, addrs: a.addrs });
    for (const r of update.rejected) this.#log.warn({ peer: a.maker, ...r }, 'offer rejected');
    if (update.evicted) {
      this.#log.info({ maker: update.evicted, for: a.maker }, 'book full: maker evicted');
      this.#gone(update.evicted);
    }
    this.#tell(update);
    return update;
  }

  /**
   * Tells every listener; one that throws is logged, never the envelope's refusal (that would
   * make gossip penalise the honest relay that forwarded it).
   */
  #tell(update: OfferBookUpdate): void {
    for (const l of this.#listeners) {
      try {
        l(update);
      } catch (err) {
        this.#log.error({ err, maker: update.maker }, 'offer listener failed');
      }
    }
  }

  /** Tells everyone `maker` left the book (silent too long, or evicted). */
  #gone(maker: string): void {
    this.#tell({ maker, accepted: [], rejected: [], gone: true });
    for (const l of this.#goneListeners) {
      try {
        l(maker);
      } catch (err) {
        this.#log.error({ err, maker }, 'maker-gone listener failed');
      }
    }
  }

  /** Maker: re-announce; everyone: drop makers silent for too long. */
  async #tick(): Promise<void> {
    if (this.#init.role === 'maker' && this.#published.latest.length > 0) await this.announce();
    const timeout = this.#init.makerTimeoutSecs ?? 0;
    if (timeout <= 0) return;
    for (const maker of this.book.expire(this.#clock(), timeout)) {
      this.#log.info({ maker }, 'maker silent: dropped from the book');
      this.#gone(maker);
    }
  }
}
