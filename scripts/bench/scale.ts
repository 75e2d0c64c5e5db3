/**
 * How many takers this machine carries (issue #16, "Scale"): for each K of SCALE_STEPS it forks
 * the embedded chain, the price feed with the oracle, and each of three makers into a process of
 * its own, and K taker daemons into host processes of up to 25 each (research/scale/host.ts: per
 * host one adaptor pool and one caching reader of the chain, shared by its takers). This process
 * only drives them. Every taker opens one small CFD (100 contracts at 2×) with a maker in turn;
 * then the run watches the rollovers for three rollover intervals, printing after each how they
 * went. A rollover is on time when it completed before the next one became due (the cadence
 * holds: one rollover interval after it was due); a K is on time when every rollover that came
 * due after the last CFD opened and whose deadline has passed is. The steps stop at the first K
 * that is not.
 *
 * Figures (`<name> <value> <unit>`), each beside its reference from the same run:
 * - scale.max_takers_on_time — largest K on time; reference: the largest K tried
 *   (scale.max_takers_tried). The same figure as issue #16 names it,
 *   scenario.max_takers_on_time, beside scenario.time_scale (the ×, with
 *   scale.rollover_deadline_ms).
 * - scale.k<K>.rollovers_on_time / scale.k<K>.rollovers — on time, of those due in the window.
 * - scale.k<K>.rollover_lateness_p50_ms / _max_ms — completion minus due; reference:
 *   scale.rollover_deadline_ms, the rollover interval.
 * - scale.k<K>.rss_per_taker_mb — Σ host RSS / K at the end (CFDs open, rollovers done), and
 *   _idle_mb once started; reference: scale.rss_taker_alone_mb, one taker started alone in its
 *   process with its own pool and chain client (what one process per taker costs), and
 *   scale.k<K>.rss_chain_mb, _feed_oracle_mb, _per_maker_mb (the other processes).
 * - scale.k<K>.cpu_{chain,feed_oracle,makers,takers}_s — CPU each kind of process used over the
 *   step; reference: scale.k<K>.wall_s × the cores, and scale.k<K>.load_1m (the machine's load
 *   at the end of the step: other work on it shares the cores).
 *
 * Settings through the environment: SCALE_STEPS (default 100), SCALE_TIME (×15), SCALE_PER_HOST
 * (25), SCALE_WATCH_INTERVALS (3), SCALE_LOG_LEVEL (the nodes' pino level on stderr; silent).
 *
 * Measured (2 cores, the defaults, README "Scale"): K = 100 on time at ×15, 200 of 200
 * rollovers, lateness p50 122 s / max 174 s of 240 s; rss_per_taker_mb 29 against
 * rss_taker_alone_mb 262; CPU makers 580 s + takers 768 s over 1,211 s (chain 22 s).
 * scale.max_takers_on_time = scenario.max_takers_on_time = 100 at ×15. Bound: ≈ 3 s of CPU per
 * protocol run (both sides), so K ≤ interval × cores / 3 s.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type {
  HostReply,
  HostRequest,
  OpenResult,
  ReportResult,
  StartResult,
} from '../../research/scale/host.ts';
import {
  type ChainAddress,
  type OracleAddresses,
  type RolloverTiming,
  type ScaleTime,
  type ServiceAddresses,
  scaledTime,
} from '../../research/scale/network.ts';

const MAKERS = 3;
const MAKER_FUND = 100_000_000n;
const TAKER_FUND = 1_000_000n;
const MB = 1024 * 1024;

/**
 * How long a taker keeps ordering: the K setups queue for two cores (each ≈ 1.4 s of CPU on either
 * side, more while other work runs beside it), so the budget grows with K.
 */
const setupWaitMs = (k: number): number => Math.max(300_000, k * 15_000);

const figure = (name: string, value: number, unit: string): void => {
  console.log(`${name} ${Math.round(value)} ${unit}`);
};

/** How long a host may take to stop its nodes before it is killed. */
const HOST_STOP_MS = 60_000;

/** A forked host and a typed call over its IPC channel. */
class Host {
  readonly #child: ChildProcess;
  readonly #pending = new Map<number, (reply: HostReply) => void>();
  #nextId = 1;

