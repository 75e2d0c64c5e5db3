// The promise under a real fee market: with the embedded chain's minimum relay fee raised to
// 20 sat/vB and every block filled at 50 sat/vB by other transactions (a spike after the CFD was
// set up at 1 sat/vB), a force close (commit, then CET), a refund, a punish of a revoked commit a
// miner mined directly, and a collaborative close each confirm — and the deadlines hold. Each
// test first shows what the node did before fee bumping existed: the pre-signed transaction as
// signed cannot even enter a mempool.
import assert from 'node:assert/strict';
import { Transaction } from 'bitcoinjs-lib';
import { signedCommit } from '../../dlc/contract.ts';
import { uiState } from '../../model/cfd.ts';
import { parsePrice } from '../../model/units.ts';
import { statusView } from '../../node/app/views/status.ts';
import type { EmbeddedChain } from '../../node/chain/embedded.ts';
import type { Daemon } from '../../node/daemon/daemon.ts';
import {
  cfd,
  type Network,
  openCfd,
  settleRetrying,
  startNetwork,
  until,
  useCleanups,
} from './network.ts';

/** Small blocks: a spike fills one with a few dozen fillers. */
const BLOCK_MAX_WEIGHT = 40_000;
const MIN_RELAY = 20;
const SPIKE = 50;

/** Waits until every daemon has handled the chain's tip (its bumper's pass included). */
async function settled(chain: EmbeddedChain, daemons: readonly Daemon[]): Promise<void> {
  for (const d of daemons) {
    await until(`${d.config.role} at the tip`, () => d.bumper.height === chain.height);
  }
}

/**
 * Mines one block at a time (each full of fillers), letting both nodes react to each, until
 * `done` holds; at most `max` blocks. Resolves with the number of blocks mined.
 */
async function mineUntil(
  net: Pick<Network, 'chain' | 'maker' | 'taker'>,
  what: string,
  done: () => Promise<unknown>,
  max: number,
): Promise<number> {
  for (let n = 0; n <= max; n++) {
    await settled(net.chain, [net.maker, net.taker]);
    if (await done()) return n;
    if (n < max) await net.chain.mine(1);
  }
  const bumps = [net.maker, net.taker].map((d) => d.bumper.pending());
  throw new Error(
    `${what}: not within ${max} blocks; bumps ${JSON.stringify(bumps, (_k, v) => (typeof v === 'bigint' ? String(v) : v))}`,
  );
}

/** The fee market turns hostile: min relay 20, blocks full at 50, and the nodes have seen it. */
async function spike(net: Network): Promise<void> {
  net.chain.setMinRelayFeeRate(MIN_RELAY);
  await net.chain.setFeeSpike({ rate: SPIKE });
  // Full blocks teach estimatesmartfee the new market.
  await net.chain.mine(3);
  for (const d of [net.maker, net.taker]) {
    await until('the spike estimated', () => (d.fees.current()?.rate ?? 0n) >= BigInt(SPIKE));
  }
}

async function confirmations(d: Daemon, txid: string): Promise<number> {
  return (await d.rpc!.getTransaction(txid))?.confirmations ?? 0;
}

/** The fee rate (sat/vB) the transaction pays alone, given what it spends. */
function ownRate(hex: string, spent: bigint): bigint {
  const tx = Transaction.fromHex(hex);
  const out = tx.outs.reduce((a, o) => a + BigInt(o.value), 0n);
  return (spent - out) / BigInt(tx.virtualSize());
}

/**
 * Both nodes send a CET or a refund: the one it pays more (the maker on a tie) paid one child
 * for it at the spike rate, and the other none (two children would pay twice for one package).
 */
async function oneChildPaid(
  net: Network,
  id: string,
  kind: 'cet' | 'refund',
  hex: string,
): Promise<void> {
  const { payoutScripts } = (await net.taker.contracts.get(id))!;
  const to = (script: string) =>
    Transaction.fromHex(hex).outs.reduce(
      (a, o) => (Buffer.from(o.script).toString('hex') === script ? a + BigInt(o.value) : a),
      0n,
    );
  const payer = to(payoutScripts.maker) >= to(payoutScripts.taker) ? 'maker' : 'taker';
  const [pays, waits] = payer === 'maker' ? [net.maker, net.taker] : [net.taker, net.maker];
  const paid = pays.bumper.status(id).find((b) => b.kind === kind);
  assert.ok(paid?.childTxid, `the ${payer}, paid more by the ${kind}, paid a child for it`);
  assert.ok(paid.rate >= BigInt(SPIKE), `package rate ${paid.rate} ≥ ${SPIKE}`);
  const other = waits.bumper.status(id).find((b) => b.kind === kind);
  assert.ok(other, 'the other node followed it too');
  assert.equal(other.childTxid, undefined, 'and paid none');
  assert.equal(other.spent, 0n);
}

