/**
 * The node's chain client: Bitcoin Core JSON-RPC ({@link BitcoinRpc}), confirmed broadcast
 * ({@link broadcast}), exact amount conversion, and the named errors of both.
 *
 * The embedded regtest node lives in `./embedded.ts` and is not re-exported here, so importing
 * the client never loads bcoin.
 *
 * @example
 * import { BitcoinRpc, broadcast } from './node/chain/index.ts';
 * const rpc = new BitcoinRpc({ url, cookieFile });
 * const { status } = await broadcast(rpc, signedTxHex); // 'mempool' | 'confirmed'
 */
export { btcToSats, SATS_PER_BTC, satsToBtc } from './amount.ts';
export {
  BROADCAST_POLL_INTERVAL_MS,
  type BroadcastOptions,
  type BroadcastResult,
  broadcast,
  DEFAULT_BROADCAST_CONFIRM_MS,
  locate,
} from './broadcast.ts';
export { COOKIE_FILE, COOKIE_USER } from './constants.ts';
export * from './errors.ts';
export {
  BitcoinRpc,
  type BitcoinRpcOptions,
  type BlockchainInfo,
  type BlockInfo,
  DEFAULT_RPC_TIMEOUT_MS,
  type FeeEstimate,
  type MempoolEntry,
  type RpcCallOptions,
  type RpcHealth,
  type TxInfo,
  type TxOut,
} from './rpc.ts';
