// dlcfd's anchored transaction format from the fixed inputs of test/fixtures/dlcfd_anchored_contract.json:
// every transaction the golden vectors pin, built and signed with dlc/ (deterministic: RFC 6979
// signatures and the no-aux adaptor variant). anchored-format.spec.ts compares it with the
// fixture's `expected`.
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, hexToBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import { address, script as bscript, networks, payments, Transaction } from 'bitcoinjs-lib';
import {
  adaptorEncrypt,
  buildCet,
  buildCommitTransaction,
  buildLockTransaction,
  buildPunish,
  buildRefund,
  type CetTransaction,
  type CommitKeys,
  type CommitTransaction,
  type LockTransaction,
  type PayoutScripts,
  type PunishTransaction,
  publishCommit,
  type RefundTransaction,
  recoverPublishSecret,
  signAnchorInput,
  signPunish,
  spendSighash,
} from '../../dlc/index.ts';

/** The fixture's inputs (amounts as JSON numbers, all below 2^53). */
export interface AnchoredVectorInputs {
  /** Each secret key is sha256(utf8(`${label}/${role}/${key}`)). */
  readonly label: string;
  /** Funding outpoints of the lock (no change: the lock output is the whole of them). */
  readonly lockInputs: { readonly maker: string; readonly taker: string };
  readonly margins: { readonly maker: number; readonly taker: number };
  /** Testnet addresses (the production fixture's). */
  readonly payoutAddresses: { readonly maker: string; readonly taker: string };
  readonly feeRate: number;
  readonly cetTimelock: number;
  readonly refundTimelock: number;
  readonly cetPayout: { readonly maker: number; readonly taker: number };
  /** The taker punishes the maker's revoked commit with this fee (PUNISH_VBYTES × 10). */
  readonly punishFee: number;
  /** The maker's CPFP child: its anchor plus one wallet P2WPKH coin (key `${label}/maker/wallet`). */
  readonly child: {
    readonly walletCoin: string;
    readonly walletValue: number;
    readonly fee: number;
  };
}

export const secretKey = (label: string, role: string, key: string): Uint8Array =>
  sha256(utf8ToBytes(`${label}/${role}/${key}`));

const pub = (sk: Uint8Array) => secp256k1.getPublicKey(sk, true);

function outpoint(s: string): { txid: string; vout: number } {
  const [txid, vout] = s.split(':') as [string, string];
  return { txid, vout: Number(vout) };
}

export interface AnchoredVectors {
  readonly secrets: Record<
    'maker' | 'taker',
    Record<'identity' | 'publish' | 'revocation', Uint8Array>
  >;
  readonly keys: CommitKeys;
  readonly scripts: PayoutScripts;
  readonly lock: LockTransaction;
  readonly commit: CommitTransaction;
  /** The taker's commit adaptor signature (no aux), encrypted to the maker's publish key. */
  readonly takerCommitAdaptor: Uint8Array;
  /** The commit as the maker publishes it. */
  readonly signedCommit: Transaction;
  readonly cet: CetTransaction;
  readonly refund: RefundTransaction;
  readonly punish: PunishTransaction;
  /** The taker's punish of that commit (once revoked), signed. */
  readonly signedPunish: Transaction;
  /** The maker's CPFP child, both inputs signed. */
  readonly child: Transaction;
  readonly walletKey: Uint8Array;
}

