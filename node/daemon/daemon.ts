// One thing over 600 lines: the composition root — it builds every part, hands each its ports, and starts and stops them in order; what parts do lives in their own files (market.ts, chain-wiring.ts, health-reports.ts, protocol-ports.ts, process-manager.ts).
/**
 * A taker or maker node: every subsystem started under supervision, each reporting to one health
 * registry. Starting never fails because a subsystem is down — no chain, no oracle, no feed, no
 * maker: the node comes up degraded, says so in health, and heals when the service returns. Only
 * what the node cannot run without at all (its data dir, its database) stops start-up.
 */

import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import type { PrivateKey } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import { type Logger, pino } from 'pino';
import { commitKeysFromRecord, fromHex, lockOutput, payoutScriptsOf } from '../../dlc/contract.ts';
import { AdaptorWorkerPool } from '../../dlc/workers.ts';
import { CfdReadModel } from '../../eventstore/cfd-read-model.ts';
import { CfdRepository } from '../../eventstore/cfd-repository.ts';
import { LevelContractStore } from '../../eventstore/contract-store.ts';
import { EventStore } from '../../eventstore/event-store.ts';
import type { Cfd } from '../../model/cfd.ts';
import type { TakerLimits } from '../../model/limits.ts';
import { DEFAULT_MAX_CLOCK_SKEW_SECS, type Offer } from '../../model/offer.ts';
import { product } from '../../model/product.ts';
import { type ContractSymbol, type Price, parseFundingRate } from '../../model/units.ts';
import type { CollabSettlementTimeouts } from '../../protocols/collab-settlement/handler.ts';
import {
  type CloseContext,
  CollabSettlementMaker,
  CollabSettlementTaker,
  closeTermsOf,
} from '../../protocols/collab-settlement/index.ts';
import { EnvelopeSequence, OfferProtocol } from '../../protocols/offer/index.ts';
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
import { offerSequenceFile } from '../p2p/offer-sequence.ts';
import { PriceFeedClient } from '../pricefeed/client.ts';
import { secureDataDir } from '../runtime/datadir.ts';
import { DisconnectedError } from '../runtime/errors.ts';
import { HealthRegistry } from '../runtime/health.ts';
import type { Supervisor } from '../runtime/supervisor.ts';
import { CoinPool } from '../wallet/coin-pool.ts';
import type { Wallet } from '../wallet/wallet.ts';
import { logChainMilestones } from './chain-log.ts';
import { ChainWiring } from './chain-wiring.ts';
import type { DaemonConfig } from './config.ts';
import { DiscoveredMakers } from './discovered-makers.ts';
import { FeeBumper } from './fee-bumper.ts';
import { HEALTH } from './health-names.ts';
import { refreshFees, reportBumps, reportCfdProblems } from './health-reports.ts';
import { MakerChoicesStore } from './maker-choices.ts';
import { type MakerPolicy, MakerPolicyStore, policyFromConfig } from './maker-policy.ts';
import { MakerRecords } from './maker-records.ts';
import {
  coinPoolTarget,
  makerOffers,
  peerOfAddress,
  superviseMakerConnection,
  superviseOffers,
} from './market.ts';
import { reportDatabase, reportP2p } from './node-health.ts';
import { ProcessManager } from './process-manager.ts';
import { announcements, failPoints, orderWallet } from './protocol-ports.ts';
import { limitsFromConfig, TakerLimitsStore, toTakerLimits } from './taker-limits.ts';

export { HEALTH } from './health-names.ts';
export { CONNECTION_SETTLE_MS, OFFER_MIN_INTERVAL_MS, OFFER_REFRESH_MS } from './market.ts';

/**
 * Most makers discovered on the gossip a taker keeps connections to (besides configured ones):
 * announcements are signed, but peer ids cost nothing to mint (discovered-makers.ts).
 */
const MAX_MAKER_CONNECTIONS = 64;

/** A stop step slower than this is logged with its name (a hung stop shows where it hangs). */
const SLOW_STOP_STEP_MS = 2_000;

