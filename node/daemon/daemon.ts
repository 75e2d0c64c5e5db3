/**
 * A taker or maker node: every subsystem started under supervision, each reporting to one health
 * registry. Starting never fails because a subsystem is down — no chain, no oracle, no feed, no
 * maker: the node comes up degraded, says so in health, and heals when the service returns. Only
 * what the node cannot run without at all (its data dir, its database) stops start-up.
 */

import { join } from 'node:path';
import { peerIdFromString } from '@libp2p/peer-id';
import { multiaddr } from '@multiformats/multiaddr';
import { type Logger, pino } from 'pino';
import { commitKeysFromRecord, fromHex, lockOutput, payoutScriptsOf } from '../../dlc/contract.ts';
import { AdaptorWorkerPool } from '../../dlc/workers.ts';
import { CfdReadModel } from '../../eventstore/cfd-read-model.ts';
import { CfdRepository } from '../../eventstore/cfd-repository.ts';
import { LevelContractStore } from '../../eventstore/contract-store.ts';
import { EventStore } from '../../eventstore/event-store.ts';
import type { Cfd } from '../../model/cfd.ts';
import { margins } from '../../model/fees.ts';
import { divRound } from '../../model/fixed.ts';
import type { TakerLimits } from '../../model/limits.ts';
import type { Offer } from '../../model/offer.ts';
import { nextEventTime, oracleEventId } from '../../model/oracle-event.ts';
import { asPrice, type Price, parseFundingRate } from '../../model/units.ts';
import type { CollabSettlementTimeouts } from '../../protocols/collab-settlement/handler.ts';
import {
  type CloseContext,
  CollabSettlementMaker,
  CollabSettlementTaker,
  closeTermsOf,
} from '../../protocols/collab-settlement/index.ts';
import { OfferProtocol } from '../../protocols/offer/index.ts';
import { LOCK_SHARED_VBYTES } from '../../protocols/order/constants.ts';
import { OrderProtocol, type OrderTimeouts } from '../../protocols/order/order.ts';
import {
  type RolloverPause,
  RolloverProtocol,
  RolloverScheduler,
  type RolloverTerms,
  type RolloverTimeouts,
} from '../../protocols/rollover/index.ts';
import { AppService } from '../app/service.ts';
import { broadcast } from '../chain/broadcast.ts';
import { FeeEstimator } from '../chain/fee-estimator.ts';
import type { ChainMonitor } from '../chain/monitor.ts';
import { BitcoinRpc } from '../chain/rpc.ts';
import { OracleClient } from '../oracle/client.ts';
import { loadOrCreateIdentity } from '../p2p/identity.ts';
import { createP2pNode, type P2pNode } from '../p2p/node.ts';
import { PriceFeedClient } from '../pricefeed/client.ts';
import { secureDataDir } from '../runtime/datadir.ts';
import { DisconnectedError } from '../runtime/errors.ts';
import { HealthRegistry } from '../runtime/health.ts';
import { Supervisor } from '../runtime/supervisor.ts';
import { CoinPool } from '../wallet/coin-pool.ts';
import type { CoinPoolTarget, Wallet } from '../wallet/wallet.ts';
import { ChainWiring } from './chain-wiring.ts';
import type { DaemonConfig } from './config.ts';
import { FeeBumper } from './fee-bumper.ts';
import { type MakerPolicy, MakerPolicyStore, policyFromConfig } from './maker-policy.ts';
import { ProcessManager } from './process-manager.ts';
import { announcements, failPoints, orderWallet } from './protocol-ports.ts';
import { limitsFromConfig, TakerLimitsStore, toTakerLimits } from './taker-limits.ts';

/** Names under which subsystems report health. Peers report as `peer:<peer id>`. */
export const HEALTH = {
  database: 'database',
  chain: 'chain',
  wallet: 'wallet',
  monitor: 'chain-monitor',
  oracle: 'oracle',
  pricefeed: 'pricefeed',
  p2p: 'p2p',
  offers: 'offers',
  /** The process manager's per-CFD handling: degraded while some CFD's handling fails. */
  cfds: 'cfds',
  /** The fee market as the node reads it: the rate it pays now and where it came from. */
  fees: 'fees',
} as const;

/** How often the maker re-publishes its offers even when the price has not moved: well inside
 * the taker's 10-minute staleness bound (ItchySats' automation re-put offers every 5 minutes). */
export const OFFER_REFRESH_MS = 60_000;
/** A maker connection that survives this long counts as up; one closed sooner was refused. */
export const CONNECTION_SETTLE_MS = 500;
/** Smallest pause between two offer publications while the feed ticks. */
export const OFFER_MIN_INTERVAL_MS = 1_000;

/** A stop step slower than this is logged with its name (a hung stop shows where it hangs). */
const SLOW_STOP_STEP_MS = 2_000;

