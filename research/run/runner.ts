/**
 * Runs a planned scenario (issue #16) in one process and writes its results folder: starts the
 * network (network.ts), funds every wallet, then drives the plan in run time — the feed serves
 * the plan's prices, each taker's actions go through its node's application service, each fault
 * starts and ends on its time — ends by itself at `durationSecs`, drains (faults ended, what can
 * be closed collaboratively closed, blocks mined until nothing is pending, bounded), writes the
 * results (results.ts) and stops everything. The timeline and the actions are the driver's
 * (driver.ts), shared with the remote runner; this file answers its ports in process.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { actions, ENDED_UI_STATES, uiState } from '../../model/cfd.ts';
import { formatPrice, type Leverage } from '../../model/units.ts';
import { MakerNoAnswerError, UnavailableError } from '../../node/app/errors.ts';
import type { PositionHistoryView } from '../../node/app/views/history.ts';
import { BitcoinRpc } from '../../node/chain/rpc.ts';
import { createMetrics } from '../../ui-server/metrics.ts';
import { formatCsv } from '../report/csv.ts';
import {
  type FaultSpec,
  type Plan,
  RESULT_COLUMNS,
  RESULT_FILES,
  type RunSummary,
  type Scenario,
} from '../scenario/types.ts';
import {
  emptyRows,
  message,
  poll,
  type Row,
  RunDriver,
  type RunRows,
  type RunWorld,
  type TakerPort,
} from './driver.ts';
import { feedPrice, RunNode, type RunParts, runTime, silentLogger, startParts } from './network.ts';
import {
  ChainFees,
  type Check,
  jsonText,
  type ProtocolRow,
  protocolRows,
  readLog,
  unended,
  writeResultFile,
  writeRunResults,
  writeSummary,
} from './results.ts';

export interface RunOptions {
  /** The run folder (created); the nodes' datadirs go in `nodes/`. */
  readonly dir: string;
  readonly logger?: Logger;
  /** Aborting ends the run's timeline early; the drain and the results still happen. */
  readonly signal?: AbortSignal;
  /** Equity sampling period, run seconds. @default 2 */
  readonly equityEverySecs?: number;
  /** Longest drain, seconds. @default 3 settlement intervals, at least 60 */
  readonly drainSecs?: number;
  /** Told each stage of the run as it begins (the CLI prints them). */
  readonly progress?: (stage: string) => void;
}

/** Runs `scenario` as `plan` says; answers the summary also written to summary.json. */
export async function runScenario(
  scenario: Scenario,
  plan: Plan,
  options: RunOptions,
): Promise<RunSummary> {
  const { dir } = options;
  const logger = options.logger ?? silentLogger;
  const time = runTime(scenario.timeScale);
  await mkdir(join(dir, RESULT_FILES.metrics), { recursive: true, mode: 0o700 });
  const stops: (() => Promise<unknown>)[] = [];
  const rows = emptyRows();
  const startedAt = Date.now();
  const progress = (stage: string) =>
    options.progress?.(`${((Date.now() - startedAt) / 1000).toFixed(1)} s ${stage}`);
  try {
    progress(`starting chain, feed and oracle (${JSON.stringify(time)})`);
    const startUsd =
      plan.prices[0]?.price ?? (scenario.price.kind === 'walk' ? scenario.price.start : 50_000);
    const parts = await startParts(dir, startUsd, time, logger, stops);
    const makers: RunNode[] = [];
    for (const spec of scenario.makers) {
      const m = await RunNode.maker(parts, dir, spec, logger);
      stops.push(() => m.stop());
      makers.push(m);
    }
    const takers: RunNode[] = [];
    for (const group of scenario.takers) {
      for (let i = 1; i <= group.count; i++) {
        const t = await RunNode.taker(
          parts,
          dir,
          `${group.prefix}${i}`,
          group.fundSats,
          makers,
          logger,
        );
        stops.push(() => t.stop());
        takers.push(t);
      }
    }
    const nodes = [...makers, ...takers];
    progress(`${nodes.length} nodes started; funding`);
    const rpc = new BitcoinRpc({ url: parts.chain.rpcUrl, ...parts.chain.rpcAuth });
    const fundingTxids = await fund(parts, nodes, rpc);
    // Every taker sees every maker's offers before the clock starts.
    for (const t of takers) {
      await poll(60_000, () => {
        const now = Math.floor(Date.now() / 1000);
        const book = t.daemon!.offers.book.current(now, { maxOfferAgeSecs: 600 });
        return makers.every((m) => book.some((o) => o.maker === m.peerId));
      });
    }

    progress(`running ${scenario.durationSecs} s`);
    const run = new RunDriver(
      { scenario, plan },
      localWorld(parts, nodes, rows),
      { makers, takers: takers.map(localTaker) },
      rows,
      logger,
    );
    await run.drive(options.signal, options.equityEverySecs ?? 2);
    const drainSecs = options.drainSecs ?? Math.max(60, 3 * time.settlement);
    progress('draining');
    await run.drain(drainSecs * 1000);
    progress('writing results');

    const summary = await writeResults(
      scenario,
      dir,
      startedAt,
      parts,
      makers,
      takers,
      rows,
      fundingTxids,
    );
    progress('stopping');
    return summary;
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  }
}

