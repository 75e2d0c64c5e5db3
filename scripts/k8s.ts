// `npm run k8s -- --makers M --takers N [--out DIR] [options]`: writes the Kubernetes manifests of
// a research network (research/deploy/k8s.ts) as one JSON file per object, numbered in the order
// to apply them: `kubectl apply -f DIR`. They hold fresh secrets (the chain's RPC password, the UI
// password, the oracle's seed, the makers' keys): DIR is 0700 and every file 0600.
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
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

const objects = k8sManifests(
  {
    makers,
    takers,
    image: values.image,
    timeScale,
    storage: values.storage,
    ...(values['storage-class'] && { storageClass: values['storage-class'] }),
  },
  await newSecrets(makers),
);
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
  `${objects.length} objects in ${out}: ${makers} maker(s), ${takers} taker(s), image ${values.image}\n` +
    `apply with: kubectl apply -f ${out}\n`,
);
