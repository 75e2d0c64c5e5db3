// End to end, crash safety: the maker and the taker run as real `dlcfd` processes; a fail point
// (node/runtime/failpoints.ts) armed on one of them SIGKILLs it at a named step of contract setup
// or rollover; it restarts without the fail point; blocks are mined as needed. Then both sides
// must agree — both Open on the same lock, or both failed with every coin spendable — and the two
// wallets (+ the lock output of an open CFD) hold what they held before minus the fees of the
// transactions mined meanwhile. Chain, feed and oracle run in this process; the nodes are reused
// across cases (the fail point file is re-read at every check, so arming needs no restart).
//
// The default suite runs one contract-setup step of the taker per way a restart ends an
// unfinished setup (node/daemon/process-manager.ts: before the setup, before our lock signature
// could leave, after it may have left, after the signed lock was stored, after completion), the
// maker's adoption cases (it dies after its lock signature may have left; the taker completes and
// broadcasts, the restarted maker adopts the lock it sees) and two rollover cases;
// DLCFD_CRASH_ALL=1 (`npm run test:crash`) runs every step of both sides for setup and rollover.
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Block, type Transaction } from 'bitcoinjs-lib';
import { parsePrice } from '../../model/units.ts';
import { EmbeddedChain } from '../../node/chain/embedded.ts';
import { BitcoinRpc } from '../../node/chain/rpc.ts';
import { OracleServer } from '../../node/oracle/server.ts';
import { PriceFeedServer } from '../../node/pricefeed/server.ts';
import { FAILPOINTS_FILE_ENV } from '../../node/runtime/failpoints.ts';
import { type RunningDlcfd, startDlcfd } from '../../scripts/lib/dlcfd-process.ts';
import { tempDir } from '../helpers/cfd-fixtures.ts';
import { silent } from '../node/chain/helpers.ts';
import { EVENT_SECS, until, useCleanups } from './network.ts';

const ALL = process.env.DLCFD_CRASH_ALL === '1';
/** Seconds an unfinished setup waits for its lock before double-spending its own inputs. */
const ADOPT_TIMEOUT_SECS = 6;
/** Setup cases: contracts that neither settle nor roll over while the suite runs. */
const SETUP_SETTLEMENT_SECS = 1800;
/** Rollover cases: a 40-second settlement interval, rolled over every 6 seconds. */
const ROLLOVER_SETTLEMENT_SECS = 40;

const SETUP_STEPS = {
  taker: [
    'after-record-placeOrder',
    'after-send-order',
    'after-receive-decision',
    'after-record-startContractSetup',
    'after-send-params',
    'after-receive-params',
    'after-send-signatures',
    'after-receive-signatures',
    'after-persist-pending',
    'before-send-lockSignature',
    'after-send-lockSignature',
    'after-receive-lockSignature',
    'after-persist-final',
    'after-record-completeContractSetup',
    'after-send-ack',
    'after-receive-ack',
  ],
  maker: [
    'after-receive-order',
    'after-record-placeOrder',
    'after-record-startContractSetup',
    'after-send-decision',
    'after-send-params',
    'after-receive-params',
    'after-send-signatures',
    'after-receive-signatures',
    'after-persist-pending',
    'before-send-lockSignature',
    'after-send-lockSignature',
    'after-receive-lockSignature',
    'after-persist-final',
    'after-record-completeContractSetup',
    'after-send-ack',
    'after-receive-ack',
  ],
} as const;
/**
 * In the default suite: the taker at the last step of each way a restart ends its setup (the
 * steps in between end the same way; `npm run test:crash` runs them all).
 */
const DEFAULT_TAKER_SETUP = new Set([
  'after-send-order',
  'after-record-startContractSetup',
  'before-send-lockSignature',
  'after-send-lockSignature',
  'after-persist-final',
  'after-receive-ack',
]);
/** In the default suite: the maker dies once its lock signature may be out (adoption). */
const DEFAULT_MAKER_SETUP = new Set(['after-send-lockSignature', 'after-persist-final']);

