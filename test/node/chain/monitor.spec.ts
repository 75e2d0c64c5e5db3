import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { broadcast } from '../../../node/chain/broadcast.ts';
import { EmbeddedChain } from '../../../node/chain/embedded.ts';
import {
  ChainMonitor,
  type ChainMonitorOptions,
  type ChainReport,
} from '../../../node/chain/monitor.ts';
import { BitcoinRpc } from '../../../node/chain/rpc.ts';
import { chainFor } from '../../helpers/chain.ts';
import { untilWithin } from '../../helpers/wait.ts';
import { newKey, type Prevout, p2wpkh, silent, spendP2wpkh } from './helpers.ts';

/** Short poll so reports arrive within tens of milliseconds. */
const POLL_MS = 50;

/** How long any awaited condition may take before the test fails. */
const WAIT_MS = 10_000;

/** Polls a condition until it holds, failing after WAIT_MS. */
const waitFor = untilWithin(WAIT_MS);

/** Reports without the spender hex, for readable comparisons. */
function brief(r: ChainReport): Record<string, unknown> {
  if (r.kind === 'rebroadcastFailed') return { kind: r.kind, txid: r.txid };
  const { kind, height, confirmations } = r;
  return 'spender' in r
    ? { kind, height, confirmations, spender: r.spender.txid }
    : { kind, height, confirmations };
}

