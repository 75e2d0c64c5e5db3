// Issue #13: a libp2p fuzzer of our own, run against a real maker daemon while a real taker daemon
// keeps trading with it. Whole daemons on real libp2p (TCP, noise, yamux) on loopback, the embedded
// regtest chain, a local oracle and price feed (test/e2e/network.ts).
//
// The inputs are real messages of each protocol, mutated. Each case plays its protocol honestly up
// to a stage, then sends one message mutated, so the mutations reach the deep states: for contract
// setup and rollover a real taker machine (TakerSetup, TakerRollover, funded by a coin that does
// not exist, recording nothing) runs until it is about to send its parameters or signatures (or
// rollover keys or signatures) and that message is the one mutated; the order for an offer the
// maker published, the taker's rollover proposal and settlement proposal of its open CFDs and the
// maker's offer set are the others. Mutations: JSON-level (fields dropped, duplicated, added and
// renamed, types swapped, huge numbers and strings, negative, fractional and oversized decimal
// strings, deep nesting, unicode, another message type, ids the maker knows), byte-level (bit
// flips, invalid UTF-8, cuts, doubled spans, BOM), frame-level (length prefixes too long, too
// short, huge, zero and overlong; frames cut in the prefix or the payload, sent twice or after
// another step's frame, valid frames then garbage, frames split over many writes, oversized
// frames, garbage alone) and stream-level (half-closed, reset, left open silent, closed after
// reading what the peer says). Strangers (four libp2p nodes of their own) fuzz every protocol's
// first message and contract setup, and open streams of protocols the maker does not serve; the
// taker's own node fuzzes the rollover of one of its CFDs and the settlement of the other (only a
// CFD's counterparty gets past the first message); a rogue maker the taker is connected to fuzzes
// the taker's offer handler, the one protocol a taker serves.
//
// It proves that meanwhile and afterwards: nothing in the process rejects unhandled or throws
// uncaught; the maker (and the taker, for offers) ends every fuzzed stream — answers, closes or
// resets it — within its read timeouts, none is left hanging; the taker receives the maker's new
// offers and its order, placed during the fuzz, completes in bounded time; the maker's handlers
// still answer; no fuzzed order is left in setup, no coin reserved, no admission slot held; both
// fuzzed CFDs are open on the commits both sides hold, one rolls over and the other settles.
//
// Seeded: the seed is printed; `DLCFD_FUZZ_SEED=<seed>` repeats a run's cases (each case draws
// from its own generator, so its choices do not depend on the order cases run in),
// `DLCFD_FUZZ_ITERATIONS=<n>` sets the number of cases (streams), 240 by default, and
// `DLCFD_FUZZ_VERBOSE=1` prints every case as it ends.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { Connection, PeerId, Stream } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { hexToBytes } from '@noble/hashes/utils.js';
import { commitKeysFromRecord, fromHex, lockOutput, payoutScriptsOf } from '../../dlc/contract.ts';
import { type Cfd, uiState } from '../../model/cfd.ts';
import { margins } from '../../model/fees.ts';
import type { Offer } from '../../model/offer.ts';
import { price } from '../../model/units.ts';
import { HEALTH } from '../../node/daemon/daemon.ts';
import { loadOrCreateIdentity } from '../../node/p2p/identity.ts';
import { createP2pNode, type P2pNode } from '../../node/p2p/node.ts';
import {
  type CloseContext,
  COLLAB_SETTLEMENT_PROTOCOL,
  closeTermsOf,
  closingPrice,
  messageToWire,
  MAX_MESSAGE_BYTES as SETTLEMENT_MAX_BYTES,
  TakerSettlement,
} from '../../protocols/collab-settlement/index.ts';
import { runMachine, type Transport } from '../../protocols/driver.ts';
import { adaptorWork } from '../../protocols/handler.ts';
import {
  MAX_MESSAGE_BYTES as OFFER_MAX_BYTES,
  OFFER_PROTOCOL,
  offerToWire,
} from '../../protocols/offer/index.ts';
import {
  MAX_MESSAGE_BYTES,
  ORDER_PROTOCOL,
  type SetupExecutor,
  SetupMessageSchema,
  TakerSetup,
} from '../../protocols/order/index.ts';
import {
  ROLLOVER_PROTOCOL,
  type RolloverExecutor,
  RolloverMessageSchema,
  TakerRollover,
} from '../../protocols/rollover/index.ts';
import { encode } from '../../protocols/wire.ts';
import {
  cfd,
  type Network,
  openCfd,
  settleRetrying,
  startNetwork,
  until,
  useCleanups,
} from '../e2e/network.ts';
import { tempDir } from '../helpers/cfd-fixtures.ts';
import {
  caseSeed,
  type Dictionary,
  type End,
  frame,
  frameAttack,
  fuzzIterations,
  fuzzSeed,
  mutateBytes,
  mutateJson,
  RawStream,
  Rng,
  utf8,
} from './fuzz.ts';

/**
 * The maker's read timeouts: short, so a silent stream ends in seconds; long enough for the real
 * taker on a loaded machine.
 */
const TIMEOUTS = {
  order: { orderMs: 2_000, paramsMs: 5_000, setupMessageMs: 20_000 },
  rollover: { proposeMs: 2_000, messageMs: 15_000, revocationMs: 15_000 },
  settlement: { proposalMs: 2_000, signatureMs: 3_000 },
};
/** Longest the maker may take to end a fuzzed stream: its longest read timeout, and room. */
const END_MS = 30_000;
/** The real taker's order must complete within this, fuzz or no fuzz. */
const ORDER_MS = 40_000;
const DEFAULT_CASES = 240;

type Outcome = End | 'we-reset' | 'refused' | 'error';

