// The remote scenario runner's refusals, which need no network: a fault it cannot cause, a fault
// whose service it was not given and a deployment too small are refused before anything is done
// (no node is called, no results folder made), by the library and by its command line (exit 2,
// saying why). The faults it causes, against real services: test/research/run/remote-faults.spec.ts;
// the runner driving a real network on namespace hosts: netns.spec.ts.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  DeploymentMismatchError,
  FaultTargetMissingError,
  runRemoteScenario,
  UnsupportedFaultError,
} from '../../../research/run/remote.ts';
import { parseScenario } from '../../../research/scenario/parse.ts';
import { plan } from '../../../research/scenario/plan.ts';
import { STRATEGIES } from '../../../research/scenario/strategies.ts';
import { runUnder } from '../../../scripts/lib/dlcfd-process.ts';
import { tempDir } from '../../helpers/cfd-fixtures.ts';

const SCENARIO_JOB = fileURLToPath(new URL('../../../scripts/scenario-job.ts', import.meta.url));

const RAW = {
  name: 'remote-refusals',
  durationSecs: 30,
  makers: [{ name: 'm' }],
  takers: [{ prefix: 't-', count: 2, actor: { strategy: 'random', everySecs: 5 } }],
};

/** Nothing listens here: a call would fail with a connection error, not the refusal. */
const NOWHERE = 'http://127.0.0.1:9';

describe('research: the remote scenario runner refuses what it cannot run', function () {
  this.timeout(30_000);

  it('a fault it cannot cause, before calling any node', async () => {
    const dir = await tempDir('dlcfd-remote-');
    try {
      const scenario = parseScenario(
        {
          ...RAW,
          faults: [
            { kind: 'feedStale', atSecs: 5, forSecs: 2 },
            { kind: 'partition', atSecs: 5, forSecs: 2, between: ['m', 't-1'] },
            { kind: 'takerOffline', atSecs: 5, taker: 't-2', rollovers: 1 },
            { kind: 'partition', atSecs: 5, forSecs: 2, between: ['t-2', 't-1'] },
            { kind: 'feeSpike', atSecs: 5, forSecs: 2, satPerVb: 50 },
          ],
        },
        'x.yaml',
      );
      const out = join(dir.path, 'out');
      await assert.rejects(
        runRemoteScenario(
          scenario,
          plan(scenario, new Map([['random', STRATEGIES.random]])),
          { makers: [NOWHERE], takers: [NOWHERE, NOWHERE], password: 'p', feedControl: NOWHERE },
          { dir: out },
        ),
        (e: Error) =>
          e instanceof UnsupportedFaultError &&
          e.message.startsWith(
            "the remote runner cannot cause takerOffline (stops a node's process: that takes " +
              'deleting its pod (and scaling its StatefulSet to keep it down), which no API of ' +
              'the deployment offers), partition (t-2|t-1 are both takers: it partitions a taker ' +
              "from a maker only, through the taker's API); it causes feedStale, oracleSilent, " +
              'oracleLate, feeSpike, partition',
          ) &&
          e.kinds.join() === 'takerOffline,partition',
      );
      assert.equal(existsSync(out), false, 'no results folder');
    } finally {
      await dir.cleanup();
    }
  });

  it("a fault whose service it was not given (the chain's RPC, the oracle's control)", async () => {
    const scenario = parseScenario(
      {
        ...RAW,
        faults: [
          { kind: 'feeSpike', atSecs: 5, forSecs: 2, satPerVb: 50 },
          { kind: 'oracleLate', atSecs: 5, forSecs: 2, delaySecs: 3 },
        ],
      },
      'x.yaml',
    );
    const targets = {
      makers: [NOWHERE],
      takers: [NOWHERE, NOWHERE],
      password: 'p',
      feedControl: NOWHERE,
    };
    const run = (more: object) =>
      runRemoteScenario(
        scenario,
        plan(scenario, new Map([['random', STRATEGIES.random]])),
        { ...targets, ...more },
        { dir: '/nonexistent/out' },
      );
    await assert.rejects(
      run({}),
      (e: Error) =>
        e instanceof FaultTargetMissingError &&
        /feeSpike needs the chain's RPC \(--chain-rpc, DLCFD_CHAIN_PASSWORD\); oracleLate needs the oracle's control endpoint and token/.test(
          e.message,
        ),
    );
    await assert.rejects(
      run({ chainRpc: { url: NOWHERE, user: 'u', password: 'p' }, oracleControl: NOWHERE }),
      (e: Error) =>
        e instanceof FaultTargetMissingError &&
        /^the scenario's faults: oracleLate needs/.test(e.message),
    );
  });

  it('a deployment with fewer takers than the scenario', async () => {
    const scenario = parseScenario(RAW, 'x.yaml');
    await assert.rejects(
      runRemoteScenario(
        scenario,
        plan(scenario, new Map([['random', STRATEGIES.random]])),
        { makers: [NOWHERE], takers: [NOWHERE], password: 'p', feedControl: NOWHERE },
        { dir: '/nonexistent/out' },
      ),
      (e: Error) =>
        e instanceof DeploymentMismatchError &&
        /1 makers and 2 takers; the deployment 1 and 1/.test(e.message),
    );
  });

  it('its command line: exit 2 saying why, for a fault and for a missing password', async () => {
    const dir = await tempDir('dlcfd-remote-');
    try {
      const file = join(dir.path, 'chaos.yaml');
      await writeFile(
        file,
        `${JSON.stringify({ ...RAW, faults: [{ kind: 'makerRestart', atSecs: 5, maker: 'm', downSecs: 2 }] })}\n`,
      );
      const args = [
        file,
        '--runs',
        join(dir.path, 'runs'),
        '--feed-control',
        `${NOWHERE}/control`,
        '--maker',
        NOWHERE,
        '--taker',
        NOWHERE,
        '--taker',
        NOWHERE,
      ];
      const fault = await runUnder([], SCENARIO_JOB, args, { DLCFD_UI_PASSWORD: 'p' });
      assert.equal(fault.code, 2, fault.stderr);
      assert.match(
        fault.stderr,
        /^scenario-job: the remote runner cannot cause makerRestart \(stops a node's process/,
      );
      assert.equal(existsSync(join(dir.path, 'runs')), false);

      // The oracle's control is off without its token: refused as a usage problem.
      const noToken = await runUnder(
        [],
        SCENARIO_JOB,
        [...args, '--oracle-control', `${NOWHERE}/control`],
        { DLCFD_UI_PASSWORD: 'p' },
      );
      assert.equal(noToken.code, 2);
      assert.match(
        noToken.stderr,
        /--oracle-control needs DLCFD_ORACLE_CONTROL_TOKEN[\s\S]*usage:/,
      );

      const noPassword = await runUnder([], SCENARIO_JOB, args, { DLCFD_UI_PASSWORD: '' });
      assert.equal(noPassword.code, 2);
      assert.match(noPassword.stderr, /DLCFD_UI_PASSWORD .* is not set[\s\S]*usage:/);
    } finally {
      await dir.cleanup();
    }
  });
});
