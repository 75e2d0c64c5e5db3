// The chain milestones in the log: a real event log on disk, a CFD driven through a force close
// that ends in a liquidation CET and through a punish, and the daemon's milestone logger writing
// pino JSON lines to a stream — each line names the CFD (`cfd`) and the transaction (`txid`).
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { CfdRepository } from '../../../eventstore/cfd-repository.ts';
import { EventStore, type Subscription } from '../../../eventstore/event-store.ts';
import type { CfdCommand } from '../../../model/cfd.ts';
import { parseFundingRate, price } from '../../../model/units.ts';
import { logChainMilestones } from '../../../node/daemon/chain-log.ts';
import { DAY, dlc, HOUR, T0, tempDir, terms, tx } from '../../helpers/cfd-fixtures.ts';
import { until } from '../../helpers/wait.ts';

interface Line {
  level: number;
  msg: string;
  cfd?: string;
  txid?: string;
  liquidation?: boolean;
  price?: string;
  component?: string;
}

describe('node/daemon/chain-log: info lines for commit, CET, liquidation, refund and punish', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let store: EventStore;
  let repo: CfdRepository;
  let subscription: Subscription;
  const lines: Line[] = [];

  before(async () => {
    dir = await tempDir();
    store = await EventStore.open(dir.path);
    repo = new CfdRepository(store, () => T0);
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l) as Line);
        done();
      },
    });
    subscription = logChainMilestones(store, pino({ level: 'info' }, sink));
  });

  after(async () => {
    subscription.close();
    await store.close();
    await dir.cleanup();
  });

  const run = async (id: string, commands: CfdCommand[]) => {
    for (const c of commands) await repo.execute(id, c);
  };
  const open = (id: string): CfdCommand[] => [
    { type: 'placeOrder', terms: terms({ id }) },
    { type: 'startContractSetup' },
    { type: 'completeContractSetup', dlc: dlc() },
    { type: 'confirmLock' },
  ];
  const lineFor = (msg: string, cfd: string) =>
    until(`the log line '${msg}'`, () => lines.find((l) => l.msg === msg && l.cfd === cfd));

  it('a force close ending in a liquidation: commit published and confirmed, the liquidation CET published and confirmed', async () => {
    const id = 'cfd-liquidated';
    const liquidationEvent = dlc().oracleEventIds[0]!; // an hour before the settlement event
    await run(id, [
      ...open(id),
      { type: 'commit', commitTx: tx('commit-0') },
      { type: 'confirmCommit' },
      { type: 'expireCetTimelock' },
      { type: 'attest', eventId: liquidationEvent, price: price(30_000), cet: tx('cet') },
      { type: 'confirmCet', txid: tx('cet').txid },
    ]);
    const INFO = 30;
    const lock = await lineFor('lock confirmed', id);
    assert.equal(lock.txid, tx('lock').txid);
    const commit = await lineFor('publishing the commit (force close)', id);
    assert.deepEqual([commit.level, commit.txid], [INFO, tx('commit-0').txid]);
    assert.equal(commit.component, 'chain-log');
    assert.equal((await lineFor('commit confirmed', id)).txid, tx('commit-0').txid);
    const cet = await lineFor('publishing the liquidation CET', id);
    assert.deepEqual(
      [cet.level, cet.txid, cet.liquidation, cet.price],
      [INFO, tx('cet').txid, true, '30000'],
    );
    const confirmed = await lineFor('liquidation CET confirmed', id);
    assert.equal(confirmed.txid, tx('cet').txid);
  });

  it('a punish and a refund each get theirs', async () => {
    const cheated = 'cfd-punished';
    await run(cheated, [
      ...open(cheated),
      // A rollover revokes commit-0; the counterparty publishes it anyway.
      { type: 'startRollover', proposedBy: 'taker' },
      {
        type: 'completeRollover',
        dlc: dlc(T0 + DAY + HOUR, 1),
        fundingRate: parseFundingRate('0.00024'),
      },
      { type: 'seeRevokedCommit', txid: tx('commit-0').txid },
      { type: 'publishPunish', punishTx: tx('punish') },
      { type: 'confirmPunish' },
    ]);
    assert.equal(
      (await lineFor('a revoked commit is on chain: punishing', cheated)).txid,
      tx('commit-0').txid,
    );
    assert.equal((await lineFor('publishing the punish', cheated)).txid, tx('punish').txid);
    assert.equal((await lineFor('punish confirmed', cheated)).txid, tx('punish').txid);

    const refunded = 'cfd-refunded';
    await run(refunded, [
      ...open(refunded),
      { type: 'commit', commitTx: tx('commit-0') },
      { type: 'confirmCommit' },
      { type: 'expireRefundTimelock', refundTx: tx('refund') },
      { type: 'confirmRefund' },
    ]);
    assert.equal((await lineFor('publishing the refund', refunded)).txid, tx('refund').txid);
    assert.equal((await lineFor('refund confirmed', refunded)).txid, tx('refund').txid);
  });
});