export interface DaemonOptions {
  readonly logger?: Logger;
  /** Unix ms; injectable for tests. */
  readonly clock?: () => number;
  /**
   * Read and write timeouts of the CFD protocols (defaults: each protocol's constants.ts). Tests
   * shorten them to see a silent peer time out in seconds, not minutes.
   */
  readonly protocolTimeouts?: {
    readonly order?: Partial<OrderTimeouts>;
    readonly rollover?: Partial<RolloverTimeouts>;
    readonly settlement?: Partial<CollabSettlementTimeouts>;
  };
}

export class Daemon {
  readonly config: DaemonConfig;
  readonly health: HealthRegistry;
  readonly log: Logger;
  readonly store: EventStore;
  readonly cfds: CfdRepository;
  readonly readModel: CfdReadModel;
  readonly p2p: P2pNode;
  readonly offers: OfferProtocol;
  readonly feed: PriceFeedClient;
  readonly rpc: BitcoinRpc | undefined;
  readonly oracle: OracleClient | undefined;
  /** Signed-contract records, written before the events that refer to them. */
  readonly contracts: LevelContractStore;
  readonly processManager: ProcessManager;
  /** `/dlcfd/order/1.0.0`: the taker places orders, the maker decides and sets contracts up. */
  readonly orders: OrderProtocol;
  /** `/dlcfd/collab-settlement/1.0.0`: the taker proposes, the maker decides, both sign. */
  readonly settlements: CollabSettlementTaker | CollabSettlementMaker;
  /** `/dlcfd/rollover/1.0.0`: the taker rolls over on its cadence, the maker answers with rates. */
  readonly rollovers: RolloverProtocol;
  /** Signs and verifies whole CET sets over all cores; one per node. */
  readonly pool: AdaptorWorkerPool;
  /** Maker: the live policy (offers, spread, rates, auto-accept); undefined on a taker. */
  readonly policy: MakerPolicyStore | undefined;
  /** Taker: its live limits (funding, opening fee, fee rate); undefined on a maker. */
  readonly limits: TakerLimitsStore | undefined;
  /** Fee rates from the chain backend (refreshed on every block), bounded by `config.fees`. */
  readonly fees: FeeEstimator;
  /** Raises the fees of what this node needs confirmed, block by block (fee-bumper.ts). */
  readonly bumper: FeeBumper;
  /** What the HTTP API and the live feed ask of this node (node/app/service.ts). */
  readonly app: AppService;
  #scheduler: RolloverScheduler | undefined;
  readonly #pauseListeners = new Set<(cfdId: string, pause: RolloverPause | undefined) => void>();
  #wallet: Wallet | undefined;
  /** Maker: keeps the wallet split into coins for concurrent setups (once the wallet is open). */
  #coinPool: CoinPool | undefined;
  #monitor: ChainMonitor | undefined;
  readonly #supervisors: Supervisor[] = [];
  readonly #stops: (() => Promise<void> | void)[] = [];
  readonly #clock: () => number;
  #blocked = new Set<string>();

