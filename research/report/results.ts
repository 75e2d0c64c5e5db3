/**
 * Reads a results folder (the files of `RESULT_FILES`, research/scenario/types.ts) into typed
 * rows for the report. A file that is missing — a run that died early — reads as no rows and is
 * named in `missing`, so a partial run still gets a report; a file that is there but malformed
 * fails with {@link ResultsFormatError} naming the file and row.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RESULT_COLUMNS, RESULT_FILES, type RunSummary } from '../scenario/types.ts';
import { parseCsv, ResultsFormatError } from './csv.ts';

export interface TradeRow {
  readonly t: number;
  readonly taker: string;
  readonly maker: string;
  readonly cfdId: string;
  readonly action: string;
  readonly side: string;
  readonly lots: number | null;
  readonly leverage: number | null;
  readonly price: number | null;
  readonly outcome: string;
  readonly reason: string;
  /** The run second the plan gave the action. */
  readonly atSecs: number | null;
}

/**
 * One CFD. Amounts are the taker's (one row per CFD): the maker paid what the taker received and
 * received what it paid.
 */
export interface PositionRow {
  readonly cfdId: string;
  readonly taker: string;
  readonly maker: string;
  readonly side: string;
  readonly quantity: number | null;
  readonly leverage: number | null;
  readonly entryPrice: number | null;
  readonly exitPrice: number | null;
  readonly marginSats: bigint;
  readonly fundingPaidSats: bigint;
  readonly fundingReceivedSats: bigint;
  readonly feesSats: bigint;
  readonly onchainFeeSats: bigint;
  readonly payoutSats: bigint | null;
  readonly pnlSats: bigint | null;
  /** collaborative, forceClose, liquidation, refund, punish, or '' while open. */
  readonly closedBy: string;
  readonly openedAt: number | null;
  readonly closedAt: number | null;
}

export interface ProtocolRow {
  readonly t: number;
  readonly node: string;
  readonly cfdId: string;
  /** setup, rollover or settlement. */
  readonly protocol: string;
  readonly durationMs: number | null;
  readonly outcome: string;
  readonly reason: string;
}

export interface PriceRow {
  readonly t: number;
  readonly price: number;
}

export interface EquityRow {
  readonly t: number;
  readonly node: string;
  readonly walletSats: bigint;
  readonly contractsSats: bigint;
  readonly equitySats: bigint;
}

export interface FaultRow {
  readonly t: number;
  readonly kind: string;
  readonly target: string;
  /** start or end. */
  readonly phase: string;
  readonly detail: string;
}

export interface Results {
  readonly summary: RunSummary | null;
  readonly trades: readonly TradeRow[];
  readonly positions: readonly PositionRow[];
  readonly protocols: readonly ProtocolRow[];
  readonly prices: readonly PriceRow[];
  readonly equity: readonly EquityRow[];
  readonly faults: readonly FaultRow[];
  /** Results files that were not in the folder. */
  readonly missing: readonly string[];
}

