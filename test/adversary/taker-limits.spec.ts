// Attack 4: the taker accepts whatever the maker sets. A maker answers a rollover with a funding
// rate or a commit fee rate far beyond what a trader accepts, or publishes offers whose opening
// fee or funding rate take the taker's margin. The taker refuses, with the reason, before anything
// irreversible: a refused rollover reveals nothing and leaves the CFD open on its old commit, and
// auto-rollover of that CFD pauses (saying why) instead of asking again every tick; an order on
// an offer outside the limits is refused with a named error and nothing is reserved or written.
// Real rollover machines (test/protocols/rollover/harness.ts) and real nodes with their API.
import assert from 'node:assert/strict';
import { peerIdFromString } from '@libp2p/peer-id';
import { type Cfd, uiState } from '../../model/cfd.ts';
import { DEFAULT_TAKER_LIMITS, OutsideTakerLimitsError } from '../../model/limits.ts';
import { type FundingRate, parseFundingRate } from '../../model/units.ts';
import type { RolloverConfig } from '../../protocols/rollover/machine.ts';
import type { RolloverDecisionMsg } from '../../protocols/rollover/messages.ts';
import { limitRefusalOf } from '../../protocols/rollover/rollover.ts';
import { type RolloverLimits, RolloverScheduler } from '../../protocols/rollover/scheduler.ts';
import { openContractCopy, type Party, RATE, roll } from '../protocols/rollover/harness.ts';
import { Cleanups, startMakerAndTaker, until } from '../ui-server/helpers.ts';