/**
 * Funds every wallet from the faucet, mines, waits until each sees its coins and every maker's
 * coin pool split (broadcast on the block after the funding) has confirmed: until then a maker
 * has nothing spendable and refuses orders.
 */
async function fund(
  parts: RunParts,
  nodes: readonly RunNode[],
  rpc: BitcoinRpc,
): Promise<Set<string>> {
  const txids = new Set<string>();
  for (const n of nodes) {
    const wallet = await poll(60_000, () => n.daemon!.wallet);
    if (!wallet) throw new Error(`${n.name}: no wallet within 60 s`);
    txids.add((await parts.chain.fund(await wallet.receiveAddress(), n.fundSats)).txid);
  }
  await parts.chain.mine(1);
  for (const n of nodes) {
    const funded = await poll(60_000, async () => {
      await n.daemon!.wallet!.sync();
      const b = n.daemon!.wallet!.balance();
      return b.confirmed + b.unconfirmed > 0n;
    });
    if (!funded) throw new Error(`${n.name}: funding not seen within 60 s`);
  }
  const settled = await poll(
    60_000,
    async () => {
      const splitDone = nodes
        .filter((n) => n.role === 'maker')
        .every((n) =>
          n.daemon!.wallet!.history().some((tx) => tx.sent > 0n && tx.height !== undefined),
        );
      const calm = nodes.every((n) => {
        const b = n.daemon!.wallet!.balance();
        return b.unconfirmed === 0n && b.spendable > 0n;
      });
      if (splitDone && calm && (await rpc.getRawMempool()).length === 0) return true;
      await parts.chain.mine(1);
      return false;
    },
    500,
  );
  if (!settled) throw new Error('the wallets did not settle within 60 s of funding');
  return txids;
}

/** A taker of this process, through its node's application service: the driver's port. */
function localTaker(node: RunNode): TakerPort {
  const unreadable = 'the taker is offline';
  return {
    name: node.name,
    unreadable,
    get online() {
      return node.online;
    },
    openIds: async () =>
      (node.daemon?.readModel.openCfds() ?? [])
        .filter((c) => c.setup === 'completed' && !c.closeTx && !ENDED_UI_STATES.has(uiState(c)))
        .map((c) => c.terms!.id),
    cfd: async (id) => {
      const c = await node.daemon?.readModel.get(id);
      return (
        c && {
          state: uiState(c),
          counterparty: c.terms?.counterpartyPeerId,
          closing: Boolean(c.closeTx),
          canSettle: actions(c).includes('settle'),
          proposing: Boolean(c.settlement),
          closePrice: c.closePrice ? formatPrice(c.closePrice) : '',
          failureReason: c.failureReason,
        }
      );
    },
    takeBest: async (order) => {
      const d = node.daemon;
      if (!d) return { refused: unreadable, transient: false };
      try {
        return {
          placed: await d.app.takeBestOffer({ ...order, leverage: order.leverage as Leverage }),
        };
      } catch (e) {
        // No offer or no answer right now (offers re-quoting, a maker busy): worth another try.
        const busy = e instanceof UnavailableError || e instanceof MakerNoAnswerError;
        return { refused: message(e), transient: busy && node.online };
      }
    },
    close: async (id) => {
      const d = node.daemon;
      if (!d) return unreadable;
      try {
        await d.app.close(id);
        return undefined;
      } catch (e) {
        return message(e);
      }
    },
  };
}

/** The run's faults, caused in this process: stopping nodes, the oracle's and feed's knobs. */
class LocalFaults {
  readonly #parts: RunParts;
  readonly #node: (name: string) => RunNode;
  readonly #rows: Row[];
  /** Faults under way: how each ends. */
  readonly #active = new Map<FaultSpec, () => Promise<void>>();

  constructor(parts: RunParts, node: (name: string) => RunNode, rows: Row[]) {
    this.#parts = parts;
    this.#node = node;
    this.#rows = rows;
  }

