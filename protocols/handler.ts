/**
 * The libp2p edge contract setup (`order/order.ts`) and rollover (`rollover/rollover.ts`) share:
 * registering the maker's handler, dialing the maker, framing a stream as a machine transport with
 * a read timeout per awaited message, handing a run to the node's instrument (its fail points), the
 * adaptor work of the CET set, and telling listeners how a run ended. Each protocol's handler keeps what is its own: its machines,
 * its executor's other requests and its outcome events.
 */
import type { PeerId, Stream } from '@libp2p/interface';
import type { Logger } from 'pino';
import type { z } from 'zod';
import {
  type AdaptorWorkerPool,
  type AdaptorWorkOptions,
  adaptorEncrypt,
  adaptorVerify,
} from '../dlc/index.ts';
import type { AdaptorResult, EncryptRequest, VerifyRequest } from './contract-signing.ts';
import {
  type Executor,
  type MachineStep,
  type ProtocolMachine,
  type RequestFailed,
  runMachine,
  type Transport,
} from './driver.ts';
import type { ProtocolHost, RunInstrument } from './ports.ts';
import { Framed } from './wire.ts';

/** Maker: serves every inbound stream of `protocol` (not awaited: each runs on its own). */
export function handleInbound(
  node: ProtocolHost,
  protocol: string,
  serve: (stream: Stream, peer: PeerId) => Promise<void>,
  limits: { maxInboundStreams: number; maxOutboundStreams: number },
): Promise<void> {
  return node.handle(
    protocol,
    (stream, connection) => {
      void serve(stream, connection.remotePeer);
    },
    limits,
  );
}

/**
 * Taker: a stream to `peer` for `protocol` as a transport; when the dial fails, a transport that
 * fails every IO with why (so the run still ends, and is recorded, as a failed one).
 */
export async function dialTransport<Message, MessageType>(
  node: ProtocolHost,
  peer: PeerId,
  protocol: string,
  dialMs: number,
  transport: (stream: Stream) => Transport<Message, MessageType>,
): Promise<Transport<Message, MessageType>> {
  try {
    const stream = await node.dialProtocol(peer, protocol, {
      signal: AbortSignal.timeout(dialMs),
    });
    return transport(stream);
  } catch (err) {
    return unreachable(err as Error);
  }
}

/** A transport for a peer we could not reach: every IO fails with why. */
export function unreachable<Message, MessageType>(err: Error): Transport<Message, MessageType> {
  return {
    read: () => Promise.reject(err),
    write: () => Promise.reject(err),
    close: async () => {},
    abort: () => {},
  };
}

/** The stream as length-prefixed messages of `schema`, each read bounded by its message's timeout. */
export function framedTransport<S extends z.ZodType<{ readonly type: string }>>(
  stream: Stream,
  schema: S,
  options: {
    maxMessageBytes: number;
    readTimeoutMs: Record<z.output<S>['type'], number>;
    writeMs: number;
  },
): Transport<z.output<S>, z.output<S>['type']> {
  const framed = new Framed(stream, { maxMessageBytes: options.maxMessageBytes });
  const { readTimeoutMs, writeMs } = options;
  return {
    read: (expecting) =>
      framed.read(schema, { signal: AbortSignal.timeout(readTimeoutMs[expecting]) }),
    write: (message) => framed.write(message, { signal: AbortSignal.timeout(writeMs) }),
    close: () => framed.close({ signal: AbortSignal.timeout(writeMs) }),
    abort: (err) => framed.abort(err),
  };
}

/** One run of a machine: its fail points' prefix (`order.taker`…), transport, executor and log. */
export interface MachineRun<T, E> {
  readonly point: string;
  readonly transport: T;
  readonly executor: E;
  readonly log: Logger;
}

/**
 * Runs `machine` from its `start()` step with the shared driver ({@link runMachine}), its
 * transport and executor as `run.instrument` wraps them, or as they are.
 */
export function runInstrumented<
  Message extends { readonly type: string },
  MessageType,
  Effect extends { readonly type: string },
  Request,
  Result,
  Outcome extends { readonly type: string },
>(
  name: string,
  machine: ProtocolMachine<
    Effect,
    Message,
    MessageType,
    Request,
    Result | RequestFailed,
    Outcome
  > & {
    start(): MachineStep<Effect, Message, Request, Outcome>;
  },
  run: MachineRun<Transport<Message, MessageType>, Executor<Effect, Request, Result>> & {
    /** The node's fail points, if any. */
    readonly instrument: RunInstrument | undefined;
    /** Which record a persist effect writes, for the fail points. */
    readonly persistKind: (effect: Effect) => string | undefined;
  },
): Promise<Outcome> {
  const { transport, executor } = run.instrument
    ? run.instrument(run.point, run, run.persistKind)
    : run;
  return runMachine(name, machine, machine.start(), transport, executor, run.log);
}

/**
 * A machine's adaptor work on a CET set: over the worker pool, or inline without one. Rollovers
 * of existing positions pass priority `high`, so new setups (anyone can ask for one) never delay
 * them; every run passes `since`, when it started, so the pool finishes older runs first (see
 * {@link AdaptorWorkOptions.since}).
 */
export async function adaptorWork(
  pool: AdaptorWorkerPool | undefined,
  request: EncryptRequest | VerifyRequest,
  options: AdaptorWorkOptions = {},
): Promise<AdaptorResult> {
  if (request.type === 'encrypt') {
    return {
      type: 'encrypted',
      signatures: pool
        ? await pool.encryptMany(request.secretKey, request.items, options)
        : request.items.map((i) => adaptorEncrypt(request.secretKey, i.encryptionKey, i.msg32)),
    };
  }
  return {
    type: 'verified',
    verdicts: pool
      ? await pool.verifyMany(request.publicKey, request.items, options)
      : request.items.map((i) =>
          adaptorVerify(i.adaptorSignature, request.publicKey, i.msg32, i.encryptionKey),
        ),
  };
}

/** Tells every listener how a run ended; a listener that throws is logged, not fatal. */
export function notifyListeners<T>(
  listeners: Iterable<(o: T) => void>,
  o: T,
  log: Logger,
  what: string,
): void {
  for (const l of listeners) {
    try {
      l(o);
    } catch (err) {
      log.warn({ err }, `${what} outcome listener threw`);
    }
  }
}
