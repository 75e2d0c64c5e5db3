// The signed offer envelope and the book's maker timeout: pure, real Ed25519 keys, no network.
import assert from 'node:assert/strict';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { TopicValidatorResult } from '@libp2p/gossipsub';
import type { PrivateKey } from '@libp2p/interface';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { validationResult } from '../../../protocols/discovery/gossip.ts';
import {
  BadSignatureError,
  BookFullError,
  EnvelopeSequence,
  EnvelopeVerifier,
  FutureEnvelopeError,
  MalformedEnvelopeError,
  OfferBook,
  ReplayedEnvelopeError,
  type SignedEnvelope,
  StaleEnvelopeError,
  signEnvelope,
  WrongMakerError,
} from '../../../protocols/offer/index.ts';
import { smallOffer } from '../../helpers/offers.ts';

const NOW = 1_800_000_000;
const LIMITS = { maxAgeSecs: 600, maxClockSkewSecs: 60 };

describe('protocols/offer/envelope', () => {
  let key: PrivateKey;
  let maker: string;
  let other: PrivateKey;
  const content = (seq: number, createdAt = NOW) => ({
    seq,
    createdAt,
    addrs: ['/ip4/127.0.0.1/tcp/4001'],
    offers: [smallOffer(createdAt)],
  });

  before(async () => {
    key = await generateKeyPair('Ed25519');
    maker = peerIdFromPrivateKey(key).toString();
    other = await generateKeyPair('Ed25519');
  });

  it('accepts its maker’s envelope with every field intact', async () => {
    const envelope = await signEnvelope(key, maker, content(1));
    const got = await new EnvelopeVerifier(LIMITS).verify(envelope, NOW, maker);
    assert.equal(got.maker, maker);
    assert.equal(got.seq, 1);
    assert.deepEqual(got.addrs, ['/ip4/127.0.0.1/tcp/4001']);
    assert.deepEqual(got.offers, [smallOffer(NOW)]);
  });

  it('refuses an altered payload: the signature no longer matches', async () => {
    const envelope = await signEnvelope(key, maker, content(1));
    const altered = {
      ...envelope,
      payload: envelope.payload.replace('"lotSize":"100"', '"lotSize":"1"'),
    };
    assert.notEqual(altered.payload, envelope.payload);
    await assert.rejects(new EnvelopeVerifier(LIMITS).verify(altered, NOW), BadSignatureError);
  });

  it('refuses an envelope naming a maker whose key did not sign it', async () => {
    // Another node signs offers in the honest maker's name.
    const forged = await signEnvelope(other, maker, content(1));
    await assert.rejects(new EnvelopeVerifier(LIMITS).verify(forged, NOW), BadSignatureError);
  });

  it('refuses another maker’s valid envelope from a peer that is not that maker', async () => {
    const otherId = peerIdFromPrivateKey(other).toString();
    const theirs = await signEnvelope(other, otherId, content(1));
    await assert.rejects(new EnvelopeVerifier(LIMITS).verify(theirs, NOW, maker), WrongMakerError);
  });

  it('refuses a replayed or older seq, and takes a newer one', async () => {
    const verifier = new EnvelopeVerifier(LIMITS);
    const first = await signEnvelope(key, maker, content(5));
    await verifier.verify(first, NOW);
    await assert.rejects(verifier.verify(first, NOW), ReplayedEnvelopeError);
    await assert.rejects(
      verifier.verify(await signEnvelope(key, maker, content(4)), NOW),
      ReplayedEnvelopeError,
    );
    assert.equal((await verifier.verify(await signEnvelope(key, maker, content(6)), NOW)).seq, 6);
  });

  it('refuses a replayed or stale envelope before its signature: altered, it is still only old', async () => {
    // Whoever signed them they are refused, so they cost a JSON parse, not a verification.
    const verifier = new EnvelopeVerifier(LIMITS);
    await verifier.verify(await signEnvelope(key, maker, content(5)), NOW);
    const alter = (e: SignedEnvelope) => ({ ...e, signature: Buffer.alloc(64).toString('base64') });
    await assert.rejects(
      verifier.verify(alter(await signEnvelope(key, maker, content(5))), NOW),
      ReplayedEnvelopeError,
    );
    await assert.rejects(
      verifier.verify(alter(await signEnvelope(key, maker, content(6, NOW - 601))), NOW),
      StaleEnvelopeError,
    );
    // A new one is checked in full.
    await assert.rejects(
      verifier.verify(alter(await signEnvelope(key, maker, content(6))), NOW),
      BadSignatureError,
    );
  });

  it('refuses an envelope older than the offer age', async () => {
    const old = await signEnvelope(key, maker, content(1, NOW - 601));
    await assert.rejects(new EnvelopeVerifier(LIMITS).verify(old, NOW), StaleEnvelopeError);
  });

  it('refuses an envelope from the future beyond the clock skew', async () => {
    const future = await signEnvelope(key, maker, content(1, NOW + 61));
    await assert.rejects(new EnvelopeVerifier(LIMITS).verify(future, NOW), FutureEnvelopeError);
    // Within the skew it is fine.
    const near = await signEnvelope(key, maker, content(1, NOW + 60));
    assert.equal((await new EnvelopeVerifier(LIMITS).verify(near, NOW)).seq, 1);
  });

  it('refuses what is not an envelope', async () => {
    const verifier = new EnvelopeVerifier(LIMITS);
    await assert.rejects(
      verifier.verify({ type: 'offers', offers: [] }, NOW),
      MalformedEnvelopeError,
    );
    const envelope: SignedEnvelope = await signEnvelope(key, maker, content(1));
    await assert.rejects(
      verifier.verify({ ...envelope, payload: '{"maker":1}' }, NOW),
      MalformedEnvelopeError,
    );
    // Signed by its maker, but an address no dialler can parse (or a port past 65535).
    for (const addr of ['not a multiaddr', '/ip4/127.0.0.1/tcp/99999']) {
      const garbage = await signEnvelope(key, maker, { ...content(2), addrs: [addr] });
      await assert.rejects(verifier.verify(garbage, NOW, maker), {
        name: 'MalformedEnvelopeError',
        message: /not a multiaddr/,
      });
    }
  });

  it('gossip relays none of them: a forgery is rejected (its relay penalised), an old one ignored', async () => {
    const verifier = new EnvelopeVerifier(LIMITS);
    const refusal = (p: Promise<unknown>) =>
      p.then(
        () => undefined,
        (e: unknown) => e,
      );
    const forged = await refusal(
      verifier.verify(await signEnvelope(other, maker, content(1)), NOW),
    );
    const future = await refusal(
      verifier.verify(await signEnvelope(key, maker, content(1, NOW + 61)), NOW),
    );
    const stale = await refusal(
      verifier.verify(await signEnvelope(key, maker, content(1, NOW - 601)), NOW),
    );
    await verifier.verify(await signEnvelope(key, maker, content(9)), NOW);
    const replayed = await refusal(
      verifier.verify(await signEnvelope(key, maker, content(9)), NOW),
    );
    assert.deepEqual([forged, future, stale, replayed].map(validationResult), [
      TopicValidatorResult.Reject,
      TopicValidatorResult.Reject,
      TopicValidatorResult.Ignore,
      TopicValidatorResult.Ignore,
    ]);
  });

  it('a maker’s sequence strictly increases, even within one millisecond', async () => {
    let now = 1_000;
    const seq = new EnvelopeSequence({ clockMs: () => now });
    const a = await seq.next();
    const b = await seq.next();
    now = 999;
    const c = await seq.next();
    assert.ok(a < b && b < c, `${a} ${b} ${c}`);
  });
});

