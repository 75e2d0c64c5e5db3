/**
 * Configuration of a taker or maker node, from (highest first) command-line flags, `DLCFD_*`
 * environment variables, a JSON config file, and defaults. Every time constant of DESIGN.md is
 * here, so a local testnet can compress a day into minutes.
 *
 * A bad value is refused at start with a message naming the setting and where it came from; a
 * missing service (chain, oracle, feed, maker) is not a config error — the node starts degraded.
 */

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import {
  DEFAULT_MAX_FUNDING_RATE,
  DEFAULT_MAX_OPENING_FEE_BPS,
  DEFAULT_MAX_TX_FEE_RATE,
} from '../../model/limits.ts';
import { NamedError } from '../../model/named-error.ts';
import { PRODUCTS } from '../../model/product.ts';
import { type ContractSymbol, formatFundingRate } from '../../model/units.ts';
import { DEFAULT_ADMISSION_LIMITS } from '../../protocols/order/admission.ts';
import { DEFAULT_CONNECTION_LIMITS } from '../p2p/node.ts';
import { DEFAULT_NODE_QUOTE_AGE_MS } from '../pricefeed/constants.ts';
import { ALLOWED_LEVERAGES, MAX_SPREAD_BPS, MAX_TX_FEE_RATE } from './maker-policy.ts';

export type Role = 'taker' | 'maker';

export class ConfigError extends NamedError {}

/** Where a node keeps its config file unless `--config` says otherwise. */
export const CONFIG_FILE = 'dlcfd.json';

const hex32 = z.string().regex(/^[0-9a-f]{64}$/, '32 bytes of lowercase hex');
const seconds = z.number().int().positive();

/** Time constants (DESIGN.md "Time"); production defaults, scaled down by testnets. */
const TimeSchema = z.object({
  /** Seconds from setup or rollover to the settlement event. */
  settlementIntervalSecs: seconds.default(24 * 3600),
  /** How often the taker rolls over. */
  rolloverIntervalSecs: seconds.default(3600),
  /** Spacing of oracle events (settlement and hourly liquidation events). */
  oracleEventIntervalSecs: seconds.default(3600),
  /** CET relative timelock in blocks. */
  cetTimelockBlocks: seconds.default(12),
  /** Refund relative timelock in blocks: 1.5 × the settlement interval at 10-minute blocks. */
  refundTimelockBlocks: seconds.default(216),
  /** Offers older than this are refused. */
  offerMaxAgeSecs: seconds.default(600),
  /** A maker's funding rate older than this is not used for a rollover. */
  fundingRateMaxAgeSecs: seconds.default(300),
  /** Bound on each protocol message read or write. */
  protocolTimeoutMs: seconds.default(30_000),
  /** How often the wallet and chain monitor look for new blocks. */
  chainPollMs: seconds.default(5_000),
  /**
   * How long a contract setup whose run ended after our lock signature may have left waits for
   * the lock before the node double-spends its own lock inputs (process-manager.ts).
   */
  setupAdoptTimeoutSecs: seconds.default(3600),
  /**
   * How long after an order a set-up CFD's lock may stay out of the mempool, unconfirmed, before
   * the node double-spends its own lock inputs and fails the CFD (process-manager.ts): an hour of
   * rebroadcasts outlasts a relay hiccup and bounds the counterparty's option on a lock only it
   * could get mined.
   */
  lockConfirmTimeoutSecs: seconds.default(3600),
  /**
   * Taker: once its collaborative-close signature left, how long the close may stay off chain
   * (no mempool, no block) before the node force-closes so the maker cannot broadcast it later at
   * a price that has moved. An honest maker broadcasts within a second; see
   * protocols/collab-settlement/constants.ts SIGNED_CLOSE_WINDOW_MS.
   */
  signedCloseWindowSecs: seconds.default(60),
});

