/**
 * A maker's coin pool: its funds kept split into several coins, each large enough for one setup
 * of its offers, so setups running at once fund from different coins instead of waiting for each
 * other (a maker funded by one coin could otherwise run one setup at a time: its lock's change is
 * not spendable until the lock confirms).
 *
 * When the pool is short, a split transaction spends the largest coins (twice a pool coin or
 * more) into pool-sized ones (`Wallet.planPoolSplit`); they fund setups once it confirms. Locks
 * spend only confirmed coins, because a counterparty rightly refuses unconfirmed lock inputs (an
 * unconfirmed parent can be double-spent by its owner after the lock is signed). The pool is
 * topped up after every new block (a deposit, or a confirmed lock's change, becomes a source)
 * and after every reservation (a burst of setups used it up).
 *
 * Only a maker keeps a pool: a taker funds one order at a time from whatever it holds.
 */
import { type Logger, pino } from 'pino';
import type { Sats } from '../../model/units.ts';
import type { CoinPoolTarget, Funding, Wallet } from './wallet.ts';

export interface CoinPoolOptions {
  readonly wallet: Pick<
    Wallet,
    'planPoolSplit' | 'recordOwnTransaction' | 'release' | 'reserveFunding'
  >;
  /** Publishes a signed transaction (confirmed broadcast: in the mempool or a block). */
  readonly broadcast: (hex: string) => Promise<void>;
  /** The pool wanted now (e.g. sized by the offers published); undefined: no pool. */
  readonly target: () => CoinPoolTarget | undefined;
  /** sat/vB for split transactions. */
  readonly feeRate: () => bigint;
  readonly logger?: Logger;
}

/**
 * Keeps the pool topped up; concurrent callers share one split at a time.
 *
 * @example
 * ```ts
 * const pool = new CoinPool({ wallet, broadcast: (hex) => broadcast(rpc, hex).then(() => {}),
 *   target: () => ({ count: 8, value: 200_000n }), feeRate: () => 2n });
 * await pool.ensure();                       // on every block: split what is large
 * const f = pool.reserveFunding(150_000n, 2n, { extraVbytes: 54 }); // one pool coin
 * ```
 */
export class CoinPool {
  readonly #options: CoinPoolOptions;
  readonly #log: Logger;
  #inFlight: Promise<void> | undefined;

  constructor(options: CoinPoolOptions) {
    this.#options = options;
    this.#log = options.logger ?? pino({ level: 'silent' });
  }

  /**
   * Splits coins if the pool holds fewer than its target of coins worth at least
   * `max(target.value, minValue)`. Waits for a split already under way first. Never throws: a
   * failed split is logged and the setup funds from what there is.
   */
  async ensure(minValue: Sats = 0n): Promise<void> {
    while (this.#inFlight) await this.#inFlight;
    const target = this.#options.target();
    if (!target) return;
    const wanted = {
      count: target.count,
      value: target.value > minValue ? target.value : minValue,
    };
    this.#inFlight = this.#split(wanted).finally(() => {
      this.#inFlight = undefined;
    });
    await this.#inFlight;
  }

  /**
   * Reserves coins for a setup (as `Wallet.reserveFunding`), then tops the pool up in the
   * background for the setups after it, with coins worth at least this one's amount plus the
   * lock fee of one input and one change output. What a maker's contract setup funds through.
   */
  reserveFunding(amount: Sats, feeRate: bigint, options: { extraVbytes?: number } = {}): Funding {
    // Reserve first: a split must never take the coin this setup could fund from.
    const funding = this.#options.wallet.reserveFunding(amount, feeRate, options);
    void this.ensure(amount + BigInt((options.extraVbytes ?? 0) + 68 + 31) * feeRate);
    return funding;
  }

  async #split(target: CoinPoolTarget): Promise<void> {
    const { wallet } = this.#options;
    let plan: ReturnType<Wallet['planPoolSplit']>;
    try {
      plan = wallet.planPoolSplit(target, this.#options.feeRate());
    } catch (err) {
      this.#log.warn({ err }, 'coin pool: cannot plan a split');
      return;
    }
    if (!plan) return;
    try {
      await this.#options.broadcast(plan.hex);
      await wallet.recordOwnTransaction(plan.hex);
      wallet.release(plan.reservationId);
      this.#log.info(
        { txid: plan.txid, coins: plan.coins, value: target.value, fee: plan.fee },
        'coin pool topped up',
      );
    } catch (err) {
      // The outcome may be unknown (a timeout): the sources stay reserved until the reservation
      // expires, so no lock spends a coin the split may have spent.
      this.#log.warn({ err, txid: plan.txid }, 'coin pool split not broadcast');
    }
  }
}