  endSecs(f: FaultSpec): number {
    switch (f.kind) {
      case 'makerRestart':
        return f.atSecs + f.downSecs;
      case 'takerOffline':
        return f.atSecs + f.rollovers * this.#parts.time.rollover;
      default:
        return f.atSecs + f.forSecs;
    }
  }

  #row(f: FaultSpec, phase: 'start' | 'end'): void {
    const target =
      f.kind === 'makerRestart'
        ? f.maker
        : f.kind === 'takerOffline'
          ? f.taker
          : f.kind === 'partition'
            ? f.between.join('|')
            : f.kind.startsWith('oracle')
              ? 'oracle'
              : f.kind === 'feedStale'
                ? 'pricefeed'
                : 'chain';
    const detail =
      f.kind === 'oracleLate'
        ? `delay ${f.delaySecs} s`
        : f.kind === 'feeSpike'
          ? `${f.satPerVb} sat/vB`
          : f.kind === 'takerOffline'
            ? `${f.rollovers} rollovers`
            : '';
    this.#rows.push([Date.now(), f.kind, target, phase, detail]);
  }

  async start(f: FaultSpec): Promise<void> {
    const { oracle, feed, chain } = this.#parts;
    this.#row(f, 'start');
    let end: () => Promise<void>;
    switch (f.kind) {
      case 'oracleSilent':
        oracle.setSilent(true);
        end = async () => oracle.setSilent(false);
        break;
      case 'oracleLate':
        oracle.setAttestDelay(f.delaySecs * 1000);
        end = async () => oracle.setAttestDelay(0);
        break;
      case 'feedStale':
        feed.pause();
        end = async () => feed.resume();
        break;
      case 'makerRestart':
      case 'takerOffline': {
        const n = this.#node(f.kind === 'makerRestart' ? f.maker : f.taker);
        await n.stop();
        end = async () => void (await n.start());
        break;
      }
      case 'partition': {
        const [a, b] = f.between.map((x) => this.#node(x)) as [RunNode, RunNode];
        await a.daemon?.blockPeer(b.peerId);
        await b.daemon?.blockPeer(a.peerId);
        end = async () => {
          a.daemon?.unblockPeer(b.peerId);
          b.daemon?.unblockPeer(a.peerId);
        };
        break;
      }
      case 'feeSpike':
        await chain.setFeeSpike({ rate: f.satPerVb });
        end = () => chain.setFeeSpike(undefined);
        break;
    }
    this.#active.set(f, end);
  }

  async end(f: FaultSpec): Promise<void> {
    const end = this.#active.get(f);
    if (!end) return;
    this.#active.delete(f);
    await end();
    this.#row(f, 'end');
  }

  async endAll(): Promise<void> {
    for (const f of [...this.#active.keys()]) await this.end(f);
  }
}

/**
 * The network of this process as the driver acts on it: the feed's prices, the nodes' accounts,
 * the faults; drained once every CFD is in a final state and the mempool empty (mining meanwhile).
 */
function localWorld(parts: RunParts, nodes: readonly RunNode[], rows: RunRows): RunWorld {
  const rpc = new BitcoinRpc({ url: parts.chain.rpcUrl, ...parts.chain.rpcAuth });
  const node = (name: string): RunNode => {
    const n = nodes.find((x) => x.name === name);
    if (!n) throw new Error(`no node '${name}' in the scenario`);
    return n;
  };
  return {
    price: async (usd) => {
      const q = parts.feed.setPrice(feedPrice(usd));
      return parts.feed.paused ? undefined : formatPrice(q.price);
    },
    accounts: async () =>
      nodes.flatMap((n) => {
        const a = n.daemon?.app.account();
        return a ? [{ name: n.name, wallet: a.wallet, equity: a.equity }] : [];
      }),
    faults: new LocalFaults(parts, node, rows.faults),
    drained: async () => {
      const stuck = (await Promise.all(nodes.map((n) => unended(n.name, n.daemon!)))).flat();
      const mempool = await rpc.getRawMempool();
      if (stuck.length === 0 && mempool.length === 0) return true;
      await parts.chain.mine(1);
      return false;
    },
  };
}

/** Reads everything from the nodes and the chain, writes every results file, answers the summary. */
async function writeResults(
  scenario: Scenario,
  dir: string,
  startedAt: number,
  parts: RunParts,
  makers: readonly RunNode[],
  takers: readonly RunNode[],
  rows: RunRows,
  fundingTxids: ReadonlySet<string>,
): Promise<RunSummary> {
  const nodes = [...makers, ...takers];
  const file = (name: string, text: string) => writeResultFile(dir, name, text);
  const fees = new ChainFees(new BitcoinRpc({ url: parts.chain.rpcUrl, ...parts.chain.rpcAuth }));

  // events.jsonl and protocols.csv from every node's log.
  const events: { t: number; node: string; cfdId: string; type: string; data: unknown }[] = [];
  const protocols: ProtocolRow[] = [];
  for (const n of nodes) {
    const log = await readLog(n.daemon!);
    for (const e of log) {
      events.push({ t: e.recordedAt, node: n.name, cfdId: e.streamId, type: e.type, data: e.data });
    }
    protocols.push(...protocolRows(n.name, log));
  }
  events.sort((a, b) => a.t - b.t);
  await file(RESULT_FILES.events, events.map((e) => `${jsonText(e)}\n`).join(''));
  protocols.sort((a, b) => a.t - b.t);
  await file(
    RESULT_FILES.protocols,
    formatCsv(
      RESULT_COLUMNS.protocols,
      protocols.map((p) => [p.t, p.node, p.cfdId, p.protocol, p.durationMs, p.outcome, p.reason]),
    ),
  );

  // Each node's position history (its own view), and the transactions of each CFD.
  const histories = new Map<string, readonly PositionHistoryView[]>();
  for (const n of nodes) histories.set(n.name, (await n.daemon!.app.positionHistory()).positions);
  const cfdTxids = new Map<string, Set<string>>();
  for (const positions of histories.values()) {
    for (const p of positions) {
      const s = cfdTxids.get(p.id) ?? new Set<string>();
      for (const tx of p.transactions) s.add(tx.txid);
      cfdTxids.set(p.id, s);
    }
  }

  for (const n of nodes) {
    const text = await createMetrics(n.daemon!.app, { size: 0 }).metrics();
    await writeFile(join(dir, RESULT_FILES.metrics, `${n.name}.prom`), text, { mode: 0o600 });
  }

  const stuck = (await Promise.all(nodes.map((n) => unended(n.name, n.daemon!)))).flat();
  // Every transaction that spent the network's coins: wallet spends and the CFDs' own.
  const spent = new Set<string>();
  const owned = new Set<string>();
  let walletsEnd = 0n;
  for (const n of nodes) {
    const w = n.daemon!.wallet!;
    await w.sync();
    const b = w.balance();
    walletsEnd += b.confirmed + b.unconfirmed;
    for (const tx of w.history())
      if (tx.sent > 0n && !fundingTxids.has(tx.txid)) spent.add(tx.txid);
    for (const u of w.utxos()) owned.add(`${u.txid}:${u.vout}`);
  }
  for (const s of cfdTxids.values()) for (const txid of s) spent.add(txid);
  const onchainFees = await fees.total(spent);
  const stranded = await fees.stranded(spent, owned);
  const funded = nodes.reduce((s, n) => s + n.fundSats, 0n);

  const e = scenario.expect;
  const chainChecks = async (liquidations: readonly PositionHistoryView[]): Promise<Check[]> => {
    const checks: Check[] = [];
    if (e.satsConserved) {
      checks.push({
        name: 'satsConserved',
        ok: walletsEnd === funded - onchainFees - stranded,
        detail: `wallets ${walletsEnd}, funded ${funded} − on-chain fees ${onchainFees} − left unspent outside the wallets (anchors) ${stranded} = ${funded - onchainFees - stranded}`,
      });
    }
    if (!e.liquidationsPaid) return checks;
    const problems: string[] = [];
    for (const p of liquidations) {
      const maker = makers.find((m) => m.peerId === p.counterparty);
      const makerSide = maker && histories.get(maker.name)?.find((x) => x.id === p.id);
      const cet = p.transactions.find((x) => x.kind === 'cet');
      const tx = cet && (await fees.tx(cet.txid));
      if (!tx || p.payout === null || !makerSide || makerSide.payout === null) {
        problems.push(`${p.id}: no CET or payout known`);
        continue;
      }
      const paid = tx.outs.reduce((s, o) => s + o.value, 0n);
      const due = BigInt(p.payout) + BigInt(makerSide.payout);
      if (paid !== due) problems.push(`${p.id}: CET pays ${paid}, payouts ${due}`);
    }
    checks.push({
      name: 'liquidationsPaid',
      ok: problems.length === 0,
      detail: problems.length
        ? problems.join('; ')
        : `${liquidations.length} liquidations, each CET paid both payouts`,
    });
    return checks;
  };

  const summary = await writeRunResults({
    scenario,
    dir,
    startedAt,
    makers,
    takers,
    histories,
    rows,
    stuck,
    chain: {
      onchainFee: (p) => fees.total(cfdTxids.get(p.id) ?? []),
      onchainFeesSats: onchainFees.toString(),
      checks: chainChecks,
    },
  });
  await writeSummary(dir, summary);
  return summary;
}