/** The file's text, or null if it does not exist. */
async function textOf(dir: string, file: string): Promise<string | null> {
  try {
    return await readFile(join(dir, file), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/** Field readers that say which file, row and column held a bad value. */
function fields(file: string, n: number) {
  const bad = (col: string, v: string, what: string) =>
    new ResultsFormatError(`${file} row ${n + 2}: ${col} "${v}" is not ${what}`);
  const num = (col: string, v: string): number | null => {
    if (v === '') return null;
    const x = Number(v);
    if (!Number.isFinite(x)) throw bad(col, v, 'a number');
    return x;
  };
  const sats = (col: string, v: string): bigint | null => {
    if (v === '') return null;
    if (!/^-?\d+$/.test(v)) throw bad(col, v, 'whole satoshis');
    return BigInt(v);
  };
  return {
    num,
    sats,
    /** A value that must be there. */
    need<T>(read: (col: string, v: string) => T | null, col: string, v: string): T {
      const x = read(col, v);
      if (x === null) throw bad(col, v, 'given');
      return x;
    },
  };
}

/** Reads CSV `file` of `dir` (no rows if missing) and maps each row with `map`. */
async function readCsv<C extends string, R>(
  dir: string,
  file: string,
  columns: readonly C[],
  missing: string[],
  map: (row: Record<C, string>, f: ReturnType<typeof fields>) => R,
): Promise<R[]> {
  const text = await textOf(dir, file);
  if (text === null) {
    missing.push(file);
    return [];
  }
  return parseCsv(text, columns, file).map((row, n) => map(row, fields(file, n)));
}

/** Everything the report needs from the results folder `dir`. */
export async function readResults(dir: string): Promise<Results> {
  const missing: string[] = [];
  const summaryText = await textOf(dir, RESULT_FILES.summary);
  let summary: RunSummary | null = null;
  if (summaryText === null) missing.push(RESULT_FILES.summary);
  else {
    try {
      summary = JSON.parse(summaryText) as RunSummary;
    } catch (err) {
      throw new ResultsFormatError(`${RESULT_FILES.summary}: ${(err as Error).message}`);
    }
  }
  const F = RESULT_FILES;
  const trades = await readCsv(
    dir,
    F.trades,
    RESULT_COLUMNS.trades,
    missing,
    (r, f): TradeRow => ({
      ...r,
      t: f.need(f.num, 't', r.t),
      lots: f.num('lots', r.lots),
      leverage: f.num('leverage', r.leverage),
      price: f.num('price', r.price),
      atSecs: f.num('atSecs', r.atSecs),
    }),
  );
  const positions = await readCsv(
    dir,
    F.positions,
    RESULT_COLUMNS.positions,
    missing,
    (r, f): PositionRow => {
      const zero = (col: keyof typeof r) => f.sats(col, r[col]) ?? 0n;
      return {
        ...r,
        quantity: f.num('quantity', r.quantity),
        leverage: f.num('leverage', r.leverage),
        entryPrice: f.num('entryPrice', r.entryPrice),
        exitPrice: f.num('exitPrice', r.exitPrice),
        marginSats: zero('marginSats'),
        fundingPaidSats: zero('fundingPaidSats'),
        fundingReceivedSats: zero('fundingReceivedSats'),
        feesSats: zero('feesSats'),
        onchainFeeSats: zero('onchainFeeSats'),
        payoutSats: f.sats('payoutSats', r.payoutSats),
        pnlSats: f.sats('pnlSats', r.pnlSats),
        openedAt: f.num('openedAt', r.openedAt),
        closedAt: f.num('closedAt', r.closedAt),
      };
    },
  );
  const protocols = await readCsv(
    dir,
    F.protocols,
    RESULT_COLUMNS.protocols,
    missing,
    (r, f): ProtocolRow => ({
      ...r,
      t: f.need(f.num, 't', r.t),
      durationMs: f.num('durationMs', r.durationMs),
    }),
  );
  const prices = await readCsv(
    dir,
    F.prices,
    RESULT_COLUMNS.prices,
    missing,
    (r, f): PriceRow => ({ t: f.need(f.num, 't', r.t), price: f.need(f.num, 'price', r.price) }),
  );
  const equity = await readCsv(
    dir,
    F.equity,
    RESULT_COLUMNS.equity,
    missing,
    (r, f): EquityRow => ({
      t: f.need(f.num, 't', r.t),
      node: r.node,
      walletSats: f.sats('walletSats', r.walletSats) ?? 0n,
      contractsSats: f.sats('contractsSats', r.contractsSats) ?? 0n,
      equitySats: f.need(f.sats, 'equitySats', r.equitySats),
    }),
  );
  const faults = await readCsv(
    dir,
    F.faults,
    RESULT_COLUMNS.faults,
    missing,
    (r, f): FaultRow => ({ ...r, t: f.need(f.num, 't', r.t) }),
  );
  return { summary, trades, positions, protocols, prices, equity, faults, missing };
}
