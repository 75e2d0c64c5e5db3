// `/dlcfd/rollover/1.0.0` between two real nodes: libp2p on loopback, the embedded regtest chain,
// a local oracle (compressed time: 60 s settlement interval, an event every 5 s), contracts set
// up by the real order protocol, records and logs on disk. The nodes' rollover clocks run ahead
// by 10 s per rollover so each one moves the settlement event.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { signedCommit, signedPunish } from '../../../dlc/index.ts';
import type { Offer } from '../../../model/offer.ts';
import { oracleEventTime } from '../../../model/oracle-event.ts';
import { parseFundingRate } from '../../../model/units.ts';
import { broadcast } from '../../../node/chain/broadcast.ts';
import { loadOrCreateIdentity } from '../../../node/p2p/identity.ts';
import { createP2pNode, type P2pNode } from '../../../node/p2p/node.ts';
import {
  NotCounterpartyError,
  ROLLOVER_PROTOCOL,
  type RolloverDecision,
  RolloverMessageSchema,
  rolloverDue,
} from '../../../protocols/rollover/index.ts';
import { Framed } from '../../../protocols/wire.ts';
import * as live from '../../helpers/live-nodes.ts';
import { until } from '../../helpers/wait.ts';
import { silent } from '../../node/chain/helpers.ts';

const SETTLEMENT_INTERVAL_S = 60;
const show = (o: { type: string; reason?: string }) => `${o.type}: ${o.reason ?? ''}`;
const EVENT_INTERVAL_S = 5;
const CADENCE = { rolloverIntervalSecs: 10, eventSpacingSecs: EVENT_INTERVAL_S };
const RATE = parseFundingRate('0.0003');

type Side = live.RolloverNode;

