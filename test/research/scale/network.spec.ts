// Several taker daemons in one process (research/scale/network.ts): five takers share one adaptor
// worker pool (DaemonOptions.pool) and one caching reader of the chain (DaemonOptions.chain) and
// nothing else — each its own peer id, datadir, wallet, monitor and log — and all trade with one
// maker on the embedded chain; stopping one leaves the pool, the reader and the other four working
// (a node does not close a pool it was given).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { AdaptorWorkerPool } from '../../../dlc/workers.ts';
import type { CachingBitcoinRpc } from '../../../node/chain/caching-rpc.ts';
import type { Daemon } from '../../../node/daemon/daemon.ts';
import {
  isOpen,
  makerFunded,
  openSmallCfd,
  receiveAddress,
  type Services,
  sharedChain,
  startNode,
  startServices,
} from '../../../research/scale/network.ts';
import { tempDir } from '../../helpers/cfd-fixtures.ts';
import { until } from '../../helpers/wait.ts';

const TAKERS = 5;
const FUND = 2_000_000n;
/** Short compressed time; no rollover is awaited here. */
const TIME = { settlementSecs: 120, rolloverSecs: 60, eventSecs: 10, blockSecs: 1 };

describe('research/scale: taker daemons sharing one process', function () {
  this.timeout(120_000);
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let services: Services;
  let pool: AdaptorWorkerPool;
  let chain: CachingBitcoinRpc;
  let maker: Daemon;
  const takers: Daemon[] = [];

  before(async function () {
    this.timeout(90_000);
    dir = await tempDir();
    services = await startServices(dir.path, TIME);
    pool = new AdaptorWorkerPool({ size: 2 });
    chain = sharedChain(services.addresses);
    maker = await startNode(
      { role: 'maker', datadir: join(dir.path, 'maker') },
      services.addresses,
      TIME,
    );
    const makerAddr = maker.p2p.getMultiaddrs()[0]!.toString();
    for (let i = 0; i < TAKERS; i++) {
      takers.push(
        await startNode(
          { role: 'taker', datadir: join(dir.path, `taker${i}`), maker: makerAddr },
          services.addresses,
          TIME,
          { pool, chain },
        ),
      );
    }
    await services.chain.fund(await receiveAddress(maker), 100_000_000n);
    await makerFunded(maker, 50_000_000n, 60_000); // the coin pool splits it, paying a fee
    for (const t of takers) await services.chain.fund(await receiveAddress(t), FUND);
  });

  after(async () => {
    for (const d of [...takers, maker]) await d?.stop();
    await pool?.close();
    await services?.stop();
    await dir?.cleanup();
  });

  it('each taker has its own identity, datadir and wallet and uses the shared pool and reader', () => {
    assert.equal(new Set(takers.map((t) => t.peerId)).size, TAKERS);
    assert.equal(new Set(takers.map((t) => t.config.datadir)).size, TAKERS);
    assert.equal(new Set(takers.map((t) => t.wallet)).size, TAKERS);
    for (const t of takers) {
      assert.equal(t.pool, pool);
      assert.equal(t.rpc, chain);
    }
    assert.notEqual(maker.pool, pool);
    assert.notEqual(maker.rpc, chain);
  });

  it('all five trade with the one maker at once', async () => {
    const ids = await Promise.all(takers.map((t) => openSmallCfd(t, maker.peerId, FUND, 60_000)));
    assert.equal(new Set(ids).size, TAKERS);
    for (const [i, t] of takers.entries()) {
      await until(`taker ${i}'s CFD open`, () => isOpen(t, ids[i]!), 60_000, 200);
      await until(`the maker's CFD ${i} open`, () => isOpen(maker, ids[i]!), 60_000, 200);
      // Each taker's log holds only its own CFD.
      assert.deepEqual(
        (await t.readModel.openCfds()).map((c) => c.terms!.id),
        [ids[i]],
      );
    }
  });

  it('stopping one taker leaves the pool and the others trading', async () => {
    const stopped = takers.shift()!;
    await stopped.stop();
    assert.equal(pool.liveWorkers, 2, 'the shared pool is still running');
    const next = takers[0]!;
    // A second trade needs a second coin: the taker's first was spent by its lock's change.
    await services.chain.fund(await receiveAddress(next), FUND);
    const id = await openSmallCfd(next, maker.peerId, FUND, 60_000);
    await until('the new CFD open', () => isOpen(next, id), 60_000, 200);
  });
});
