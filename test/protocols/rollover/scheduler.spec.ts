// The taker's rollover cadence rule against the maker's choice of the new settlement event: run
// many rollovers on paper, each as soon as the scheduler's tick finds it due, and check that they
// come every rollover interval and move the event by exactly one interval. The live pair's
// cadence is test/e2e/rollover-cadence.spec.ts.
import assert from 'node:assert/strict';
import { oracleEventTime } from '../../../model/oracle-event.ts';
import { nextSettlementEventId } from '../../../protocols/rollover/contract.ts';
import { rolloverDueSecs } from '../../../protocols/rollover/scheduler.ts';

describe('protocols/rollover/scheduler: the rollover cadence', () => {
  for (const [name, settlement, interval, spacing] of [
    ['production: a day, hourly rollovers on hourly events', 86_400, 3_600, 3_600],
    ['the ×60 testnet: 1,440 s, every 60 s on minute events', 1_440, 60, 60],
    ['every second event', 1_440, 120, 60],
    ['the e2e specs: 60 s, every 10 s on 10-s events', 60, 10, 10],
  ] as const) {
    it(`${name}: a rollover every interval, each moving the event one interval`, () => {
      const cadence = { rolloverIntervalSecs: interval, eventSpacingSecs: spacing };
      // The scheduler looks every quarter interval; a run takes a few seconds.
      const tick = interval / 4;
      const runSecs = Math.min(3, tick);
      let now = 1_700_000_123;
      let event = oracleEventTime(nextSettlementEventId(now, settlement, spacing));
      const times: number[] = [];
      for (let i = 0; i < 24; i++) {
        const due = rolloverDueSecs(event, settlement, cadence);
        assert.ok(due !== undefined);
        // The first tick at or after `due` (ticks every `tick` seconds from the start).
        const start = Math.max(now, due);
        const ticked = 1_700_000_123 + Math.ceil((start - 1_700_000_123) / tick) * tick;
        now = ticked + runSecs;
        const next = oracleEventTime(nextSettlementEventId(ticked, settlement, spacing));
        if (i > 0) assert.equal(next - event, interval, `rollover ${i} moves the event`);
        event = next;
        times.push(now);
      }
      const mean = (times.at(-1)! - times[0]!) / (times.length - 1);
      // Twice the interval (the old rule, with the interval equal to the spacing) is far outside.
      assert.ok(
        Math.abs(mean - interval) <= interval / 20,
        `mean gap ${mean} s, not ${interval} s`,
      );
    });
  }

  it('a cadence no shorter than the settlement interval never rolls over', () => {
    assert.equal(rolloverDueSecs(1_700_000_000, 600, { rolloverIntervalSecs: 600 }), undefined);
  });
});
