/**
 * `/dlcfd/offer/1.0.0` — the maker's offers, pushed to each taker on connect and on every change.
 *
 * @example
 * ```ts
 * const offers = new OfferProtocol(node, { role: 'taker', logger });
 * await offers.start();
 * offers.onOffers(({ maker, accepted, rejected }) => { … });
 * offers.book.current(now, policy); // what may be taken now
 * ```
 */
export * from './constants.ts';
export {
  BadSignatureError,
  EnvelopeError,
  type EnvelopeLimits,
  EnvelopeSequence,
  type EnvelopeSequenceOptions,
  EnvelopeVerifier,
  FutureEnvelopeError,
  MAX_TRACKED_MAKERS,
  MalformedEnvelopeError,
  type OfferAnnouncement,
  openEnvelope,
  ReplayedEnvelopeError,
  SEQUENCE_RESERVE,
  type SequenceStore,
  type SignedEnvelope,
  SignedEnvelopeMessage,
  StaleEnvelopeError,
  signEnvelope,
  WrongMakerError,
} from './envelope.ts';
export { OffersMessage, offerToWire } from './messages.ts';
export { OfferProtocol, type OfferProtocolInit } from './offer.ts';
export {
  BookFullError,
  FutureOfferError,
  MAX_BOOK_MAKERS,
  MAX_BOOK_OFFERS,
  type MakerEntry,
  OfferBook,
  type OfferBookOptions,
  type OfferBookUpdate,
  type RejectedOffer,
} from './offer-book.ts';
export { MAX_RECENT_OFFERS, RecentOffers } from './recent.ts';
