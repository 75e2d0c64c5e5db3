/**
 * The order / contract-setup state machines driven against each other in memory (real driver,
 * real wire codec, real crypto; fake wallet and log): the happy path, business rejections, and
 * every abort point — silence, garbage, invalid signatures, out-of-order and contradicting
 * messages, failed local steps — each ending cleanly: the CFD records a failure (or rejection)
 * where it exists, coins are released, nothing is recorded on a CFD that is not ours.
 */
import assert from 'node:assert/strict';
import { Transaction } from 'bitcoinjs-lib';
import { dlcSummary, signedCommit, signedRefund } from '../../../dlc/index.ts';
import { price } from '../../../model/units.ts';
import type { SetupMessage } from '../../../protocols/order/messages.ts';
import { SetupMessageSchema } from '../../../protocols/order/messages.ts';
import { decode, encode, ProtocolViolationError } from '../../../protocols/wire.ts';
import { NOW, type PairResult, runPair, type Tamper, testOffer } from './harness.ts';

/** A side that stops responding instead of sending its first message of `type`. */
const silentAt =
  (type: SetupMessage['type']): Tamper =>
  (m) =>
    m.type === type ? 'silence' : undefined;

/** A side that rewrites its first message of `type`. */
function rewrite<T extends SetupMessage['type']>(
  type: T,
  edit: (m: Extract<SetupMessage, { type: T }>) => SetupMessage | Uint8Array,
): Tamper {
  let done = false;
  return (m) => {
    if (done || m.type !== type) return undefined;
    done = true;
    return edit(m as Extract<SetupMessage, { type: T }>);
  };
}

const flip = (hex: string, at = 10): string =>
  hex.slice(0, at) + (Number.parseInt(hex[at]!, 16) ^ 1).toString(16) + hex.slice(at + 1);

function assertFailed(r: PairResult, side: 'taker' | 'maker', reason: RegExp): void {
  const outcome = r[side];
  assert.equal(outcome.type, 'failed', `${side}: ${outcome.type}`);
  assert.match((outcome as { reason: string }).reason, reason);
  const node = side === 'taker' ? r.takerNode : r.makerNode;
  assert.equal(node.reserved.size, 0, `${side} released its coins`);
  const types = node.eventTypes(r.orderId);
  if (types.length > 0) assert.equal(types.at(-1), 'ContractSetupFailed', `${side}: ${types}`);
}

