/**
 * One CFD as the API sends it: state, actions, money, funding and rollover, transactions, bumps.
 * Sats and prices are decimal strings (format.ts).
 */

import {
  actions,
  type Cfd,
  type CfdAction,
  type CfdUiState,
  confirmedCommit,
  liquidation as liquidatedBy,
  outstandingSignedClose,
  type Settled,
  settlementDirection,
  uiState,
} from '../../../model/cfd.ts';
import {
  type ContractSize,
  feeOwedBy,
  fundingFee,
  liquidationPrice,
  margins,
} from '../../../model/fees.ts';
import { divRound } from '../../../model/fixed.ts';
import {
  inLiquidationBand,
  LIQUIDATION_WARNING_BPS,
  liquidationDistanceBps,
} from '../../../model/liquidation.ts';
import { oracleEventTime } from '../../../model/oracle-event.ts';
import {
  type ContractSymbol,
  type FeeRate,
  formatFundingRate,
  formatPrice,
  type Leverage,
  opposite,
  type Position,
  type Price,
  type Role,
  type Sats,
} from '../../../model/units.ts';
import { DEFAULT_ROLLOVER_INTERVAL_SECS } from '../../../protocols/rollover/constants.ts';
import { rolloverDueSecs } from '../../../protocols/rollover/scheduler.ts';
import type { CfdProblem } from '../../daemon/cfd-problems.ts';
import type { BumpStatus } from '../../daemon/fee-bumper.ts';
import type { LatestQuote } from '../../pricefeed/client.ts';
import { liquidation, percent, type Same } from './format.ts';
import { type PayoutKind, payoutFigure } from './payout.ts';
import { closingPrice } from './quote.ts';
import { type ChainPosition, type StatusView, statusView } from './status.ts';

// CFDs

export type TxKind = 'lock' | 'commit' | 'cet' | 'refund' | 'close' | 'punish';

/**
 * What the position pays this node and its profit or loss, from one figure (payout.ts): the
 * settling transaction's output once the node holds it, the exact expected output before.
 */
export interface ProfitView {
  /** `quote`: follows the market (an open or committed position at the latest quote); `settlement`: fixed by a price or a transaction. */
  readonly basis: 'quote' | 'settlement';
  /** `transaction`: read from the settling transaction; `expected`: what it would pay at `price`. */
  readonly source: 'transaction' | 'expected';
  /** The transaction that pays it: a collaborative close, a CET, the refund or our punish. */
  readonly via: PayoutKind;
  /** That transaction, once the node holds it. */
  readonly txid: string | null;
  /** The price it settles at; null for a refund or punish. */
  readonly price: string | null;
  /** This node's payout, sats, after its share of the settling transaction's fee. */
  readonly payout: string;
  /**
   * Profit or loss, sats: payout − own margin − own share of the lock's fee − fee bumps paid
   * (negative: a loss). The opening fee and funding are in the payout (the fee balance).
   */
  readonly sats: string;
  /** Of own margin, two decimals. */
  readonly percent: string;
  /** What this node paid to lock its margin (its inputs less margin and change); null when its wallet does not hold the lock. */
  readonly lockFee: string | null;
  /** Sats this node's fee bumps of the CFD cost. */
  readonly bumpFees: string;
  /** The quote it was computed from is stale (only for `quote`). */
  readonly stale: boolean;
}

/** The price is within the warning band of this node's liquidation price (model/liquidation.ts). */
export interface LiquidationWarningView {
  /** The price the position would close at now. */
  readonly price: string;
  readonly liquidationPrice: string;
  /** How far the price is from it, percent of the price (0 or negative: reached). */
  readonly distancePercent: string;
  /** The band, percent (`LIQUIDATION_WARNING_BPS`). */
  readonly bandPercent: string;
}

/**
 * The live feed's `liquidationWarning` event: a CFD entered the warning band (`warning` set) or
 * left it (null). A script can act on it (close, add margin elsewhere) without parsing CFD views.
 */
export interface LiquidationWarningEvent {
  readonly cfdId: string;
  readonly warning: LiquidationWarningView | null;
}

/** Funding at the current rate, as this node pays or receives it. */
export interface FundingPaymentView {
  readonly direction: 'pay' | 'receive' | 'none';
  /** Sats per `perSecs`, rounded as the funding charge is (away from zero). */
  readonly sats: string;
  /** The settlement interval the rate is per, seconds (compressed on a testnet). */
  readonly perSecs: number;
}

