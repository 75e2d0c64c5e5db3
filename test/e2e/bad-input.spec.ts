// End to end, whole daemons: bad input on every CFD protocol (moved here from trade.spec.ts with
// the first-message cases). First messages that are malformed, unknown, out of order or oversized
// reset their stream and record nothing. A peer that runs a
// protocol correctly for a step or two and then sends a malformed, out-of-order or oversized
// message — or goes silent past the maker's read timeout — has its stream reset, and the maker
// records the failure on that CFD: contract setup failed with its coins released, rollover failed
// with the CFD still open on its old commit, settlement failed with the CFD still open. After all
// of it the maker still sets up, rolls over and settles with a real taker.
//
// The rogue peer is the taker's own libp2p node speaking the wire framing by hand: rollovers and
// settlements are only served to a CFD's counterparty, so only its identity gets that far.
import assert from 'node:assert/strict';
import { peerIdFromString } from '@libp2p/peer-id';
import { z } from 'zod';
import { commitKeysFromRecord, fromHex, lockOutput, payoutScriptsOf } from '../../dlc/contract.ts';
import { uiState } from '../../model/cfd.ts';
import {
  type CloseContext,
  COLLAB_SETTLEMENT_PROTOCOL,
  closeTermsOf,
  closingPrice,
  messageToWire,
  MAX_MESSAGE_BYTES as SETTLEMENT_MAX_BYTES,
  TakerSettlement,
} from '../../protocols/collab-settlement/index.ts';
import { MAX_MESSAGE_BYTES, ORDER_PROTOCOL } from '../../protocols/order/index.ts';
import { ROLLOVER_PROTOCOL } from '../../protocols/rollover/index.ts';
import { Framed, ProtocolTimeoutError } from '../../protocols/wire.ts';
import {
  cfd,
  closeCollaboratively,
  type Network,
  openCfd,
  startNetwork,
  until,
  useCleanups,
} from './network.ts';

/** The maker's read timeouts, shortened so a silent peer times out in seconds. */
const SETUP_MESSAGE_MS = 8_000;
const ROLLOVER_MESSAGE_MS = 8_000;
const SIGNATURE_MS = 4_000;

type Bad = 'malformed' | 'out-of-order' | 'oversized' | 'late';
const BAD: readonly Bad[] = ['malformed', 'out-of-order', 'oversized', 'late'];

/** A stream of the taker's node to the maker, framed, with room to send an oversized message. */
async function dial(net: Network, protocol: string): Promise<Framed> {
  const stream = await net.taker.p2p.dialProtocol(peerIdFromString(net.maker.peerId), protocol);
  return new Framed(stream, { maxMessageBytes: 16 * 1024 * 1024, timeoutMs: 30_000 });
}

/** Reads the maker's next message, which must be of `type`. */
async function expect(f: Framed, type: string): Promise<Record<string, unknown>> {
  const m = (await f.read(z.record(z.string(), z.unknown()))) as Record<string, unknown>;
  assert.equal(m.type, type, JSON.stringify(m).slice(0, 200));
  return m;
}

/**
 * Misbehaves as `bad` says where the maker waits for our next message, then reports whether the
 * maker reset the stream (and did not simply answer, or leave us to time out ourselves).
 */
async function misbehave(
  f: Framed,
  bad: Bad,
  messages: { malformed: unknown; outOfOrder: unknown; expected: string; maxBytes: number },
): Promise<boolean> {
  const frame: Record<Exclude<Bad, 'late'>, unknown> = {
    malformed: messages.malformed,
    'out-of-order': messages.outOfOrder,
    oversized: { type: messages.expected, pad: 'x'.repeat(messages.maxBytes + 1024) },
  };
  if (bad !== 'late') await f.write(frame[bad]).catch(() => undefined);
  const answer = await f.read(z.unknown()).catch((e: Error) => e);
  return answer instanceof Error && !(answer instanceof ProtocolTimeoutError);
}

const eventTypes = async (net: Network, id: string) =>
  (await net.maker.store.readStream(id)).map((e) => e.type);