describe('chain monitor', function () {
  this.timeout(30_000);
  const net = chainFor('all');
  // Each test's monitors stop after it (the chain runs on).
  afterEach(() => net.cleanups.run());

  /** A fresh data dir, removed with the chain's. */
  const tempDir = () => mkdtemp(join(net.dir, 'monitor-'));

  /** A started monitor collecting its reports. */
  async function startMonitor(
    options: Partial<ChainMonitorOptions> = {},
  ): Promise<{ monitor: ChainMonitor; reports: ChainReport[]; of: (tag: string) => unknown[] }> {
    const reports: ChainReport[] = [];
    const monitor = new ChainMonitor({
      rpc: net.rpc,
      dataDir: options.dataDir ?? (await tempDir()),
      pollIntervalMs: POLL_MS,
      logger: silent,
      onReport: (r) => void reports.push(r),
      ...options,
    });
    net.cleanups.add(() => monitor.stop());
    await monitor.start();
    const of = (tag: string) => reports.filter((r) => 'tag' in r && r.tag === tag).map(brief);
    return { monitor, reports, of };
  }

  async function funded(value = 100_000n) {
    const key = newKey();
    const { txid, vout } = await net.chain.fund(p2wpkh(key).address, value);
    const prev: Prevout = { txid, vout, value };
    return { key, prev };
  }

  it('reports each confirmation up to the depth, then the depth once', async () => {
    const { monitor, of } = await startMonitor();
    const { prev } = await funded();
    await monitor.watchTx(prev.txid, { tag: 'a', depth: 3 });
    await monitor.sync();
    assert.deepEqual(of('a'), [], 'nothing while in the mempool');

    await net.chain.mine(1);
    const height = net.chain.height;
    await waitFor('first confirmation', () => of('a').length === 1);
    await net.chain.mine(2);
    await waitFor('depth', () => of('a').length === 4);
    await net.chain.mine(1);
    await monitor.sync();
    assert.deepEqual(of('a'), [
      { kind: 'confirmed', height, confirmations: 1 },
      { kind: 'confirmed', height, confirmations: 2 },
      { kind: 'confirmed', height, confirmations: 3 },
      { kind: 'depth', height, confirmations: 3 },
    ]);
    assert.equal(monitor.health().status, 'ok');
    assert.equal(monitor.health().watching, 1);
  });

  it('reports a transaction that confirmed before it was watched at its current count', async () => {
    const { monitor, of } = await startMonitor();
    const { prev } = await funded();
    await net.chain.mine(2);
    await monitor.sync(); // both blocks processed before the watch exists
    await monitor.watchTx(prev.txid, { tag: 'late', depth: 2 });
    await waitFor('late report', () => of('late').length === 2);
    assert.deepEqual(of('late'), [
      { kind: 'confirmed', height: net.chain.height - 1, confirmations: 2 },
      { kind: 'depth', height: net.chain.height - 1, confirmations: 2 },
    ]);
  });

  it('reports the spender of a watched outpoint in the mempool, then confirmed', async () => {
    const { monitor, reports, of } = await startMonitor();
    const { key, prev } = await funded();
    await net.chain.mine(1);
    await monitor.watchOutpoint(`${prev.txid}:${prev.vout}`, { tag: 's' });
    const spend = spendP2wpkh(key, prev, p2wpkh(newKey()).output, 500n);
    await broadcast(net.rpc, spend.toHex());
    await waitFor('mempool spend', () => of('s').length === 1);
    await net.chain.mine(1);
    await waitFor('confirmed spend', () => of('s').length === 2);
    assert.deepEqual(of('s'), [
      { kind: 'spent', height: undefined, confirmations: 0, spender: spend.getId() },
      { kind: 'spent', height: net.chain.height, confirmations: 1, spender: spend.getId() },
    ]);
    const last = reports.at(-1);
    assert.ok(last?.kind === 'spent');
    assert.equal(last.spender.hex, spend.toHex());
    assert.equal(last.outpoint, `${prev.txid}:${prev.vout}`);
  });

  it('rolls a confirmation and a spend back on a reorg and re-reports them when re-mined', async () => {
    const { monitor, of } = await startMonitor();
    const { key, prev } = await funded();
    await net.chain.mine(1);
    const spend = spendP2wpkh(key, prev, p2wpkh(newKey()).output, 500n);
    await broadcast(net.rpc, spend.toHex());
    await monitor.trackBroadcast(spend.toHex());
    await monitor.watchTx(spend.getId(), { tag: 'r', depth: 2 });
    await monitor.watchOutpoint(`${prev.txid}:${prev.vout}`, { tag: 'r' });
    await waitFor('mempool spend', () => of('r').length === 1);

    const [stale] = await net.chain.mine(1);
    const height = net.chain.height;
    await waitFor('confirmation', () => of('r').length === 3);
    // bcoin does not return the transactions of an invalidated block to its mempool: only the
    // monitor's rebroadcast brings the spend back.
    await net.rpc.call('invalidateblock', [stale]);
    await waitFor('rollback', () => of('r').length >= 5);
    await waitFor(
      'rebroadcast after the reorg',
      async () => (await net.rpc.getMempoolEntry(spend.getId())) !== null,
    );
    await waitFor('mempool spend again', () => of('r').length === 6);
    // Another coinbase address, so the new block differs from the invalidated one.
    await net.chain.mine(1, p2wpkh(newKey()).address);
    await waitFor('re-confirmation', () => of('r').length === 8);
    await net.chain.mine(1);
    await waitFor('depth', () => of('r').length === 10);

    const id = spend.getId();
    assert.deepEqual(of('r'), [
      { kind: 'spent', height: undefined, confirmations: 0, spender: id },
      { kind: 'confirmed', height, confirmations: 1 },
      { kind: 'spent', height, confirmations: 1, spender: id },
      { kind: 'unconfirmed', height, confirmations: 0 },
      { kind: 'spentReorged', height, confirmations: 0, spender: id },
      { kind: 'spent', height: undefined, confirmations: 0, spender: id },
      { kind: 'confirmed', height, confirmations: 1 },
      { kind: 'spent', height, confirmations: 1, spender: id },
      { kind: 'confirmed', height, confirmations: 2 },
      { kind: 'depth', height, confirmations: 2 },
    ]);
    assert.notEqual(await net.rpc.getBlockHash(height), stale);
  });

  it('rebroadcasts a tracked transaction the node does not have until it confirms', async () => {
    const { monitor, reports, of } = await startMonitor();
    const { key, prev } = await funded();
    await net.chain.mine(1);
    // Never sent to the node: as if it had been dropped.
    const tx = spendP2wpkh(key, prev, p2wpkh(newKey()).output, 500n);
    assert.equal(await monitor.trackBroadcast(tx.toHex()), tx.getId());
    await monitor.watchTx(tx.getId(), { tag: 'b' });
    assert.equal(monitor.health().tracking, 1);
    await net.chain.mine(1);
    await waitFor('rebroadcast', async () => (await net.rpc.getMempoolEntry(tx.getId())) !== null);
    await net.chain.mine(1);
    await waitFor('confirmation', () => of('b').length === 2);

    // A conflicting spend of the same coin can never confirm: reported once, with the reason.
    const conflict = spendP2wpkh(key, prev, p2wpkh(newKey()).output, 1_000n);
    await monitor.trackBroadcast(conflict.toHex());
    await net.chain.mine(1);
    await waitFor('rejection', () => reports.some((r) => r.kind === 'rebroadcastFailed'));
    await net.chain.mine(1);
    await monitor.sync();
    const failures = reports.filter((r) => r.kind === 'rebroadcastFailed');
    assert.equal(failures.length, 1);
    assert.equal(failures[0]?.txid, conflict.getId());
    assert.match(failures[0]?.reason ?? '', /missingorspent/);
    await monitor.untrackBroadcast(conflict.getId());
  });

  it('resumes after a restart: reports what happened while down, nothing twice', async () => {
    const dataDir = await tempDir();
    const first = await startMonitor({ dataDir });
    const { key, prev } = await funded();
    await first.monitor.watchTx(prev.txid, { tag: 'x', depth: 3 });
    await first.monitor.watchOutpoint(`${prev.txid}:${prev.vout}`, { tag: 'x' });
    await net.chain.mine(1);
    const height = net.chain.height;
    await waitFor('first confirmation', () => first.of('x').length === 1);
    await first.monitor.stop();

    const spend = spendP2wpkh(key, prev, p2wpkh(newKey()).output, 500n);
    await broadcast(net.rpc, spend.toHex());
    await net.chain.mine(2);

    const second = await startMonitor({ dataDir });
    assert.equal(second.monitor.health().watching, 2);
    await waitFor('catch-up', () => second.of('x').length === 4);
    await second.monitor.sync();
    assert.deepEqual(first.of('x'), [{ kind: 'confirmed', height, confirmations: 1 }]);
    assert.deepEqual(second.of('x'), [
      { kind: 'confirmed', height, confirmations: 2 },
      { kind: 'spent', height: height + 1, confirmations: 1, spender: spend.getId() },
      { kind: 'confirmed', height, confirmations: 3 },
      { kind: 'depth', height, confirmations: 3 },
    ]);
  });

  it('rescans from fromHeight for a spend that happened before the watch', async () => {
    const { monitor, of } = await startMonitor();
    const { key, prev } = await funded();
    await net.chain.mine(1);
    const fundHeight = net.chain.height;
    const spend = spendP2wpkh(key, prev, p2wpkh(newKey()).output, 500n);
    await broadcast(net.rpc, spend.toHex());
    await net.chain.mine(2);
    await monitor.sync();
    await monitor.watchOutpoint(`${prev.txid}:${prev.vout}`, { tag: 'rs', fromHeight: fundHeight });
    await waitFor('rescan', () => of('rs').length === 1);
    assert.deepEqual(of('rs'), [
      { kind: 'spent', height: fundHeight + 1, confirmations: 2, spender: spend.getId() },
    ]);
  });

  it('a listener failing on one tag holds back only that tag: blocks and other tags go on; its reports come again with backoff, and after a restart', async () => {
    const dataDir = await tempDir();
    const good: ChainReport[] = [];
    let attempts = 0;
    const failing = new ChainMonitor({
      rpc: net.rpc,
      dataDir,
      pollIntervalMs: POLL_MS,
      reportRetryMs: { first: 50, max: 200 },
      logger: silent,
      onReport: (r) => {
        if (r.kind !== 'rebroadcastFailed' && r.tag === 'bad') {
          attempts++;
          throw new Error('corrupt record');
        }
        good.push(r);
      },
    });
    net.cleanups.add(() => failing.stop());
    await failing.start();
    const bad = await funded();
    const ok = await funded();
    await failing.watchTx(bad.prev.txid, { tag: 'bad', depth: 2 });
    await failing.watchTx(ok.prev.txid, { tag: 'good', depth: 2 });
    await net.chain.mine(1);
    const height = net.chain.height;
    await waitFor('the good tag confirmed', () => good.length === 1);
    await net.chain.mine(1);
    await waitFor('the good tag at depth', () => good.length === 3);
    await waitFor('the bad tag retried', () => attempts >= 3);
    await failing.sync();
    const h = failing.health();
    assert.equal(h.height, net.chain.height, 'the monitor advanced past the failing block');
    assert.equal(h.status, 'ok');
    assert.equal(h.retrying, 1);
    assert.equal(h.lastError?.name, 'ReportListenerError');
    assert.match(h.lastError?.message ?? '', /^bad: corrupt record/);
    assert.deepEqual(good.map(brief), [
      { kind: 'confirmed', height, confirmations: 1 },
      { kind: 'confirmed', height, confirmations: 2 },
      { kind: 'depth', height, confirmations: 2 },
    ]);
    await failing.stop();

    // What the listener failed on is unreported on disk: a restart delivers it, as it now stands.
    const { monitor, of } = await startMonitor({ dataDir });
    await waitFor('the bad tag delivered', () => of('bad').length === 2);
    assert.deepEqual(of('bad'), [
      { kind: 'confirmed', height, confirmations: 2 },
      { kind: 'depth', height, confirmations: 2 },
    ]);
    assert.deepEqual(of('good'), [], 'nothing twice');
    await monitor.sync();
    assert.equal(monitor.health().retrying, 0);
  });

  it('delivers a report again when the listener failed on it', async () => {
    let failures = 0;
    const reports: ChainReport[] = [];
    const monitor = new ChainMonitor({
      rpc: net.rpc,
      dataDir: await tempDir(),
      pollIntervalMs: POLL_MS,
      logger: silent,
      onReport: (r) => {
        if (failures === 0) {
          failures++;
          throw new Error('consumer is down');
        }
        reports.push(r);
      },
    });
    net.cleanups.add(() => monitor.stop());
    await monitor.start();
    const { prev } = await funded();
    await monitor.watchTx(prev.txid, { tag: 'f' });
    await monitor.sync();
    await net.chain.mine(1);
    await waitFor('redelivery', () => reports.length === 2);
    assert.equal(failures, 1);
    assert.equal(monitor.health().lastError?.name, 'ReportListenerError');
    assert.equal(monitor.health().status, 'ok');
    assert.deepEqual(reports.map(brief), [
      { kind: 'confirmed', height: net.chain.height, confirmations: 1 },
      { kind: 'depth', height: net.chain.height, confirmations: 1 },
    ]);
  });

  it('stops when its start signal aborts', async () => {
    const controller = new AbortController();
    const monitor = new ChainMonitor({
      rpc: net.rpc,
      dataDir: await tempDir(),
      pollIntervalMs: POLL_MS,
    });
    await monitor.start({ signal: controller.signal });
    await monitor.sync();
    assert.equal(monitor.health().status, 'ok');
    controller.abort();
    await waitFor('stopped', () => monitor.health().status === 'stopped');
    await assert.rejects(monitor.watchTx('00'.repeat(32), { tag: 't' }), {
      name: 'MonitorNotRunningError',
    });
  });

  it('refuses malformed watches and calls before start', async () => {
    const idle = new ChainMonitor({ rpc: net.rpc, dataDir: await tempDir() });
    await assert.rejects(idle.watchTx('00'.repeat(32), { tag: 't' }), {
      name: 'MonitorNotRunningError',
    });
    const { monitor } = await startMonitor();
    await assert.rejects(monitor.watchTx('xyz', { tag: 't' }), { name: 'InvalidWatchError' });
    await assert.rejects(monitor.watchOutpoint(`${'00'.repeat(32)}:-1`, { tag: 't' }), {
      name: 'InvalidWatchError',
    });
    await assert.rejects(monitor.watchTx('00'.repeat(32), { tag: 't', depth: 0 }), {
      name: 'InvalidWatchError',
    });
    await assert.rejects(monitor.trackBroadcast('deadbeef'), { name: 'InvalidWatchError' });
  });

  describe('when the node goes away', () => {
    let own: EmbeddedChain | undefined;
    after(() => own?.stop());

    it('shows the error in health, keeps running, and recovers on the same port', async () => {
      const datadir = await tempDir();
      const auth = { rpcUser: 'monitor', rpcPassword: 'secret' };
      own = await EmbeddedChain.start({ logger: silent, datadir, ...auth });
      const port = Number(new URL(own.rpcUrl).port);
      const ownRpc = new BitcoinRpc({
        url: own.rpcUrl,
        user: auth.rpcUser,
        password: auth.rpcPassword,
        timeoutMs: 1_000,
      });
      const { monitor, of } = await startMonitor({ rpc: ownRpc });
      await waitFor('healthy', () => monitor.health().status === 'ok');

      await own.stop();
      await waitFor('degraded', () => monitor.health().status === 'degraded');
      assert.equal(monitor.health().lastError?.name, 'RpcUnreachableError');
      await sleep(POLL_MS * 3); // a few failing ticks: still polling, nothing thrown

      own = await EmbeddedChain.start({ logger: silent, datadir, rpcPort: port, ...auth });
      await waitFor('recovered', () => monitor.health().status === 'ok');
      const key = newKey();
      const { txid } = await own.fund(p2wpkh(key).address, 50_000n);
      await monitor.watchTx(txid, { tag: 'o' });
      await own.mine(1);
      await waitFor('confirmation after recovery', () => of('o').length === 2);
      assert.equal(monitor.health().height, own.height);
    });
  });
});