export interface CfdView {
  /** The order id; the same on both nodes. */
  readonly id: string;
  readonly offerId: string;
  readonly role: Role;
  readonly position: Position;
  readonly symbol: string;
  readonly state: CfdUiState;
  /** What this node's user may do now (model/cfd.ts `actions`). */
  readonly actions: readonly CfdAction[];
  readonly quantity: string;
  /** This node's leverage (the maker trades at 1×). */
  readonly leverage: Leverage;
  readonly takerLeverage: Leverage;
  readonly initialPrice: string;
  /** This node's liquidation price; null when it cannot be liquidated. */
  readonly liquidationPrice: string | null;
  /** Own and counterparty margin, sats. */
  readonly margin: string;
  readonly marginCounterparty: string;
  /** Current funding rate per settlement interval. */
  readonly fundingRate: string | null;
  readonly openingFee: string;
  readonly txFeeRate: string;
  /**
   * The fee account: `balance` positive means long owes short; `owed` is what this node owes net
   * (negative: it is owed), sats.
   */
  readonly fees: { readonly balance: string; readonly owed: string };
  /** Null when there is nothing to compute it from (no quote yet, setup failed…). */
  readonly profit: ProfitView | null;
  /** Why it is in its state and until when; null while simply open. */
  readonly status: StatusView | null;
  /** Liquidated (or liquidating): whose side the attested price liquidated; null otherwise. */
  readonly liquidated: 'self' | 'counterparty' | null;
  /** Set while an open position's price is within the warning band of its liquidation price. */
  readonly liquidationWarning: LiquidationWarningView | null;
  /** Funding at the current rate: who pays, how much, per what. Null without a rate. */
  readonly fundingPayment: FundingPaymentView | null;
  readonly settlementEvent: { readonly id: string; readonly timeSecs: number };
  /**
   * How long the position is funded (ItchySats #1260): while it is open, the contract as signed
   * now settles at its settlement event — at the oracle's price then — unless a rollover moves
   * that event on first. Null when not open (nothing rolls over a closing or settled contract).
   */
  readonly funding: RolloverView | null;
  readonly settlementProposal: {
    readonly direction: 'incoming' | 'outgoing';
    readonly price: string;
    /** This node's payout under the proposal, sats. */
    readonly payout: string;
    readonly accepted: boolean;
  } | null;
  /** The price the contract closed or is closing at (collaborative close or attestation). */
  readonly closingPrice: string | null;
  readonly settledBy: Settled | null;
  /**
   * Unix seconds: a close this node signed first may be in the counterparty's hands; unless it is
   * on chain by then, the node force-closes so it can never confirm (no settle action meanwhile).
   * Null when there is none.
   */
  readonly signedCloseUntilSecs: number | null;
  readonly failureReason: string | null;
  /**
   * This node fails to handle the CFD (a corrupt record, a transaction it cannot build…): why, since
   * when (unix seconds) and how often it was retried. Other CFDs are unaffected; retries go on
   * with backoff and the field clears once handling succeeds. Null when nothing is failing.
   */
  readonly problem: {
    readonly during: string;
    readonly reason: string;
    readonly sinceSecs: number;
    readonly retries: number;
  } | null;
  readonly counterparty: string;
  readonly placedAtSecs: number;
  readonly transactions: readonly { readonly kind: TxKind; readonly txid: string }[];
  /**
   * The transactions of this CFD the node is pushing to confirmation (node/daemon/fee-bumper.ts),
   * and how each stands; empty when none is followed (nothing published, or no chain).
   */
  readonly bumps: readonly BumpView[];
  /** Most sats all bumps of one CFD may cost (`--bump-budget`). */
  readonly bumpBudgetSats: string;
  /** Sats this CFD's bumps cost now. */
  readonly bumpSpentSats: string;
  /** Events applied; grows with every change. */
  readonly version: number;
}

/** What a bumped transaction is (fee-bumper.ts `BumpKind`, spelled out for the UI). */
export type BumpKind = 'commit' | 'cet' | 'refund' | 'close' | 'punish';
/** Where a bumped transaction stands (fee-bumper.ts `BumpStatus['state']`). */
export type BumpState = 'waiting' | 'mempool' | 'confirmed' | 'ended';
const _bumps: [Same<BumpKind, BumpStatus['kind']>, Same<BumpState, BumpStatus['state']>] = [
  true,
  true,
];
void _bumps;

