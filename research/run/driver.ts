/**
 * The run in time (issue #16), shared by the in-process runner (runner.ts) and the remote one
 * (remote.ts): fires the plan's prices, trading actions and faults on their run seconds, samples
 * every node's equity, then drains; and drives each taker's planned open and close — the retries,
 * the waits and the trades.csv rows — the same way whichever runner it serves.
 *
 * What it needs of a taker is {@link TakerPort}; of the network around the takers,
 * {@link RunWorld}. runner.ts answers both from the nodes' application services in this process,
 * remote.ts over each node's HTTP API and the deployed services' control endpoints: one driver,
 * so the two runners cannot drift apart in what an action does or how its row reads.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { type CfdUiState, ENDED_UI_STATES } from '../../model/cfd.ts';
import type { CsvField } from '../report/csv.ts';
import type { FaultSpec, Plan, PlannedAction, Scenario } from '../scenario/types.ts';

/** Tries of an open while no offer or no answer is to be had. */
export const OPEN_ATTEMPTS = 3;
/** Pause between two tries of an open. */
export const OPEN_RETRY_MS = 1_000;
/** How long an open waits for its setup to end before its row says so. */
export const SETUP_WAIT_MS = 30_000;
/** How long a planned close keeps proposing (the drain: until its own deadline). */
export const CLOSE_WAIT_MS = 30_000;

export type Row = readonly CsvField[];

/** The rows of the run's CSVs the timeline writes (results.ts writes them out). */
export interface RunRows {
  readonly trades: Row[];
  readonly prices: Row[];
  readonly equity: Row[];
  readonly faults: Row[];
}

export const emptyRows = (): RunRows => ({ trades: [], prices: [], equity: [], faults: [] });

/** Polls `check` every `everyMs` until it answers truthy or `ms` passed; the last answer. */
export async function poll<T>(ms: number, check: () => Promise<T> | T, everyMs = 250): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v || Date.now() > deadline) return v;
    await sleep(everyMs);
  }
}

export const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** A taker's CFD, as much as the driver reads of it. */
export interface TakerCfd {
  /** Its UI state (model/cfd.ts `uiState`): `pendingSetup`, `open`, `closed`, … */
  readonly state: CfdUiState;
  /** The maker's peer id, once known. */
  readonly counterparty: string | undefined;
  /** Its collaborative close transaction is known. */
  readonly closing: boolean;
  /** The taker may propose to settle it now (its `settle` action). */
  readonly canSettle: boolean;
  /** A settlement proposal is under way. */
  readonly proposing: boolean;
  /** The agreed close price, formatted; '' while none. */
  readonly closePrice: string;
  readonly failureReason: string | undefined;
}

/** An order at the best offer: the taker's side, how many lots, at what leverage. */
export interface TakerOrder {
  readonly side: 'long' | 'short';
  readonly lots: number;
  readonly leverage: number;
}

/** An order the taker's maker accepted: its CFD id and the price it was placed at. */
export interface PlacedOrder {
  readonly orderId: string;
  readonly price: string;
}

/** How the taker answered an order: placed, or refused and whether trying again may help. */
export type OrderAnswer =
  | { readonly placed: PlacedOrder }
  | { readonly refused: string; readonly transient: boolean };

/**
 * What the driver needs of a taker. A refusal is an answer; a method throws only when the taker
 * cannot be asked at all (the action then fails without a row, logged).
 */
export interface TakerPort {
  readonly name: string;
  /** Whether the taker runs now (a stopped in-process node does not). */
  readonly online: boolean;
  /** The close's reason when its CFD cannot be read (the taker is offline, does not answer). */
  readonly unreadable: string;
  /** Its CFDs that hold coins and have not begun to close. */
  openIds(): Promise<string[]>;
  /** Its CFD `id`; undefined when it cannot be read. */
  cfd(id: string): Promise<TakerCfd | undefined>;
  /** Takes the best offer for `side` at `lots` and `leverage`. */
  takeBest(order: TakerOrder): Promise<OrderAnswer>;
  /** Proposes to close `id` collaboratively: undefined once proposed, else why not. */
  close(id: string): Promise<string | undefined>;
}

/** A node as the driver names it: its scenario name and its peer id. */
export interface NamedNode {
  readonly name: string;
  readonly peerId: string;
}

