/**
 * The research network on Kubernetes: manifests for the chain, price feed and oracle (Deployments
 * with Services), makers and takers (StatefulSets with a volume claim per pod for its datadir, and
 * headless Services so every pod has a DNS name: `maker-0.maker`, `taker-3.taker`), the secrets
 * and config they share, a Job that collects every node's CFDs and metrics onto a volume
 * (collect.ts), and — given a scenario — a Job that runs it against the deployed network and
 * writes its results folder onto the same volume (research/run/remote.ts). Every container runs the image of the repository's Dockerfile with real dlcfd
 * flags; nodes dial each other by service name, as on the hosts of hosts-network.ts (same ports).
 *
 * What cannot be known after the fact is made here, so that takers can be configured before any
 * pod starts: each maker's libp2p identity (its peer id goes into the takers' `--maker`), the
 * oracle's seed (its public keys go into every node's flags), and the oracle's TLS certificate
 * (nodes take plain http to a loopback oracle only; the oracle's pod serves it through
 * tls-proxy.ts, and nodes trust the certificate through NODE_EXTRA_CA_CERTS).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPair, privateKeyToProtobuf } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { bytesToHex, randomBytes } from '@noble/hashes/utils.js';
import { parse as parseYaml } from 'yaml';
import { SEED_FILE, SEED_FILE_VERSION } from '../../node/oracle/constants.ts';
import { deriveOracleKeys } from '../../node/oracle/keys.ts';
import {
  compressedTime,
  nodeNetworkArgs,
  oracleNetworkArgs,
} from '../../scripts/lib/network-flags.ts';
import { generatePassword } from '../../ui-server/auth.ts';
import {
  DeploymentMismatchError,
  REMOTE_DRAIN_SECS,
  REMOTE_READY_WAIT_SECS,
  UnsupportedFaultError,
  unsupportedFaults,
} from '../run/remote.ts';
import { parseScenario, takerNames } from '../scenario/parse.ts';
import { ciScenario } from '../scenario/shrink.ts';
import type { Scenario } from '../scenario/types.ts';
import { PORTS } from './hosts-network.ts';
import { selfSignedCert } from './tls.ts';

export interface K8sOptions {
  readonly makers: number;
  readonly takers: number;
  /** The image built from the Dockerfile, e.g. `dlcfd:0.1.0`. */
  readonly image: string;
  /** Production time divided by this (as `npm run testnet -- --time-scale`). */
  readonly timeScale: number;
  /** Size of each datadir's volume claim, e.g. `1Gi`. */
  readonly storage: string;
  /** The volume claims' storage class (default: the cluster's default). */
  readonly storageClass?: string;
  /**
   * A scenario for the Job `scenario` (scripts/scenario-job.ts): its YAML text and the file it
   * came from (named in errors). With one, the feed moves only by the scenario's prices.
   */
  readonly scenario?: { readonly yaml: string; readonly origin: string };
  /** The Job runs the scenario's CI size (its `ci:` block). */
  readonly scenarioCi?: boolean;
}

/** The secrets and identities made before deploying (see the module comment). */
export interface DeploySecrets {
  readonly chainRpcPassword: string;
  /** One UI password for every node (the collector logs in with it). */
  readonly uiPassword: string;
  /** `<datadir>/oracle.seed` as the oracle writes it. */
  readonly oracleSeedFile: string;
  readonly oraclePublicKey: string;
  readonly oracleAnnouncementKey: string;
  /** Per maker ordinal: its `p2p.key` (libp2p protobuf) and peer id. */
  readonly makerKeys: readonly { readonly p2pKey: Uint8Array; readonly peerId: string }[];
  /** PEM certificate and key of `oracle`. */
  readonly oracleTls: { readonly cert: string; readonly key: string };
  /** What the scenario Job shows the feed's control endpoint from another pod. */
  readonly feedControlToken: string;
  /** What turns the oracle's control endpoint on, and what the scenario Job shows it. */
  readonly oracleControlToken: string;
}

/** A Kubernetes object as JSON. */
export interface K8sObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly labels?: Record<string, string> };
  readonly [field: string]: unknown;
}