/** One transaction the fee bumper follows (node/daemon/fee-bumper.ts `BumpStatus`). */
export interface BumpView {
  readonly kind: BumpKind;
  /** The transaction now (a replaced punish: the latest). */
  readonly txid: string;
  readonly state: BumpState;
  /** Package rate it pays now (with its child, if any), sat/vB. */
  readonly rate: string;
  /** What the bump policy asked for at the last block, sat/vB; null before the first block. */
  readonly targetRate: string | null;
  /** The CPFP child paying for it, if any. */
  readonly childTxid: string | null;
  /** The height it must confirm by. */
  readonly deadlineHeight: number;
  readonly blocksLeft: number | null;
  /** The budget or the fee-rate cap kept the rate below what the policy asked for. */
  readonly capped: boolean;
  /** Sats its bumps cost now. */
  readonly spent: string;
  readonly lastError: string | null;
}

export function bumpView(b: BumpStatus): BumpView {
  return {
    kind: b.kind,
    txid: b.txid,
    state: b.state,
    rate: b.rate.toString(),
    targetRate: b.targetRate?.toString() ?? null,
    childTxid: b.childTxid ?? null,
    deadlineHeight: b.deadlineHeight,
    blocksLeft: b.blocksLeft ?? null,
    capped: b.capped,
    spent: b.spent.toString(),
    lastError: b.lastError ?? null,
  };
}

export interface RolloverView {
  /** The settlement event's time, unix seconds: the position's expiry if no rollover happens. */
  readonly untilSecs: number;
  /** A rollover is running now. */
  readonly rolloverUnderWay: boolean;
  /**
   * When the taker's next rollover is due, unix seconds: once a rollover moves the settlement
   * event a whole rollover interval later (protocols/rollover/scheduler.ts `rolloverDueSecs`, the
   * rule the taker's scheduler follows). Null for a rollover cadence no shorter than the
   * settlement interval: no rollover moves this contract's settlement.
   */
  readonly nextRolloverSecs: number | null;
  /** How often the taker rolls over, seconds. */
  readonly rolloverIntervalSecs: number;
  /**
   * The due rollover has not happened for more than a rollover interval: rollovers are not
   * happening (a node or the link is down, or the counterparty refuses) and the position runs
   * towards `untilSecs`.
   */
  readonly rolloversStalled: boolean;
  /**
   * Taker: auto-rollover of this CFD is paused because the maker's rollover terms were outside
   * the taker's limits — why, and since when (unix seconds). It resumes when the limits change or
   * the maker's terms come back within them; until then the position runs towards `untilSecs`.
   */
  readonly autoRolloverPaused: { readonly reason: string; readonly sinceSecs: number } | null;
}

/** What {@link cfdView} needs besides the CFD. */
export interface CfdViewOptions extends ChainPosition {
  /** Unix seconds. @default now */
  readonly nowSecs?: number;
  /** The taker's rollover cadence (`--rollover-interval`). @default 1 h */
  readonly rolloverIntervalSecs?: number;
  /** The oracle's event spacing (`--oracle-event-interval`), the grid of settlement events. @default 1 h */
  readonly eventSpacingSecs?: number;
  /** The process manager's current problem with a CFD (node/daemon/cfd-problems.ts). */
  readonly problemOf?: (cfdId: string) => CfdProblem | undefined;
  /** Taker: why auto-rollover of a CFD is paused (the scheduler's pause), if it is. */
  readonly rolloverPause?: (
    cfdId: string,
  ) => { readonly reason: string; readonly sinceSecs: number } | undefined;
  /** The fee bumper's transactions of a CFD and what their bumps cost now (sats). */
  readonly bumpsOf?: (cfdId: string) => { statuses: readonly BumpStatus[]; spent: bigint };
  /** Sats all bumps of one CFD may cost. @default 0 */
  readonly bumpBudgetSats?: bigint;
  /** sat/vB a collaborative close would pay now (prices open positions). @default 1 */
  readonly closeFeeRate?: FeeRate;
  /** What this node's wallet put into and got back from a transaction (for the lock's fee). */
  readonly walletTx?: (
    txid: string,
  ) => { readonly sent: bigint; readonly received: bigint } | undefined;
}

function rolloverView(
  cfd: Cfd,
  state: CfdUiState,
  eventTimeSecs: number,
  options: CfdViewOptions,
): RolloverView | null {
  const t = cfd.terms;
  if (!t || !cfd.dlc || (state !== 'open' && state !== 'rollover')) return null;
  const now = options.nowSecs ?? Math.floor(Date.now() / 1000);
  const interval = options.rolloverIntervalSecs ?? DEFAULT_ROLLOVER_INTERVAL_SECS;
  const next = rolloverDueSecs(eventTimeSecs, t.settlementIntervalSecs, {
    rolloverIntervalSecs: interval,
    ...(options.eventSpacingSecs !== undefined && { eventSpacingSecs: options.eventSpacingSecs }),
  });
  return {
    untilSecs: eventTimeSecs,
    rolloverUnderWay: state === 'rollover',
    nextRolloverSecs: next ?? null,
    rolloverIntervalSecs: interval,
    rolloversStalled: next !== undefined && state !== 'rollover' && now > next + interval,
    autoRolloverPaused: pauseView(options.rolloverPause?.(t.id)),
  };
}