const MakerSchema = z.object({
  /**
   * The products the maker offers (`--products BTCUSD,ETHUSD`): BTCUSD inverse, ETHUSD quanto.
   * Each gets its own offers, priced from its own feed contract (XBTUSD, ETHUSD).
   */
  products: z
    .array(z.enum(Object.keys(PRODUCTS) as [ContractSymbol, ...ContractSymbol[]]))
    .min(1)
    .refine((ps) => new Set(ps).size === ps.length, { message: 'a product is listed twice' })
    .default(['BTCUSD']),
  /** Maker's offers follow the feed at this spread (basis points) around the mid price. */
  spreadBps: z.number().int().min(0).max(MAX_SPREAD_BPS).default(10),
  minQuantity: z.number().int().positive().default(100),
  maxQuantity: z.number().int().positive().default(10_000),
  lotSize: z.number().int().positive().default(100),
  /** The same choices the policy API allows, so a config the API would refuse cannot start. */
  leverageChoices: z
    .array(
      z
        .number()
        .int()
        .refine((l) => ALLOWED_LEVERAGES.includes(l), {
          message: `each leverage must be one of ${ALLOWED_LEVERAGES.join(', ')}`,
        }),
    )
    .min(1)
    .default([1, 2, 3, 5]),
  /** Per settlement interval, decimal string; positive: long pays short. */
  fundingRate: z
    .string()
    .regex(/^-?\d+(\.\d+)?$/)
    .default('0.0001'),
  /** Sats the taker pays at setup. */
  openingFee: z.number().int().min(0).default(2),
  /** sat/vB for lock and commit. */
  txFeeRate: z.number().int().min(1).default(1),
  /** Accept every valid order and settlement proposal without asking the user. */
  autoAccept: z.boolean().default(false),
});

/**
 * Taker: the terms it accepts from its maker (model/limits.ts gives the reasons for the defaults).
 * Offers outside them are marked and cannot be taken; a rollover outside them is refused and
 * auto-rollover of that CFD pauses. Changed live through the API, kept in `taker-limits.json`.
 */
const TakerSchema = z.object({
  /** Largest absolute funding rate per settlement interval, decimal string. */
  maxFundingRate: z
    .string()
    .regex(/^\d+(\.\d{1,10})?$/, 'a non-negative decimal with at most 10 decimals')
    .refine((s) => Number(s) <= 1, 'at most 1 (100 % per settlement interval)')
    .default(formatFundingRate(DEFAULT_MAX_FUNDING_RATE)),
  /** Largest opening fee, basis points of the taker's margin. */
  maxOpeningFeeBps: z.number().int().min(0).max(10_000).default(DEFAULT_MAX_OPENING_FEE_BPS),
  /** Highest fee rate of the contract's transactions, sat/vB. */
  maxTxFeeRate: z
    .number()
    .int()
    .min(1)
    .max(MAX_TX_FEE_RATE)
    .default(Number(DEFAULT_MAX_TX_FEE_RATE)),
});

const count = z.number().int().positive();

/**
 * Fees: every rate comes from the chain backend's estimate (node/chain/fee-estimator.ts), floored
 * at its mempool minimum and capped here; bumps (node/daemon/fee-bumper.ts) stay within the
 * budget. A maker's `txFeeRate` is the lowest rate its offers carry.
 */
const FeesSchema = z.object({
  /** Blocks within which lock, commit and close rates aim to confirm (estimatesmartfee target). */
  confTarget: z.number().int().min(1).max(1008).default(3),
  /** Never pay more than this (sat/vB), for any transaction or bump. */
  maxFeeRate: z.number().int().min(1).max(10_000).default(500),
  /** Rate when the backend has no estimate yet (sat/vB). */
  fallbackFeeRate: z.number().int().min(1).max(10_000).default(1),
  /** Most sats the node spends on bumps (CPFP children, punish replacements) of one CFD. */
  bumpBudgetSats: z.number().int().min(0).default(100_000),
  /** Blocks within which a commit or close we publish should confirm (its bump deadline). */
  confirmWithinBlocks: z.number().int().min(1).max(1008).default(6),
});

/**
 * Maker: admission control — how much strangers can make it do at once (protocols/order/
 * admission.ts explains each default) — and libp2p's connection limits, which bound how fast new
 * (free) peer ids can arrive.
 */