  private constructor(
    config: DaemonConfig,
    parts: {
      health: HealthRegistry;
      log: Logger;
      store: EventStore;
      readModel: CfdReadModel;
      p2p: P2pNode;
      rpc: BitcoinRpc | undefined;
      clock: () => number;
      policy: MakerPolicyStore | undefined;
      limits: TakerLimitsStore | undefined;
      timeouts: DaemonOptions['protocolTimeouts'];
    },
  ) {
    this.config = config;
    this.policy = parts.policy;
    this.limits = parts.limits;
    this.health = parts.health;
    this.log = parts.log;
    this.store = parts.store;
    this.readModel = parts.readModel;
    this.cfds = new CfdRepository(parts.store, () => Math.floor(parts.clock() / 1000));
    this.p2p = parts.p2p;
    this.rpc = parts.rpc;
    this.#clock = parts.clock;
    this.fees = new FeeEstimator({
      rpc: () => this.rpc,
      target: config.fees.confTarget,
      maxRate: BigInt(config.fees.maxFeeRate),
      fallbackRate: BigInt(config.fees.fallbackFeeRate),
      clock: parts.clock,
      logger: parts.log.child({ component: 'fees' }),
    });
    this.contracts = new LevelContractStore(parts.store);
    this.offers = new OfferProtocol(parts.p2p, { role: config.role, logger: parts.log });
    this.feed = new PriceFeedClient({
      network: config.network,
      ...(config.pricefeed.url ? { url: config.pricefeed.url } : {}),
      staleAfterMs: config.pricefeed.maxQuoteAgeSecs * 1000,
      health: parts.health.reporter(HEALTH.pricefeed),
      logger: parts.log.child({ component: 'pricefeed' }),
    });
    this.oracle = config.oracle
      ? new OracleClient({
          url: config.oracle.url,
          publicKey: config.oracle.publicKey,
          ...(config.oracle.announcementKey
            ? { announcementPublicKey: config.oracle.announcementKey }
            : {}),
          health: parts.health.reporter(HEALTH.oracle),
          datadir: config.datadir,
          logger: parts.log.child({ component: 'oracle' }),
        })
      : undefined;
    this.pool = new AdaptorWorkerPool();
    this.orders = new OrderProtocol(parts.p2p, {
      role: config.role,
      repository: this.cfds,
      contracts: this.contracts,
      // A maker funds through its coin pool (split first when short); a taker from its coins.
      wallet: orderWallet(
        () => this.#wallet,
        () => this.#coinPool,
      ),
      oracle: announcements(() => this.oracle),
      instrument: failPoints,
      chain: {
        // The counterparty's lock inputs, checked before we sign the lock.
        getTxOut: (...a) => {
          if (!this.rpc) throw new DisconnectedError('chain backend (none configured)');
          return this.rpc.getTxOut(...a);
        },
      },
      pool: this.pool,
      offers: () => this.offers.published,
      ...(config.role === 'maker'
        ? {
            policy: () =>
              this.#makerPolicy().autoAccept ? { accept: true as const } : ('manual' as const),
          }
        : { limits: () => this.#takerLimits() }),
      timelocks: { cet: config.time.cetTimelockBlocks, refund: config.time.refundTimelockBlocks },
      orderPolicy: {
        maxOfferAgeSecs: config.time.offerMaxAgeSecs,
        // The offer's event is the first a settlement interval after it was made: up to one event
        // spacing later, or up to the offer's age earlier.
        eventWindowSecs: Math.max(config.time.oracleEventIntervalSecs, config.time.offerMaxAgeSecs),
        maxClockSkewSecs: 60,
      },
      clock: () => Math.floor(parts.clock() / 1000),
      logger: parts.log.child({ component: 'order' }),
      admission: {
        setupsPerPeer: config.admission.setupsPerPeer,
        setupsTotal: config.admission.setupsTotal,
        decisionsPerPeer: config.admission.decisionsPerPeer,
        decisionsTotal: config.admission.decisionsTotal,
      },
      ...(parts.timeouts?.order ? { timeouts: parts.timeouts.order } : {}),
    });
    this.rollovers = new RolloverProtocol(parts.p2p, {
      role: config.role,
      repository: this.cfds,
      contracts: this.contracts,
      oracle: announcements(() => this.oracle),
      instrument: failPoints,
      pool: this.pool,
      ...(config.role === 'maker'
        ? {
            policy: () => {
              const p = this.#makerPolicy();
              return {
                accept: true as const,
                fundingRate: parseFundingRate(p.fundingRate),
                fundingRateAsOf: Math.floor(parts.clock() / 1000),
                feeRate: this.#makerFeeRate(p),
              };
            },
          }
        : {
            limits: () => {
              const l = this.#takerLimits();
              return {
                maxFundingRate: l.maxFundingRate,
                maxFeeRate: l.maxTxFeeRate,
                ...(l.minTxFeeRate !== undefined && { minFeeRate: l.minTxFeeRate }),
              };
            },
          }),
      config: {
        eventSpacingSecs: config.time.oracleEventIntervalSecs,
        // One liquidation event per oracle event before the settlement event (24 hourly ones in
        // production), none of them earlier than now.
        liquidationEventCount: Math.min(
          24,
          Math.floor(config.time.settlementIntervalSecs / config.time.oracleEventIntervalSecs),
        ),
      },
      clock: () => Math.floor(parts.clock() / 1000),
      logger: parts.log.child({ component: 'rollover' }),
      ...(parts.timeouts?.rollover ? { timeouts: parts.timeouts.rollover } : {}),
    });
    const settlementInit = {
      repository: this.cfds,
      context: (id: string) => this.#closeContext(id),
      quote: () => {
        const q = this.feed.latest();
        return q && !q.stale ? { bid: q.bid, ask: q.ask } : undefined;
      },
      // No publisher: the process manager publishes the recorded close and rebroadcasts it.
      logger: parts.log.child({ component: 'collab-settlement' }),
      ...(parts.timeouts?.settlement ? { timeouts: parts.timeouts.settlement } : {}),
      signedCloseWindowMs: config.time.signedCloseWindowSecs * 1000,
      clock: parts.clock,
    };
    this.settlements =
      config.role === 'maker'
        ? new CollabSettlementMaker(parts.p2p, {
            ...settlementInit,
            policy: () => (this.#makerPolicy().autoAccept ? 'accept' : 'manual'),
          })
        : new CollabSettlementTaker(parts.p2p, settlementInit);
    this.orders.onOutcome(({ orderId, outcome }) => {
      if (outcome.type === 'failed' && outcome.lockMayBroadcast) {
        // The peer may hold our lock signature: watch for the lock instead of forgetting the CFD.
        this.processManager.watchUnfinishedSetup(orderId);
        return;
      }
      if (outcome.type !== 'completed') return;
      // The process manager broadcasts the lock; the wallet counts its coins spent from now on.
      void (async () => {
        await this.#wallet?.recordOwnTransaction(outcome.lockTx.toHex());
        this.#wallet?.release(outcome.reservationId);
      })().catch((err: unknown) =>
        this.log.warn({ err }, 'could not record the lock in the wallet'),
      );
    });
    this.processManager = new ProcessManager({
      cfds: this.cfds,
      readModel: parts.readModel,
      contracts: this.contracts,
      monitor: () => this.#monitor,
      oracle: this.oracle,
      rpc: () => this.rpc,
      wallet: () => this.#wallet,
      adoptTimeoutMs: config.time.setupAdoptTimeoutSecs * 1000,
      lockConfirmTimeoutMs: config.time.lockConfirmTimeoutSecs * 1000,
      clock: parts.clock,
      bumper: () => this.bumper,
      payoutInput: (txid, vout, value, script) =>
        this.#wallet?.ownOutputInput(txid, vout, value, script),
      // A punish races the cheater's CET lock: start at the next-block estimate.
      punishFeeRate: () => {
        const r = this.fees.estimateFor(1);
        // biome-ignore lint/complexity/useMathMinMax: bigints (Math.min/max take numbers)
        return r < this.fees.cap ? r : this.fees.cap;
      },
      punishMaxFee: BigInt(config.fees.bumpBudgetSats),
      logger: parts.log,
    });
    this.bumper = new FeeBumper({
      rpc: () => this.rpc,
      wallet: () => this.#wallet,
      fees: this.fees,
      budgetSats: BigInt(config.fees.bumpBudgetSats),
      confirmWithin: config.fees.confirmWithinBlocks,
      onReplaced: (target, replaced, tx) =>
        this.processManager.onPunishReplaced(target.cfdId, replaced, tx),
      logger: parts.log.child({ component: 'fee-bumper' }),
    });
    this.app = new AppService(this, parts.clock);
  }

  /** Starts a node. Resolves once everything is started (not necessarily healthy). */
  static async start(config: DaemonConfig, options: DaemonOptions = {}): Promise<Daemon> {
    const log = options.logger ?? pino({ level: config.logLevel });
    const clock = options.clock ?? Date.now;
    // Before anything is created (LevelDB makes `events/` with the process umask): umask 077,
    // the data directory 0700, and a refusal if anything in it is open to group or other.
    await secureDataDir(config.datadir, {
      allowInsecure: config.allowInsecureDatadir,
      logger: log,
    });
    const health = new HealthRegistry(clock);
    health.register(HEALTH.database);
    const store = await EventStore.open(join(config.datadir, 'events'), {
      logger: log.child({ component: 'eventstore' }),
    });
    const readModel = await CfdReadModel.open(store, {
      logger: log.child({ component: 'read-model' }),
    });
    health.report(HEALTH.database, { status: 'ok', detail: `${store.head} events` });

    const blocked = new Set(config.p2p.blocked);
    const p2p = await createP2pNode({
      privateKey: await loadOrCreateIdentity(config.datadir),
      listen: config.p2p.listen,
      muxer: config.p2p.muxer,
      blocked,
      connections: {
        maxConnections: config.admission.maxConnections,
        maxIncomingPendingConnections: config.admission.maxPendingConnections,
        inboundConnectionThreshold: config.admission.connectionsPerHostPerSecond,
      },
    });
    health.report(HEALTH.p2p, {
      status: 'ok',
      detail: config.role === 'maker' ? p2p.getMultiaddrs().map(String).join(' ') : 'dialing',
    });

    const rpc = config.chain
      ? new BitcoinRpc({
          url: config.chain.url,
          ...(config.chain.user ? { user: config.chain.user } : {}),
          ...(config.chain.password ? { password: config.chain.password } : {}),
          ...(config.chain.cookieFile ? { cookieFile: config.chain.cookieFile } : {}),
          logger: log.child({ component: 'chain' }),
        })
      : undefined;
    const policy =
      config.role === 'maker'
        ? await MakerPolicyStore.open({
            datadir: config.datadir,
            defaults: config.maker,
            logger: log.child({ component: 'maker-policy' }),
          })
        : undefined;
    const limits =
      config.role === 'taker'
        ? await TakerLimitsStore.open({
            datadir: config.datadir,
            defaults: config.taker,
            logger: log.child({ component: 'taker-limits' }),
          })
        : undefined;
    const daemon = new Daemon(config, {
      health,
      log,
      store,
      readModel,
      p2p,
      rpc,
      clock,
      policy,
      limits,
      timeouts: options.protocolTimeouts,
    });
    daemon.#blocked = blocked;
    await daemon.#startSubsystems();
    log.info({ role: config.role, peerId: p2p.peerId.toString() }, 'node started');
    return daemon;
  }

  /** Refuses `peerId` from now on (until restart; `--block` makes it permanent) and hangs up. */
  async blockPeer(peerId: string): Promise<void> {
    this.#blocked.add(peerId);
    await this.p2p.hangUp(peerIdFromString(peerId)).catch(() => undefined);
    this.log.warn({ peer: peerId }, 'peer blocked');
  }

  /** Peers this node refuses. */
  get blockedPeers(): string[] {
    return [...this.#blocked];
  }

  /** The maker's policy now: the live one, or (a taker asking) the config's. */
  #makerPolicy(): MakerPolicy {
    return this.policy?.current ?? policyFromConfig(this.config.maker);
  }

  /**
   * The taker's limits now: the live ones, or (no store) the config's; with the chain's mempool
   * minimum as the lowest fee rate, once the chain answered.
   */
  #takerLimits(): TakerLimits {
    const l = this.limits?.limits ?? toTakerLimits(limitsFromConfig(this.config.taker));
    const reading = this.fees.current();
    return reading ? { ...l, minTxFeeRate: reading.floor } : l;
  }

  /**
   * Maker: the fee rate of its offers and rollovers — the chain's estimate (floored at its
   * mempool minimum, capped at `fees.maxFeeRate`), never below the policy's `txFeeRate`.
   */
  #makerFeeRate(policy: MakerPolicy = this.#makerPolicy()): bigint {
    const floor = BigInt(policy.txFeeRate);
    const estimate = this.fees.rate();
    return estimate > floor ? estimate : floor;
  }

  /** Taker: why auto-rollover of `cfdId` is paused (its maker's terms outside the limits). */
  rolloverPause(cfdId: string): RolloverPause | undefined {
    return this.#scheduler?.paused(cfdId);
  }

  /** Taker: calls `listener` when a CFD's auto-rollover pauses or resumes. */
  onRolloverPause(listener: (cfdId: string, pause: RolloverPause | undefined) => void): () => void {
    this.#pauseListeners.add(listener);
    return () => this.#pauseListeners.delete(listener);
  }

  /** What the maker of `cfd` publishes now as its rates (its offers carry them). */
  #makerTerms(cfd: Cfd): RolloverTerms | undefined {
    const now = Math.floor(this.#clock() / 1000);
    const offer = this.offers.book
      .current(now, { maxOfferAgeSecs: this.config.time.offerMaxAgeSecs })
      .find((o) => o.maker === cfd.terms?.counterpartyPeerId)?.offer;
    return offer && { fundingRate: offer.fundingRate, feeRate: offer.txFeeRate };
  }

  /** The wallet, once the chain answered for the first time (it needs the chain's height). */
  get wallet(): Wallet | undefined {
    return this.#wallet;
  }

  get monitor(): ChainMonitor | undefined {
    return this.#monitor;
  }

  get peerId(): string {
    return this.p2p.peerId.toString();
  }

  /** What settling a CFD collaboratively needs: the signed contract plus the CFD's terms now. */
  async #closeContext(cfdId: string): Promise<CloseContext | undefined> {
    const [record, cfd] = [await this.contracts.get(cfdId), await this.readModel.get(cfdId)];
    if (!record || !cfd) return undefined;
    const keys = commitKeysFromRecord(record.keys);
    return {
      ...closeTermsOf(cfd),
      lock: lockOutput(record),
      identities: { maker: keys.maker.identity, taker: keys.taker.identity },
      ownIdentitySecret: fromHex(record.identitySk, 'identity secret'),
      payoutScripts: payoutScriptsOf(record),
      // The taker proposes the estimate's rate; the maker signs anything from its mempool
      // minimum to its cap (it pays half).
      closeFeeRate: this.fees.rate(),
      closeFeeRateBounds: { min: this.fees.floor(), max: this.fees.cap },
    };
  }

