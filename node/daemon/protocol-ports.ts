/**
 * The node's adapters for the protocols' ports (`protocols/ports.ts`, `protocols/order/order.ts`):
 * the wallet (and a maker's coin pool) as the order protocol's funding, the oracle client as
 * announcements, and the fail points as the runs' instrument. The daemon builds them; tests and
 * benchmarks that run a protocol over real parts use them too.
 */
import { bytesToHex } from '@noble/hashes/utils.js';
import type { OrderWallet } from '../../protocols/order/order.ts';
import type { Announcements, RunInstrument } from '../../protocols/ports.ts';
import type { OracleClient } from '../oracle/client.ts';
import { DisconnectedError } from '../runtime/errors.ts';
import { withFailPointsExecutor, withFailPointsTransport } from '../runtime/failpoints.ts';
import { outputScript } from '../wallet/keys.ts';
import type { Wallet } from '../wallet/wallet.ts';

/** Anything that reserves a lock's coins like the wallet does (the maker's coin pool). */
export type FundingSource = Pick<Wallet, 'reserveFunding'>;

/**
 * The order protocol's funding port over `wallet` (or the wallet there is now, which may be none
 * yet: then each use throws {@link DisconnectedError}). Coins come from `funding()` when it gives
 * one — a maker funds through its coin pool — else from the wallet.
 */
export function orderWallet(
  wallet: Wallet | (() => Wallet | undefined),
  funding?: () => FundingSource | undefined,
): OrderWallet {
  const current = typeof wallet === 'function' ? wallet : () => wallet;
  const connected = (): Wallet => {
    const w = current();
    if (!w) throw new DisconnectedError('wallet (waiting for the chain backend)');
    return w;
  };
  return {
    reserveFunding: (amount, feeRate, options) => {
      const w = connected();
      return (funding?.() ?? w).reserveFunding(amount, feeRate, options);
    },
    release: (id) => current()?.release(id),
    signPsbt: (psbt) => connected().signPsbt(psbt),
    payoutScript: async () => {
      const w = connected();
      return bytesToHex(outputScript(await w.receiveAddress(), w.network));
    },
  };
}

/** The announcements port over the oracle client there is now (none: each use throws). */
export function announcements(oracle: () => OracleClient | undefined): Announcements {
  const connected = (): OracleClient => {
    const o = oracle();
    if (!o) throw new DisconnectedError('oracle (none configured)');
    return o;
  };
  return {
    get publicKey() {
      return connected().publicKey;
    },
    announcement: (id) => connected().announcement(id),
    fetchEvent: (id, o) => connected().fetchEvent(id, o),
  };
}

/** The runs' instrument: the fail points of `node/runtime/failpoints.ts` (inert unless armed). */
export const failPoints: RunInstrument = (prefix, io, persistKind) => ({
  transport: withFailPointsTransport(prefix, io.transport),
  executor: withFailPointsExecutor(prefix, io.executor, persistKind),
});
