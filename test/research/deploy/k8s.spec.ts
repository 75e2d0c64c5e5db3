// The Kubernetes manifests of `npm run k8s`, checked as far as possible without a cluster: every
// object against the official Kubernetes 1.30 JSON schemas (strict: an unknown field fails), the
// references between objects (selectors, ports, secrets, claims), every maker's and taker's
// arguments through dlcfd's own flag parser and config checks (with the environment the kubelet
// would give them), the scenario Job's arguments through the remote runner's own parser, and the
// identities made up front against the keys they stand for.
import assert from 'node:assert/strict';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { privateKeyFromProtobuf } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { hexToBytes } from '@noble/hashes/utils.js';
import { Ajv, type ValidateFunction } from 'ajv';
import { parse as parseYaml } from 'yaml';
import { nodeConfigFromArgs } from '../../../node/daemon/cli.ts';
import { deriveOracleKeys } from '../../../node/oracle/keys.ts';
import {
  type DeploySecrets,
  type K8sObject,
  k8sManifests,
  newSecrets,
} from '../../../research/deploy/k8s.ts';
import { DeploymentMismatchError, UnsupportedFaultError } from '../../../research/run/remote.ts';
import { parseScenarioJobArgs } from '../../../research/run/remote-cli.ts';
import { parseScenario } from '../../../research/scenario/parse.ts';
import { dlcfd, runScript } from '../../../scripts/lib/dlcfd-process.ts';
import { tempDir } from '../../helpers/cfd-fixtures.ts';

const SCHEMAS = fileURLToPath(new URL('../../fixtures/k8s/', import.meta.url));
/** The schema file of each kind (yannh/kubernetes-json-schema, v1.30.0-standalone-strict). */
const SCHEMA_OF: Record<string, string> = {
  ConfigMap: 'configmap-v1.json.gz',
  Secret: 'secret-v1.json.gz',
  PersistentVolumeClaim: 'persistentvolumeclaim-v1.json.gz',
  Service: 'service-v1.json.gz',
  Deployment: 'deployment-apps-v1.json.gz',
  StatefulSet: 'statefulset-apps-v1.json.gz',
  Job: 'job-batch-v1.json.gz',
};

// biome-ignore lint/suspicious/noExplicitAny: manifests are walked loosely
type Json = any;

/** A scenario that fits the deployment below, with every fault the remote runner causes. */
const FAULTS = `faults:
  - { kind: feedStale, atSecs: 30, forSecs: 5 }
  - { kind: oracleSilent, atSecs: 40, forSecs: 5 }
  - { kind: oracleLate, atSecs: 50, forSecs: 5, delaySecs: 3 }
  - { kind: feeSpike, atSecs: 60, forSecs: 5, satPerVb: 40 }
  - { kind: partition, atSecs: 70, forSecs: 5, between: [t-1, m] }
`;
const SCENARIO_YAML = `name: k8s
durationSecs: 120
makers: [{ name: m }]
takers:
  - { prefix: t-, count: 3, actor: { strategy: random, everySecs: 10 } }
${FAULTS}`;
const OPTIONS = {
  makers: 2,
  takers: 3,
  image: 'dlcfd:test',
  timeScale: 60,
  storage: '1Gi',
  scenario: { yaml: SCENARIO_YAML, origin: 'k8s.yaml' },
};

