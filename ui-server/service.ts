/**
 * What the API and the live feed ask of a node, in one place: views computed from the daemon's
 * public parts, and the few actions (withdraw) with their checks. When something the answer needs
 * is down, it says so with the health registry's own words — it never answers with a guess.
 */
import { Transaction } from 'bitcoinjs-lib';
import type { Cfd } from '../model/cfd.ts';
import { broadcast } from '../node/chain/broadcast.ts';
import type { Daemon } from '../node/daemon/daemon.ts';
import { HEALTH } from '../node/daemon/daemon.ts';
import { DisconnectedError } from '../node/runtime/errors.ts';
import type { Wallet } from '../node/wallet/wallet.ts';
import { IllegalCommandError, NotFoundError, UnavailableError } from './errors.ts';
import {
  type BumpView,
  bumpView,
  type CfdView,
  type CfdViewOptions,
  cfdView,
  type FeesView,
  feesView,
  type HealthView,
  healthView,
  type OfferView,
  offerView,
  type QuoteHistoryView,
  type QuoteView,
  quoteHistoryView,
  quoteView,
  type WalletTxView,
  type WalletView,
  walletTxView,
  walletView,
} from './views.ts';

/**
 * How long a withdrawal waits for the wallet to catch up with the chain before building the
 * transaction: a sync normally takes well under a second; longer means the chain is not answering.
 */
export const WITHDRAW_SYNC_TIMEOUT_MS = 15_000;

/** The offers a user can see now, and why there are none when there are none. */
export interface OffersView {
  readonly offers: readonly OfferView[];
  /** Set when `offers` is empty: what is missing (no maker connected, feed stale…). */
  readonly reason: string | null;
}

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

export class UiService {
  readonly daemon: Daemon;
  readonly #clock: () => number;
  #serial: Promise<unknown> = Promise.resolve();

  constructor(daemon: Daemon, clock: () => number = Date.now) {
    this.daemon = daemon;
    this.#clock = clock;
  }

  health(): HealthView {
    return healthView(this.daemon.health.overall(), this.daemon.health.snapshot());
  }

  /** The latest quote, or null before the first one. */
  quote(): QuoteView | null {
    const q = this.daemon.feed.latest();
    return q ? quoteView(q) : null;
  }

