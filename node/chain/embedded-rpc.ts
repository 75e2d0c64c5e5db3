/**
 * The embedded chain's Bitcoin Core compatibility at the RPC edge: Core's RPC error codes, the
 * error bcoin's dispatcher turns into `{code, message}`, amounts printed as Core prints them, and
 * `submitpackage` decoding and answers (Core 28's shape). Pure; embedded.ts uses it.
 */
import type { TX } from 'bcoin';
import bcoin from 'bcoin';

/** Core's `MAX_PACKAGE_COUNT`. */
export const MAX_PACKAGE_COUNT = 25;

export const RPC_MISC_ERROR = -1;
export const RPC_TYPE_ERROR = -3;
export const RPC_INVALID_ADDRESS_OR_KEY = -5;
export const RPC_WALLET_INSUFFICIENT_FUNDS = -6;
export const RPC_INVALID_PARAMETER = -8;
export const RPC_DESERIALIZATION_ERROR = -22;
export const RPC_VERIFY_ERROR = -25;
export const RPC_VERIFY_REJECTED = -26;
export const RPC_VERIFY_ALREADY_IN_CHAIN = -27;

/** Core 28's `submitpackage` result. */
export interface SubmitPackageResult {
  package_msg: string;
  /** By wtxid (RPC byte order). */
  'tx-results': Record<
    string,
    {
      txid: string;
      vsize?: number;
      fees?: { base: number; 'effective-feerate'?: number; 'effective-includes'?: string[] };
      error?: string;
    }
  >;
  'replaced-transactions': string[];
}

/** What `#accept` learnt about an accepted transaction. */
export interface Accepted {
  fee: number;
  vsize: number;
  /** Txids (RPC order) it replaced, with their descendants. */
  replaced: string[];
  /** False if it was already in the mempool. */
  added: boolean;
}

/** Error shape bcoin's RPC dispatcher turns into `{code, message}` (it checks `type`). */
export class NodeRpcError extends Error {
  readonly type = 'RPCError';
  readonly code: number;

  constructor(code: number, message: string) {
    super(message);
    this.code = code;
  }
}

export function toNodeRpcError(err: unknown): unknown {
  if (!(err instanceof Error)) return err;
  switch (err.name) {
    case 'InvalidAddressError':
      return new NodeRpcError(RPC_INVALID_ADDRESS_OR_KEY, err.message);
    case 'InvalidAmountError':
    case 'RangeError':
      return new NodeRpcError(RPC_INVALID_PARAMETER, err.message);
    case 'FaucetEmptyError':
      return new NodeRpcError(RPC_WALLET_INSUFFICIENT_FUNDS, err.message);
    case 'ChainNotRunningError':
      return new NodeRpcError(RPC_MISC_ERROR, err.message);
    default:
      return err;
  }
}

/** sats → BTC as a JSON number (8 decimals at most), as Core prints amounts. */
export function satsToBtcNumber(sats: number): number {
  return Number((sats / 1e8).toFixed(8));
}

/** Core's `FormatMoney`: BTC with 8 decimals. */
export function formatBtc(sats: number): string {
  return (sats / 1e8).toFixed(8);
}

/**
 * Decodes a `submitpackage` array and checks Core 28's shape: 1..25 transactions, a child with
 * its unconfirmed parents (every other transaction is a parent the child spends, no parent spends
 * another), topologically sorted, no duplicates or conflicts inside the package.
 */
export function parsePackage(rawTxs: readonly unknown[]): TX[] {
  if (!Array.isArray(rawTxs)) {
    throw new NodeRpcError(RPC_TYPE_ERROR, 'Expected type array');
  }
  if (rawTxs.length < 1 || rawTxs.length > MAX_PACKAGE_COUNT) {
    throw new NodeRpcError(
      RPC_INVALID_PARAMETER,
      `Array must contain between 1 and ${MAX_PACKAGE_COUNT} transactions.`,
    );
  }
  const txs = rawTxs.map((hex) => {
    if (typeof hex !== 'string' || !/^([0-9a-fA-F]{2})+$/.test(hex)) {
      throw new NodeRpcError(RPC_DESERIALIZATION_ERROR, `TX decode failed: ${String(hex)}`);
    }
    try {
      return bcoin.TX.fromRaw(Buffer.from(hex, 'hex'));
    } catch {
      throw new NodeRpcError(
        RPC_DESERIALIZATION_ERROR,
        `TX decode failed: ${hex} Make sure the tx has at least one input.`,
      );
    }
  });
  // Core's IsWellFormedPackage: answered as a refused package, not as an RPC error.
  if (new Set(txs.map((t) => t.hash('hex'))).size !== txs.length) {
    throw new PackagePolicyError(txs, 'package-contains-duplicates');
  }
  const spent = new Set<string>();
  for (const tx of txs) {
    for (const { prevout } of tx.inputs) {
      const key = `${prevout.hash}:${prevout.index}`;
      if (spent.has(key)) throw new PackagePolicyError(txs, 'conflict-in-package');
      spent.add(key);
    }
  }
  const child = txs[txs.length - 1]!;
  const parents = txs.slice(0, -1);
  const childSpends = new Set(child.inputs.map((i) => i.prevout.hash));
  const parentHashes = new Set(parents.map((p) => p.hash('hex')));
  const childWithParents =
    parents.every((p) => childSpends.has(p.hash('hex'))) &&
    parents.every((p) => p.inputs.every((i) => !parentHashes.has(i.prevout.hash)));
  if (!childWithParents) {
    throw new NodeRpcError(
      RPC_INVALID_PARAMETER,
      'package topology disallowed. not child-with-parents or parents depend on each other.',
    );
  }
  return txs;
}

/** A package Core refuses as a whole before validating its transactions. */
export class PackagePolicyError extends Error {
  readonly txs: readonly TX[];

  constructor(txs: readonly TX[], reason: string) {
    super(reason);
    this.txs = txs;
  }
}

/** `tx-results` when no transaction was evaluated. */
export function unevaluated(txs: readonly TX[]): SubmitPackageResult['tx-results'] {
  return Object.fromEntries(
    txs.map((tx) => [tx.wtxid(), { txid: tx.txid(), error: 'unevaluated' }]),
  );
}

/** Core's answer for a package with a failed transaction: its error, the rest per their state. */
export function packageFailure(
  txs: readonly TX[],
  failed: TX,
  error: string,
  accepted: ReadonlyMap<string, Accepted>,
): SubmitPackageResult {
  const results: SubmitPackageResult['tx-results'] = {};
  for (const tx of txs) {
    const a = accepted.get(tx.hash('hex'));
    results[tx.wtxid()] =
      tx === failed
        ? { txid: tx.txid(), error }
        : a && !a.added
          ? { txid: tx.txid(), vsize: a.vsize, fees: { base: satsToBtcNumber(a.fee) } }
          : { txid: tx.txid(), error: 'unevaluated' };
  }
  return { package_msg: 'transaction failed', 'tx-results': results, 'replaced-transactions': [] };
}