describe('protocols/offer/offer-book maker timeout', () => {
  it('drops a maker not heard for longer than the timeout, keeps the others', () => {
    const book = new OfferBook();
    book.apply('m1', [smallOffer(NOW)], { at: NOW, addrs: ['/a1'] });
    book.apply('m2', [smallOffer(NOW)], { at: NOW + 5, addrs: ['/a2'] });
    assert.deepEqual(book.expire(NOW + 10, 10), []);
    assert.deepEqual(book.expire(NOW + 11, 10), ['m1']);
    assert.deepEqual(
      book.current(NOW + 11, { maxOfferAgeSecs: 600 }).map((o) => o.maker),
      ['m2'],
    );
    assert.deepEqual(book.makers(), [{ maker: 'm2', lastSeen: NOW + 5, addrs: ['/a2'] }]);
    // Heard again: back in the book with its new time.
    book.apply('m1', [smallOffer(NOW + 12)], { at: NOW + 12, addrs: ['/a1'] });
    assert.deepEqual(
      book
        .makers()
        .map((m) => m.maker)
        .sort(),
      ['m1', 'm2'],
    );
  });
});

describe('protocols/offer/offer-book bound', () => {
  it('a full book evicts the maker heard least recently; it comes back when heard again', () => {
    const book = new OfferBook({ maxMakers: 3 });
    book.apply('m1', [smallOffer(NOW)], { at: NOW, addrs: [] });
    book.apply('m2', [smallOffer(NOW)], { at: NOW + 1, addrs: [] });
    book.apply('m3', [smallOffer(NOW)], { at: NOW + 2, addrs: [] });
    // m1 heard again: m2 is now the least recently heard.
    assert.equal(
      book.apply('m1', [smallOffer(NOW)], { at: NOW + 3, addrs: [] }).evicted,
      undefined,
    );
    assert.equal(book.apply('m4', [smallOffer(NOW)], { at: NOW + 4, addrs: [] }).evicted, 'm2');
    assert.equal(book.apply('m2', [smallOffer(NOW)], { at: NOW + 5, addrs: [] }).evicted, 'm3');
    assert.deepEqual(
      book
        .makers()
        .map((m) => m.maker)
        .sort(),
      ['m1', 'm2', 'm4'],
    );
  });

  it('refuses a newcomer when every place is kept; gossip ignores it, not rejects', () => {
    const kept = new Set(['m1', 'm2']);
    const book = new OfferBook({ maxMakers: 2, keep: (m) => kept.has(m) });
    book.apply('m1', [smallOffer(NOW)], { at: NOW, addrs: [] });
    book.apply('m2', [smallOffer(NOW)], { at: NOW, addrs: [] });
    let refused: unknown;
    try {
      book.apply('sybil', [smallOffer(NOW)], { at: NOW + 1, addrs: [] });
    } catch (err) {
      refused = err;
    }
    assert.ok(refused instanceof BookFullError);
    assert.equal(validationResult(refused), TopicValidatorResult.Ignore);
    assert.deepEqual(
      book
        .makers()
        .map((m) => m.maker)
        .sort(),
      ['m1', 'm2'],
    );
    // A kept maker released (say, unpreferred) makes room again.
    kept.delete('m1');
    assert.equal(book.apply('sybil', [], { at: NOW + 2, addrs: [] }).evicted, 'm1');
  });
});