/**
 * Most adaptor signature workers a node runs (fewer on fewer cores). Each is a V8 isolate of
 * ≈ 40 MB resident; one CET set (≈ 1,700 signatures) is cut into chunks, so beyond four threads a
 * setup or rollover gains little while a 16-core machine would hold 16 isolates.
 */
const MAX_ADAPTOR_WORKERS = 4;

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
  /**
   * An adaptor worker pool to use instead of starting one: several nodes in one process (the
   * research scale bench, research/scale/) share one set of worker threads — they share the
   * machine's cores anyway, and each pool is ≈ 40 MB per thread. The node only submits work to
   * it (its keys travel with each job, nothing of the node stays in the pool) and does not close
   * it on stop: whoever made it closes it after the last node using it has stopped.
   */
  readonly pool?: AdaptorWorkerPool;
  /**
   * A chain client to use instead of making one from `config.chain`: several nodes in one
   * process (research/scale/) share one reader of the chain, e.g. a `CachingBitcoinRpc`
   * (node/chain/caching-rpc.ts), so the backend sees one poller per process rather than one per
   * node. Each node still follows the chain with its own follower, wallet and monitor.
   */
  readonly chain?: BitcoinRpc;
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
  /** Signs and verifies whole CET sets over all cores; one per node unless given (`options.pool`). */
  readonly pool: AdaptorWorkerPool;
  /** Whether {@link pool} is this node's own, closed when it stops. */
  readonly #ownPool: boolean;
  /** Maker: the live policy (offers, spread, rates, auto-accept); undefined on a taker. */
  readonly policy: MakerPolicyStore | undefined;
  /** Taker: its live limits (funding, opening fee, fee rate); undefined on a maker. */
  readonly limits: TakerLimitsStore | undefined;
  /** Taker: the makers it blocks or prefers (the order book); undefined on a maker. */
  readonly makerChoices: MakerChoicesStore | undefined;
  /** Taker: each maker's record as this node saw it (the order book); undefined on a maker. */
  readonly makerRecords: MakerRecords | undefined;
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
  /** Peers this node keeps a connection to (configured, bootstrap, discovered makers). */
  readonly #connections = new Set<string>();

  private constructor(
    config: DaemonConfig,
    parts: {
      health: HealthRegistry;
      log: Logger;
      store: EventStore;
      readModel: CfdReadModel;
      p2p: P2pNode;
      privateKey: PrivateKey;
      rpc: BitcoinRpc | undefined;
      clock: () => number;
      policy: MakerPolicyStore | undefined;
      limits: TakerLimitsStore | undefined;
      makerChoices: MakerChoicesStore | undefined;
      timeouts: DaemonOptions['protocolTimeouts'];
      pool: AdaptorWorkerPool | undefined;
    },
  ) {
    this.config = config;
    this.policy = parts.policy;
    this.limits = parts.limits;
    this.makerChoices = parts.makerChoices;
    this.makerRecords = config.role === 'taker' ? new MakerRecords(parts.clock) : undefined;
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
    this.offers = new OfferProtocol(parts.p2p, {
      role: config.role,
      logger: parts.log,
      signer: { peerId: parts.p2p.peerId.toString(), key: parts.privateKey },
      addrs: () => parts.p2p.getMultiaddrs().map(String),
      pubsub: parts.p2p.services.pubsub,
      clock: () => Math.floor(parts.clock() / 1000),
      limits: {
        maxAgeSecs: config.time.offerMaxAgeSecs,
        maxClockSkewSecs: DEFAULT_MAX_CLOCK_SKEW_SECS,
      },
      announceIntervalMs: config.p2p.announceIntervalSecs * 1000,
      // The node's clock, and above every seq announced before a restart (offer-sequence.ts).
      sequence: new EnvelopeSequence({
        clockMs: parts.clock,
        store: offerSequenceFile(config.datadir),
      }),
      makerTimeoutSecs: config.p2p.makerTimeoutSecs,
      keepMaker: (maker) => this.#keepMaker(maker),
    });
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
    this.#ownPool = parts.pool === undefined;
    this.pool =
      parts.pool ??
      new AdaptorWorkerPool({ size: Math.min(availableParallelism(), MAX_ADAPTOR_WORKERS) });
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
      // Any offer published within the offer age stays takeable within the order's slippage.
      recentOffer: (id, now) => this.offers.recent(id, now, config.time.offerMaxAgeSecs),
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
        maxClockSkewSecs: DEFAULT_MAX_CLOCK_SKEW_SECS,
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
      quote: (symbol: ContractSymbol) => {
        const q = this.feed.latest(product(symbol).feedSymbol);
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

    const privateKey = await loadOrCreateIdentity(config.datadir);
    // A taker's blocked makers (through the API) are refused like `--block`ed peers.
    const makerChoices =
      config.role === 'taker'
        ? await MakerChoicesStore.open({
            datadir: config.datadir,
            logger: log.child({ component: 'maker-choices' }),
          })
        : undefined;
    const blocked = new Set([...config.p2p.blocked, ...(makerChoices?.current.blocked ?? [])]);
    const p2p = await createP2pNode({
      privateKey,
      listen: config.p2p.listen,
      muxer: config.p2p.muxer,
      blocked,
      connections: {
        maxConnections: config.admission.maxConnections,
        maxIncomingPendingConnections: config.admission.maxPendingConnections,
        inboundConnectionThreshold: config.admission.connectionsPerHostPerSecond,
      },
    });

    const rpc =
      options.chain ??
      (config.chain
        ? new BitcoinRpc({
            url: config.chain.url,
            ...(config.chain.user ? { user: config.chain.user } : {}),
            ...(config.chain.password ? { password: config.chain.password } : {}),
            ...(config.chain.cookieFile ? { cookieFile: config.chain.cookieFile } : {}),
            logger: log.child({ component: 'chain' }),
          })
        : undefined);
    // The role's settings file in the datadir, with its logger.
    const settings = (component: string) => ({
      datadir: config.datadir,
      logger: log.child({ component }),
    });
    const policy =
      config.role === 'maker'
        ? await MakerPolicyStore.open({ ...settings('maker-policy'), defaults: config.maker })
        : undefined;
    const limits =
      config.role === 'taker'
        ? await TakerLimitsStore.open({ ...settings('taker-limits'), defaults: config.taker })
        : undefined;
    const daemon = new Daemon(config, {
      health,
      log,
      store,
      readModel,
      p2p,
      privateKey,
      rpc,
      clock,
      policy,
      limits,
      makerChoices,
      timeouts: options.protocolTimeouts,
      pool: options.pool,
    });
    daemon.#blocked = blocked;
    const records = daemon.makerRecords;
    if (records) {
      records.start(store, p2p);
      const off = daemon.offers.onOffers((u) => {
        if (!u.gone) records.offered(u.maker);
      });
      daemon.#stops.push(() => {
        off();
        records.stop();
      });
    }
    daemon.#stops.push(
      reportDatabase(store, readModel, health.reporter(HEALTH.database)),
      reportP2p(p2p, config.role, health.reporter(HEALTH.p2p)),
    );
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

  /** Accepts `peerId` again after {@link blockPeer} (a research run's partition ends). */
  unblockPeer(peerId: string): void {
    this.#blocked.delete(peerId);
    this.log.info({ peer: peerId }, 'peer unblocked');
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
    this.#stops.push(reportCfdProblems(this.processManager.problems, this.health));
    // Before the process manager acts, so the milestones it records are all logged.
    const milestones = logChainMilestones(this.store, this.log);
    this.#stops.push(() => milestones.close());
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
        eventSpacingSecs: config.time.oracleEventIntervalSecs,
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
      if (this.#ownPool) await this.pool.close();
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

    // Configured makers and bootstrap peers: a taker trades with the makers among them; a maker
    // joins the offer gossip through its bootstrap peer.
    for (const addr of [...config.p2p.makers, ...config.p2p.bootstrap])
      this.#superviseConnection(peerOfAddress(addr), [addr]);
    if (config.role === 'taker') {
      // A maker heard of on the gossip (its envelope verified) is dialled at its announced addrs,
      // within the bounds of discovered-makers.ts.
      const discovered = new DiscoveredMakers({
        maxConnections: MAX_MAKER_CONNECTIONS,
        connect: (maker, addrs) => {
          this.log.info({ maker, addrs }, 'maker discovered');
          // Its own registry: a stranger's unreachable address must not turn the node down.
          const deps = { p2p: this.p2p, health: new HealthRegistry(), log: this.log };
          const sup = superviseMakerConnection(deps, maker, addrs);
          sup.start();
          return sup;
        },
        keep: (maker) => this.#keepMaker(maker),
        connected: (maker) => this.p2p.getConnections(peerIdFromString(maker)).length > 0,
        clock: this.#clock,
      });
      const offHeard = this.offers.onOffers(({ maker }) => {
        if (this.#connections.has(maker) || maker === this.peerId || this.#blocked.has(maker))
          return;
        discovered.heard(
          maker,
          this.offers.book.makers().find((m) => m.maker === maker)?.addrs ?? [],
        );
      });
      const offGone = this.offers.onMakerGone((maker) => discovered.gone(maker));
      this.#stops.push(async () => {
        offHeard();
        offGone();
        await discovered.stop();
      });
    }
    const markets =
      config.role === 'maker'
        ? [
            superviseOffers({
              health: this.health,
              log: this.log,
              feed: this.feed,
              offers: this.offers,
              policy: this.policy,
              currentPolicy: () => this.#makerPolicy(),
              products: config.maker.products,
              offersFor: (symbol, bid, ask) => this.makerOffers(bid, ask, symbol),
              clock: this.#clock,
            }),
          ]
        : [];
    for (const sup of markets) {
      this.#supervisors.push(sup);
      sup.start();
    }
  }

  /**
   * Makers neither evicted from a full offer book nor released from the discovered connections:
   * configured ones, preferred ones, and those this node placed an order with (their CFDs roll
   * over and close with them).
   */
  #keepMaker(maker: string): boolean {
    return (
      this.#connections.has(maker) ||
      (this.makerChoices?.current.preferred.includes(maker) ?? false) ||
      (this.makerRecords?.traded(maker) ?? false)
    );
  }

  /** Keeps a connection to `peer` (a maker, or a bootstrap peer) for as long as the node runs. */
  #superviseConnection(peer: string, addrs: readonly string[]): void {
    if (this.#connections.has(peer)) return;
    this.#connections.add(peer);
    const sup = superviseMakerConnection(this, peer, addrs);
    this.#supervisors.push(sup);
    sup.start();
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
            target: () => coinPoolTarget(config.coinPool, this.offers.published),
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
        await refreshFees(this.fees, this.health, signal);
        // After the monitor's reports for this block: what confirmed is no longer bumped.
        await this.bumper.onBlock(height);
        reportBumps(this.bumper, this.health);
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
    await refreshFees(this.fees, this.health, AbortSignal.timeout(10_000));
    await this.bumper.onBlock(await rpc.getBlockCount(), { cfdId, urgent: true });
    reportBumps(this.bumper, this.health);
    return this.bumper.status(cfdId);
  }

  /** The maker's current offers of a product (BTCUSD unless given) for its quote ({@link makerOffers}). */
  makerOffers(bid: Price, ask: Price, symbol: ContractSymbol = 'BTCUSD'): Offer[] {
    const policy = this.#makerPolicy();
    const now = Math.floor(this.#clock() / 1000);
    const txFeeRate = this.#makerFeeRate(policy);
    return makerOffers({
      policy,
      time: this.config.time,
      txFeeRate,
      now,
      bid,
      ask,
      symbol,
      maker: this.peerId,
    });
  }
}
