/**
 * The node's side of the market: a maker publishing offers that follow the feed, a taker keeping
 * its connection to each maker. Each runs under a {@link Supervisor} the daemon starts and stops.
 */
import { multiaddr } from '@multiformats/multiaddr';
import type { Logger } from 'pino';
import { margins } from '../../model/fees.ts';
import { divRound } from '../../model/fixed.ts';
import type { Offer } from '../../model/offer.ts';
import { nextEventTime, oracleEventId } from '../../model/oracle-event.ts';
import { product } from '../../model/product.ts';
import { asPrice, type ContractSymbol, type Price, parseFundingRate } from '../../model/units.ts';
import type { OfferProtocol } from '../../protocols/offer/index.ts';
import { LOCK_SHARED_VBYTES } from '../../protocols/order/constants.ts';
import type { P2pNode } from '../p2p/node.ts';
import type { PriceFeedClient } from '../pricefeed/client.ts';
import type { HealthRegistry } from '../runtime/health.ts';
import { Supervisor } from '../runtime/supervisor.ts';
import type { CoinPoolTarget } from '../wallet/wallet.ts';
import type { DaemonConfig } from './config.ts';
import { HEALTH } from './health-names.ts';
import type { MakerPolicy, MakerPolicyStore } from './maker-policy.ts';

/** How often the maker re-publishes its offers even when the price has not moved: well inside
 * the taker's 10-minute staleness bound (ItchySats' automation re-put offers every 5 minutes). */
export const OFFER_REFRESH_MS = 60_000;
/** A maker connection that survives this long counts as up; one closed sooner was refused. */
export const CONNECTION_SETTLE_MS = 500;
/** Smallest pause between two offer publications while the feed ticks. */
export const OFFER_MIN_INTERVAL_MS = 1_000;

/**
 * The product the policy's quantities are written for (its `lotSize`, `minQuantity` and
 * `maxQuantity` are BTCUSD contracts, USD of notional).
 */
export const POLICY_SYMBOL: ContractSymbol = 'BTCUSD';

/**
 * A product's quantity bounds: the policy's for {@link POLICY_SYMBOL}; any other product offers
 * the same range in lots at its own default lot size (ETHUSD: 1 contract, ItchySats' lot), e.g.
 * the default 100…10,000 USD in lots of 100 becomes 1…100 ETHUSD contracts.
 */
export function productQuantities(
  m: Pick<MakerPolicy, 'minQuantity' | 'maxQuantity' | 'lotSize'>,
  symbol: ContractSymbol,
): { minQuantity: bigint; maxQuantity: bigint; lotSize: bigint } {
  const [min, max, lot] = [BigInt(m.minQuantity), BigInt(m.maxQuantity), BigInt(m.lotSize)];
  if (symbol === POLICY_SYMBOL) return { minQuantity: min, maxQuantity: max, lotSize: lot };
  const own = product(symbol).defaultLotSize;
  return { minQuantity: (min / lot) * own, maxQuantity: (max / lot) * own, lotSize: own };
}

/**
 * The maker's current offers of one product for its quote: a short at the ask plus the spread
 * and a long at the bid minus the spread, settling on the first event of the product's oracle
 * index (BXBT, BETH) one settlement interval ahead.
 */
