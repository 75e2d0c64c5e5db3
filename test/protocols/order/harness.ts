// In-memory harness for the order/contract-setup state machines: two machines driven by the real
// driver (runMachine) over a pipe that encodes and decodes every message with the wire schema, and
// executors with a fake wallet (reservations tracked), a fake log (the CFD aggregate's own
// decide/apply, so every recorded command must be legal) and inline adaptor crypto. The lock
// inputs' chain check reads a fake chain both parties' fake coins are on — or, when a node is
// given a real chain and wallet (test/adversary/lock-inputs.spec.ts), the embedded chain.
import { randomUUID } from 'node:crypto';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import type { ContractRecord } from '../../../dlc/index.ts';
import { apply, type Cfd, type CfdEvent, decide, EMPTY_CFD } from '../../../model/cfd.ts';
import type { Offer } from '../../../model/offer.ts';
import { outputScript } from '../../../node/wallet/keys.ts';
import type { Wallet } from '../../../node/wallet/wallet.ts';
import { runMachine } from '../../../protocols/driver.ts';
import { adaptorWork } from '../../../protocols/handler.ts';
import { type SetupMessage, SetupMessageSchema } from '../../../protocols/order/messages.ts';
import type { OrderChain } from '../../../protocols/order/order.ts';
import type { SetupExecutor } from '../../../protocols/order/setup.ts';
import {
  type ChainOutput,
  MakerSetup,
  type MakerSetupInit,
  type SetupEffect,
  type SetupOutcome,
  type SetupRequest,
  type SetupResult,
  TakerSetup,
} from '../../../protocols/order/setup.ts';
import { newOracle, type TestOracle } from '../../helpers/contract-fixtures.ts';
import { gridOffer } from '../../helpers/offers.ts';
import { type Key, newKey, p2wpkh } from '../../node/chain/helpers.ts';
import { Pipe, type Tamper as PipeTamper, PipeTransport } from '../pipe.ts';

export const NOW = 1_700_000_000;

export function testOffer(over: Partial<Offer> = {}): Offer {
  return gridOffer(NOW, 86_400, undefined, { id: 'offer-1', ...over });
}

export const TIMELOCKS = { cet: 12, refund: 216 };

/** How a side misbehaves on its way out: a function of each message it is about to send. */
export type Tamper = PipeTamper<SetupMessage>;

/** Fake coins by `txid:vout`: what the fake chain check reads. */
export type FakeChain = Map<string, ChainOutput>;

/**
 * Throws the error a test set in `failEffect` for effect `e`: by its command's type when it
 * records one, else by its own.
 */
export function throwIfFailing(
  failEffect: Partial<Record<string, Error>>,
  e: { type: string; command?: { type: string } },
): void {
  const err = failEffect[e.type === 'record' && e.command ? e.command.type : e.type];
  if (err) throw err;
}

/** A party's node, faked: wallet reservations, the CFD log, persisted records, inline crypto. */
export class FakeNode {
  readonly funding: Key = newKey();
  readonly payout: Key = newKey();
  readonly reserved = new Set<string>();
  readonly cfds = new Map<string, Cfd>();
  readonly events = new Map<string, CfdEvent[]>();
  readonly persisted: ContractRecord[] = [];
  /** Overrides of requests, per type. */
  readonly answers: Partial<
    Record<SetupRequest['type'], (r: SetupRequest) => SetupResult | Promise<SetupResult>>
  > = {};
  readonly failEffect: Partial<Record<string, Error>> = {};
  readonly oracle: TestOracle;
  readonly fakeChain: FakeChain;
  /** A real chain for the lock-input check (instead of the fake chain). */
  chain: OrderChain | undefined;
  /** A real wallet: funds, signs and releases (instead of the fake coins). */
  wallet: Pick<Wallet, 'reserveFunding' | 'release' | 'signPsbt' | 'receiveAddress'> | undefined;

  constructor(oracle: TestOracle, fakeChain: FakeChain = new Map()) {
    this.oracle = oracle;
    this.fakeChain = fakeChain;
  }

  eventTypes(id: string): string[] {
    return (this.events.get(id) ?? []).map((e) => e.type);
  }