const AdmissionSchema = z.object({
  /** Contract setups one peer may have under way at once. */
  setupsPerPeer: count.default(DEFAULT_ADMISSION_LIMITS.setupsPerPeer),
  /** Contract setups under way at once, all peers together. */
  setupsTotal: count.default(DEFAULT_ADMISSION_LIMITS.setupsTotal),
  /** Orders of one peer waiting for the maker's user (no auto-accept). */
  decisionsPerPeer: count.default(DEFAULT_ADMISSION_LIMITS.decisionsPerPeer),
  /** Orders waiting for the maker's user, all peers together. */
  decisionsTotal: count.default(DEFAULT_ADMISSION_LIMITS.decisionsTotal),
  /** Open connections (libp2p `maxConnections`, which prunes beyond it). */
  maxConnections: count.default(DEFAULT_CONNECTION_LIMITS.maxConnections),
  /** Inbound connections still negotiating encryption and muxer (libp2p's default, 10). */
  maxPendingConnections: count.default(DEFAULT_CONNECTION_LIMITS.maxIncomingPendingConnections),
  /** New inbound connections per second from one host before it is refused (libp2p's 5). */
  connectionsPerHostPerSecond: count.default(DEFAULT_CONNECTION_LIMITS.inboundConnectionThreshold),
});

/**
 * Maker: the coin pool (node/wallet/coin-pool.ts) — its funds kept split into `count` coins,
 * each worth one setup of its largest offer, so setups at the same time do not wait for each
 * other's coins. 0 turns it off.
 */
const CoinPoolSchema = z.object({
  /** One coin per setup the maker admits at once by default. */
  count: z.number().int().min(0).default(DEFAULT_ADMISSION_LIMITS.setupsTotal),
  /**
   * Sats per pool coin. Default: the maker's margin at the largest quantity of its offers, plus
   * its lock fee share — follows the offers as they change.
   */
  valueSats: count.optional(),
});

