/**
 * What a collaborative settlement needs to know about a contract, and the pure computations both
 * sides run on it: the closing price from a quote, the payouts from the payout curve at that
 * price, and the close transaction (dlc-crypto.md §2.6) both must build byte for byte.
 */
import {
  CURVE_MAX_PRICE,
  type PayoutCurve,
  type PayoutCurveParams,
  payoutCurve,
  rowAtPrice,
  toRolePayouts,
} from '../../dlc/payout-curve.ts';
import {
  buildClose,
  CLOSE_FEE_RATE,
  type CloseTransaction,
  type Identities,
  type Payout,
  type PayoutScripts,
  type SpentOutput,
} from '../../dlc/transactions.ts';
import type { Cfd } from '../../model/cfd.ts';
import { type FeeBalance, longShortLeverage } from '../../model/fees.ts';
import {
  type FeeRate,
  opposite,
  type Position,
  type Price,
  priceToUsd,
  type Role,
} from '../../model/units.ts';
import { SettlementNotPossibleError } from './errors.ts';

/**
 * The facts about one signed contract a collaborative settlement uses, and nothing else. Filled
 * from the signed-contract record (lock output, identity keys, payout scripts, curve terms) and
 * the CFD aggregate (fee balance), so this protocol does not depend on how either is stored.
 */
export interface CloseContext {
  /** The CFD (order) id, the same on both nodes. */
  readonly cfdId: string;
  /** Our role in the contract. */
  readonly role: Role;
  /** The lock output the close spends: outpoint, amount (both margins) and 2-of-2 script. */
  readonly lock: SpentOutput;
  /** Both identity public keys (the lock's 2-of-2). */
  readonly identities: Identities;
  /** Our identity secret key: signs our half of the close. */
  readonly ownIdentitySecret: Uint8Array;
  /** Where each party is paid (the same scripts its CETs pay to). */
  readonly payoutScripts: PayoutScripts;
  readonly makerPosition: Position;
  /** The contract's payout curve terms, as at contract setup (CETs come from the same terms). */
  readonly curve: Omit<PayoutCurveParams, 'feeBalance'>;
  /**
   * The CFD's fee balance now (opening fee plus funding so far; positive: long owes short), as the
   * aggregate folds it (`Cfd.feeBalance`). Shifted between the sides like in every CET.
   */
  readonly feeBalance: FeeBalance;
  /**
   * Close fee rate, sat/vB (fee = 169 × rate, split): the taker proposes its estimate's rate.
   * @default CLOSE_FEE_RATE (1, as ItchySats)
   */
  readonly closeFeeRate?: FeeRate;
  /**
   * Maker: the close fee rates it signs (its mempool minimum to its cap); a proposal outside is
   * rejected. @default 1 … DEFAULT_MAX_CLOSE_FEE_RATE
   */
  readonly closeFeeRateBounds?: { readonly min: FeeRate; readonly max: FeeRate };
}

/** Highest close fee rate a maker signs when its node gives no bounds (sat/vB). */
export const DEFAULT_MAX_CLOSE_FEE_RATE = 1_000n;

/** The parts of a {@link CloseContext} the CFD aggregate knows: terms and fee balance. */
export type CfdCloseTerms = Pick<
  CloseContext,
  'cfdId' | 'role' | 'makerPosition' | 'curve' | 'feeBalance'
>;

/**
 * Fills the aggregate's part of a {@link CloseContext} from a CFD: its id and role, the maker's
 * position, the curve terms (initial price, quantity, maker at 1×, taker at its leverage) and the
 * fee balance now. The rest (lock, keys, payout scripts) comes from the signed-contract record.
 *
 * @throws SettlementNotPossibleError when the CFD has no terms.
 */
export function closeTermsOf(cfd: Cfd): CfdCloseTerms {
  const t = cfd.terms;
  if (!t) throw new SettlementNotPossibleError('the CFD has no terms');
  const makerPosition = t.role === 'maker' ? t.position : opposite(t.position);
  const lev = longShortLeverage(makerPosition, t.takerLeverage);
  return {
    cfdId: t.id,
    role: t.role,
    makerPosition,
    curve: {
      symbol: t.symbol,
      initialPrice: t.initialPrice,
      quantity: t.quantity,
      longLeverage: lev.long,
      shortLeverage: lev.short,
    },
    feeBalance: cfd.feeBalance,
  };
}

/** A bid/ask quote. */
export interface BidAsk {
  readonly bid: Price;
  readonly ask: Price;
}

/** A settlement both sides can check: the price, the curve payouts and the unsigned close. */
export interface SettlementTerms {
  readonly price: Price;
  /** Payouts before the close fee (the curve row), maker and taker. */
  readonly payout: Payout;
  readonly close: CloseTransaction;
  /** sat/vB the close pays. */
  readonly feeRate: FeeRate;
}

/**
 * The price a CFD closes at from a quote (ItchySats `market_closing_price`): the taker trades
 * against the maker's book, so a long maker closes at the ask, a short maker at the bid.
 */
export function closingPrice(quote: BidAsk, makerPosition: Position): Price {
  return makerPosition === 'long' ? quote.ask : quote.bid;
}

/**
 * Payouts before fees at `price`: the payout-curve row that contains it (the row whose CET the
 * oracle would unlock at that price, fee balance applied), as ItchySats' `make_proposal` does —
 * not the closed form of model/fees.ts `payoutAt`, so a settlement pays what a CET would. The
 * price is truncated to whole USD (oracle granularity) and capped at the curve's last row.
 */
export function settlementPayout(ctx: CloseContext, price: Price): Payout {
  const curve = payoutCurve({ ...ctx.curve, feeBalance: ctx.feeBalance });
  if (curve.total !== ctx.lock.value) {
    throw new SettlementNotPossibleError(
      `the payout curve pays out ${curve.total} sats but the lock holds ${ctx.lock.value}`,
    );
  }
  return curvePayout(curve, ctx.makerPosition, priceToUsd(price, 'floor'));
}

/**
 * The row of `curve` at `usd` (whole dollars, capped at the curve's last row) as maker and taker
 * payouts before fees: what a close at that price, or the CET for that attested price, splits.
 */
export function curvePayout(curve: PayoutCurve, makerPosition: Position, usd: bigint): Payout {
  const row = rowAtPrice(curve.rows, usd > BigInt(CURVE_MAX_PRICE) ? CURVE_MAX_PRICE : Number(usd));
  const [roles] = toRolePayouts([row], makerPosition);
  return { maker: roles!.maker, taker: roles!.taker };
}

/** The payouts and the unsigned close transaction of a settlement at `price`. */
export function settlementTerms(ctx: CloseContext, price: Price): SettlementTerms {
  const feeRate = ctx.closeFeeRate ?? CLOSE_FEE_RATE;
  const payout = settlementPayout(ctx, price);
  const close = buildClose(ctx.lock, ctx.identities, payout, ctx.payoutScripts, feeRate);
  return { price, payout, close, feeRate };
}

/**
 * Whether `proposed` is within `toleranceBps` basis points of `own` (either direction):
 * `|proposed − own| × 10,000 ≤ toleranceBps × own`, exactly, in integers.
 */
export function withinTolerance(proposed: Price, own: Price, toleranceBps: bigint): boolean {
  const diff = proposed > own ? proposed - own : own - proposed;
  return diff * 10_000n <= toleranceBps * own;
}
