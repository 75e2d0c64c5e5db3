// In-memory harness for the rollover state machines: a contract set up by the real order machines
// (test/protocols/order/harness.ts runPair), the lock marked confirmed, then a taker and a maker
// rollover machine driven by the real driver over a pipe that encodes and decodes every message
// with the wire schema. Executors fold commands through the aggregate (so every recorded command
// must be legal) and keep an ordered journal of persists and sends, for the crash-safety checks.
import { secp256k1 } from '@noble/curves/secp256k1.js';
import type { ContractRecord } from '../../../dlc/contract.ts';
import { apply, type Cfd, type CfdEvent, decide } from '../../../model/cfd.ts';
import { parseFundingRate, type Role } from '../../../model/units.ts';
import { runMachine } from '../../../protocols/driver.ts';
import { adaptorWork } from '../../../protocols/handler.ts';
import type { RolloverExecutor } from '../../../protocols/rollover/machine.ts';
import {
  MakerRollover,
  type RolloverConfig,
  type RolloverEffect,
  type RolloverOutcome,
  type RolloverRequest,
  type RolloverResult,
  TakerRollover,
} from '../../../protocols/rollover/machine.ts';
import {
  type RolloverMessage,
  RolloverMessageSchema,
} from '../../../protocols/rollover/messages.ts';
import type { TestOracle } from '../../helpers/contract-fixtures.ts';
import { NOW, runPair, throwIfFailing } from '../order/harness.ts';
import { Pipe, type Tamper as PipeTamper, PipeTransport } from '../pipe.ts';

export const CONFIG: Partial<RolloverConfig> = { liquidationEventCount: 2 };
export const RATE = parseFundingRate('0.0002');

/** How a side misbehaves on its way out. */
export type Tamper = PipeTamper<RolloverMessage>;

/** A transport whose sends go into `journal` as `send:<type>`. */
function journaled(inbound: Pipe, outbound: Pipe, journal: string[], tamper?: Tamper) {
  return new PipeTransport(RolloverMessageSchema, inbound, outbound, {
    tamper,
    onSend: (message) => journal.push(`send:${message.type}`),
  });
}

/** One party: its CFD log and contract record, as a node would hold them. */
export class Party {
  cfd: Cfd;
  record: ContractRecord;
  readonly events: CfdEvent[] = [];
  /** persist:pending / persist:final / record:<command> / send:<type>, in order. */
  journal: string[] = [];
  readonly oracle: TestOracle;
  now = NOW + 3_600;
  fundingRate = RATE;
  fundingRateAsOf = NOW + 3_600;
  feeRate = 2n;
  decision: { accept: true } | { accept: false; reason: string } = { accept: true };
  answers: Partial<Record<RolloverRequest['type'], () => RolloverResult>> = {};
  failEffect: Partial<Record<string, Error>> = {};

  constructor(cfd: Cfd, record: ContractRecord, oracle: TestOracle) {
    this.cfd = cfd;
    this.record = record;
    this.oracle = oracle;
  }

  eventTypes(): string[] {
    return this.events.map((e) => e.type);
  }

  executor(): RolloverExecutor {
    return {
      effect: async (e: RolloverEffect) => {
        throwIfFailing(this.failEffect, e);
        if (e.type === 'persist') {
          const before = new Set((this.record.unfinished ?? []).map((u) => u.txid));
          const unfinished = (e.record.unfinished ?? []).some((u) => !before.has(u.txid));
          this.journal.push(
            e.record.previous
              ? 'persist:pending'
              : unfinished
                ? 'persist:unfinished'
                : e.record.counterpartyOnly
                  ? 'persist:counterpartyOnly'
                  : 'persist:final',
          );
          this.record = e.record;
          return;
        }
        const events = decide(this.cfd, e.command, this.now);
        this.cfd = events.reduce(apply, this.cfd);
        this.events.push(...events);
        this.journal.push(`record:${e.command.type}`);
      },
      request: async (r: RolloverRequest): Promise<RolloverResult> => {
        const answer = this.answers[r.type];
        if (answer) return answer();
        switch (r.type) {
          case 'decide': {
            try {
              decide(this.cfd, { type: 'startRollover', proposedBy: 'taker' }, this.now);
            } catch (err) {
              return { type: 'decided', accept: false, reason: (err as Error).message };
            }
            if (!this.decision.accept) return { type: 'decided', ...this.decision };
            return {
              type: 'decided',
              accept: true,
              cfd: this.cfd,
              record: this.record,
              fundingRate: this.fundingRate,
              fundingRateAsOf: this.fundingRateAsOf,
              feeRate: this.feeRate,
            };
          }
          case 'announcements': {
            const xOnly = (k: Uint8Array) => secp256k1.getPublicKey(k, true).subarray(1);
            const nonces = this.oracle.nonceSks.map(xOnly);
            return {
              type: 'announced',
              oraclePublicKey: xOnly(this.oracle.sk),
              events: r.eventIds.map((eventId) => ({ eventId, nonces })),
            };
          }
          case 'encrypt':
          case 'verify':
            return adaptorWork(undefined, r);
        }
      },
    };
  }
}