export const ConfigSchema = z
  .object({
    role: z.enum(['taker', 'maker']),
    datadir: z.string().min(1),
    /**
     * Start even if group or other users may access the data directory or anything in it
     * (node/runtime/datadir.ts). Off: such a node refuses to start and says how to fix it.
     */
    allowInsecureDatadir: z.boolean().default(false),
    network: z.enum(['mainnet', 'testnet', 'regtest']).default('mainnet'),
    logLevel: z
      .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
      .default('info'),
    chain: z
      .object({
        url: z.string().url(),
        user: z.string().optional(),
        password: z.string().optional(),
        cookieFile: z.string().optional(),
      })
      .optional(),
    oracle: z
      .object({
        url: z.string().url(),
        /** The olivia-v1 attestation key, pinned. */
        publicKey: hex32,
        /**
         * The key announcements are signed with, pinned: required on every network but regtest
         * (where, absent, it is read from the oracle's `GET /`). Every announcement is verified.
         */
        announcementKey: hex32.optional(),
      })
      .optional(),
    /** BitMEX realtime URL; default: BitMEX mainnet, or its testnet on other networks. */
    pricefeed: z
      .object({
        url: z.string().url().optional(),
        /**
         * A quote older than this, by the feed's own timestamp, is stale: the maker withdraws its
         * offers and no position is priced from it.
         */
        maxQuoteAgeSecs: seconds.default(DEFAULT_NODE_QUOTE_AGE_MS / 1000),
      })
      .default({ maxQuoteAgeSecs: DEFAULT_NODE_QUOTE_AGE_MS / 1000 }),
    p2p: z
      .object({
        /** Maker: where to listen. */
        listen: z.array(z.string()).default([]),
        /** Taker: the makers to dial, multiaddrs ending in /p2p/<peer id>. */
        makers: z.array(z.string()).default([]),
        muxer: z.enum(['yamux', 'mplex']).default('yamux'),
        /** Peer ids refused in both directions (a maker blocking a misbehaving taker). */
        blocked: z.array(z.string()).default([]),
        /**
         * Any role: nodes to join the offer gossip through, multiaddrs ending in /p2p/<peer id>
         * (usually one maker). A taker dials every maker it hears of there.
         */
        bootstrap: z.array(z.string()).default([]),
        /** Maker: re-announce its offers this often, even unchanged. */
        announceIntervalSecs: z.number().positive().default(60),
        /** A maker not heard for this long leaves the taker's book (≈ 3 announcements). */
        makerTimeoutSecs: z.number().positive().default(180),
      })
      .default({
        listen: [],
        makers: [],
        muxer: 'yamux',
        blocked: [],
        bootstrap: [],
        announceIntervalSecs: 60,
        makerTimeoutSecs: 180,
      }),
    ui: z
      .object({
        host: z.string().default('127.0.0.1'),
        port: z.number().int().min(0).max(65_535).default(8000),
        /**
         * Serve the UI on a host that is not loopback. The node speaks plain HTTP: only behind a
         * TLS-terminating reverse proxy (ui-server/listen.ts).
         */
        unsafeListen: z.boolean().default(false),
        /**
         * More names the UI answers to besides its address, `localhost`, `127.0.0.1` and `[::1]`
         * (a reverse proxy's or LAN name): `name` (any port) or `name:port`. Any other Host is
         * refused (DNS rebinding), and state-changing requests must come from one of these.
         */
        allowedHosts: z
          .array(
            z
              .string()
              .regex(
                /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$/,
                'must be a host name or address, optionally with :port',
              ),
          )
          .default([]),
        /** The browser password; without it one is generated on first start and printed once. */
        password: z.string().min(8, 'needs at least 8 characters').optional(),
        /**
         * Block explorer page of a transaction, `{txid}` standing for its id; the UI links txids
         * to it. Default: mempool.space on mainnet and testnet, none on regtest (nothing public
         * knows its transactions).
         */
        explorerUrl: z
          .string()
          .url()
          .regex(/^https?:\/\//, 'must be an http(s) URL')
          .refine((u) => u.includes('{txid}'), 'must contain {txid}, where the txid goes')
          .optional(),
      })
      .default({ host: '127.0.0.1', port: 8000, unsafeListen: false, allowedHosts: [] }),
    time: TimeSchema.default(TimeSchema.parse({})),
    maker: MakerSchema.default(MakerSchema.parse({})),
    taker: TakerSchema.default(TakerSchema.parse({})),
    admission: AdmissionSchema.default(AdmissionSchema.parse({})),
    coinPool: CoinPoolSchema.default(CoinPoolSchema.parse({})),
    fees: FeesSchema.default(FeesSchema.parse({})),
  })
  .superRefine((c, ctx) => {
    if (c.oracle && c.network !== 'regtest' && c.oracle.announcementKey === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['oracle', 'announcementKey'],
        message: `required on ${c.network} (--oracle-announcement-key): announcements are verified against a pinned key, never one learned from the oracle itself`,
      });
    }
    if (c.oracle && !isHttpsOrLoopback(c.oracle.url)) {
      ctx.addIssue({
        code: 'custom',
        path: ['oracle', 'url'],
        message: `'${c.oracle.url}' must be https (--oracle): plain http is allowed on loopback only`,
      });
    }
    if (c.role === 'taker' && c.p2p.listen.length > 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['p2p', 'listen'],
        message: 'a taker dials; it does not listen',
      });
    }
    for (const key of ['makers', 'bootstrap'] as const) {
      for (const [i, m] of c.p2p[key].entries()) {
        if (!/\/p2p\/\w+$/.test(m)) {
          ctx.addIssue({
            code: 'custom',
            path: ['p2p', key, i],
            message: `'${m}' must end in /p2p/<${key === 'makers' ? 'maker ' : ''}peer id>, so the node knows whom it talks to`,
          });
        }
      }
    }
  });

export type DaemonConfig = z.output<typeof ConfigSchema>;

