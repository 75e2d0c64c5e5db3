/**
 * Test transactions for the chain specs, built with bitcoinjs-lib and signed with @noble/curves:
 * P2WPKH spends and P2WSH `<n> OP_CSV OP_DROP <pub> OP_CHECKSIG` (a relative timelock, like a CET).
 */
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { networks, opcodes, payments, script, Transaction } from 'bitcoinjs-lib';
import { pino } from 'pino';

export const regtest = networks.regtest;

/** A silent logger for nodes under test. */
export const silent = pino({ level: 'silent' });

export interface Key {
  priv: Uint8Array;
  pub: Uint8Array;
}

export function newKey(): Key {
  const priv = secp256k1.utils.randomSecretKey();
  return { priv, pub: secp256k1.getPublicKey(priv, true) };
}

export function p2wpkh(key: Key): { address: string; output: Uint8Array } {
  const p = payments.p2wpkh({ pubkey: key.pub, network: regtest });
  return { address: p.address!, output: p.output! };
}

/** witnessScript: `<blocks> OP_CHECKSEQUENCEVERIFY OP_DROP <pub> OP_CHECKSIG` */
export function csvScript(key: Key, blocks: number): Uint8Array {
  return script.compile([
    script.number.encode(blocks),
    opcodes.OP_CHECKSEQUENCEVERIFY,
    opcodes.OP_DROP,
    key.pub,
    opcodes.OP_CHECKSIG,
  ]);
}

export function p2wsh(witnessScript: Uint8Array): { address: string; output: Uint8Array } {
  const p = payments.p2wsh({ redeem: { output: witnessScript }, network: regtest });
  return { address: p.address!, output: p.output! };
}

function sign(key: Key, sighash: Uint8Array): Uint8Array {
  const sig = secp256k1.sign(sighash, key.priv, { prehash: false, lowS: true });
  return script.signature.encode(sig, Transaction.SIGHASH_ALL);
}

function txidBytes(txid: string): Uint8Array {
  return Uint8Array.from(Buffer.from(txid, 'hex').reverse());
}

export interface Prevout {
  txid: string;
  vout: number;
  value: bigint;
}

/** Spends a P2WPKH output of `key` to `toOutput`, paying `fee`. `corrupt` breaks the signature. */
export function spendP2wpkh(
  key: Key,
  prev: Prevout,
  toOutput: Uint8Array,
  fee: bigint,
  corrupt = false,
): Transaction {
  const tx = new Transaction();
  tx.version = 2;
  tx.addInput(txidBytes(prev.txid), prev.vout, 0xfffffffd);
  tx.addOutput(toOutput, prev.value - fee);
  const scriptCode = payments.p2pkh({ pubkey: key.pub }).output!;
  const sighash = tx.hashForWitnessV0(0, scriptCode, prev.value, Transaction.SIGHASH_ALL);
  const sig = sign(key, sighash);
  if (corrupt) sig[10] = (sig[10] ?? 0) ^ 0x01;
  tx.setWitness(0, [sig, key.pub]);
  return tx;
}

/** Spends a CSV-locked P2WSH output with `sequence` (the relative lock in blocks). */
export function spendCsv(
  key: Key,
  witnessScript: Uint8Array,
  prev: Prevout,
  sequence: number,
  toOutput: Uint8Array,
  fee: bigint,
): Transaction {
  const tx = new Transaction();
  tx.version = 2; // BIP68 applies only to version ≥ 2
  tx.addInput(txidBytes(prev.txid), prev.vout, sequence);
  tx.addOutput(toOutput, prev.value - fee);
  const sighash = tx.hashForWitnessV0(0, witnessScript, prev.value, Transaction.SIGHASH_ALL);
  tx.setWitness(0, [sign(key, sighash), witnessScript]);
  return tx;
}