  constructor() {
    this.#child = fork(new URL('../../research/scale/host.ts', import.meta.url), [], {
      stdio: 'inherit',
    });
    this.#child.on('message', (reply: HostReply) => {
      this.#pending.get(reply.id)?.(reply);
      this.#pending.delete(reply.id);
    });
    this.#child.on('exit', (code, signal) => {
      this.#exited = `host ${this.#child.pid} exited (code ${code}, signal ${signal})`;
      if (!this.#stopping) console.error(`# ${this.#exited}`);
      for (const resolve of this.#pending.values()) {
        resolve({ id: 0, ok: false, error: this.#exited });
      }
      this.#pending.clear();
    });
  }

  /** Why the host is gone, if it is (a call to it then fails at once rather than hanging). */
  #exited: string | undefined;
  #stopping = false;

  async call<T>(req: DistributiveOmit<HostRequest, 'id'>): Promise<T> {
    if (this.#exited) throw new Error(`host ${req.op}: ${this.#exited}`);
    const id = this.#nextId++;
    const reply = await new Promise<HostReply>((resolve) => {
      this.#pending.set(id, resolve);
      this.#child.send({ ...req, id });
    });
    if (!reply.ok) throw new Error(`host ${req.op}: ${reply.error}`);
    return reply.result as T;
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    if (this.#child.exitCode !== null || !this.#child.connected) return;
    const exited = new Promise((r) => this.#child.once('exit', r));
    const stopped = this.call({ op: 'stop' }).then(
      () => true,
      () => false,
    );
    // A host whose nodes do not stop in time is killed and named (SCALE_LOG_LEVEL=warn says
    // which part of a node held its stop up): the figures of the run are not held hostage.
    const inTime = await Promise.race([stopped, sleep(HOST_STOP_MS).then(() => undefined)]);
    if (inTime === undefined)
      console.error(`# host ${this.#child.pid}: not stopped in ${HOST_STOP_MS} ms; killed`);
    if (inTime !== true) this.#child.kill();
    await Promise.race([exited, sleep(30_000).then(() => this.#child.kill('SIGKILL'))]);
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

interface StepResult {
  readonly k: number;
  readonly onTime: boolean;
  readonly opened: number;
  readonly due: number;
  readonly late: number;
  readonly latenessMs: number[];
  readonly hostRss: number;
  /** Σ host RSS once the takers started, before any CFD. */
  readonly idleHostRss: number;
  readonly chainRss: number;
  readonly oracleRss: number;
  readonly makerRss: number[];
  /** CPU each kind of process used over the step, ms. */
  readonly cpuMs: { chain: number; oracle: number; makers: number; takers: number };
  /** From the step's start (services) to the report. */
  readonly wallMs: number;
}

const percentile = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s[Math.min(s.length - 1, Math.floor(p * s.length))] as number) : Number.NaN;
};

/** Host RSS of one taker alone in its process with its own pool and chain client (a node's default). */
async function takerAloneRss(
  dir: string,
  services: ServiceAddresses,
  time: ScaleTime,
  maker: string,
): Promise<number> {
  const host = new Host();
  try {
    const started = await host.call<StartResult>({
      op: 'start',
      takers: [{ role: 'taker', datadir: join(dir, 'alone'), maker }],
      services,
      time,
      sharedPool: false,
      sharedChain: false,
    });
    return started.rss;
  } finally {
    await host.stop();
  }
}

async function step(
  k: number,
  time: ScaleTime,
  perHost: number,
  watchIntervals: number,
  reference: { aloneRss?: number },
): Promise<StepResult> {
  const stepStart = Date.now();
  const dir = await mkdtemp(join(tmpdir(), `dlcfd-scale-${k}-`));
  const chainHost = new Host();
  const oracleHost = new Host();
  const makerHosts: Host[] = [];
  const hosts: Host[] = [];
  try {
    const [chainAddress, oracleAddresses] = await Promise.all([
      chainHost.call<ChainAddress>({ op: 'chain', time }),
      oracleHost.call<OracleAddresses>({ op: 'oracle', dir, time }),
    ]);
    const services: ServiceAddresses = { ...chainAddress, ...oracleAddresses };
    // Each maker alone in its process, with its own pool and chain client, as in production.
    const makers = await Promise.all(
      Array.from({ length: MAKERS }, async (_, m) => {
        const host = new Host();
        makerHosts.push(host);
        const started = await host.call<StartResult>({
          op: 'start',
          takers: [{ role: 'maker', datadir: join(dir, `maker${m}`) }],
          services,
          time,
          sharedPool: false,
          sharedChain: false,
        });
        return {
          peerId: started.peerIds[0]!,
          address: started.addresses[0]!,
          listen: started.listen[0]!,
        };
      }),
    );
    await chainHost.call({
      op: 'fund',
      outputs: makers.map((m) => ({ address: m.address, sats: String(MAKER_FUND) })),
    });
    const makerAddr = makers.map((m) => m.listen);
    reference.aloneRss ??= await takerAloneRss(dir, services, time, makerAddr[0]!);

    // Takers: host h runs takers h·perHost …, taker i trades with maker i mod 3.
    const groups: number[][] = [];
    for (let i = 0; i < k; i += perHost) {
      groups.push(Array.from({ length: Math.min(perHost, k - i) }, (_, j) => i + j));
    }
    const t0 = Date.now();
    const started = await Promise.all(
      groups.map(async (group) => {
        const host = new Host();
        hosts.push(host);
        return host.call<StartResult>({
          op: 'start',
          takers: group.map((i) => ({
            role: 'taker' as const,
            datadir: join(dir, `taker${i}`),
            maker: makerAddr[i % MAKERS]!,
          })),
          services,
          time,
          sharedPool: true,
          sharedChain: true,
        });
      }),
    );
    console.log(`# k=${k}: ${k} takers in ${groups.length} hosts started in ${Date.now() - t0} ms`);
    await chainHost.call({
      op: 'fund',
      outputs: started.flatMap((s) =>
        s.addresses.map((address) => ({ address, sats: String(TAKER_FUND) })),
      ),
    });
    // Half: the coin pool splits the coin as soon as it confirms, paying its fee.
    await Promise.all(
      makerHosts.map((h) =>
        h.call({ op: 'funded', sats: String(MAKER_FUND / 2n), waitMs: 120_000 }),
      ),
    );

    const t1 = Date.now();
    const opened = await Promise.all(
      groups.map((group, h) =>
        hosts[h]!.call<OpenResult>({
          op: 'open',
          makers: group.map((i) => makers[i % MAKERS]!.peerId),
          fundSats: String(TAKER_FUND),
          waitMs: setupWaitMs(k),
        }),
      ),
    );
    const openedAt = Date.now() / 1000;
    const cfds = opened.flatMap((o) => o.cfds);
    const failed = cfds.filter((c) => 'error' in c) as { error: string }[];
    console.log(
      `# k=${k}: ${cfds.length - failed.length} CFDs open in ${Date.now() - t1} ms` +
        (failed.length ? `; ${failed.length} failed, first: ${failed[0]!.error}` : ''),
    );

    // Watch the rollovers that come due from now on, saying after each interval how they went.
    for (let i = 1; i <= watchIntervals; i++) {
      await sleep(time.rolloverSecs * 1000);
      const at = Date.now() / 1000;
      const so = await Promise.all(
        hosts.map((h) => h.call<ReportResult>({ op: 'report', nowSecs: at })),
      );
      const ts = so
        .flatMap((r) => r.timings.flat())
        .filter((t) => t.dueSecs >= openedAt && t.deadlineSecs <= at);
      const done = ts.filter((t) => t.completedSecs !== undefined);
      const worst = Math.max(0, ...done.map((t) => t.completedSecs! - t.dueSecs));
      console.log(
        `# k=${k}: watch ${i}/${watchIntervals}: ${ts.length} rollovers past their deadline so far, ` +
          `${done.filter((t) => t.completedSecs! <= t.deadlineSecs).length} of them on time, ` +
          `slowest ${worst.toFixed(0)} s after due; load ${loadavg()[0]!.toFixed(2)}`,
      );
    }
    const nowSecs = Date.now() / 1000;
    const reports = await Promise.all(
      hosts.map((h) => h.call<ReportResult>({ op: 'report', nowSecs })),
    );
    const [chainReport, oracleReport, ...makerReports] = await Promise.all(
      [chainHost, oracleHost, ...makerHosts].map((h) =>
        h.call<ReportResult>({ op: 'report', nowSecs }),
      ),
    );
    // Per CFD, the rollovers due after the last setup whose deadline has passed.
    const perCfd = reports.flatMap((r) =>
      r.timings.map((ts) => ts.filter((t) => t.dueSecs >= openedAt && t.deadlineSecs <= nowSecs)),
    );
    const timings: RolloverTiming[] = perCfd.flat();
    const isLate = (t: RolloverTiming) =>
      t.completedSecs === undefined || t.completedSecs > t.deadlineSecs;
    const late = timings.filter(isLate).length;
    const lateOnes = perCfd.flatMap((ts, cfd) => ts.filter(isLate).map((t) => ({ cfd, ...t })));
    for (const t of lateOnes.slice(0, 5)) {
      const at = (s?: number) => (s === undefined ? 'never' : `+${(s - openedAt).toFixed(1)} s`);
      console.log(
        `# late: CFD ${t.cfd} due ${at(t.dueSecs)}, deadline ${at(t.deadlineSecs)}, completed ${at(t.completedSecs)}`,
      );
    }
    const latenessMs = timings.map((t) =>
      t.completedSecs === undefined
        ? Number.POSITIVE_INFINITY
        : (t.completedSecs - t.dueSecs) * 1000,
    );
    // Every CFD open, each owed at least one rollover in the window, all of them on time.
    const everyCfdRolled = perCfd.length === k && perCfd.every((ts) => ts.length > 0);
    const onTime = failed.length === 0 && everyCfdRolled && late === 0;
    return {
      k,
      onTime,
      opened: cfds.length - failed.length,
      due: timings.length,
      late,
      latenessMs,
      hostRss: reports.reduce((s, r) => s + r.rss, 0),
      idleHostRss: started.reduce((s, r) => s + r.rss, 0),
      chainRss: chainReport!.rss,
      oracleRss: oracleReport!.rss,
      makerRss: makerReports.map((r) => r.rss),
      cpuMs: {
        chain: chainReport!.cpuMs,
        oracle: oracleReport!.cpuMs,
        makers: makerReports.reduce((s, r) => s + r.cpuMs, 0),
        takers: reports.reduce((s, r) => s + r.cpuMs, 0),
      },
      wallMs: Date.now() - stepStart,
    };
  } finally {
    await Promise.all(hosts.map((h) => h.stop()));
    await Promise.all(makerHosts.map((h) => h.stop()));
    await oracleHost.stop();
    await chainHost.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

export async function scale(): Promise<void> {
  const steps = (process.env.SCALE_STEPS ?? '100').split(',').map(Number);
  const timeScale = Number(process.env.SCALE_TIME ?? 15);
  const perHost = Number(process.env.SCALE_PER_HOST ?? 25);
  const watch = Number(process.env.SCALE_WATCH_INTERVALS ?? 3);
  const time = scaledTime(timeScale);
  console.log(
    `# time ×${timeScale}: rollover every ${time.rolloverSecs} s, settlement ${time.settlementSecs} s, ` +
      `oracle events every ${time.eventSecs} s, a block every ${time.blockSecs} s; ` +
      `${MAKERS} makers; up to ${perHost} takers per host; cores ${availableParallelism()}; ` +
      `load ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
  );
  figure('scale.rollover_deadline_ms', time.rolloverSecs * 1000, 'ms');
  const reference: { aloneRss?: number } = {};
  let max = 0;
  const load = () =>
    loadavg()
      .map((l) => l.toFixed(2))
      .join(' ');
  for (const k of steps) {
    const r = await step(k, time, perHost, watch, reference);
    figure(`scale.k${k}.cfds_open`, r.opened, 'cfds');
    figure(`scale.k${k}.rollovers_on_time`, r.due - r.late, 'rollovers');
    figure(`scale.k${k}.rollovers`, r.due, 'rollovers');
    figure(`scale.k${k}.rollover_lateness_p50_ms`, percentile(r.latenessMs, 0.5), 'ms');
    figure(`scale.k${k}.rollover_lateness_max_ms`, percentile(r.latenessMs, 1), 'ms');
    figure(`scale.k${k}.rss_per_taker_mb`, r.hostRss / k / MB, 'MB');
    figure(`scale.k${k}.rss_per_taker_idle_mb`, r.idleHostRss / k / MB, 'MB');
    figure(`scale.k${k}.rss_chain_mb`, r.chainRss / MB, 'MB');
    figure(`scale.k${k}.rss_feed_oracle_mb`, r.oracleRss / MB, 'MB');
    figure(
      `scale.k${k}.rss_per_maker_mb`,
      r.makerRss.reduce((a, b) => a + b, 0) / MAKERS / MB,
      'MB',
    );
    if (reference.aloneRss !== undefined) {
      figure('scale.rss_taker_alone_mb', reference.aloneRss / MB, 'MB');
    }
    // What the cores did over the step, beside what two cores could have done.
    figure(`scale.k${k}.cpu_chain_s`, r.cpuMs.chain / 1000, 's');
    figure(`scale.k${k}.cpu_feed_oracle_s`, r.cpuMs.oracle / 1000, 's');
    figure(`scale.k${k}.cpu_makers_s`, r.cpuMs.makers / 1000, 's');
    figure(`scale.k${k}.cpu_takers_s`, r.cpuMs.takers / 1000, 's');
    figure(`scale.k${k}.wall_s`, r.wallMs / 1000, 's');
    const [load1] = loadavg();
    console.log(`scale.k${k}.load_1m ${load1!.toFixed(2)} load`);
    console.log(`# k=${k}: ${r.onTime ? 'on time' : 'NOT on time'}; load ${load()}`);
    if (!r.onTime) break;
    max = k;
  }
  figure('scale.max_takers_on_time', max, 'takers');
  figure('scale.max_takers_tried', steps.at(-1)!, 'takers');
  // The figure issue #16 names, at this run's time scale.
  figure('scenario.max_takers_on_time', max, 'takers');
  figure('scenario.time_scale', timeScale, 'x');
}
