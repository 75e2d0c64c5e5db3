// The rogue-peer harness: a counterparty that runs our real protocol machines (contract setup,
// rollover, collaborative settlement) against an honest one, in memory, but deviates at one named
// step — it rewrites or withholds the message of that type on its way out. Every message still goes
// through the protocol's wire schema, so a rewrite must be schema-valid (a well-formed lie).
//
// A deviation is `{ protocol, side, step, rewrite }`: `side` is the rogue's role, `step` the type of
// the message it rewrites, `rewrite` what it sends instead (or 'drop' / 'silence'). The rewrite sees
// what the honest side sent so far (`heard`), the rogue's own secrets and state, and — for replays —
// what the rogue sent in an earlier run. The runners return both outcomes, both sides' nodes (coins,
// logs, records) and what the honest side sent, so a test can account for the money on both sides.
import { randomUUID } from 'node:crypto';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { EMPTY_CFD, uiState } from '../../model/cfd.ts';
import type { Offer } from '../../model/offer.ts';
import type { Role } from '../../model/units.ts';
import { price as usd } from '../../model/units.ts';
import {
  type BidAsk,
  type CloseContext,
  type CollabMessage,
  CollabSettlementMessage,
  closingPrice,
  MakerSettlement,
  messageToWire,
  type SettlementOutcome,
  type Step,
  TakerSettlement,
} from '../../protocols/collab-settlement/index.ts';
import { runMachine } from '../../protocols/driver.ts';
import { type SetupMessage, SetupMessageSchema } from '../../protocols/order/messages.ts';
import {
  MakerSetup,
  type SetupOutcome,
  type SetupSecrets,
  TakerSetup,
} from '../../protocols/order/setup.ts';
import type { RolloverOutcome } from '../../protocols/rollover/machine.ts';
import { type RolloverMessage, RolloverMessageSchema } from '../../protocols/rollover/messages.ts';
import { decode, encode, ProtocolTimeoutError } from '../../protocols/wire.ts';
import { newOracle, type TestOracle } from '../helpers/contract-fixtures.ts';
import {
  type Contract,
  closeContext,
  execute,
  newContract,
  openCommands,
} from '../protocols/collab-settlement/fixtures.ts';
import { type FakeChain, FakeNode, NOW, TIMELOCKS, testOffer } from '../protocols/order/harness.ts';
import { Pipe, PipeTransport } from '../protocols/pipe.ts';
import {
  openContractCopy,
  type Party,
  rolloverMachines,
  runRollover,
} from '../protocols/rollover/harness.ts';

export type Protocol = 'setup' | 'rollover' | 'settlement';

/** What a rogue sends instead of the message: another message, nothing, or nothing ever again. */
export type Rewritten<M> = M | 'drop' | 'silence';

/** One deviation: the rogue `side` rewrites its `step` message of `protocol` with `rewrite`. */
export interface Deviation<P extends Protocol, M extends { readonly type: string }, Ctx> {
  readonly protocol: P;
  readonly side: Role;
  readonly step: M['type'];
  readonly rewrite: (message: M, ctx: Ctx) => Rewritten<M>;
}

const other = (side: Role): Role => (side === 'maker' ? 'taker' : 'maker');

const secrets = (): SetupSecrets => ({
  identity: secp256k1.utils.randomSecretKey(),
  publish: secp256k1.utils.randomSecretKey(),
  revocation: secp256k1.utils.randomSecretKey(),
});

// ---- Contract setup ------------------------------------------------------------------------------

/** What a setup rewrite sees. */
export interface SetupCtx {
  /** What the honest side sent so far. */
  readonly heard: readonly SetupMessage[];
  /** The rogue's secrets for this CFD. */
  readonly secrets: SetupSecrets;
  /** What the rogue sent in an earlier, honest setup (replays). */
  readonly earlier: readonly SetupMessage[];
  /** The rogue's node: its funding and payout keys. */
  readonly node: FakeNode;
}

export type SetupDeviation = Deviation<'setup', SetupMessage, SetupCtx>;

export interface SetupRun {
  readonly orderId: string;
  readonly honest: SetupOutcome;
  readonly rogue: SetupOutcome;
  readonly honestNode: FakeNode;
  readonly rogueNode: FakeNode;
  /** What the honest side wrote on the wire (before any tampering; the honest side tampers none). */
  readonly honestSent: readonly SetupMessage[];
}

/** The nodes a setup runs on: fresh by default, shared for a second run against the same node. */
export interface SetupNodes {
  readonly oracle: TestOracle;
  readonly maker: FakeNode;
  readonly taker: FakeNode;
}