/** Makes the secrets and identities of a deployment with `makers` makers. */
export async function newSecrets(makers: number): Promise<DeploySecrets> {
  const seed = randomBytes(32);
  const createdAt = Math.floor(Date.now() / 1000);
  const keys = deriveOracleKeys({ seed, createdAt });
  const makerKeys = [];
  for (let i = 0; i < makers; i++) {
    const key = await generateKeyPair('Ed25519');
    makerKeys.push({
      p2pKey: privateKeyToProtobuf(key),
      peerId: peerIdFromPrivateKey(key).toString(),
    });
  }
  const dir = await mkdtemp(join(tmpdir(), 'dlcfd-k8s-tls-'));
  try {
    const tls = await selfSignedCert(dir, ['oracle'], 365);
    return {
      chainRpcPassword: generatePassword(),
      uiPassword: generatePassword(),
      oracleSeedFile: `${JSON.stringify({ version: SEED_FILE_VERSION, seed: bytesToHex(seed), createdAt })}\n`,
      oraclePublicKey: bytesToHex(keys.oliviaPublicKey),
      oracleAnnouncementKey: bytesToHex(keys.announcementPublicKey),
      makerKeys,
      oracleTls: { cert: tls.cert, key: tls.key },
      feedControlToken: generatePassword(),
      oracleControlToken: generatePassword(),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const SECRETS = 'dlcfd-secrets';
const ORACLE_TLS = 'dlcfd-oracle-tls';
const CONFIG = 'dlcfd-config';
const SCENARIO = 'dlcfd-scenario';
/** Where the scenario config map is mounted, and its one key. */
const SCENARIO_DIR = '/etc/dlcfd-scenario';
const SCENARIO_KEY = 'scenario.yaml';
/** Where the config map is mounted; NODE_EXTRA_CA_CERTS points into it. */
const CONFIG_DIR = '/etc/dlcfd';
const ORACLE_CA = 'oracle-ca.pem';
const RPC_USER = 'dlcfd';
/** The image's user (node:24-slim's `node`). */
const UID = 1000;

const labels = (component: string) => ({
  'app.kubernetes.io/name': 'dlcfd',
  'app.kubernetes.io/component': component,
});

const base64 = (data: string | Uint8Array) => Buffer.from(data).toString('base64');

const secretEnv = (name: string, key: string) => ({
  name,
  valueFrom: { secretKeyRef: { name: SECRETS, key } },
});
const POD_NAME_ENV = { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } };

/** Non-root, no privilege escalation, no capabilities; volumes group-owned by the image's user. */
const POD_SECURITY = {
  runAsNonRoot: true,
  runAsUser: UID,
  runAsGroup: UID,
  fsGroup: UID,
  // Only a fresh volume is chowned: a recursive pass would make 0600 key files group-readable,
  // which dlcfd refuses.
  fsGroupChangePolicy: 'OnRootMismatch',
  seccompProfile: { type: 'RuntimeDefault' },
};
const CONTAINER_SECURITY = { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } };

function claim(o: K8sOptions) {
  return {
    accessModes: ['ReadWriteOnce'],
    resources: { requests: { storage: o.storage } },
    ...(o.storageClass && { storageClassName: o.storageClass }),
  };
}

function pvc(name: string, o: K8sOptions): K8sObject {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name, labels: labels(name) },
    spec: claim(o),
  };
}

function service(
  name: string,
  ports: readonly { name: string; port: number }[],
  headless = false,
): K8sObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, labels: labels(name) },
    spec: {
      selector: labels(name),
      ports: ports.map((p) => ({ name: p.name, port: p.port, targetPort: p.name })),
      // A StatefulSet's pods get DNS names through a headless Service, before they are ready
      // too: peers retry until the node answers.
      ...(headless && { clusterIP: 'None', publishNotReadyAddresses: true }),
    },
  };
}

/** A single-replica Deployment of `containers` (restarted in place: its volume is one pod's). */
function deployment(name: string, pod: Record<string, unknown>): K8sObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, labels: labels(name) },
    spec: {
      replicas: 1,
      strategy: { type: 'Recreate' },
      selector: { matchLabels: labels(name) },
      template: {
        metadata: { labels: labels(name) },
        spec: { securityContext: POD_SECURITY, ...pod },
      },
    },
  };
}

