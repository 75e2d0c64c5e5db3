/**
 * The research tools' contract (issue #16): what a scenario says, what a run plans from it, and
 * the results folder a run writes and the report reads. Pure types; every module of research/
 * codes against these.
 *
 * Time in a scenario is **run seconds** from the start of the run (compressed: `timeScale`
 * production seconds pass per run second). Prices are whole cents as numbers in USD with at most
 * two decimals (`50000.5`); money in the results is satoshis as decimal strings.
 */

/** A validated scenario (scenarios/<name>.yaml, or a TypeScript module exporting one). */
export interface Scenario {
  readonly name: string;
  /** Every random choice (price path, actors) derives from this. Same seed, same plan. */
  readonly seed: number;
  /** How long the run lasts, in run seconds; it ends by itself. */
  readonly durationSecs: number;
  /** Production seconds per run second (60: a day-long settlement interval lasts 24 minutes). */
  readonly timeScale: number;
  readonly makers: readonly MakerSpec[];
  readonly takers: readonly TakerGroupSpec[];
  readonly price: PriceSpec;
  readonly faults: readonly FaultSpec[];
  /** Outcome checks the run asserts from its results (summary.json `checks`). */
  readonly expect: Expectations;
  /** The CI-sized form of this scenario (`shrink(scenario, scenario.ci)`); absent: none given. */
  readonly ci?: ScenarioSize;
}

/** How big a shrunk scenario is (research/scenario/shrink.ts). */
export interface ScenarioSize {
  /** Takers in all, spread over the groups in proportion (at least one per group). */
  readonly takers: number;
  /** Run seconds; shocks, faults and cadences scale with it. */
  readonly durationSecs: number;
  /** Replaces the scenario's time scale when given. */
  readonly timeScale?: number;
}

export interface MakerSpec {
  /** Node name, unique in the scenario: `maker1`. */
  readonly name: string;
  readonly spreadBps: number;
  /** Per settlement interval, as the maker policy takes it: "0.0001". */
  readonly fundingRate: string;
  readonly leverages: readonly number[];
  readonly maxLots: number;
  /** Wallet funding from the faucet, satoshis. */
  readonly fundSats: bigint;
}

/** `count` takers named `<prefix>1 … <prefix>count`, each driven by one actor of `strategy`. */
export interface TakerGroupSpec {
  readonly prefix: string;
  readonly count: number;
  readonly fundSats: bigint;
  readonly actor: ActorSpec;
}

export type StrategyName = 'random' | 'trendFollowing' | 'meanReverting' | 'holdToLiquidation';

export interface ActorSpec {
  /** A built-in strategy, or a module path exporting a {@link Strategy} (`plugin:./my.ts`). */
  readonly strategy: StrategyName | `plugin:${string}`;
  /** How often the actor decides, in run seconds. */
  readonly everySecs: number;
  /** Inclusive range of lots per order. */
  readonly lots: readonly [number, number];
  /** Leverages it picks from (must be offered). */
  readonly leverages: readonly number[];
  /** The side it opens when its strategy has no view of its own (holdToLiquidation; default long). */
  readonly side?: 'long' | 'short';
}

export type PriceSpec =
  | {
      readonly kind: 'walk';
      /** USD at the start. */
      readonly start: number;
      /** Standard deviation of the log return per run second, e.g. 0.0005. */
      readonly volatility: number;
      /** A new quote every `stepSecs` run seconds. */
      readonly stepSecs: number;
      readonly shocks: readonly Shock[];
    }
  | {
      readonly kind: 'csv';
      /** A `time,price` CSV of real quotes (research/data/), replayed compressed by `timeScale`. */
      readonly file: string;
      readonly shocks: readonly Shock[];
    };

/** "−30 % in 5 minutes": the price moves by `changePercent` linearly over `overSecs` from `atSecs`. */
export interface Shock {
  readonly atSecs: number;
  readonly changePercent: number;
  readonly overSecs: number;
}

export type FaultSpec =
  | { readonly atSecs: number; readonly kind: 'oracleSilent'; readonly forSecs: number }
  | {
      readonly atSecs: number;
      readonly kind: 'oracleLate';
      readonly delaySecs: number;
      readonly forSecs: number;
    }
  | { readonly atSecs: number; readonly kind: 'feedStale'; readonly forSecs: number }
  | {
      readonly atSecs: number;
      readonly kind: 'makerRestart';
      readonly maker: string;
      readonly downSecs: number;
    }
  | {
      readonly atSecs: number;
      readonly kind: 'takerOffline';
      readonly taker: string;
      /** Offline for this many of its rollover periods. */
      readonly rollovers: number;
    }
  | {
      readonly atSecs: number;
      readonly kind: 'partition';
      /** Two node names: they cannot reach each other meanwhile. */
      readonly between: readonly [string, string];
      readonly forSecs: number;
    }
  | {
      readonly atSecs: number;
      readonly kind: 'feeSpike';
      readonly satPerVb: number;
      readonly forSecs: number;
    };

