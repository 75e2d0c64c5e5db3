// A libp2p host on loopback running the offer protocol over gossipsub, as a daemon wires it
// (node/p2p/node.ts + protocols/offer), for the discovery specs.
import type { PrivateKey } from '@libp2p/interface';
import { loadOrCreateIdentity } from '../../node/p2p/identity.ts';
import { type ConnectionLimits, createP2pNode, type P2pNode } from '../../node/p2p/node.ts';
import { OfferProtocol } from '../../protocols/offer/index.ts';

export interface OfferHost {
  readonly node: P2pNode;
  readonly key: PrivateKey;
  readonly offers: OfferProtocol;
  /** Stops the protocol, then the host. */
  stop(): Promise<void>;
}

/**
 * Starts a host with its identity in `<dir>/<name>`: a maker listens on a loopback port, a taker
 * only dials. `connections` overrides the host's connection limits.
 */
export async function offerHost(
  dir: string,
  name: string,
  role: 'maker' | 'taker',
  connections?: Partial<ConnectionLimits>,
): Promise<OfferHost> {
  const key = await loadOrCreateIdentity(`${dir}/${name}`);
  const node = await createP2pNode({
    privateKey: key,
    listen: role === 'maker' ? ['/ip4/127.0.0.1/tcp/0'] : [],
    ...(connections && { connections }),
  });
  const offers = new OfferProtocol(node, {
    role,
    signer: { peerId: node.peerId.toString(), key },
    addrs: () => node.getMultiaddrs().map(String),
    pubsub: node.services.pubsub,
  });
  await offers.start();
  return {
    node,
    key,
    offers,
    stop: async () => {
      await offers.stop();
      await node.stop();
    },
  };
}
