/**
 * The products dlcfd trades, one table exhaustive over {@link ContractSymbol}. Everything that
 * differs between BTCUSD and ETHUSD (how margin and profit are computed, the oracle index, the
 * price feed's instrument, the default lot size) is read from here, never from a symbol compare
 * elsewhere.
 *
 * Both follow ItchySats 0.6.0 (github.com/itchysats/itchysats, `crates/model/src/payout_curve.rs`
 * `ETHUSD_MULTIPLIER`, `crates/model/src/olivia.rs` `IndexPrice`, `crates/daemon-tests` lot
 * sizes):
 * - BTCUSD is an **inverse** contract: one contract is 1 USD of notional, margin and payout are in
 *   bitcoin, profit is `Q·(1/P0 − 1/P)` BTC.
 * - ETHUSD is a **quanto** contract: margin and payout are in bitcoin although ETH is priced in
 *   USD; one contract gains a fixed `multiplier` of bitcoin per USD the ETH price moves
 *   (0.000001 BTC = 100 sat), so profit is `(P − P0)·multiplier·n`, linear in the price.
 */
import type { ContractSymbol, Contracts, Sats } from './units.ts';

/** How a product turns a price move into bitcoin. */
export type ProductKind = 'inverse' | 'quanto';

export interface Product {
  readonly symbol: ContractSymbol;
  readonly kind: ProductKind;
  /**
   * Quanto only: satoshis one contract gains (long) per whole USD the price rises. 0 for inverse
   * products, whose contracts are USD of notional instead.
   */
  readonly multiplierSats: Sats;
  /** Default lot size in contracts (ItchySats: 100 for BTCUSD, 1 for ETHUSD). */
  readonly defaultLotSize: Contracts;
  /** The BitMEX index olivia attests (`/x/BitMEX/<index>/<time>.price?n=20`). */
  readonly oracleIndex: 'BXBT' | 'BETH';
  /** The BitMEX instrument whose quotes (`quoteBin1m:<feedSymbol>`) price offers. */
  readonly feedSymbol: 'XBTUSD' | 'ETHUSD';
}

/** ItchySats' `ETHUSD_MULTIPLIER`: 0.000001 BTC per contract per USD, i.e. 100 sat. */
export const ETHUSD_MULTIPLIER_SATS: Sats = 100n;

/** The product table. `satisfies` keeps it exhaustive: a new symbol without a row does not compile. */
export const PRODUCTS = {
  BTCUSD: {
    symbol: 'BTCUSD',
    kind: 'inverse',
    multiplierSats: 0n,
    defaultLotSize: 100n,
    oracleIndex: 'BXBT',
    feedSymbol: 'XBTUSD',
  },
  ETHUSD: {
    symbol: 'ETHUSD',
    kind: 'quanto',
    multiplierSats: ETHUSD_MULTIPLIER_SATS,
    defaultLotSize: 1n,
    oracleIndex: 'BETH',
    feedSymbol: 'ETHUSD',
  },
} as const satisfies Record<ContractSymbol, Product>;

/** The product of a symbol (BTCUSD when none is given: every contract before ETHUSD existed). */
export function product(symbol: ContractSymbol = 'BTCUSD'): Product {
  return PRODUCTS[symbol];
}

/** Whether `text` names a product (for parsing config, URLs and wire messages). */
export function isContractSymbol(text: unknown): text is ContractSymbol {
  return typeof text === 'string' && Object.hasOwn(PRODUCTS, text);
}
