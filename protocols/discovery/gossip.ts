/**
 * Offer discovery over gossipsub: every node — maker and taker — subscribes to one topic,
 * {@link OFFERS_TOPIC}, on which makers announce their signed offer envelopes
 * (protocols/offer/envelope.ts). Makers relay for each other, so a taker that knows one address
 * (a bootstrap maker) hears every maker reachable from it, learns where each listens from its
 * envelope, and dials it.
 *
 * Why gossipsub (libp2p's pubsub, https://github.com/libp2p/specs/tree/master/pubsub/gossipsub)
 * rather than a DHT or a rendezvous server: the set to spread is small (a few envelopes a
 * minute per maker), every node wants all of it, and gossipsub gives relaying, deduplication and
 * peer scoring with no extra server. It runs with StrictSign (every message signed by its
 * publisher), and on top of that the envelope is signed by the maker itself, so that what a relay
 * forwards is the maker's word, not the relay's. ItchySats instead had takers dial one configured
 * maker (itchysats `crates/daemon/src/connection.rs`); this keeps that (`p2p.makers`) and adds
 * discovery.
 *
 * The topic validator is where an envelope is checked before gossipsub relays it: a forged or
 * malformed one is rejected (gossipsub penalises the peer that relayed it to us); an old or
 * replayed one is ignored (not relayed, not penalised: an honest relay may forward an older
 * announcement late). Before any of that, each envelope is charged to the neighbour that delivered
 * it (budget.ts): past its budget, a flood of valid envelopes is ignored unopened.
 */
import { type Message, type TopicValidatorFn, TopicValidatorResult } from '@libp2p/gossipsub';
import { z } from 'zod';
import {
  ReplayedEnvelopeError,
  type SignedEnvelope,
  StaleEnvelopeError,
} from '../offer/envelope.ts';
import { BookFullError } from '../offer/offer-book.ts';
import { decode, encode } from '../wire.ts';
import { envelopeCost, SourceBudgets } from './budget.ts';

/** The one topic of offer announcements; its version changes with the envelope's. */
export const OFFERS_TOPIC = '/dlcfd/offers/1';

/** The pubsub service of the host (a js-libp2p gossipsub is one). */
export interface PubSubPort {
  subscribe(topic: string): void;
  unsubscribe(topic: string): void;
  publish(topic: string, data: Uint8Array): Promise<unknown>;
  readonly topicValidators: Map<string, TopicValidatorFn>;
}

/**
 * Whether gossipsub relays a message refused with `err`: an old envelope, or a new maker a full
 * book has no room for, is ignored (no fault of the relay); anything else (forged, altered,
 * another maker's, malformed, from the future) rejected.
 */
export function validationResult(err: unknown): TopicValidatorResult {
  return err instanceof ReplayedEnvelopeError ||
    err instanceof StaleEnvelopeError ||
    err instanceof BookFullError
    ? TopicValidatorResult.Ignore
    : TopicValidatorResult.Reject;
}

export interface OfferGossipInit {
  /**
   * Verifies one envelope (the node's one verification path) sent by `from` (the gossip
   * publisher, which must be the maker) and takes it into the book; rejects with an
   * `EnvelopeError` when refused.
   */
  readonly accept: (envelope: unknown, from: string) => Promise<unknown>;
  /** Told of every refused message, for the log. */
  readonly refused?: (err: Error, from: string) => void;
  /**
   * Envelope work each neighbour may cause (budget.ts), shared with the direct push.
   * @default buckets of DEFAULT_SOURCE_BUDGET
   */
  readonly budgets?: SourceBudgets;
  /** Told of each envelope ignored over its source's budget, for the log. */
  readonly overBudget?: (source: string) => void;
  /** Milliseconds, for the budget's refill. @default Date.now */
  readonly nowMs?: () => number;
}

/** What the validator did with the messages it was given since start (a metric). */
export interface OfferGossipStats {
  /** Verified and taken into the book (and so relayed). */
  accepted: number;
  /** Refused by the verifier or the book: rejected or ignored ({@link validationResult}). */
  refused: number;
  /** Ignored unopened: their source was over its budget. */
  overBudget: number;
}

/** The envelope is any JSON here; {@link OfferGossipInit.accept} checks it. */
const anyJson = z.unknown();

/** Subscribes to {@link OFFERS_TOPIC}, validates what arrives, publishes this node's envelopes. */
export class OfferGossip {
  readonly #pubsub: PubSubPort;
  readonly #init: OfferGossipInit;
  readonly #budgets: SourceBudgets;
  readonly #stats: OfferGossipStats = { accepted: 0, refused: 0, overBudget: 0 };

  constructor(pubsub: PubSubPort, init: OfferGossipInit) {
    this.#pubsub = pubsub;
    this.#init = init;
    this.#budgets = init.budgets ?? new SourceBudgets();
  }

  /** Counts of the validator's outcomes (a copy). */
  get stats(): Readonly<OfferGossipStats> {
    return { ...this.#stats };
  }

  start(): void {
    this.#pubsub.topicValidators.set(OFFERS_TOPIC, (source, message) =>
      this.#validate(source.toString(), message),
    );
    this.#pubsub.subscribe(OFFERS_TOPIC);
  }

  stop(): void {
    this.#pubsub.unsubscribe(OFFERS_TOPIC);
    this.#pubsub.topicValidators.delete(OFFERS_TOPIC);
  }

  /** Announces `envelope` to the network. */
  async publish(envelope: SignedEnvelope): Promise<void> {
    await this.#pubsub.publish(OFFERS_TOPIC, encode(envelope));
  }

  async #validate(source: string, message: Message): Promise<TopicValidatorResult> {
    // StrictSign already refuses unsigned messages; the publisher must be the maker.
    if (message.type !== 'signed') return TopicValidatorResult.Reject;
    const nowMs = this.#init.nowMs?.() ?? Date.now();
    if (!this.#budgets.charge(source, envelopeCost(message.data.length), nowMs)) {
      this.#stats.overBudget++;
      this.#init.overBudget?.(source);
      return TopicValidatorResult.Ignore;
    }
    const from = message.from.toString();
    try {
      await this.#init.accept(decode(message.data, anyJson), from);
      this.#stats.accepted++;
      return TopicValidatorResult.Accept;
    } catch (err) {
      this.#stats.refused++;
      this.#init.refused?.(err as Error, from);
      return validationResult(err);
    }
  }
}