describe('e2e: bad input on every protocol, first and mid-run', function () {
  this.timeout(240_000);
  const cleanups = useCleanups();
  let net: Network;
  let id: string;

  before(async () => {
    // A settlement interval long enough that the oracle does not settle the CFD mid-test (the
    // taker rolls over only when the test says so: the default cadence is hourly).
    net = await startNetwork(
      cleanups,
      { 'settlement-interval': '120' },
      {
        protocolTimeouts: {
          order: { setupMessageMs: SETUP_MESSAGE_MS },
          rollover: { messageMs: ROLLOVER_MESSAGE_MS },
          settlement: { signatureMs: SIGNATURE_MS },
        },
      },
    );
  });

  it('first messages: malformed, unknown, out-of-order and oversized reset their stream and record nothing', async () => {
    const frames: unknown[] = [
      'not an object',
      { type: 'no-such-message' },
      { type: 'signatures', cfdId: 'x' }, // out of order: a run starts with a proposal or an order
      { type: 'order', pad: 'x'.repeat(8 * 1024 * 1024) }, // oversized
    ];
    let resets = 0;
    for (const protocol of [ORDER_PROTOCOL, ROLLOVER_PROTOCOL, COLLAB_SETTLEMENT_PROTOCOL]) {
      for (const frame of frames) {
        const f = await dial(net, protocol);
        await f.write(frame).catch(() => undefined);
        // The maker answers a bad first message by resetting the stream.
        const answer = await f.read(z.unknown()).catch((e: Error) => e);
        if (answer instanceof Error && !(answer instanceof ProtocolTimeoutError)) resets++;
      }
    }
    assert.equal(resets, 12, `${resets} of 12 bad streams were reset`);
    assert.equal((await net.maker.readModel.all()).length, 0, 'nothing recorded');
  });

  it('contract setup: a bad message after the maker accepted fails the setup and releases its coins', async () => {
    const now = () => Math.floor(Date.now() / 1000);
    const { offer } = await until('offers', () =>
      net.taker.offers.book
        .current(now(), { maxOfferAgeSecs: 600 })
        .find((o) => o.offer.makerPosition === 'short'),
    );
    for (const bad of BAD) {
      const orderId = `rogue-${bad}`;
      const f = await dial(net, ORDER_PROTOCOL);
      await f.write({ type: 'order', orderId, offerId: offer.id, quantity: '100', leverage: 2 });
      const decision = await expect(f, 'decision');
      assert.equal(decision.accept, true);
      await expect(f, 'params');
      const reset = await misbehave(f, bad, {
        malformed: { type: 'params', identityPk: 'not a key' },
        outOfOrder: { type: 'ack' },
        expected: 'params',
        maxBytes: MAX_MESSAGE_BYTES,
      });
      assert.ok(reset, `${bad}: the maker reset the stream`);
      const failed = await until(`${bad}: setup failed`, async () => {
        const c = await cfd(net.maker, orderId);
        return c?.setup === 'failed' ? c : undefined;
      });
      assert.equal(uiState(failed), 'setupFailed');
      assert.deepEqual((await eventTypes(net, orderId)).slice(-1), ['ContractSetupFailed']);
    }
    // Every coin the maker reserved for those setups is spendable again.
    await until('coins released', () => net.maker.wallet!.balance().reserved === 0n);
    // And a real taker sets a contract up.
    id = await openCfd(net);
    assert.equal(uiState((await cfd(net.maker, id))!), 'open');
  });

  it('rollover: a bad message after the maker’s decision fails the rollover; the CFD stays on its commit', async () => {
    const commit = (await cfd(net.maker, id))!.dlc!.commitTxid;
    for (const [i, bad] of BAD.entries()) {
      const f = await dial(net, ROLLOVER_PROTOCOL);
      const propose = {
        type: 'propose',
        cfdId: id,
        fromCommitTxid: commit,
        timestamp: Math.floor(Date.now() / 1000),
      };
      await f.write(propose);
      const decision = await expect(f, 'decision');
      assert.equal(decision.accept, true, String(decision.reason));
      await expect(f, 'keys');
      const reset = await misbehave(f, bad, {
        malformed: { type: 'keys', publishPk: 'zz', revocationPk: 'zz' },
        outOfOrder: propose,
        expected: 'keys',
        maxBytes: MAX_MESSAGE_BYTES,
      });
      assert.ok(reset, `${bad}: the maker reset the stream`);
      const c = await until(`${bad}: rollover failed`, async () => {
        const types = await eventTypes(net, id);
        return types.filter((t) => t === 'RolloverFailed').length === i + 1
          ? cfd(net.maker, id)
          : undefined;
      });
      assert.equal(c?.rollover, undefined);
      assert.equal(uiState(c!), 'open');
      assert.equal(c?.dlc?.commitTxid, commit, 'still on its old commit');
    }
    // The real taker then rolls over.
    const { outcome } = await net.taker.rollovers.rollover(peerIdFromString(net.maker.peerId), id);
    assert.equal(outcome.type, 'completed', 'reason' in outcome ? outcome.reason : '');
    await until('rolled over on both', async () => {
      const [m, t] = [await cfd(net.maker, id), await cfd(net.taker, id)];
      return m?.dlc?.commitTxid !== commit && m?.dlc?.commitTxid === t?.dlc?.commitTxid;
    });
  });

  it('collaborative settlement: a bad message after the maker accepted fails it; the CFD stays open', async () => {
    for (const [i, bad] of BAD.entries()) {
      // A proposal exactly as the taker would build it, at the current quote.
      const [record, c] = [(await net.taker.contracts.get(id))!, (await cfd(net.taker, id))!];
      const keys = commitKeysFromRecord(record.keys);
      const ctx: CloseContext = {
        ...closeTermsOf(c),
        lock: lockOutput(record),
        identities: { maker: keys.maker.identity, taker: keys.taker.identity },
        ownIdentitySecret: fromHex(record.identitySk, 'identity secret'),
        payoutScripts: payoutScriptsOf(record),
      };
      const quote = await until('a quote', () => net.taker.feed.latest());
      const proposal = messageToWire(
        new TakerSettlement(ctx, closingPrice(quote, ctx.makerPosition)).start().send!,
      );
      const f = await dial(net, COLLAB_SETTLEMENT_PROTOCOL);
      await f.write(proposal);
      await expect(f, 'accept');
      const reset = await misbehave(f, bad, {
        malformed: { type: 'signature', signature: 'zz' },
        outOfOrder: proposal,
        expected: 'signature',
        maxBytes: SETTLEMENT_MAX_BYTES,
      });
      assert.ok(reset, `${bad}: the maker reset the stream`);
      const after = await until(`${bad}: settlement failed`, async () => {
        const types = await eventTypes(net, id);
        return types.filter((t) => t === 'CollaborativeSettlementFailed').length === i + 1
          ? cfd(net.maker, id)
          : undefined;
      });
      assert.equal(after?.settlement, undefined);
      assert.equal(after?.closeTx, undefined);
      assert.equal(uiState(after!), 'open');
    }
    // The real taker then closes.
    await closeCollaboratively(net, net.taker, id);
  });
});