/**
 * Fresh nodes on one fake chain: each side's lock-input check (protocols/order/setup.ts
 * `checkInputs`) reads the other's fake coins there.
 */
export function setupNodes(): SetupNodes {
  const oracle = newOracle();
  const chain: FakeChain = new Map();
  return { oracle, maker: new FakeNode(oracle, chain), taker: new FakeNode(oracle, chain) };
}

/**
 * One contract setup of a taker and a maker, the `deviation.side` one rogue. Options: the nodes
 * (to run against the same honest node again), the order id (the CFD's id on both), the offer,
 * `earlier` (the rogue's messages of an earlier run, for replays) and `onHonestSend` (to start
 * something when the honest side reaches a step).
 */
export async function runSetupWith(
  deviation: SetupDeviation | undefined,
  options: {
    nodes?: SetupNodes;
    orderId?: string;
    offer?: Offer;
    earlier?: readonly SetupMessage[];
    rogueSide?: Role;
    onHonestSend?: (m: SetupMessage) => void;
    rogueSent?: SetupMessage[];
  } = {},
): Promise<SetupRun> {
  const nodes = options.nodes ?? setupNodes();
  const offer = options.offer ?? testOffer();
  const orderId = options.orderId ?? `order-${randomUUID()}`;
  const rogueSide = deviation?.side ?? options.rogueSide ?? 'taker';
  nodes.taker.track(orderId);
  nodes.maker.track(orderId);
  const own = { maker: secrets(), taker: secrets() };
  const taker = new TakerSetup({
    orderId,
    offer,
    quantity: 3_500n,
    leverage: 5,
    secrets: own.taker,
    timelocks: TIMELOCKS,
    now: NOW,
    counterpartyPeerId: 'maker-peer',
  });
  const maker = new MakerSetup({
    offers: [offer],
    secrets: own.maker,
    timelocks: TIMELOCKS,
    now: NOW,
    counterpartyPeerId: 'taker-peer',
  });
  const honestSent: SetupMessage[] = [];
  const ctx: SetupCtx = {
    heard: honestSent,
    secrets: own[rogueSide],
    earlier: options.earlier ?? [],
    node: nodes[rogueSide],
  };
  const tamperOf = (side: Role) =>
    side === rogueSide
      ? (m: SetupMessage) => {
          const out = deviation && m.type === deviation.step ? deviation.rewrite(m, ctx) : m;
          if (out !== 'drop' && out !== 'silence') options.rogueSent?.push(out);
          return out;
        }
      : undefined;
  const onSendOf = (side: Role) =>
    side === rogueSide
      ? undefined
      : (m: SetupMessage) => {
          honestSent.push(m);
          options.onHonestSend?.(m);
        };
  const toMaker = new Pipe();
  const toTaker = new Pipe();
  const takerTransport = new PipeTransport(SetupMessageSchema, toTaker, toMaker, {
    tamper: tamperOf('taker'),
    onSend: onSendOf('taker'),
  });
  const makerTransport = new PipeTransport(SetupMessageSchema, toMaker, toTaker, {
    tamper: tamperOf('maker'),
    onSend: onSendOf('maker'),
  });
  const [t, m] = await Promise.all([
    runMachine('setup', taker, taker.start(), takerTransport, nodes.taker.executor()),
    runMachine('setup', maker, maker.start(), makerTransport, nodes.maker.executor()),
  ]);
  const outcomes = { taker: t, maker: m };
  return {
    orderId,
    honest: outcomes[other(rogueSide)],
    rogue: outcomes[rogueSide],
    honestNode: nodes[other(rogueSide)],
    rogueNode: nodes[rogueSide],
    honestSent,
  };
}

/** A setup with one deviation; `replay` first runs an honest setup and hands its messages over. */
export async function runSetupDeviation(
  deviation: SetupDeviation,
  replay = false,
): Promise<SetupRun> {
  let earlier: SetupMessage[] = [];
  if (replay) {
    earlier = [];
    await runSetupWith(undefined, { rogueSide: deviation.side, rogueSent: earlier });
  }
  return runSetupWith(deviation, { earlier });
}

// ---- Rollover ------------------------------------------------------------------------------------

/** What a rollover rewrite sees. */
export interface RolloverCtx {
  readonly heard: readonly RolloverMessage[];
  /** The rogue's party: its CFD, record and clock. */
  readonly rogue: Party;
  /** What the rogue sent in the previous (honest) rollover, if the scenario had one. */
  readonly earlier: readonly RolloverMessage[];
}

