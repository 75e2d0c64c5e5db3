// The multi-host topology for real on one machine: a maker (with the chain, feed and oracle on its
// host) and two takers, each in its own network namespace with its own address and /etc/hosts.
// Every process listens on its host's address and dials the others by name, so nothing works
// through loopback; the takers trade with the maker (orders open, locks confirm on both sides) and
// roll over, and stopping removes every namespace, link and hosts file. Needs root (CI runs as
// root and .ci/run installs iproute2); without namespaces it skips here and fails under CI.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  type HostsNetwork,
  PORTS,
  startHostsNetwork,
} from '../../../research/deploy/hosts-network.ts';
import { netnsProblem } from '../../../research/deploy/netns.ts';
import { runUnder } from '../../../scripts/lib/dlcfd-process.ts';
import { apiOf, type Json } from '../../helpers/api.ts';
import { tempDir } from '../../helpers/cfd-fixtures.ts';
import { until } from '../../helpers/wait.ts';

const run = promisify(execFile);
const COLLECT = fileURLToPath(new URL('../../../research/deploy/collect.ts', import.meta.url));

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
    net = await startHostsNetwork({ dir: dir.path, takers: 2, logLevel: 'warn' });
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
