/**
 * The ports of the protocols: the small interfaces each protocol needs of the node, declared here
 * so that protocols/ depends on nothing of node/ (the js-libp2p components pattern). node/daemon
 * builds the adapters (`node/daemon/protocol-ports.ts`); tests hand in fakes or the real parts,
 * which satisfy these structurally.
 *
 * A protocol's init names the ports it uses: a {@link ProtocolHost}, a {@link CfdLog}, a
 * contract store (`dlc/record.ts`'s `ContractStore`), {@link Announcements}, a {@link Clock}, an optional
 * {@link RunInstrument}; the order protocol adds its funding and chain ports (`order/order.ts`).
 */
import type { Libp2p } from '@libp2p/interface';
import type { Cfd, CfdCommand } from '../model/cfd.ts';
import type { Executor, Transport } from './driver.ts';

/**
 * The peer-to-peer host: register and remove a stream handler, dial a peer's protocol, list the
 * connected peers and hear of identified and disconnected ones. A libp2p node is one.
 */
export type ProtocolHost = Pick<
  Libp2p,
  'handle' | 'unhandle' | 'dialProtocol' | 'getPeers' | 'addEventListener' | 'removeEventListener'
>;

/** The CFD log: a CFD rebuilt from its events, and a command decided and appended durably. */
export interface CfdLog {
  load(cfdId: string): Promise<Cfd>;
  execute(cfdId: string, command: CfdCommand): Promise<unknown>;
}

/** The oracle's announcements: cached when known, fetched (and verified) otherwise. */
export interface Announcements {
  /** The oracle's public key (hex, x-only). */
  readonly publicKey: string;
  announcement(eventId: string): { readonly nonces: readonly Uint8Array[] } | undefined;
  fetchEvent(
    eventId: string,
    options: { signal?: AbortSignal },
  ): Promise<{ readonly announcement: { readonly nonces: readonly Uint8Array[] } }>;
}

/** Unix seconds now. */
export type Clock = () => number;

/**
 * Wraps one run's transport and executor under `prefix` (`<protocol>.<role>`, e.g. `order.taker`)
 * — the node arms its fail points this way (`node/runtime/failpoints.ts`). `persistKind` names the
 * record a persist effect writes. Absent: the run is not wrapped.
 */
export type RunInstrument = <
  Message extends { readonly type: string },
  MessageType,
  Effect extends { readonly type: string },
  Request,
  Result,
>(
  prefix: string,
  io: {
    readonly transport: Transport<Message, MessageType>;
    readonly executor: Executor<Effect, Request, Result>;
  },
  persistKind: (effect: Effect) => string | undefined,
) => {
  transport: Transport<Message, MessageType>;
  executor: Executor<Effect, Request, Result>;
};

/** The system clock in unix seconds, for protocols given none. */
export const systemClock: Clock = () => Math.floor(Date.now() / 1000);