/** Which outcome checks the run makes (all default on). */
export interface Expectations {
  /** Funding paid = funding received across the network. */
  readonly fundingConserved: boolean;
  /** No CFD left in a non-final state after the run's drain. */
  readonly noneStuck: boolean;
  /** Σ wallets at the end = Σ funding − on-chain fees. */
  readonly satsConserved: boolean;
  /** Every position closed by a liquidation paid its liquidation payout. */
  readonly liquidationsPaid: boolean;
  /** At least this many liquidations (a crash scenario expects some). */
  readonly minLiquidations: number;
}

/** One quote of the price path. */
export interface PricePoint {
  readonly atSecs: number;
  readonly price: number;
}

/** One decision of one actor, fixed by the seed and the price path alone. */
export interface PlannedAction {
  readonly atSecs: number;
  /** The taker node that acts. */
  readonly taker: string;
  readonly action: 'open' | 'close';
  readonly side?: 'long' | 'short';
  readonly lots?: number;
  readonly leverage?: number;
}

/** Everything a run does, before it runs: replayable from the seed (a test compares two). */
export interface Plan {
  readonly prices: readonly PricePoint[];
  readonly actions: readonly PlannedAction[];
  readonly faults: readonly FaultSpec[];
}

/**
 * A strategy decides at each of its ticks from the prices so far and what it believes it holds
 * (its own earlier decisions, not the network's answers — so the plan does not depend on timing).
 * `random` is a seeded generator in [0, 1) private to this actor.
 */
export interface Strategy {
  decide(input: {
    readonly atSecs: number;
    readonly prices: readonly PricePoint[];
    readonly holding: { readonly side: 'long' | 'short' } | null;
    readonly random: () => number;
    readonly spec: ActorSpec;
  }): Omit<PlannedAction, 'atSecs' | 'taker'> | null;
}

/**
 * The results folder a run writes (`runs/<name>-<seed>-<time>/`), one file per name below; CSVs
 * have a header row, times are unix ms, amounts satoshis.
 */
export const RESULT_FILES = {
  /** One JSON object per line: `{t, node, cfdId, type, data}` — every node's domain events. */
  events: 'events.jsonl',
  /**
   * `t,taker,maker,cfdId,action,side,lots,leverage,price,outcome,reason,atSecs` — each planned
   * action as it went; `atSecs` is the run second the plan gave it (same seed, same decisions).
   */
  trades: 'trades.csv',
  /**
   * `cfdId,taker,maker,side,quantity,leverage,entryPrice,exitPrice,marginSats,fundingPaidSats,
   * fundingReceivedSats,feesSats,onchainFeeSats,payoutSats,pnlSats,closedBy,openedAt,closedAt`.
   * `closedBy`: collaborative, forceClose, liquidation, refund, punish, or empty while open.
   */
  positions: 'positions.csv',
  /** `t,node,cfdId,protocol,durationMs,outcome,reason` — protocol: setup, rollover, settlement. */
  protocols: 'protocols.csv',
  /** `t,price` — the quotes the feed served. */
  prices: 'prices.csv',
  /** `t,node,walletSats,contractsSats,equitySats` — each node's equity, sampled. */
  equity: 'equity.csv',
  /** `t,kind,target,phase,detail` — phase: start or end of each fault. */
  faults: 'faults.csv',
  /** {@link RunSummary}. */
  summary: 'summary.json',
  /** Folder of Prometheus text scrapes: `<node>.prom` at the end of the run. */
  metrics: 'metrics',
  /** The self-contained page with the charts. */
  report: 'report.html',
} as const;

export interface RunSummary {
  readonly scenario: string;
  readonly seed: number;
  readonly startedAt: number;
  readonly durationSecs: number;
  readonly nodes: { readonly makers: number; readonly takers: number };
  readonly cfds: {
    readonly opened: number;
    readonly closedBy: Readonly<Record<string, number>>;
    readonly open: number;
  };
  readonly fundingPaidSats: string;
  readonly fundingReceivedSats: string;
  readonly onchainFeesSats: string;
  readonly stuck: readonly string[];
  readonly checks: readonly {
    readonly name: string;
    readonly ok: boolean;
    readonly detail: string;
  }[];
}

/**
 * The header row of each CSV of {@link RESULT_FILES}, in order — the columns documented there, for
 * a writer and a reader to share.
 */
export const RESULT_COLUMNS = {
  trades: [
    't',
    'taker',
    'maker',
    'cfdId',
    'action',
    'side',
    'lots',
    'leverage',
    'price',
    'outcome',
    'reason',
    'atSecs',
  ],
  positions: [
    'cfdId',
    'taker',
    'maker',
    'side',
    'quantity',
    'leverage',
    'entryPrice',
    'exitPrice',
    'marginSats',
    'fundingPaidSats',
    'fundingReceivedSats',
    'feesSats',
    'onchainFeeSats',
    'payoutSats',
    'pnlSats',
    'closedBy',
    'openedAt',
    'closedAt',
  ],
  protocols: ['t', 'node', 'cfdId', 'protocol', 'durationMs', 'outcome', 'reason'],
  prices: ['t', 'price'],
  equity: ['t', 'node', 'walletSats', 'contractsSats', 'equitySats'],
  faults: ['t', 'kind', 'target', 'phase', 'detail'],
} as const;