function pauseView(
  p: { readonly reason: string; readonly sinceSecs: number } | undefined,
): RolloverView['autoRolloverPaused'] {
  return p ? { reason: p.reason, sinceSecs: p.sinceSecs } : null;
}

/** States whose P/L is unrealised and follows the market. */
const MARKET_STATES: ReadonlySet<CfdUiState> = new Set([
  'pendingSetup',
  'contractSetup',
  'pendingOpen',
  'open',
  'rollover',
  'pendingCommit',
  'openCommitted',
]);

/** The view of one CFD, or undefined for a stream without terms (never placed). */
export function cfdView(
  cfd: Cfd,
  quote: LatestQuote | undefined,
  options: CfdViewOptions = {},
): CfdView | undefined {
  const t = cfd.terms;
  if (!t) return undefined;
  const makerPosition = t.role === 'maker' ? t.position : opposite(t.position);
  const takerPosition = opposite(makerPosition);
  const size = {
    symbol: t.symbol,
    makerPosition,
    price: t.initialPrice,
    quantity: t.quantity,
    takerLeverage: t.takerLeverage,
  };
  const m = margins(size);
  const own = t.role === 'maker' ? m.maker : m.taker;
  const leverage = t.role === 'maker' ? 1 : t.takerLeverage;
  const state = uiState(cfd);
  const settledAt = cfd.closePrice ?? cfd.attestation?.price;
  const bumps = options.bumpsOf?.(t.id);
  const profitView = profitOf(cfd, own, quote, options, bumps?.spent ?? 0n);
  const eventId = cfd.dlc?.settlementEventId ?? t.oracleEventId;
  const eventTimeSecs = oracleEventTime(eventId);
  const proposal = cfd.settlement?.proposal;
  const direction = settlementDirection(cfd);
  return {
    id: t.id,
    offerId: t.offerId,
    role: t.role,
    position: t.position,
    symbol: t.symbol,
    state,
    actions: actions(cfd),
    quantity: t.quantity.toString(),
    leverage,
    takerLeverage: t.takerLeverage,
    initialPrice: formatPrice(t.initialPrice),
    liquidationPrice: liquidation(liquidationPrice(t.position, t.initialPrice, leverage, t.symbol)),
    margin: own.toString(),
    marginCounterparty: (m.total - own).toString(),
    fundingRate: cfd.fundingRate === undefined ? null : formatFundingRate(cfd.fundingRate),
    openingFee: t.openingFee.toString(),
    txFeeRate: t.txFeeRate.toString(),
    fees: {
      balance: cfd.feeBalance.toString(),
      owed: feeOwedBy(cfd.feeBalance, t.position).toString(),
    },
    profit: profitView,
    status: statusView(cfd, state, eventTimeSecs, options),
    liquidated: liquidatedView(cfd),
    liquidationWarning:
      MARKET_STATES.has(state) && quote && !cfd.attestation
        ? warningView(
            t.symbol,
            t.position,
            t.initialPrice,
            leverage,
            closingPrice(takerPosition, quote),
          )
        : null,
    fundingPayment: fundingPaymentView(cfd, size),
    settlementEvent: { id: eventId, timeSecs: eventTimeSecs },
    funding: rolloverView(cfd, state, eventTimeSecs, options),
    settlementProposal:
      proposal && direction
        ? {
            direction,
            price: formatPrice(proposal.price),
            payout: (t.role === 'maker' ? proposal.makerPayout : proposal.takerPayout).toString(),
            accepted: cfd.settlement?.accepted ?? false,
          }
        : null,
    closingPrice: settledAt === undefined ? null : formatPrice(settledAt),
    settledBy: cfd.settled ?? null,
    signedCloseUntilSecs: outstandingSignedClose(cfd)?.until ?? null,
    failureReason: cfd.failureReason ?? null,
    problem: problemView(options.problemOf?.(t.id)),
    counterparty: t.counterpartyPeerId,
    placedAtSecs: t.placedAt,
    transactions: transactions(cfd),
    bumps: bumps?.statuses.map(bumpView) ?? [],
    bumpBudgetSats: (options.bumpBudgetSats ?? 0n).toString(),
    bumpSpentSats: (bumps?.spent ?? 0n).toString(),
    version: cfd.version,
  };
}