export function makerOffers(p: {
  policy: MakerPolicy;
  time: DaemonConfig['time'];
  /** The fee rate of the offers (the estimate, never below the policy's). */
  txFeeRate: bigint;
  /** Unix seconds. */
  now: number;
  bid: Price;
  ask: Price;
  /** @default 'BTCUSD' */
  symbol?: ContractSymbol;
  /**
   * The maker's peer id: its tail goes into the offer ids, so two makers quoting in the same
   * second never share one (a taker's order names an offer by id alone).
   */
  maker?: string;
}): Offer[] {
  const { policy: m, time: t, now } = p;
  const symbol = p.symbol ?? 'BTCUSD';
  const event = oracleEventId(
    nextEventTime(now + t.settlementIntervalSecs, t.oracleEventIntervalSecs),
    product(symbol).oracleIndex,
  );
  const spread = BigInt(m.spreadBps);
  const base = {
    symbol,
    ...productQuantities(m, symbol),
    leverageChoices: m.leverageChoices,
    fundingRate: parseFundingRate(m.fundingRate),
    openingFee: BigInt(m.openingFee),
    txFeeRate: p.txFeeRate,
    settlementIntervalSecs: t.settlementIntervalSecs,
    oracleEventId: event,
    createdAt: now,
  };
  const tag = p.maker ? `-${p.maker.slice(-12)}` : '';
  const up = asPrice(divRound(p.ask * (10_000n + spread), 10_000n, 'ceil'));
  const down = asPrice(divRound(p.bid * (10_000n - spread), 10_000n, 'floor'));
  return [
    { ...base, id: `${symbol}-short-${now}${tag}`, makerPosition: 'short', price: up },
    { ...base, id: `${symbol}-long-${now}${tag}`, makerPosition: 'long', price: down },
  ];
}

/**
 * Maker: the coin pool wanted now — `coinPool.count` coins of `coinPool.valueSats`, or of the
 * maker's margin at the largest quantity of its published offers plus its lock fee share.
 * Undefined (no split) while nothing is offered and no value is configured.
 */
