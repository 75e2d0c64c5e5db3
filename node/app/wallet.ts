/**
 * The node's wallet as the application service offers it: views, addresses, the mnemonic, and
 * withdrawals one at a time. When there is no wallet, every call says why
 * ({@link UnavailableError}) with the health registry's words.
 */
import { Transaction } from 'bitcoinjs-lib';
import { broadcast } from '../chain/broadcast.ts';
import type { Daemon } from '../daemon/daemon.ts';
import { HEALTH } from '../daemon/daemon.ts';
import type { Wallet } from '../wallet/wallet.ts';
import { UnavailableError } from './errors.ts';
import { describeStatus } from './views/health.ts';
import { type WalletTxView, type WalletView, walletTxView, walletView } from './views/wallet.ts';

/**
 * How long a withdrawal waits for the wallet to catch up with the chain before building the
 * transaction: a sync normally takes well under a second; longer means the chain is not answering.
 */
export const WITHDRAW_SYNC_TIMEOUT_MS = 15_000;

/** The wallet as the live feed shows it: its state, or why it is not available. */
export type WalletState =
  | ({ readonly available: true } & WalletView)
  | { readonly available: false; readonly reason: string };

export interface WithdrawalView {
  readonly txid: string;
  /** Sats sent to the address. */
  readonly amount: string;
  readonly fee: string;
  readonly vsize: number;
  /** Where the chain backend holds it now. */
  readonly status: 'mempool' | 'confirmed';
}

export class WalletService {
  readonly #daemon: Daemon;
  #serial: Promise<unknown> = Promise.resolve();

  constructor(daemon: Daemon) {
    this.#daemon = daemon;
  }

  /** The wallet, or {@link UnavailableError} saying why it is not there. */
  #wallet(): Wallet {
    const w = this.#daemon.wallet;
    if (w) return w;
    throw new UnavailableError(
      `the wallet is not available yet: ${this.#walletUnavailableReason()}`,
    );
  }

  #walletUnavailableReason(): string {
    const d = this.#daemon;
    if (!d.rpc) return 'no chain backend configured (--chain-rpc)';
    const wallet = d.health.get(HEALTH.wallet);
    const chain = d.health.get(HEALTH.chain);
    return [
      `wallet ${describeStatus(wallet?.detail, wallet?.status)}`,
      `chain ${describeStatus(chain?.lastError?.message ?? chain?.detail, chain?.status)}`,
    ].join('; ');
  }

  state(): WalletState {
    const w = this.#daemon.wallet;
    if (!w) return { available: false, reason: this.#walletUnavailableReason() };
    return { available: true, ...walletView(this.#daemon.config.network, w.balance(), w.height) };
  }

  view(): WalletView {
    const w = this.#wallet();
    return walletView(this.#daemon.config.network, w.balance(), w.height);
  }

  history(): WalletTxView[] {
    return this.#wallet().history().map(walletTxView);
  }

  /**
   * Syncs the wallet, builds, signs and broadcasts a withdrawal, and records it in the wallet so
   * the balance reflects it at once. One at a time, so two withdrawals never pick the same coins.
   * Wallet errors (bad address, dust, insufficient funds) pass through for the caller to map.
   */
  withdraw(address: string, amount: bigint | undefined, feeRate: bigint): Promise<WithdrawalView> {
    this.#wallet(); // unavailable before waiting for another withdrawal
    const run = async (): Promise<WithdrawalView> => {
      const wallet = this.#wallet();
      const rpc = this.#daemon.rpc!;
      try {
        await wallet.sync({ signal: AbortSignal.timeout(WITHDRAW_SYNC_TIMEOUT_MS) });
      } catch (err) {
        throw new UnavailableError(
          `cannot bring the wallet up to date with the chain: ${(err as Error).message}`,
          { cause: err },
        );
      }
      const signed = wallet.withdraw(address, amount, feeRate);
      const { status } = await broadcast(rpc, signed.hex);
      await wallet.recordOwnTransaction(signed.hex);
      const sent = Transaction.fromHex(signed.hex).outs[0]!.value;
      return {
        txid: signed.txid,
        amount: BigInt(sent).toString(),
        fee: signed.fee.toString(),
        vsize: signed.vsize,
        status,
      };
    };
    const result = this.#serial.then(run, run);
    this.#serial = result.catch(() => undefined);
    return result;
  }

  /** A fresh receive address of the wallet. */
  receiveAddress(): Promise<string> {
    return this.#wallet().receiveAddress();
  }

  /** The wallet's mnemonic, for the user to write down. */
  exportMnemonic(): string {
    return this.#wallet().exportMnemonic();
  }
}