export type RolloverDeviation = Deviation<'rollover', RolloverMessage, RolloverCtx>;

export interface RolloverRun {
  readonly honest: RolloverOutcome;
  readonly rogue: RolloverOutcome;
  readonly honestParty: Party;
  readonly rogueParty: Party;
  readonly honestSent: readonly RolloverMessage[];
  readonly rogueSent: readonly RolloverMessage[];
}

/** One hour on, on both clocks, with a fresh funding rate. */
export function later(parties: readonly Party[], secs = 3_600): void {
  for (const p of parties) {
    p.now += secs;
    p.fundingRateAsOf = p.now;
  }
}

/** One rollover of `taker` and `maker`; the `deviation.side` one rewrites its `step` message. */
export async function rollWith(
  taker: Party,
  maker: Party,
  deviation: RolloverDeviation | undefined,
  options: {
    earlier?: readonly RolloverMessage[];
    rogueSide?: Role;
    onHonestSend?: (m: RolloverMessage) => void;
    /** The taker's peer id as the maker's connection sees it (default: the CFD's counterparty). */
    takerPeerId?: string;
  } = {},
): Promise<RolloverRun> {
  const rogueSide = deviation?.side ?? options.rogueSide ?? 'taker';
  const parties = { taker, maker };
  const machines = rolloverMachines(taker, maker, {
    ...(options.takerPeerId && { counterpartyPeerId: options.takerPeerId }),
  });
  const honestSent: RolloverMessage[] = [];
  const rogueSent: RolloverMessage[] = [];
  const ctx: RolloverCtx = {
    heard: honestSent,
    rogue: parties[rogueSide],
    earlier: options.earlier ?? [],
  };
  const transport = (side: Role, inbound: Pipe, outbound: Pipe) => {
    const journal = parties[side].journal;
    return new PipeTransport(RolloverMessageSchema, inbound, outbound, {
      tamper:
        side === rogueSide
          ? (m) => {
              const out = deviation && m.type === deviation.step ? deviation.rewrite(m, ctx) : m;
              if (out !== 'drop' && out !== 'silence') rogueSent.push(out);
              return out;
            }
          : undefined,
      onSend: (m) => {
        journal.push(`send:${m.type}`);
        if (side !== rogueSide) {
          honestSent.push(m);
          options.onHonestSend?.(m);
        }
      },
    });
  };
  const outcomes = await runRollover(taker, maker, machines, transport);
  return {
    honest: outcomes[other(rogueSide)],
    rogue: outcomes[rogueSide],
    honestParty: parties[other(rogueSide)],
    rogueParty: parties[rogueSide],
    honestSent,
    rogueSent,
  };
}

/** An open contract, rolled over once honestly when `previous` (its messages kept for replays). */
export async function openRolled(previous = false): Promise<{
  taker: Party;
  maker: Party;
  earlier: { taker: RolloverMessage[]; maker: RolloverMessage[] };
}> {
  const { taker, maker } = await openContractCopy();
  const earlier = { taker: [] as RolloverMessage[], maker: [] as RolloverMessage[] };
  if (previous) {
    later([taker, maker]);
    const r = await rollWith(taker, maker, undefined, { rogueSide: 'taker' });
    if (r.honest.type !== 'completed' || r.rogue.type !== 'completed') {
      throw new Error(`the first rollover: ${r.rogue.type}/${r.honest.type}`);
    }
    earlier.taker.push(...r.rogueSent);
    earlier.maker.push(...r.honestSent);
  }
  later([taker, maker]);
  return { taker, maker, earlier };
}

// ---- Collaborative settlement -----------------------------------------------------------------

/** What a settlement rewrite sees. */
export interface SettlementCtx {
  readonly heard: readonly CollabMessage[];
  readonly contract: Contract;
  /** The rogue's settlement context (its identity key signs). */
  readonly rogue: CloseContext;
  readonly earlier: readonly CollabMessage[];
}

export type SettlementDeviation = Deviation<'settlement', CollabMessage, SettlementCtx>;

/** The maker's quote in every settlement run: the taker closes at the maker's side of it. */
export const QUOTE = { bid: usd(51_230), ask: usd(51_231) };

/** Both sides of one open CFD, as the settlement handlers would record it. */
export class SettlementPair {
  readonly contract: Contract;
  readonly ctx: Record<Role, CloseContext>;
  cfd: Record<Role, ReturnType<typeof execute>>;
  readonly events: Record<Role, string[]> = { maker: [], taker: [] };