const ROLLOVER_STEPS = {
  taker: [
    'after-record-startRollover',
    'after-send-propose',
    'after-receive-decision',
    'after-record-acceptRollover',
    'after-send-keys',
    'after-receive-keys',
    'after-persist-unfinished',
    'after-send-signatures',
    'after-receive-signatures',
    'after-persist-pending',
    'after-send-commitSignature',
    'before-send-revocation',
    'after-send-revocation',
    'after-receive-revocation',
    'after-persist-final',
    'after-record-completeRollover',
  ],
  maker: [
    'after-receive-propose',
    'after-record-startRollover',
    'after-record-acceptRollover',
    'after-send-decision',
    'after-send-keys',
    'after-receive-keys',
    'after-receive-signatures',
    'after-persist-counterpartyOnly',
    'after-send-signatures',
    'after-receive-commitSignature',
    'after-persist-pending',
    'after-receive-revocation',
    'after-persist-final',
    'after-record-completeRollover',
    'before-send-revocation',
    'after-send-revocation',
  ],
} as const;
const DEFAULT_ROLLOVER = new Set(['taker:before-send-revocation', 'maker:after-persist-final']);

type Role = 'maker' | 'taker';

interface CfdView {
  id: string;
  state: string;
  margin: string;
  marginCounterparty: string;
  settlementEvent: { id: string };
  transactions: { kind: string; txid: string }[];
  failureReason: string | null;
}

/** Chain, feed and oracle in this process; what every node is started with. */
interface Services {
  chain: EmbeddedChain;
  rpc: BitcoinRpc;
  feed: PriceFeedServer;
  oracle: OracleServer;
  failpoints: string;
}

/** One `dlcfd` node process that can be killed and restarted on the same data dir. */
class Node {
  proc: RunningDlcfd | undefined;
  url = '';
  token = '';
  readonly role: Role;
  readonly datadir: string;
  readonly args: () => string[];
  constructor(role: Role, datadir: string, args: () => string[]) {
    this.role = role;
    this.datadir = datadir;
    this.args = args;
  }

  async start(): Promise<void> {
    // The fail point file is named in the environment of the child only.
    process.env[FAILPOINTS_FILE_ENV] = this.failpoints;
    try {
      this.proc = await startDlcfd(
        this.role,
        ['--datadir', this.datadir, ...this.args()],
        'datadir',
        60_000,
      );
    } finally {
      delete process.env[FAILPOINTS_FILE_ENV];
    }
    this.url = this.proc.ready.get('ui-url')!;
    this.token = (await readFile(join(this.datadir, 'api.cookie'), 'utf8')).trim();
  }

  failpoints = '';

  /** Calls the API; a 503 (a restarted node whose wallet is still starting) is retried a while. */
  async api<T>(path: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const res = await fetch(`${this.url}${path}`, {
        method: init.method ?? 'GET',
        headers: {
          authorization: `Bearer ${this.token}`,
          ...(init.body ? { 'content-type': 'application/json' } : {}),
        },
        ...(init.body ? { body: JSON.stringify(init.body) } : {}),
      });
      const text = await res.text();
      if (res.status === 503 && Date.now() < deadline) {
        await sleep(200);
        continue;
      }
      if (!res.ok) throw new Error(`${path}: ${res.status} ${text}`);
      return JSON.parse(text) as T;
    }
  }

  async cfd(id: string): Promise<CfdView | undefined> {
    const { cfds } = await this.api<{ cfds: CfdView[] }>('/api/cfds');
    return cfds.find((c) => c.id === id);
  }

  async wallet() {
    return this.api<{
      balance: { confirmed: string; unconfirmed: string; reserved: string; spendable: string };
      height: number | null;
    }>('/api/wallet');
  }
}

async function startServices(cleanups: (() => Promise<unknown>)[]): Promise<Services> {
  const chain = await EmbeddedChain.start({ logger: silent });
  cleanups.push(() => chain.stop());
  const feed = await PriceFeedServer.start({ port: 0, startPrice: parsePrice('50000'), tickMs: 0 });
  cleanups.push(() => feed.stop());
  const oracleDir = await tempDir();
  cleanups.push(oracleDir.cleanup);
  const oracle = await OracleServer.start({
    datadir: oracleDir.path,
    pricefeedUrl: feed.url,
    eventIntervalS: EVENT_SECS,
    // The setup nodes settle half an hour out (no attestation, so no CET, during the suite).
    lookaheadS: SETUP_SETTLEMENT_SECS + 120,
    logger: silent,
  });
  cleanups.push(() => oracle.stop());
  const fp = await tempDir();
  cleanups.push(fp.cleanup);
  const failpoints = join(fp.path, 'failpoints');
  await writeFile(failpoints, '');
  return {
    chain,
    rpc: new BitcoinRpc({ url: chain.rpcUrl, ...chain.rpcAuth }),
    feed,
    oracle,
    failpoints,
  };
}

