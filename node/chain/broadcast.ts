/**
 * Broadcast that is confirmed, not assumed. Stock bcoin answers `sendrawtransaction` with the txid
 * before validating and then drops an invalid transaction silently; bitcoind validates first. So
 * after submitting, {@link broadcast} checks that the transaction is in the mempool or a block and
 * turns every rejection into a {@link BroadcastRejectedError} carrying the node's reason.
 *
 * @example
 * try {
 *   const { txid, status } = await broadcast(rpc, signedHex); // status: 'mempool' | 'confirmed'
 * } catch (err) {
 *   if (err instanceof BroadcastRejectedError) log.warn({ reason: err.reason }, 'rejected');
 *   else throw err; // RpcTimeoutError / RpcUnreachableError: outcome unknown, rebroadcast later
 * }
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Transaction } from 'bitcoinjs-lib';
import { BroadcastRejectedError, RpcError } from './errors.ts';
import {
  type BitcoinRpc,
  RPC_DESERIALIZATION_ERROR,
  RPC_VERIFY_ALREADY_IN_CHAIN,
  RPC_VERIFY_ERROR,
  RPC_VERIFY_REJECTED,
} from './rpc.ts';

/**
 * How long to look for the transaction after submitting it. bitcoind has it in the mempool when
 * `sendrawtransaction` returns and bcoin validates within milliseconds, so a transaction still
 * missing after 5 s was dropped; long enough for a node busy connecting a block.
 */
export const DEFAULT_BROADCAST_CONFIRM_MS = 5_000;

/** Pause between lookups while confirming; short, because the answer is usually immediate. */
export const BROADCAST_POLL_INTERVAL_MS = 50;

export interface BroadcastOptions {
  signal?: AbortSignal;
  /** @default DEFAULT_BROADCAST_CONFIRM_MS */
  confirmTimeoutMs?: number;
  /** @default BROADCAST_POLL_INTERVAL_MS */
  pollIntervalMs?: number;
}

export interface BroadcastResult {
  txid: string;
  /** Where the transaction was found after submitting it. */
  status: 'mempool' | 'confirmed';
}

/**
 * Submits `txHex` and resolves once the node holds it in its mempool or a block. Throws
 * {@link BroadcastRejectedError} if the node refuses it or drops it; RPC transport errors
 * (timeout, unreachable) pass through, since then the outcome is unknown.
 */
export async function broadcast(
  rpc: BitcoinRpc,
  txHex: string,
  options: BroadcastOptions = {},
): Promise<BroadcastResult> {
  const tx = decode(txHex);
  const txid = tx.getId();
  const { signal } = options;
  try {
    await rpc.sendRawTransaction(txHex, { signal });
  } catch (err) {
    if (!(err instanceof RpcError)) throw err;
    if (err.code === RPC_VERIFY_REJECTED || err.code === RPC_DESERIALIZATION_ERROR) {
      throw new BroadcastRejectedError(txid, err.rpcMessage, { cause: err });
    }
    if (err.code === RPC_VERIFY_ERROR || err.code === RPC_VERIFY_ALREADY_IN_CHAIN) {
      // Missing inputs or "already known" also describe a transaction that already confirmed.
      const status = await locate(rpc, txid, tx.outs.length, signal);
      if (status) return { txid, status };
      throw new BroadcastRejectedError(txid, err.rpcMessage, { cause: err });
    }
    throw err;
  }

  const timeoutMs = options.confirmTimeoutMs ?? DEFAULT_BROADCAST_CONFIRM_MS;
  const interval = options.pollIntervalMs ?? BROADCAST_POLL_INTERVAL_MS;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = await locate(rpc, txid, tx.outs.length, signal);
    if (status) return { txid, status };
    if (Date.now() >= deadline) break;
    await sleep(interval, undefined, { signal });
  }
  throw new BroadcastRejectedError(
    txid,
    `not in the mempool or a block ${timeoutMs} ms after sendrawtransaction ` +
      '(dropped by the node: invalid, non-final, conflicting or below its fee floor)',
  );
}

/**
 * Where the node has `txid`: mempool, a block, or nowhere (null). Tries the mempool, then the
 * transaction index, then the UTXO set (bitcoind without `-txindex` still has unspent outputs).
 */
export async function locate(
  rpc: BitcoinRpc,
  txid: string,
  outputs: number,
  signal?: AbortSignal,
): Promise<'mempool' | 'confirmed' | null> {
  if (await rpc.getMempoolEntry(txid, { signal })) return 'mempool';
  const info = await rpc.getTransaction(txid, { signal });
  if (info) return info.confirmations > 0 ? 'confirmed' : 'mempool';
  for (let vout = 0; vout < outputs; vout++) {
    const out = await rpc.getTxOut(txid, vout, true, { signal });
    if (out) return out.confirmations > 0 ? 'confirmed' : 'mempool';
  }
  return null;
}

function decode(txHex: string): Transaction {
  try {
    return Transaction.fromHex(txHex);
  } catch (err) {
    throw new BroadcastRejectedError('(undecodable)', 'TX decode failed', { cause: err });
  }
}
