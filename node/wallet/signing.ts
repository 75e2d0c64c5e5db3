/**
 * Signing with the wallet's BIP84 keys: PSBT inputs spending wallet coins, P2WPKH inputs of a
 * CPFP child, and the child itself. Pure functions of an {@link Account}; the wallet decides what
 * to sign.
 */
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { script as bscript, Psbt, payments, Transaction } from 'bitcoinjs-lib';
import type { Sats } from '../../model/units.ts';
import { type ForeignInput, P2WPKH_INPUT_WEIGHT, RBF_SEQUENCE } from './cpfp.ts';
import { type Account, type BitcoinNetwork, type Chain, NETWORKS } from './keys.ts';

/** A wallet key by chain (0 receive, 1 change) and index. */
export type KeyPath = { chain: Chain; index: number };

/** A coin spent by a PSBT the wallet builds. */
export interface PsbtCoin {
  readonly txid: string;
  readonly vout: number;
  readonly value: Sats;
  /** scriptPubKey, hex. */
  readonly script: string;
}

/** A PSBT spending `coins`, each input signalling BIP125 replaceability. */
export function rbfPsbt(network: BitcoinNetwork, coins: readonly PsbtCoin[]): Psbt {
  const psbt = new Psbt({ network: NETWORKS[network] });
  for (const c of coins) {
    psbt.addInput({
      hash: c.txid,
      index: c.vout,
      sequence: RBF_SEQUENCE,
      witnessUtxo: { script: Buffer.from(c.script, 'hex'), value: c.value },
    });
  }
  return psbt;
}

/** Signs every input of `psbt` whose script is a wallet key's. Returns how many it signed. */
export function signWalletInputs(
  psbt: Psbt,
  account: Account,
  keyOf: (script: string) => KeyPath | undefined,
): number {
  let signed = 0;
  psbt.data.inputs.forEach((input, i) => {
    const script = input.witnessUtxo && Buffer.from(input.witnessUtxo.script).toString('hex');
    const key = script && keyOf(script);
    if (!key) return;
    const priv = account.privateKey(key.chain, key.index);
    psbt.signInput(i, {
      publicKey: secp256k1.getPublicKey(priv, true),
      sign: (hash: Uint8Array) => secp256k1.sign(hash, priv, { prehash: false, lowS: true }),
    });
    signed++;
  });
  return signed;
}

/** A P2WPKH wallet output as a child input, signed with the key at `key`. */
export function p2wpkhInput(
  account: Account,
  coin: { txid: string; vout: number; value: Sats; script: Uint8Array },
  key: KeyPath,
): ForeignInput {
  const { txid, vout, value, script } = coin;
  return {
    txid,
    vout,
    value,
    script,
    vbytes: P2WPKH_INPUT_WEIGHT / 4,
    sign(tx, index) {
      const priv = account.privateKey(key.chain, key.index);
      const pub = secp256k1.getPublicKey(priv, true);
      const scriptCode = payments.p2pkh({ pubkey: pub }).output!;
      const hash = tx.hashForWitnessV0(index, scriptCode, value, Transaction.SIGHASH_ALL);
      const sig = secp256k1.sign(hash, priv, { prehash: false, lowS: true });
      return [bscript.signature.encode(sig, Transaction.SIGHASH_ALL), pub];
    },
  };
}

/** A child spending `inputs` to one change output of `change` sats, every input signed. */
export function signChild(
  inputs: readonly ForeignInput[],
  change: Sats,
  changeScript: string,
): Transaction {
  const tx = new Transaction();
  tx.version = 2;
  for (const i of inputs) {
    tx.addInput(Buffer.from(i.txid, 'hex').reverse(), i.vout, i.sequence ?? RBF_SEQUENCE);
  }
  tx.addOutput(Buffer.from(changeScript, 'hex'), change);
  const prevouts = inputs.map((i) => ({ script: i.script, value: i.value }));
  const witnesses = inputs.map((i, index) => i.sign(tx, index, prevouts));
  for (const [index, w] of witnesses.entries()) tx.setWitness(index, w);
  return tx;
}