interface CaseResult {
  readonly id: string;
  readonly protocol: string;
  readonly stage: number;
  readonly labels: readonly string[];
  readonly outcome: Outcome;
  /** Frames the maker (or taker) sent on this stream. */
  readonly frames: number;
}

/** `DLCFD_FUZZ_VERBOSE=1`: every case, as it ends. */
const verbose = Boolean(process.env.DLCFD_FUZZ_VERBOSE);
const describeCase = (r: CaseResult) =>
  `${r.id} ${r.protocol}/${r.stage} ${r.outcome} (${r.frames} frames): ${r.labels.join('; ')}`;

const json = (m: unknown): unknown => JSON.parse(new TextDecoder().decode(encode(m)));
const nowSecs = () => Math.floor(Date.now() / 1000);

/** Valid compressed public keys, made once (deriving one per message costs the event loop). */
const POINTS = Array.from({ length: 32 }, (_, i) => {
  const sk = new Uint8Array(32);
  sk[0] = 0x42;
  sk[31] = i + 1;
  return Buffer.from(secp256k1.getPublicKey(sk, true)).toString('hex');
});
const point = (rng: Rng): string => rng.pick(POINTS);

describe('adversary: a libp2p fuzzer against the maker while a real taker trades (issue #13)', function () {
  const cleanups = useCleanups();
  const seed = fuzzSeed();
  const total = fuzzIterations(DEFAULT_CASES);
  this.timeout(180_000 + total * 500);
  const errors: string[] = [];
  const onRejection = (reason: unknown) =>
    errors.push(`unhandledRejection: ${(reason as Error)?.stack ?? String(reason)}`);
  const onException = (err: Error) => errors.push(`uncaughtException: ${err.stack ?? err}`);
  let net: Network;
  let makerPeer: PeerId;
  /** The taker's open CFDs: one fuzzed through rollovers, one through settlements. */
  let rolloverCfd: string;
  let settlementCfd: string;

  before(async () => {
    process.on('unhandledRejection', onRejection);
    process.on('uncaughtException', onException);
    // A coin pool of small coins: the strangers' admitted orders hold a few of them at a time,
    // the real taker's order funds from another.
    net = await startNetwork(
      cleanups,
      {
        // Long enough that the CFDs do not reach their settlement event during the run.
        'settlement-interval': String(120 + 60 * Math.ceil(total / DEFAULT_CASES)),
        'coin-pool-count': '16',
        'coin-pool-value': '600000',
      },
      { protocolTimeouts: TIMEOUTS },
    );
    makerPeer = peerIdFromString(net.maker.peerId);
    await until(
      'the pool split in the mempool',
      async () => (await net.maker.rpc!.getRawMempool()).length > 0 || undefined,
    );
    // A second coin for the taker: it opens both CFDs at once.
    const taker = net.taker.wallet!;
    await net.chain.fund(await taker.receiveAddress(), 10_000_000n);
    await net.chain.mine(1);
    await until('pool coins', () => net.maker.wallet!.fundingCoins().length >= 16 || undefined);
    await until('the taker’s coins', async () => {
      await taker.sync();
      return taker.fundingCoins().length >= 2 || undefined;
    });
    [rolloverCfd, settlementCfd] = await Promise.all([openCfd(net), openCfd(net)]);
  });

  after(() => {
    process.off('unhandledRejection', onRejection);
    process.off('uncaughtException', onException);
  });

  it('the maker ends every fuzzed stream, keeps serving, and the real taker gets offers and completes an order meanwhile', async () => {
    const seedHex = `0x${seed.toString(16).padStart(8, '0')}`;
    console.log(`      fuzz seed ${seedHex} (DLCFD_FUZZ_SEED=${seedHex}), ${total} cases`);
    const started = Date.now();
    const loop = monitorEventLoopDelay({ resolution: 10 });
    loop.enable();
    // Every connection of the real taker to the maker, and why it closed if it did.
    const dropped: string[] = [];
    const watch = (c: Connection) => {
      if (c.remotePeer.toString() !== net.maker.peerId) return;
      c.addEventListener('close', (e) => {
        const { error, local } = e as Event & { error?: Error; local?: boolean };
        const by = local ? 'the taker' : 'the maker';
        dropped.push(`at ${Date.now() - started} ms by ${by} (${error ?? 'no error'})`);
      });
    };
    net.taker.p2p.getConnections().forEach(watch);
    const onOpen = (e: CustomEvent<Connection>) => watch(e.detail);
    net.taker.p2p.addEventListener('connection:open', onOpen);
    cleanups.push(async () => net.taker.p2p.removeEventListener('connection:open', onOpen));

    // ---- who fuzzes -----------------------------------------------------------------------
    const dir = await tempDir();
    cleanups.push(dir.cleanup);
    const node = async (name: string, listen: string[] = []) => {
      const n = await createP2pNode({
        privateKey: await loadOrCreateIdentity(join(dir.path, name)),
        listen,
      });
      cleanups.push(async () => {
        await n.stop();
      });
      return n;
    };
    const strangers = await Promise.all(['a', 'b', 'c', 'd'].map((n) => node(`stranger-${n}`)));
    for (const s of strangers) await s.dial(net.maker.p2p.getMultiaddrs()[0]!);
    // A rogue maker the taker is connected to: it pushes fuzzed offer sets to the taker.
    const rogue = await node('rogue-maker', ['/ip4/127.0.0.1/tcp/0']);
    await net.taker.p2p.dial(rogue.getMultiaddrs()[0]!);
    const takerPeer = peerIdFromString(net.taker.peerId);
    await until(
      'the rogue maker sees the taker',
      () => rogue.getConnections(takerPeer).length > 0 || undefined,
    );

    // ---- what the maker knows, for dictionaries and valid prefixes ------------------------
    /** The offers the maker publishes now (what it pushes to every taker). */
    const makerOffers = (): readonly Offer[] => net.maker.offers.published;
    const takerCfd = async (id: string): Promise<Cfd> => (await cfd(net.taker, id))!;
    /** The maker's last events of a CFD, for failure messages. */
    const makerEvents = async (id: string) => {
      const events = (await net.maker.store.readStream(id)).slice(-4);
      return new TextDecoder().decode(encode(events.map((e) => [e.type, e.data]))).slice(0, 3_000);
    };
    const knownIds = [
      rolloverCfd,
      settlementCfd,
      (await takerCfd(rolloverCfd)).dlc!.commitTxid,
      (await takerCfd(settlementCfd)).dlc!.lockTxid,
      ...makerOffers().map((o) => o.id),
      net.maker.peerId,
      net.taker.peerId,
    ];
    const dictionary = (types: string[]): Dictionary => ({ ids: knownIds, types });
    const SETUP_TYPES = ['order', 'decision', 'params', 'signatures', 'lockSignature', 'ack'];
    const ROLLOVER_TYPES = [
      'propose',
      'decision',
      'keys',
      'signatures',
      'commitSignature',
      'revocation',
    ];
    const SETTLEMENT_TYPES = ['propose', 'accept', 'reject', 'signature'];
    /** A signatures message of the right shape, for frames sent out of order. */
    const fallbackSignatures = (rng: Rng) => ({
      type: 'signatures',
      lockTxid: rng.hex(32),
      commitTxid: rng.hex(32),
      refundTxid: rng.hex(32),
      commit: rng.hex(162),
      refund: rng.hex(64),
      events: [{ eventId: 'x', cets: [{ start: 0, end: 1, signatures: [rng.hex(162)] }] }],
    });

    /** The taker's real settlement proposal of the open CFD, at the current quote. */
    let closeContext: CloseContext | undefined;
    const proposal = async (): Promise<unknown> => {
      if (!closeContext) {
        const record = (await net.taker.contracts.get(settlementCfd))!;
        const c = await takerCfd(settlementCfd);
        const keys = commitKeysFromRecord(record.keys);
        closeContext = {
          ...closeTermsOf(c),
          lock: lockOutput(record),
          identities: { maker: keys.maker.identity, taker: keys.taker.identity },
          ownIdentitySecret: fromHex(record.identitySk, 'identity secret'),
          payoutScripts: payoutScriptsOf(record),
        };
      }
      const ctx = closeContext;
      const quote = net.taker.feed.latest()!;
      return json(
        messageToWire(
          new TakerSettlement(ctx, closingPrice(quote, ctx.makerPosition)).start().send!,
        ),
      );
    };

    // ---- one case ---------------------------------------------------------------------------

    /**
     * The attack at a stage: `base` mutated (JSON- or byte-level) or not, framed honestly or with
     * a lie, then the stream ended one way or another; resolves with how the peer ended it.
     */
    async function attack(
      rng: Rng,
      s: RawStream,
      base: unknown,
      others: readonly unknown[],
      opts: { maxBytes: number; dict: Dictionary; silent: boolean },
      labels: string[],
    ): Promise<Outcome> {
      const kind = rng.weighted([
        ['json', 6],
        ['bytes', 3],
        ['unmutated', 1],
        ['nothing', 1],
      ] as const);
      if (kind !== 'nothing') {
        let payload: Uint8Array;
        if (kind === 'json') {
          const m = mutateJson(rng, base, opts.dict);
          payload = utf8(m.text);
          labels.push(...m.labels);
        } else if (kind === 'bytes') {
          const m = mutateBytes(rng, utf8(JSON.stringify(base)));
          payload = m.bytes;
          labels.push(m.label);
        } else {
          payload = utf8(JSON.stringify(base));
          labels.push('unmutated');
        }
        const f = frameAttack(
          rng,
          payload,
          others.map((o) => utf8(JSON.stringify(o))),
          opts.maxBytes,
        );
        labels.push(f.label);
        await s.write(f.writes);
      } else labels.push('nothing sent');
      const ending = rng.weighted([
        ['half-close', 5],
        ['reset', 2],
        ['silent', opts.silent ? 1 : 0],
        ['read, then half-close', 2],
      ] as const);
      labels.push(`then ${ending}`);
      switch (ending) {
        case 'reset':
          s.reset();
          return 'we-reset';
        case 'silent':
          s.leaveOpen = true;
          return s.awaitEnd(END_MS);
        case 'half-close':
          await s.closeWrite();
          return s.awaitEnd(END_MS);
        case 'read, then half-close': {
          // What the peer answers at once (it may rightly wait for more: then we close).
          const r = await s.readFrame(500);
          if ('end' in r && r.end !== 'hung') return r.end;
          await s.closeWrite();
          return s.awaitEnd(END_MS);
        }
      }
    }

    /** Opens a stream (bounded: a negotiation that never ends is a hang too). */
    async function open(from: P2pNode, to: PeerId, protocol: string): Promise<RawStream | Outcome> {
      const signal = AbortSignal.timeout(10_000);
      try {
        return new RawStream(await from.dialProtocol(to, protocol, { signal }));
      } catch {
        return signal.aborted ? 'hung' : 'refused';
      }
    }

    /** Reads the maker's frames of a prefix step; the types it sent, or how it ended instead. */
    async function expectFrames(
      s: RawStream,
      n: number,
    ): Promise<Record<string, unknown>[] | Outcome> {
      const out: Record<string, unknown>[] = [];
      for (let i = 0; i < n; i++) {
        const r = await s.readFrame(END_MS);
        if ('end' in r) return r.end;
        out.push(r.json as Record<string, unknown>);
      }
      return out;
    }

    type Plan = { protocol: string; stage: number };

    // ---- honest prefixes: the taker's real machines, stopped right before one message --------

    const oracle = net.taker.oracle!;
    const announcement = async (eventId: string) =>
      oracle.announcement(eventId) ??
      (await oracle.fetchEvent(eventId, { signal: AbortSignal.timeout(10_000) })).announcement;
    const limits = net.taker.limits!.limits;
    const time = net.taker.config.time;

    /**
     * A transport over the raw stream for a real machine: reads and writes frames as the wire
     * does, until the machine sends a message of type `at` — that one is kept (the case's base)
     * and the run stops there, leaving the stream to the attack.
     */
    function tapped<M extends { readonly type: string }>(
      s: RawStream,
      parse: (json: unknown) => M,
      at: string,
      kept: { sent: unknown[]; base?: unknown },
    ): Transport<M, M['type']> {
      return {
        read: async () => {
          const r = await s.readFrame(END_MS);
          if ('end' in r) throw new Error(`the peer ended the stream (${r.end})`);
          return parse(r.json);
        },
        write: async (m) => {
          if (m.type === at) {
            kept.base = json(m);
            throw new Error(`stopped before '${at}'`);
          }
          kept.sent.push(json(m));
          if (!(await s.write({ chunks: [frameOf(m)] }))) throw new Error('the write failed');
        },
        close: async () => {},
        abort: () => {},
      };
    }

    /** Requests of a taker's machine that this run really does; nothing is recorded anywhere. */
    const work = {
      announced: async (eventIds: readonly string[]) => ({
        oraclePublicKey: hexToBytes(oracle.publicKey),
        events: await Promise.all(
          eventIds.map(async (eventId) => ({
            eventId,
            nonces: (await announcement(eventId)).nonces,
          })),
        ),
      }),
      adaptor: (r: Parameters<typeof adaptorWork>[1]) => adaptorWork(net.taker.pool, r),
    };

    /**
     * A real taker's contract setup on `s`, funded by a coin that does not exist, up to the
     * message of type `at`: that message, and what went before it.
     */
    async function honestSetup(
      rng: Rng,
      s: RawStream,
      offer: Offer,
      order: { orderId: string; quantity: bigint; leverage: number },
      at: 'params' | 'signatures',
    ): Promise<{ sent: unknown[]; base?: unknown; outcome: string }> {
      const machine = new TakerSetup({
        ...order,
        offer,
        secrets: {
          identity: secp256k1.utils.randomSecretKey(),
          publish: secp256k1.utils.randomSecretKey(),
          revocation: secp256k1.utils.randomSecretKey(),
        },
        timelocks: { cet: time.cetTimelockBlocks, refund: time.refundTimelockBlocks },
        now: nowSecs(),
        counterpartyPeerId: net.maker.peerId,
        policy: {
          maxOfferAgeSecs: time.offerMaxAgeSecs,
          eventWindowSecs: Math.max(time.oracleEventIntervalSecs, time.offerMaxAgeSecs),
          maxClockSkewSecs: 60,
        },
        limits,
      });
      const kept: { sent: unknown[]; base?: unknown } = { sent: [] };
      const coin = { txid: rng.hex(32), script: `0014${rng.hex(20)}` };
      const payoutScript = `0014${rng.hex(20)}`;
      const executor: SetupExecutor = {
        effect: async () => {},
        request: async (r) => {
          switch (r.type) {
            case 'fund':
              return {
                type: 'funded',
                funding: {
                  reservationId: 'fuzz',
                  inputs: [{ ...coin, vout: 0, value: r.amount + 50_000n }],
                  change: undefined,
                  payoutScript,
                },
              };
            case 'announcement': {
              const { oraclePublicKey, events } = await work.announced([r.eventId]);
              const { nonces } = events[0]!;
              return { type: 'announced', eventId: r.eventId, oraclePublicKey, nonces };
            }
            case 'encrypt':
            case 'verify':
              return work.adaptor(r);
            default:
              return { type: 'requestFailed', reason: `the fuzzer does not ${r.type}` };
          }
        },
      };
      const transport = tapped(s, (j) => SetupMessageSchema.parse(j), at, kept);
      const outcome = await runMachine('setup', machine, machine.start(), transport, executor);
      return { ...kept, outcome: 'reason' in outcome ? outcome.reason : outcome.type };
    }

    /** A real taker's rollover of the rollover CFD on `s`, up to the message of type `at`. */
    async function honestRollover(
      s: RawStream,
      at: 'keys' | 'signatures',
    ): Promise<{ sent: unknown[]; base?: unknown; outcome: string }> {
      const machine = new TakerRollover({
        cfd: await net.taker.cfds.load(rolloverCfd),
        record: (await net.taker.contracts.get(rolloverCfd))!,
        secrets: {
          publish: secp256k1.utils.randomSecretKey(),
          revocation: secp256k1.utils.randomSecretKey(),
        },
        now: nowSecs(),
        config: {
          eventSpacingSecs: time.oracleEventIntervalSecs,
          liquidationEventCount: Math.min(
            24,
            Math.floor(time.settlementIntervalSecs / time.oracleEventIntervalSecs),
          ),
          maxFundingRate: limits.maxFundingRate,
          maxFeeRate: limits.maxTxFeeRate,
        },
      });
      const kept: { sent: unknown[]; base?: unknown } = { sent: [] };
      const executor: RolloverExecutor = {
        effect: async () => {},
        request: async (r) => {
          switch (r.type) {
            case 'announcements':
              return { type: 'announced', ...(await work.announced(r.eventIds)) };
            case 'encrypt':
            case 'verify':
              return work.adaptor(r);
            default:
              return { type: 'requestFailed', reason: `the fuzzer does not ${r.type}` };
          }
        },
      };
      const transport = tapped(s, (j) => RolloverMessageSchema.parse(j), at, kept);
      const outcome = await runMachine('rollover', machine, machine.start(), transport, executor);
      return { ...kept, outcome: 'reason' in outcome ? outcome.reason : outcome.type };
    }

    /** A case's labels, and its result once it has its outcome (the stream's frames released). */
    function caseOf(protocol: CaseResult['protocol'], id: string, stage: number) {
      const labels: string[] = [];
      const done = (outcome: Outcome, s?: RawStream): CaseResult => ({
        id,
        protocol,
        stage,
        labels,
        outcome,
        frames: s?.release() ?? 0,
      });
      return { labels, done };
    }

    async function orderCase(
      rng: Rng,
      from: P2pNode,
      id: string,
      stage: number,
    ): Promise<CaseResult> {
      const { labels, done } = caseOf('order', id, stage);
      const offer = rng.pick(makerOffers());
      const leverage = rng.pick(offer.leverageChoices);
      const quantity = offer.minQuantity;
      const orderId = `fz-${id.replace(/[^A-Za-z0-9]/g, '-')}-${seed.toString(16)}`;
      const order = {
        type: 'order',
        orderId,
        offerId: offer.id,
        quantity: `${quantity}`,
        leverage,
      };
      const m = margins({
        makerPosition: offer.makerPosition,
        price: offer.price,
        quantity,
        takerLeverage: leverage,
      });
      const p2wpkh = () => `0014${rng.hex(20)}`;
      const params = {
        type: 'params',
        identityPk: point(rng),
        publishPk: point(rng),
        revocationPk: point(rng),
        payoutScript: p2wpkh(),
        margin: m.taker.toString(),
        inputs: [
          { txid: rng.hex(32), vout: 0, value: (m.taker + 50_000n).toString(), script: p2wpkh() },
        ],
        change: [],
      };
      const lockSignature = {
        type: 'lockSignature',
        signatures: [{ input: 0, pubkey: point(rng), signature: `3044${rng.hex(68)}01` }],
      };
      const ack = { type: 'ack' };
      const signatures = fallbackSignatures(rng);
      const s = await open(from, makerPeer, ORDER_PROTOCOL);
      if (!(s instanceof RawStream)) return done(s);
      let base: unknown = order;
      let others: unknown[] = [params, lockSignature, ack];
      if (stage >= 1) {
        // The real taker's setup up to its parameters (stage 1) or its signatures (stage 2).
        const at = stage === 1 ? 'params' : 'signatures';
        const run = await honestSetup(rng, s, offer, { orderId, quantity, leverage }, at);
        labels.push(run.base ? `honest setup until '${at}'` : `the setup ended: ${run.outcome}`);
        base = run.base ?? params;
        others = [...run.sent, params, signatures, lockSignature, ack];
      }
      const outcome = await attack(
        rng,
        s,
        base,
        others,
        { maxBytes: MAX_MESSAGE_BYTES, dict: dictionary(SETUP_TYPES), silent: stage < 2 },
        labels,
      );
      return done(outcome, s);
    }

    async function rolloverCase(
      rng: Rng,
      from: P2pNode,
      id: string,
      stage: number,
    ): Promise<CaseResult> {
      const { labels, done } = caseOf('rollover', id, stage);
      const commit = (await takerCfd(rolloverCfd)).dlc!.commitTxid;
      const propose = {
        type: 'propose',
        cfdId: rolloverCfd,
        fromCommitTxid: commit,
        timestamp: nowSecs(),
      };
      const keys = { type: 'keys', publishPk: point(rng), revocationPk: point(rng) };
      const sigs = fallbackSignatures(rng);
      const commitSignature = { type: 'commitSignature', commit: rng.hex(162) };
      const revocation = {
        type: 'revocation',
        secrets: [{ commitTxid: commit, secret: rng.hex(32) }],
      };
      const s = await open(from, makerPeer, ROLLOVER_PROTOCOL);
      if (!(s instanceof RawStream)) return done(s);
      let base: unknown = propose;
      let others: unknown[] = [keys, sigs, commitSignature, revocation];
      if (stage >= 1) {
        // The real taker's rollover up to its keys (stage 1) or its signatures (stage 2).
        const at = stage === 1 ? 'keys' : 'signatures';
        const run = await honestRollover(s, at);
        labels.push(
          run.base ? `honest rollover until '${at}'` : `the rollover ended: ${run.outcome}`,
        );
        // Never valid signatures: with them the maker would send its own, the fuzzer could then
        // publish a commit the real taker cannot revoke, and the CFD would never roll over again.
        base = run.base ? spoiled(run.base) : stage === 1 ? keys : sigs;
        others = [...run.sent, keys, sigs, commitSignature, revocation];
      }
      const outcome = await attack(
        rng,
        s,
        base,
        others,
        { maxBytes: MAX_MESSAGE_BYTES, dict: dictionary(ROLLOVER_TYPES), silent: stage === 0 },
        labels,
      );
      return done(outcome, s);
    }

    async function settlementCase(
      rng: Rng,
      from: P2pNode,
      id: string,
      stage: number,
    ): Promise<CaseResult> {
      const { labels, done } = caseOf('settlement', id, stage);
      const propose = await proposal();
      // Never the taker's real signature: a random one is what gets mutated.
      const signature = { type: 'signature', signature: rng.hex(64) };
      const s = await open(from, makerPeer, COLLAB_SETTLEMENT_PROTOCOL);
      if (!(s instanceof RawStream)) return done(s);
      let base: unknown = propose;
      let others: unknown[] = [signature, { type: 'accept' }];
      if (stage >= 1) {
        await s.write({ chunks: [frameOf(propose)] });
        const d = await expectFrames(s, 1);
        if (!Array.isArray(d)) return done(d, s);
        labels.push(`the maker answered ${String(d[0]?.type)}`);
        base = signature;
        others = [propose, { type: 'accept' }, { type: 'reject', reason: 'no' }];
      }
      const outcome = await attack(
        rng,
        s,
        base,
        others,
        { maxBytes: SETTLEMENT_MAX_BYTES, dict: dictionary(SETTLEMENT_TYPES), silent: true },
        labels,
      );
      return done(outcome, s);
    }

    /** Streams of protocols the maker does not serve (its offers only go out): refused. */
    async function unservedCase(rng: Rng, from: P2pNode, id: string): Promise<CaseResult> {
      const protocol = rng.pick([
        OFFER_PROTOCOL,
        '/dlcfd/order/1.0.1',
        '/dlcfd/order/1.0.0/',
        '/dlcfd/ORDER/1.0.0',
        `/${'x'.repeat(rng.pick([10, 1_000]))}`,
        '/dlcfd/order/1.0.0\n',
      ]);
      const s = await open(from, makerPeer, protocol);
      const outcome = s instanceof RawStream ? 'error' : s;
      if (s instanceof RawStream) s.reset();
      return {
        id,
        protocol: 'unserved',
        stage: 0,
        labels: [JSON.stringify(protocol.slice(0, 40))],
        outcome,
        frames: 0,
      };
    }

    /** A rogue maker pushes a fuzzed offer set (the real maker's offers, mutated) to the taker. */
    async function offerCase(rng: Rng, id: string): Promise<CaseResult> {
      const labels: string[] = [];
      const offers = json({ type: 'offers', offers: net.maker.offers.published.map(offerToWire) });
      const s = await open(rogue, takerPeer, OFFER_PROTOCOL);
      if (!(s instanceof RawStream))
        return { id, protocol: 'offer', stage: 0, labels, outcome: s, frames: 0 };
      const outcome = await attack(
        rng,
        s,
        offers,
        [{ type: 'offers', offers: [] }],
        { maxBytes: OFFER_MAX_BYTES, dict: dictionary(['offers']), silent: false },
        labels,
      );
      return { id, protocol: 'offer', stage: 0, labels, outcome, frames: s.release() };
    }

    // ---- lanes ------------------------------------------------------------------------------

    const results: CaseResult[] = [];
    const laneMs: number[] = [];
    let begun = 0;
    /** Runs `count` cases, `concurrency` at a time; case i draws from its own generator. */
    async function lane(
      no: number,
      count: number,
      concurrency: number,
      plan: (rng: Rng, i: number) => Plan,
      /** `worker`: which of the `concurrency` workers runs the case. */
      run: (rng: Rng, plan: Plan, i: number, worker: number) => Promise<CaseResult>,
    ): Promise<void> {
      // The plan (which protocol, which stage) is drawn up front, from the lane's own generator.
      const planRng = new Rng(caseSeed(seed, no, -1));
      const plans = Array.from({ length: count }, (_, i) => plan(planRng, i));
      let next = 0;
      const t0 = Date.now();
      await Promise.all(
        Array.from({ length: concurrency }, async (_, worker) => {
          while (next < count) {
            const i = next++;
            begun++;
            const p = plans[i]!;
            const r = await run(new Rng(caseSeed(seed, no, i)), p, i, worker).catch(
              (err: unknown): CaseResult => ({
                id: `${no}/${i}`,
                protocol: p.protocol,
                stage: p.stage,
                labels: [`the fuzzer threw: ${(err as Error).stack ?? err}`],
                outcome: 'error',
                frames: 0,
              }),
            );
            results.push(r);
            if (verbose) console.log(`      ${describeCase(r)}`);
          }
        }),
      );
      laneMs[no] = Date.now() - t0;
    }

    const nStrangers = Math.round(total * 0.7);
    const nRollovers = Math.round(total * 0.08);
    const nSettlements = Math.round(total * 0.08);
    const nOffers = total - nStrangers - nRollovers - nSettlements;
    // Stages that make the maker sign a whole CET set: a few, however many cases.
    const deepOrders = Math.max(2, Math.round(total / 100));
    const deepRollovers = Math.max(1, Math.round(total / 300));
    let orders2 = 0;
    let rollovers2 = 0;

    const strangerLane = lane(
      0,
      nStrangers,
      8,
      (rng) => {
        const protocol = rng.weighted([
          ['order', 55],
          ['rollover', 18],
          ['settlement', 18],
          ['unserved', 4],
        ] as const);
        if (protocol !== 'order') return { protocol, stage: 0 };
        let stage = rng.weighted([
          [0, 45],
          [1, 50],
          [2, 8],
        ] as const) as number;
        if (stage === 2 && orders2++ >= deepOrders) stage = 1;
        return { protocol, stage };
      },
      (rng, p, i, worker) => {
        // Two workers per stranger: its orders stay within the maker's per-peer admission.
        const from = strangers[worker % strangers.length]!;
        const id = `0/${i}`;
        if (p.protocol === 'order') return orderCase(rng, from, id, p.stage);
        if (p.protocol === 'rollover') return rolloverCase(rng, from, id, 0);
        if (p.protocol === 'settlement') return settlementCase(rng, from, id, 0);
        return unservedCase(rng, from, id);
      },
    );
    /**
     * Waits until the maker recorded the end of the CFD's last run (it does so after the stream
     * ended), so the next case reaches the deep states; a case that hung if it never does.
     */
    const idle = async (id: string, caseId: string, p: Plan): Promise<CaseResult | undefined> => {
      const ok = await until(
        `${id} idle`,
        async () => {
          const c = await cfd(net.maker, id);
          return (c?.rollover === undefined && c?.settlement === undefined) || undefined;
        },
        END_MS,
      ).catch(() => false);
      if (ok) return undefined;
      const labels = ['the maker never recorded the end of the previous run'];
      return { id: caseId, ...p, labels, outcome: 'hung', frames: 0 };
    };
    // The CFDs' counterparty: one run at a time on each CFD (the maker serves one rollover or
    // settlement of a CFD at once; concurrent ones would only be refused before the deep states).
    const rolloverLane = lane(
      1,
      nRollovers,
      1,
      (rng) => {
        let stage = rng.weighted([
          [0, 3],
          [1, 5],
          [2, 2],
        ] as const) as number;
        if (stage === 2 && rollovers2++ >= deepRollovers) stage = 1;
        return { protocol: 'rollover', stage };
      },
      async (rng, p, i) =>
        (await idle(rolloverCfd, `1/${i}`, p)) ??
        rolloverCase(rng, net.taker.p2p, `1/${i}`, p.stage),
    );
    const settlementLane = lane(
      3,
      nSettlements,
      1,
      (rng) => ({ protocol: 'settlement', stage: rng.chance(0.4) ? 0 : 1 }),
      async (rng, p, i) =>
        (await idle(settlementCfd, `3/${i}`, p)) ??
        settlementCase(rng, net.taker.p2p, `3/${i}`, p.stage),
    );
    const offerLane = lane(
      2,
      nOffers,
      3,
      () => ({ protocol: 'offer', stage: 0 }),
      (rng, _p, i) => offerCase(rng, `2/${i}`),
    );

    // ---- the real taker, during the fuzz ---------------------------------------------------
    const realTaker = (async () => {
      await until('a third of the fuzz begun', () => begun >= total / 3 || undefined, 60_000);
      // A new quote: the maker publishes new offers, and the taker must receive them.
      const before = new Set(
        net.taker.offers.book
          .current(nowSecs(), { maxOfferAgeSecs: 600 })
          .map((o) => o.offer.price),
      );
      const q = net.feed.quote;
      net.feed.setPrice(price(Number(q.bid / 10n ** 8n) + 10));
      const { offer } = await until(
        'the maker’s new offers at the taker',
        () =>
          net.taker.offers.book
            .current(nowSecs(), { maxOfferAgeSecs: 600 })
            .find(
              (o) =>
                o.maker === net.maker.peerId &&
                o.offer.makerPosition === 'short' &&
                !before.has(o.offer.price),
            ),
        30_000,
      );
      const t0 = Date.now();
      const placed = await net.taker.orders.placeOrder(makerPeer, offer, {
        quantity: 100n,
        leverage: 2,
      });
      return { placed, at: t0, ms: Date.now() - t0 };
    })();

    await Promise.all([strangerLane, rolloverLane, settlementLane, offerLane]);
    const fuzzEnd = Date.now();
    const fuzzMs = fuzzEnd - started;
    const real = await realTaker;

    // ---- what must hold --------------------------------------------------------------------
    const tally = (key: (r: CaseResult) => string) => {
      const t: Record<string, number> = {};
      for (const r of results) t[key(r)] = (t[key(r)] ?? 0) + 1;
      return Object.entries(t)
        .sort()
        .map(([k, v]) => `${k} ${v}`)
        .join(', ');
    };
    console.log(
      `      ${results.length} cases in ${fuzzMs} ms: ${tally((r) => `${r.protocol}/${r.stage}`)}`,
    );
    console.log(`      ends: ${tally((r) => r.outcome)}; lanes took ${laneMs.join(', ')} ms`);
    loop.disable();
    const ms = (ns: number) => Math.round(ns / 1e6);
    console.log(
      `      event loop delay max ${ms(loop.max)} ms, p99 ${ms(loop.percentile(99))} ms; the taker's connection to the maker ${dropped.length === 0 ? 'stayed up' : `closed: ${dropped.join('; ')}`}`,
    );
    if (verbose) {
      // How deep the cases got: why the maker failed or rejected the runs it recorded.
      const why: Record<string, number> = {};
      for (const e of await net.maker.store.readAll(0, 1_000_000)) {
        const reason = (e.data as { reason?: string } | undefined)?.reason;
        if (reason) {
          const k = `${e.type}: ${reason.replace(/[0-9a-f]{64}/g, '…').slice(0, 90)}`;
          why[k] = (why[k] ?? 0) + 1;
        }
      }
      for (const [k, n] of Object.entries(why).sort((a, b) => b[1] - a[1])) {
        console.log(`      ${String(n).padStart(4)} ${k}`);
      }
    }
    assert.deepEqual(errors, [], 'nothing rejected unhandled or threw uncaught');
    const bad = results.filter((r) => r.outcome === 'hung' || r.outcome === 'error');
    assert.deepEqual(
      bad.map(describeCase),
      [],
      `seed ${seedHex}: streams the peer never ended, or cases that failed`,
    );
    assert.equal(results.length, total);

    // The real taker received the maker's new offers and its order completed, in bounded time.
    const o = real.placed.outcome;
    if (o.type !== 'completed') {
      const seen = await makerEvents(real.placed.orderId);
      assert.fail(`the real order ${o.type}: ${o.reason}; the maker: ${seen}`);
    }
    assert.ok(real.ms < ORDER_MS, `the order took ${real.ms} ms`);
    assert.ok(real.at < fuzzEnd, 'the order was placed while the fuzz ran');
    await until(
      'the maker completed the real order',
      async () => (await cfd(net.maker, real.placed.orderId))?.setup === 'completed' || undefined,
    );

    assert.equal(net.maker.health.get(HEALTH.p2p)?.status, 'ok', 'the maker’s p2p health');
    // The maker's handlers still answer: a stranger's order for an offer it never made, a
    // rollover and a settlement of a CFD it does not have.
    const probe = async (
      protocol: string,
      message: unknown,
      expect: (m: Record<string, unknown>) => boolean,
    ) => {
      const s = await open(strangers[0]!, makerPeer, protocol);
      assert.ok(s instanceof RawStream, `${protocol} opens`);
      await s.write({ chunks: [frameOf(message)] });
      const r = await s.readFrame(10_000);
      assert.ok(
        'json' in r && expect(r.json as Record<string, unknown>),
        `${protocol} answers: ${JSON.stringify(r)}`,
      );
      s.reset();
    };
    await probe(
      ORDER_PROTOCOL,
      { type: 'order', orderId: 'probe', offerId: 'no-such-offer', quantity: '100', leverage: 2 },
      (m) => m.type === 'decision' && m.accept === false,
    );
    await probe(
      ROLLOVER_PROTOCOL,
      { type: 'propose', cfdId: 'probe', fromCommitTxid: '00'.repeat(32), timestamp: nowSecs() },
      (m) => m.type === 'decision' && m.accept === false,
    );
    await probe(
      COLLAB_SETTLEMENT_PROTOCOL,
      { ...((await proposal()) as object), cfdId: 'probe' },
      (m) => m.type === 'reject',
    );

    // The maker has ended its side of every stream of the CFD protocols (those of peers that
    // never close theirs stay half-open until libp2p's inactivity timeout).
    const cfdProtocols = [ORDER_PROTOCOL, ROLLOVER_PROTOCOL, COLLAB_SETTLEMENT_PROTOCOL];
    const engaged = () =>
      net.maker.p2p
        .getConnections()
        .flatMap((c) => c.streams)
        .filter((s: Stream) => cfdProtocols.includes(s.protocol) && s.writeStatus === 'writable');
    await until(
      'the maker done with every stream',
      () => engaged().length === 0 || undefined,
      END_MS,
    ).catch(() =>
      assert.fail(`streams the maker still serves: ${engaged().map((s) => s.protocol)}`),
    );

    // No fuzzed order left in setup, no coin reserved, no admission slot held.
    const fuzzedOrders = async () =>
      (await net.maker.readModel.all()).filter((c) => c.terms?.id.startsWith('fz-'));
    await until(
      'every fuzzed order ended',
      async () =>
        (await fuzzedOrders()).every((c) => ['rejected', 'setupFailed'].includes(uiState(c))) ||
        undefined,
    );
    await until('no coin reserved', () => net.maker.wallet!.balance().reserved === 0n || undefined);
    assert.deepEqual(net.maker.orders.admission.usage, { setups: 0, decisions: 0 });

    // The fuzzed CFDs are open on the commits both sides hold; the real taker rolls one over and
    // settles the other.
    for (const id of [rolloverCfd, settlementCfd]) {
      const commit = (await takerCfd(id)).dlc!.commitTxid;
      const c = await until(`${id} idle on the maker`, async () => {
        const m = (await cfd(net.maker, id))!;
        return m.rollover === undefined && m.settlement === undefined ? m : undefined;
      });
      const events = async () => (await net.maker.store.readStream(id)).map((e) => e.type);
      assert.equal(uiState(c), 'open', `${id} on the maker: ${(await events()).join(' ')}`);
      assert.equal(c.dlc?.commitTxid, commit);
      assert.equal(c.closeTx, undefined);
    }
    const commit = (await takerCfd(rolloverCfd)).dlc!.commitTxid;
    const rolled = await net.taker.rollovers.rollover(makerPeer, rolloverCfd);
    if (rolled.outcome.type !== 'completed') {
      const why = `${rolled.outcome.type}: ${rolled.outcome.reason}`;
      assert.fail(`the real rollover ${why}; the maker: ${await makerEvents(rolloverCfd)}`);
    }
    await until('rolled over on both', async () => {
      const [m, t] = [await cfd(net.maker, rolloverCfd), await takerCfd(rolloverCfd)];
      return (
        (m?.dlc?.commitTxid !== commit && m?.dlc?.commitTxid === t.dlc?.commitTxid) || undefined
      );
    });
    const closed = await settleRetrying(net.taker, settlementCfd);
    assert.equal(closed.status, 'completed', 'reason' in closed ? String(closed.reason) : '');
    assert.deepEqual(errors, [], 'nothing rejected unhandled or threw uncaught');
    console.log(
      `      real order placed at ${real.at - started} ms, took ${real.ms} ms; fuzz ${fuzzMs} ms; test ${Date.now() - started} ms`,
    );
  });
});

/** A `signatures` message with its last CET adaptor signature changed (it no longer verifies). */
function spoiled(message: unknown): unknown {
  const m = structuredClone(message) as {
    type: string;
    events?: { cets: { signatures: string[] }[] }[];
  };
  const sigs = m.events?.at(-1)?.cets.at(-1)?.signatures;
  if (m.type === 'signatures' && sigs && sigs.length > 0) {
    const s = sigs[sigs.length - 1]!;
    sigs[sigs.length - 1] = s.slice(0, -1) + (s.endsWith('0') ? '1' : '0');
  }
  return m;
}

/** A message framed as the wire frames it. */
const frameOf = (message: unknown): Uint8Array => frame(encode(message));