  /**
   * Maker: the coin pool wanted now — `coinPool.count` coins of `coinPool.valueSats`, or of the
   * maker's margin at the largest quantity of its published offers plus its lock fee share.
   * Undefined (no split) while nothing is offered and no value is configured.
   */
  #coinPoolTarget(): CoinPoolTarget | undefined {
    const { count, valueSats } = this.config.coinPool;
    if (valueSats !== undefined) return { count, value: BigInt(valueSats) };
    let value = 0n;
    for (const o of this.offers.published) {
      // The lock's shared part, one input and one change output at the offer's fee rate.
      const fees = BigInt(LOCK_SHARED_VBYTES + 68 + 31) * o.txFeeRate;
      for (const takerLeverage of o.leverageChoices) {
        const { maker } = margins({
          makerPosition: o.makerPosition,
          price: o.price,
          quantity: o.maxQuantity,
          takerLeverage,
        });
        if (maker + fees > value) value = maker + fees;
      }
    }
    return value > 0n ? { count, value } : undefined;
  }

  #stopping: Promise<void> | undefined;

  /** Stops everything, in reverse order of start. Idempotent. */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    // Each step timed: a slow stop names the part that held it up.
    const step = async (name: string, run: () => Promise<unknown> | unknown): Promise<void> => {
      const started = Date.now();
      await run();
      const ms = Date.now() - started;
      if (ms > SLOW_STOP_STEP_MS) this.log.warn({ step: name, ms }, 'slow stop step');
    };
    for (const s of [...this.#supervisors].reverse())
      await step(`supervisor ${s.name}`, () => s.stop());
    const stops = [...this.#stops].reverse();
    // Named by start order: part 0 is the first subsystem started (the offers).
    for (const [i, stop] of stops.entries()) await step(`part ${stops.length - 1 - i}`, stop);
    await step('read model', () => this.readModel.close());
    await step('libp2p', () => this.p2p.stop());
    await step('event store', () => this.store.close());
  }

  async #startSubsystems(): Promise<void> {
    const { config, health } = this;
    await this.offers.start();
    this.#stops.push(() => this.offers.stop());
    this.#reportCfdProblems();
    await this.processManager.start();
    this.#stops.push(() => this.processManager.stop());
    if (this.settlements instanceof CollabSettlementMaker) {
      const maker = this.settlements;
      await maker.start();
      this.#stops.push(() => maker.stop());
    }
    await this.rollovers.start();
    this.#stops.push(() => this.rollovers.stop());
    if (config.role === 'taker') {
      const scheduler = new RolloverScheduler({
        cfds: async () => this.readModel.openCfds(),
        rollover: (cfd) =>
          this.rollovers.rollover(peerIdFromString(cfd.terms!.counterpartyPeerId), cfd.terms!.id),
        limits: () => {
          const l = this.#takerLimits();
          return {
            version: this.limits?.version ?? 0,
            maxFundingRate: l.maxFundingRate,
            maxFeeRate: l.maxTxFeeRate,
          };
        },
        makerTerms: (cfd) => this.#makerTerms(cfd),
        onPause: (cfdId, pause) => {
          for (const l of this.#pauseListeners) {
            try {
              l(cfdId, pause);
            } catch (err) {
              this.log.warn({ err }, 'rollover pause listener failed');
            }
          }
        },
        rolloverIntervalSecs: config.time.rolloverIntervalSecs,
        // Look four times per rollover interval, at most once a minute apart.
        tickMs: Math.min(60_000, (config.time.rolloverIntervalSecs * 1000) / 4),
        clock: () => Math.floor(this.#clock() / 1000),
        logger: this.log.child({ component: 'rollover-scheduler' }),
      });
      scheduler.start();
      this.#scheduler = scheduler;
      // New limits: a paused CFD may roll over now, not at the next tick.
      const unsubscribe = this.limits?.onChange(() => void scheduler.tick());
      this.#stops.push(() => {
        unsubscribe?.();
        scheduler.stop();
      });
    }
    await this.orders.start();
    this.#stops.push(async () => {
      await this.orders.stop();
      await this.pool.close();
    });

    // Price feed: its client reconnects on its own and pushes its health.
    this.feed.start();
    this.#stops.push(() => this.feed.stop());

    if (this.oracle) {
      this.oracle.start();
      this.#stops.push(() => this.oracle?.stop());
    } else {
      health.report(HEALTH.oracle, { status: 'down', detail: 'no oracle configured (--oracle)' });
    }

    if (this.rpc) this.#superviseChain(this.rpc);
    else {
      for (const name of [HEALTH.chain, HEALTH.wallet, HEALTH.monitor]) {
        health.report(name, {
          status: 'down',
          detail: 'no chain backend configured (--chain-rpc)',
        });
      }
    }

    if (config.role === 'maker') this.#superviseOffers();
    else for (const addr of config.p2p.makers) this.#superviseMakerConnection(addr);
  }

  /** Health `cfds`: how many CFDs' handling is failing, which, and the last error. */
  #reportCfdProblems(): void {
    const { health } = this;
    const problems = this.processManager.problems;
    health.report(HEALTH.cfds, { status: 'ok', detail: 'no CFD failing' });
    const unsubscribe = problems.onChange((cfdId) => {
      const all = problems.all();
      const failing = [...all].map(([id, p]) => `${id} (${p.during}: ${p.reason})`);
      const now = problems.get(cfdId);
      health.report(HEALTH.cfds, {
        status: all.size === 0 ? 'ok' : 'degraded',
        ...(now && { error: new Error(`${cfdId}: ${now.reason}`) }),
        detail:
          all.size === 0
            ? 'no CFD failing'
            : `${all.size} CFD${all.size === 1 ? '' : 's'} failing, retried: ${failing.join('; ')}`,
      });
    });
    this.#stops.push(unsubscribe);
  }

  /** Chain reachability, then the wallet and the monitor once it answers; a sync per block. */
  #superviseChain(rpc: BitcoinRpc): void {
    const { config } = this;
    const wiring = new ChainWiring({
      rpc,
      health: this.health,
      names: { chain: HEALTH.chain, wallet: HEALTH.wallet, monitor: HEALTH.monitor },
      pollMs: config.time.chainPollMs,
      network: config.network,
      walletDir: join(config.datadir, 'wallet'),
      monitorDir: join(config.datadir, 'monitor'),
      log: this.log,
      onReport: (report) => this.processManager.onReport(report),
      walletOpened: (wallet, signal) => {
        this.#wallet = wallet;
        if (config.role === 'maker' && config.coinPool.count > 0) {
          this.#coinPool = new CoinPool({
            wallet,
            broadcast: async (hex) => {
              await broadcast(rpc, hex, { signal });
            },
            target: () => this.#coinPoolTarget(),
            feeRate: () => this.#makerFeeRate(),
            logger: this.log.child({ component: 'coin-pool' }),
          });
        }
      },
      monitorStarted: async (monitor) => {
        this.#monitor = monitor;
        // What needed the chain while it was away (a restart resumes every CFD here).
        await this.processManager.reconcileAll();
      },
      onBlock: async (height, signal) => {
        await this.#refreshFees(signal);
        // After the monitor's reports for this block: what confirmed is no longer bumped.
        await this.bumper.onBlock(height);
        this.#reportBumps();
        // A confirmed lock's change (or a deposit) may be split now; not awaited: it broadcasts.
        void this.#coinPool?.ensure();
      },
      onStop: (stop) => this.#stops.push(stop),
    });
    this.#supervisors.push(wiring.supervisor);
    wiring.start();
  }

  /**
   * Raises the fee of `cfdId`'s unconfirmed transactions now, aiming at the next block (the UI's
   * "bump now"), within the budget. Resolves with their state after the attempt.
   */
  async bumpNow(cfdId: string): Promise<ReturnType<FeeBumper['status']>> {
    const rpc = this.rpc;
    if (!rpc) throw new DisconnectedError('chain backend (none configured)');
    await this.#refreshFees(AbortSignal.timeout(10_000));
    await this.bumper.onBlock(await rpc.getBlockCount(), { cfdId, urgent: true });
    this.#reportBumps();
    return this.bumper.status(cfdId);
  }

  /** Health `fees` also says what is being bumped, and which bump the budget or cap holds back. */
  #reportBumps(): void {
    const pending = this.bumper.pending();
    if (pending.length === 0) return;
    const capped = pending.filter((p) => p.capped);
    const current = this.health.snapshot().find((c) => c.name === HEALTH.fees);
    const base = current?.detail?.split(' | ')[0] ?? '';
    this.health.report(HEALTH.fees, {
      ...(capped.length > 0 && { status: 'degraded' }),
      detail:
        `${base} | bumping ${pending.map((p) => `${p.kind} of ${p.cfdId} at ${p.rate} sat/vB (deadline ${p.deadlineHeight})`).join(', ')}` +
        (capped.length > 0
          ? `; held back by the budget or cap: ${capped.map((p) => p.kind).join(', ')}`
          : ''),
    });
  }

  /** Reads the fee market (every block) and reports it as health `fees`; never throws. */
  async #refreshFees(signal: AbortSignal): Promise<void> {
    try {
      const r = await this.fees.refresh({ signal });
      const estimate = r.estimate !== undefined ? `estimate ${r.estimate}` : 'no estimate';
      this.health.report(HEALTH.fees, {
        status: r.floorAboveCap ? 'degraded' : 'ok',
        detail:
          `${r.rate} sat/vB from ${r.source} (target ${r.target} blocks: ${estimate}; mempool ` +
          `minimum ${r.floor}, cap ${r.cap})` +
          (r.floorAboveCap
            ? ': the mempool minimum is above the cap, transactions may not relay'
            : ''),
      });
    } catch (err) {
      if (signal.aborted) return;
      this.health.report(HEALTH.fees, {
        status: 'degraded',
        error: err,
        detail: `cannot read fee rates; using ${this.fees.rate()} sat/vB`,
      });
    }
  }

  /**
   * Maker: offers follow the feed with a spread, republished on change and periodically, and at
   * once when the policy changes (it wakes the loop); withdrawn while the policy says so.
   */
  #superviseOffers(): void {
    const { health } = this;
    const sup = new Supervisor({
      name: HEALTH.offers,
      health,
      logger: this.log,
      run: async ({ signal, ready, degraded }) => {
        let lastKey = '';
        let lastAt = 0;
        let wake = new AbortController();
        const unsubscribe = this.policy?.onChange(() => wake.abort());
        try {
          while (!signal.aborted) {
            const quote = this.feed.latest();
            const version = this.policy?.version ?? 0;
            if (!this.#makerPolicy().publishing) {
              if (lastKey !== 'withdrawn') {
                await this.offers.publish([], { signal });
                ready();
                health.report(HEALTH.offers, {
                  detail: 'withdrawn by the maker (publishing: false)',
                });
              }
              lastKey = 'withdrawn';
            } else if (!quote || quote.stale) {
              if (lastKey !== 'none') {
                degraded('no fresh quote from the price feed: no offers published');
                await this.offers.publish([], { signal });
              }
              lastKey = 'none';
            } else {
              const offers = this.makerOffers(quote.bid, quote.ask);
              const key = `${version}:${offers.map((o) => `${o.price}@${o.txFeeRate}`).join()}`;
              const now = this.#clock();
              if (key !== lastKey || now - lastAt >= OFFER_REFRESH_MS) {
                await this.offers.publish(offers, { signal });
                lastKey = key;
                lastAt = now;
              }
              // Only on a change: every report reaches each live-feed client as a health event.
              const h = health.get(HEALTH.offers);
              if (h?.status !== 'ok' || h.detail !== undefined) ready();
            }
            await sleep(OFFER_MIN_INTERVAL_MS, AbortSignal.any([signal, wake.signal]));
            if (wake.signal.aborted) wake = new AbortController();
          }
        } finally {
          unsubscribe?.();
        }
      },
    });
    this.#supervisors.push(sup);
    sup.start();
  }

  /**
   * The maker's current offers for a quote: a short at the ask plus the spread and a long at the
   * bid minus the spread, settling on the first oracle event one settlement interval ahead.
   */
  makerOffers(bid: Price, ask: Price): Offer[] {
    const m = this.#makerPolicy();
    const t = this.config.time;
    const now = Math.floor(this.#clock() / 1000);
    const event = oracleEventId(
      nextEventTime(now + t.settlementIntervalSecs, t.oracleEventIntervalSecs),
    );
    const spread = BigInt(m.spreadBps);
    const base = {
      symbol: 'BTCUSD' as const,
      minQuantity: BigInt(m.minQuantity),
      maxQuantity: BigInt(m.maxQuantity),
      lotSize: BigInt(m.lotSize),
      leverageChoices: m.leverageChoices,
      fundingRate: parseFundingRate(m.fundingRate),
      openingFee: BigInt(m.openingFee),
      txFeeRate: this.#makerFeeRate(m),
      settlementIntervalSecs: t.settlementIntervalSecs,
      oracleEventId: event,
      createdAt: now,
    };
    const up = asPrice(divRound(ask * (10_000n + spread), 10_000n, 'ceil'));
    const down = asPrice(divRound(bid * (10_000n - spread), 10_000n, 'floor'));
    return [
      { ...base, id: `short-${now}`, makerPosition: 'short', price: up },
      { ...base, id: `long-${now}`, makerPosition: 'long', price: down },
    ];
  }

  /** Taker: keeps a connection to one maker, redialling with backoff; health per maker. */
  #superviseMakerConnection(address: string): void {
    const addr = multiaddr(address);
    const peer = address.slice(address.lastIndexOf('/p2p/') + 5);
    const name = `peer:${peer}`;
    const sup = new Supervisor({
      name,
      health: this.health,
      logger: this.log,
      maxBackoffMs: 10_000,
      run: async ({ signal, ready }) => {
        const connection = await this.p2p.dial(addr, { signal });
        // Ends when the connection closes: the supervisor then redials with backoff.
        let closed = false;
        const ended = new Promise<void>((resolve) => {
          const done = (): void => {
            closed = true;
            this.p2p.removeEventListener('peer:disconnect', onDisconnect);
            signal.removeEventListener('abort', done);
            resolve();
          };
          const onDisconnect = (evt: CustomEvent<{ toString(): string }>): void => {
            if (evt.detail.toString() === peer) done();
          };
          this.p2p.addEventListener('peer:disconnect', onDisconnect);
          signal.addEventListener('abort', done);
        });
        // A maker that hangs up at once (it blocked us, or is shutting down) is not connected.
        await Promise.race([ended, sleep(CONNECTION_SETTLE_MS, signal)]);
        if (closed && !signal.aborted) throw new Error('the maker hung up at once (blocked?)');
        if (!signal.aborted) {
          ready();
          this.health.report(name, { detail: String(connection.remoteAddr) });
        }
        await ended;
        if (!signal.aborted) throw new Error('connection to the maker closed');
      },
    });
    this.#supervisors.push(sup);
    sup.start();
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done);
  });
}
