// Whole nodes: start-up with every service down (degraded, not failed), healing when services come
// back, and a taker receiving a maker's feed-following offers over libp2p.
import assert from 'node:assert/strict';
import { chmod, readdir, readFile, stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { CfdRepository } from '../../../eventstore/cfd-repository.ts';
import { LevelContractStore } from '../../../eventstore/contract-store.ts';
import { EventStore } from '../../../eventstore/event-store.ts';
import { oracleEventTime } from '../../../model/oracle-event.ts';
import { parsePrice, price } from '../../../model/units.ts';
import { cfdView } from '../../../node/app/views/cfd.ts';
import { EmbeddedChain } from '../../../node/chain/embedded.ts';
import { loadConfig } from '../../../node/daemon/config.ts';
import { Daemon, HEALTH } from '../../../node/daemon/daemon.ts';
import { PriceFeedServer, type PriceFeedServerOptions } from '../../../node/pricefeed/server.ts';
import { secureDataDir } from '../../../node/runtime/datadir.ts';
import { InsecureDataDirError } from '../../../node/runtime/errors.ts';
import { dlc, tempDir, terms } from '../../helpers/cfd-fixtures.ts';
import { buildTestContract } from '../../helpers/contract-fixtures.ts';
import { quietFeed } from '../../helpers/live-nodes.ts';
import { until } from '../../helpers/wait.ts';
import { silent } from '../chain/helpers.ts';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

const KEY = 'ddd4636845a90185991826be5a494cde9f4a6947b1727217afedc6292fa4caf7';

describe('node/daemon', function () {
  this.timeout(60_000);
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  /** A fresh temp dir, removed after the test. */
  async function newDir(): Promise<string> {
    const dir = await tempDir();
    cleanups.push(dir.cleanup);
    return dir.path;
  }

  /** A regtest taker's config whose chain and feed are ports nobody listens on. */
  const offline = async (datadir: string, flags: Record<string, string | boolean> = {}) =>
    loadConfig({
      role: 'taker',
      flags: {
        datadir,
        network: 'regtest',
        'chain-rpc': `http://127.0.0.1:${await freePort()}`,
        'chain-user': 'u',
        'chain-password': 'p',
        pricefeed: `ws://127.0.0.1:${await freePort()}/realtime`,
        ...flags,
      },
    });

  /**
   * A price feed (at 50,000, still unless moved; `feed` over that), a maker on loopback (on
   * `listen`, its `flags` added) following it, and a taker dialling the maker; stopped after.
   */
  async function makerAndTaker(
    opts: { feed?: PriceFeedServerOptions; listen?: string; flags?: Record<string, string> } = {},
  ) {
    const feed = await quietFeed(opts.feed);
    cleanups.push(() => feed.stop());
    const start = async (role: 'maker' | 'taker', flags: Record<string, string | string[]>) => {
      const config = await loadConfig({
        role,
        flags: { datadir: await newDir(), network: 'regtest', pricefeed: feed.url, ...flags },
      });
      const daemon = await Daemon.start(config, { logger: silent });
      cleanups.push(() => daemon.stop());
      return daemon;
    };
    const maker = await start('maker', {
      listen: [opts.listen ?? '/ip4/127.0.0.1/tcp/0'],
      ...opts.flags,
    });
    const taker = await start('taker', { maker: [maker.p2p.getMultiaddrs()[0]!.toString()] });
    return { feed, maker, taker };
  }

  it('starts with chain, oracle and feed all down, reports it, and heals when they return', async () => {
    const dir = await newDir();
    const [chainPort, feedPort] = [await freePort(), await freePort()];
    const config = await loadConfig({
      role: 'taker',
      flags: {
        datadir: dir,
        network: 'regtest',
        'chain-rpc': `http://127.0.0.1:${chainPort}`,
        'chain-user': 'u',
        'chain-password': 'p',
        oracle: 'http://127.0.0.1:1',
        'oracle-public-key': KEY,
        pricefeed: `ws://127.0.0.1:${feedPort}/realtime`,
        'chain-poll-ms': '100',
      },
    });
    const daemon = await Daemon.start(config, { logger: silent });
    cleanups.push(() => daemon.stop());
    const status = (name: string) => daemon.health.get(name)?.status;

    assert.equal(status(HEALTH.database), 'ok');
    assert.equal(status(HEALTH.p2p), 'ok');
    assert.equal(status(HEALTH.cfds), 'ok');
    await until('chain down', () => status(HEALTH.chain) === 'down');
    assert.match(daemon.health.get(HEALTH.chain)?.lastError?.message ?? '', /./);
    assert.equal(status(HEALTH.wallet), 'starting');
    await until('feed down', () => status(HEALTH.pricefeed) === 'down');
    await until('oracle not ok', () => ['down', 'degraded'].includes(status(HEALTH.oracle) ?? ''));
    assert.notEqual(daemon.health.overall(), 'ok');

    // The services come back on the configured ports: the node heals without a restart.
    const chain = await EmbeddedChain.start({
      rpcPort: chainPort,
      rpcUser: 'u',
      rpcPassword: 'p',
      logger: silent,
    });
    cleanups.push(() => chain.stop());
    const feed = await PriceFeedServer.start({
      port: feedPort,
      startPrice: price(50_000),
      tickMs: 50,
    });
    cleanups.push(() => feed.stop());
    // Stop the node before the services it polls (a node polling a stopping chain keeps it busy).
    cleanups.push(() => daemon.stop());
    await until('chain ok', () => status(HEALTH.chain) === 'ok', 30_000);
    await until('wallet ok', () => status(HEALTH.wallet) === 'ok', 30_000);
    await until('feed ok', () => status(HEALTH.pricefeed) === 'ok', 30_000);
    assert.ok((daemon.health.get(HEALTH.chain)?.restarts ?? 0) >= 1);
    // The node may have first seen the chain while it was still mining its first blocks.
    await until('wallet at the tip', () => daemon.wallet?.height === chain.height, 30_000);
  });

  it('stops at once while its chain poll waits: the wait is cut short, not sat out (a 30-s poll)', async () => {
    const chain = await EmbeddedChain.start({ logger: silent });
    cleanups.push(() => chain.stop());
    const config = await offline(await newDir(), {
      'chain-rpc': chain.rpcUrl,
      'chain-user': chain.rpcAuth.user,
      'chain-password': chain.rpcAuth.password,
      'chain-poll-ms': '30000',
    });
    const daemon = await Daemon.start(config, { logger: silent });
    cleanups.push(() => daemon.stop());
    // The first poll is at once; then the follower waits 30 s for the next.
    await until('wallet ok', () => daemon.health.get(HEALTH.wallet)?.status === 'ok', 30_000);
    const started = Date.now();
    await daemon.stop();
    const ms = Date.now() - started;
    // It sat out the poll interval before (~30 s: every stop of a node took up to its poll).
    assert.ok(ms < 5_000, `stop took ${ms} ms`);
  });

  it('a CFD that cannot be handled (its contract record is missing) is shown in health and in its view, retried, and the node runs on', async () => {
    const dir = await newDir();
    // The log holds a set-up CFD whose signed-contract record is gone. Written as the node
    // writes its own (umask 077), or the node would refuse the datadir as open to others.
    await secureDataDir(dir);
    const store = await EventStore.open(join(dir, 'events'));
    const cfds = new CfdRepository(store);
    await cfds.execute('cfd-lost', { type: 'placeOrder', terms: terms({ id: 'cfd-lost' }) });
    await cfds.execute('cfd-lost', { type: 'startContractSetup' });
    await cfds.execute('cfd-lost', { type: 'completeContractSetup', dlc: dlc() });
    await store.close();
    const config = await offline(dir);
    const daemon = await Daemon.start(config, { logger: silent });
    cleanups.push(() => daemon.stop());
    const cfdHealth = () => daemon.health.get(HEALTH.cfds);
    await until('cfds degraded', () => cfdHealth()?.status === 'degraded');
    assert.match(
      cfdHealth()?.detail ?? '',
      /^1 CFD failing, retried: cfd-lost \(reconcile: no contract record/,
    );
    assert.match(cfdHealth()?.lastError?.message ?? '', /^cfd-lost: no contract record/);
    await until(
      'retried',
      () => (daemon.processManager.problems.get('cfd-lost')?.retries ?? 0) >= 1,
    );
    const cfd = await daemon.readModel.get('cfd-lost');
    const view = cfdView(cfd!, undefined, {
      problemOf: (id) => daemon.processManager.problems.get(id),
    });
    assert.equal(view?.problem?.during, 'reconcile');
    assert.match(view?.problem?.reason ?? '', /no contract record for the set-up CFD cfd-lost/);
    assert.equal(daemon.health.get(HEALTH.p2p)?.status, 'ok');
  });

  describe('secrets on disk', () => {
    let umask: number;
    beforeEach(() => {
      umask = process.umask(0o022); // files 0644 and dirs 0755 unless the node says otherwise
    });
    afterEach(() => {
      process.umask(umask);
    });

    it('under umask 022 a new node keeps <datadir> and events/ 0700, every file 0600, and a contract record readable by its owner only', async () => {
      const dir = await newDir();
      const datadir = join(dir, 'taker'); // created by the node
      const daemon = await Daemon.start(await offline(datadir), { logger: silent });
      let stopped = false;
      cleanups.push(async () => stopped || daemon.stop());
      // A contract record holds the CFD's identity, publish and revocation secret keys.
      const record = buildTestContract({}).records.taker;
      await new LevelContractStore(daemon.store).put(record.cfdId, record);
      await daemon.stop();
      stopped = true;

      assert.equal((await stat(datadir)).mode & 0o777, 0o700);
      const events = join(datadir, 'events');
      assert.equal((await stat(events)).mode & 0o777, 0o700);
      const files = await readdir(datadir, { recursive: true, withFileTypes: true });
      assert.ok(files.length > 3);
      for (const f of files) {
        const path = join(f.parentPath, f.name);
        const mode = (await stat(path)).mode & 0o777;
        assert.equal(mode, f.isDirectory() ? 0o700 : 0o600, `${path} is ${mode.toString(8)}`);
      }
      let holders = 0;
      for (const name of await readdir(events)) {
        const text = await readFile(join(events, name), 'latin1');
        if (!text.includes(record.cfdId)) continue;
        holders++;
        assert.equal((await stat(join(events, name))).mode & 0o077, 0, `${name} is private`);
      }
      assert.ok(holders > 0, 'the contract record is in a file of events/');
    });

    it('refuses to start on a datadir open to others (named error, the chmod to run), unless --allow-insecure-datadir', async () => {
      const dir = await newDir();
      // What an earlier version left: events/ 0755 with 0644 files.
      const store = await EventStore.open(join(dir, 'events'));
      await store.close();
      await chmod(dir, 0o755);
      await assert.rejects(Daemon.start(await offline(dir), { logger: silent }), (err: unknown) => {
        assert.ok(err instanceof InsecureDataDirError, String(err));
        assert.ok(err.message.includes(`chmod -R go-rwx ${dir}`), err.message);
        assert.ok(err.insecure.some((e) => e.path === join(dir, 'events')));
        return true;
      });
      const daemon = await Daemon.start(await offline(dir, { 'allow-insecure-datadir': true }), {
        logger: silent,
      });
      cleanups.push(() => daemon.stop());
      assert.equal(daemon.health.get(HEALTH.database)?.status, 'ok');
    });
  });

  it('a taker connects to its maker and receives offers that follow the feed', async () => {
    const makerPort = await freePort(); // fixed, so the maker comes back where the taker dials
    const { feed, maker, taker } = await makerAndTaker({
      listen: `/ip4/127.0.0.1/tcp/${makerPort}`,
      flags: { spread: '10' },
    });

    await until('connected', () => taker.health.get(`peer:${maker.peerId}`)?.status === 'ok');
    const book = () =>
      taker.offers.book.current(Math.floor(Date.now() / 1000), { maxOfferAgeSecs: 600 });
    await until('offers', () => book().length === 2);
    const { bid, ask } = feed.quote;
    const short = book().find((o) => o.offer.makerPosition === 'short')!.offer;
    const long = book().find((o) => o.offer.makerPosition === 'long')!.offer;
    // 10 bps around the quote, rounded away from the taker.
    assert.equal(short.price, (ask * 10_010n + 9_999n) / 10_000n);
    assert.equal(long.price, (bid * 9_990n) / 10_000n);

    // The feed moves: the offers follow.
    feed.setPrice(parsePrice('51000'));
    await until('new offers', () => book().some((o) => o.offer.price > price(50_500)));

    // The maker goes away: the taker's connection health goes down, then heals on its return.
    await maker.p2p.stop();
    await until('peer down', () => taker.health.get(`peer:${maker.peerId}`)?.status !== 'ok');
    await maker.p2p.start();
    await until(
      'peer back',
      () => taker.health.get(`peer:${maker.peerId}`)?.status === 'ok',
      30_000,
    );
  });

  it('with the price still, a maker re-publishes its offers as the settlement event moves on (a taken offer’s event is never close)', async () => {
    // A 20 s interval with an event every 2 s. The offer names the first event 20 s ahead; before
    // this the maker re-published only on a price move or after a minute, so a still price left
    // offers whose event was seconds away, or past, for a taker to take.
    const { maker, taker } = await makerAndTaker({
      flags: { 'settlement-interval': '20', 'oracle-event-interval': '2' },
    });
    const now = () => Math.floor(Date.now() / 1000);
    const short = () =>
      taker.offers.book
        .current(now(), { maxOfferAgeSecs: 600 })
        .find((o) => o.offer.makerPosition === 'short')?.offer;
    const first = await until('offers', short);
    const next = await until(
      'an offer naming a later event',
      () => {
        const o = short();
        return o && o.oracleEventId !== first.oracleEventId ? o : undefined;
      },
      15_000,
    );
    assert.equal(next.price, first.price, 'the price did not move');
    assert.ok(oracleEventTime(next.oracleEventId) > oracleEventTime(first.oracleEventId));
    assert.ok(oracleEventTime(next.oracleEventId) - now() >= 10, 'at least half the interval');
    assert.ok(maker.offers.published.length > 0);
  });

  it('a maker withdraws its offers once its quote is stale by its own age, without a new frame', async () => {
    const { feed, maker, taker } = await makerAndTaker({
      feed: { republishMs: 200 },
      flags: { 'max-quote-age': '2' },
    });
    const book = () =>
      taker.offers.book.current(Math.floor(Date.now() / 1000), { maxOfferAgeSecs: 600 });
    await until('offers', () => book().length === 2);

    // The feed dies upstream: the socket and its pings live on, no quote comes. No frame arrives
    // to tell the maker; its quote ages past 2 s and the offers go.
    feed.pause();
    const paused = Date.now();
    await until('offers withdrawn', () => book().length === 0, 10_000);
    assert.ok(Date.now() - paused >= 1_500);
    assert.equal(maker.health.get(HEALTH.offers)?.status, 'degraded');
    assert.equal(maker.feed.latest()?.stale, true);

    feed.resume();
    await until('offers back', () => book().length === 2, 10_000);
  });

  it('a maker that blocks a taker hangs up on it and refuses it from then on', async () => {
    const { maker, taker } = await makerAndTaker();
    const peer = `peer:${maker.peerId}`;
    await until('connected', () => taker.health.get(peer)?.status === 'ok');
    const restarts = taker.health.get(peer)?.restarts ?? 0;

    await maker.blockPeer(taker.peerId);
    assert.deepEqual(maker.blockedPeers, [taker.peerId]);
    await until('hung up', () => taker.health.get(peer)?.status !== 'ok');
    const seen: string[] = [];
    taker.health.subscribe((h) => {
      if (h.name === peer) seen.push(h.status);
    });
    // The taker keeps redialling with backoff; the maker keeps refusing; never shown as up.
    await until('redialled', () => (taker.health.get(peer)?.restarts ?? 0) >= restarts + 3, 30_000);
    assert.ok(!seen.includes('ok'), seen.join(' '));
    assert.match(taker.health.get(peer)?.lastError?.message ?? '', /hung up at once/);
    assert.equal(maker.p2p.getConnections().length, 0);
  });
});