/** An init container that makes `<dir>` 0700 (dlcfd refuses a datadir others may read). */
function datadirInit(dir: string, then = '', extra: Record<string, unknown> = {}) {
  return {
    name: 'datadir',
    ...extra,
    command: ['sh', '-c', `set -e; mkdir -p ${dir}; chmod 700 ${dir}${then}`],
    securityContext: CONTAINER_SECURITY,
    volumeMounts: [
      { name: 'data', mountPath: '/data' },
      ...((extra.volumeMounts as unknown[] | undefined) ?? []),
    ],
  };
}

/** The flags every maker and taker shares. */
function nodeArgs(o: K8sOptions, s: DeploySecrets): string[] {
  return [
    '--datadir',
    '/data/node',
    ...nodeNetworkArgs({
      chainRpc: `http://chain:${PORTS.chain}`,
      chainAuth: ['--chain-user', RPC_USER],
      oracle: `https://oracle:${PORTS.oracleTls}`,
      oraclePublicKey: s.oraclePublicKey,
      oracleAnnouncementKey: s.oracleAnnouncementKey,
      pricefeed: `ws://pricefeed:${PORTS.pricefeed}/realtime`,
      time: compressedTime(o.timeScale),
    }),
    '--ui-host',
    '0.0.0.0',
    '--ui-port',
    String(PORTS.ui),
    '--unsafe-listen',
  ];
}

/** A StatefulSet of dlcfd nodes of `role`, each with its own datadir claim. */
function nodeSet(
  role: 'maker' | 'taker',
  replicas: number,
  args: string[],
  o: K8sOptions,
  s: DeploySecrets,
): K8sObject {
  const init =
    role === 'maker'
      ? datadirInit(
          '/data/node',
          // The identity the takers were configured with, placed once: a restart keeps its own.
          '; [ -e /data/node/p2p.key ] || { cp "/keys/$POD_NAME.p2p.key" /data/node/p2p.key; chmod 600 /data/node/p2p.key; }',
          {
            image: o.image,
            env: [POD_NAME_ENV],
            volumeMounts: [{ name: 'keys', mountPath: '/keys', readOnly: true }],
          },
        )
      : datadirInit('/data/node', '', { image: o.image });
  const ports = [
    ...(role === 'maker' ? [{ name: 'p2p', containerPort: PORTS.p2p }] : []),
    { name: 'ui', containerPort: PORTS.ui },
  ];
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: role, labels: labels(role) },
    spec: {
      serviceName: role,
      replicas,
      podManagementPolicy: 'Parallel',
      selector: { matchLabels: labels(role) },
      template: {
        metadata: { labels: labels(role) },
        spec: {
          securityContext: POD_SECURITY,
          initContainers: [init],
          containers: [
            {
              name: role,
              image: o.image,
              args: [
                role,
                ...nodeArgs(o, s),
                // The name the collector reaches it by: http://maker-0.maker:8000.
                '--ui-allowed-host',
                `$(POD_NAME).${role}`,
                ...args,
              ],
              env: [
                POD_NAME_ENV,
                // Secrets through the environment (DLCFD_<FLAG>), not in the pod spec's args.
                secretEnv('DLCFD_CHAIN_PASSWORD', 'chain-rpc-password'),
                secretEnv('DLCFD_UI_PASSWORD', 'ui-password'),
                { name: 'NODE_EXTRA_CA_CERTS', value: `${CONFIG_DIR}/${ORACLE_CA}` },
              ],
              ports,
              readinessProbe: { tcpSocket: { port: 'ui' }, periodSeconds: 5 },
              securityContext: CONTAINER_SECURITY,
              volumeMounts: [
                { name: 'data', mountPath: '/data' },
                { name: 'config', mountPath: CONFIG_DIR, readOnly: true },
              ],
            },
          ],
          volumes: [
            { name: 'config', configMap: { name: CONFIG } },
            ...(role === 'maker'
              ? [
                  {
                    name: 'keys',
                    secret: {
                      secretName: SECRETS,
                      items: s.makerKeys.map((_, i) => ({
                        key: `maker-${i}.p2p.key`,
                        path: `maker-${i}.p2p.key`,
                      })),
                    },
                  },
                ]
              : []),
          ],
        },
      },
      volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: claim(o) }],
    },
  };
}