describe('protocols/order state machines, in memory', function () {
  this.timeout(30_000);

  it('happy path: both hold the same signed lock and records that get them out alone', async () => {
    const r = await runPair();
    assert.equal(r.taker.type, 'completed');
    assert.equal(r.maker.type, 'completed');
    if (r.taker.type !== 'completed' || r.maker.type !== 'completed') return;
    assert.equal(r.taker.lockTx.toHex(), r.maker.lockTx.toHex());
    assert.equal(r.taker.ackMissing, false);
    assert.deepEqual(dlcSummary(r.taker.record), dlcSummary(r.maker.record));
    for (const [node, outcome] of [
      [r.takerNode, r.taker],
      [r.makerNode, r.maker],
    ] as const) {
      assert.deepEqual(node.eventTypes(r.orderId), [
        'OrderPlaced',
        'ContractSetupStarted',
        'ContractSetupCompleted',
      ]);
      // Stored before our lock signature left (unsigned), then signed, before the completion.
      assert.deepEqual(
        node.persisted.map((p) => p.lock.signed),
        [false, true],
      );
      assert.ok(node.reserved.has(outcome.reservationId), 'coins stay reserved until broadcast');
      assert.equal(signedCommit(outcome.record).getId(), outcome.record.commit.txid);
      assert.ok(signedRefund(outcome.record) instanceof Transaction);
    }
    const cfd = r.takerNode.cfds.get(r.orderId)!;
    assert.equal(cfd.terms?.role, 'taker');
    assert.equal(cfd.terms?.position, 'long');
    assert.equal(r.makerNode.cfds.get(r.orderId)?.terms?.position, 'short');
  });

  describe('business rejections travel in the decision', () => {
    it('the maker (policy or user) rejects: both record OrderRejected, the maker says why', async () => {
      const r = await runPair({
        setup: ({ maker }) => {
          maker.answers.decide = () => ({ type: 'decided', accept: false, reason: 'book is full' });
        },
      });
      assert.deepEqual(r.taker, { type: 'rejected', reason: 'book is full' });
      assert.deepEqual(r.takerNode.eventTypes(r.orderId), ['OrderPlaced', 'OrderRejected']);
      assert.deepEqual(r.makerNode.eventTypes(r.orderId), ['OrderPlaced', 'OrderRejected']);
      assert.equal(r.makerTransport.aborted, false);
    });

    it('an unknown offer is rejected without recording anything on the maker', async () => {
      const r = await runPair({ makerOffers: [testOffer({ id: 'other' })] });
      assert.equal(r.taker.type, 'rejected');
      assert.match((r.taker as { reason: string }).reason, /offer offer-1 is not/);
      assert.deepEqual(r.makerNode.eventTypes(r.orderId), []);
    });

    it('an order the offer does not allow is rejected with the validation error', async () => {
      const r = await runPair({
        takerTamper: rewrite('order', (m) => ({ ...m, quantity: 50n })),
      });
      assert.match((r.taker as { reason: string }).reason, /quantity 50 is outside/);
      assert.deepEqual(r.makerNode.eventTypes(r.orderId), []);
    });

    it('a maker that cannot fund or has no announcement rejects instead of accepting', async () => {
      for (const broken of ['fund', 'announcement'] as const) {
        const r = await runPair({
          setup: ({ maker }) => {
            maker.answers[broken] = () => ({ type: 'requestFailed', reason: 'down' });
          },
        });
        assert.equal(r.taker.type, 'rejected', broken);
        assert.equal(r.makerNode.reserved.size, 0);
        assert.deepEqual(r.makerNode.eventTypes(r.orderId), ['OrderPlaced', 'OrderRejected']);
      }
    });

    it('a recent offer the maker replaced is honoured at its own price within the order’s slippage', async () => {
      // The maker re-quoted since: its offer now is 0.19 % higher under a new id.
      const confirmed = testOffer();
      const now = testOffer({ id: 'offer-2', price: price(54_100) });
      const recent = (id: string) =>
        id === confirmed.id ? { offer: confirmed, current: now } : undefined;
      const r = await runPair({ makerOffers: [now], makerRecent: recent, maxSlippageBps: 50 });
      assert.equal(r.maker.type, 'completed', (r.maker as { reason?: string }).reason);
      assert.equal(r.taker.type, 'completed');
      for (const node of [r.takerNode, r.makerNode]) {
        const terms = node.cfds.get(r.orderId)!.terms!;
        assert.equal(terms.offerId, confirmed.id);
        assert.equal(terms.initialPrice, confirmed.price, 'at the price the taker confirmed');
      }
      // Beyond the order's slippage (0.10 %): refused, saying both prices; nothing recorded.
      const beyond = await runPair({ makerOffers: [now], makerRecent: recent, maxSlippageBps: 10 });
      assert.equal(beyond.taker.type, 'rejected');
      assert.match(
        (beyond.taker as { reason: string }).reason,
        /price moved from 54000 to 54100 \(0\.19 %\), beyond your maximum slippage of 0\.10 %/,
      );
      assert.deepEqual(beyond.makerNode.eventTypes(beyond.orderId), []);
      // No slippage sent: only the current price is honoured.
      const none = await runPair({ makerOffers: [now], makerRecent: recent });
      assert.match(
        (none.taker as { reason: string }).reason,
        /beyond your maximum slippage of 0\.00 %/,
      );
    });

    it('the taker refuses an order the offer does not allow before anything is sent', async () => {
      await assert.rejects(runPair({ quantity: 150n }), {
        name: 'QuantityNotMultipleOfLotSizeError',
      });
      await assert.rejects(runPair({ leverage: 3 }), { name: 'LeverageNotOfferedError' });
    });
  });

  describe('every abort point ends in a clean failure', () => {
    for (const [who, type] of [
      ['maker', 'decision'],
      ['maker', 'params'],
      ['taker', 'params'],
      ['maker', 'signatures'],
      ['taker', 'signatures'],
      ['maker', 'lockSignature'],
      ['taker', 'lockSignature'],
    ] as const) {
      it(`the ${who} stops responding instead of sending '${type}'`, async () => {
        const r = await runPair({ [`${who}Tamper`]: silentAt(type) });
        const other = who === 'maker' ? 'taker' : 'maker';
        if (type === 'lockSignature') {
          // The other side sent its lock signature: the silent one may hold the whole lock and
          // broadcast it, so nothing is undone — coins stay reserved, the CFD stays in setup,
          // and the node's process manager watches for the lock (adopts it or fails later).
          const outcome = r[other] as { type: string; reason: string; lockMayBroadcast?: true };
          assert.equal(outcome.type, 'failed');
          assert.match(outcome.reason, /ProtocolTimeoutError/);
          assert.equal(outcome.lockMayBroadcast, true);
          const node = other === 'taker' ? r.takerNode : r.makerNode;
          assert.equal(node.reserved.size, 1, `${other} keeps its coins reserved`);
          assert.equal(node.eventTypes(r.orderId).at(-1), 'ContractSetupStarted');
        } else {
          assertFailed(r, other, /ProtocolTimeoutError/);
          const silent = r[who] as { type: string; lockMayBroadcast?: true };
          // The silent side goes on until it "sends" its own lock signature (it is dropped).
          if (silent.lockMayBroadcast) assert.equal(silent.type, 'failed');
          else assertFailed(r, who, /./);
        }
      });
    }

    it('a missing final ack still leaves both completed (both hold the signed lock)', async () => {
      const r = await runPair({ makerTamper: silentAt('ack') });
      assert.equal(r.taker.type, 'completed');
      assert.equal((r.taker as { ackMissing: boolean }).ackMissing, true);
      assert.equal(r.maker.type, 'completed');
    });

    it('garbage (not JSON, wrong schema) resets the stream', async () => {
      const garbage = [
        new TextEncoder().encode('{"type":"params",'),
        encode({ type: 'params', identityPk: 'zz' }),
        encode({ type: 'signatures', commit: 1.5 }),
      ];
      for (const bytes of garbage) {
        const r = await runPair({ makerTamper: rewrite('params', () => bytes) });
        assertFailed(r, 'taker', /ProtocolViolationError/);
        assert.equal(r.takerTransport.aborted, true);
        assertFailed(r, 'maker', /./);
      }
    });

    it('out-of-order and repeated messages fail the setup', async () => {
      const cases: [Tamper | undefined, Tamper | undefined, RegExp][] = [
        [undefined, rewrite('decision', () => ({ type: 'ack' })), /unexpected 'ack'/],
        [undefined, rewrite('params', () => ({ type: 'ack' })), /unexpected 'ack'/],
        [rewrite('signatures', () => ({ type: 'ack' })), undefined, /unexpected 'ack'/],
        [
          rewrite('params', (_m) => ({
            type: 'order',
            orderId: 'x',
            offerId: 'offer-1',
            quantity: 100n,
            leverage: 2,
          })),
          undefined,
          /unexpected 'order'/,
        ],
      ];
      for (const [takerTamper, makerTamper, reason] of cases) {
        const r = await runPair({ takerTamper, makerTamper });
        const victim = takerTamper ? 'maker' : 'taker';
        assertFailed(r, victim, reason);
      }
    });

    it('an invalid commit, refund, CET or lock signature fails the receiver before it signs the lock', async () => {
      const cases: [string, Tamper, RegExp][] = [
        [
          'commit',
          rewrite('signatures', (m) => ({ ...m, commit: flip(m.commit, 200) })),
          /commit adaptor/,
        ],
        [
          'refund',
          rewrite('signatures', (m) => ({ ...m, refund: flip(m.refund, 30) })),
          /refund signature/,
        ],
        [
          'CET',
          rewrite('signatures', (m) => {
            const events = structuredClone(m.events);
            const sigs = events[0]!.cets[7]!.signatures;
            sigs[0] = flip(sigs[0]!, 200);
            return { ...m, events };
          }),
          /CET adaptor signature \d+ does not verify/,
        ],
        [
          'CET ranges',
          rewrite('signatures', (m) => {
            const events = structuredClone(m.events);
            events[0]!.cets[3] = { ...events[0]!.cets[3]!, end: events[0]!.cets[3]!.end + 1 };
            return { ...m, events };
          }),
          /CET 3 covers/,
        ],
        [
          'lock',
          rewrite('lockSignature', (m) => ({
            ...m,
            signatures: m.signatures.map((s) => ({ ...s, signature: flip(s.signature, 20) })),
          })),
          /lock input \d+ does not verify|lock/,
        ],
      ];
      for (const [what, tamper, reason] of cases) {
        const r = await runPair({ makerTamper: tamper });
        if (what === 'lock') {
          // The taker's own lock signature is out: the maker could still broadcast the lock.
          assert.equal(r.taker.type, 'failed');
          assert.match((r.taker as { reason: string }).reason, reason);
          assert.equal((r.taker as { lockMayBroadcast?: true }).lockMayBroadcast, true);
        } else assertFailed(r, 'taker', reason);
        if (what !== 'lock') {
          assert.deepEqual(
            r.takerNode.persisted,
            [],
            `${what}: nothing stored, no lock signature sent`,
          );
          assert.ok(!r.takerTransport.sent.some((m) => m.type === 'lockSignature'), what);
        }
      }
    });

    it('contradicting parameters fail: wrong margin, other txids, other timelocks', async () => {
      let r = await runPair({
        makerTamper: rewrite('params', (m) => ({ ...m, margin: m.margin + 1n })),
      });
      assertFailed(r, 'taker', /margin/);
      r = await runPair({
        makerTamper: rewrite('signatures', (m) => ({ ...m, commitTxid: 'ab'.repeat(32) })),
      });
      assertFailed(r, 'taker', /built commit/);
      r = await runPair({ makerTimelocks: { cet: 12, refund: 100 } });
      assertFailed(r, 'taker', /timelocks/);
      r = await runPair({
        makerTamper: rewrite('params', (m) => ({ ...m, inputs: [{ ...m.inputs[0]!, value: 1n }] })),
      });
      assertFailed(r, 'taker', /InsufficientFunding|inputs/);
    });

    it('a failed local step (taker wallet empty) fails the setup and releases the maker', async () => {
      const r = await runPair({
        setup: ({ taker }) => {
          taker.answers.fund = () => ({
            type: 'requestFailed',
            reason: 'InsufficientFundsError: empty',
          });
        },
      });
      assertFailed(r, 'taker', /InsufficientFundsError/);
      assertFailed(r, 'maker', /./);
    });

    it("the peer's lock inputs are checked against the chain before our lock signature leaves", async () => {
      const noLockSignature = (r: PairResult) =>
        assert.ok(!r.makerTransport.sent.some((m) => m.type === 'lockSignature'));
      // An immature coinbase output cannot be spent: the lock could never confirm.
      let r = await runPair({
        setup: ({ maker }) => {
          maker.answers.checkInputs = (q) => ({
            type: 'inputsChecked',
            outputs:
              q.type === 'checkInputs'
                ? q.inputs.map((i) => ({
                    value: i.value,
                    scriptPubKey: i.script,
                    confirmations: 99,
                    coinbase: true,
                  }))
                : [],
          });
        },
      });
      assertFailed(r, 'maker', /coinbase output with 99 confirmations, it is spendable at 100/);
      noLockSignature(r);
      // The chain backend does not answer: no signature on an unchecked lock.
      r = await runPair({
        setup: ({ maker }) => {
          maker.answers.checkInputs = () => ({
            type: 'requestFailed',
            reason: 'chain unreachable',
          });
        },
      });
      assertFailed(r, 'maker', /chain unreachable/);
      noLockSignature(r);
      // A node asking for more confirmations refuses a coin with fewer.
      r = await runPair({ makerMinInputConfirmations: 7 }); // the fake chain's coins have 6
      assertFailed(r, 'maker', /has 6 confirmations, 7 are required/);
      noLockSignature(r);
    });

    it('an order id that already names a CFD on the maker is refused without touching that CFD', async () => {
      const r = await runPair({
        setup: ({ maker }) => {
          maker.failEffect.placeOrder = new Error('IllegalCommandError: the CFD already exists');
        },
      });
      assert.equal(r.maker.type, 'failed');
      assert.deepEqual(r.makerNode.eventTypes(r.orderId), []);
      assertFailed(r, 'taker', /./);
    });
  });

  it('the wire schema refuses floats for satoshis and bad hex at the boundary', () => {
    assert.throws(
      () =>
        decode(
          encode({ type: 'order', orderId: 'a', offerId: 'b', quantity: 1.5, leverage: 2 }),
          SetupMessageSchema,
        ),
      ProtocolViolationError,
    );
    const ok = decode(
      encode({ type: 'order', orderId: 'a', offerId: 'b', quantity: 100n, leverage: 2 }),
      SetupMessageSchema,
    );
    assert.equal(ok.type === 'order' && ok.quantity, 100n);
    assert.ok(NOW > 0);
  });
});