describe('adversary: taker limits (attack 4)', function () {
  this.timeout(60_000);

  describe('a maker answering a rollover with terms beyond the taker’s limits', () => {
    let taker: Party;
    let maker: Party;
    /** The taker's limits as the user set them; `version` moves on a change. */
    let limits: RolloverLimits;
    let attempts: number;

    beforeEach(async () => {
      ({ taker, maker } = await openContractCopy());
      limits = {
        version: 0,
        maxFundingRate: DEFAULT_TAKER_LIMITS.maxFundingRate,
        maxFeeRate: DEFAULT_TAKER_LIMITS.maxTxFeeRate,
      };
      attempts = 0;
    });

    /** One rollover as the taker's node runs it: the limits now, the maker's decision observed. */
    async function rollover() {
      attempts += 1;
      let decision: Extract<RolloverDecisionMsg, { accept: true }> | undefined;
      const takerConfig: Partial<RolloverConfig> = {
        maxFundingRate: limits.maxFundingRate,
        maxFeeRate: limits.maxFeeRate,
      };
      const run = await roll(taker, maker, {
        takerConfig,
        makerTamper: (m) => {
          if (m.type === 'decision' && m.accept) decision = m;
          return m;
        },
      });
      const terms = decision && {
        fundingRate: decision.fundingRate as FundingRate,
        feeRate: decision.feeRate,
      };
      return { run, limitRefusal: limitRefusalOf(run.taker, terms, takerConfig) };
    }

    /** What must hold after a refused rollover: nothing revealed, the old commit in force. */
    function assertRefusedBeforeAnythingIrreversible(
      run: Awaited<ReturnType<typeof rollover>>['run'],
      before: { record: Party['record']; cfd: Cfd },
      reason: RegExp,
    ): void {
      const t = run.taker;
      assert.equal(t.type, 'failed');
      if (t.type !== 'failed') return;
      assert.match(t.reason, reason);
      assert.equal(t.revealed, false, 'no revocation secret left');
      assert.equal(t.pendingPersisted, false);
      for (const sent of ['send:keys', 'send:signatures', 'send:revocation']) {
        assert.ok(!taker.journal.includes(sent), `the taker did not ${sent}: ${taker.journal}`);
      }
      assert.ok(!taker.journal.some((j) => j.startsWith('persist:')), 'no record written');
      assert.ok(!maker.journal.includes('send:revocation'));
      // The CFD stays open on its old commit and terms.
      assert.equal(taker.record, before.record);
      assert.equal(uiState(taker.cfd), 'open');
      assert.equal(taker.cfd.dlc?.commitTxid, before.cfd.dlc?.commitTxid);
      assert.equal(taker.cfd.dlc?.settlementEventId, before.cfd.dlc?.settlementEventId);
      assert.equal(taker.cfd.feeBalance, before.cfd.feeBalance);
      assert.equal(taker.cfd.fundingRate, before.cfd.fundingRate);
      assert.equal(maker.record.commit.txid, before.record.commit.txid);
    }

    for (const [name, set, reason] of [
      [
        'a funding rate of 50 % per interval',
        (m: Party) => {
          m.fundingRate = parseFundingRate('0.5');
        },
        /funding rate 0\.5 per settlement interval is beyond the taker's limit of ±0\.003/,
      ],
      [
        'a commit fee rate of 500 sat/vB',
        (m: Party) => {
          m.feeRate = 500n;
        },
        /fee rate 500 sat\/vB is above the taker's limit of 100 sat\/vB/,
      ],
    ] as const) {
      it(`${name}: the taker refuses before anything irreversible and auto-rollover pauses with the reason`, async () => {
        set(maker);
        const before = { record: taker.record, cfd: taker.cfd };
        let now = taker.now + 3_660; // the CFD is due for a rollover
        let published: { fundingRate: bigint; feeRate: bigint } | undefined = {
          fundingRate: maker.fundingRate,
          feeRate: maker.feeRate,
        };
        const paused: (string | undefined)[] = [];
        let lastRun: Awaited<ReturnType<typeof rollover>>['run'] | undefined;
        const scheduler = new RolloverScheduler({
          cfds: async () => [taker.cfd],
          rollover: async () => {
            const r = await rollover();
            lastRun = r.run;
            return { ...(r.limitRefusal ? { limitRefusal: r.limitRefusal } : {}) };
          },
          clock: () => now,
          limits: () => limits,
          makerTerms: () =>
            published && {
              fundingRate: published.fundingRate as never,
              feeRate: published.feeRate,
            },
          onPause: (_id, p) => paused.push(p?.reason),
        });

        await scheduler.tick();
        assert.equal(attempts, 1);
        assertRefusedBeforeAnythingIrreversible(lastRun!, before, reason);
        const id = taker.cfd.terms!.id;
        const pause = scheduler.paused(id);
        assert.ok(pause, 'auto-rollover paused');
        assert.match(pause.reason, reason);
        assert.equal(pause.sinceSecs, now);
        assert.equal(paused.length, 1);

        // Paused: the next ticks do not ask the maker again while its terms are the same.
        await scheduler.tick();
        now += 30 * 60;
        await scheduler.tick();
        assert.equal(attempts, 1, 'the maker is not asked again every tick');

        // The maker's published terms come back within the limits: tried again, and it rolls.
        maker.fundingRate = RATE;
        maker.feeRate = 2n;
        published = { fundingRate: RATE, feeRate: 2n };
        await scheduler.tick();
        assert.equal(attempts, 2);
        assert.equal(lastRun!.taker.type, 'completed');
        assert.equal(scheduler.paused(id), undefined, 'resumed');
        assert.deepEqual(paused.at(-1), undefined);
      });
    }

    it('a paused CFD resumes when the user changes the limits', async () => {
      maker.fundingRate = parseFundingRate('0.005');
      let now = taker.now + 3_660; // the CFD is due for a rollover
      const scheduler = new RolloverScheduler({
        cfds: async () => [taker.cfd],
        rollover: async () => {
          const r = await rollover();
          return { ...(r.limitRefusal ? { limitRefusal: r.limitRefusal } : {}) };
        },
        clock: () => now,
        limits: () => limits,
        // The maker publishes the same terms it refused with.
        makerTerms: () => ({ fundingRate: maker.fundingRate, feeRate: maker.feeRate }),
      });
      await scheduler.tick();
      const id = taker.cfd.terms!.id;
      assert.match(scheduler.paused(id)!.reason, /0\.005 .* beyond the taker's limit of ±0\.003/);
      now += 15 * 60;
      await scheduler.tick();
      assert.equal(attempts, 1);
      limits = { ...limits, version: 1, maxFundingRate: parseFundingRate('0.01') };
      await scheduler.tick();
      assert.equal(attempts, 2);
      assert.equal(scheduler.paused(id), undefined);
      assert.equal(taker.cfd.fundingRate, parseFundingRate('0.005'), 'rolled at the maker’s rate');
    });

    it('within the limits a rollover is not a limit refusal (no pause)', async () => {
      const { run, limitRefusal } = await rollover();
      assert.equal(run.taker.type, 'completed');
      assert.equal(limitRefusal, undefined);
    });
  });

  describe('a maker publishing offers beyond the taker’s limits', () => {
    const cleanups = new Cleanups();
    afterEach(() => cleanups.run());

    it('the offer is marked with the reason; an order on it is refused with the reason, nothing reserved or written', async () => {
      const { maker, taker } = await startMakerAndTaker(cleanups);

      // The taker's limits: the defaults, over the API; a maker has none.
      const shown = await taker.api.get('/api/taker/limits');
      assert.equal(shown.status, 200);
      assert.deepEqual(shown.body, {
        maxFundingRate: '0.003',
        maxOpeningFeeBps: 100,
        maxTxFeeRate: 100,
      });
      assert.equal((await maker.api.get('/api/taker/limits')).status, 409);

      // 0.01 BTC opening fee: 5 % of the largest margin the offer allows (10,000 contracts at 1×).
      const policy = await maker.api.request('PUT', '/api/maker/policy', {
        openingFee: '1000000',
        fundingRate: '0.01',
      });
      assert.equal(policy.status, 200, JSON.stringify(policy.body));
      type OfferView = { id: string; openingFee: string; outsideLimits: string[] };
      const offers = async (): Promise<OfferView[]> =>
        (await taker.api.get('/api/offers')).body.offers;
      await until('the taker sees the new offers', async () =>
        (await offers()).some((o) => o.openingFee === '1000000'),
      );
      const offer = (await offers()).find((o) => o.openingFee === '1000000')!;
      assert.equal(offer.outsideLimits.length, 2, offer.outsideLimits.join('; '));
      assert.match(offer.outsideLimits[0]!, /funding rate 0\.01 per settlement interval is beyond/);
      assert.match(
        offer.outsideLimits[1]!,
        /opening fee of 1000000 sats is 5\.0\d % of the taker's margin/,
      );

      const head = taker.daemon.store.head;
      const refused = await taker.api.post('/api/orders', {
        offerId: offer.id,
        lots: 1,
        leverage: 2,
      });
      assert.equal(refused.status, 400);
      assert.equal(refused.body.error.name, 'FundingRateAboveLimitError');
      assert.match(refused.body.error.message, /beyond the taker's limit of ±0\.003/);

      // The funding rate allowed, the opening fee still refuses the order.
      const raised = await taker.api.request('PUT', '/api/taker/limits', {
        maxFundingRate: '0.01',
      });
      assert.equal(raised.status, 200);
      assert.equal(raised.body.maxFundingRate, '0.01');
      const feeRefused = await taker.api.post('/api/orders', {
        offerId: offer.id,
        lots: 1,
        leverage: 2,
      });
      assert.equal(feeRefused.status, 400);
      assert.equal(feeRefused.body.error.name, 'OpeningFeeAboveLimitError');
      assert.match(
        feeRefused.body.error.message,
        /opening fee of 1000000 sats is 100\d\.\d\d % of the taker's margin of \d+ sats, above the taker's limit of 1\.00 %/,
      );

      // The protocol refuses it too, whatever calls it: nothing dialled, reserved or written.
      const found = taker.daemon.offers.book.find(maker.daemon.peerId, offer.id)!;
      await assert.rejects(
        taker.daemon.orders.placeOrder(peerIdFromString(maker.daemon.peerId), found, {
          quantity: 100n,
          leverage: 2,
        }),
        (err: Error) =>
          err instanceof OutsideTakerLimitsError && err.name === 'OpeningFeeAboveLimitError',
      );
      assert.equal(taker.daemon.store.head, head, 'no event written');
      assert.deepEqual((await taker.api.get('/api/cfds')).body.cfds, []);
      assert.equal(maker.daemon.readModel.openCfds().length, 0, 'the maker heard of no order');

      // Limits are kept across a restart of the store: the file holds them.
      assert.equal(taker.daemon.limits!.current.maxFundingRate, '0.01');
    });
  });
});