/** https, or http to a loopback host (127.0.0.0/8, ::1, localhost). */
function isHttpsOrLoopback(url: string): boolean {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  if (u.protocol === 'https:') return true;
  if (u.protocol !== 'http:') return false;
  const host = u.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** Command-line flags, each mapped to its place in the config. */
export const FLAGS = {
  datadir: 'datadir',
  'allow-insecure-datadir': 'allowInsecureDatadir',
  network: 'network',
  'log-level': 'logLevel',
  'chain-rpc': 'chain.url',
  'chain-user': 'chain.user',
  'chain-password': 'chain.password',
  'chain-cookie-file': 'chain.cookieFile',
  oracle: 'oracle.url',
  'oracle-public-key': 'oracle.publicKey',
  'oracle-announcement-key': 'oracle.announcementKey',
  pricefeed: 'pricefeed.url',
  'max-quote-age': 'pricefeed.maxQuoteAgeSecs',
  listen: 'p2p.listen',
  maker: 'p2p.makers',
  muxer: 'p2p.muxer',
  block: 'p2p.blocked',
  bootstrap: 'p2p.bootstrap',
  'announce-interval': 'p2p.announceIntervalSecs',
  'maker-timeout': 'p2p.makerTimeoutSecs',
  'ui-host': 'ui.host',
  'ui-port': 'ui.port',
  'ui-allowed-host': 'ui.allowedHosts',
  'ui-password': 'ui.password',
  'unsafe-listen': 'ui.unsafeListen',
  'explorer-url': 'ui.explorerUrl',
  'settlement-interval': 'time.settlementIntervalSecs',
  'rollover-interval': 'time.rolloverIntervalSecs',
  'oracle-event-interval': 'time.oracleEventIntervalSecs',
  'cet-timelock': 'time.cetTimelockBlocks',
  'refund-timelock': 'time.refundTimelockBlocks',
  'offer-max-age': 'time.offerMaxAgeSecs',
  'protocol-timeout-ms': 'time.protocolTimeoutMs',
  'chain-poll-ms': 'time.chainPollMs',
  'setup-adopt-timeout': 'time.setupAdoptTimeoutSecs',
  'lock-confirm-timeout': 'time.lockConfirmTimeoutSecs',
  'signed-close-window': 'time.signedCloseWindowSecs',
  'auto-accept': 'maker.autoAccept',
  spread: 'maker.spreadBps',
  products: 'maker.products',
  'max-funding-rate': 'taker.maxFundingRate',
  'max-opening-fee-bps': 'taker.maxOpeningFeeBps',
  'max-tx-fee-rate': 'taker.maxTxFeeRate',
  'max-setups-per-peer': 'admission.setupsPerPeer',
  'max-setups': 'admission.setupsTotal',
  'max-decisions-per-peer': 'admission.decisionsPerPeer',
  'max-decisions': 'admission.decisionsTotal',
  'max-connections': 'admission.maxConnections',
  'max-pending-connections': 'admission.maxPendingConnections',
  'max-connections-per-host-per-second': 'admission.connectionsPerHostPerSecond',
  'coin-pool-count': 'coinPool.count',
  'coin-pool-value': 'coinPool.valueSats',
  'fee-target': 'fees.confTarget',
  'max-fee-rate': 'fees.maxFeeRate',
  'fallback-fee-rate': 'fees.fallbackFeeRate',
  'bump-budget': 'fees.bumpBudgetSats',
  'confirm-within': 'fees.confirmWithinBlocks',
} as const satisfies Record<string, string>;

/** Paths whose values are lists (a flag may repeat, an env var is comma-separated). */
const LISTS = new Set([
  'p2p.listen',
  'p2p.makers',
  'p2p.blocked',
  'p2p.bootstrap',
  'ui.allowedHosts',
  'maker.products',
]);
/** Paths whose values are numbers or booleans in the schema. */
const NUMBERS = new Set([
  'ui.port',
  'p2p.announceIntervalSecs',
  'p2p.makerTimeoutSecs',
  'pricefeed.maxQuoteAgeSecs',
  'time.settlementIntervalSecs',
  'time.rolloverIntervalSecs',
  'time.oracleEventIntervalSecs',
  'time.cetTimelockBlocks',
  'time.refundTimelockBlocks',
  'time.offerMaxAgeSecs',
  'time.protocolTimeoutMs',
  'time.chainPollMs',
  'time.setupAdoptTimeoutSecs',
  'time.lockConfirmTimeoutSecs',
  'time.signedCloseWindowSecs',
  'maker.spreadBps',
  'taker.maxOpeningFeeBps',
  'taker.maxTxFeeRate',
  'admission.setupsPerPeer',
  'admission.setupsTotal',
  'admission.decisionsPerPeer',
  'admission.decisionsTotal',
  'admission.maxConnections',
  'admission.maxPendingConnections',
  'admission.connectionsPerHostPerSecond',
  'coinPool.count',
  'coinPool.valueSats',
  'fees.confTarget',
  'fees.maxFeeRate',
  'fees.fallbackFeeRate',
  'fees.bumpBudgetSats',
  'fees.confirmWithinBlocks',
]);
const BOOLEANS = new Set(['maker.autoAccept', 'allowInsecureDatadir', 'ui.unsafeListen']);
/** Flags that take no value (`--auto-accept`, `--allow-insecure-datadir`, `--unsafe-listen`). */
export const BOOLEAN_FLAGS: ReadonlySet<string> = new Set(
  Object.entries(FLAGS)
    .filter(([, path]) => BOOLEANS.has(path))
    .map(([flag]) => flag),
);

type Json = Record<string, unknown>;

function setPath(target: Json, path: string, value: unknown): void {
  const keys = path.split('.');
  let node = target;
  for (const k of keys.slice(0, -1)) {
    node[k] = typeof node[k] === 'object' && node[k] !== null ? node[k] : {};
    node = node[k] as Json;
  }
  node[keys[keys.length - 1]!] = value;
}

function coerce(path: string, raw: string | string[], source: string): unknown {
  if (LISTS.has(path)) return Array.isArray(raw) ? raw : raw.split(',').filter(Boolean);
  const text = Array.isArray(raw) ? raw[raw.length - 1]! : raw;
  if (NUMBERS.has(path)) {
    if (!/^\d+$/.test(text)) throw new ConfigError(`${source}: '${text}' is not a whole number`);
    return Number(text);
  }
  if (BOOLEANS.has(path)) {
    if (!['true', 'false', '1', '0', ''].includes(text)) {
      throw new ConfigError(`${source}: '${text}' is not true or false`);
    }
    return text === 'true' || text === '1' || text === '';
  }
  return text;
}

function deepMerge(base: Json, over: Json): Json {
  const out: Json = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] =
      v &&
      typeof v === 'object' &&
      !Array.isArray(v) &&
      b &&
      typeof b === 'object' &&
      !Array.isArray(b)
        ? deepMerge(b as Json, v as Json)
        : v;
  }
  return out;
}

