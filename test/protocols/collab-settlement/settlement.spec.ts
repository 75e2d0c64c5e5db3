// The collab-settlement state machines driven against each other in memory: every message goes
// through the real wire encoding and schema, every CFD command through the model's own rules.
import assert from 'node:assert/strict';
import { Transaction } from 'bitcoinjs-lib';
import { payoutCurve, rowAtPrice, toRolePayouts } from '../../../dlc/payout-curve.ts';
import { closeFee } from '../../../dlc/transactions.ts';
import { actions, type Cfd, EMPTY_CFD, uiState } from '../../../model/cfd.ts';
import { payoutAt } from '../../../model/fees.ts';
import { type Price, price } from '../../../model/units.ts';
import {
  type CloseContext,
  type CollabMessage,
  CollabSettlementMessage,
  closingPrice,
  MakerSettlement,
  type MakerSettlementOptions,
  messageToWire,
  SettlementNotPossibleError,
  type Step,
  settlementPayout,
  TakerSettlement,
  withinTolerance,
} from '../../../protocols/collab-settlement/index.ts';
import {
  decode,
  encode,
  ProtocolTimeoutError,
  ProtocolViolationError,
  StreamClosedError,
} from '../../../protocols/wire.ts';
import { p2wpkh } from '../../node/chain/helpers.ts';
import {
  type Contract,
  closeContext,
  execute,
  INITIAL_PRICE,
  newContract,
  openCommands,
  QUANTITY,
  TAKER_LEVERAGE,
} from './fixtures.ts';

/** Through the wire: encode, then decode and validate as the receiving handler does. */
const wire = (m: CollabMessage): CollabMessage =>
  decode(encode(messageToWire(m)), CollabSettlementMessage);

const QUOTE = { bid: price(51_230), ask: price(51_231) };

/** Two open CFDs of one contract, both sides' machines, and the CFD state each side records. */
class Run {
  readonly c: Contract;
  readonly ctx: { maker: CloseContext; taker: CloseContext };
  readonly cfd: { maker: Cfd; taker: Cfd };
  readonly events: { maker: string[]; taker: string[] } = { maker: [], taker: [] };
  readonly taker: TakerSettlement;
  readonly maker: MakerSettlement;

  constructor(
    over: {
      makerPosition?: 'long' | 'short';
      price?: Price;
      maker?: Partial<MakerSettlementOptions>;
      /** The taker's close fee rate, and the maker's bounds. */
      closeFeeRate?: bigint;
      bounds?: { min: bigint; max: bigint };
    } = {},
  ) {
    this.c = newContract({ makerPosition: over.makerPosition ?? 'short' });
    const open = (role: 'maker' | 'taker') => execute(EMPTY_CFD, openCommands(this.c, role));
    this.cfd = { maker: open('maker'), taker: open('taker') };
    assert.equal(this.cfd.maker.feeBalance, this.cfd.taker.feeBalance);
    assert.notEqual(this.cfd.maker.feeBalance, 0n);
    this.ctx = {
      maker: {
        ...closeContext(this.c, 'maker', this.cfd.maker),
        ...(over.bounds && { closeFeeRateBounds: over.bounds }),
      },
      taker: {
        ...closeContext(this.c, 'taker', this.cfd.taker),
        ...(over.closeFeeRate !== undefined && { closeFeeRate: over.closeFeeRate }),
      },
    };
    const at = over.price ?? closingPrice(QUOTE, this.c.makerPosition);
    this.taker = new TakerSettlement(this.ctx.taker, at);
    this.maker = new MakerSettlement(this.ctx.maker, { quote: QUOTE, ...over.maker });
  }

  /** Records a step's commands on `side`'s CFD (the model rejects any illegal one). */
  apply(side: 'maker' | 'taker', step: Step): Step {
    this.cfd[side] = execute(this.cfd[side], step.commands);
    this.events[side].push(...step.commands.map((c) => c.type));
    return step;
  }

  /** taker proposes → maker receives the proposal. */
  propose(tamper: (m: CollabMessage) => CollabMessage = (m) => m): Step {
    const start = this.apply('taker', this.taker.start());
    return this.apply('maker', this.maker.receive(wire(tamper(start.send!))));
  }

  /** maker accepts → taker receives it and signs → maker receives the taker's signature. */
  acceptAndSign(tamperTakerSig: (m: CollabMessage) => CollabMessage = (m) => m): Step {
    const accepted = this.apply('maker', this.maker.accept());
    const signed = this.apply('taker', this.taker.receive(wire(accepted.send!)));
    return this.apply('maker', this.maker.receive(wire(tamperTakerSig(signed.send!))));
  }

