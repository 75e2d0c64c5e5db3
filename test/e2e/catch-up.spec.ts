// End to end, whole daemons: a taker that falls behind its maker rolls over from its older
// commit. The maker cannot roll a contract over alone, so "behind" means exactly what the rollover
// protocol means by it (protocols/rollover/contract.ts): the taker revealed its old revocation
// secret, the maker completed the rollover, and the taker never heard the maker's secrets back.
// The taker is left with the new commit pending and its last completed commit as the base of its
// next rollover, while the maker is already one commit further. Here the taker is cut off at that
// moment, stays down while the oracle's event schedule moves on for several rollover periods and
// the maker changes its funding rate, then restarts from the same data dir and catches up.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { peerIdFromString } from '@libp2p/peer-id';
import type { Transaction } from 'bitcoinjs-lib';
import type { ContractRecord } from '../../dlc/contract.ts';
import { signedCommit } from '../../dlc/contract.ts';
import { PUNISH_VBYTES } from '../../dlc/transactions.ts';
import { uiState } from '../../model/cfd.ts';
import { oracleEventTime } from '../../model/oracle-event.ts';
import { parsePrice } from '../../model/units.ts';
import { Daemon } from '../../node/daemon/daemon.ts';
import {
  CannotRolloverError,
  ROLLOVER_PROTOCOL,
  type RolloverResultEvent,
} from '../../protocols/rollover/index.ts';
import { silent } from '../node/chain/helpers.ts';
import {
  cfd,
  closeCollaboratively,
  confirmAfterMempool,
  type Network,
  openCfd,
  outputOf,
  startNetwork,
  takerRow,
  until,
  useCleanups,
} from './network.ts';

/** A minute-long settlement interval: room for a taker to stay down through several rollovers. */
const SETTLEMENT = '60';

const record = async (d: Daemon, id: string) => await d.contracts.get(id);
const revokedIn = (r: ContractRecord) => r.revoked.map((x) => x.txid);

/** Sets the maker's funding rate (through its policy store where the daemon has one). */
async function setFundingRate(maker: Daemon, rate: string): Promise<void> {
  const policy = (
    maker as unknown as { policy?: { update(p: { fundingRate: string }): Promise<unknown> } }
  ).policy;
  if (policy) await policy.update({ fundingRate: rate });
  else (maker.config.maker as { fundingRate: string }).fundingRate = rate;
}

/** The taker's rollovers fail at once, as an unreachable node's would, until `online` is called. */
function offline(taker: Daemon): { online(): void } {
  const r = taker.rollovers as { rollover: Daemon['rollovers']['rollover'] };
  r.rollover = () => Promise.reject(new CannotRolloverError('the taker is offline'));
  return { online: () => delete (r as { rollover?: unknown }).rollover };
}

/**
 * Cuts CFD `id`'s next rollover at its worst moment: when the maker persists its final record —
 * it holds the taker's old revocation secrets — and before its own secrets go out. The taker's
 * rollovers are switched off first (`offline`), then the rollover streams are reset. Resolves
 * with the maker's signed commit of that rollover (current at the maker, pending at the taker),
 * and the handle to bring the taker's rollovers back.
 */
function cutAfterTakerRevealed(
  net: Network,
  id: string,
): Promise<{ makersNewCommit: Transaction; online(): void }> {
  const contracts = net.maker.contracts;
  const put = contracts.put.bind(contracts);
  const taker = peerIdFromString(net.taker.peerId);
  return new Promise((resolve) => {
    contracts.put = async (cfdId, next) => {
      const stored = await contracts.get(cfdId);
      const final = stored?.previous && !next.previous;
      if (cfdId !== id || !final) return put(cfdId, next);
      delete (contracts as { put?: unknown }).put;
      const handle = offline(net.taker);
      for (const c of net.maker.p2p.getConnections(taker)) {
        for (const s of c.streams) if (s.protocol === ROLLOVER_PROTOCOL) s.abort(new Error('cut'));
      }
      await put(cfdId, next);
      resolve({ makersNewCommit: signedCommit(next), online: handle.online });
    };
  });
}

/** Both sides on the same commit, open, no rollover under way: one consistent snapshot. */
async function agreed(net: Network, id: string, ms = 90_000) {
  return until(
    'both on the same commit',
    async () => {
      const [m, t] = [await cfd(net.maker, id), await cfd(net.taker, id)];
      const [rm, rt] = [await record(net.maker, id), await record(net.taker, id)];
      const same =
        m?.dlc &&
        t?.dlc &&
        m.dlc.commitTxid === t.dlc.commitTxid &&
        rm?.commit.txid === m.dlc.commitTxid &&
        rt?.commit.txid === t.dlc.commitTxid &&
        !rt.previous &&
        !rm.previous;
      const idle = m && t && uiState(m) === 'open' && uiState(t) === 'open';
      return same && idle ? { m, t, rm: rm!, rt: rt! } : undefined;
    },
    ms,
  );
}