  constructor() {
    this.contract = newContract({ makerPosition: 'short' });
    const open = (role: Role) => execute(EMPTY_CFD, openCommands(this.contract, role));
    this.cfd = { maker: open('maker'), taker: open('taker') };
    this.ctx = {
      maker: closeContext(this.contract, 'maker', this.cfd.maker),
      taker: closeContext(this.contract, 'taker', this.cfd.taker),
    };
  }

  /** The CFD's state on `side` as the UI shows it. */
  state(side: Role): string {
    return uiState(this.cfd[side]);
  }

  /**
   * Records a step's commands as the handler does: a command the CFD refuses fails the run, and
   * the failure's own commands are recorded if they can be.
   */
  apply(side: Role, machine: { fail(e: Error): Step }, step: Step): Step {
    try {
      this.cfd[side] = execute(this.cfd[side], step.commands);
      this.events[side].push(...step.commands.map((c) => c.type));
      return step;
    } catch (err) {
      const end = machine.fail(err as Error);
      try {
        this.cfd[side] = execute(this.cfd[side], end.commands);
        this.events[side].push(...end.commands.map((c) => c.type));
      } catch {
        // as the handler: a clean-up the log refuses is logged, the run ends anyway
      }
      return end;
    }
  }
}

export interface SettlementRun {
  readonly honest: SettlementOutcome | undefined;
  readonly rogue: SettlementOutcome | undefined;
  readonly pair: SettlementPair;
  readonly honestSent: readonly CollabMessage[];
  /** What the honest side handed to broadcast. */
  readonly honestBroadcast: string | undefined;
}

/** Through the wire: encode, then decode and validate as the receiving handler does. */
const wire = (m: CollabMessage): CollabMessage =>
  decode(encode(messageToWire(m)), CollabSettlementMessage) as CollabMessage;

/**
 * One collaborative settlement of `pair` at the taker's closing price of {@link QUOTE}; the maker
 * accepts whatever passes its checks. The `deviation.side` one rewrites its `step` message.
 */
export function settleWith(
  pair: SettlementPair,
  deviation: SettlementDeviation | undefined,
  options: {
    earlier?: readonly CollabMessage[];
    rogueSent?: CollabMessage[];
    /** The maker's quote (undefined: it has none and rejects). */
    quote?: BidAsk | undefined;
    /** The taker's quote, if not the maker's. */
    taker?: BidAsk;
  } = {},
): SettlementRun {
  const rogueSide = deviation?.side ?? 'taker';
  const taker = new TakerSettlement(
    pair.ctx.taker,
    closingPrice(options.taker ?? options.quote ?? QUOTE, pair.contract.makerPosition),
  );
  const quote = 'quote' in options ? options.quote : QUOTE;
  const maker = new MakerSettlement(pair.ctx.maker, { quote });
  const machines = { taker, maker };
  const honestSent: CollabMessage[] = [];
  let honestBroadcast: string | undefined;
  const ctx: SettlementCtx = {
    heard: honestSent,
    contract: pair.contract,
    rogue: pair.ctx[rogueSide],
    earlier: options.earlier ?? [],
  };
  /** `from`'s step: record it, then its message (rewritten if rogue) reaches the other side. */
  const deliver = (from: Role, step: Step): CollabMessage | undefined => {
    const s = pair.apply(from, machines[from], step);
    if (from !== rogueSide && s.broadcast) honestBroadcast = s.broadcast.txid;
    if (!s.send) return undefined;
    if (from !== rogueSide) {
      honestSent.push(s.send);
      return wire(s.send);
    }
    const out =
      deviation && s.send.type === deviation.step ? deviation.rewrite(s.send, ctx) : s.send;
    if (out === 'drop' || out === 'silence') return undefined;
    options.rogueSent?.push(out);
    return wire(out);
  };
  let m = deliver('taker', taker.start());
  for (let turn: Role = 'maker'; m !== undefined; turn = other(turn)) {
    let step = machines[turn].receive(m);
    if (turn === 'maker' && maker.state === 'awaitingDecision') {
      pair.apply('maker', maker, step);
      step = maker.accept();
    }
    m = deliver(turn, step);
  }
  // A side still waiting times out, as its handler's read would.
  for (const side of ['taker', 'maker'] as const) {
    if (machines[side].state !== 'done') {
      pair.apply(side, machines[side], machines[side].fail(new ProtocolTimeoutError('silence')));
    }
  }
  return {
    honest: machines[other(rogueSide)].outcome,
    rogue: machines[rogueSide].outcome,
    pair,
    honestSent,
    honestBroadcast,
  };
}
