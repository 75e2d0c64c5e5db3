// The remote scenario runner's faults (research/run/remote-faults.ts) against real services in
// this process, each through the interface the runner uses on a deployment: the embedded chain's
// RPC (a fee-spiked block, then a quiet one), the oracle's control endpoint (an event held through
// the silence, attestations late by the delay, a wrong token refused), a taker's HTTP API (it
// hangs up on the maker and refuses it, then dials it again), the feed's control (overlapping
// faults restore it once the last ends). The runner on namespace hosts: test/research/deploy/.
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { nextEventTime, oracleEventId } from '../../../model/oracle-event.ts';
import { EmbeddedChain } from '../../../node/chain/embedded.ts';
import { BitcoinRpc } from '../../../node/chain/rpc.ts';
import { OracleServer } from '../../../node/oracle/server.ts';
import type { CsvField } from '../../../research/report/csv.ts';
import { RemoteApiError, RemoteNode } from '../../../research/run/remote-api.ts';
import {
  type FaultTargets,
  RemoteFaults,
  UnsupportedFaultError,
} from '../../../research/run/remote-faults.ts';
import { parseScenario } from '../../../research/scenario/parse.ts';
import type { FaultSpec, Scenario } from '../../../research/scenario/types.ts';
import { tempDir } from '../../helpers/cfd-fixtures.ts';
import { quietFeed } from '../../helpers/live-nodes.ts';
import { untilWithin } from '../../helpers/wait.ts';
import { Cleanups, startNode } from '../../ui-server/helpers.ts';

const until = untilWithin(20_000, 25);
const log = pino({ level: 'silent' });
const TOKEN = 'remote-faults-oracle-token-0123';
const PASSWORD = 'remote-faults-ui-password';

/** A scenario of one maker `m`, takers `t-1`, `t-2` and `faults`. */
const scenarioWith = (faults: unknown[]): Scenario =>
  parseScenario(
    {
      name: 'remote-faults',
      durationSecs: 60,
      makers: [{ name: 'm' }],
      takers: [{ prefix: 't-', count: 2, actor: { strategy: 'random', everySecs: 5 } }],
      faults,
    },
    'x.yaml',
  );

/** faults.csv rows as `kind target phase detail`. */
const said = (rows: (readonly CsvField[])[]) => rows.map((r) => r.slice(1).join(' '));

