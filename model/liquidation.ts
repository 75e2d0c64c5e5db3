/**
 * Liquidation as the trader sees it: which side a settlement price liquidates, and the warning
 * band before a position's liquidation price. Pure; prices are fixed-point (units.ts).
 *
 * A side is liquidated when the price reaches its liquidation price (fees.ts `liquidationPrice`):
 * its whole margin then goes to the other side, and an hourly liquidation event's CET can close
 * the contract before its settlement event. The warning band lets a user (or a script following
 * the live feed) act before that: add margin elsewhere, close, or accept it.
 */
import { liquidationPrice, longShortLeverage } from './fees.ts';
import {
  type ContractSymbol,
  INFINITE_PRICE,
  type Leverage,
  type Position,
  type Price,
} from './units.ts';

/**
 * A position is warned once the price is within this many basis points of its liquidation price
 * (of the current price): 1,000 = 10 %. One constant for the UI band and the live feed's
 * `liquidationWarning` event.
 */
export const LIQUIDATION_WARNING_BPS = 1_000n;

/**
 * How far `price` is from `liquidation`, in basis points of `price`, on the safe side: positive
 * while the position stands, 0 or negative once the price reached it (round towards zero).
 */
export function liquidationDistanceBps(
  position: Position,
  price: Price,
  liquidation: Price,
): bigint {
  const gap = position === 'long' ? price - liquidation : liquidation - price;
  return (gap * 10_000n) / price;
}

/**
 * Whether a `position` entered at `initial` with `leverage` is in the warning band at `price`
 * (within `bandBps` of its liquidation price, or past it), for the product `symbol` (default
 * BTCUSD). Never for an unleveraged inverse short, nor for an unleveraged quanto long (its
 * liquidation price is 0: only a price of 0 takes its whole margin).
 */
export function inLiquidationBand(
  position: Position,
  initial: Price,
  leverage: Leverage,
  price: Price,
  bandBps: bigint = LIQUIDATION_WARNING_BPS,
  symbol: ContractSymbol = 'BTCUSD',
): boolean {
  const liq = liquidationPrice(position, initial, leverage, symbol);
  if (liq === INFINITE_PRICE) return false;
  return liquidationDistanceBps(position, price, liq) <= bandBps;
}

/**
 * The side a settlement at `price` liquidates, if any: the long when the price fell to its
 * liquidation price, the short when it rose to its own (never an unleveraged inverse short), by the
 * contract's product (`symbol`, default BTCUSD).
 */
export function liquidatedSide(
  contract: {
    makerPosition: Position;
    initialPrice: Price;
    takerLeverage: Leverage;
    symbol?: ContractSymbol;
  },
  price: Price,
): Position | undefined {
  const { initialPrice: p0, symbol } = contract;
  const lev = longShortLeverage(contract.makerPosition, contract.takerLeverage);
  if (price <= liquidationPrice('long', p0, lev.long, symbol)) return 'long';
  const short = liquidationPrice('short', p0, lev.short, symbol);
  if (short !== INFINITE_PRICE && price >= short) return 'short';
  return undefined;
}
