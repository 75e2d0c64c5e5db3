/**
 * The application service: everything the HTTP API and the live feed ask of a node, in one place,
 * and the only part of the node they talk to. Queries answer views (node/app/views/) computed from
 * the daemon's public parts; commands (place an order, close, force close, decide, withdraw, change
 * the policy or the limits) check what they can synchronously and throw a named error
 * (node/app/errors.ts) before anything happens. When something an answer needs is down, it says
 * so with the health registry's own words — it never answers with a guess. Time comes from the
 * injected clock.
 */
import { randomUUID } from 'node:crypto';
import { peerIdFromString } from '@libp2p/peer-id';
import { signedCommit } from '../../dlc/contract.ts';
import { cfdEvent } from '../../eventstore/cfd-events.ts';
import { type Cfd, type CfdAction, uiState } from '../../model/cfd.ts';
import {
  assertSlippageBps,
  checkSlippage,
  DEFAULT_MAX_CLOCK_SKEW_SECS,
  DEFAULT_MAX_SLIPPAGE_BPS,
} from '../../model/offer.ts';
import { product } from '../../model/product.ts';
import {
  type ContractSymbol,
  formatPrice,
  type Leverage,
  type Position,
} from '../../model/units.ts';
import {
  CollabSettlementMaker,
  CollabSettlementTaker,
} from '../../protocols/collab-settlement/index.ts';
import type { OrderAnswer } from '../../protocols/order/index.ts';
import type { Daemon } from '../daemon/daemon.ts';
import { HEALTH } from '../daemon/daemon.ts';
import {
  InvalidMakerPolicyError,
  type MakerPolicy,
  type MakerPolicyPatch,
} from '../daemon/maker-policy.ts';
import {
  InvalidTakerLimitsError,
  type TakerLimitsPatch,
  type TakerLimitsView,
} from '../daemon/taker-limits.ts';
import type { LatestQuote } from '../pricefeed/client.ts';
import { DisconnectedError } from '../runtime/errors.ts';
import {
  IllegalCommandError,
  MakerBlockedError,
  MakerNoAnswerError,
  NotFoundError,
  OrderRejectedError,
  UnavailableError,
  ValidationError,
} from './errors.ts';
import {
  checkLots,
  checkOrder,
  type OrderChecks,
  type OrderPreview,
  orderPreview,
  payoutCurvePoints,
} from './preview.ts';
import type {
  AppChange,
  BumpResult,
  CfdDetail,
  Gauges,
  NodeView,
  OffersView,
  PlacedOrder,
} from './types.ts';
import { bumpView, type CfdView, type CfdViewOptions, cfdView } from './views/cfd.ts';
import { type ExposureView, exposureView } from './views/exposure.ts';
import { type FeesView, feesView } from './views/fees.ts';
import { describeStatus, explorerTemplate, type HealthView, healthView } from './views/health.ts';
import {
  type HistoryView,
  positionHistory,
  type WalletHistoryRow,
  walletHistory,
} from './views/history.ts';
import { offerView } from './views/offer.ts';
import {
  bestOffer,
  type MakerChoices,
  type OrderBookView,
  orderBookView,
} from './views/order-book.ts';
import {
  type QuoteHistoryView,
  type QuoteView,
  quoteHistoryView,
  quoteView,
} from './views/quote.ts';
import {
  type AccountPosition,
  type AccountView,
  accountView,
  countsInAccount,
  type WalletView,
} from './views/wallet.ts';
import { WalletService, type WalletState, type WithdrawalView } from './wallet.ts';

export class AppService {
  readonly #daemon: Daemon;
  readonly #clock: () => number;
  readonly #wallets: WalletService;
  /** Offer ids of makers blocked while this node runs → their maker (an order on one is refused by name). */
  readonly #blockedOffers = new Map<string, string>();
  /**
   * Set-up contracts whose payout the wallet may not hold yet, by id: the open ones and those
   * settled since (their last state), for {@link account}.
   */
  readonly #unpaid = new Map<string, Cfd>();