describe('e2e: a real fee market (min relay 20 sat/vB, blocks full at 50)', function () {
  this.timeout(300_000);

  describe('force close and refund', () => {
    const cleanups = useCleanups();

    it('a force close confirms: the commit through our anchor, then the CET through our payout', async () => {
      const net = await startNetwork(cleanups, {}, {}, { blockMaxWeight: BLOCK_MAX_WEIGHT });
      const id = await openCfd(net);
      const record = (await net.taker.contracts.get(id))!;
      assert.equal(record.commit.anchors, true, 'set up with anchors');
      await spike(net);
      const commit = signedCommit(record);
      // As signed (1 sat/vB), the commit does not even enter a mempool: today's main stops here.
      await assert.rejects(
        net.taker.rpc!.sendRawTransaction(commit.toHex()),
        /min relay fee not met/,
      );

      await net.taker.cfds.execute(id, {
        type: 'commit',
        commitTx: { txid: commit.getId(), hex: commit.toHex() },
      });
      // Counted from when it went out with its child (the node follows it after the command).
      await until('the commit out with a child', () =>
        net.taker.bumper.status(id).some((b) => b.kind === 'commit' && b.childTxid),
      );
      // Within 4 blocks: the policy aims at its 6-block deadline less a 2-block margin. (Its rate
      // can equal the fillers' at 50, so which block takes it is the miner's coin flip.)
      await mineUntil(
        net,
        'the commit confirmed',
        async () => (await confirmations(net.taker, commit.getId())) > 0,
        4,
      );
      const [bump] = net.taker.bumper.status(id).filter((b) => b.kind === 'commit');
      assert.ok(bump?.childTxid, 'a child paid for the commit');
      assert.ok(bump.rate >= BigInt(SPIKE), `package rate ${bump.rate} ≥ ${SPIKE}`);
      const at = net.chain.height - (await confirmations(net.taker, commit.getId())) + 1;
      assert.ok(at <= bump.deadlineHeight, `confirmed at ${at}, deadline ${bump.deadlineHeight}`);

      net.feed.setPrice(parsePrice('55000'));
      await net.chain.mine(11);
      const cet = await until(
        'attestation and CET',
        async () => (await cfd(net.taker, id))?.cet,
        90_000,
      );
      const commitValue = record.commit.amount;
      assert.ok(ownRate(cet.hex, commitValue) < BigInt(MIN_RELAY), 'the CET alone pays too little');
      await mineUntil(
        net,
        'the CET confirmed',
        async () => (await cfd(net.taker, id))?.settled === 'cet',
        4,
      );
      await until('maker sees the CET', async () => (await cfd(net.maker, id))?.settled === 'cet');
      await oneChildPaid(net, id, 'cet', cet.hex);
      assert.ok(net.taker.bumper.spent(id) <= BigInt(net.taker.config.fees.bumpBudgetSats));
    });

    it('a commit the counterparty sent and left unpaid confirms: our anchor pays for it', async () => {
      const net = await startNetwork(cleanups, {}, {}, { blockMaxWeight: BLOCK_MAX_WEIGHT });
      const id = await openCfd(net);
      // No attestation: the taker commits on its own only because of what it sees on chain.
      await net.oracle.stop();
      // Blocks full at 50, the mempool minimum left at 1: the commit as signed relays, then waits.
      await net.chain.setFeeSpike({ rate: SPIKE });
      await net.chain.mine(3);
      await until('the spike estimated', async () => {
        await net.taker.fees.refresh();
        return (net.taker.fees.current()?.rate ?? 0n) >= BigInt(SPIKE);
      });
      // The maker sends its commit and goes away: nobody pays for it but us.
      const theirs = signedCommit((await net.maker.contracts.get(id))!);
      await net.maker.stop();
      await net.taker.rpc!.sendRawTransaction(theirs.toHex());
      await net.chain.mine(1);
      assert.equal(await confirmations(net.taker, theirs.getId()), 0, 'it waits in the mempool');
      await until('the taker follows it', async () =>
        net.taker.bumper.status(id).some((b) => b.kind === 'commit'),
      );
      const committing = (await cfd(net.taker, id))!;
      assert.equal(committing.commitByCounterparty, true);
      assert.match(
        statusView(committing, uiState(committing), 0, {})?.reason ?? '',
        /^the counterparty force-closed/,
      );
      await mineUntil(
        { ...net, maker: net.taker },
        'the commit confirmed',
        async () => (await confirmations(net.taker, theirs.getId())) > 0,
        4,
      );
      const bump = net.taker.bumper.status(id).find((b) => b.kind === 'commit');
      assert.ok(bump?.childTxid, 'our anchor paid for it');
      assert.ok(bump.rate >= BigInt(SPIKE), `package rate ${bump.rate} ≥ ${SPIKE}`);
      await until('committed', async () => (await cfd(net.taker, id))?.commitConfirmed);
    });

    it('a refund confirms when the oracle stays silent', async () => {
      const net = await startNetwork(
        cleanups,
        { 'refund-timelock': '20' },
        {},
        { blockMaxWeight: BLOCK_MAX_WEIGHT },
      );
      const id = await openCfd(net);
      await net.oracle.stop();
      await spike(net);
      const record = (await net.taker.contracts.get(id))!;
      const commit = signedCommit(record);
      await net.taker.cfds.execute(id, {
        type: 'commit',
        commitTx: { txid: commit.getId(), hex: commit.toHex() },
      });
      await mineUntil(
        net,
        'the commit confirmed',
        async () => (await cfd(net.taker, id))?.commitConfirmed,
        4,
      );
      await net.chain.mine(19);
      const refund = await until('refund out', async () => (await cfd(net.taker, id))?.refundTx);
      assert.ok(
        ownRate(refund.hex, record.commit.amount) < BigInt(MIN_RELAY),
        'alone it pays too little',
      );
      // (The node sends it with a child as soon as the refund lock expires, so the mempool's
      // refusal of it alone is shown on the commit above, not raced here.)
      await mineUntil(
        net,
        'refunded',
        async () => (await cfd(net.taker, id))?.settled === 'refund',
        5,
      );
      await until('maker refunded', async () => (await cfd(net.maker, id))?.settled === 'refund');
      await oneChildPaid(net, id, 'refund', refund.hex);
    });
  });

  describe('punish and collaborative close', () => {
    const cleanups = useCleanups();
    let net: Network;

    before(async () => {
      net = await startNetwork(
        cleanups,
        { 'rollover-interval': '10' },
        {},
        { blockMaxWeight: BLOCK_MAX_WEIGHT },
      );
    });

    it('a revoked commit a miner mines directly is punished before its CET lock', async () => {
      const id = await openCfd(net);
      const stale = signedCommit((await net.maker.contracts.get(id))!);
      await until(
        'the stale commit revoked on the taker',
        async () => (await cfd(net.taker, id))?.revokedCommitTxids.includes(stale.getId()),
        120_000,
      );
      await spike(net);
      // The cheating maker pays a miner out of band: its 1 sat/vB commit is mined directly.
      await net.chain.mineTransactions([stale.toHex()]);
      const minedAt = net.chain.height;
      const punish = await until(
        'punish published',
        async () => (await cfd(net.taker, id))?.punishTx,
      );
      await mineUntil(
        net,
        'punished',
        async () => (await cfd(net.taker, id))?.settled === 'punish',
        11,
      );
      const final = (await cfd(net.taker, id))!.punishTx!;
      const confirmedAt = net.chain.height - (await confirmations(net.taker, final.txid)) + 1;
      // The cheater's CET is valid from block minedAt + 12: the punish is in before.
      assert.ok(confirmedAt < minedAt + 12, `punish at ${confirmedAt}, commit at ${minedAt}`);
      assert.ok(ownRate(final.hex, BigInt(stale.outs[0]!.value)) >= BigInt(SPIKE));
      assert.ok(punish.txid);
    });

    it('a collaborative close confirms: proposed at the estimate, within the maker’s bounds', async () => {
      await net.chain.setFeeSpike(undefined);
      net.chain.setMinRelayFeeRate(1);
      const id = await openCfd(net);
      await spike(net);
      const outcome = await settleRetrying(net.taker, id);
      assert.equal(outcome.status, 'completed', 'reason' in outcome ? String(outcome.reason) : '');
      const close = (await cfd(net.taker, id))!.closeTx!;
      const lock = (await net.taker.contracts.get(id))!.lock.amount;
      assert.ok(ownRate(close.hex, lock) >= BigInt(SPIKE), 'the close pays the spike rate');
      await mineUntil(
        net,
        'closed',
        async () => (await cfd(net.taker, id))?.settled === 'collaborative',
        3,
      );
      await until(
        'maker closed',
        async () => (await cfd(net.maker, id))?.settled === 'collaborative',
      );
    });
  });
});