/** A contract set up by the real order machines, lock confirmed on both sides. */
export async function openContract(): Promise<{ taker: Party; maker: Party; cfdId: string }> {
  const r = await runPair();
  if (r.taker.type !== 'completed' || r.maker.type !== 'completed') {
    throw new Error(`setup: ${r.taker.type}/${r.maker.type}`);
  }
  const confirmed = (cfd: Cfd) => decide(cfd, { type: 'confirmLock' }, NOW).reduce(apply, cfd);
  const oracle = r.takerNode.oracle;
  return {
    taker: new Party(confirmed(r.takerNode.cfds.get(r.orderId)!), r.taker.record, oracle),
    maker: new Party(confirmed(r.makerNode.cfds.get(r.orderId)!), r.maker.record, oracle),
    cfdId: r.orderId,
  };
}

/** The contract {@link openContractCopy} copies, set up once per process. */
let sharedContract: ReturnType<typeof openContract> | undefined;

/**
 * Both sides of an open contract like {@link openContract}'s, each call its own copy of one
 * contract set up once: a setup costs seconds of adaptor signing, and a test that needs one open
 * contract (not two different ones) starts after it. The copies share no object, so nothing one
 * test does reaches another.
 */
export async function openContractCopy(): Promise<{ taker: Party; maker: Party; cfdId: string }> {
  sharedContract ??= openContract();
  const { taker, maker, cfdId } = await sharedContract;
  const copy = (p: Party) => new Party(structuredClone(p.cfd), structuredClone(p.record), p.oracle);
  return { taker: copy(taker), maker: copy(maker), cfdId };
}

const freshSecrets = () => ({
  publish: secp256k1.utils.randomSecretKey(),
  revocation: secp256k1.utils.randomSecretKey(),
});

export interface RolloverRun {
  readonly taker: RolloverOutcome;
  readonly maker: RolloverOutcome;
  readonly takerMachine: TakerRollover;
}

/**
 * Both sides' rollover machines for one run, on fresh keys (journals cleared): the taker's from
 * its CFD and record, the maker's expecting `counterpartyPeerId` (default: its CFD's).
 */
export function rolloverMachines(
  taker: Party,
  maker: Party,
  options: {
    takerConfig?: Partial<RolloverConfig>;
    makerConfig?: Partial<RolloverConfig>;
    counterpartyPeerId?: string;
  } = {},
) {
  taker.journal = [];
  maker.journal = [];
  const takerMachine = new TakerRollover({
    cfd: taker.cfd,
    record: taker.record,
    secrets: freshSecrets(),
    now: taker.now,
    config: { ...CONFIG, ...options.takerConfig },
  });
  const makerMachine = new MakerRollover({
    secrets: freshSecrets(),
    now: maker.now,
    counterpartyPeerId: options.counterpartyPeerId ?? maker.cfd.terms!.counterpartyPeerId,
    config: { ...CONFIG, ...options.makerConfig },
  });
  return { takerMachine, makerMachine, parties: { taker, maker } };
}

/** Runs both machines against each other over pipes, each side on `transport`'s transport. */
export async function runRollover(
  taker: Party,
  maker: Party,
  machines: { takerMachine: TakerRollover; makerMachine: MakerRollover },
  transport: (
    side: Role,
    inbound: Pipe,
    outbound: Pipe,
  ) => PipeTransport<typeof RolloverMessageSchema>,
): Promise<{ taker: RolloverOutcome; maker: RolloverOutcome }> {
  const toMaker = new Pipe();
  const toTaker = new Pipe();
  const { takerMachine, makerMachine } = machines;
  const [t, m] = await Promise.all([
    runMachine(
      'rollover',
      takerMachine,
      takerMachine.start(),
      transport('taker', toTaker, toMaker),
      taker.executor(),
    ),
    runMachine(
      'rollover',
      makerMachine,
      makerMachine.start(),
      transport('maker', toMaker, toTaker),
      maker.executor(),
    ),
  ]);
  return { taker: t, maker: m };
}

/** One rollover between the two parties; either may misbehave through `tamper`. */
export async function roll(
  taker: Party,
  maker: Party,
  options: {
    takerTamper?: Tamper;
    makerTamper?: Tamper;
    takerConfig?: Partial<RolloverConfig>;
    makerConfig?: Partial<RolloverConfig>;
  } = {},
): Promise<RolloverRun> {
  const machines = rolloverMachines(taker, maker, options);
  const { taker: t, maker: m } = await runRollover(
    taker,
    maker,
    machines,
    (side, inbound, outbound) =>
      journaled(inbound, outbound, machines.parties[side].journal, options[`${side}Tamper`]),
  );
  return { taker: t, maker: m, takerMachine: machines.takerMachine };
}

/** {@link openContractCopy} before each test of the calling suite: a fresh copy each time. */
export function openContractEach(): { readonly taker: Party; readonly maker: Party } {
  const parties = {} as { taker: Party; maker: Party };
  beforeEach(async () => {
    Object.assign(parties, await openContractCopy());
  });
  return parties;
}