describe('protocols/offer/offer-book memory', () => {
  it('keeps at most maxOffers recent offers: the largest history not kept is cut first', () => {
    const book = new OfferBook({ maxOffers: 1_000, keep: (m) => m === 'kept' });
    const batch = (maker: string, e: number) =>
      Array.from({ length: 100 }, (_, i) => smallOffer(NOW, { id: `${maker}-${e}-${i}` }));
    const age = { maxOfferAgeSecs: 600 };
    for (let e = 0; e < 6; e++) book.apply('kept', batch('kept', e), { at: NOW, addrs: [] });
    for (let e = 0; e < 10; e++) book.apply('flood', batch('flood', e), { at: NOW, addrs: [] });
    // Every offer the kept maker published is still takeable…
    for (let e = 0; e < 6; e++) assert.ok(book.findRecent(`kept-${e}-0`, NOW, age));
    // …the flood's newest 400 too, its oldest not.
    assert.ok(book.findRecent('flood-9-99', NOW, age));
    assert.ok(book.findRecent('flood-6-0', NOW, age));
    assert.equal(book.findRecent('flood-5-99', NOW, age), undefined);
  });
});

describe('protocols/offer/offer-book offers from the future', () => {
  it('rejects an offer stamped beyond the clock skew after it was heard, with a reason', () => {
    const book = new OfferBook({ maxClockSkewSecs: 60 });
    const update = book.apply(
      'm1',
      [smallOffer(NOW + 60, { id: 'skewed' }), smallOffer(NOW + 3_600, { id: 'future' })],
      { at: NOW, addrs: [] },
    );
    assert.deepEqual(
      update.accepted.map((o) => o.id),
      ['skewed'],
    );
    assert.deepEqual(
      update.rejected.map((r) => r.id),
      ['future'],
    );
    assert.match(update.rejected[0]!.reason, /3600 s in the future/);
    // Never shown as current, long after the offer age would have hidden an honest offer.
    assert.deepEqual(
      book.current(NOW + 1_000, { maxOfferAgeSecs: 600 }).map((o) => o.offer.id),
      [],
    );
  });
});

describe('protocols/offer/envelope verifier bound', () => {
  it('remembers at most maxTracked makers: stale ones forgotten first, then the least recent', async () => {
    const keys = await Promise.all([0, 1, 2, 3].map(() => generateKeyPair('Ed25519')));
    const ids = keys.map((k) => peerIdFromPrivateKey(k).toString());
    const verifier = new EnvelopeVerifier(LIMITS, 2);
    const envelope = (i: number, seq: number, createdAt: number) =>
      signEnvelope(keys[i]!, ids[i]!, { seq, createdAt, addrs: [], offers: [] });
    // Maker 0 heard long ago (its envelope would now be stale), 1 and 2 fresh.
    await verifier.verify(await envelope(0, 1, NOW - 700), NOW - 700);
    await verifier.verify(await envelope(1, 1, NOW - 10), NOW - 10);
    await verifier.verify(await envelope(2, 1, NOW), NOW);
    assert.equal(verifier.tracked, 2);
    // Maker 1 still remembered: its replay refused (0, stale, was the one forgotten).
    await assert.rejects(
      verifier.verify(await envelope(1, 1, NOW - 10), NOW),
      ReplayedEnvelopeError,
    );
    // A fourth fresh maker pushes out the least recently heard of the fresh ones (1).
    await verifier.verify(await envelope(3, 1, NOW), NOW);
    assert.equal(verifier.tracked, 2);
    await verifier.verify(await envelope(1, 1, NOW - 10), NOW);
  });
});