export function coinPoolTarget(
  coinPool: DaemonConfig['coinPool'],
  published: readonly Offer[],
): CoinPoolTarget | undefined {
  const { count, valueSats } = coinPool;
  if (valueSats !== undefined) return { count, value: BigInt(valueSats) };
  let value = 0n;
  for (const o of published) {
    // The lock's shared part, one input and one change output at the offer's fee rate.
    const fees = BigInt(LOCK_SHARED_VBYTES + 68 + 31) * o.txFeeRate;
    for (const takerLeverage of o.leverageChoices) {
      const { maker } = margins({
        symbol: o.symbol,
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

export interface OfferPublishingDeps {
  readonly health: HealthRegistry;
  readonly log: Logger;
  readonly feed: PriceFeedClient;
  readonly offers: OfferProtocol;
  readonly policy: MakerPolicyStore | undefined;
  /** The live policy (or the config's). */
  readonly currentPolicy: () => MakerPolicy;
  /** The products offered (config `maker.products`). @default ['BTCUSD'] */
  readonly products?: readonly ContractSymbol[];
  /** One product's offers for its quote. */
  readonly offersFor: (symbol: ContractSymbol, bid: Price, ask: Price) => Offer[];
  /** Unix ms. */
  readonly clock: () => number;
}

/**
 * Maker: offers follow the feed with a spread, each product's its own feed contract, republished
 * on change and periodically, and at once when the policy changes (it wakes the loop); withdrawn
 * while the policy says so. A product without a fresh quote is left out (degraded, saying which).
 */
export function superviseOffers(d: OfferPublishingDeps): Supervisor {
  const { health } = d;
  return new Supervisor({
    name: HEALTH.offers,
    health,
    logger: d.log,
    run: async ({ signal, ready, degraded }) => {
      let lastKey = '';
      let lastAt = 0;
      let wake = new AbortController();
      const unsubscribe = d.policy?.onChange(() => wake.abort());
      try {
        while (!signal.aborted) {
          const products = d.products ?? [POLICY_SYMBOL];
          const quotes = products.map((symbol) => ({
            symbol,
            quote: d.feed.latest(product(symbol).feedSymbol),
          }));
          const fresh = quotes.filter(({ quote }) => quote && !quote.stale);
          const missing = quotes.filter(({ quote }) => !quote || quote.stale).map((q) => q.symbol);
          const version = d.policy?.version ?? 0;
          if (!d.currentPolicy().publishing) {
            if (lastKey !== 'withdrawn') {
              await d.offers.publish([], { signal });
              ready();
              health.report(HEALTH.offers, {
                detail: 'withdrawn by the maker (publishing: false)',
              });
            }
            lastKey = 'withdrawn';
          } else if (fresh.length === 0) {
            if (lastKey !== 'none') {
              degraded('no fresh quote from the price feed: no offers published');
              await d.offers.publish([], { signal });
            }
            lastKey = 'none';
          } else {
            const offers = fresh.flatMap(({ symbol, quote }) =>
              d.offersFor(symbol, quote!.bid, quote!.ask),
            );
            // The settlement event is part of the offer: a new one is published as soon as the next
            // event is the one a settlement interval ahead, so a taken offer's event is never closer
            // than the interval less one event spacing.
            const key = `${version}:${offers.map((o) => `${o.price}@${o.txFeeRate}@${o.oracleEventId}`).join()}`;
            const now = d.clock();
            if (key !== lastKey || now - lastAt >= OFFER_REFRESH_MS) {
              await d.offers.publish(offers, { signal });
              lastKey = key;
              lastAt = now;
            }
            // Only on a change: every report reaches each live-feed client as a health event.
            const h = health.get(HEALTH.offers);
            if (missing.length > 0) {
              const why = `no fresh quote for ${missing.join(', ')}: its offers are not published`;
              if (h?.detail !== why) degraded(why);
            } else if (h?.status !== 'ok' || h.detail !== undefined) ready();
          }
          await sleep(OFFER_MIN_INTERVAL_MS, AbortSignal.any([signal, wake.signal]));
          if (wake.signal.aborted) wake = new AbortController();
        }
      } finally {
        unsubscribe?.();
      }
    },
  });
}

/** The peer id an address ends in (`…/p2p/<peer id>`). */
export function peerOfAddress(address: string): string {
  return address.slice(address.lastIndexOf('/p2p/') + 5);
}

/**
 * Taker: keeps a connection to one maker (or a maker to its bootstrap peer), redialling with
 * backoff; health per peer. `addrs` are where it listens (from the config, or from its signed
 * announcement); the dial tries them all and Noise proves the peer is `peer`.
 */
export function superviseMakerConnection(
  d: { readonly p2p: P2pNode; readonly health: HealthRegistry; readonly log: Logger },
  peer: string,
  addrs: readonly string[],
): Supervisor {
  const suffix = `/p2p/${peer}`;
  const dialable = addrs.map((a) => multiaddr(a.endsWith(suffix) ? a : `${a}${suffix}`));
  const name = `peer:${peer}`;
  return new Supervisor({
    name,
    health: d.health,
    logger: d.log,
    maxBackoffMs: 10_000,
    run: async ({ signal, ready }) => {
      const connection = await d.p2p.dial(dialable, { signal });
      // Ends when the connection closes: the supervisor then redials with backoff.
      let closed = false;
      const ended = new Promise<void>((resolve) => {
        const done = (): void => {
          closed = true;
          d.p2p.removeEventListener('peer:disconnect', onDisconnect);
          signal.removeEventListener('abort', done);
          resolve();
        };
        const onDisconnect = (evt: CustomEvent<{ toString(): string }>): void => {
          if (evt.detail.toString() === peer) done();
        };
        d.p2p.addEventListener('peer:disconnect', onDisconnect);
        signal.addEventListener('abort', done);
      });
      // A maker that hangs up at once (it blocked us, or is shutting down) is not connected.
      await Promise.race([ended, sleep(CONNECTION_SETTLE_MS, signal)]);
      if (closed && !signal.aborted) throw new Error('the maker hung up at once (blocked?)');
      if (!signal.aborted) {
        ready();
        d.health.report(name, { detail: String(connection.remoteAddr) });
      }
      await ended;
      if (!signal.aborted) throw new Error('connection to the maker closed');
    },
  });
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
