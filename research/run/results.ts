/**
 * The results of a run (research/scenario/types.ts `RESULT_FILES`), read from the nodes' own
 * records once the run drained: their event logs, their position histories (node/app/views/
 * history.ts: closedBy, exit price, realised P/L, funding) and the chain's transactions. Nothing
 * here is estimated: every figure is either a node's view or read from a transaction.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Transaction } from 'bitcoinjs-lib';
import type { RecordedEvent } from '../../eventstore/event-store.ts';
import { ENDED_UI_STATES, uiState } from '../../model/cfd.ts';
import type { PositionHistoryView } from '../../node/app/views/history.ts';
import type { BitcoinRpc } from '../../node/chain/rpc.ts';
import type { Daemon } from '../../node/daemon/daemon.ts';
import { type CsvField, formatCsv } from '../report/csv.ts';
import { writeReport } from '../report/report.ts';
import { RESULT_COLUMNS, RESULT_FILES, type RunSummary, type Scenario } from '../scenario/types.ts';
import type { NamedNode, Row, RunRows } from './driver.ts';

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

/** One check of summary.json. */
export type Check = RunSummary['checks'][number];

/** Writes `name` in the results folder `dir`, owner-only. */
export const writeResultFile = (dir: string, name: string, text: string): Promise<void> =>
  writeFile(join(dir, name), text, { mode: 0o600 });

/** What a runner knows of the chain for the results; the remote runner reads none. */
export interface ChainFigures {
  /** positions.csv's on-chain fee of a position: what its CFD's transactions paid. */
  onchainFee(p: PositionHistoryView): Promise<CsvField>;
  /** Σ fees of every transaction that spent the network's coins, sats. */
  readonly onchainFeesSats: string;
  /** The checks that need the chain (after noneStuck), given the takers' liquidated positions. */
  checks(liquidations: readonly PositionHistoryView[]): Promise<Check[]>;
}

/**
 * The results both runners write alike, once the run drained: positions.csv from the takers'
 * position histories, the timeline's CSVs (trades, prices, equity, faults), and the summary's
 * figures and checks — funding paid = received, none stuck, enough liquidations, and `chain`'s
 * own between them. Answers the summary; {@link writeSummary} writes it.
 * @param histories each node's position history (its own view), by node name.
 * @param stuck the CFDs not in a final state, as `node:cfdId:state`.
 */
export async function writeRunResults(run: {
  readonly scenario: Scenario;
  readonly dir: string;
  readonly startedAt: number;
  readonly makers: readonly NamedNode[];
  readonly takers: readonly { readonly name: string }[];
  readonly histories: ReadonlyMap<string, readonly PositionHistoryView[]>;
  readonly rows: RunRows;
  readonly stuck: readonly string[];
  readonly chain: ChainFigures;
}): Promise<RunSummary> {
  const { scenario, dir, makers, takers, histories, rows, stuck, chain } = run;
  const positionRows: Row[] = [];
  const closedBy: Record<string, number> = {};
  let opened = 0;
  let open = 0;
  const liquidations: PositionHistoryView[] = [];
  for (const t of takers) {
    for (const p of histories.get(t.name) ?? []) {
      if (p.closedBy === 'rejected' || p.closedBy === 'setupFailed') continue;
      if (p.openedAtSecs === null && p.closedBy === null) continue; // never opened
      opened++;
      if (p.closedBy) closedBy[p.closedBy] = (closedBy[p.closedBy] ?? 0) + 1;
      else open++;
      if (p.closedBy === 'liquidation') liquidations.push(p);
      const f = fundingOf(p);
      positionRows.push([
        p.id,
        t.name,
        makers.find((m) => m.peerId === p.counterparty)?.name ?? p.counterparty,
        p.position,
        p.quantity,
        p.leverage,
        p.entryPrice,
        p.exitPrice ?? '',
        p.margin,
        f.paid,
        f.received,
        p.openingFee,
        await chain.onchainFee(p),
        p.payout ?? '',
        p.realisedPnl ?? '',
        p.closedBy ?? '',
        p.openedAtSecs === null ? '' : p.openedAtSecs * 1000,
        p.closedAtSecs === null ? '' : p.closedAtSecs * 1000,
      ]);
    }
  }
  const file = (name: string, text: string) => writeResultFile(dir, name, text);
  await file(RESULT_FILES.positions, formatCsv(RESULT_COLUMNS.positions, positionRows));
  await file(RESULT_FILES.trades, formatCsv(RESULT_COLUMNS.trades, rows.trades));
  await file(RESULT_FILES.prices, formatCsv(RESULT_COLUMNS.prices, rows.prices));
  await file(RESULT_FILES.equity, formatCsv(RESULT_COLUMNS.equity, rows.equity));
  await file(RESULT_FILES.faults, formatCsv(RESULT_COLUMNS.faults, rows.faults));

  let fundingPaid = 0n;
  let fundingReceived = 0n;
  for (const positions of histories.values()) {
    for (const p of positions) {
      const f = fundingOf(p);
      fundingPaid += f.paid;
      fundingReceived += f.received;
    }
  }
  const e = scenario.expect;
  const checks: Check[] = [];
  if (e.fundingConserved) {
    checks.push({
      name: 'fundingConserved',
      ok: fundingPaid === fundingReceived,
      detail: `paid ${fundingPaid}, received ${fundingReceived}`,
    });
  }
  if (e.noneStuck) {
    checks.push({
      name: 'noneStuck',
      ok: stuck.length === 0,
      detail: stuck.length ? stuck.join('; ') : 'every CFD in a final state',
    });
  }
  checks.push(...(await chain.checks(liquidations)));
  checks.push({
    name: 'minLiquidations',
    ok: liquidations.length >= e.minLiquidations,
    detail: `${liquidations.length} ≥ ${e.minLiquidations}`,
  });
  return {
    scenario: scenario.name,
    seed: scenario.seed,
    startedAt: run.startedAt,
    durationSecs: scenario.durationSecs,
    nodes: { makers: makers.length, takers: takers.length },
    cfds: { opened, closedBy, open },
    fundingPaidSats: fundingPaid.toString(),
    fundingReceivedSats: fundingReceived.toString(),
    onchainFeesSats: chain.onchainFeesSats,
    stuck: [...stuck],
    checks,
  };
}

/** Writes summary.json, then the report page from the files written (research/report). */
export async function writeSummary(dir: string, summary: RunSummary): Promise<void> {
  await writeResultFile(dir, RESULT_FILES.summary, `${jsonText(summary, 2)}\n`);
  await writeReport(dir);
}
