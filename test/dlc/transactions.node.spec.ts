/**
 * Every CFD transaction proven on the embedded full node (bcoin regtest, which validates scripts,
 * signatures and BIP68 sequence locks like Bitcoin Core). Two simulated parties hold their keys
 * in memory, fund P2WSH 2-of-2 locks from P2WPKH coins, and a simulated olivia oracle attests.
 * No mocks: every spend below is accepted or rejected by the node itself.
 */
import assert from 'node:assert/strict';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { Psbt, Transaction } from 'bitcoinjs-lib';
import {
  anticipatedPoint,
  assertSecretKey,
  attestationDecryptionKey,
  attestPrice,
  buildCets,
  buildClose,
  buildCommitTransaction,
  buildLockTransaction,
  buildPunish,
  buildRefund,
  type CetAdaptorSignature,
  type CommitTransaction,
  cetFee,
  closeFee,
  encryptSpendSignature,
  finalizeCet,
  finalizeCooperative,
  findCet,
  type IntervalCet,
  type LockTransaction,
  type OracleEventPoints,
  type PayoutInterval,
  PUNISH_FEE,
  prefixRange,
  prepareOracleEvent,
  publishCommit,
  type RefundTransaction,
  recoverPublishSecret,
  SecretKeyMismatchError,
  SignatureVerificationError,
  signCetAdaptors,
  signCommitAdaptor,
  signCooperative,
  signPunish,
  verifyCetAdaptors,
  verifyCommitAdaptor,
  verifyCooperative,
} from '../../dlc/index.ts';
import { payoutCurve, rowAtPrice, toRolePayouts } from '../../dlc/payout-curve.ts';
import type { Role } from '../../model/units.ts';
import { price as usd } from '../../model/units.ts';
import { broadcast } from '../../node/chain/broadcast.ts';
import { mineConfirmed, rejectedReason } from '../helpers/broadcast.ts';
import { chainFor } from '../helpers/chain.ts';
import { commitKeysOf } from '../helpers/contract-fixtures.ts';
import { type Key, newKey, p2wpkh } from '../node/chain/helpers.ts';

const CET_LOCK = 12;
/** Short refund lock so the test mines little (production: 216). */
const REFUND_LOCK = 20;
const FEE_RATE = 2n; // sat/vB for lock and commit
const MARGINS = { maker: 300_000n, taker: 150_000n };
const TOTAL = MARGINS.maker + MARGINS.taker;
const FUNDING = 400_000n;
/** What each party's wallet would pay for its input, change and share of the lock (≥ 2 sat/vB). */
const LOCK_FEE_EACH = 300n;

/**
 * The real payout curve of this contract: $50,000, 150 contracts, taker long at 2×, maker short
 * at 1× — margins 150,000 and 300,000 sats, ~200 CETs and ~1,600 adaptor signatures per party.
 */
const CURVE = payoutCurve({
  initialPrice: usd(50_000),
  quantity: 150n,
  longLeverage: 2,
  shortLeverage: 1,
});
const TABLE: PayoutInterval[] = toRolePayouts(CURVE.rows, 'short');

interface Party {
  readonly role: Role;
  readonly identity: Key;
  readonly funding: Key;
  readonly payout: Key;
  /** Per commit generation (setup = 0, each rollover +1). */
  publish: Key;
  revocation: Key;
}

function newParty(role: Role): Party {
  return {
    role,
    identity: newKey(),
    funding: newKey(),
    payout: newKey(),
    publish: newKey(),
    revocation: newKey(),
  };
}

/** The simulated olivia oracle: an attestation key and 20 nonces for one event. */
interface Oracle {
  readonly sk: Uint8Array;
  readonly nonceSks: Uint8Array[];
  readonly event: OracleEventPoints;
}

function newOracle(): Oracle {
  const sk = secp256k1.utils.randomSecretKey();
  const nonceSks = Array.from({ length: 20 }, () => secp256k1.utils.randomSecretKey());
  const xOnly = (k: Uint8Array) => secp256k1.getPublicKey(k, true).subarray(1);
  return { sk, nonceSks, event: prepareOracleEvent(xOnly(sk), nonceSks.map(xOnly)) };
}