describe('e2e: a taker that fell behind catches up from its older commit', function () {
  this.timeout(240_000);
  const cleanups = useCleanups();
  let net: Network;

  before(async () => {
    // Roll over when less than 48 s of the 60-second interval is left: every 12–17 s, so that
    // even on a loaded machine (a rollover then takes seconds) both sides are idle in between.
    net = await startNetwork(cleanups, {
      'settlement-interval': SETTLEMENT,
      'rollover-interval': '12',
    });
  });

  it('offline through several rollover periods and a rate change: restarts, catches up, closes at its curve', async () => {
    const id = await openCfd(net);
    const c0 = (await cfd(net.taker, id))!.dlc!.commitTxid;
    // One rollover completes normally on both sides.
    const first = await until(
      'a first rollover',
      async () => {
        const s = await agreed(net, id);
        return s.t.revokedCommitTxids.includes(c0) ? s : undefined;
      },
      60_000,
    );
    const c1 = first.t.dlc!.commitTxid;

    // The next one is cut after the taker revealed C1's secret: the maker is on C2, the taker
    // keeps C2 pending and C1 as its base.
    const { makersNewCommit } = await cutAfterTakerRevealed(net, id);
    const c2 = makersNewCommit.getId();
    const behind = await until('the taker recorded the failure', async () => {
      const [t, rt] = [await cfd(net.taker, id), await record(net.taker, id)];
      return t && !t.rollover && rt?.previous ? { t, rt } : undefined;
    });
    assert.equal(behind.t.dlc!.commitTxid, c1, 'the taker’s contract is still C1');
    assert.equal(behind.rt.commit.txid, c2, 'with C2 pending');
    assert.equal(behind.rt.previous!.commit.txid, c1);
    const makerOnC2 = await until('the maker completed', async () => {
      const m = await cfd(net.maker, id);
      return m?.dlc?.commitTxid === c2 && !m.rollover ? m : undefined;
    });
    assert.ok(makerOnC2.revokedCommitTxids.includes(c1));

    // Down for several rollover periods; meanwhile the maker's funding rate changes.
    const config = net.taker.config;
    await net.taker.stop();
    await setFundingRate(net.maker, '0.001');
    const downFor = 20;
    await sleep(downFor * 1000);
    const m = await cfd(net.maker, id);
    assert.equal(m?.dlc?.commitTxid, c2, 'the maker cannot roll over alone');
    assert.equal(uiState(m!), 'open');

    // Back, from the same data dir: the first rollover starts from C1 and revokes C1 and C2.
    const taker = await Daemon.start(config, { logger: silent });
    cleanups.push(() => taker.stop());
    net.taker = taker;
    const outcomes: RolloverResultEvent[] = [];
    taker.rollovers.onOutcome((o) => outcomes.push(o));
    const catchUp = await until(
      'the catch-up rollover',
      () => outcomes.find((o) => o.cfdId === id && o.outcome.type === 'completed')?.outcome,
      60_000,
    );
    assert.equal(catchUp.type, 'completed');
    if (catchUp.type !== 'completed') return;
    // C1 is revoked at the maker (the taker revealed it): the base moves to C2, the oldest commit
    // live on both sides, proven with the taker's own C1 secret.
    assert.equal(catchUp.baseCommitTxid, c2, 'rolled over from the oldest live commit');
    // Funding for every second the settlement event moved from C2's, at the new rate — in full,
    // however long the taker was away.
    const c3 = catchUp.record.commit.txid;
    const moved =
      oracleEventTime(catchUp.record.settlementEventId) -
      oracleEventTime(behind.rt.settlementEventId);
    assert.ok(moved >= downFor, `moved ${moved} s`);
    assert.equal(catchUp.chargedSecs, moved);

    // Both sides on one contract, every earlier commit revoked on both, funding the same on both
    // sides and the same as their curves carry.
    const s = await agreed(net, id);
    for (const [side, c, r] of [
      ['maker', s.m, s.rm],
      ['taker', s.t, s.rt],
    ] as const) {
      for (const old of [c0, c1, c2]) {
        assert.ok(revokedIn(r).includes(old), `${side} holds the secret of ${old}`);
        assert.ok(c.revokedCommitTxids.includes(old), `${side} knows ${old} is revoked`);
      }
      assert.equal(c.feeBalance, r.feeBalances?.[c.dlc!.commitTxid], `${side}: aggregate = curve`);
    }
    assert.equal(s.m.feeBalance, s.t.feeBalance);
    if (s.t.dlc!.commitTxid === c3) {
      assert.equal(s.t.feeBalance, catchUp.feeBalance);
    }
    assert.ok(s.t.feeBalance > first.t.feeBalance, 'the long taker paid funding');

    // Closes collaboratively; the taker is paid its curve row at the closing price.
    const closing = await closeCollaboratively(net, taker, id);
    const price = Number(closing.closePrice! / 100_000_000n);
    const out = await outputOf(taker, closing.closeTx!.txid, 1);
    const row = takerRow(closing, price);
    assert.ok(out && row - out.value >= 0n && row - out.value < 200n, `${row} vs ${out?.value}`);
  });

  it('a commit the taker only had pending is punished once the catch-up revoked it', async () => {
    const id = await openCfd(net);
    const c0 = (await cfd(net.taker, id))!.dlc!.commitTxid;
    await until(
      'a first rollover',
      async () => ((await agreed(net, id)).t.revokedCommitTxids.includes(c0) ? true : undefined),
      60_000,
    );
    // Cut as above, but the taker comes back at once.
    const { makersNewCommit: stale, online } = await cutAfterTakerRevealed(net, id);
    await until('the taker behind', async () => {
      const [t, rt] = [await cfd(net.taker, id), await record(net.taker, id)];
      return t && !t.rollover && rt?.previous?.commit.txid === t.dlc?.commitTxid;
    });
    online();
    await until(
      'caught up',
      async () =>
        (await agreed(net, id)).t.revokedCommitTxids.includes(stale.getId()) ? true : undefined,
      60_000,
    );
    // The maker publishes the commit that was only ever pending at the taker.
    await net.maker.rpc!.sendRawTransaction(stale.toHex());
    await net.chain.mine(1);
    const punishing = await until(
      'punish published',
      async () => (await cfd(net.taker, id))?.punishTx,
    );
    await confirmAfterMempool(net.chain, net.taker, punishing.txid);
    await until('punished', async () => (await cfd(net.taker, id))?.settled === 'punish');
    const out = await outputOf(net.taker, punishing.txid, 0);
    // A quiet chain has no estimate: the punish starts at the 1 sat/vB fallback, 232 vB.
    assert.equal(out?.value, stale.outs[0]!.value - PUNISH_VBYTES);
  });

  it('behind, the taker force-closes: its pending commit confirms and the CET pays the new curve on both sides', async () => {
    const id = await openCfd(net);
    const c0 = (await cfd(net.taker, id))!.dlc!.commitTxid;
    await until(
      'a first rollover',
      async () => ((await agreed(net, id)).t.revokedCommitTxids.includes(c0) ? true : undefined),
      60_000,
    );
    // Cut as above; the taker stays behind: its log names C1, its record C2 (pending).
    const { makersNewCommit } = await cutAfterTakerRevealed(net, id);
    const c2 = makersNewCommit.getId();
    const behind = await until('the taker behind', async () => {
      const [t, rt] = [await cfd(net.taker, id), await record(net.taker, id)];
      return t && rt && !t.rollover && rt.previous?.commit.txid === t.dlc?.commitTxid
        ? { t, rt }
        : undefined;
    });
    assert.equal(behind.rt.commit.txid, c2);
    assert.notEqual(behind.t.dlc!.commitTxid, c2);

    // The force close signs the record's current commit (ui-server's POST /api/cfds/:id/commit).
    const commit = signedCommit(behind.rt);
    assert.equal(commit.getId(), c2);
    await net.taker.cfds.execute(id, {
      type: 'commit',
      commitTx: { txid: commit.getId(), hex: commit.toHex() },
    });
    await confirmAfterMempool(net.chain, net.taker, c2);
    for (const d of [net.maker, net.taker]) {
      await until('committed', async () => (await cfd(d, id))?.commitConfirmed);
    }
    assert.equal((await cfd(net.taker, id))!.confirmedCommitTxid, c2);
    // A fresh quote: the test feed does not tick, and the oracle attests only a fresh price.
    net.feed.setPrice(parsePrice('50000'));
    await net.chain.mine(12);
    const cet = await until(
      'attestation and CET',
      async () => {
        const c = await cfd(net.taker, id);
        return c?.cet && c.cetTimelockExpired ? c.cet : undefined;
      },
      120_000,
    );
    await confirmAfterMempool(net.chain, net.taker, cet.txid);
    for (const d of [net.maker, net.taker]) {
      await until('closed', async () => (await cfd(d, id))?.settled === 'cet');
    }
    // The taker is paid C2's curve: the fee balance C2's record carries, not the log's (C1's).
    const closed = (await cfd(net.taker, id))!;
    const price = Number(closed.attestation!.price / 100_000_000n);
    const balance = behind.rt.feeBalances![c2]!;
    const row = takerRow({ ...closed, feeBalance: balance }, price);
    const out = await outputOf(net.taker, cet.txid, 1);
    assert.ok(out && row - out.value >= 0n && row - out.value < 1_000n, `${row} vs ${out?.value}`);
  });
});