  /** The whole happy path; returns both sides' final steps. */
  settle(): { maker: Step; taker: Step } {
    this.propose();
    assert.equal(this.maker.state, 'awaitingDecision');
    const maker = this.acceptAndSign();
    const taker = this.apply('taker', this.taker.receive(wire(maker.send!)));
    return { maker, taker };
  }
}

const flipBit = (sig: Uint8Array): Uint8Array => {
  const out = sig.slice();
  out[10]! ^= 0x01;
  return out;
};

describe('protocols/collab-settlement state machines', () => {
  it('the close pays the fee rate the taker proposes from its estimate, checked against the maker’s bounds', () => {
    // 40 sat/vB within the maker's 20 … 100: both build the same close paying 169 × 40.
    const run = new Run({ closeFeeRate: 40n, bounds: { min: 20n, max: 100n } });
    const { taker } = run.settle();
    const close = Transaction.fromHex(taker.broadcast!.hex);
    const paid = run.c.lock.value - close.outs.reduce((a, o) => a + BigInt(o.value), 0n);
    assert.equal(paid, closeFee(40n));
    // Below the maker's mempool minimum (would not relay) and above its cap: rejected, saying why.
    for (const [rate, why] of [
      [19n, /close fee rate 19 sat\/vB is outside the maker's 20 … 100/],
      [101n, /close fee rate 101 sat\/vB is outside/],
    ] as const) {
      const r = new Run({ closeFeeRate: rate, bounds: { min: 20n, max: 100n } });
      const step = r.propose();
      assert.equal(step.send?.type, 'reject');
      assert.match((step.send as { reason: string }).reason, why);
      assert.deepEqual(r.events.maker, ['proposeSettlement', 'rejectSettlement']);
    }
    // A taker that lies about the rate it built the close with: the txid no longer matches.
    const liar = new Run({ closeFeeRate: 40n, bounds: { min: 1n, max: 100n } });
    const lied = liar.propose((m) => (m.type === 'propose' ? { ...m, feeRate: 41n } : m));
    assert.equal((lied.outcome as { error: Error }).error.name, 'TxidMismatchError');
  });

  it('no free option either way: the taker records the bound on its close before signing; the maker records the whole close before its signature leaves and broadcasts it in the same step', () => {
    const run = new Run();
    const until = 1_700_000_123;
    const taker = new TakerSettlement(run.ctx.taker, closingPrice(QUOTE, run.c.makerPosition), {
      signedCloseUntil: () => until,
    });
    taker.start();
    const signing = taker.receive(wire({ type: 'accept' }));
    assert.equal(signing.send?.type, 'signature');
    assert.deepEqual(signing.commands, [
      { type: 'acceptSettlement', signedClose: { txid: taker.terms.close.tx.getId(), until } },
    ]);
    // The maker's signature leaves only with the complete close recorded and handed to broadcast.
    const { maker } = run.settle();
    assert.equal(maker.send?.type, 'signature');
    assert.deepEqual(
      maker.commands.map((c) => c.type),
      ['completeSettlement'],
    );
    assert.ok(maker.broadcast);
    assert.equal(run.cfd.maker.signedClose, undefined);
    assert.equal(run.cfd.taker.signedClose, undefined, 'completed: the taker holds the close');
  });

  for (const makerPosition of ['short', 'long'] as const) {
    it(`settles a maker-${makerPosition} CFD: same close tx on both sides, curve row minus half the fee each`, () => {
      const run = new Run({ makerPosition });
      const { maker, taker } = run.settle();
      assert.equal(maker.outcome?.status, 'completed');
      assert.equal(taker.outcome?.status, 'completed');
      assert.deepEqual(maker.broadcast, taker.broadcast);
      assert.deepEqual(run.events.taker, [
        'proposeSettlement',
        'acceptSettlement',
        'completeSettlement',
      ]);
      assert.deepEqual(run.events.maker, run.events.taker);
      for (const side of ['maker', 'taker'] as const) {
        const cfd = run.cfd[side];
        assert.equal(cfd.closeTx?.txid, taker.broadcast?.txid);
        assert.equal(uiState(cfd), 'pendingClose');
      }

      // The closing price is the maker's side of the quote; payouts are the curve row there.
      const at = makerPosition === 'long' ? QUOTE.ask : QUOTE.bid;
      assert.equal(run.cfd.maker.closePrice, at);
      const lev = makerPosition === 'short' ? { long: 2, short: 1 } : { long: 1, short: 2 };
      const curve = payoutCurve({
        initialPrice: INITIAL_PRICE,
        quantity: QUANTITY,
        longLeverage: lev.long,
        shortLeverage: lev.short,
        feeBalance: run.cfd.maker.feeBalance,
      });
      const [row] = toRolePayouts(
        [rowAtPrice(curve.rows, Number(at / 100_000_000n))],
        makerPosition,
      );
      const half = closeFee() / 2n;
      const tx = Transaction.fromHex(taker.broadcast!.hex);
      assert.deepEqual(
        tx.outs.map((o) => [Buffer.from(o.script).toString('hex'), o.value]),
        [
          [Buffer.from(p2wpkh(run.c.maker.payout).output).toString('hex'), row!.maker - half],
          [Buffer.from(p2wpkh(run.c.taker.payout).output).toString('hex'), row!.taker - half],
        ],
      );
      // The lock is spent by both identity signatures.
      assert.equal(tx.ins[0]!.witness.length, 3);
      assert.equal(Buffer.from(tx.ins[0]!.hash).reverse().toString('hex'), run.c.lock.txid);
      // The curve row, not the closed form, and the fee balance is in it.
      const closed = payoutAt(
        {
          makerPosition,
          price: INITIAL_PRICE,
          quantity: QUANTITY,
          takerLeverage: TAKER_LEVERAGE,
          feeBalance: run.cfd.maker.feeBalance,
        },
        at,
      );
      const closedMaker = makerPosition === 'short' ? closed.short : closed.long;
      // Rows are ~$333 wide here: within half a row (~6,400 sats) of the closed form.
      const gap = row!.maker - closedMaker;
      assert.ok(gap < 6_500n && gap > -6_500n, `gap ${gap}`);
      const noFees = settlementPayout({ ...run.ctx.maker, feeBalance: 0n }, at);
      assert.notEqual(noFees.maker, row!.maker);
    });
  }

  it('the maker rejects: the taker hears the reason and both CFDs are open again', () => {
    const run = new Run();
    run.propose();
    const rejected = run.apply('maker', run.maker.reject('not settling today'));
    assert.deepEqual(rejected.send, { type: 'reject', reason: 'not settling today' });
    const taker = run.apply('taker', run.taker.receive(wire(rejected.send!)));
    assert.deepEqual(taker.outcome, { status: 'rejected', reason: 'not settling today' });
    assert.deepEqual(run.events.taker, ['proposeSettlement', 'rejectSettlement']);
    assert.deepEqual(run.events.maker, ['proposeSettlement', 'rejectSettlement']);
    for (const side of ['maker', 'taker'] as const) {
      assert.equal(uiState(run.cfd[side]), 'open');
      assert.equal(run.cfd[side].settlement, undefined);
    }
    assert.ok(actions(run.cfd.taker).includes('settle'));
  });

  it('a price outside the tolerance is rejected with a reason; inside it is accepted', () => {
    // 0.3 % above the maker's bid (short maker): outside 25 bp.
    const far = new Run({ price: price(51_384) });
    const step = far.propose();
    assert.equal(step.outcome?.status, 'rejected');
    assert.equal(step.send?.type, 'reject');
    assert.match((step.send as { reason: string }).reason, /more than 25 bp from the maker's/);
    far.apply('taker', far.taker.receive(wire(step.send!)));
    assert.deepEqual(far.events.maker, ['proposeSettlement', 'rejectSettlement']);
    assert.deepEqual(far.events.taker, ['proposeSettlement', 'rejectSettlement']);

    // 0.2 % below: inside; and a wider configured tolerance lets the far one through.
    assert.equal(new Run({ price: price(51_128) }).settle().maker.outcome?.status, 'completed');
    const wide = new Run({ price: price(51_384), maker: { toleranceBps: 50n } });
    assert.equal(wide.settle().taker.outcome?.status, 'completed');
  });

  it('a maker without a quote rejects rather than guessing', () => {
    const run = new Run({ maker: { quote: undefined } });
    const step = run.propose();
    assert.deepEqual(step.send, { type: 'reject', reason: 'the maker has no current quote' });
    assert.deepEqual(run.events.maker, ['proposeSettlement', 'rejectSettlement']);
  });

  it('a wrong txid fails the maker (recorded) and the taker when its stream is reset', () => {
    const run = new Run();
    const step = run.propose((m) => ({ ...m, txid: 'ab'.repeat(32) }) as CollabMessage);
    assert.equal(step.outcome?.status, 'failed');
    assert.equal(step.send, undefined);
    assert.equal((step.outcome as { error: Error }).error.name, 'TxidMismatchError');
    assert.deepEqual(run.events.maker, ['proposeSettlement', 'failSettlement']);
    assert.equal(uiState(run.cfd.maker), 'open');
    // The handler resets the stream; the taker's read fails.
    run.apply('taker', run.taker.fail(new StreamClosedError('reset')));
    assert.deepEqual(run.events.taker, ['proposeSettlement', 'failSettlement']);
    assert.equal(run.cfd.taker.settlement, undefined);
  });

  it('payouts other than the curve row fail the maker', () => {
    const run = new Run();
    const step = run.propose((m) =>
      m.type === 'propose'
        ? { ...m, makerPayout: m.makerPayout - 1n, takerPayout: m.takerPayout + 1n }
        : m,
    );
    assert.equal((step.outcome as { error: Error }).error.name, 'PayoutMismatchError');
    assert.deepEqual(run.events.maker, ['proposeSettlement', 'failSettlement']);
  });

  it('a proposal for another CFD fails without touching any CFD', () => {
    const run = new Run();
    const step = run.propose((m) => ({ ...m, cfdId: 'cfd-someone-else' }) as CollabMessage);
    assert.equal((step.outcome as { error: Error }).error.name, 'UnknownContractError');
    assert.deepEqual(step.commands, []);
  });

  it('an invalid taker signature fails the maker; the taker fails on the reset', () => {
    const run = new Run();
    run.propose();
    const step = run.acceptAndSign((m) =>
      m.type === 'signature' ? { ...m, signature: flipBit(m.signature) } : m,
    );
    assert.equal((step.outcome as { error: Error }).error.name, 'InvalidCloseSignatureError');
    assert.equal(step.send, undefined, 'the maker does not sign');
    assert.equal(step.broadcast, undefined);
    assert.deepEqual(run.events.maker, ['proposeSettlement', 'acceptSettlement', 'failSettlement']);
    run.apply('taker', run.taker.fail(new StreamClosedError('reset')));
    assert.deepEqual(run.events.taker, ['proposeSettlement', 'acceptSettlement', 'failSettlement']);
    assert.equal(uiState(run.cfd.taker), 'open');
  });

  it('an invalid maker signature fails the taker', () => {
    const run = new Run();
    run.propose();
    const maker = run.acceptAndSign();
    assert.equal(maker.outcome?.status, 'completed');
    const bad = {
      type: 'signature',
      signature: flipBit((maker.send as { signature: Uint8Array }).signature),
    } as const;
    const taker = run.apply('taker', run.taker.receive(wire(bad)));
    assert.equal((taker.outcome as { error: Error }).error.name, 'InvalidCloseSignatureError');
    assert.equal(taker.broadcast, undefined);
    assert.deepEqual(run.events.taker, ['proposeSettlement', 'acceptSettlement', 'failSettlement']);
  });

  it('garbage and oversized frames are violations at the boundary; each side fails cleanly', () => {
    const garbage = [
      new TextEncoder().encode('{not json'),
      encode({ type: 'propose', cfdId: 'x', price: 50000.5 }),
      encode({ type: 'signature', signature: 'zz' }),
      encode({ type: 'accept', extra: 1 }),
      encode({ type: 'reject', reason: 'x'.repeat(501) }),
    ];
    for (const bytes of garbage) {
      assert.throws(() => decode(bytes, CollabSettlementMessage), ProtocolViolationError);
    }
    // Maker before any proposal: nothing to record.
    const before = new Run();
    assert.deepEqual(before.maker.fail(new ProtocolViolationError('garbage')).commands, []);
    // Maker waiting for the signature, taker waiting for the decision: both record the failure.
    const run = new Run();
    run.propose();
    run.apply('maker', run.maker.accept());
    const m = run.apply('maker', run.maker.fail(new ProtocolViolationError('garbage')));
    const t = run.apply('taker', run.taker.fail(new ProtocolViolationError('garbage')));
    assert.equal(m.outcome?.status, 'failed');
    assert.equal(t.outcome?.status, 'failed');
    assert.deepEqual(run.events.maker, ['proposeSettlement', 'acceptSettlement', 'failSettlement']);
    assert.deepEqual(run.events.taker, ['proposeSettlement', 'failSettlement']);
  });

  it('timeouts at every wait end the run with failSettlement', () => {
    // Taker waiting for the decision.
    const a = new Run();
    a.propose();
    a.apply('taker', a.taker.fail(new ProtocolTimeoutError('decision')));
    assert.deepEqual(a.events.taker, ['proposeSettlement', 'failSettlement']);
    // Maker waiting for a (manual) decision that never came: the handler rejects instead.
    const b = new Run();
    b.propose();
    b.apply('maker', b.maker.reject('no decision in time'));
    assert.equal(uiState(b.cfd.maker), 'open');
    // Maker waiting for the taker's signature; taker waiting for the maker's.
    const c = new Run();
    c.propose();
    c.apply('maker', c.maker.accept());
    c.apply('taker', c.taker.receive(wire({ type: 'accept' })));
    c.apply('maker', c.maker.fail(new ProtocolTimeoutError('signature')));
    c.apply('taker', c.taker.fail(new ProtocolTimeoutError('signature')));
    for (const side of ['maker', 'taker'] as const) {
      assert.deepEqual(c.events[side], ['proposeSettlement', 'acceptSettlement', 'failSettlement']);
      assert.match(c.cfd[side].failureReason ?? 'ProtocolTimeoutError', /ProtocolTimeoutError/);
      assert.equal(uiState(c.cfd[side]), 'open');
    }
  });

  it('out-of-order messages fail the run at every step', () => {
    const sig = { type: 'signature', signature: new Uint8Array(64).fill(1) } as const;
    // Maker: a signature instead of a proposal (nothing recorded).
    const a = new Run();
    const first = a.maker.receive(wire(sig));
    assert.equal((first.outcome as { error: Error }).error.name, 'UnexpectedMessageError');
    assert.deepEqual(first.commands, []);
    // Taker: a signature before the decision; an accept where the signature should be.
    const b = new Run();
    b.propose();
    const early = b.apply('taker', b.taker.receive(wire(sig)));
    assert.equal((early.outcome as { error: Error }).error.name, 'UnexpectedMessageError');
    assert.deepEqual(b.events.taker, ['proposeSettlement', 'failSettlement']);
    const c = new Run();
    c.propose();
    c.apply('taker', c.taker.receive(wire(c.apply('maker', c.maker.accept()).send!)));
    const twice = c.apply('taker', c.taker.receive(wire({ type: 'accept' })));
    assert.equal((twice.outcome as { error: Error }).error.name, 'UnexpectedMessageError');
    // Maker: a second proposal where the signature should be.
    const proposal: CollabMessage = {
      type: 'propose',
      cfdId: c.c.cfdId,
      price: QUOTE.bid,
      makerPayout: 1n,
      takerPayout: 1n,
      feeRate: 1n,
      txid: '00'.repeat(32),
    };
    const again = c.apply('maker', c.maker.receive(wire(proposal)));
    assert.equal((again.outcome as { error: Error }).error.name, 'UnexpectedMessageError');
    assert.deepEqual(c.events.maker, ['proposeSettlement', 'acceptSettlement', 'failSettlement']);
  });

  it('after the end nothing changes: late failures and messages are ignored', () => {
    const run = new Run();
    run.settle();
    for (const m of [run.maker, run.taker]) {
      assert.deepEqual(m.fail(new ProtocolTimeoutError('late')).commands, []);
      assert.deepEqual(m.receive(wire({ type: 'accept' })).commands, []);
      assert.equal(m.outcome?.status, 'completed');
    }
  });

  it('misuse is a local error, not a protocol step', () => {
    const run = new Run();
    assert.throws(() => run.taker.receive({ type: 'accept' }), SettlementNotPossibleError);
    assert.throws(() => run.maker.accept(), SettlementNotPossibleError);
    assert.throws(() => new TakerSettlement(run.ctx.maker, QUOTE.bid), SettlementNotPossibleError);
    assert.throws(
      () => new MakerSettlement(run.ctx.taker, { quote: QUOTE }),
      SettlementNotPossibleError,
    );
    // A context whose curve does not pay out the lock amount is refused before anything is sent.
    const wrong = {
      ...run.ctx.taker,
      lock: { ...run.ctx.taker.lock, value: run.ctx.taker.lock.value + 1n },
    };
    assert.throws(() => new TakerSettlement(wrong, QUOTE.bid), /the lock holds/);
    run.taker.start();
    assert.throws(() => run.taker.start(), SettlementNotPossibleError);
  });

  it('closing price and tolerance', () => {
    assert.equal(closingPrice(QUOTE, 'long'), QUOTE.ask);
    assert.equal(closingPrice(QUOTE, 'short'), QUOTE.bid);
    const own = price(50_000);
    assert.ok(withinTolerance(price(50_125), own, 25n));
    assert.ok(withinTolerance(price(49_875), own, 25n));
    assert.ok(!withinTolerance((price(50_125) + 1n) as Price, own, 25n));
    assert.ok(!withinTolerance((price(49_875) - 1n) as Price, own, 25n));
    assert.ok(withinTolerance(own, own, 0n));
  });
});
