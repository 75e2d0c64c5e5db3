import type { PeerId, Stream } from '@libp2p/interface';
import { type Logger, pino } from 'pino';
import type { Offer } from '../../model/offer.ts';
import type { ProtocolHost } from '../ports.ts';
import { Framed } from '../wire.ts';
import {
  MAX_INBOUND_STREAMS,
  MAX_MESSAGE_BYTES,
  MAX_OUTBOUND_STREAMS,
  OFFER_PROTOCOL,
  TIMEOUT_MS,
} from './constants.ts';
import { OffersMessage, offerToWire } from './messages.ts';
import { OfferBook, type OfferBookUpdate } from './offer-book.ts';
import { RecentOffers } from './recent.ts';

export interface OfferProtocolInit {
  /** The maker publishes; the taker receives. */
  readonly role: 'maker' | 'taker';
  readonly logger?: Logger;
  /** @default TIMEOUT_MS */
  readonly timeoutMs?: number;
}

/**
 * `/dlcfd/offer/1.0.0`. The maker pushes its whole current offer set to every taker: when the
 * taker connects (identify says it speaks the protocol) and on every change. The taker's handler
 * reads one message per stream, validates every offer, and updates its {@link OfferBook}.
 * A push that fails is logged and not retried: the next change or reconnect sends the full set.
 */
export class OfferProtocol {
  readonly book = new OfferBook();
  readonly #node: ProtocolHost;
  readonly #init: OfferProtocolInit;
  readonly #log: Logger;
  readonly #listeners = new Set<(u: OfferBookUpdate) => void>();
  readonly #published = new RecentOffers();
  #onIdentify = (evt: CustomEvent<{ peerId: PeerId; protocols: string[] }>): void => {
    if (evt.detail.protocols.includes(OFFER_PROTOCOL)) void this.#push(evt.detail.peerId);
  };
  #onDisconnect = (evt: CustomEvent<PeerId>): void => {
    this.book.remove(evt.detail.toString());
  };

  constructor(node: ProtocolHost, init: OfferProtocolInit) {
    this.#node = node;
    this.#init = init;
    this.#log = (init.logger ?? pino({ level: 'silent' })).child({ protocol: OFFER_PROTOCOL });
  }

  async start(): Promise<void> {
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
    this.#node.removeEventListener('peer:identify', this.#onIdentify);
    this.#node.removeEventListener('peer:disconnect', this.#onDisconnect);
    if (this.#init.role === 'taker') await this.#node.unhandle(OFFER_PROTOCOL);
  }

  /** Maker: replaces the offer set and pushes it to every connected taker. */
  async publish(offers: readonly Offer[], options: { signal?: AbortSignal } = {}): Promise<void> {
    this.#published.publish(offers);
    const peers = this.#node.getPeers();
    await Promise.all(peers.map((p) => this.#push(p, options.signal)));
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
      await framed.write(
        { type: 'offers', offers: this.#published.latest.map(offerToWire) },
        { signal },
      );
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
    try {
      const message = await framed.read(OffersMessage);
      const update = this.book.apply(peer.toString(), message.offers);
      for (const r of update.rejected)
        this.#log.warn({ peer: peer.toString(), ...r }, 'offer rejected');
      for (const l of this.#listeners) l(update);
      await framed.close();
    } catch (err) {
      this.#log.warn({ err, peer: peer.toString() }, 'bad offer message');
      framed.abort(err as Error);
    }
  }
}