describe('research: Kubernetes manifests (npm run k8s)', function () {
  this.timeout(60_000);
  let secrets: DeploySecrets;
  let objects: K8sObject[];
  const validators = new Map<string, ValidateFunction>();

  before(async () => {
    secrets = await newSecrets(OPTIONS.makers);
    objects = k8sManifests(OPTIONS, secrets);
    // The schemas' own keywords (x-kubernetes-*) and formats (int32, int-or-string) are not
    // JSON Schema's: ignored, while every type, required field and unknown field is checked.
    const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
    for (const [kind, file] of Object.entries(SCHEMA_OF)) {
      const schema = JSON.parse(gunzipSync(await readFile(join(SCHEMAS, file))).toString('utf8'));
      validators.set(kind, ajv.compile(schema));
    }
  });

  const problems = (o: unknown): string | undefined => {
    const kind = (o as K8sObject).kind;
    const validate = validators.get(kind);
    if (!validate) return `no schema for kind ${kind}`;
    if (validate(o)) return undefined;
    return ajv2text(validate);
  };
  const find = (kind: string, name: string): Json =>
    objects.find((o) => o.kind === kind && o.metadata.name === name);

  it('every object is valid against its Kubernetes 1.30 schema (strict)', () => {
    assert.deepEqual(
      [...new Set(objects.map((o) => o.kind))].sort(),
      Object.keys(SCHEMA_OF).sort(),
      'the kinds made are the kinds checked',
    );
    for (const o of objects) assert.equal(problems(o), undefined, `${o.kind} ${o.metadata.name}`);
  });

  it('a broken manifest fails its schema, naming what is wrong', () => {
    const makers = structuredClone(find('StatefulSet', 'maker'));
    // A misspelt field (strict schemas refuse unknown ones) and a port by the wrong type.
    makers.spec.volumeClaimTemplate = makers.spec.volumeClaimTemplates;
    delete makers.spec.volumeClaimTemplates;
    makers.spec.template.spec.containers[0].ports[0].containerPort = '9000';
    const text = problems(makers);
    assert.match(text ?? '', /\/spec must NOT have additional properties \(volumeClaimTemplate\)/);
    assert.match(
      text ?? '',
      /\/spec\/template\/spec\/containers\/0\/ports\/0\/containerPort must be integer/,
    );
    const job = structuredClone(find('Job', 'collect'));
    delete job.spec.template.spec.containers[0].name;
    assert.match(problems(job) ?? '', /must have required property 'name'/);
  });

  it('every reference resolves: selectors, named ports, secrets and their keys, claims', () => {
    const pods = objects
      .filter((o) => ['Deployment', 'StatefulSet'].includes(o.kind))
      .map((o) => (o as Json).spec.template);
    for (const svc of objects.filter((o) => o.kind === 'Service') as Json[]) {
      const selected = pods.filter((p) =>
        Object.entries(svc.spec.selector).every(([k, v]) => p.metadata.labels[k] === v),
      );
      assert.equal(selected.length, 1, `service ${svc.metadata.name} selects one workload`);
      const ports = selected[0].spec.containers.flatMap((c: Json) => c.ports ?? []);
      for (const p of svc.spec.ports) {
        assert.ok(
          ports.some((cp: Json) => cp.name === p.targetPort),
          `${svc.metadata.name}: port ${p.targetPort}`,
        );
      }
    }
    const jobs = objects.filter((o) => o.kind === 'Job') as Json[];
    assert.deepEqual(
      jobs.map((j) => j.metadata.name),
      ['collect', 'scenario'],
    );
    const allPods = [...pods, ...jobs.map((j) => j.spec.template)];
    for (const pod of allPods) {
      const containers = [...(pod.spec.initContainers ?? []), ...pod.spec.containers];
      for (const c of containers) {
        for (const e of c.env ?? []) {
          const ref = e.valueFrom?.secretKeyRef;
          if (ref) assert.ok(find('Secret', ref.name)?.data[ref.key], `${c.name}: ${ref.key}`);
        }
        const volumes = new Set((pod.spec.volumes ?? []).map((v: Json) => v.name));
        const templates = new Set(
          objects
            .filter((o) => o.kind === 'StatefulSet')
            .flatMap((o) =>
              (o as Json).spec.volumeClaimTemplates.map((t: Json) => t.metadata.name),
            ),
        );
        for (const m of c.volumeMounts ?? []) {
          assert.ok(volumes.has(m.name) || templates.has(m.name), `${c.name}: volume ${m.name}`);
        }
      }
      for (const v of pod.spec.volumes ?? []) {
        if (v.persistentVolumeClaim) {
          assert.ok(find('PersistentVolumeClaim', v.persistentVolumeClaim.claimName), v.name);
        }
        if (v.configMap) assert.ok(find('ConfigMap', v.configMap.name), v.name);
        if (v.secret) {
          const secret = find('Secret', v.secret.secretName);
          for (const item of v.secret.items ?? []) assert.ok(secret?.data[item.key], item.key);
        }
      }
    }
  });

  /** A container's args as the kubelet runs them: `$(VAR)` from its env, secrets decoded. */
  const kubeletEnv = (container: Json, podName: string): Record<string, string> => {
    const env: Record<string, string> = {};
    for (const e of container.env ?? []) {
      if (e.value !== undefined) env[e.name] = e.value;
      else if (e.valueFrom.fieldRef?.fieldPath === 'metadata.name') env[e.name] = podName;
      else {
        const ref = e.valueFrom.secretKeyRef;
        env[e.name] = Buffer.from(find('Secret', ref.name).data[ref.key], 'base64').toString();
      }
    }
    return env;
  };
  const expand = (args: string[], env: Record<string, string>) =>
    args.map((a) => a.replace(/\$\((\w+)\)/g, (_, v: string) => env[v] ?? `$(${v})`));

  it("every maker's and taker's args load through dlcfd's own flag parser and config checks", async () => {
    for (const role of ['maker', 'taker'] as const) {
      const set = find('StatefulSet', role);
      const container = set.spec.template.spec.containers[0];
      const env = kubeletEnv(container, `${role}-0`);
      const [subcommand, ...argv] = expand(container.args, env);
      assert.equal(subcommand, role);
      const config = await nodeConfigFromArgs(role, argv, env);
      assert.equal(config.network, 'regtest');
      assert.equal(config.oracle?.url, 'https://oracle:8443');
      assert.equal(config.chain?.url, 'http://chain:18443');
      assert.equal(config.chain?.password, secrets.chainRpcPassword, 'from the Secret, by env');
      assert.equal(config.ui.password, secrets.uiPassword);
      assert.deepEqual(config.ui.allowedHosts, [`${role}-0.${role}`]);
      assert.equal(env.NODE_EXTRA_CA_CERTS, '/etc/dlcfd/oracle-ca.pem');
      if (role === 'taker') {
        // Each maker by its pod's DNS name and the peer id of the key its pod is given.
        assert.deepEqual(
          config.p2p.makers,
          secrets.makerKeys.map((_, i) => {
            const key = Buffer.from(
              find('Secret', 'dlcfd-secrets').data[`maker-${i}.p2p.key`],
              'base64',
            );
            const peerId = peerIdFromPrivateKey(privateKeyFromProtobuf(key)).toString();
            return `/dns4/maker-${i}.maker/tcp/9000/p2p/${peerId}`;
          }),
        );
      } else {
        assert.deepEqual(config.p2p.listen, ['/ip4/0.0.0.0/tcp/9000']);
      }
    }
    // The oracle keys every node pins are the oracle seed's.
    const seedFile = JSON.parse(
      Buffer.from(find('Secret', 'dlcfd-secrets').data['oracle.seed'], 'base64').toString(),
    );
    const keys = deriveOracleKeys({
      seed: hexToBytes(seedFile.seed),
      createdAt: seedFile.createdAt,
    });
    const args = find('StatefulSet', 'taker').spec.template.spec.containers[0].args as string[];
    const flag = (f: string) => args[args.indexOf(f) + 1];
    assert.equal(flag('--oracle-public-key'), Buffer.from(keys.oliviaPublicKey).toString('hex'));
    assert.equal(
      flag('--oracle-announcement-key'),
      Buffer.from(keys.announcementPublicKey).toString('hex'),
    );
  });

  it('a broken node argument is refused by the same parser', async () => {
    const container = find('StatefulSet', 'taker').spec.template.spec.containers[0];
    const env = kubeletEnv(container, 'taker-0');
    const [, ...argv] = expand(container.args, env);
    const plainOracle = argv.map((a) => (a === 'https://oracle:8443' ? 'http://oracle:8080' : a));
    await assert.rejects(nodeConfigFromArgs('taker', plainOracle, env), /must be https/);
    await assert.rejects(nodeConfigFromArgs('taker', [...argv, '--listn', 'x'], env), /listn/);
  });

  it('the chain, feed and oracle containers use flags and environment their subcommands have', async () => {
    for (const name of ['chain', 'pricefeed', 'oracle']) {
      const container = find('Deployment', name).spec.template.spec.containers[0];
      const [subcommand, ...argv] = container.args as string[];
      assert.equal(subcommand, name);
      const { stdout } = await dlcfd(subcommand, '--help');
      for (const f of argv.filter((a) => a.startsWith('--'))) {
        assert.ok(stdout.includes(`${f} `), `dlcfd ${name} has ${f}`);
      }
      // The control tokens: each read from the environment variable its help names.
      for (const e of (container.env as Json[]).filter((x) => x.name.startsWith('DLCFD_'))) {
        assert.ok(stdout.includes(e.name), `dlcfd ${name} reads ${e.name}`);
      }
    }
  });

  it("the scenario Job's args pass the remote runner's own parser: every node by name, secrets by env", () => {
    const job = find('Job', 'scenario');
    assert.equal(job.spec.backoffLimit, 0, 'a failed run is not traded again on top');
    assert.equal(job.spec.template.spec.restartPolicy, 'Never');
    const container = job.spec.template.spec.containers[0];
    assert.deepEqual(container.command, ['node', 'scripts/scenario-job.ts']);
    const env = kubeletEnv(container, 'scenario-x');
    const args = parseScenarioJobArgs(expand(container.args, env), env);
    assert.deepEqual(args.targets, {
      makers: ['http://maker-0.maker:8000', 'http://maker-1.maker:8000'],
      takers: [
        'http://taker-0.taker:8000',
        'http://taker-1.taker:8000',
        'http://taker-2.taker:8000',
      ],
      password: secrets.uiPassword,
      feedControl: 'http://pricefeed:8088/control',
      feedToken: secrets.feedControlToken,
      chainRpc: { url: 'http://chain:18443', user: 'dlcfd', password: secrets.chainRpcPassword },
      oracleControl: 'https://oracle:8443/control',
      oracleToken: secrets.oracleControlToken,
    });
    // The faults' services as deployed: the chain's Service port and RPC user, the oracle's
    // Service (its TLS proxy) and the token its container is given, the oracle's certificate.
    const servicePort = (name: string) =>
      (find('Service', name).spec.ports as Json[]).map((p) => `http://${name}:${p.port}`);
    assert.ok(servicePort('chain').includes(args.targets.chainRpc!.url));
    const chain = find('Deployment', 'chain').spec.template.spec.containers[0];
    assert.equal(chain.args[chain.args.indexOf('--rpc-user') + 1], args.targets.chainRpc!.user);
    assert.equal(kubeletEnv(chain, 'chain-x').CHAIN_RPC_PASSWORD, args.targets.chainRpc!.password);
    assert.ok(
      args.targets.oracleControl!.startsWith(
        `${servicePort('oracle')[0]!.replace('http:', 'https:')}/`,
      ),
    );
    const oracle = find('Deployment', 'oracle').spec.template.spec.containers[0];
    assert.equal(
      kubeletEnv(oracle, 'oracle-x').DLCFD_ORACLE_CONTROL_TOKEN,
      args.targets.oracleToken,
    );
    const [caDir, caFile] = [
      env.NODE_EXTRA_CA_CERTS!.replace(/\/[^/]+$/, ''),
      env.NODE_EXTRA_CA_CERTS!.split('/').at(-1)!,
    ];
    const caVolume = container.volumeMounts.find((m: Json) => m.mountPath === caDir).name;
    const caMap = job.spec.template.spec.volumes.find((v: Json) => v.name === caVolume).configMap;
    assert.equal(find('ConfigMap', caMap.name).data[caFile], secrets.oracleTls.cert);
    // Results onto the results claim; the scenario from its config map, as given.
    const mount = (name: string) =>
      container.volumeMounts.find((m: Json) => m.name === name).mountPath as string;
    assert.ok(args.runs.startsWith(`${mount('results')}/`), args.runs);
    assert.ok(args.file.startsWith(`${mount('scenario')}/`), args.file);
    const volume = job.spec.template.spec.volumes.find((v: Json) => v.name === 'scenario');
    const yaml = find('ConfigMap', volume.configMap.name).data[args.file.split('/').at(-1)!];
    assert.equal(yaml, SCENARIO_YAML);
    assert.equal(parseScenario(parseYaml(yaml), 'k8s.yaml').name, 'k8s');
    // The feed serves only the scenario's prices, and lets the Job set them with the token.
    const feed = find('Deployment', 'pricefeed').spec.template.spec.containers[0];
    assert.deepEqual(
      feed.args.slice(feed.args.indexOf('--tick-ms'), feed.args.indexOf('--tick-ms') + 2),
      ['--tick-ms', '0'],
    );
    assert.equal(
      kubeletEnv(feed, 'pricefeed-x').DLCFD_PRICEFEED_CONTROL_TOKEN,
      secrets.feedControlToken,
    );
    // A broken argument is refused by the same parser.
    assert.throws(
      () => parseScenarioJobArgs([...expand(container.args, env), '--taker', 'taker-9'], env),
      /--taker 'taker-9' is not an http\(s\) URL/,
    );
    assert.throws(() => parseScenarioJobArgs(expand(container.args, env), {}), /DLCFD_UI_PASSWORD/);
    const { DLCFD_CHAIN_PASSWORD: _, ...noChainPassword } = env;
    assert.throws(
      () => parseScenarioJobArgs(expand(container.args, env), noChainPassword),
      /--chain-rpc needs DLCFD_CHAIN_PASSWORD/,
    );
  });

  it('a scenario the Job cannot run is refused when the manifests are made', () => {
    const withFault = SCENARIO_YAML.replace(
      FAULTS,
      'faults: [{ kind: makerRestart, atSecs: 30, maker: m, downSecs: 5 }]\n',
    );
    assert.throws(
      () => k8sManifests({ ...OPTIONS, scenario: { yaml: withFault, origin: 'x.yaml' } }, secrets),
      (e: Error) =>
        e instanceof UnsupportedFaultError &&
        /cannot cause makerRestart \(stops a node's process/.test(e.message),
    );
    const takerPartition = SCENARIO_YAML.replace('between: [t-1, m]', 'between: [t-1, t-2]');
    assert.throws(
      () =>
        k8sManifests({ ...OPTIONS, scenario: { yaml: takerPartition, origin: 'x.yaml' } }, secrets),
      (e: Error) =>
        e instanceof UnsupportedFaultError && /t-1\|t-2 are both takers/.test(e.message),
    );
    assert.throws(
      () => k8sManifests({ ...OPTIONS, takers: 2 }, secrets),
      (e: Error) => e instanceof DeploymentMismatchError && /3 takers/.test(e.message),
    );
    // Without a scenario: no Job, and the feed walks.
    const plain = k8sManifests({ ...OPTIONS, scenario: undefined }, secrets);
    assert.equal(plain.filter((o) => o.metadata.name === 'scenario').length, 0);
    const feed = (
      plain.find((o) => o.metadata.name === 'pricefeed' && o.kind === 'Deployment') as Json
    ).spec.template.spec.containers[0];
    assert.ok(!feed.args.includes('--tick-ms'));
  });

  it('npm run k8s writes one owner-only JSON file per object, in apply order', async () => {
    const dir = await tempDir('dlcfd-k8s-');
    try {
      const out = join(dir.path, 'out');
      const script = fileURLToPath(new URL('../../../scripts/k8s.ts', import.meta.url));
      const { code, stdout, stderr } = await runScript(
        script,
        '--makers',
        '1',
        '--takers',
        '2',
        '--out',
        out,
      );
      assert.equal(code, 0, stderr);
      assert.match(stdout, /^17 objects in /);
      assert.equal((await stat(out)).mode & 0o777, 0o700);
      const files = (await readdir(out)).sort();
      assert.equal(files.length, 17);
      assert.match(files[0]!, /^00-secret-dlcfd-secrets\.json$/);
      assert.match(files.at(-1)!, /^16-job-collect\.json$/);
      for (const f of files) {
        assert.equal((await stat(join(out, f))).mode & 0o777, 0o600, f);
        const o = JSON.parse(await readFile(join(out, f), 'utf8'));
        assert.equal(problems(o), undefined, f);
      }
      const bad = await runScript(script, '--makers', '0', '--takers', '2');
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /^npm run k8s: --makers must be 1 … 20/);

      // With a scenario: its config map and Job last.
      const file = join(dir.path, 'k8s.yaml');
      await writeFile(file, SCENARIO_YAML);
      const withJob = join(dir.path, 'with-job');
      const args = ['--makers', '1', '--takers', '3', '--scenario', file];
      const made = await runScript(script, ...args, '--out', withJob);
      assert.equal(made.code, 0, made.stderr);
      const jobFiles = (await readdir(withJob)).sort();
      assert.deepEqual(jobFiles.slice(-2), [
        '17-configmap-dlcfd-scenario.json',
        '18-job-scenario.json',
      ]);
      for (const f of jobFiles.slice(-2)) {
        assert.equal(problems(JSON.parse(await readFile(join(withJob, f), 'utf8'))), undefined, f);
      }
      const unfit = await runScript(script, '--makers', '1', '--takers', '2', '--scenario', file);
      assert.equal(unfit.code, 2);
      assert.match(unfit.stderr, /needs 1 makers and 3 takers/);
    } finally {
      await dir.cleanup();
    }
  });
});

/** Ajv's errors, one `path message (detail)` a line. */
function ajv2text(validate: ValidateFunction): string {
  return (validate.errors ?? [])
    .map((e) => {
      const extra =
        'additionalProperty' in e.params ? ` (${String(e.params.additionalProperty)})` : '';
      return `${e.instancePath} ${e.message}${extra}`;
    })
    .join('\n');
}
