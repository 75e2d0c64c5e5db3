// `npm run netns [-- --takers N --dir DIR]` (as root): the research network on "hosts" of this
// machine (research/deploy/hosts-network.ts) — chain, feed, oracle and the maker on one network
// namespace, each taker on its own, all addressed by name — with funded wallets; prints every
// node's UI, and Ctrl-C stops the processes and removes the namespaces.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type HostsNetwork, startHostsNetwork } from '../research/deploy/hosts-network.ts';
import { netnsProblem } from '../research/deploy/netns.ts';
import { scriptArgs } from './lib/script-args.ts';

const USAGE = `usage: npm run netns [-- options]   (as root: it creates network namespaces)

  --takers N         takers, each on its own host, 1 … 20 (default 2)
  --dir DIR          datadirs, the oracle's certificate and the logs (default: a new temporary one)
  --log-level LEVEL  the processes' log level, in DIR/<name>.log (default info)
  -h, --help         this text
`;

const { values, fail } = scriptArgs('netns', USAGE, {
  takers: { type: 'string', default: '2' },
  dir: { type: 'string' },
  'log-level': { type: 'string', default: 'info' },
});
if (!/^\d+$/.test(values.takers) || Number(values.takers) < 1 || Number(values.takers) > 20) {
  fail('--takers must be 1 … 20');
}
const problem = await netnsProblem();
if (problem) {
  process.stderr.write(`npm run netns: ${problem}\n`);
  process.exit(1);
}
const dir = values.dir ? resolve(values.dir) : await mkdtemp(join(tmpdir(), 'dlcfd-netns-'));
let net: HostsNetwork | undefined;
const stop = async () => {
  await net?.stop();
  process.stdout.write('stopped; namespaces removed\n');
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
net = await startHostsNetwork({
  dir,
  takers: Number(values.takers),
  logLevel: values['log-level'],
});
process.stdout.write(`network on hosts in ${dir} (UI password ${net.uiPassword}):\n`);
for (const host of net.hosts.hosts.values()) {
  const node = net.nodes.find((n) => n.name === host.name);
  process.stdout.write(
    `  ${host.name.padEnd(8)} ${host.address.padEnd(15)} netns ${host.ns}  ${node?.ui ?? ''}\n`,
  );
}
process.stdout.write(`run on a host: ip netns exec <netns> <command>; Ctrl-C stops everything\n`);