/** One commit generation: commit, CETs, refund and the signatures each party holds. */
interface Generation {
  readonly commit: CommitTransaction;
  readonly cets: IntervalCet[];
  readonly refund: RefundTransaction;
  /** The commit adaptor signature each party MADE (given to the other). */
  readonly commitEncsigBy: Record<Role, Uint8Array>;
  /** CET adaptor signatures each party made, per CET. */
  readonly cetSigsBy: Record<Role, CetAdaptorSignature[][]>;
  readonly refundSigBy: Record<Role, Uint8Array>;
  /** The revocation/publish secrets of this generation. */
  readonly secrets: Record<Role, { publish: Key; revocation: Key }>;
}

interface Contract {
  readonly maker: Party;
  readonly taker: Party;
  readonly lock: LockTransaction;
  readonly generations: Generation[];
}

const other = (r: Role): Role => (r === 'maker' ? 'taker' : 'maker');

describe('dlc/transactions on the embedded full node', function () {
  this.timeout(20_000);
  const oracle = newOracle();

  const net = chainFor('all');

  const rejected = (tx: Transaction) => rejectedReason(net.rpc, tx);

  const confirms = (tx: Transaction) => mineConfirmed(net.chain, net.rpc, tx);

  const scripts = (c: Pick<Contract, 'maker' | 'taker'>) => ({
    maker: p2wpkh(c.maker.payout).output,
    taker: p2wpkh(c.taker.payout).output,
  });

  /**
   * Both parties build commit, CETs and refund from the exchanged public data, sign, exchange and
   * verify everything (as contract setup and rollover do).
   */
  function newGeneration(c: Pick<Contract, 'maker' | 'taker' | 'lock'>): Generation {
    const build = () => {
      const commit = buildCommitTransaction(
        c.lock.output,
        commitKeysOf(c.maker, c.taker),
        FEE_RATE,
      );
      const cets = buildCets(commit, TABLE, scripts(c), CET_LOCK);
      const refund = buildRefund(commit, MARGINS, scripts(c), REFUND_LOCK);
      return { commit, cets, refund };
    };
    const views = { maker: build(), taker: build() };
    // Both derive the same txids.
    assert.equal(views.maker.commit.tx.getId(), views.taker.commit.tx.getId());
    assert.deepEqual(
      views.maker.cets.map((x) => x.tx.getId()),
      views.taker.cets.map((x) => x.tx.getId()),
    );
    assert.equal(views.maker.refund.tx.getId(), views.taker.refund.tx.getId());

    const sign = (role: Role) => {
      const party = c[role];
      const v = views[role];
      return {
        commit: signCommitAdaptor(v.commit, role, party.identity.priv),
        cets: v.cets.map((cet) => signCetAdaptors(cet, role, party.identity.priv, oracle.event)),
        refund: signCooperative(v.refund, role, party.identity.priv),
      };
    };
    const by = { maker: sign('maker'), taker: sign('taker') };
    // Each verifies what it receives before storing it.
    for (const role of ['maker', 'taker'] as const) {
      const v = views[role];
      const theirs = by[other(role)];
      verifyCommitAdaptor(v.commit, role, theirs.commit);
      for (const [i, cet] of v.cets.entries()) {
        verifyCetAdaptors(cet, role, oracle.event, theirs.cets[i]!);
      }
      verifyCooperative(v.refund, role, theirs.refund);
    }
    return {
      ...views.maker,
      commitEncsigBy: { maker: by.maker.commit, taker: by.taker.commit },
      cetSigsBy: { maker: by.maker.cets, taker: by.taker.cets },
      refundSigBy: { maker: by.maker.refund, taker: by.taker.refund },
      secrets: {
        maker: { publish: c.maker.publish, revocation: c.maker.revocation },
        taker: { publish: c.taker.publish, revocation: c.taker.revocation },
      },
    };
  }

  /** Funds both parties, builds and signs everything, broadcasts the lock and confirms it. */
  async function setup(): Promise<Contract> {
    const maker = newParty('maker');
    const taker = newParty('taker');
    const fundings = await Promise.all(
      [maker, taker].map(async (p) => {
        const { txid, vout } = await net.chain.fund(p2wpkh(p.funding).address, FUNDING);
        return { txid, vout, witnessUtxo: { script: p2wpkh(p.funding).output, value: FUNDING } };
      }),
    );
    await net.chain.mine(1);
    const party = (p: Party, i: number) => ({
      margin: MARGINS[p.role],
      inputs: [fundings[i]!],
      change: [
        { script: p2wpkh(p.funding).output, value: FUNDING - MARGINS[p.role] - LOCK_FEE_EACH },
      ],
    });
    const lock = buildLockTransaction({
      identities: { maker: maker.identity.pub, taker: taker.identity.pub },
      maker: party(maker, 0),
      taker: party(taker, 1),
    });
    assert.deepEqual(lock.fees, { maker: LOCK_FEE_EACH, taker: LOCK_FEE_EACH });
    const contract: Contract = { maker, taker, lock, generations: [] };
    contract.generations.push(newGeneration(contract));

    // Only after all signatures verified: each signs its own lock input, PSBTs are combined.
    const signed = [maker, taker].map((p, i) => {
      const psbt = lock.psbt.clone();
      psbt.signInput(i, {
        publicKey: p.funding.pub,
        sign: (hash: Uint8Array) =>
          secp256k1.sign(hash, p.funding.priv, { prehash: false, lowS: true }),
      });
      return psbt;
    });
    const combined = Psbt.fromBase64(signed[0]!.toBase64()).combine(signed[1]!);
    combined.finalizeAllInputs();
    const lockTx = combined.extractTransaction();
    assert.equal(lockTx.getId(), lock.tx.getId());
    await confirms(lockTx);
    return contract;
  }

  /** `role` publishes the commit of a generation: own signature + decrypted counterparty one. */
  function published(c: Contract, role: Role, gen = c.generations.at(-1)!): Transaction {
    return publishCommit(
      gen.commit,
      role,
      c[role].identity.priv,
      gen.secrets[role].publish.priv,
      gen.commitEncsigBy[other(role)],
    );
  }

  let a: Contract;

  it('1. builds everything, exchanges and verifies all signatures, and the lock confirms', async () => {
    a = await setup();
    const out = await net.rpc.getTxOut(a.lock.output.txid, 0, true);
    assert.ok(out);
  });

  it('2. either party can publish the commit (maker here; taker in 4)', async () => {
    const tx = published(a, 'maker');
    assert.deepEqual(await broadcast(net.rpc, tx.toHex()), { txid: tx.getId(), status: 'mempool' });
  });

  it('3. a CET decrypted with the attestation is non-BIP68-final before 12 blocks, then confirms', async () => {
    const price = 45_678;
    const scalars = attestPrice(oracle.sk, oracle.nonceSks, price);
    const gen = a.generations[0]!;
    const { cet, prefix } = findCet(gen.cets, price);
    const index = gen.cets.indexOf(cet);
    // The taker executes with the maker's adaptor signature for the attested prefix.
    const encsig = gen.cetSigsBy.maker[index]!.find((s) => s.prefix.join() === prefix.join())!;
    const y = attestationDecryptionKey(price, scalars, prefix);
    const tx = finalizeCet(cet, 'taker', a.taker.identity.priv, encsig.adaptorSignature, y);

    assert.match(await rejected(tx), /non-BIP68-final/); // commit still unconfirmed
    await net.chain.mine(1); // commit confirms at height H
    await net.chain.mine(CET_LOCK - 2); // tip H+10: the next block is only the 11th
    assert.match(await rejected(tx), /non-BIP68-final/);
    await net.chain.mine(1); // tip H+11: the next block is the 12th after the commit
    await confirms(tx);

    // Its outputs are the curve row for the attested price after maia's fee rule.
    const row = TABLE.find((r) => r.start <= price && price <= r.end)!;
    assert.deepEqual(row, toRolePayouts([rowAtPrice(CURVE.rows, price)], 'short')[0]);
    const half = cetFee(gen.commit) / 2n;
    assert.deepEqual(
      tx.outs.map((o) => [Buffer.from(o.script).toString('hex'), o.value]),
      [
        [Buffer.from(scripts(a).maker).toString('hex'), row.maker - half],
        [Buffer.from(scripts(a).taker).toString('hex'), row.taker - half],
      ],
    );
    // ≈208 sats on chain, the commit fee re-split between the parties.
    const onChainFee = gen.commit.output.value - tx.outs.reduce((s, o) => s + o.value, 0n);
    assert.equal(onChainFee, 208n);
  });

  it('4. the taker publishes; the refund is non-BIP68-final before its lock, then confirms', async () => {
    const b = await setup();
    const gen = b.generations[0]!;
    await broadcast(net.rpc, published(b, 'taker').toHex());
    await net.chain.mine(1);
    const refund = finalizeCooperative(
      gen.refund,
      'maker',
      b.maker.identity.priv,
      gen.refundSigBy.taker,
    );
    await net.chain.mine(REFUND_LOCK - 2);
    assert.match(await rejected(refund), /non-BIP68-final/);
    await net.chain.mine(1);
    await confirms(refund);
    const half = cetFee(gen.commit) / 2n;
    assert.deepEqual(
      refund.outs.map((o) => o.value),
      [MARGINS.maker - half, MARGINS.taker - half],
    );
  });

  for (const cheater of ['taker', 'maker'] as const) {
    const punisher = other(cheater);
    it(`5. after a rollover, the ${cheater} publishing the old commit is punished by the ${punisher}`, async () => {
      const c = await setup();
      // Rollover: new publish/revocation keys → new commit, CETs, refund; all verified first.
      for (const p of [c.maker, c.taker]) {
        p.publish = newKey();
        p.revocation = newKey();
      }
      c.generations.push(newGeneration(c));
      const [old, current] = c.generations as [Generation, Generation];
      assert.notEqual(old.commit.tx.getId(), current.commit.tx.getId());
      // Then the old revocation secrets are revealed (taker first), each checked by the receiver.
      const revealed = {
        taker: old.secrets.taker.revocation.priv,
        maker: old.secrets.maker.revocation.priv,
      };
      assertSecretKey(revealed.taker, old.commit.keys.taker.revocation, 'taker revocation');
      assertSecretKey(revealed.maker, old.commit.keys.maker.revocation, 'maker revocation');
      assert.throws(
        () => assertSecretKey(revealed.maker, old.commit.keys.taker.revocation),
        SecretKeyMismatchError,
      );

      // The cheater publishes the revoked commit.
      const stale = published(c, cheater, old);
      await confirms(stale);

      // The punisher reads it from the chain and recovers the cheater's publish secret.
      const onChain = Transaction.fromHex((await net.rpc.getRawTransaction(stale.getId()))!);
      const publishSk = recoverPublishSecret(
        old.commit,
        punisher,
        onChain,
        old.commitEncsigBy[punisher],
      );
      assert.deepEqual(publishSk, old.secrets[cheater].publish.priv);
      const punishTx = signPunish(
        buildPunish(old.commit, p2wpkh(c[punisher].payout).output),
        punisher,
        c[punisher].identity.priv,
        publishSk,
        revealed[cheater],
      );
      await confirms(punishTx);
      assert.equal(punishTx.outs.length, 1);
      assert.deepEqual(punishTx.outs[0]!.script, p2wpkh(c[punisher].payout).output);
      assert.equal(punishTx.outs[0]!.value, old.commit.output.value - PUNISH_FEE);
      assert.ok(PUNISH_FEE >= BigInt(punishTx.virtualSize()), 'fee ≥ 1 sat/vB');
    });
  }

  it('6. a collaborative close spends the lock and confirms', async () => {
    const c = await setup();
    const payout = { maker: 180_000n, taker: TOTAL - 180_000n };
    const closeFor = () => buildClose(c.lock.output, c.lock.identities, payout, scripts(c));
    const takerSig = signCooperative(closeFor(), 'taker', c.taker.identity.priv);
    const tx = finalizeCooperative(closeFor(), 'maker', c.maker.identity.priv, takerSig);
    await confirms(tx);
    const half = closeFee() / 2n;
    assert.deepEqual(
      tx.outs.map((o) => o.value),
      [payout.maker - half, payout.taker - half],
    );
  });

  it('7. a wrong-range CET signature, a tampered adaptor signature or a wrong key is rejected', () => {
    const gen = a.generations[0]!;
    const [cetA, cetB] = gen.cets as [IntervalCet, IntervalCet];
    const makerSigs = gen.cetSigsBy.maker;
    const reject = (f: () => unknown, kind: string) =>
      assert.throws(f, (e: unknown) => {
        assert.ok(e instanceof SignatureVerificationError, String(e));
        assert.equal(e.transaction, kind);
        return true;
      });

    // Signatures of one interval presented as another interval's: ranges the CET does not have.
    reject(() => verifyCetAdaptors(cetB, 'taker', oracle.event, makerSigs[0]!), 'cet');
    // Right ranges, but each signed for another prefix's oracle point (shifted by one).
    const sigsA = makerSigs[0]!;
    assert.ok(sigsA.length > 1);
    const shifted = sigsA.map((s, i) => ({
      range: s.range,
      adaptorSignature: sigsA[(i + 1) % sigsA.length]!.adaptorSignature,
    }));
    reject(() => verifyCetAdaptors(cetA, 'taker', oracle.event, shifted), 'cet');
    // CET A (maker takes all) signed to the oracle points of CET B's prefixes, sent as B's.
    const aToBPoints = cetB.prefixes.map((p) => ({
      range: prefixRange(p),
      adaptorSignature: encryptSpendSignature(
        cetA,
        a.maker.identity.priv,
        anticipatedPoint(oracle.event, p),
      ),
    }));
    reject(() => verifyCetAdaptors(cetB, 'taker', oracle.event, aToBPoints), 'cet');
    reject(() => verifyCetAdaptors(cetA, 'taker', oracle.event, aToBPoints), 'cet');

    // A tampered adaptor signature (one bit of s_a flipped).
    const tampered = sigsA.map((s) => ({ ...s, adaptorSignature: s.adaptorSignature.slice() }));
    tampered[0]!.adaptorSignature[70]! ^= 0x01;
    reject(() => verifyCetAdaptors(cetA, 'taker', oracle.event, tampered), 'cet');
    const commitSig = gen.commitEncsigBy.maker.slice();
    commitSig[100]! ^= 0x80;
    reject(() => verifyCommitAdaptor(gen.commit, 'taker', commitSig), 'commit');

    // Wrong keys: a commit signature by the maker's publish key instead of its identity key; one
    // encrypted to the maker's own publish key instead of the taker's; a refund signature by
    // the wrong party.
    const byWrongKey = encryptSpendSignature(gen.commit, a.maker.publish.priv, a.taker.publish.pub);
    reject(() => verifyCommitAdaptor(gen.commit, 'taker', byWrongKey), 'commit');
    const toWrongPoint = encryptSpendSignature(
      gen.commit,
      a.maker.identity.priv,
      a.maker.publish.pub,
    );
    reject(() => verifyCommitAdaptor(gen.commit, 'taker', toWrongPoint), 'commit');
    reject(() => verifyCooperative(gen.refund, 'taker', gen.refundSigBy.taker), 'refund');
    assert.throws(
      () => signCommitAdaptor(gen.commit, 'maker', a.taker.identity.priv),
      SecretKeyMismatchError,
    );

    // An attestation of a price in another interval cannot decrypt this CET's signature.
    const scalars = attestPrice(oracle.sk, oracle.nonceSks, 55_555);
    const { prefix } = findCet(gen.cets, 55_555);
    const y = attestationDecryptionKey(55_555, scalars, prefix);
    reject(
      () => finalizeCet(cetB, 'taker', a.taker.identity.priv, sigsA[0]!.adaptorSignature, y),
      'cet',
    );
  });
});