/** A funded maker (auto-accept) and taker as processes; the maker keeps its port across restarts. */
async function startPair(
  s: Services,
  cleanups: (() => Promise<unknown>)[],
  extra: string[] = [],
): Promise<{ maker: Node; taker: Node }> {
  const common = [
    '--network',
    'regtest',
    '--chain-rpc',
    s.chain.rpcUrl,
    '--chain-user',
    s.chain.rpcAuth.user,
    '--chain-password',
    s.chain.rpcAuth.password,
    '--oracle',
    s.oracle.url,
    '--oracle-public-key',
    s.oracle.publicKey,
    '--oracle-announcement-key',
    s.oracle.announcementPublicKey,
    '--pricefeed',
    s.feed.url,
    '--chain-poll-ms',
    '100',
    '--setup-adopt-timeout',
    String(ADOPT_TIMEOUT_SECS),
    '--ui-port',
    '0',
    ...extra,
  ];
  const makerDir = await tempDir();
  const takerDir = await tempDir();
  cleanups.push(makerDir.cleanup, takerDir.cleanup);
  let listen = '/ip4/127.0.0.1/tcp/0';
  const maker = new Node('maker', makerDir.path, () => [
    ...common,
    '--auto-accept',
    '--listen',
    listen,
  ]);
  maker.failpoints = s.failpoints;
  await maker.start();
  cleanups.push(() => maker.proc!.stop());
  const addr = maker.proc!.ready.get('multiaddr')!;
  listen = addr.slice(0, addr.indexOf('/p2p/') > 0 ? addr.indexOf('/p2p/') : undefined);
  const peer = maker.proc!.ready.get('peer-id')!;
  const taker = new Node('taker', takerDir.path, () => [
    ...common,
    '--maker',
    `${listen}/p2p/${peer}`,
  ]);
  taker.failpoints = s.failpoints;
  await taker.start();
  cleanups.push(() => taker.proc!.stop());
  for (const n of [maker, taker]) {
    const { address } = await n.api<{ address: string }>('/api/wallet/address', {
      method: 'POST',
    });
    for (let i = 0; i < 4; i++) await s.chain.fund(address, 5_000_000n);
  }
  await s.chain.mine(1);
  for (const n of [maker, taker]) {
    await until('funds', async () => (await n.wallet()).balance.spendable === '20000000', 60_000);
  }
  return { maker, taker };
}

/** Values of every output created since the suite started, for fees (bcoin has no txindex). */
class FeeBook {
  readonly #outputs = new Map<string, bigint>();
  #scanned: number;
  readonly rpc: BitcoinRpc;
  constructor(rpc: BitcoinRpc, from: number) {
    this.rpc = rpc;
    this.#scanned = from;
  }
  /** Sum of the fees of the non-coinbase transactions in blocks above `after` (scanning all new). */
  async feesAbove(after: number): Promise<bigint> {
    const tip = await this.rpc.getBlockCount();
    let fees = 0n;
    const blocks: Block[] = [];
    for (let h = this.#scanned + 1; h <= tip; h++) {
      blocks.push(Block.fromHex(await this.rpc.getBlockHex(await this.rpc.getBlockHash(h))));
    }
    let h = this.#scanned + 1;
    for (const b of blocks) {
      for (const tx of b.transactions ?? []) {
        const txid = tx.getId();
        for (const [i, o] of tx.outs.entries()) this.#outputs.set(`${txid}:${i}`, o.value);
        if (h > after && !tx.isCoinbase()) fees += this.#fee(tx);
      }
      h++;
    }
    this.#scanned = tip;
    return fees;
  }
  #fee(tx: Transaction): bigint {
    let inputs = 0n;
    for (const i of tx.ins) {
      const key = `${Buffer.from(i.hash).reverse().toString('hex')}:${i.index}`;
      const v = this.#outputs.get(key);
      if (v === undefined) throw new Error(`unknown input ${key} (funded before the suite?)`);
      inputs += v;
    }
    return inputs - tx.outs.reduce((s, o) => s + o.value, 0n);
  }
}

