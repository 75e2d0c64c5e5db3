// The taker's limits: what of a maker's terms it refuses, with which named error and reason.
import assert from 'node:assert/strict';
import {
  checkOrderLimits,
  DEFAULT_MAX_FUNDING_RATE,
  DEFAULT_TAKER_LIMITS,
  FundingRateAboveLimitError,
  fundingRateOutsideLimit,
  OpeningFeeAboveLimitError,
  OutsideTakerLimitsError,
  offerOutsideLimits,
  rolloverTermsOutsideLimits,
  TxFeeRateAboveLimitError,
  TxFeeRateBelowMempoolMinimumError,
} from '../../model/limits.ts';
import type { Offer } from '../../model/offer.ts';
import { parseFundingRate } from '../../model/units.ts';
import { smallOffer } from '../helpers/offers.ts';

const NOW = 1_700_000_000;

function offer(over: Partial<Offer> = {}): Offer {
  return smallOffer(NOW, over);
}

describe('model/limits', () => {
  it('accepts the maker defaults and anything up to each limit', () => {
    checkOrderLimits(offer(), { quantity: 100n, leverage: 5 }, DEFAULT_TAKER_LIMITS);
    // 100 contracts at 50 000 USD, 5×: a margin of 40 000 sats; 1 % is 400.
    checkOrderLimits(
      offer({ fundingRate: parseFundingRate('-0.003'), txFeeRate: 100n, openingFee: 400n }),
      { quantity: 100n, leverage: 5 },
      DEFAULT_TAKER_LIMITS,
    );
  });

  it('refuses each term beyond its limit with its own named error', () => {
    const cases = [
      [{ fundingRate: parseFundingRate('0.0031') }, FundingRateAboveLimitError, /±0\.003/],
      [{ fundingRate: parseFundingRate('-0.5') }, FundingRateAboveLimitError, /-0\.5 per/],
      [{ txFeeRate: 101n }, TxFeeRateAboveLimitError, /101 sat\/vB .* 100 sat\/vB/],
      [{ openingFee: 401n }, OpeningFeeAboveLimitError, /1\.01 % of the taker's margin of 40000/],
    ] as const;
    for (const [over, type, reason] of cases) {
      assert.throws(
        () => checkOrderLimits(offer(over), { quantity: 100n, leverage: 5 }, DEFAULT_TAKER_LIMITS),
        (err: Error) =>
          err instanceof type && err instanceof OutsideTakerLimitsError && reason.test(err.message),
        JSON.stringify(over, (_k, v) => (typeof v === 'bigint' ? String(v) : v)),
      );
    }
  });

  it('refuses a fee rate below the chain’s mempool minimum (it would not relay) with its own error', () => {
    const limits = { ...DEFAULT_TAKER_LIMITS, minTxFeeRate: 20n };
    assert.throws(
      () => checkOrderLimits(offer({ txFeeRate: 19n }), { quantity: 100n, leverage: 5 }, limits),
      (err: Error) =>
        err instanceof TxFeeRateBelowMempoolMinimumError &&
        /19 sat\/vB is below the mempool minimum of 20 sat\/vB/.test(err.message),
    );
    checkOrderLimits(offer({ txFeeRate: 20n }), { quantity: 100n, leverage: 5 }, limits);
    assert.deepEqual(offerOutsideLimits(offer({ txFeeRate: 19n }), limits).length, 1);
    assert.match(
      rolloverTermsOutsideLimits(
        { fundingRate: offer().fundingRate, feeRate: 5n },
        { maxFundingRate: DEFAULT_MAX_FUNDING_RATE, maxFeeRate: 100n, minFeeRate: 6n },
      )!,
      /below the mempool minimum of 6/,
    );
  });

  it('bounds the opening fee by the order’s margin: larger or less leveraged orders may pay it', () => {
    const o = offer({ openingFee: 401n });
    checkOrderLimits(o, { quantity: 200n, leverage: 5 }, DEFAULT_TAKER_LIMITS);
    checkOrderLimits(o, { quantity: 100n, leverage: 2 }, DEFAULT_TAKER_LIMITS);
  });

  it('never accepts a funding rate beyond ±100 % per interval, whatever limit it is given', () => {
    const one = parseFundingRate('1');
    const huge = (one * 5n) as typeof one; // a limit built in code, past the parser's bound
    assert.equal(fundingRateOutsideLimit(one, huge), undefined);
    assert.match(fundingRateOutsideLimit(((one * 3n) / 2n) as typeof one, huge)!, /limit of ±1/);
    assert.match(fundingRateOutsideLimit((-(one * 3n) / 2n) as typeof one, huge)!, /limit of ±1/);
  });

  it('judges rollover terms on funding, then fee rate', () => {
    const limits = { maxFundingRate: parseFundingRate('0.003'), maxFeeRate: 100n };
    assert.equal(
      rolloverTermsOutsideLimits({ fundingRate: parseFundingRate('0.003'), feeRate: 100n }, limits),
      undefined,
    );
    assert.match(
      rolloverTermsOutsideLimits({ fundingRate: parseFundingRate('0.5'), feeRate: 500n }, limits)!,
      /funding rate 0\.5/,
    );
    assert.match(
      rolloverTermsOutsideLimits({ fundingRate: parseFundingRate('0'), feeRate: 500n }, limits)!,
      /fee rate 500 sat\/vB/,
    );
  });
});