export function deriveAnchoredVectors(i: AnchoredVectorInputs): AnchoredVectors {
  const party = (role: 'maker' | 'taker') => ({
    identity: secretKey(i.label, role, 'identity'),
    publish: secretKey(i.label, role, 'publish'),
    revocation: secretKey(i.label, role, 'revocation'),
  });
  const secrets = { maker: party('maker'), taker: party('taker') };
  const pubs = (s: (typeof secrets)['maker']) => ({
    identity: pub(s.identity),
    publish: pub(s.publish),
    revocation: pub(s.revocation),
  });
  const keys: CommitKeys = { maker: pubs(secrets.maker), taker: pubs(secrets.taker) };
  const scripts = {
    maker: address.toOutputScript(i.payoutAddresses.maker, networks.testnet),
    taker: address.toOutputScript(i.payoutAddresses.taker, networks.testnet),
  };
  const margins = { maker: BigInt(i.margins.maker), taker: BigInt(i.margins.taker) };
  const lock = buildLockTransaction({
    identities: { maker: keys.maker.identity, taker: keys.taker.identity },
    maker: { margin: margins.maker, inputs: [outpoint(i.lockInputs.maker)], change: [] },
    taker: { margin: margins.taker, inputs: [outpoint(i.lockInputs.taker)], change: [] },
  });
  const commit = buildCommitTransaction(lock.output, keys, BigInt(i.feeRate), { anchors: true });
  const takerCommitAdaptor = adaptorEncrypt(
    secrets.taker.identity,
    keys.maker.publish,
    spendSighash(commit),
    null,
  );
  const signedCommit = publishCommit(
    commit,
    'maker',
    secrets.maker.identity,
    secrets.maker.publish,
    takerCommitAdaptor,
  );
  const cet = buildCet(
    commit,
    { maker: BigInt(i.cetPayout.maker), taker: BigInt(i.cetPayout.taker) },
    scripts,
    i.cetTimelock,
  );
  const refund = buildRefund(commit, margins, scripts, i.refundTimelock);
  const punish = buildPunish(commit, scripts.taker, { fee: BigInt(i.punishFee) });
  const makerPublishSk = recoverPublishSecret(commit, 'taker', signedCommit, takerCommitAdaptor);
  const signedPunish = signPunish(
    punish,
    'taker',
    secrets.taker.identity,
    makerPublishSk,
    secrets.maker.revocation,
  );

  // The maker's CPFP child: [maker anchor, wallet coin] → wallet address.
  const walletKey = secretKey(i.label, 'maker', 'wallet');
  const wallet = payments.p2wpkh({ pubkey: pub(walletKey), network: networks.testnet });
  const anchor = commit.anchors?.maker;
  if (!anchor) throw new Error('the anchored commit has no maker anchor');
  const coin = outpoint(i.child.walletCoin);
  const child = new Transaction();
  child.version = 2;
  child.addInput(hexToBytes(anchor.txid).reverse(), anchor.vout, 0xfffffffd);
  child.addInput(hexToBytes(coin.txid).reverse(), coin.vout, 0xfffffffd);
  const walletValue = BigInt(i.child.walletValue);
  child.addOutput(wallet.output!, anchor.value + walletValue - BigInt(i.child.fee));
  child.setWitness(0, signAnchorInput(child, 0, anchor, secrets.maker.identity));
  const scriptCode = payments.p2pkh({ pubkey: pub(walletKey) }).output!;
  const digest = child.hashForWitnessV0(1, scriptCode, walletValue, Transaction.SIGHASH_ALL);
  const sig = secp256k1.sign(digest, walletKey, { prehash: false, lowS: true });
  child.setWitness(1, [bscript.signature.encode(sig, Transaction.SIGHASH_ALL), pub(walletKey)]);

  return {
    secrets,
    keys,
    scripts,
    lock,
    commit,
    takerCommitAdaptor,
    signedCommit,
    cet,
    refund,
    punish,
    signedPunish,
    child,
    walletKey,
  };
}

/** What the fixture's `expected` holds: hex, txids and exact amounts (as decimal strings). */
export function expectedOf(v: AnchoredVectors): Record<string, unknown> {
  const anchors = v.commit.anchors;
  if (!anchors) throw new Error('not anchored');
  return {
    lockTxid: v.lock.tx.getId(),
    lockAmount: `${v.lock.output.value}`,
    commit: {
      txid: v.commit.tx.getId(),
      fee: `${v.commit.fee}`,
      amount: `${v.commit.output.value}`,
      anchorScripts: {
        maker: bytesToHex(anchors.maker.witnessScript),
        taker: bytesToHex(anchors.taker.witnessScript),
      },
      unsignedHex: v.commit.tx.toHex(),
      takerAdaptorSignature: bytesToHex(v.takerCommitAdaptor),
      signedByMakerHex: v.signedCommit.toHex(),
    },
    cet: {
      txid: v.cet.tx.getId(),
      outputs: v.cet.outputs.map((o) => `${o.value}`),
      hex: v.cet.tx.toHex(),
    },
    refund: {
      txid: v.refund.tx.getId(),
      outputs: v.refund.outputs.map((o) => `${o.value}`),
      hex: v.refund.tx.toHex(),
    },
    punish: {
      txid: v.punish.tx.getId(),
      value: `${v.punish.output.value}`,
      unsignedHex: v.punish.tx.toHex(),
      signedByTakerHex: v.signedPunish.toHex(),
    },
    child: { txid: v.child.getId(), hex: v.child.toHex() },
  };
}