  constructor(daemon: Daemon, clock: () => number = Date.now) {
    this.#daemon = daemon;
    this.#clock = clock;
    this.#wallets = new WalletService(daemon);
    // Settled contracts leave the open CFDs: the read model's changes bring their last state.
    // (Absent only in specs that give a bare stand-in for the daemon.)
    daemon.readModel?.onChange((cfds) => {
      for (const c of cfds) this.#track(c);
    });
  }

  health(): HealthView {
    return healthView(this.#daemon.health.overall(), this.#daemon.health.snapshot());
  }

  /** The latest quote, or null before the first one. */
  quote(): QuoteView | null {
    const q = this.#daemon.feed.latest();
    return q ? quoteView(q) : null;
  }

  /** Recent quotes for the chart, received after `sinceMs` (unix ms) if given. */
  quoteHistory(sinceMs?: number): QuoteHistoryView {
    return quoteHistoryView(this.#daemon.feed.history, sinceMs, this.#clock());
  }

  /** Taker: the offers it may take now. Maker: the offers it publishes now. */
  offers(): OffersView {
    const d = this.#daemon;
    if (d.config.role === 'maker') {
      if (d.policy && !d.policy.current.publishing) {
        return { offers: [], reason: 'offers withdrawn by the maker (policy: publishing false)' };
      }
      const h = d.health.get(HEALTH.offers);
      const q = d.feed.latest();
      // What takers were sent (same ids), not offers recomputed now.
      const published = d.offers.published;
      if (h?.status !== 'ok' || !q || q.stale || published.length === 0) {
        return {
          offers: [],
          reason: `no offers published: ${describeStatus(h?.detail, h?.status)}`,
        };
      }
      return { offers: published.map((o) => offerView(d.peerId, o)), reason: null };
    }
    const now = Math.floor(this.#clock() / 1000);
    const blocked = new Set(this.makerChoices().blocked);
    const current = d.offers.book
      .current(now, { maxOfferAgeSecs: d.config.time.offerMaxAgeSecs })
      .filter(({ maker }) => !blocked.has(maker));
    if (current.length > 0) {
      const limits = d.limits?.limits;
      return {
        offers: current.map(({ maker, offer }) => offerView(maker, offer, limits)),
        reason: null,
      };
    }
    if (d.config.p2p.makers.length === 0 && d.config.p2p.bootstrap.length === 0) {
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
    const all = [
      ...this.#daemon.readModel.openCfds(),
      ...(await this.#daemon.readModel.closedCfds()),
    ];
    return this.views(all).sort(
      (a, b) => b.placedAtSecs - a.placedAtSecs || (a.id < b.id ? -1 : 1),
    );
  }

  /**
   * Every position's history, newest first: open and close times from the event log, how it
   * closed, exit price, realised P/L and each funding charge (views/history.ts).
   */
  async positionHistory(): Promise<HistoryView> {
    const views = await this.cfds();
    const store = this.#daemon.store;
    const positions = await Promise.all(
      views.map(async (view) => {
        const recorded = await store.readStream(view.id);
        const events = recorded.map((e) => ({ event: cfdEvent(e), recordedAt: e.recordedAt }));
        return positionHistory(events, view);
      }),
    );
    return { positions };
  }

  /** One CFD's view, or {@link NotFoundError}. */
  async cfd(id: string): Promise<{ cfd: Cfd; view: CfdView }> {
    const cfd = await this.#daemon.readModel.get(id);
    const view = cfd && cfdView(cfd, this.#quoteOf(cfd.terms?.symbol), this.#viewOptions());
    if (!cfd || !view) throw new NotFoundError(`no CFD with id '${id}'`);
    return { cfd, view };
  }

  /** Views of the given CFDs, each at the latest quote of its product (for the live feed). */
  views(cfds: readonly Cfd[]): CfdView[] {
    const options = this.#viewOptions();
    return cfds
      .map((c) => cfdView(c, this.#quoteOf(c.terms?.symbol), options))
      .filter((v): v is CfdView => v !== undefined);
  }

  /** The latest quote of a product's feed contract (BTCUSD's: XBTUSD, unless given). */
  #quoteOf(symbol: ContractSymbol | undefined): LatestQuote | undefined {
    return this.#daemon.feed.latest(product(symbol).feedSymbol);
  }

  #viewOptions(): CfdViewOptions {
    const d = this.#daemon;
    const bumper = d.bumper;
    const monitor = d.monitor;
    // The wallet's transactions by txid, read once per batch of views (the lock's fee).
    let walletTxs: Map<string, { sent: bigint; received: bigint }> | undefined;
    return {
      nowSecs: Math.floor(this.#clock() / 1000),
      rolloverIntervalSecs: d.config.time.rolloverIntervalSecs,
      eventSpacingSecs: d.config.time.oracleEventIntervalSecs,
      problemOf: (id) => d.processManager.problems.get(id),
      rolloverPause: (id) => d.rolloverPause(id),
      bumpsOf: (id) => ({ statuses: bumper.status(id), spent: bumper.spent(id) }),
      bumpBudgetSats: this.#bumpBudget(),
      closeFeeRate: d.fees.rate(),
      tipHeight: monitor?.health().height,
      confirmedAt: (id, txid) => monitor?.confirmedAt(txid, id),
      walletTx: (txid) => {
        walletTxs ??= new Map((d.wallet?.history() ?? []).map((t) => [t.txid, t]));
        return walletTxs.get(txid);
      },
    };
  }

  #bumpBudget(): bigint {
    return BigInt(this.#daemon.config.fees.bumpBudgetSats);
  }

  /** The fee market as the node last read it, with the cap and the bump budget. */
  fees(): FeesView {
    const d = this.#daemon;
    return feesView(d.fees.current(), d.fees.cap, this.#bumpBudget());
  }

  /**
   * "Bump now": raises the fees of the CFD's unconfirmed transactions toward the next block,
   * within the budget and the cap, and answers how each stands afterwards.
   * {@link NotFoundError} for an unknown CFD; {@link IllegalCommandError} when none of its
   * transactions is being pushed to confirmation; the chain's own errors (no chain, unreachable)
   * pass through for the server to map (503).
   */
  async bump(id: string): Promise<BumpResult> {
    await this.cfd(id);
    const d = this.#daemon;
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

  /** The wallet's balance; {@link UnavailableError} saying why when there is none. */
  wallet(): WalletView {
    return this.#wallets.view();
  }

  /** The wallet as the live feed shows it: its state, or why it is not available. */
  walletState(): WalletState {
    return this.#wallets.state();
  }

  /**
   * The account: wallet, margin in open contracts, what they pay now and the equity
   * (views/wallet.ts {@link accountView}). A contract counts from its lock until the wallet holds
   * the transaction that pays it ({@link countsInAccount}), settled or not.
   */
  account(): AccountView {
    const d = this.#daemon;
    for (const c of d.readModel.openCfds()) this.#track(c);
    const wallet = d.wallet;
    const held = new Set(wallet?.history().map((t) => t.txid));
    const tracked = [...this.#unpaid.values()];
    const positions: AccountPosition[] = [];
    for (const v of this.views(tracked)) {
      const cfd = this.#unpaid.get(v.id);
      if (!cfd) continue;
      const payout = v.profit ? BigInt(v.profit.payout) : undefined;
      if (!countsInAccount(cfd, held, payout)) {
        // Paid into the wallet (or never will be): an open one comes back if that changes.
        this.#unpaid.delete(v.id);
        continue;
      }
      positions.push({
        margin: BigInt(v.margin),
        payout,
        profit: v.profit ? BigInt(v.profit.sats) : undefined,
      });
    }
    return accountView(wallet?.balance(), positions);
  }

  /** Keeps a set-up contract's latest state for {@link account} (dropped there once paid). */
  #track(cfd: Cfd): void {
    const id = cfd.terms?.id;
    if (id === undefined) return;
    if (cfd.setup === 'completed') this.#unpaid.set(id, cfd);
    else this.#unpaid.delete(id);
  }

  /** Net exposure over the positions that hold coins (views/exposure.ts). */
  async exposure(): Promise<ExposureView> {
    return exposureView(await this.cfds());
  }

  /** The wallet's transactions, newest first, each named (lock, close, deposit, withdraw…). */
  async history(): Promise<WalletHistoryRow[]> {
    const txs = this.#wallets.history();
    return walletHistory(txs, await this.cfds());
  }

  /** Withdraws to `address` (wallet.ts {@link WalletService.withdraw}). */
  withdraw(address: string, amount: bigint | undefined, feeRate: bigint): Promise<WithdrawalView> {
    return this.#wallets.withdraw(address, amount, feeRate);
  }

  /** A fresh receive address of the wallet. */
  receiveAddress(): Promise<string> {
    return this.#wallets.receiveAddress();
  }

  /** The wallet's mnemonic, for the user to write down. */
  exportMnemonic(): string {
    return this.#wallets.exportMnemonic();
  }

  // ---------------------------------------------------------------- node

  /** Who this node is. */
  node(): NodeView {
    const d = this.#daemon;
    return {
      role: d.config.role,
      peerId: d.peerId,
      network: d.config.network,
      multiaddrs: d.p2p.getMultiaddrs().map(String),
      makers: d.config.p2p.makers,
      explorer: explorerTemplate(d.config.network, d.config.ui.explorerUrl),
    };
  }

  /** The node's data directory. */
  get datadir(): string {
    return this.#daemon.config.datadir;
  }

  /** This node's role. */
  get role(): 'maker' | 'taker' {
    return this.#daemon.config.role;
  }

  /** Refuses a peer in both directions until restart; answers every blocked peer. */
  async blockPeer(peerId: string): Promise<string[]> {
    await this.#daemon.blockPeer(peerId);
    return this.#daemon.blockedPeers;
  }

  // ---------------------------------------------------------------- the order book

  /**
   * Taker: the order book of `symbol` across its makers (views/order-book.ts): best bid and ask
   * honouring the user's blocks and preferences, each maker's offers and record.
   */
  book(symbol: string): OrderBookView {
    this.#requireTaker();
    const d = this.#daemon;
    const now = this.#clock();
    const offers = d.offers.book.current(Math.floor(now / 1000), {
      maxOfferAgeSecs: d.config.time.offerMaxAgeSecs,
    });
    const records = d.makerRecords?.all ?? new Map();
    const configured = d.config.p2p.makers.map((a) => a.slice(a.lastIndexOf('/p2p/') + 5));
    return orderBookView({
      symbol,
      offers,
      makers: [...configured, ...records.keys()],
      records,
      choices: this.makerChoices(),
      nowMs: now,
      limits: d.limits?.limits,
      noOffersReason: offers.length === 0 ? this.offers().reason : null,
    });
  }

  /** The makers the user blocks and prefers (none on a maker). */
  makerChoices(): MakerChoices {
    return this.#daemon.makerChoices?.current ?? { blocked: [], preferred: [] };
  }

  /**
   * Taker: blocks maker `peerId`, durably: its offers leave the book, an order on one is refused
   * ({@link MakerBlockedError}), and the node hangs up on it and refuses it until unblocked. Its
   * open CFDs stay its own (they roll over again once unblocked, or close on chain).
   */
  async blockMaker(peerId: string): Promise<MakerChoices> {
    const store = this.#choicesStore();
    const choices = await store.block(peerId);
    // Its offers are forgotten on hang-up; an order naming one is refused by name, not "not found".
    const now = this.#nowSecs();
    for (const { maker, offer } of this.#daemon.offers.book.current(now, {
      maxOfferAgeSecs: this.#daemon.config.time.offerMaxAgeSecs,
    })) {
      if (maker === peerId) this.#blockedOffers.set(offer.id, maker);
    }
    await this.#daemon.blockPeer(peerId);
    return choices;
  }

  /** Taker: unblocks maker `peerId`; the node dials it again (unless `--block` names it). */
  async unblockMaker(peerId: string): Promise<MakerChoices> {
    const choices = await this.#choicesStore().unblock(peerId);
    this.#unblocked(peerId);
    return choices;
  }

  /** Taker: prefers maker `peerId` (`on`; unblocking it) — it wins ties in "best" — or no longer. */
  async preferMaker(peerId: string, on: boolean): Promise<MakerChoices> {
    const store = this.#choicesStore();
    const wasBlocked = store.current.blocked.includes(peerId);
    const choices = await store.prefer(peerId, on);
    if (on && wasBlocked) this.#unblocked(peerId);
    return choices;
  }

  #unblocked(peerId: string): void {
    for (const [id, maker] of this.#blockedOffers) {
      if (maker === peerId) this.#blockedOffers.delete(id);
    }
    if (!this.#daemon.config.p2p.blocked.includes(peerId)) this.#daemon.unblockPeer(peerId);
  }

  #choicesStore() {
    this.#requireTaker();
    const store = this.#daemon.makerChoices;
    if (!store) throw new IllegalCommandError('this node keeps no maker choices');
    return store;
  }

  /** {@link MakerBlockedError} if `maker` (of offer `offerId`) is blocked. */
  #refuseBlocked(offerId: string, maker: string | undefined): void {
    const m = maker ?? this.#blockedOffers.get(offerId);
    if (m !== undefined && this.makerChoices().blocked.includes(m)) {
      throw new MakerBlockedError(
        `offer '${offerId}' is maker ${m}'s, which you blocked: unblock it to trade with it`,
      );
    }
  }

  // ---------------------------------------------------------------- orders

  /**
   * Takes an offer — `offerId`, any the maker published within the offer age and has not
   * withdrawn — for `lots` lots at `leverage`. Checks the order once, here — role, offer, lots,
   * the price against the maker's current quote for that side (within `maxSlippageBps` of the
   * offer's price, {@link DEFAULT_MAX_SLIPPAGE_BPS} if absent), the offer's rules, the taker's
   * limits — and throws the named error if it would be refused. Then sends it and answers once
   * the maker accepted it: the order id, the maker holding the order and coins set aside for it
   * (setup goes on and reports on the CFD). The maker refusing it throws
   * {@link OrderRejectedError} with its reason; no answer within the decision timeout
   * {@link MakerNoAnswerError}. Why honour a recent offer rather than only the latest: the maker
   * re-quotes about once a second with new ids, so an id read a moment ago (by a script, or shown
   * in a confirm dialog) would otherwise be gone; the contract is made at the offer's own price,
   * the price the user confirmed, and the slippage bounds how far the market may have moved.
   */
  async placeOrder(order: {
    offerId: string;
    lots: number;
    leverage: Leverage;
    maxSlippageBps?: number | undefined;
  }): Promise<PlacedOrder> {
    this.#requireTaker();
    this.#refuseBlocked(order.offerId, undefined);
    const found = this.#recentOffer(
      order.offerId,
      (reason) => `cannot take an offer now: ${reason}`,
      `no offer '${order.offerId}' within the last ${this.#daemon.config.time.offerMaxAgeSecs} s: take one from GET /api/offers`,
    );
    this.#refuseBlocked(found.offer.id, found.maker);
    const slippage = order.maxSlippageBps ?? DEFAULT_MAX_SLIPPAGE_BPS;
    assertSlippageBps(slippage);
    checkLots(found.offer, order.lots);
    checkSlippage(found.offer, found.current, slippage);
    const quantity = found.offer.lotSize * BigInt(order.lots);
    const limits = this.#daemon.limits?.limits;
    checkOrder(
      found.offer,
      { quantity, leverage: order.leverage },
      this.#nowSecs(),
      this.#orderChecks(),
      limits,
    );
    const orderId = randomUUID();
    const answer = Promise.withResolvers<OrderAnswer>();
    void this.#daemon.orders
      .placeOrder(peerIdFromString(found.maker), found.offer, {
        quantity,
        leverage: order.leverage,
        orderId,
        maxSlippageBps: slippage,
        onAnswer: answer.resolve,
      })
      .catch((err: unknown) => {
        answer.reject(err);
        this.#failed(orderId, 'order', err);
      });
    const a = await answer.promise;
    switch (a.type) {
      case 'accepted':
        return { orderId, offerId: found.offer.id, price: formatPrice(found.offer.price) };
      case 'rejected':
        throw new OrderRejectedError(`the maker refused the order: ${a.reason}`);
      case 'noAnswer':
        throw new MakerNoAnswerError(
          `the maker did not answer the order within ${Math.round(a.afterMs / 1000)} s; nothing was set up`,
        );
      case 'failed':
        throw new UnavailableError(`the order failed before the maker answered: ${a.reason}`);
    }
  }

  /**
   * Takes the maker's current offer for `side` (the taker's position), as {@link placeOrder}:
   * the API's "take the best offer now" for scripts that do not pick an offer id.
   */
  async takeBestOffer(order: {
    side: Position;
    /** @default 'BTCUSD' */
    symbol?: ContractSymbol | undefined;
    lots: number;
    leverage: Leverage;
    maxSlippageBps?: number | undefined;
  }): Promise<PlacedOrder> {
    this.#requireTaker();
    // Best for the taker across makers: the lowest price to go long, the highest to go short;
    // blocked makers left out, ties to a preferred one (views/order-book.ts).
    const best = bestOffer(
      this.#daemon.offers.book
        .current(this.#nowSecs(), {
          maxOfferAgeSecs: this.#daemon.config.time.offerMaxAgeSecs,
        })
        .filter(({ offer }) => offer.symbol === (order.symbol ?? 'BTCUSD')),
      order.side,
      this.makerChoices(),
      this.#daemon.limits?.limits,
    );
    if (!best) {
      const { reason } = this.offers();
      throw new UnavailableError(
        `no ${order.side} offer now${reason ? `: ${reason}` : ': the maker offers the other side only'}`,
      );
    }
    return this.placeOrder({ ...order, offerId: best.offer.id });
  }

  /** What taking `lots` lots of an offer at `leverage` would cost, and why it would be refused. */
  previewOrder(order: { offerId: string; lots: number; leverage: Leverage }): OrderPreview {
    this.#requireTaker();
    const found = this.#recentOffer(
      order.offerId,
      (reason) => `no offers now: ${reason}`,
      `no offer '${order.offerId}' within the offer age: offers follow the price`,
    );
    const o = found.offer;
    if (!o.leverageChoices.includes(order.leverage)) {
      throw new IllegalCommandError(
        `leverage ${order.leverage}× is not offered (choices: ${o.leverageChoices.join(', ')})`,
      );
    }
    const quantity = o.lotSize * BigInt(order.lots);
    let problem: string | null = null;
    try {
      checkLots(o, order.lots);
      const limits = this.#daemon.limits?.limits;
      checkOrder(
        o,
        { quantity, leverage: order.leverage },
        this.#nowSecs(),
        this.#orderChecks(),
        limits,
      );
    } catch (err) {
      problem = (err as Error).message;
    }
    return orderPreview(o, order.lots, order.leverage, problem);
  }

  /** One CFD's view with its payout chart's points (the list stays light). */
  async cfdDetail(id: string): Promise<CfdDetail> {
    const { cfd, view } = await this.cfd(id);
    return { ...view, payoutCurve: payoutCurvePoints(cfd) };
  }

  // ---------------------------------------------------------------- CFD commands

  /**
   * Taker: proposes a collaborative close at the current quote. Checked here; the settlement runs
   * on, its outcome arrives on the CFD, and a failure that escapes it becomes the CFD's problem.
   */
  async close(id: string): Promise<void> {
    await this.#requireAction(id, 'close', ['settle']);
    const settlements = this.#daemon.settlements;
    if (!(settlements instanceof CollabSettlementTaker)) {
      throw new IllegalCommandError('only the taker proposes a collaborative close');
    }
    void settlements.settle(id).catch((err: unknown) => this.#failed(id, 'close', err));
  }

  /**
   * Force close: publishes the CFD's signed commit transaction; the process manager takes it from
   * there (CET or refund). Answers the commit's txid.
   */
  async forceClose(id: string): Promise<string> {
    await this.#requireAction(id, 'force close', ['commit']);
    const d = this.#daemon;
    const record = await d.contracts.get(id);
    if (!record) throw new UnavailableError(`CFD ${id} has no signed contract record`);
    const tx = signedCommit(record);
    await d.cfds.execute(id, {
      type: 'commit',
      commitTx: { txid: tx.getId(), hex: tx.toHex() },
    });
    return tx.getId();
  }

  /**
   * Maker: accepts or rejects the order or settlement proposal of CFD `id` that awaits a decision.
   * `reason` (rejecting) defaults to "rejected by the maker".
   */
  async decide(id: string, accept: boolean, reason = ''): Promise<void> {
    await this.#requireAction(
      id,
      accept ? 'accept' : 'reject',
      accept ? ['acceptOrder', 'acceptSettlement'] : ['rejectOrder', 'rejectSettlement'],
    );
    const d = this.#daemon;
    const why = reason || 'rejected by the maker';
    const settlements = d.settlements;
    if (
      settlements instanceof CollabSettlementMaker &&
      settlements.pending().some((p) => p.cfdId === id)
    ) {
      if (accept) settlements.accept(id);
      else settlements.reject(id, why);
      return;
    }
    if (d.orders.pendingDecisions().some((t) => t.id === id)) {
      d.orders.decide(id, accept ? { accept: true } : { accept: false, reason: why });
      return;
    }
    throw new NotFoundError(`no order or settlement proposal of CFD ${id} awaits a decision`);
  }

  // ---------------------------------------------------------------- maker policy, taker limits

  /** Maker: its policy now; a taker has none ({@link IllegalCommandError}). */
  policy(): MakerPolicy {
    return this.#policyStore().current;
  }

  /** Maker: applies `patch` to the policy, durably, at once; answers the whole new policy. */
  async updatePolicy(patch: MakerPolicyPatch): Promise<MakerPolicy> {
    try {
      return await this.#policyStore().update(patch);
    } catch (err) {
      // The fields were fine on their own; together with the rest of the policy they are not.
      if (err instanceof InvalidMakerPolicyError) {
        throw new ValidationError(`invalid policy: ${err.message}`);
      }
      throw err;
    }
  }

  /** Taker: its limits now; a maker has none ({@link IllegalCommandError}). */
  limits(): TakerLimitsView {
    return this.#limitsStore().current;
  }

  /** Taker: applies `patch` to the limits, durably, at once; answers the whole new limits. */
  async updateLimits(patch: TakerLimitsPatch): Promise<TakerLimitsView> {
    try {
      return await this.#limitsStore().update(patch);
    } catch (err) {
      if (err instanceof InvalidTakerLimitsError) {
        throw new ValidationError(`invalid limits: ${err.message}`);
      }
      throw err;
    }
  }

  // ---------------------------------------------------------------- live changes, metrics

  /**
   * Calls `listener` with each change the live feed shows; answers the unsubscribe. CFD changes
   * come as views at the latest quote.
   */
  subscribe(listener: (change: AppChange) => void): () => void {
    const d = this.#daemon;
    const send = (cfds: readonly Cfd[]) => listener({ type: 'cfds', views: this.views(cfds) });
    const off = [
      d.health.subscribe((h) => {
        listener({ type: 'health' });
        if (h.name.startsWith('peer:') || h.name === HEALTH.offers) listener({ type: 'offers' });
        if (h.name === HEALTH.wallet) listener({ type: 'wallet' });
      }),
      d.readModel.onChange(send),
      // A CFD whose handling starts or stops failing: its view's `problem` changed.
      d.processManager.problems.onChange((cfdId) => {
        void d.readModel
          .get(cfdId)
          .then((cfd) => send(cfd ? [cfd] : []))
          .catch((err: unknown) => d.log.warn({ err, cfdId }, 'could not send a CFD view'));
      }),
      d.offers.onOffers(() => listener({ type: 'offers' })),
      // Blocks and preferences change the book.
      ...(d.makerChoices ? [d.makerChoices.onChange(() => listener({ type: 'offers' }))] : []),
      d.feed.onQuote(() => listener({ type: 'quote' })),
      // A pause is not a CFD event: send the CFD's view again.
      d.onRolloverPause((cfdId) => {
        const cfd = d.readModel.openCfds().find((c) => c.terms?.id === cfdId);
        if (cfd) send([cfd]);
      }),
    ];
    if (d.limits) off.push(d.limits.onChange((limits) => listener({ type: 'limits', limits })));
    if (d.policy) off.push(d.policy.onChange((policy) => listener({ type: 'policy', policy })));
    return () => {
      for (const f of off) f();
    };
  }

  /** Views of the open CFDs at the latest quote. */
  openCfdViews(): CfdView[] {
    return this.views(this.#daemon.readModel.openCfds());
  }

  /** The maker's policy, or undefined on a taker. */
  maybePolicy(): MakerPolicy | undefined {
    return this.#daemon.policy?.current;
  }

  /** The taker's limits, or undefined on a maker. */
  maybeLimits(): TakerLimitsView | undefined {
    return this.#daemon.limits?.current;
  }

  /** What the metrics read: health components, CFDs per UI state, wallet, quote age, event head. */
  gauges(): Gauges {
    const d = this.#daemon;
    const w = d.wallet;
    return {
      components: d.health.snapshot(),
      eventStoreHead: d.store.head,
      wallet: w ? { balance: w.balance(), height: w.height } : undefined,
      quoteAgeMs: d.feed.latest()?.ageMs,
    };
  }

  /** CFDs per UI state (metrics). */
  async cfdStates(): Promise<Map<string, number>> {
    const d = this.#daemon;
    const counts = new Map<string, number>();
    for (const c of [...d.readModel.openCfds(), ...(await d.readModel.closedCfds())]) {
      const s = uiState(c);
      counts.set(s, (counts.get(s) ?? 0) + 1);
    }
    return counts;
  }

  // ---------------------------------------------------------------- helpers

  #nowSecs(): number {
    return Math.floor(this.#clock() / 1000);
  }

  #requireTaker(): void {
    if (this.#daemon.config.role !== 'taker') {
      throw new IllegalCommandError('a maker does not place orders; it publishes offers');
    }
  }

  /** The offer checks of this node's configuration. */
  #orderChecks(): OrderChecks {
    const t = this.#daemon.config.time;
    return {
      maxOfferAgeSecs: t.offerMaxAgeSecs,
      // The event is the first one a settlement interval after the offer was made: up to one
      // event spacing later, or up to the offer's age earlier.
      eventWindowSecs: Math.max(t.oracleEventIntervalSecs, t.offerMaxAgeSecs),
      maxClockSkewSecs: DEFAULT_MAX_CLOCK_SKEW_SECS,
    };
  }

  /**
   * The offer `offerId` from the book if published within the offer age and not withdrawn, with
   * its maker and that maker's current offer of the same side; {@link UnavailableError} when
   * there are no offers, else {@link NotFoundError}.
   */
  #recentOffer(offerId: string, noOffers: (reason: string) => string, notFound: string) {
    const found = this.#daemon.offers.book.findRecent(offerId, this.#nowSecs(), {
      maxOfferAgeSecs: this.#daemon.config.time.offerMaxAgeSecs,
    });
    if (found) return found;
    const { offers, reason } = this.offers();
    if (offers.length === 0 && reason) throw new UnavailableError(noOffers(reason));
    throw new NotFoundError(notFound);
  }

  /** The CFD's view if one of `allowed` is possible now; otherwise an error saying what is. */
  async #requireAction(id: string, verb: string, allowed: readonly CfdAction[]): Promise<CfdView> {
    const { view } = await this.cfd(id);
    if (!allowed.some((a) => view.actions.includes(a))) {
      const possible = view.actions.length > 0 ? view.actions.join(', ') : 'nothing';
      throw new IllegalCommandError(
        `cannot ${verb} CFD ${id}: it is ${view.state} and this ${view.role} can do ${possible} now`,
      );
    }
    return view;
  }

  /** A command that ran on after its answer failed: the CFD's problem says so (and the log). */
  #failed(cfdId: string, during: 'order' | 'close', err: unknown): void {
    void this.#daemon.processManager.problems.run(cfdId, during, () => Promise.reject(err));
  }

  #policyStore() {
    const policy = this.#daemon.policy;
    if (!policy) {
      throw new IllegalCommandError(
        'this node is a taker: it has no maker policy (offers come from its maker)',
      );
    }
    return policy;
  }

  #limitsStore() {
    const limits = this.#daemon.limits;
    if (!limits) {
      throw new IllegalCommandError(
        'this node is a maker: it has no taker limits (its terms are its policy)',
      );
    }
    return limits;
  }
}