  executor(): SetupExecutor {
    return {
      effect: async (e: SetupEffect) => {
        throwIfFailing(this.failEffect, e);
        if (e.type === 'release') {
          this.reserved.delete(e.reservationId);
          this.wallet?.release(e.reservationId);
        } else if (e.type === 'persist') this.persisted.push(e.record);
        else {
          const id = e.command.type === 'placeOrder' ? e.command.terms.id : this.#lastId!;
          const cfd = this.cfds.get(id) ?? EMPTY_CFD;
          const events = decide(cfd, e.command, NOW);
          this.cfds.set(id, events.reduce(apply, cfd));
          this.events.set(id, [...(this.events.get(id) ?? []), ...events]);
        }
      },
      request: async (r: SetupRequest): Promise<SetupResult> => {
        const answer = this.answers[r.type];
        if (answer) return answer(r);
        switch (r.type) {
          case 'decide':
            return { type: 'decided', accept: true };
          case 'fund': {
            if (this.wallet) {
              const f = await this.wallet.reserveFunding(r.amount, r.feeRate, {
                extraVbytes: r.extraVbytes,
              });
              this.reserved.add(f.reservationId);
              const address = await this.wallet.receiveAddress();
              return {
                type: 'funded',
                funding: {
                  reservationId: f.reservationId,
                  inputs: f.inputs,
                  change: f.change && { script: f.change.script, value: f.change.value },
                  payoutScript: bytesToHex(outputScript(address, 'regtest')),
                },
              };
            }
            const reservationId = randomUUID();
            this.reserved.add(reservationId);
            const value = r.amount + 100_000n;
            const coin = {
              txid: bytesToHex(secp256k1.utils.randomSecretKey()),
              vout: 1,
              value,
              script: bytesToHex(p2wpkh(this.funding).output),
            };
            this.fakeChain.set(`${coin.txid}:${coin.vout}`, {
              value,
              scriptPubKey: coin.script,
              confirmations: 6,
              coinbase: false,
            });
            return {
              type: 'funded',
              funding: {
                reservationId,
                inputs: [coin],
                change: { script: bytesToHex(p2wpkh(this.funding).output), value: 99_000n },
                payoutScript: bytesToHex(p2wpkh(this.payout).output),
              },
            };
          }
          case 'announcement': {
            const xOnly = (k: Uint8Array) => secp256k1.getPublicKey(k, true).subarray(1);
            return {
              type: 'announced',
              eventId: r.eventId,
              oraclePublicKey: xOnly(this.oracle.sk),
              nonces: this.oracle.nonceSks.map(xOnly),
            };
          }
          case 'encrypt':
          case 'verify':
            return adaptorWork(undefined, r);
          case 'checkInputs': {
            const chain = this.chain;
            const outputs = chain
              ? await Promise.all(
                  r.inputs.map((i) =>
                    chain.getTxOut(i.txid, i.vout, true, { signal: AbortSignal.timeout(10_000) }),
                  ),
                )
              : r.inputs.map((i) => this.fakeChain.get(`${i.txid}:${i.vout}`) ?? null);
            return { type: 'inputsChecked', outputs };
          }
          case 'signLock':
            if (this.wallet) {
              this.wallet.signPsbt(r.psbt);
              return { type: 'lockSigned', psbt: r.psbt };
            }
            r.psbt.data.inputs.forEach((input, i) => {
              if (!input.witnessUtxo) return;
              r.psbt.signInput(i, {
                publicKey: this.funding.pub,
                sign: (hash: Uint8Array) =>
                  secp256k1.sign(hash, this.funding.priv, { prehash: false, lowS: true }),
              });
            });
            return { type: 'lockSigned', psbt: r.psbt };
        }
      },
    };
  }

  #lastId: string | undefined;

  /** The id of the CFD a run works on (commands after placeOrder carry none). */
  track(id: string): void {
    this.#lastId = id;
  }
}

export interface PairResult {
  readonly taker: SetupOutcome;
  readonly maker: SetupOutcome;
  readonly takerNode: FakeNode;
  readonly makerNode: FakeNode;
  readonly orderId: string;
  readonly takerTransport: PipeTransport<typeof SetupMessageSchema>;
  readonly makerTransport: PipeTransport<typeof SetupMessageSchema>;
}

/** Runs a taker and a maker against each other; either may misbehave through `tamper`. */
export async function runPair(
  options: {
    offer?: Offer;
    makerOffers?: Offer[];
    /** The maker's recent offers (MakerSetupInit.recent). */
    makerRecent?: MakerSetupInit['recent'];
    /** Sent with the taker's order. */
    maxSlippageBps?: number;
    quantity?: bigint;
    leverage?: number;
    takerTamper?: Tamper;
    makerTamper?: Tamper;
    makerTimelocks?: { cet: number; refund: number };
    makerMinInputConfirmations?: number;
    setup?: (nodes: { taker: FakeNode; maker: FakeNode }) => void | Promise<void>;
  } = {},
): Promise<PairResult> {
  const oracle = newOracle();
  const fakeChain: FakeChain = new Map();
  const takerNode = new FakeNode(oracle, fakeChain);
  const makerNode = new FakeNode(oracle, fakeChain);
  await options.setup?.({ taker: takerNode, maker: makerNode });
  const offer = options.offer ?? testOffer();
  const orderId = `order-${randomUUID()}`;
  takerNode.track(orderId);
  makerNode.track(orderId);
  const secrets = () => ({
    identity: secp256k1.utils.randomSecretKey(),
    publish: secp256k1.utils.randomSecretKey(),
    revocation: secp256k1.utils.randomSecretKey(),
  });
  const taker = new TakerSetup({
    orderId,
    offer,
    quantity: options.quantity ?? 3_500n,
    leverage: options.leverage ?? 5,
    secrets: secrets(),
    timelocks: TIMELOCKS,
    now: NOW,
    counterpartyPeerId: 'maker-peer',
    ...(options.maxSlippageBps !== undefined && { maxSlippageBps: options.maxSlippageBps }),
  });
  const maker = new MakerSetup({
    offers: options.makerOffers ?? [offer],
    secrets: secrets(),
    timelocks: options.makerTimelocks ?? TIMELOCKS,
    now: NOW,
    counterpartyPeerId: 'taker-peer',
    ...(options.makerRecent && { recent: options.makerRecent }),
    ...(options.makerMinInputConfirmations !== undefined && {
      minInputConfirmations: options.makerMinInputConfirmations,
    }),
  });
  const toMaker = new Pipe();
  const toTaker = new Pipe();
  const takerTransport = new PipeTransport(SetupMessageSchema, toTaker, toMaker, {
    tamper: options.takerTamper,
  });
  const makerTransport = new PipeTransport(SetupMessageSchema, toMaker, toTaker, {
    tamper: options.makerTamper,
  });
  const [t, m] = await Promise.all([
    runMachine('setup', taker, taker.start(), takerTransport, takerNode.executor()),
    runMachine('setup', maker, maker.start(), makerTransport, makerNode.executor()),
  ]);
  return {
    taker: t,
    maker: m,
    takerNode,
    makerNode,
    orderId,
    takerTransport,
    makerTransport,
  };
}
