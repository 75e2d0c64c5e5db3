/** Broadcasting to the embedded chain in specs: what must be refused, what must confirm. */
import assert from 'node:assert/strict';
import type { Transaction } from 'bitcoinjs-lib';
import { broadcast } from '../../node/chain/broadcast.ts';
import type { EmbeddedChain } from '../../node/chain/embedded.ts';
import { BroadcastRejectedError } from '../../node/chain/errors.ts';
import type { BitcoinRpc } from '../../node/chain/rpc.ts';

/** Broadcasts `tx`, which the node must refuse; returns the node's reason. */
export async function rejectedReason(rpc: BitcoinRpc, tx: Transaction): Promise<string> {
  const err = await broadcast(rpc, tx.toHex()).then(
    () => assert.fail(`transaction ${tx.getId()} should have been rejected`),
    (e: unknown) => e,
  );
  assert.ok(err instanceof BroadcastRejectedError, String(err));
  return err.reason;
}

/** Broadcasts `tx`, mines a block and checks `tx` confirmed. */
export async function mineConfirmed(
  chain: EmbeddedChain,
  rpc: BitcoinRpc,
  tx: Transaction,
): Promise<void> {
  await broadcast(rpc, tx.toHex());
  await chain.mine(1);
  const info = await rpc.getTransaction(tx.getId());
  assert.ok(info && info.confirmations > 0, `${tx.getId()} confirmed`);
}