/** The payout figure (payout.ts) with the profit it makes after every fee this node paid. */
function profitOf(
  cfd: Cfd,
  own: Sats,
  quote: LatestQuote | undefined,
  options: CfdViewOptions,
  bumpFees: Sats,
): ProfitView | null {
  const figure = payoutFigure(cfd, { quote, closeFeeRate: options.closeFeeRate });
  if (!figure) return null;
  const lockFee = lockFeeOf(cfd, own, options);
  const sats = figure.sats - own - (lockFee ?? 0n) - bumpFees;
  return {
    basis: figure.live ? 'quote' : 'settlement',
    source: figure.source,
    via: figure.kind,
    txid: figure.txid ?? null,
    price: figure.price === undefined ? null : formatPrice(figure.price),
    payout: figure.sats.toString(),
    sats: sats.toString(),
    percent: percent(own === 0n ? 0n : divRound(sats * 10_000n, own, 'halfAwayFromZero')),
    lockFee: lockFee?.toString() ?? null,
    bumpFees: bumpFees.toString(),
    stale: figure.live && (quote?.stale ?? false),
  };
}

/** What this node paid to lock its margin: its wallet's net out of the lock, less the margin. */
function lockFeeOf(cfd: Cfd, own: Sats, options: CfdViewOptions): Sats | undefined {
  const lock =
    cfd.dlc && cfd.setup === 'completed' ? options.walletTx?.(cfd.dlc.lockTxid) : undefined;
  if (!lock) return undefined;
  const fee = lock.sent - lock.received - own;
  return fee >= 0n ? fee : undefined;
}

function liquidatedView(cfd: Cfd): CfdView['liquidated'] {
  const side = liquidatedBy(cfd);
  if (!side) return null;
  return side === cfd.terms!.position ? 'self' : 'counterparty';
}

/** The warning band of this node's own liquidation price, at the price it would close at now. */
function warningView(
  symbol: ContractSymbol,
  position: Position,
  initial: Price,
  leverage: Leverage,
  price: Price,
): LiquidationWarningView | null {
  if (!inLiquidationBand(position, initial, leverage, price, LIQUIDATION_WARNING_BPS, symbol)) {
    return null;
  }
  const liq = liquidationPrice(position, initial, leverage, symbol);
  return {
    price: formatPrice(price),
    liquidationPrice: formatPrice(liq),
    distancePercent: percent(liquidationDistanceBps(position, price, liq)),
    bandPercent: percent(LIQUIDATION_WARNING_BPS),
  };
}

/** Funding for one settlement interval at the current rate, from this node's side. */
function fundingPaymentView(cfd: Cfd, size: ContractSize): FundingPaymentView | null {
  const t = cfd.terms!;
  const rate = cfd.fundingRate;
  if (rate === undefined) return null;
  const perSecs = t.settlementIntervalSecs;
  const sats = fundingFee({ ...size, rate, chargedSecs: perSecs, settlementIntervalSecs: perSecs });
  // A positive rate: the long pays the short.
  const pays = rate > 0n ? t.position === 'long' : t.position === 'short';
  return {
    direction: sats === 0n ? 'none' : pays ? 'pay' : 'receive',
    sats: sats.toString(),
    perSecs,
  };
}

function problemView(p: CfdProblem | undefined): CfdView['problem'] {
  if (!p) return null;
  return {
    during: p.during,
    reason: p.reason,
    sinceSecs: Math.floor(p.since / 1000),
    retries: p.retries,
  };
}

/** Transactions of a CFD that exist on chain or are being published, in the order they happen. */
function transactions(cfd: Cfd): { kind: TxKind; txid: string }[] {
  const out: { kind: TxKind; txid: string }[] = [];
  if (cfd.dlc && cfd.setup === 'completed') out.push({ kind: 'lock', txid: cfd.dlc.lockTxid });
  // The commit that confirmed, else the one we published: after a rollover that failed past
  // "pending" either may be another than the log's contract, and they may differ (a race).
  const commit = cfd.revokedCommitSeen ?? confirmedCommit(cfd) ?? cfd.commitTx?.txid;
  if (commit) out.push({ kind: 'commit', txid: commit });
  if (cfd.cetTxidConfirmed) out.push({ kind: 'cet', txid: cfd.cetTxidConfirmed });
  else if (cfd.cet && cfd.cetTimelockExpired) out.push({ kind: 'cet', txid: cfd.cet.txid });
  if (cfd.refundTx) out.push({ kind: 'refund', txid: cfd.refundTx.txid });
  if (cfd.closeTx) out.push({ kind: 'close', txid: cfd.closeTx.txid });
  if (cfd.punishTx) out.push({ kind: 'punish', txid: cfd.punishTx.txid });
  return out;
}
