/**
 * Formatting shared by the views (node/app/views/): plain JSON projections of the domain computed
 * with the model's own math, so the browser never does money arithmetic. Amounts in satoshis and
 * prices are decimal strings — a JSON number silently loses precision above 2^53 — while counts,
 * leverages, timestamps (unix ms unless named `…Secs`/`time`) stay numbers.
 */
import { formatDecimal } from '../../../model/fixed.ts';
import { formatPrice, INFINITE_PRICE, type Price } from '../../../model/units.ts';

/** Basis points → percent with two decimals (`1234n` → `"12.34"`). */
export const percent = (bps: bigint): string => formatDecimal(bps, 2);
/** A liquidation price, or null for "never" (an unleveraged short). */
export const liquidation = (p: Price): string | null =>
  p === INFINITE_PRICE ? null : formatPrice(p);

/**
 * `true` when A and B are the same type: a view that spells out a union of the layers below (so
 * the UI's generated types need nothing of them) asserts it with `const _: Same<A, B> = true`.
 */
export type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : never) : never;
