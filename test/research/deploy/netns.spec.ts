// The multi-host topology for real on one machine: a maker (with the chain, feed and oracle on its
// host) and two takers, each in its own network namespace with its own address and /etc/hosts.
// Every process listens on its host's address and dials the others by name, so nothing works
// through loopback; the takers trade with the maker (orders open, locks confirm on both sides) and
// roll over; the remote scenario runner, on a host of its own, runs a scenario against them by
// name (as the Kubernetes Job `scenario` would) and its results folder shows what happened; and
// stopping removes every namespace, link and hosts file. Needs root (CI runs as root and .ci/run
// installs iproute2); without namespaces it skips here and fails under CI.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  type HostsNetwork,
  PORTS,
  startHostsNetwork,
} from '../../../research/deploy/hosts-network.ts';
import { netnsProblem } from '../../../research/deploy/netns.ts';
import { parseCsv } from '../../../research/report/csv.ts';
import { RESULT_COLUMNS, RESULT_FILES } from '../../../research/scenario/types.ts';
import { NODE_BIN, runUnder } from '../../../scripts/lib/dlcfd-process.ts';
import { apiOf, type Json } from '../../helpers/api.ts';
import { tempDir } from '../../helpers/cfd-fixtures.ts';
import { until } from '../../helpers/wait.ts';

const run = promisify(execFile);
const COLLECT = fileURLToPath(new URL('../../../research/deploy/collect.ts', import.meta.url));
const SCENARIO_JOB = fileURLToPath(new URL('../../../scripts/scenario-job.ts', import.meta.url));
const STRATEGY = fileURLToPath(new URL('./open-then-close.ts', import.meta.url));

/**
 * ≈ 32 run seconds: one taker opens long and one short on their first tick, both close from run
 * second 24 (rollovers every 10 s: at least one each); the price walks; the feed goes stale for
 * 2 s; the short taker refuses the maker for 2 s (a partition through its API), between its open
 * and its close.
 */
const REMOTE_SCENARIO = (strategy: string) => `name: remote
seed: 7
durationSecs: 32
makers:
  - name: maker1
    spreadBps: 10
    fundingRate: "0.001"
    leverages: [1, 2, 3]
    maxLots: 10
takers:
  - prefix: long-
    count: 1
    actor: { strategy: "plugin:${strategy}", everySecs: 4, lots: [1, 1], leverages: [2], side: long }
  - prefix: short-
    count: 1
    actor: { strategy: "plugin:${strategy}", everySecs: 4, lots: [1, 1], leverages: [2], side: short }
price: { kind: walk, start: 50000, volatility: 0.0003, stepSecs: 2 }
faults:
  - { kind: feedStale, atSecs: 10, forSecs: 2 }
  - { kind: partition, atSecs: 15, forSecs: 2, between: [short-1, maker1] }
`;

/** The host each process must run on. */
const HOST_OF: Record<string, string> = {
  chain: 'maker',
  pricefeed: 'maker',
  oracle: 'maker',
  'oracle-tls': 'maker',
  maker: 'maker',
  taker1: 'taker1',
  taker2: 'taker2',
};