/** The network around the takers, as the timeline acts on it. */
export interface RunWorld {
  /** Serves `usd` through the feed: the price served, or undefined while the feed is paused. */
  price(usd: number): Promise<string | undefined>;
  /** Each node's wallet and equity now, for equity.csv; undefined for a node not to sample. */
  accounts(): Promise<
    { readonly name: string; readonly wallet: string | null; readonly equity: string | null }[]
  >;
  readonly faults: {
    /** The run second `f` ends. */
    endSecs(f: FaultSpec): number;
    start(f: FaultSpec): Promise<void>;
    end(f: FaultSpec): Promise<void>;
    /** Ends every fault under way (the drain). */
    endAll(): Promise<void>;
  };
  /** One step of the drain's wait: true once nothing is left pending (it may mine meanwhile). */
  drained(): Promise<boolean>;
}

/** The run in time: prices, actions and faults on their run seconds; then the drain. */
export class RunDriver {
  readonly #scenario: Scenario;
  readonly #plan: Plan;
  readonly #world: RunWorld;
  readonly #makers: readonly NamedNode[];
  readonly #takers: readonly TakerPort[];
  readonly #rows: RunRows;
  readonly #log: Logger;
  readonly #pending = new Set<Promise<unknown>>();

  constructor(
    run: { readonly scenario: Scenario; readonly plan: Plan },
    world: RunWorld,
    nodes: { readonly makers: readonly NamedNode[]; readonly takers: readonly TakerPort[] },
    rows: RunRows,
    log: Logger,
  ) {
    this.#scenario = run.scenario;
    this.#plan = run.plan;
    this.#world = world;
    this.#makers = nodes.makers;
    this.#takers = nodes.takers;
    this.#rows = rows;
    this.#log = log;
  }

