// `npm run k8s -- --makers M --takers N [--out DIR] [options]`: writes the Kubernetes manifests of
// a research network (research/deploy/k8s.ts) as one JSON file per object, numbered in the order
// to apply them: `kubectl apply -f DIR`. They hold fresh secrets (the chain's RPC password, the UI
// password, the oracle's seed, the makers' keys, the feed's control token): DIR is 0700 and every
// file 0600. With --scenario FILE they include the Job `scenario` that runs it (scripts/scenario-job.ts).
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { extname, join, resolve } from 'node:path';
import { VERSION } from '../node/version.ts';
import { k8sManifests, newSecrets } from '../research/deploy/k8s.ts';
import { scriptArgs } from './lib/script-args.ts';

const USAGE = `usage: npm run k8s -- --makers M --takers N [options]

  --makers M           makers, 1 … 20 (a StatefulSet: maker-0 … maker-(M-1))
  --takers N           takers, 0 … 1000 (a StatefulSet: taker-0 … taker-(N-1))
  --out DIR            where the manifests go (default ./k8s)
  --image IMAGE        the image built from the Dockerfile (default dlcfd:${VERSION})
  --time-scale S       production time divided by S, 1 … 3600 (default 60)
  --storage SIZE       each volume claim's size (default 1Gi)
  --storage-class C    the volume claims' storage class (default: the cluster's)
  --scenario FILE      add the Job \`scenario\` running this scenario (.yaml) against the network;
                       the feed then moves only by its prices (faults: all but
                       makerRestart and takerOffline; partitions taker–maker only)
  --scenario-ci        the Job runs the scenario's CI size (its ci: block)
  -h, --help           this text
`;

const { values, fail } = scriptArgs('k8s', USAGE, {
  makers: { type: 'string' },
  takers: { type: 'string' },
  out: { type: 'string', default: 'k8s' },
  image: { type: 'string', default: `dlcfd:${VERSION}` },
  'time-scale': { type: 'string', default: '60' },
  storage: { type: 'string', default: '1Gi' },
  'storage-class': { type: 'string' },
  scenario: { type: 'string' },
  'scenario-ci': { type: 'boolean', default: false },
});
const whole = (name: string, text: string | undefined, min: number, max: number): number => {
  if (text === undefined || !/^\d+$/.test(text) || Number(text) < min || Number(text) > max) {
    fail(`--${name} must be ${min} … ${max}`);
  }
  return Number(text);
};
const makers = whole('makers', values.makers, 1, 20);
const takers = whole('takers', values.takers, 0, 1000);
const timeScale = whole('time-scale', values['time-scale'], 1, 3600);
if (!/^\d+(\.\d+)?([KMGT]i?)?$/.test(values.storage)) fail('--storage must be a quantity: 1Gi');

let scenario: { yaml: string; origin: string } | undefined;
if (values.scenario !== undefined) {
  if (!['.yaml', '.yml'].includes(extname(values.scenario))) {
    fail('--scenario must be a .yaml file (the Job reads it from a config map)');
  }
  const yaml = await readFile(values.scenario, 'utf8').catch((e: Error) =>
    fail(`--scenario: ${e.message}`),
  );
  scenario = { yaml, origin: values.scenario };
} else if (values['scenario-ci']) fail('--scenario-ci needs --scenario');

let objects: ReturnType<typeof k8sManifests>;
try {
  objects = k8sManifests(
    {
      makers,
      takers,
      image: values.image,
      timeScale,
      storage: values.storage,
      ...(values['storage-class'] && { storageClass: values['storage-class'] }),
      ...(scenario && { scenario, scenarioCi: values['scenario-ci'] }),
    },
    await newSecrets(makers),
  );
} catch (err) {
  // A scenario that does not parse, does not fit the deployment or asks for a fault the Job
  // cannot cause.
  objects = fail((err as Error).message);
}
const out = resolve(values.out);
await mkdir(out, { recursive: true, mode: 0o700 });
await chmod(out, 0o700);
for (const [i, o] of objects.entries()) {
  const file = join(
    out,
    `${String(i).padStart(2, '0')}-${o.kind.toLowerCase()}-${o.metadata.name}.json`,
  );
  await writeFile(file, `${JSON.stringify(o, null, 2)}\n`, { mode: 0o600 });
  await chmod(file, 0o600);
}
process.stdout.write(
  `${objects.length} objects in ${out}: ${makers} maker(s), ${takers} taker(s), image ${values.image}` +
    `${scenario ? `, scenario ${scenario.origin}` : ''}\n` +
    `apply with: kubectl apply -f ${out}\n`,
);
