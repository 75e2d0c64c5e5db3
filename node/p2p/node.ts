/**
 * The libp2p host both roles run: TCP, Noise, one multiplexed connection per peer, identify and
 * ping, and gossipsub for offer discovery (protocols/discovery/). Each CFD protocol registers its own handler on it (protocols/), so a stream arrives
 * directly at the component that owns that protocol.
 *
 * yamux is the default muxer: it has flow control and no per-connection stream-rate limit.
 * mplex stays selectable for peers that need it, with its rate limiter raised, because its
 * default closes a connection that opens more than 5 streams a second — a rollover burst does.
 */
import { noise } from '@chainsafe/libp2p-noise';
import { gossipsub, StrictSign } from '@libp2p/gossipsub';
import { createTopicScoreParams } from '@libp2p/gossipsub/score';
import { identify } from '@libp2p/identify';
import type { PrivateKey } from '@libp2p/interface';
import { mplex } from '@libp2p/mplex';
import { ping } from '@libp2p/ping';
import { tcp } from '@libp2p/tcp';
import { yamux } from '@libp2p/yamux';
import { createLibp2p, type Libp2p } from 'libp2p';
import { OFFERS_TOPIC } from '../../protocols/discovery/gossip.ts';
import { MAX_MESSAGE_BYTES } from '../../protocols/offer/constants.ts';
import { VERSION } from '../version.ts';

export type Muxer = 'yamux' | 'mplex';

/** Streams per second mplex tolerates per connection before closing it (its default is 5). */
export const MPLEX_DISCONNECT_THRESHOLD = 100;

/** Implementation name announced over identify, with {@link VERSION}. */
export const NODE_NAME = 'dlcfd';

export interface P2pNodeOptions {
  readonly privateKey: PrivateKey;
  /** Multiaddrs to listen on; none for a dial-only taker. @default [] */
  readonly listen?: readonly string[];
  /** @default 'yamux' */
  readonly muxer?: Muxer;
  /** Peers refused in both directions (checked on every connection; the set may change). */
  readonly blocked?: ReadonlySet<string>;
  /** libp2p's connection limits. @default DEFAULT_CONNECTION_LIMITS */
  readonly connections?: Partial<ConnectionLimits>;
}

/** The connection manager's limits that bound what strangers can open (libp2p 3 names). */
export interface ConnectionLimits {
  /** Open connections; libp2p prunes the least valuable beyond it. */
  readonly maxConnections: number;
  /** Inbound connections still upgrading (encryption, muxer): a handshake flood waits here. */
  readonly maxIncomingPendingConnections: number;
  /** New inbound connections per second from one host; more are refused. */
  readonly inboundConnectionThreshold: number;
}

/**
 * A maker serves takers, each on one connection: 256 leaves room for hundreds of takers (libp2p's
 * own default is 300) while bounding memory per stranger. The handshake and per-host rates are
 * libp2p's defaults (10 pending, 5 per second per host): a legitimate taker connects once and
 * stays connected, so they only slow an attacker minting peer ids from one host.
 */
export const DEFAULT_CONNECTION_LIMITS: ConnectionLimits = {
  maxConnections: 256,
  maxIncomingPendingConnections: 10,
  inboundConnectionThreshold: 5,
};

export type P2pNode = Libp2p<{
  identify: ReturnType<ReturnType<typeof identify>>;
  ping: ReturnType<ReturnType<typeof ping>>;
  pubsub: ReturnType<ReturnType<typeof gossipsub>>;
}>;

/**
 * Gossipsub's score on the offer topic: only invalid messages count. One forged envelope
 * relayed (the validator's Reject) takes a peer below the graylist threshold (−80 by default),
 * so its gossip is dropped until the penalty decays; a quiet topic (an envelope a minute per
 * maker) must not count against a peer for delivering little, so mesh delivery weights are 0.
 */
const OFFER_TOPIC_SCORE = createTopicScoreParams({
  topicWeight: 1,
  timeInMeshWeight: 0,
  firstMessageDeliveriesWeight: 0,
  meshMessageDeliveriesWeight: 0,
  meshFailurePenaltyWeight: 0,
  invalidMessageDeliveriesWeight: -100,
  invalidMessageDeliveriesDecay: 0.5,
});

/** Creates and starts a libp2p host. */
export async function createP2pNode(options: P2pNodeOptions): Promise<P2pNode> {
  const muxer =
    (options.muxer ?? 'yamux') === 'yamux'
      ? yamux()
      : mplex({ disconnectThreshold: MPLEX_DISCONNECT_THRESHOLD });
  return createLibp2p({
    privateKey: options.privateKey,
    nodeInfo: { name: NODE_NAME, version: VERSION },
    connectionGater: {
      denyDialPeer: (peer) => options.blocked?.has(peer.toString()) ?? false,
      denyInboundEncryptedConnection: (peer) => options.blocked?.has(peer.toString()) ?? false,
    },
    addresses: { listen: [...(options.listen ?? [])] },
    connectionManager: { ...DEFAULT_CONNECTION_LIMITS, ...options.connections },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [muxer],
    services: {
      identify: identify(),
      ping: ping(),
      pubsub: gossipsub({
        // Every message signed by its publisher and checked; the envelope inside is signed too.
        globalSignaturePolicy: StrictSign,
        // A maker alone on the network still announces (nobody hears it yet).
        allowPublishToZeroTopicPeers: true,
        allowedTopics: [OFFERS_TOPIC],
        maxInboundDataLength: MAX_MESSAGE_BYTES,
        scoreParams: {
          topics: { [OFFERS_TOPIC]: OFFER_TOPIC_SCORE },
          // No IP colocation penalty (−5 × (peers on one address − 10)²): from 14 peers on one
          // address it publishes to none of them, from 15 it ignores them all, so a maker would
          // stop serving honest takers behind one NAT, VPN or Tor (its onion service sees them
          // all from 127.0.0.1) or on one testnet machine. Sybils are
          // bounded where they cost something instead: forged envelopes (−100 each), the book's
          // and the dial set's caps, the connection manager's per-host rate.
          IPColocationFactorWeight: 0,
        },
      }),
    },
  }) as Promise<P2pNode>;
}