describe('research: a maker and two takers on three hosts (network namespaces)', function () {
  this.timeout(120_000);
  let net: HostsNetwork | undefined;
  let dir: Awaited<ReturnType<typeof tempDir>> | undefined;
  const ids = new Map<string, string>();

  before(async function () {
    const problem = await netnsProblem();
    if (problem) {
      if (process.env.CI) throw new Error(`cannot create network namespaces: ${problem}`);
      // Outside CI a machine without namespaces (no root, no CAP_SYS_ADMIN, no iproute2) skips,
      // saying why; CI (.ci/run installs iproute2, runs as root) fails instead.
      console.log(`    skipped: cannot create network namespaces: ${problem}`);
      this.skip();
    }
    dir = await tempDir('dlcfd-hosts-');
    net = await startHostsNetwork({
      dir: dir.path,
      takers: 2,
      logLevel: 'warn',
      // The remote scenario runner's host; the feed moves only by its control (the plan's prices).
      extraHosts: ['runner'],
      feedWalks: false,
    });
  });

  after(async () => {
    await net?.stop();
    await dir?.cleanup();
  });

  const api = async (name: string) => {
    const node = net!.nodes.find((n) => n.name === name)!;
    return apiOf(node.ui, await node.cookie());
  };
  const cfdOn = async (name: string, id: string): Promise<Json | undefined> => {
    const res = await (await api(name))('GET', `/api/cfds/${id}`);
    return res.status === 200 ? res.body : undefined;
  };

  it('runs each process in its host and listens on its host address only', async () => {
    for (const [name, p] of net!.processes) {
      const { stdout } = await run('ip', ['netns', 'identify', String(p.child.pid)]);
      assert.equal(stdout.trim(), net!.hosts.hosts.get(HOST_OF[name]!)!.ns, name);
    }
    for (const host of net!.hosts.hosts.values()) {
      if (host.name === 'runner') continue; // nothing started there yet
      const { stdout } = await run('ip', ['netns', 'exec', host.ns, 'ss', '-Hltn']);
      const local = stdout
        .trim()
        .split('\n')
        .map((l) => l.trim().split(/\s+/)[3]!);
      assert.ok(local.length > 0, `${host.name} listens`);
      for (const address of local) {
        assert.ok(address.startsWith(`${host.address}:`), `${host.name} listens on ${address}`);
      }
    }
  });

  it('every wallet is funded from the faucet over the bridge, and confirmed', async () => {
    // Blocks come every 2 s. The maker splits its funding into its coin pool first.
    for (const node of net!.nodes) {
      const call = await api(node.name);
      await until(
        `${node.name}'s funding confirmed`,
        async () => {
          const b = (await call('GET', '/api/wallet')).body.balance;
          if (!b) return false;
          const confirmed = BigInt(b.confirmed);
          const split = node.role !== 'maker' || confirmed < 100_000_000n;
          const settled = BigInt(b.unconfirmed) === 0n && BigInt(b.spendable) === confirmed;
          return confirmed > 99_000_000n && split && settled;
        },
        45_000,
        250,
      );
    }
  });

  it('each taker opens a CFD with the maker, dialled by name; the locks confirm on both sides', async () => {
    for (const taker of ['taker1', 'taker2']) {
      const call = await api(taker);
      const offer = await until(
        `${taker} sees the maker's offers`,
        async () => {
          const { body } = await call('GET', '/api/offers');
          return body.offers?.find((o: Json) => o.takerPosition === 'long');
        },
        30_000,
        250,
      );
      const order = await call('POST', '/api/orders', {
        offerId: offer.id,
        lots: Number(BigInt(offer.minQuantity) / BigInt(offer.lotSize)),
        leverage: 2,
      });
      assert.equal(order.status, 202, JSON.stringify(order.body));
      ids.set(taker, order.body.orderId);
    }
    for (const [taker, id] of ids) {
      for (const side of [taker, 'maker']) {
        await until(
          `${taker}'s CFD open on ${side}`,
          async () => {
            const c = await cfdOn(side, id);
            if (c && ['rejected', 'setupFailed'].includes(c.state)) {
              assert.fail(`${taker}'s order failed on ${side}: ${c.state} ${c.failureReason}`);
            }
            return c && ['open', 'rollover'].includes(c.state);
          },
          45_000,
          250,
        );
      }
      const c = await cfdOn(taker, id);
      assert.equal(c.transactions[0].kind, 'lock');
    }
  });

  it('each CFD rolls over: both sides move its settlement event later', async () => {
    assert.equal(ids.size, 2, 'the CFDs of the test before');
    const first = new Map<string, number>();
    for (const [taker, id] of ids) first.set(id, (await cfdOn(taker, id)).settlementEvent.timeSecs);
    for (const [taker, id] of ids) {
      for (const side of [taker, 'maker']) {
        await until(
          `a rollover of ${taker}'s CFD on ${side}`,
          async () => (await cfdOn(side, id))?.settlementEvent.timeSecs > first.get(id)!,
          40_000,
          250,
        );
      }
    }
  });

  it('the collector, on the maker host, gathers every node CFDs and metrics by name', async () => {
    const out = join(dir!.path, 'results');
    const { code, stdout, stderr } = await runUnder(
      net!.hosts.prefix('maker'),
      COLLECT,
      [
        '--out',
        out,
        '--wait',
        '30',
        ...net!.nodes.flatMap((n) => ['--node', `${n.name}=http://${n.name}:${PORTS.ui}`]),
      ],
      { DLCFD_UI_PASSWORD: net!.uiPassword },
    );
    assert.equal(code, 0, stdout + stderr);
    const collected = JSON.parse(await readFile(join(out, 'collected.json'), 'utf8'));
    assert.deepEqual(
      collected.nodes.map((n: Json) => [n.name, n.ok, n.cfds]),
      [
        ['maker', true, 2],
        ['taker1', true, 1],
        ['taker2', true, 1],
      ],
    );
    for (const [taker, id] of ids) {
      const { cfds } = JSON.parse(await readFile(join(out, taker, 'cfds.json'), 'utf8'));
      assert.equal(cfds[0].id, id);
    }
    assert.match(await readFile(join(out, 'maker', 'metrics.prom'), 'utf8'), /^dlcfd_/m);
  });

  it("the feed's control answers another host only with the control token", async () => {
    const status = async (token?: string) => {
      const code =
        `const r = await fetch(${JSON.stringify(`${net!.feedControl}/price`)}, { method: 'POST', ` +
        `headers: ${JSON.stringify(token ? { authorization: `Bearer ${token}` } : {})}, ` +
        `body: JSON.stringify({ price: '50000' }) }); console.log(r.status);`;
      const { stdout } = await run('ip', [
        ...net!.hosts.prefix('runner').slice(1),
        NODE_BIN,
        '--input-type=module',
        '-e',
        code,
      ]);
      return stdout.trim();
    };
    assert.equal(await status(), '403');
    assert.equal(await status(`${net!.feedControlToken}x`), '403');
    assert.equal(await status(net!.feedControlToken), '200');
  });

  it('the remote scenario runner, on its own host, runs a scenario against the nodes by name', async function () {
    this.timeout(150_000);
    const file = join(dir!.path, 'remote.yaml');
    await writeFile(file, REMOTE_SCENARIO(STRATEGY));
    const takers = ['taker1', 'taker2'];
    let out: { stdout: string; stderr: string; code: number };
    try {
      const r = await run(
        'ip',
        [
          ...net!.hosts.prefix('runner').slice(1),
          NODE_BIN,
          SCENARIO_JOB,
          file,
          '--runs',
          join(dir!.path, 'runs'),
          '--feed-control',
          net!.feedControl,
          '--maker',
          `http://maker:${PORTS.ui}`,
          ...takers.flatMap((t) => ['--taker', `http://${t}:${PORTS.ui}`]),
          '--ready-wait',
          '60',
          '--drain',
          '40',
        ],
        {
          timeout: 140_000,
          env: {
            ...process.env,
            DLCFD_UI_PASSWORD: net!.uiPassword,
            DLCFD_PRICEFEED_CONTROL_TOKEN: net!.feedControlToken,
          },
        },
      );
      out = { ...r, code: 0 };
    } catch (err) {
      const e = err as { code?: number; stdout?: string; stderr?: string };
      out = { code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
    }
    assert.equal(out.code, 0, out.stdout + out.stderr);
    const results = /^results (.+)$/m.exec(out.stdout)![1]!;
    const read = (f: string) => readFile(join(results, f), 'utf8');

    const summary = JSON.parse(await read(RESULT_FILES.summary));
    assert.deepEqual(
      summary.checks.map((c: Json) => [c.name, c.ok]),
      [
        ['fundingConserved', true],
        ['noneStuck', true],
        ['minLiquidations', true],
      ],
      JSON.stringify(summary.checks),
    );
    assert.deepEqual(
      summary.notChecked.map((c: Json) => c.name),
      ['satsConserved', 'liquidationsPaid', RESULT_FILES.protocols, RESULT_FILES.events],
    );
    assert.equal(summary.fundingPaidSats, summary.fundingReceivedSats);
    assert.ok(BigInt(summary.fundingPaidSats) > 0n, 'funding was charged');
    assert.deepEqual(summary.deployment, {
      maker1: `http://maker:${PORTS.ui}`,
      'long-1': `http://taker1:${PORTS.ui}`,
      'short-1': `http://taker2:${PORTS.ui}`,
    });

    // Each taker opened (its side) and closed what it held, as planned.
    const trades = parseCsv(await read(RESULT_FILES.trades), RESULT_COLUMNS.trades, 'trades');
    const opens = new Map<string, string>();
    for (const [name, side] of [
      ['long-1', 'long'],
      ['short-1', 'short'],
    ] as const) {
      const own = trades.filter((t) => t.taker === name);
      const open = own.find((t) => t.action === 'open');
      assert.equal(open?.outcome, 'completed', JSON.stringify(own));
      assert.equal(open.side, side);
      assert.equal(open.maker, 'maker1');
      opens.set(name, open.cfdId);
      const closes = own.filter((t) => t.action === 'close');
      assert.ok(closes.length > 0 && closes.every((c) => c.outcome === 'completed'), name);
      assert.ok(
        closes.some((c) => c.cfdId === open.cfdId),
        `${name} closed its own`,
      );
    }
    // Every position of the takers (those of the tests before too) closed collaboratively.
    const positions = parseCsv(
      await read(RESULT_FILES.positions),
      RESULT_COLUMNS.positions,
      'positions',
    );
    assert.equal(positions.length, 4);
    for (const p of positions) assert.equal(p.closedBy, 'collaborative', p.cfdId);
    assert.equal(summary.cfds.open, 0);
    // The plan's prices went through the feed: its walk, at 2 s steps, less the stale 2 s.
    const prices = parseCsv(await read(RESULT_FILES.prices), RESULT_COLUMNS.prices, 'prices');
    assert.ok(prices.length >= 12, `${prices.length} prices`);
    const faults = await read(RESULT_FILES.faults);
    assert.match(faults, /feedStale,pricefeed,start[\s\S]*feedStale,pricefeed,end/);
    assert.match(
      faults,
      /partition,short-1\|maker1,start,short-1 refuses maker1[\s\S]*partition,short-1\|maker1,end/,
    );
    for (const name of ['maker1', 'long-1', 'short-1']) {
      assert.match(await read(join(RESULT_FILES.metrics, `${name}.prom`)), /^dlcfd_/m);
    }
    assert.match(await read(RESULT_FILES.report), /<html/);

    // Each scenario CFD rolled over at least once while open (from the taker's own history).
    for (const [name, taker] of [
      ['long-1', 'taker1'],
      ['short-1', 'taker2'],
    ] as const) {
      const { positions: history } = (await (await api(taker))('GET', '/api/history')).body;
      const p = history.find((x: Json) => x.id === opens.get(name));
      assert.ok(
        p.funding.some((f: Json) => f.kind === 'rollover'),
        `${name}: ${JSON.stringify(p.funding)}`,
      );
    }
  });

  it('stopping removes every process, namespace, link and hosts file', async () => {
    const { id, hosts } = net!.hosts;
    await net!.stop();
    for (const p of net!.processes.values())
      assert.notEqual(p.child.exitCode ?? p.child.signalCode, null);
    const { stdout: namespaces } = await run('ip', ['netns', 'list']);
    assert.doesNotMatch(namespaces, new RegExp(`dlcfd-${id}-`));
    const { stdout: links } = await run('ip', ['-o', 'link', 'show']);
    assert.doesNotMatch(links, new RegExp(`dl[bv]${id}`));
    for (const host of hosts.values()) assert.equal(existsSync(`/etc/netns/${host.ns}`), false);
  });
});