  /** Recent quotes for the chart, received after `sinceMs` (unix ms) if given. */
  quoteHistory(sinceMs?: number): QuoteHistoryView {
    return quoteHistoryView(this.daemon.feed.history, sinceMs, this.#clock());
  }

  /** Taker: the offers it may take now. Maker: the offers it publishes now. */
  offers(): OffersView {
    const d = this.daemon;
    if (d.config.role === 'maker') {
      if (d.policy && !d.policy.current.publishing) {
        return { offers: [], reason: 'offers withdrawn by the maker (policy: publishing false)' };
      }
      const h = d.health.get(HEALTH.offers);
      const q = d.feed.latest();
      // What takers were sent (same ids), not offers recomputed now.
      const published = d.offers.published;
      if (h?.status !== 'ok' || !q || q.stale || published.length === 0) {
        return { offers: [], reason: `no offers published: ${describe(h?.detail, h?.status)}` };
      }
      return { offers: published.map((o) => offerView(d.peerId, o)), reason: null };
    }
    const now = Math.floor(this.#clock() / 1000);
    const current = d.offers.book.current(now, { maxOfferAgeSecs: d.config.time.offerMaxAgeSecs });
    if (current.length > 0) {
      const limits = d.limits?.limits;
      return {
        offers: current.map(({ maker, offer }) => offerView(maker, offer, limits)),
        reason: null,
      };
    }
    if (d.config.p2p.makers.length === 0) {
      return { offers: [], reason: 'no maker configured (--maker)' };
    }
    const peers = d.health.snapshot().filter((c) => c.name.startsWith('peer:'));
    if (!peers.some((p) => p.status === 'ok')) {
      const why = peers
        .map((p) => `${p.name}: ${p.status}${p.lastError ? ` (${p.lastError.message})` : ''}`)
        .join('; ');
      return { offers: [], reason: `not connected to a maker${why ? `: ${why}` : ''}` };
    }
    return { offers: [], reason: 'the maker has no current offers' };
  }

  /** Every CFD, newest first. */
  async cfds(): Promise<CfdView[]> {
    const q = this.daemon.feed.latest();
    const all = [
      ...this.daemon.readModel.openCfds(),
      ...(await this.daemon.readModel.closedCfds()),
    ];
    return all
      .map((c) => cfdView(c, q, this.#viewOptions()))
      .filter((v): v is CfdView => v !== undefined)
      .sort((a, b) => b.placedAtSecs - a.placedAtSecs || (a.id < b.id ? -1 : 1));
  }

  /** One CFD's view, or {@link NotFoundError}. */
  async cfd(id: string): Promise<{ cfd: Cfd; view: CfdView }> {
    const cfd = await this.daemon.readModel.get(id);
    const view = cfd && cfdView(cfd, this.daemon.feed.latest(), this.#viewOptions());
    if (!cfd || !view) throw new NotFoundError(`no CFD with id '${id}'`);
    return { cfd, view };
  }

  /** Views of the given CFDs at the latest quote (for the live feed). */
  views(cfds: readonly Cfd[]): CfdView[] {
    const q = this.daemon.feed.latest();
    const options = this.#viewOptions();
    return cfds.map((c) => cfdView(c, q, options)).filter((v): v is CfdView => v !== undefined);
  }

  #viewOptions(): CfdViewOptions {
    const bumper = this.daemon.bumper;
    return {
      nowSecs: Math.floor(this.#clock() / 1000),
      rolloverIntervalSecs: this.daemon.config.time.rolloverIntervalSecs,
      problemOf: (id) => this.daemon.processManager.problems.get(id),
      rolloverPause: (id) => this.daemon.rolloverPause(id),
      bumpsOf: (id) => ({ statuses: bumper.status(id), spent: bumper.spent(id) }),
      bumpBudgetSats: this.#bumpBudget(),
    };
  }

  #bumpBudget(): bigint {
    return BigInt(this.daemon.config.fees.bumpBudgetSats);
  }

  /** The fee market as the node last read it, with the cap and the bump budget. */
  fees(): FeesView {
    const d = this.daemon;
    return feesView(d.fees.current(), d.fees.cap, this.#bumpBudget());
  }

  /**
   * "Bump now": raises the fees of the CFD's unconfirmed transactions toward the next block,
   * within the budget and the cap, and answers how each stands afterwards.
   * {@link NotFoundError} for an unknown CFD; {@link IllegalCommandError} when none of its
   * transactions is being pushed to confirmation; the chain's own errors (no chain, unreachable)
   * pass through for the server to map (503).
   */
  async bump(
    id: string,
  ): Promise<{ bumps: BumpView[]; bumpBudgetSats: string; bumpSpentSats: string }> {
    await this.cfd(id);
    const d = this.daemon;
    const pending = d.bumper.status(id).filter((b) => b.state !== 'confirmed');
    if (pending.length === 0) {
      throw new IllegalCommandError(
        `nothing of CFD ${id} awaits confirmation: no transaction of it is being bumped`,
      );
    }
    let statuses: Awaited<ReturnType<Daemon['bumpNow']>>;
    try {
      statuses = await d.bumpNow(id);
    } catch (err) {
      if (err instanceof DisconnectedError) {
        throw new UnavailableError(`cannot bump the fees now: the ${err.message}`, { cause: err });
      }
      throw err;
    }
    return {
      bumps: statuses.map(bumpView),
      bumpBudgetSats: this.#bumpBudget().toString(),
      bumpSpentSats: d.bumper.spent(id).toString(),
    };
  }

  /** The wallet, or {@link UnavailableError} saying why it is not there. */
  requireWallet(): Wallet {
    const w = this.daemon.wallet;
    if (w) return w;
    throw new UnavailableError(
      `the wallet is not available yet: ${this.walletUnavailableReason()}`,
    );
  }

  walletUnavailableReason(): string {
    const d = this.daemon;
    if (!d.rpc) return 'no chain backend configured (--chain-rpc)';
    const wallet = d.health.get(HEALTH.wallet);
    const chain = d.health.get(HEALTH.chain);
    return [
      `wallet ${describe(wallet?.detail, wallet?.status)}`,
      `chain ${describe(chain?.lastError?.message ?? chain?.detail, chain?.status)}`,
    ].join('; ');
  }

  walletState(): WalletState {
    const w = this.daemon.wallet;
    if (!w) return { available: false, reason: this.walletUnavailableReason() };
    return { available: true, ...walletView(this.daemon.config.network, w.balance(), w.height) };
  }

  wallet(): WalletView {
    const w = this.requireWallet();
    return walletView(this.daemon.config.network, w.balance(), w.height);
  }

  history(): WalletTxView[] {
    return this.requireWallet().history().map(walletTxView);
  }

  /**
   * Syncs the wallet, builds, signs and broadcasts a withdrawal, and records it in the wallet so
   * the balance reflects it at once. One at a time, so two withdrawals never pick the same coins.
   * Wallet errors (bad address, dust, insufficient funds) pass through for the caller to map.
   */
  withdraw(address: string, amount: bigint | undefined, feeRate: bigint): Promise<WithdrawalView> {
    const run = async (): Promise<WithdrawalView> => {
      const wallet = this.requireWallet();
      const rpc = this.daemon.rpc!;
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
}

function describe(detail: string | undefined, status: string | undefined): string {
  const s = status ?? 'unknown';
  return detail ? `${s} (${detail})` : s;
}