/** Every object of the deployment, in the order to apply them. */
export function k8sManifests(o: K8sOptions, s: DeploySecrets): K8sObject[] {
  if (!Number.isInteger(o.makers) || o.makers < 1 || o.makers > 20) {
    throw new Error('makers: 1 … 20');
  }
  if (!Number.isInteger(o.takers) || o.takers < 0 || o.takers > 1000) {
    throw new Error('takers: 0 … 1000');
  }
  if (s.makerKeys.length !== o.makers) throw new Error('one identity per maker');
  const scenario = o.scenario && deployableScenario(o);
  const time = compressedTime(o.timeScale);
  const feedUrl = `ws://pricefeed:${PORTS.pricefeed}/realtime`;
  const makerAddrs = s.makerKeys.map(
    (k, i) => `/dns4/maker-${i}.maker/tcp/${PORTS.p2p}/p2p/${k.peerId}`,
  );
  const nodes = [
    ...s.makerKeys.map((_, i) => `maker-${i}.maker`),
    ...Array.from({ length: o.takers }, (_, i) => `taker-${i}.taker`),
  ];
  return [
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: SECRETS, labels: labels('secrets') },
      type: 'Opaque',
      data: {
        'chain-rpc-password': base64(s.chainRpcPassword),
        'ui-password': base64(s.uiPassword),
        'pricefeed-control-token': base64(s.feedControlToken),
        'oracle-control-token': base64(s.oracleControlToken),
        [SEED_FILE]: base64(s.oracleSeedFile),
        ...Object.fromEntries(s.makerKeys.map((k, i) => [`maker-${i}.p2p.key`, base64(k.p2pKey)])),
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: ORACLE_TLS, labels: labels('oracle') },
      type: 'kubernetes.io/tls',
      data: { 'tls.crt': base64(s.oracleTls.cert), 'tls.key': base64(s.oracleTls.key) },
    },
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: CONFIG, labels: labels('config') },
      data: { [ORACLE_CA]: s.oracleTls.cert },
    },
    pvc('chain-data', o),
    pvc('oracle-data', o),
    pvc('results', o),
    service('chain', [{ name: 'rpc', port: PORTS.chain }]),
    deployment('chain', {
      containers: [
        {
          name: 'chain',
          image: o.image,
          args: [
            'chain',
            '--datadir',
            '/data/chain',
            '--rpc-host',
            '0.0.0.0',
            '--rpc-port',
            String(PORTS.chain),
            '--rpc-user',
            RPC_USER,
            // Expanded by the kubelet from the container's environment.
            '--rpc-password',
            '$(CHAIN_RPC_PASSWORD)',
            '--block-interval',
            String(time.block),
          ],
          env: [secretEnv('CHAIN_RPC_PASSWORD', 'chain-rpc-password')],
          ports: [{ name: 'rpc', containerPort: PORTS.chain }],
          readinessProbe: { tcpSocket: { port: 'rpc' }, periodSeconds: 5 },
          securityContext: CONTAINER_SECURITY,
          volumeMounts: [{ name: 'data', mountPath: '/data' }],
        },
      ],
      volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'chain-data' } }],
    }),
    service('pricefeed', [{ name: 'ws', port: PORTS.pricefeed }]),
    deployment('pricefeed', {
      containers: [
        {
          name: 'pricefeed',
          image: o.image,
          args: [
            'pricefeed',
            '--host',
            '0.0.0.0',
            '--port',
            String(PORTS.pricefeed),
            '--start-price',
            '50000',
            // Under a scenario its prices are the only ones.
            ...(scenario ? ['--tick-ms', '0'] : []),
          ],
          // Other pods (the scenario Job) use its control endpoint with this token.
          env: [secretEnv('DLCFD_PRICEFEED_CONTROL_TOKEN', 'pricefeed-control-token')],
          ports: [{ name: 'ws', containerPort: PORTS.pricefeed }],
          readinessProbe: { tcpSocket: { port: 'ws' }, periodSeconds: 5 },
          securityContext: CONTAINER_SECURITY,
        },
      ],
    }),
    service('oracle', [{ name: 'https', port: PORTS.oracleTls }]),
    deployment('oracle', {
      initContainers: [
        datadirInit(
          '/data/oracle',
          // The seed whose keys every node pins, placed once.
          `; [ -e /data/oracle/${SEED_FILE} ] || { cp /seed/${SEED_FILE} /data/oracle/${SEED_FILE}; chmod 600 /data/oracle/${SEED_FILE}; }`,
          { image: o.image, volumeMounts: [{ name: 'seed', mountPath: '/seed', readOnly: true }] },
        ),
      ],
      containers: [
        {
          name: 'oracle',
          image: o.image,
          args: [
            'oracle',
            ...oracleNetworkArgs('/data/oracle', feedUrl, time),
            // Served to the other pods by the TLS proxy beside it.
            '--listen',
            '127.0.0.1',
            '--port',
            String(PORTS.oracle),
          ],
          // Turns its control endpoint on for this token only (the scenario Job's oracle faults):
          // behind the TLS proxy every caller is loopback, so the token is all that guards it.
          env: [secretEnv('DLCFD_ORACLE_CONTROL_TOKEN', 'oracle-control-token')],
          securityContext: CONTAINER_SECURITY,
          volumeMounts: [{ name: 'data', mountPath: '/data' }],
        },
        {
          name: 'tls',
          image: o.image,
          command: [
            'node',
            'research/deploy/tls-proxy.ts',
            '--listen',
            `0.0.0.0:${PORTS.oracleTls}`,
            '--to',
            `127.0.0.1:${PORTS.oracle}`,
            '--cert',
            '/tls/tls.crt',
            '--key',
            '/tls/tls.key',
          ],
          ports: [{ name: 'https', containerPort: PORTS.oracleTls }],
          readinessProbe: { tcpSocket: { port: 'https' }, periodSeconds: 5 },
          securityContext: CONTAINER_SECURITY,
          volumeMounts: [{ name: 'tls', mountPath: '/tls', readOnly: true }],
        },
      ],
      volumes: [
        { name: 'data', persistentVolumeClaim: { claimName: 'oracle-data' } },
        {
          name: 'seed',
          secret: { secretName: SECRETS, items: [{ key: SEED_FILE, path: SEED_FILE }] },
        },
        { name: 'tls', secret: { secretName: ORACLE_TLS } },
      ],
    }),
    service(
      'maker',
      [
        { name: 'p2p', port: PORTS.p2p },
        { name: 'ui', port: PORTS.ui },
      ],
      true,
    ),
    nodeSet(
      'maker',
      o.makers,
      ['--listen', `/ip4/0.0.0.0/tcp/${PORTS.p2p}`, '--auto-accept'],
      o,
      s,
    ),
    service('taker', [{ name: 'ui', port: PORTS.ui }], true),
    nodeSet(
      'taker',
      o.takers,
      makerAddrs.flatMap((a) => ['--maker', a]),
      o,
      s,
    ),
    {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'collect', labels: labels('collect') },
      spec: {
        backoffLimit: 3,
        template: {
          metadata: { labels: labels('collect') },
          spec: {
            restartPolicy: 'OnFailure',
            securityContext: POD_SECURITY,
            containers: [
              {
                name: 'collect',
                image: o.image,
                command: [
                  'node',
                  'research/deploy/collect.ts',
                  '--out',
                  '/results',
                  '--wait',
                  '600',
                  ...nodes.flatMap((n) => ['--node', `${n.split('.')[0]}=http://${n}:${PORTS.ui}`]),
                ],
                env: [secretEnv('DLCFD_UI_PASSWORD', 'ui-password')],
                securityContext: CONTAINER_SECURITY,
                volumeMounts: [{ name: 'results', mountPath: '/results' }],
              },
            ],
            volumes: [{ name: 'results', persistentVolumeClaim: { claimName: 'results' } }],
          },
        },
      },
    },
    ...(scenario ? scenarioJob(o, scenario, nodes) : []),
  ];
}