describe('protocols/rollover over libp2p with real wallets, chain and oracle', function () {
  this.timeout(60_000);
  const w = live.worldFor({
    eventIntervalS: EVENT_INTERVAL_S,
    lookaheadS: 3 * SETTLEMENT_INTERVAL_S,
  });
  let maker: Side;
  let taker: Side;
  let stranger: P2pNode | undefined;
  let skew = 0;
  /** The maker's default decision: accept at RATE as of now. */
  const accepting = (): RolloverDecision => ({
    accept: true,
    fundingRate: RATE,
    fundingRateAsOf: clock(),
    feeRate: 2n,
  });
  let decision: () => RolloverDecision | Promise<RolloverDecision> = accepting;
  const clock = () => Math.floor(Date.now() / 1000) + skew;

  const offer = (): Offer =>
    live.gridOffer(Math.floor(Date.now() / 1000), SETTLEMENT_INTERVAL_S, EVENT_INTERVAL_S);
  let offers: Offer[] = [];

  const side = (name: 'maker' | 'taker'): Promise<Side> =>
    live.openRolloverNode(join(w.dir, name), name, w, w.pool, {
      offers: () => offers,
      policy: () => decision(),
      config: {
        liquidationEventCount: 2,
        eventSpacingSecs: EVENT_INTERVAL_S,
        settlementWindowSecs: 2 * EVENT_INTERVAL_S,
      },
      clock,
      logger: silent,
    });

  before(async () => {
    ({ maker, taker } = await live.openPair(w, side));
    w.cleanups.add(() => stranger?.stop());
  });

  /** An open contract: order placed and set up, lock broadcast, mined, confirmed in both logs. */
  async function openContract(): Promise<string> {
    skew = 0;
    offers = [offer()];
    return live.openContract(w, maker, taker, offers[0]!);
  }

  const roll = async (id: string) => {
    skew += 10;
    const r = await taker.rollovers.rollover(maker.node.peerId, id);
    return r.outcome;
  };
  const types = async (s: Side, id: string) => (await s.store.readStream(id)).map((e) => e.type);

  it('rolls over twice; the maker publishes its first commit; the taker punishes and it confirms', async () => {
    const id = await openContract();
    const makerGen0 = (await maker.contracts.get(id))!;
    const first = await roll(id);
    assert.equal(first.type, 'completed', show(first));
    const second = await roll(id);
    assert.equal(second.type, 'completed', show(second));
    const t = (await taker.contracts.get(id))!;
    const m = (await maker.contracts.get(id))!;
    assert.equal(t.commit.txid, m.commit.txid);
    assert.equal(t.revoked.length, 2);
    assert.equal(t.revoked[0]!.txid, makerGen0.commit.txid);
    assert.equal(t.events.length, 3);
    const tCfd = await taker.repository.load(id);
    const mCfd = await maker.repository.load(id);
    assert.equal(tCfd.dlc?.commitTxid, t.commit.txid);
    assert.equal(tCfd.feeBalance, mCfd.feeBalance);
    assert.equal((await types(taker, id)).filter((x) => x === 'RolloverCompleted').length, 2);
    assert.equal((await types(maker, id)).filter((x) => x === 'RolloverCompleted').length, 2);
    // Not due while its event is a whole settlement interval away (as just after the rollover).
    const event = oracleEventTime(tCfd.dlc!.settlementEventId);
    assert.equal(rolloverDue(tCfd, event - SETTLEMENT_INTERVAL_S, CADENCE), false);
    assert.equal(rolloverDue(tCfd, clock() + 200, CADENCE), true);

    // The maker cheats with its first-generation commit.
    const old = signedCommit(makerGen0);
    await broadcast(w.rpc, old.toHex());
    await w.chain.mine(1);
    const punish = signedPunish(t, old);
    await broadcast(w.rpc, punish.toHex());
    await w.chain.mine(1);
    const info = await w.rpc.getTransaction(punish.getId());
    assert.ok(info && info.confirmations > 0);
    await taker.repository.execute(id, { type: 'seeRevokedCommit', txid: old.getId() });
  });

  it('a taker that missed the maker’s revocation rolls over from its older commit', async () => {
    const id = await openContract();
    const gen0 = (await taker.contracts.get(id))!;
    assert.equal((await roll(id)).type, 'completed');
    // As if the maker's secret never arrived: the taker holds the new record as pending.
    const gen1 = (await taker.contracts.get(id))!;
    const { revoked: _r, ...rest } = gen1;
    await taker.contracts.put(id, {
      ...rest,
      revoked: [],
      previous: gen0,
    });
    const r = await roll(id);
    assert.equal(r.type, 'completed', show(r));
    if (r.type !== 'completed') return;
    // gen0 is revoked at the maker: the base moves to gen1, funding is charged from it.
    assert.equal(r.baseCommitTxid, gen1.commit.txid);
    const t = (await taker.contracts.get(id))!;
    const m = (await maker.contracts.get(id))!;
    assert.equal(t.commit.txid, m.commit.txid);
    assert.deepEqual(
      t.revoked.map((x) => x.txid),
      [gen0.commit.txid, gen1.commit.txid],
    );
    assert.equal(t.previous, undefined);
  });

  it('a force close during the rollover keeps the published commit’s revocation secret here', async () => {
    const id = await openContract();
    const gen0 = (await taker.contracts.get(id))!;
    // The user force-closes on the old contract while the rollover runs: once the pending record
    // is stored, the commit of the record in force then (gen0) is published.
    const put = taker.contracts.put.bind(taker.contracts);
    taker.contracts.put = async (cfdId, record) => {
      await put(cfdId, record);
      if (record.previous) {
        const commit = signedCommit(gen0);
        await taker.repository.execute(cfdId, {
          type: 'commit',
          commitTx: { txid: commit.getId(), hex: commit.toHex() },
        });
      }
    };
    let r: Awaited<ReturnType<typeof roll>>;
    try {
      r = await roll(id);
    } finally {
      taker.contracts.put = put;
    }
    assert.equal(r.type, 'failed', show(r));
    assert.match(show(r), /revocation secret stays here/);
    // The maker never got the secret: publishing gen0 cannot be punished.
    for (let i = 0; (await maker.repository.load(id)).rollover !== undefined; i++) {
      if (i > 500) throw new Error('the maker never ended its rollover');
      await new Promise((res) => setTimeout(res, 20));
    }
    const m = (await maker.contracts.get(id))!;
    assert.ok(!m.revoked.some((v) => v.txid === gen0.commit.txid));
    assert.ok(!(await maker.repository.load(id)).revokedCommitTxids.includes(gen0.commit.txid));
    assert.equal((await taker.repository.load(id)).commitTx?.txid, gen0.commit.txid);
  });

  it('the maker rejects: both stay open with the old commit', async () => {
    const id = await openContract();
    const before = (await taker.contracts.get(id))!;
    decision = () => ({ accept: false, reason: 'market closed' });
    try {
      const r = await roll(id);
      assert.deepEqual(r, { type: 'rejected', reason: 'market closed' });
    } finally {
      decision = accepting;
    }
    assert.equal((await taker.contracts.get(id))!.commit.txid, before.commit.txid);
    assert.equal((await maker.contracts.get(id))!.commit.txid, before.commit.txid);
    for (const s of [taker, maker]) {
      const cfd = await s.repository.load(id);
      assert.equal(cfd.rollover, undefined);
      assert.equal(cfd.dlc?.commitTxid, before.commit.txid);
    }
    assert.deepEqual((await types(taker, id)).slice(-2), ['RolloverStarted', 'RolloverRejected']);
  });

  it('a funding rate beyond the taker’s limits: refused as a limit refusal, the old commit in force', async () => {
    const id = await openContract();
    const before = (await taker.contracts.get(id))!;
    decision = () => ({
      accept: true,
      fundingRate: parseFundingRate('0.5'),
      fundingRateAsOf: clock(),
      feeRate: 2n,
    });
    try {
      skew += 10;
      const r = await taker.rollovers.rollover(maker.node.peerId, id);
      assert.equal(r.outcome.type, 'failed');
      if (r.outcome.type === 'failed') assert.equal(r.outcome.revealed, false);
      assert.match(r.limitRefusal?.reason ?? '', /funding rate 0\.5 .* limit of ±0\.003/);
      assert.equal(r.limitRefusal?.fundingRate, parseFundingRate('0.5'));
    } finally {
      decision = accepting;
    }
    assert.equal((await taker.contracts.get(id))!.commit.txid, before.commit.txid);
    const cfd = await taker.repository.load(id);
    assert.equal(cfd.dlc?.commitTxid, before.commit.txid);
    assert.deepEqual((await types(taker, id)).slice(-2), ['RolloverStarted', 'RolloverFailed']);
    // Within the limits again, it rolls over.
    assert.equal((await roll(id)).type, 'completed');
  });

  it('a stranger proposing the rollover of someone else’s CFD is refused before it claims anything: the taker’s rollover goes ahead', async () => {
    const id = await openContract();
    const { commit } = (await taker.contracts.get(id))!;
    // The maker's policy holds every decision until released: a proposal that got as far as the
    // policy would hold the CFD's rollover slot meanwhile.
    const held: (() => void)[] = [];
    decision = () => new Promise((res) => held.push(() => res(accepting())));
    const release = () => {
      for (const r of held.splice(0)) r();
    };
    stranger = await createP2pNode({
      privateKey: await loadOrCreateIdentity(join(w.dir, 'stranger')),
    });
    await stranger.dial(maker.node.getMultiaddrs()[0]!);
    const f = new Framed(await stranger.dialProtocol(maker.node.peerId, ROLLOVER_PROTOCOL), {
      maxMessageBytes: 4 * 1024 * 1024,
      timeoutMs: 10_000,
    });
    try {
      await f.write({
        type: 'propose',
        cfdId: id,
        fromCommitTxid: commit.txid,
        timestamp: clock(),
      });
      let answer: unknown;
      const answered = f.read(RolloverMessageSchema).then((m) => (answer = m));
      await until('the stranger answered or its proposal held', () => answer ?? held.length > 0);
      // The real taker asks while the stranger's proposal would be held.
      const strangers = held.length;
      skew += 10;
      const rolling = taker.rollovers.rollover(maker.node.peerId, id);
      let done = false;
      void rolling.then(() => (done = true));
      await until(
        'the taker’s decision held or its run ended',
        () => held.length > strangers || done,
      );
      release();
      const r = (await rolling).outcome;
      assert.equal(r.type, 'completed', show(r));
      assert.deepEqual(await answered, {
        type: 'decision',
        accept: false,
        reason: new NotCounterpartyError(id).message,
      });
    } finally {
      release();
      decision = accepting;
      f.abort(new Error('test over'));
    }
  });
});
