/** Protocol id: the version lives here, and a node advertises what it speaks via identify. */
export const PROTOCOL_NAME = 'offer';
export const PROTOCOL_VERSION = '1.0.0';
export const OFFER_PROTOCOL = `/dlcfd/${PROTOCOL_NAME}/${PROTOCOL_VERSION}`;

/** An offer is about 600 bytes of JSON; 64 KiB holds a hundred with room to spare. */
export const MAX_MESSAGE_BYTES = 64 * 1024;

/** Most offers one message may carry: a maker quotes a few sides and sizes, not thousands. */
export const MAX_OFFERS_PER_MESSAGE = 100;

/** A push is one message; a peer that takes longer than this is not worth waiting for. */
export const TIMEOUT_MS = 10_000;

/** Pushes arrive one at a time per connection; a few in flight covers quick successive changes. */
export const MAX_INBOUND_STREAMS = 4;
export const MAX_OUTBOUND_STREAMS = 4;

/** Addresses one envelope may announce: a maker listens on a few, not hundreds. */
export const MAX_ADDRS_PER_ENVELOPE = 16;