describe('research: the remote runner causes its faults through the services’ interfaces', function () {
  this.timeout(120_000);
  const cleanups = new Cleanups();
  afterEach(() => cleanups.run());

  it('feeSpike: the chain’s RPC fills the next block with fillers at the rate; the end empties it', async () => {
    const chain = await EmbeddedChain.start({ logger: log, blockMaxWeight: 40_000 });
    cleanups.add(() => chain.stop());
    const rpc = new BitcoinRpc({ url: chain.rpcUrl, ...chain.rpcAuth });
    const rows: (readonly CsvField[])[] = [];
    const targets: FaultTargets = {
      feedControl: 'http://127.0.0.1:9',
      chainRpc: { url: chain.rpcUrl, ...chain.rpcAuth },
    };
    const spike: FaultSpec = { kind: 'feeSpike', atSecs: 1, forSecs: 5, satPerVb: 40 };
    const faults = new RemoteFaults(targets, { makers: [], takers: [] }, rows, log);
    await faults.check(scenarioWith([spike]));

    await faults.start(spike);
    assert.deepEqual(chain.feeSpike, { rate: 40, vbytesPerBlock: undefined });
    const [spiked] = await chain.mine(1);
    const block = await rpc.getBlock(spiked!);
    assert.ok(block.tx.length > 5, `fillers in the block (${block.tx.length} txs)`);

    await faults.end(spike);
    assert.equal(chain.feeSpike, undefined);
    const [quiet] = await chain.mine(1);
    assert.equal((await rpc.getBlock(quiet!)).tx.length, 1, 'the coinbase alone');
    assert.deepEqual(said(rows), [
      'feeSpike chain start 40 sat/vB',
      'feeSpike chain end 40 sat/vB',
    ]);

    // A wrong password is found before the run, not at the fault.
    const wrong = new RemoteFaults(
      { ...targets, chainRpc: { ...targets.chainRpc!, password: 'nope' } },
      { makers: [], takers: [] },
      [],
      log,
    );
    await assert.rejects(wrong.check(scenarioWith([spike])), { name: 'RpcAuthError' });
  });

  it('oracleSilent and oracleLate: the oracle’s control endpoint holds and delays attestations', async () => {
    const feed = await quietFeed({ republishMs: 200 });
    cleanups.add(() => feed.stop());
    const dir = await tempDir('dlcfd-remote-faults-');
    cleanups.add(dir.cleanup);
    const oracle = await OracleServer.start({
      datadir: dir.path,
      pricefeedUrl: feed.url,
      eventIntervalS: 1,
      lookaheadS: 60,
      attestRetryMs: 50,
      controlToken: TOKEN,
    });
    cleanups.add(() => oracle.stop());
    const attestedAt = (id: string) => {
      const r = oracle.outcome(id);
      return r && Date.parse(`${r.time}Z`) / 1000;
    };
    const nextEvent = () => nextEventTime(Math.floor(Date.now() / 1000) + 1, 1);
    const rows: (readonly CsvField[])[] = [];
    const targets: FaultTargets = {
      feedControl: feed.controlUrl,
      oracleControl: `${oracle.url}/control`,
      oracleToken: TOKEN,
    };
    const silent: FaultSpec = { kind: 'oracleSilent', atSecs: 1, forSecs: 3 };
    const late: FaultSpec = { kind: 'oracleLate', atSecs: 1, forSecs: 5, delaySecs: 2 };
    const faults = new RemoteFaults(targets, { makers: [], takers: [] }, rows, log);
    await faults.check(scenarioWith([silent, late]));

    await faults.start(silent);
    assert.deepEqual(oracle.control, { silent: true, attestDelaySecs: 0 });
    const due = nextEvent();
    await until('two seconds past the event', () => Date.now() / 1000 >= due + 2);
    const endedAt = Math.floor(Date.now() / 1000);
    await faults.end(silent);
    const at = await until('the event attested', () => attestedAt(oracleEventId(due)));
    assert.ok(at >= endedAt, `due ${due}, attested ${at}, the silence ended ${endedAt}`);

    await faults.start(late);
    assert.deepEqual(oracle.control, { silent: false, attestDelaySecs: 2 });
    const t = nextEvent();
    const lateAt = await until('the event attested', () => attestedAt(oracleEventId(t)));
    assert.ok(lateAt >= t + 2, `due ${t}, attested ${lateAt}: 2 s late at least`);
    await faults.end(late);
    assert.deepEqual(oracle.control, { silent: false, attestDelaySecs: 0 });
    assert.deepEqual(said(rows), [
      'oracleSilent oracle start ',
      'oracleSilent oracle end ',
      'oracleLate oracle start delay 2 s',
      'oracleLate oracle end delay 2 s',
    ]);

    // A wrong token is found before the run: the oracle answers 403.
    const wrong = new RemoteFaults(
      { ...targets, oracleToken: `${TOKEN}x` },
      { makers: [], takers: [] },
      [],
      log,
    );
    await assert.rejects(
      wrong.check(scenarioWith([silent])),
      (e: Error) => e instanceof RemoteApiError && e.status === 403,
    );
  });

  it('partition: the taker’s API hangs up on the maker and refuses it; the end lets it dial again', async () => {
    const feed = await quietFeed();
    cleanups.add(() => feed.stop());
    const makerNode = await startNode(cleanups, {
      role: 'maker',
      flags: { listen: ['/ip4/127.0.0.1/tcp/0'], pricefeed: feed.url },
    });
    const address = makerNode.daemon.p2p.getMultiaddrs()[0]!.toString();
    const takerNode = await startNode(cleanups, {
      flags: { maker: [address], pricefeed: feed.url },
      ui: { password: PASSWORD },
    });
    const makerId = makerNode.daemon.p2p.peerId;
    const takerId = takerNode.daemon.p2p.peerId;
    const linked = () =>
      takerNode.daemon.p2p.getConnections(makerId).length > 0 &&
      makerNode.daemon.p2p.getConnections(takerId).length > 0;
    await until('the taker connected to the maker', linked);

    const maker = new RemoteNode('m', 'http://127.0.0.1:9', PASSWORD); // only its peer id is used
    maker.peerId = makerId.toString();
    const taker = new RemoteNode('t-1', takerNode.ui.url, PASSWORD);
    const rows: (readonly CsvField[])[] = [];
    const faults = new RemoteFaults(
      { feedControl: feed.controlUrl },
      { makers: [maker], takers: [taker] },
      rows,
      log,
    );
    const cut: FaultSpec = { kind: 'partition', atSecs: 1, forSecs: 5, between: ['m', 't-1'] };
    await faults.start(cut);
    await until('no connection either side', () => !linked());
    assert.deepEqual(takerNode.daemon.blockedPeers, [makerId.toString()]);
    const book = await taker.get('/api/book');
    assert.equal(
      book.makers.find((m: { peerId: string }) => m.peerId === maker.peerId)?.blocked,
      true,
      'the maker is blocked in the taker’s book',
    );

    await faults.end(cut);
    assert.deepEqual(takerNode.daemon.blockedPeers, []);
    await until('the taker dialled the maker again', linked, 60_000);
    assert.deepEqual(said(rows), [
      'partition m|t-1 start t-1 refuses m',
      'partition m|t-1 end t-1 refuses m',
    ]);

    // Two makers or two takers: refused.
    const same: FaultSpec = { kind: 'partition', atSecs: 1, forSecs: 5, between: ['t-1', 't-2'] };
    await assert.rejects(faults.start(same), UnsupportedFaultError);
  });

  it('overlapping faults on one thing: the feed is paused until the last of them ends', async () => {
    const feed = await quietFeed();
    cleanups.add(() => feed.stop());
    const rows: (readonly CsvField[])[] = [];
    const faults = new RemoteFaults(
      { feedControl: feed.controlUrl },
      { makers: [], takers: [] },
      rows,
      log,
    );
    const a: FaultSpec = { kind: 'feedStale', atSecs: 1, forSecs: 5 };
    const b: FaultSpec = { kind: 'feedStale', atSecs: 2, forSecs: 5 };
    await faults.start(a);
    await faults.start(b);
    assert.equal(feed.paused, true);
    await faults.end(a);
    assert.equal(feed.paused, true, 'b still runs');
    assert.equal(faults.feedPaused, true);
    await faults.end(b);
    assert.equal(feed.paused, false);
    assert.equal(faults.feedPaused, false);
    await faults.end(b); // ended already: nothing
    assert.equal(rows.length, 4);
  });
});