/**
 * The scenario of `o`, checked as the Job will check it, and against the deployment: it fits
 * (enough makers and takers) and asks only for faults the remote runner causes.
 * @throws ScenarioError, UnsupportedFaultError, DeploymentMismatchError
 */
function deployableScenario(o: K8sOptions): Scenario {
  const { yaml, origin } = o.scenario!;
  const parsed = parseScenario(parseYaml(yaml), origin);
  const scenario = o.scenarioCi ? ciScenario(parsed) : parsed;
  const unsupported = unsupportedFaults(scenario);
  if (unsupported.length) throw new UnsupportedFaultError(unsupported);
  const takers = takerNames(scenario).length;
  if (scenario.makers.length > o.makers || takers > o.takers) {
    throw new DeploymentMismatchError(
      `${origin}: the scenario needs ${scenario.makers.length} makers and ${takers} takers; ` +
        `the deployment has ${o.makers} and ${o.takers}`,
    );
  }
  return scenario;
}

/** The scenario's config map and the Job that runs it against every node by name. */
function scenarioJob(o: K8sOptions, scenario: Scenario, nodes: readonly string[]): K8sObject[] {
  const url = (n: string) => `http://${n}:${PORTS.ui}`;
  return [
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: SCENARIO, labels: labels('scenario') },
      data: { [SCENARIO_KEY]: o.scenario!.yaml },
    },
    {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'scenario', labels: labels('scenario') },
      spec: {
        // A second try would trade again on top of the first: a failed run is looked at, not
        // repeated (`kubectl delete job scenario` and apply again to rerun).
        backoffLimit: 0,
        activeDeadlineSeconds:
          REMOTE_READY_WAIT_SECS + scenario.durationSecs + REMOTE_DRAIN_SECS + 300,
        template: {
          metadata: { labels: labels('scenario') },
          spec: {
            restartPolicy: 'Never',
            securityContext: POD_SECURITY,
            containers: [
              {
                name: 'scenario',
                image: o.image,
                command: ['node', 'scripts/scenario-job.ts'],
                args: [
                  `${SCENARIO_DIR}/${SCENARIO_KEY}`,
                  '--runs',
                  '/results/runs',
                  '--feed-control',
                  `http://pricefeed:${PORTS.pricefeed}/control`,
                  // The faults' services: the chain's RPC (feeSpike), the oracle's control
                  // (oracleSilent, oracleLate), through its TLS proxy.
                  '--chain-rpc',
                  `http://chain:${PORTS.chain}`,
                  '--chain-user',
                  RPC_USER,
                  '--oracle-control',
                  `https://oracle:${PORTS.oracleTls}/control`,
                  ...(o.scenarioCi ? ['--ci'] : []),
                  ...nodes.flatMap((n) => [n.startsWith('maker') ? '--maker' : '--taker', url(n)]),
                ],
                env: [
                  secretEnv('DLCFD_UI_PASSWORD', 'ui-password'),
                  secretEnv('DLCFD_PRICEFEED_CONTROL_TOKEN', 'pricefeed-control-token'),
                  secretEnv('DLCFD_CHAIN_PASSWORD', 'chain-rpc-password'),
                  secretEnv('DLCFD_ORACLE_CONTROL_TOKEN', 'oracle-control-token'),
                  // The oracle's certificate, as the nodes trust it.
                  { name: 'NODE_EXTRA_CA_CERTS', value: `${CONFIG_DIR}/${ORACLE_CA}` },
                ],
                securityContext: CONTAINER_SECURITY,
                volumeMounts: [
                  { name: 'results', mountPath: '/results' },
                  { name: 'scenario', mountPath: SCENARIO_DIR, readOnly: true },
                  { name: 'config', mountPath: CONFIG_DIR, readOnly: true },
                ],
              },
            ],
            volumes: [
              { name: 'results', persistentVolumeClaim: { claimName: 'results' } },
              { name: 'scenario', configMap: { name: SCENARIO } },
              { name: 'config', configMap: { name: CONFIG } },
            ],
          },
        },
      },
    },
  ];
}
