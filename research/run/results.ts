/**
 * The results of a run (research/scenario/types.ts `RESULT_FILES`), read from the nodes' own
 * records once the run drained: their event logs, their position histories (node/app/views/
 * history.ts: closedBy, exit price, realised P/L, funding) and the chain's transactions. Nothing
 * here is estimated: every figure is either a node's view or read from a transaction.
 */
import { Transaction } from 'bitcoinjs-lib';
import type { RecordedEvent } from '../../eventstore/event-store.ts';
import { ENDED_UI_STATES, uiState } from '../../model/cfd.ts';
import type { PositionHistoryView } from '../../node/app/views/history.ts';
import type { BitcoinRpc } from '../../node/chain/rpc.ts';
import type { Daemon } from '../../node/daemon/daemon.ts';

/** JSON with bigints as decimal strings. */
export const jsonText = (v: unknown, indent?: number): string =>
  JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x), indent);

/** Every event of a node's log, in order. */
export async function readLog(d: Daemon): Promise<RecordedEvent[]> {
  const all: RecordedEvent[] = [];
  for (;;) {
    const page = await d.store.readAll(all.at(-1)?.position ?? 0);
    if (page.length === 0) return all;
    all.push(...page);
  }
}

/** One row of protocols.csv. */
export interface ProtocolRow {
  readonly t: number;
  readonly node: string;
  readonly cfdId: string;
  readonly protocol: 'setup' | 'rollover' | 'settlement';
  readonly durationMs: number | null;
  readonly outcome: 'completed' | 'failed' | 'rejected' | 'unfinished';
  readonly reason: string;
}

/** Which event starts a protocol, and which events end it with what outcome. */
const PROTOCOLS: readonly {
  readonly protocol: ProtocolRow['protocol'];
  readonly start: string;
  readonly ends: Readonly<Record<string, ProtocolRow['outcome']>>;
}[] = [
  {
    protocol: 'setup',
    start: 'OrderPlaced',
    ends: {
      ContractSetupCompleted: 'completed',
      ContractSetupFailed: 'failed',
      OrderRejected: 'rejected',
    },
  },
  {
    protocol: 'rollover',
    start: 'RolloverStarted',
    ends: {
      RolloverCompleted: 'completed',
      RolloverFailed: 'failed',
      RolloverRejected: 'rejected',
    },
  },
  {
    protocol: 'settlement',
    start: 'CollaborativeSettlementStarted',
    ends: {
      CollaborativeSettlementCompleted: 'completed',
      CollaborativeSettlementFailed: 'failed',
      CollaborativeSettlementRejected: 'rejected',
    },
  },
];

/**
 * Each setup, rollover and collaborative settlement a node ran, from its log: started when its
 * start event was recorded, ended by the outcome event that followed (the protocols record their
 * outcomes as events, so this survives a node's restart).
 */
export function protocolRows(node: string, events: readonly RecordedEvent[]): ProtocolRow[] {
  const rows: ProtocolRow[] = [];
  const open = new Map<string, { t: number; protocol: ProtocolRow['protocol'] }>();
  for (const e of events) {
    for (const p of PROTOCOLS) {
      const key = `${e.streamId} ${p.protocol}`;
      if (e.type === p.start) {
        open.set(key, { t: e.recordedAt, protocol: p.protocol });
        continue;
      }
      const outcome = p.ends[e.type];
      const started = open.get(key);
      if (!outcome || !started) continue;
      open.delete(key);
      const reason = (e.data as { reason?: unknown } | undefined)?.reason;
      rows.push({
        t: started.t,
        node,
        cfdId: e.streamId,
        protocol: p.protocol,
        durationMs: e.recordedAt - started.t,
        outcome,
        reason: typeof reason === 'string' ? reason : '',
      });
    }
  }
  for (const [key, s] of open) {
    rows.push({
      t: s.t,
      node,
      cfdId: key.split(' ')[0]!,
      protocol: s.protocol,
      durationMs: null,
      outcome: 'unfinished',
      reason: '',
    });
  }
  return rows.sort((a, b) => a.t - b.t);
}

/** CFDs of a node that are not in a final state, as `node:cfdId:state`. */
export async function unended(node: string, d: Daemon): Promise<string[]> {
  const all = [...d.readModel.openCfds(), ...(await d.readModel.closedCfds())];
  return all
    .map((c) => ({ id: c.terms?.id ?? '?', state: uiState(c) }))
    .filter((c) => !ENDED_UI_STATES.has(c.state))
    .map((c) => `${node}:${c.id}:${c.state}`);
}

/** The fee each transaction paid, read from the chain (Σ prevouts − Σ outputs), cached. */
export class ChainFees {
  readonly #rpc: BitcoinRpc;
  readonly #txs = new Map<string, Transaction | null>();
  readonly #fees = new Map<string, bigint | null>();

  constructor(rpc: BitcoinRpc) {
    this.#rpc = rpc;
  }

  async tx(txid: string): Promise<Transaction | null> {
    if (!this.#txs.has(txid)) {
      const hex = await this.#rpc.getRawTransaction(txid).catch(() => null);
      this.#txs.set(txid, hex ? Transaction.fromHex(hex) : null);
    }
    return this.#txs.get(txid)!;
  }

  /** The fee `txid` paid; null when the chain does not know it (never published, replaced). */
  async fee(txid: string): Promise<bigint | null> {
    if (!this.#fees.has(txid)) {
      const tx = await this.tx(txid);
      let fee: bigint | null = null;
      if (tx) {
        let inputs = 0n;
        for (const input of tx.ins) {
          const prev = await this.tx(Buffer.from(input.hash).reverse().toString('hex'));
          const out = prev?.outs[input.index];
          if (!out) {
            inputs = -1n;
            break;
          }
          inputs += out.value;
        }
        fee = inputs < 0n ? null : inputs - tx.outs.reduce((s, o) => s + o.value, 0n);
      }
      this.#fees.set(txid, fee);
    }
    return this.#fees.get(txid)!;
  }

  /**
   * Σ outputs of the known transactions among `txids` still unspent on chain and not in
   * `owned` (`txid:vout` of the wallets' coins): value the network left on chain outside its
   * wallets, e.g. a published commit's 330-sat anchors nobody needed to spend.
   */
  async stranded(txids: Iterable<string>, owned: ReadonlySet<string>): Promise<bigint> {
    let sum = 0n;
    for (const txid of new Set(txids)) {
      const tx = await this.tx(txid);
      for (let vout = 0; tx && vout < tx.outs.length; vout++) {
        if (owned.has(`${txid}:${vout}`)) continue;
        if (await this.#rpc.getTxOut(txid, vout)) sum += tx.outs[vout]!.value;
      }
    }
    return sum;
  }

  /** Σ fees of the known transactions among `txids`. */
  async total(txids: Iterable<string>): Promise<bigint> {
    let sum = 0n;
    for (const txid of new Set(txids)) sum += (await this.fee(txid)) ?? 0n;
    return sum;
  }
}

/** A position's funding from its own side: what it paid and what it received, sats. */
export function fundingOf(p: PositionHistoryView): { paid: bigint; received: bigint } {
  let paid = 0n;
  let received = 0n;
  for (const f of p.funding) {
    if (f.direction === 'pay') paid += BigInt(f.amount);
    if (f.direction === 'receive') received += BigInt(f.amount);
  }
  return { paid, received };
}
