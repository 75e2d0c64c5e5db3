/**
 * The chain follower against a fake chain: consumers are brought to the tip block by block,
 * reorgs are rolled back to the fork point, and a fork below the consumer's hashes is refused.
 */
import assert from 'node:assert/strict';
import { Block, Transaction } from 'bitcoinjs-lib';
import { ReorgTooDeepError } from '../../../node/chain/errors.ts';
import {
  type BlockConsumer,
  type BlockRef,
  ChainFollower,
  type FollowerRpc,
} from '../../../node/chain/follower.ts';

/** A chain of blocks (height = index) whose branch can be replaced above a height. */
class FakeChain {
  blocks: Block[] = [];

  constructor(length: number) {
    this.extend(length, 0);
  }

  /** Keeps blocks up to `height`, then adds `count` new ones (`salt` makes them differ). */
  fork(height: number, count: number, salt: number): void {
    this.blocks = this.blocks.slice(0, height + 1);
    this.extend(count, salt);
  }

  extend(count: number, salt: number): void {
    for (let i = 0; i < count; i++) {
      const b = new Block();
      b.version = 1;
      const prev = this.blocks.at(-1);
      b.prevHash = prev ? prev.getHash() : Buffer.alloc(32);
      b.timestamp = 1_700_000_000 + this.blocks.length * 600 + salt;
      b.bits = 0x207fffff;
      b.nonce = salt;
      const coinbase = new Transaction();
      coinbase.addInput(
        Buffer.alloc(32),
        0xffffffff,
        0xffffffff,
        Buffer.from([this.blocks.length, salt]),
      );
      coinbase.addOutput(Buffer.from([0x51]), 0n);
      b.transactions = [coinbase];
      b.merkleRoot = Block.calculateMerkleRoot(b.transactions);
      this.blocks.push(b);
    }
  }

  hash(height: number): string {
    return this.blocks[height]!.getId();
  }

  rpc(): FollowerRpc {
    const rpc = {
      getBlockCount: async () => this.blocks.length - 1,
      getBlockHash: async (height: number) => this.hash(height),
      getBlockHex: async (hash: string) => this.blocks.find((b) => b.getId() === hash)!.toHex(),
      getRawMempool: async () => [],
      getRawTransaction: async () => null,
    };
    return rpc as unknown as FollowerRpc;
  }
}

/** A consumer remembering the last `window` hashes, logging what it is told. */
function consumer(start: BlockRef, window = 100) {
  const hashes = new Map([[start.height, start.hash]]);
  let height = start.height;
  const log: string[] = [];
  const c: BlockConsumer = {
    height: () => height,
    hashAt: (h) => hashes.get(h),
    disconnect: (ref) => {
      log.push(`-${ref.height}`);
      hashes.delete(ref.height);
      height = ref.height - 1;
    },
    connect: (ref) => {
      log.push(`+${ref.height}`);
      hashes.set(ref.height, ref.hash);
      hashes.delete(ref.height - window);
      height = ref.height;
    },
  };
  return { c, log };
}

describe('node/chain/follower: one chain follower for every consumer', () => {
  it('connects each new block in order, from where the consumer stands', async () => {
    const chain = new FakeChain(5);
    const follower = new ChainFollower({ rpc: chain.rpc() });
    const { c, log } = consumer({ height: 2, hash: chain.hash(2) });
    const r = await follower.follow(c, await follower.tip());
    assert.deepEqual(log, ['+3', '+4']);
    assert.deepEqual(r, { disconnected: 0, connected: 2 });
  });

  it('rolls a reorg back to the fork point, then follows the new branch', async () => {
    const chain = new FakeChain(6);
    const follower = new ChainFollower({ rpc: chain.rpc() });
    const { c, log } = consumer({ height: 0, hash: chain.hash(0) });
    await follower.follow(c, 5);
    log.length = 0;
    chain.fork(3, 3, 7); // blocks 4, 5 replaced; 6 added
    const r = await follower.follow(c, await follower.tip());
    assert.deepEqual(log, ['-5', '-4', '+4', '+5', '+6']);
    assert.deepEqual(r, { disconnected: 2, connected: 3 });
    assert.equal(c.hashAt(6), chain.hash(6));
  });

  it('refuses a fork below the hashes the consumer remembers', async () => {
    const chain = new FakeChain(6);
    const follower = new ChainFollower({ rpc: chain.rpc() });
    const { c } = consumer({ height: 0, hash: chain.hash(0) }, 2);
    await follower.follow(c, 5);
    chain.fork(1, 5, 9);
    await assert.rejects(follower.follow(c, 5), ReorgTooDeepError);
  });

  it('never compares at or below the consumer floor (a wallet before its birthday)', async () => {
    const chain = new FakeChain(4);
    const follower = new ChainFollower({ rpc: chain.rpc() });
    let height = 1;
    const seen: number[] = [];
    const c: BlockConsumer = {
      floor: 1,
      height: () => height,
      hashAt: () => undefined,
      disconnect: () => assert.fail('nothing to disconnect'),
      connect: (ref) => {
        seen.push(ref.height);
        height = ref.height;
      },
    };
    // Block 2 has no known parent hash (at the floor): it is connected as given.
    c.hashAt = (h) => (h >= 2 && h <= height ? chain.hash(h) : undefined);
    await follower.follow(c, 3);
    assert.deepEqual(seen, [2, 3]);
  });
});