export interface ConfigSources {
  readonly role: Role;
  /** Parsed flags: flag name (without --) → value(s). */
  readonly flags?: Readonly<Record<string, string | string[] | boolean | undefined>>;
  /** Environment (process.env): `DLCFD_<FLAG_IN_UPPER_SNAKE>`, e.g. DLCFD_CHAIN_RPC. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Explicit config file; otherwise `<datadir>/dlcfd.json` if it exists. */
  readonly configFile?: string;
}

/** Resolves the configuration. Throws {@link ConfigError} with every problem found. */
export async function loadConfig(sources: ConfigSources): Promise<DaemonConfig> {
  const fromFlags: Json = {};
  const fromEnv: Json = {};
  for (const [flag, path] of Object.entries(FLAGS)) {
    const v = sources.flags?.[flag];
    if (v !== undefined)
      setPath(
        fromFlags,
        path,
        coerce(path, v === true ? '' : (v as string | string[]), `--${flag}`),
      );
    const envName = `DLCFD_${flag.toUpperCase().replaceAll('-', '_')}`;
    const e = sources.env?.[envName];
    if (e !== undefined && e !== '') setPath(fromEnv, path, coerce(path, e, envName));
  }
  const datadir = (fromFlags.datadir ?? fromEnv.datadir) as string | undefined;
  let fromFile: Json = {};
  const file = sources.configFile ?? (datadir ? join(datadir, CONFIG_FILE) : undefined);
  if (file) {
    try {
      fromFile = JSON.parse(await readFile(file, 'utf8')) as Json;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' || sources.configFile) {
        throw new ConfigError(`config file ${file}: ${(err as Error).message}`);
      }
    }
  }
  const merged = deepMerge(deepMerge(deepMerge({}, fromFile), fromEnv), fromFlags);
  merged.role = sources.role;
  const parsed = ConfigSchema.safeParse(merged);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (i) => `${i.path.join('.') || '(config)'}: ${i.message}`,
    );
    throw new ConfigError(`invalid configuration:\n  ${problems.join('\n  ')}`);
  }
  return parsed.data;
}
