// The taker rolls over at the configured cadence: a live maker and taker (whole daemons over
// libp2p, the embedded chain, a local oracle on a 10-s event grid) with `--rollover-interval 10`,
// the interval equal to the event spacing as on the ×60 testnet and in production. The cadence is
// measured from the rollover completion times in the taker's event log; the rule was once
// counted from the rounded-up settlement event, which made it twice the configured interval
// (2 minutes on a testnet that printed 60 s).
import assert from 'node:assert/strict';
import { oracleEventTime } from '../../model/oracle-event.ts';
import { openCfd, startNetwork, until, useCleanups } from './network.ts';

const INTERVAL_SECS = 10;
const ROLLOVERS = 4;

describe('e2e: the rollover cadence', function () {
  this.timeout(180_000);
  const cleanups = useCleanups();

  it(`the taker rolls over every --rollover-interval (${INTERVAL_SECS} s), each moving the settlement one interval`, async () => {
    const net = await startNetwork(cleanups, {
      'settlement-interval': '60',
      'oracle-event-interval': String(INTERVAL_SECS),
      'rollover-interval': String(INTERVAL_SECS),
    });
    const id = await openCfd(net);
    const completed = async () =>
      (await net.taker.store.readStream(id)).filter((e) => e.type === 'RolloverCompleted');
    const rolls = await until(
      `${ROLLOVERS} rollovers`,
      async () => {
        const r = await completed();
        return r.length >= ROLLOVERS && r;
      },
      // Long enough to see them at twice the cadence too, so such a failure says so below.
      (2 * ROLLOVERS + 2) * INTERVAL_SECS * 1000,
    );
    const times = rolls.map((e) => e.recordedAt / 1000);
    const mean = (times.at(-1)! - times[0]!) / (times.length - 1);
    // Within a quarter of the interval either way: twice the interval is far outside.
    assert.ok(
      Math.abs(mean - INTERVAL_SECS) <= INTERVAL_SECS / 4,
      `rollovers ${mean.toFixed(1)} s apart on average, configured ${INTERVAL_SECS} s (gaps ${times
        .slice(1)
        .map((t, i) => (t - times[i]!).toFixed(1))
        .join(', ')})`,
    );
    // Each rollover moved the settlement event by exactly the interval: one interval of funding.
    const events = rolls.map((e) =>
      oracleEventTime((e.data as { dlc: { settlementEventId: string } }).dlc.settlementEventId),
    );
    for (let i = 1; i < events.length; i++) {
      assert.equal(events[i]! - events[i - 1]!, INTERVAL_SECS, `rollover ${i + 1}`);
    }
    // The API says the same cadence the taker keeps.
    const view = await net.taker.app.cfd(id);
    assert.equal(view.view.funding?.rolloverIntervalSecs, INTERVAL_SECS);
  });
});
