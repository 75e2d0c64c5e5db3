// The multi-host topology for real on one machine: a maker (with the chain, feed and oracle on its
// host) and two takers, each in its own network namespace with its own address and /etc/hosts.
// Every process listens on its host's address and dials the others by name, so nothing works
// through loopback; the takers trade with the maker (orders open, locks confirm on both sides) and
// roll over, and stopping removes every namespace, link and hosts file. Needs root (CI runs as
// root and .ci/run installs iproute2); without namespaces it skips here and fails under CI.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { type HostsNetwork, startHostsNetwork } from '../../../research/deploy/hosts-network.ts';
import { netnsProblem } from '../../../research/deploy/netns.ts';
import { apiOf, type Json } from '../../helpers/api.ts';
import { tempDir } from '../../helpers/cfd-fixtures.ts';
import { until } from '../../helpers/wait.ts';

const run = promisify(execFile);

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
      const order = await until(
        `${taker}'s order taken`,
        async () => {
          const res = await call('POST', '/api/orders', {
            offerId: offer.id,
            lots: Number(BigInt(offer.minQuantity) / BigInt(offer.lotSize)),
            leverage: 2,
          });
          // 4xx while the node's wallet has not seen its funding confirm yet.
          return res.status === 202 ? res.body : undefined;
        },
        30_000,
        500,
      );
      ids.set(taker, order.orderId);
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