  /** Fires every entry at its run second until `durationSecs`, sampling equity meanwhile. */
  async drive(signal: AbortSignal | undefined, equityEverySecs: number): Promise<void> {
    const { faults } = this.#world;
    const entries: { at: number; run: () => Promise<void> }[] = [
      ...this.#plan.prices.map((p) => ({ at: p.atSecs, run: () => this.#price(p.price) })),
      ...this.#plan.actions.map((a) => ({ at: a.atSecs, run: () => this.#act(a) })),
      ...this.#plan.faults.flatMap((f) => [
        { at: f.atSecs, run: () => faults.start(f) },
        { at: faults.endSecs(f), run: () => faults.end(f) },
      ]),
    ].sort((a, b) => a.at - b.at);
    const duration = this.#scenario.durationSecs;
    const t0 = Date.now();
    const sampler = setInterval(() => this.#track(this.#sampleEquity()), equityEverySecs * 1000);
    try {
      for (const e of entries) {
        if (e.at >= duration || signal?.aborted) break;
        const wait = t0 + e.at * 1000 - Date.now();
        if (wait > 0) await sleep(wait, undefined, { signal }).catch(() => undefined);
        if (signal?.aborted) break;
        this.#track(Promise.resolve().then(e.run));
      }
      const rest = t0 + duration * 1000 - Date.now();
      if (rest > 0 && !signal?.aborted) {
        await sleep(rest, undefined, { signal }).catch(() => undefined);
      }
    } finally {
      clearInterval(sampler);
    }
  }

  /**
   * Ends every fault, lets actions finish (half of `ms` at most), closes what is open, waits
   * until the world has drained; all within `ms`, then samples equity once more.
   */
  async drain(ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    await this.#world.faults.endAll();
    await Promise.race([Promise.allSettled([...this.#pending]), sleep(ms / 2)]);
    await Promise.all(
      this.#takers.map(async (t) => {
        for (const id of await t.openIds()) {
          await this.#close(t, id, Math.max(0, deadline - Date.now()));
        }
      }),
    );
    await poll(Math.max(0, deadline - Date.now()), () => this.#world.drained(), 1_000);
    await this.#sampleEquity();
  }

  #track(p: Promise<unknown>): void {
    const tracked = p.catch((e: unknown) => this.#log.warn({ err: e }, 'run step failed'));
    this.#pending.add(tracked);
    void tracked.finally(() => this.#pending.delete(tracked));
  }

  async #price(usd: number): Promise<void> {
    const served = await this.#world.price(usd);
    if (served !== undefined) this.#rows.prices.push([Date.now(), served]);
  }

  async #sampleEquity(): Promise<void> {
    const t = Date.now();
    for (const a of await this.#world.accounts()) {
      if (!a.wallet || a.equity === null) continue;
      this.#rows.equity.push([t, a.name, a.wallet, BigInt(a.equity) - BigInt(a.wallet), a.equity]);
    }
  }

  #makerName(peerId: string | undefined): string {
    return this.#makers.find((m) => m.peerId === peerId)?.name ?? '';
  }

  /**
   * One planned action of a taker, and its trades.csv row(s). An open's outcome: `completed`,
   * `failed` (its setup ended without a contract), `unknown` (its setup had not ended within
   * {@link SETUP_WAIT_MS}), `rejected` (no order placed); a close's: `completed`, `ended` (it
   * ended another way), `failed`; `skipped` when the taker is offline or holds nothing open.
   */
  async #act(a: PlannedAction): Promise<void> {
    const taker = this.#takers.find((t) => t.name === a.taker);
    if (!taker) throw new Error(`no taker '${a.taker}' in the scenario`);
    const started = Date.now();
    const row = (cfdId: string, maker: string, price: string, outcome: string, reason: string) =>
      this.#rows.trades.push([
        started,
        a.taker,
        maker,
        cfdId,
        a.action,
        a.side ?? '',
        a.lots ?? '',
        a.leverage ?? '',
        price,
        outcome,
        reason,
        a.atSecs,
      ]);
    if (!taker.online) return void row('', '', '', 'skipped', 'the taker is offline');
    if (a.action === 'close') {
      const ids = await taker.openIds();
      if (ids.length === 0) return void row('', '', '', 'skipped', 'nothing open to close');
      await Promise.all(
        ids.map(async (id) => {
          const r = await this.#close(taker, id, CLOSE_WAIT_MS);
          const c = await taker.cfd(id);
          row(id, this.#makerName(c?.counterparty), c?.closePrice ?? '', r.outcome, r.reason);
        }),
      );
      return;
    }
    let placed: PlacedOrder | undefined;
    // A trader tries again a moment later when there is no offer or no answer right now (offers
    // re-quoting, a maker busy); a refusal is final.
    for (let attempt = 1; !placed; attempt++) {
      const answer = await taker.takeBest({
        side: a.side ?? 'long',
        lots: a.lots ?? 1,
        leverage: a.leverage ?? 2,
      });
      if ('placed' in answer) {
        placed = answer.placed;
        break;
      }
      if (!answer.transient || attempt >= OPEN_ATTEMPTS) {
        return void row('', '', '', 'rejected', answer.refused);
      }
      await sleep(OPEN_RETRY_MS);
    }
    // The order was accepted; its setup ends on the CFD.
    const id = placed.orderId;
    const settled = await poll(SETUP_WAIT_MS, async () => {
      const c = await taker.cfd(id);
      return c && !SETTING_UP.has(c.state) ? c : undefined;
    });
    const cfd = settled ?? (await taker.cfd(id));
    const failed = cfd !== undefined && SETUP_FAILED.has(cfd.state);
    const outcome = !settled ? 'unknown' : failed ? 'failed' : 'completed';
    row(
      id,
      this.#makerName(cfd?.counterparty),
      placed.price,
      outcome,
      cfd?.failureReason ?? (settled ? '' : `setup did not end within ${SETUP_WAIT_MS / 1000} s`),
    );
  }

  /** The taker closes `id` collaboratively, proposing again while it cannot (rollover under way). */
  async #close(
    taker: TakerPort,
    id: string,
    ms: number,
  ): Promise<{ outcome: 'completed' | 'ended' | 'failed'; reason: string }> {
    const deadline = Date.now() + ms;
    const left = () => Math.max(0, deadline - Date.now());
    let reason = 'no settle action within the time';
    while (Date.now() < deadline) {
      const c = await taker.cfd(id).catch(() => undefined);
      if (!c) return { outcome: 'failed', reason: taker.unreadable };
      if (c.closing) return { outcome: 'completed', reason: '' };
      if (ENDED_UI_STATES.has(c.state)) return { outcome: 'ended', reason: c.state };
      if (c.canSettle && !c.proposing) {
        const refused = await taker.close(id);
        if (refused === undefined) {
          // The proposal starts on the CFD, then ends one way or the other.
          await poll(Math.min(5_000, left()), async () => {
            const x = await taker.cfd(id);
            return !x || x.closing || x.proposing;
          });
          await poll(Math.min(20_000, left()), async () => {
            const x = await taker.cfd(id);
            return !x || x.closing || !x.proposing;
          });
          await sleep(250);
          continue;
        }
        reason = refused;
      }
      await sleep(500);
    }
    return { outcome: 'failed', reason };
  }
}

/** UI states of a CFD whose setup has not ended. */
const SETTING_UP: ReadonlySet<CfdUiState> = new Set(['pendingSetup', 'contractSetup']);
/** UI states of a CFD whose setup ended without a contract. */
const SETUP_FAILED: ReadonlySet<CfdUiState> = new Set(['rejected', 'setupFailed']);
