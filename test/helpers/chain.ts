/**
 * The embedded regtest chain for a spec: the chain, its RPC and a temp dir, started by mocha hooks
 * around each test or the whole suite, with wallets on it. One fixture, so that every spec on a
 * real chain starts, funds and stops it the same way.
 */
import { join } from 'node:path';
import { broadcast } from '../../node/chain/broadcast.ts';
import { EmbeddedChain, type EmbeddedChainOptions } from '../../node/chain/embedded.ts';
import { BitcoinRpc } from '../../node/chain/rpc.ts';
import { CoinPool } from '../../node/wallet/coin-pool.ts';
import { type CoinPoolTarget, Wallet, type WalletOptions } from '../../node/wallet/wallet.ts';
import { silent } from '../node/chain/helpers.ts';
import { tempDir } from './cfd-fixtures.ts';
import { Cleanups } from './cleanups.ts';

export interface TestChain {
  readonly chain: EmbeddedChain;
  readonly rpc: BitcoinRpc;
  /** A temp dir that lives as long as the chain. */
  readonly dir: string;
  /** What the tests opened on the chain (nodes, wallets): run before the chain stops. */
  readonly cleanups: Cleanups;
  /** A regtest wallet on the chain in `dir/name`, closed before the chain stops. */
  openWallet(name: string, clock?: WalletOptions['clock']): Promise<Wallet>;
  /** {@link openWallet} with a faucet coin of each of `coins`, confirmed (one block) and synced. */
  fundedWallet(name: string, coins: readonly bigint[]): Promise<Wallet>;
}

/**
 * A {@link TestChain} for the calling suite: started before each test (`'each'`) or once before
 * all (`'all'`); after, its cleanups run, the chain stops and the dir is removed.
 */
export function chainFor(
  when: 'each' | 'all',
  options: Pick<EmbeddedChainOptions, 'blockMaxWeight'> = {},
): TestChain {
  const t = { cleanups: new Cleanups() } as {
    -readonly [K in keyof TestChain]: TestChain[K];
  } & { removeDir?: () => Promise<void> };
  t.openWallet = async (name, clock) => {
    const w = await Wallet.open({
      datadir: join(t.dir, name),
      network: 'regtest',
      chain: t.rpc,
      logger: silent,
      clock,
    });
    t.cleanups.add(() => w.close());
    return w;
  };
  t.fundedWallet = async (name, coins) => {
    const w = await t.openWallet(name);
    for (const c of coins) await t.chain.fund(await w.receiveAddress(), c);
    await t.chain.mine(1);
    await w.sync();
    return w;
  };
  const [setUp, tearDown] = when === 'each' ? [beforeEach, afterEach] : [before, after];
  setUp(async () => {
    const dir = await tempDir();
    t.dir = dir.path;
    t.removeDir = dir.cleanup;
    t.chain = await EmbeddedChain.start({ logger: silent, ...options });
    t.rpc = new BitcoinRpc({ url: t.chain.rpcUrl, ...t.chain.rpcAuth });
  });
  tearDown(async () => {
    await t.cleanups.run();
    await t.chain?.stop();
    await t.removeDir?.();
  });
  return t;
}

/** A coin pool of `wallet` that broadcasts through `rpc`, toward `target` at `feeRate` sat/vB. */
export function coinPoolOf(
  wallet: Wallet,
  rpc: BitcoinRpc,
  target: CoinPoolTarget,
  feeRate: bigint,
): CoinPool {
  return new CoinPool({
    wallet,
    broadcast: async (hex) => {
      await broadcast(rpc, hex);
    },
    target: () => target,
    feeRate: () => feeRate,
    logger: silent,
  });
}