const FAILED = new Set(['setupFailed', 'rejected']);

/** Confirmed funds of both wallets once they reached the tip with nothing unconfirmed. */
async function settledFunds(s: Services, nodes: Node[]): Promise<bigint> {
  const tip = await s.rpc.getBlockCount();
  let total = 0n;
  for (const n of nodes) {
    const w = await until(
      `${n.role} wallet at the tip`,
      async () => {
        const w = await n.wallet();
        return w.height === tip && w.balance.unconfirmed === '0' ? w : undefined;
      },
      30_000,
    );
    total += BigInt(w.balance.confirmed);
    if (process.env.DLCFD_CRASH_DEBUG) process.stderr.write(`${n.role} ${JSON.stringify(w)}\n`);
  }
  return total;
}

describe('e2e: SIGKILL at every step of contract setup and rollover, then restart', function () {
  this.timeout(ALL ? 1_800_000 : 600_000);
  const cleanups = useCleanups();
  let s: Services;
  let fees: FeeBook;

  before(async () => {
    s = await startServices(cleanups);
    fees = new FeeBook(s.rpc, await s.rpc.getBlockCount());
  });

  /** Mines while anything waits in the mempool, until `done` holds and the mempool is empty. */
  async function mineUntil<T>(what: string, done: () => Promise<T | undefined>, ms = 90_000) {
    return until(
      what,
      async () => {
        const mempool = await s.rpc.getRawMempool();
        if (mempool.length > 0) {
          await s.chain.mine(1);
          return undefined;
        }
        return done();
      },
      ms,
    );
  }

  async function arm(point: string): Promise<void> {
    await writeFile(s.failpoints, point);
  }

  describe('contract setup', () => {
    let maker: Node;
    let taker: Node;
    before(async () => {
      ({ maker, taker } = await startPair(s, cleanups, [
        '--settlement-interval',
        String(SETUP_SETTLEMENT_SECS),
        '--oracle-event-interval',
        '60',
      ]));
    });

    for (const victim of ['taker', 'maker'] as const) {
      for (const step of SETUP_STEPS[victim]) {
        const defaults = victim === 'maker' ? DEFAULT_MAKER_SETUP : DEFAULT_TAKER_SETUP;
        if (!ALL && !defaults.has(step)) continue;
        it(`${victim} killed at order.${victim}.${step}: both end open on one lock or both failed, funds accounted`, async () => {
          const v = victim === 'maker' ? maker : taker;
          const height = await s.rpc.getBlockCount();
          await fees.feesAbove(height);
          const before = await settledFunds(s, [maker, taker]);
          await arm(`order.${victim}.${step}`);
          const { offers } = await until('an offer', async () => {
            const o = await taker.api<{ offers: { id: string }[] }>('/api/offers');
            return o.offers.length > 0 ? o : undefined;
          });
          const known = new Set(
            (await taker.api<{ cfds: CfdView[] }>('/api/cfds')).cfds.map((c) => c.id),
          );
          // The taker may die before its answer leaves: then the new CFD is found after restart.
          let orderId = await taker
            .api<{ orderId: string }>('/api/orders', {
              method: 'POST',
              body: { offerId: offers[0]!.id, lots: 1, leverage: 2 },
            })
            .then((r) => r.orderId)
            .catch(() => undefined);
          const code = await Promise.race([v.proc!.exited, sleep(60_000, 'alive')]);
          assert.notEqual(code, 'alive', `the ${victim} did not reach ${step}`);
          await arm('');
          await v.start();
          orderId ??= (await taker.api<{ cfds: CfdView[] }>('/api/cfds')).cfds.find(
            (c) => !known.has(c.id),
          )?.id;
          assert.ok(orderId, 'the order was placed');

          const [m, t] = await mineUntil('both sides settled', async () => {
            const both = [await maker.cfd(orderId), await taker.cfd(orderId)];
            const final = both.every(
              (c) => c === undefined || c.state === 'open' || FAILED.has(c.state),
            );
            return final ? both : undefined;
          });
          const lockOf = (c: CfdView | undefined) =>
            c?.transactions.find((x) => x.kind === 'lock')?.txid;
          let locked = 0n;
          if (m?.state === 'open' || t?.state === 'open') {
            assert.equal(m?.state, 'open', `maker ${m?.state} ${m?.failureReason}`);
            assert.equal(t?.state, 'open', `taker ${t?.state} ${t?.failureReason}`);
            assert.ok(lockOf(m));
            assert.equal(lockOf(m), lockOf(t), 'the same lock on both sides');
            locked = BigInt(t!.margin) + BigInt(t!.marginCounterparty);
            const out = await s.rpc.getTxOut(lockOf(t)!, 0);
            assert.equal(out?.value, locked, 'the lock output holds both margins');
          } else {
            // Both failed (or the maker never recorded the order): every coin spendable again.
            assert.ok(t, 'the taker recorded its order');
            for (const n of [maker, taker]) {
              const w = await n.wallet();
              assert.equal(w.balance.reserved, '0', `${n.role} released its coins`);
              assert.equal(w.balance.spendable, w.balance.confirmed);
            }
          }
          const after = await settledFunds(s, [maker, taker]);
          const paid = await fees.feesAbove(height);
          assert.equal(before - after - locked, paid, 'funds = before − locked − fees');
        });
      }
    }
  });

  describe('rollover', () => {
    let maker: Node;
    let taker: Node;
    let id: string;
    before(async () => {
      ({ maker, taker } = await startPair(s, cleanups, [
        '--settlement-interval',
        String(ROLLOVER_SETTLEMENT_SECS),
        '--oracle-event-interval',
        String(EVENT_SECS),
        '--rollover-interval',
        '6',
      ]));
      const { offers } = await until('an offer', async () => {
        const o = await taker.api<{ offers: { id: string }[] }>('/api/offers');
        return o.offers.length > 0 ? o : undefined;
      });
      ({ orderId: id } = await taker.api<{ orderId: string }>('/api/orders', {
        method: 'POST',
        body: { offerId: offers[0]!.id, lots: 1, leverage: 2 },
      }));
      await mineUntil('open', async () => {
        const both = [await maker.cfd(id), await taker.cfd(id)];
        return both.every((c) => c?.state === 'open') ? true : undefined;
      });
    });

    for (const victim of ['taker', 'maker'] as const) {
      for (const step of ROLLOVER_STEPS[victim]) {
        if (!ALL && !DEFAULT_ROLLOVER.has(`${victim}:${step}`)) continue;
        it(`${victim} killed at rollover.${victim}.${step}: both end open on the same contract after a retried rollover`, async () => {
          const v = victim === 'maker' ? maker : taker;
          const height = await s.rpc.getBlockCount();
          const before = await settledFunds(s, [maker, taker]);
          await arm(`rollover.${victim}.${step}`);
          const code = await Promise.race([v.proc!.exited, sleep(90_000, 'alive')]);
          assert.notEqual(code, 'alive', `the ${victim} did not reach ${step}`);
          await arm('');
          const killedAt = (await (victim === 'maker' ? taker : maker).cfd(id))!.settlementEvent.id;
          await v.start();
          // Nothing stays "rolling over"; the next rollover (the taker's scheduler) completes on
          // both sides from whatever each holds, and both agree on the settlement event.
          await until(
            'a rollover completed after the restart, the same on both sides',
            async () => {
              const [m, t] = [await maker.cfd(id), await taker.cfd(id)];
              if (m?.state !== 'open' || t?.state !== 'open') return undefined;
              if (m.settlementEvent.id !== t.settlementEvent.id) return undefined;
              return m.settlementEvent.id > killedAt ? true : undefined;
            },
            90_000,
          );
          assert.deepEqual(await s.rpc.getRawMempool(), [], 'nothing published');
          const after = await settledFunds(s, [maker, taker]);
          assert.equal(await fees.feesAbove(height), 0n);
          assert.equal(after, before, 'a rollover moves no coins');
        });
      }
    }
  });
});
