/**
 * `report.html` of a results folder (issue #16): one self-contained page — inline CSS, charts as
 * inline SVG, no script and no network (a Content-Security-Policy forbids both, as a second wall
 * behind the escaping) — with the run's figures and checks, the price path with the faults and
 * failures on its timeline, every trader's equity, funding flows, protocol latencies and failures,
 * and the positions by how they closed.
 *
 * Time on every chart is run time: seconds since the run started (summary.json `startedAt`, or
 * the earliest row). Equity of many takers is drawn as a band (min…max), the median and the three
 * best and worst by final equity, so 100 takers stay readable; up to 12 get a line each.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RESULT_FILES } from '../scenario/types.ts';
import {
  type EquityRow,
  type PositionRow,
  type ProtocolRow,
  type Results,
  readResults,
} from './results.ts';
import {
  type BarRow,
  barChart,
  Chart,
  compact,
  esc,
  extent,
  formatSecs,
  GREEN,
  PALETTE,
  type Point,
  RED,
} from './svg.ts';

/** Protocol outcomes that are a success; any other outcome is drawn and listed as a failure. */
export const OK_OUTCOMES: ReadonlySet<string> = new Set(['ok', 'completed', 'success']);

/** How positions can close, in the order the table lists them ('' is still open). */
const CLOSED_BY = ['collaborative', 'forceClose', 'liquidation', 'refund', 'punish', ''];

/** Up to this many takers get a line each; more are a band. */
const LINES_MAX = 12;
/** With many takers, the funding chart shows this many biggest payers and receivers each. */
const FUNDING_EACH_SIDE = 10;

const sats = (v: number, step?: number) => `${compact(v, step)} sat`;
const usd = (v: number, step?: number) => `$${compact(v, step)}`;
/** A sum of sats for a table: exact, digits grouped. */
const satsText = (v: bigint) => v.toLocaleString('en-US');
const sum = (xs: Iterable<bigint>) => {
  let s = 0n;
  for (const x of xs) s += x;
  return s;
};
const isFailure = (p: ProtocolRow) => !OK_OUTCOMES.has(p.outcome);

/** Run time in seconds of the unix-ms time `t`. */
type Clock = (t: number) => number;

/** The page's time origin and end, in unix ms and run seconds. */
function timeFrame(r: Results): { clock: Clock; end: number } {
  // Loops, not Math.min(...): a long run has more rows than a call takes arguments.
  let first = Number.POSITIVE_INFINITY;
  let last = Number.NEGATIVE_INFINITY;
  for (const rows of [r.prices, r.equity, r.protocols, r.faults, r.trades]) {
    for (const { t } of rows) {
      if (t < first) first = t;
      if (t > last) last = t;
    }
  }
  const t0 = r.summary?.startedAt ?? (first === Number.POSITIVE_INFINITY ? 0 : first);
  const clock: Clock = (t) => (t - t0) / 1000;
  const lastSecs = last === Number.NEGATIVE_INFINITY ? 0 : clock(last);
  return { clock, end: Math.max(lastSecs, r.summary?.durationSecs ?? 0, 1) };
}

const empty = (what: string) => `<p class="empty">${esc(what)}</p>`;

/** The makers: every node named as a maker in positions or trades. */
function makersOf(r: Results): Set<string> {
  return new Set([...r.positions.map((p) => p.maker), ...r.trades.map((t) => t.maker)]);
}

// header

function header(r: Results): string {
  const s = r.summary;
  const missing =
    r.missing.length > 0
      ? `<p class="warn">Not in this results folder: ${esc(r.missing.join(', '))}.</p>`
      : '';
  if (!s) return `<h1>Run report</h1>${missing}${empty('No summary.json: figures unknown.')}`;
  const closed = Object.entries(s.cfds.closedBy)
    .map(([k, n]) => `${esc(k)} ${esc(n)}`)
    .join(', ');
  const figures: [string, string][] = [
    ['Seed', String(s.seed)],
    ['Started', new Date(s.startedAt).toISOString()],
    ['Duration', `${formatSecs(s.durationSecs)} run time`],
    ['Nodes', `${s.nodes.makers} makers, ${s.nodes.takers} takers`],
    ['CFDs', `${s.cfds.opened} opened, ${s.cfds.open} still open`],
    ['Closed by', closed || 'none'],
    ['Funding paid', `${satsText(BigInt(s.fundingPaidSats))} sat`],
    ['Funding received', `${satsText(BigInt(s.fundingReceivedSats))} sat`],
    ['On-chain fees', `${satsText(BigInt(s.onchainFeesSats))} sat`],
    ['Stuck', s.stuck.length === 0 ? 'none' : s.stuck.join(', ')],
  ];
  const failed = s.checks.filter((c) => !c.ok).length;
  const verdict =
    s.checks.length === 0
      ? 'No checks were made.'
      : failed === 0
        ? `All ${s.checks.length} checks passed.`
        : `${failed} of ${s.checks.length} checks FAILED.`;
  const checks = s.checks.map(
    (c) =>
      `<tr class="${c.ok ? 'ok' : 'failed'}" data-check="${esc(c.name)}"><td>${esc(c.name)}</td><td class="verdict">${c.ok ? 'ok' : 'FAILED'}</td><td>${esc(c.detail)}</td></tr>`,
  );
  return `<h1>Run report: ${esc(s.scenario)}</h1>${missing}
<dl class="figures">${figures.map(([k, v]) => `<div><dt>${esc(k)}</dt><dd>${esc(v)}</dd></div>`).join('')}</dl>
<h2>Checks</h2><p class="verdict ${failed === 0 ? 'ok' : 'failed'}" data-testid="verdict">${esc(verdict)}</p>
${checks.length > 0 ? `<table class="checks"><thead><tr><th>Check</th><th>Result</th><th>Detail</th></tr></thead><tbody>${checks.join('')}</tbody></table>` : ''}`;
}

// price and the timeline

/** Faults as spans: each start paired with the next end of the same kind and target. */
function faultSpans(r: Results, clock: Clock, end: number) {
  const open = new Map<string, { from: number; kind: string; target: string; detail: string }[]>();
  const spans: { from: number; to: number; kind: string; target: string; detail: string }[] = [];
  for (const f of [...r.faults].sort((a, b) => a.t - b.t)) {
    const key = `${f.kind}\u0000${f.target}`;
    if (f.phase === 'end') {
      const started = open.get(key)?.shift();
      spans.push(
        started
          ? { ...started, to: clock(f.t) }
          : { from: clock(f.t), to: clock(f.t), kind: f.kind, target: f.target, detail: f.detail },
      );
    } else {
      const list = open.get(key) ?? [];
      list.push({ from: clock(f.t), kind: f.kind, target: f.target, detail: f.detail });
      open.set(key, list);
    }
  }
  for (const list of open.values()) for (const s of list) spans.push({ ...s, to: end });
  return spans.sort((a, b) => a.from - b.from);
}

function priceSection(r: Results, clock: Clock, end: number): string {
  if (r.prices.length === 0) return empty('No prices.csv rows: no price chart.');
  const line: Point[] = r.prices.map((p) => [clock(p.t), p.price]);
  const liquidations = r.positions.filter((p) => p.closedBy === 'liquidation' && p.closedAt);
  const [lo, hi] = extent([
    ...line.map(([, y]) => y),
    ...liquidations.flatMap((p) => (p.exitPrice === null ? [] : [p.exitPrice])),
  ]);
  const chart = new Chart('price', { x: [0, end], y: [lo, hi], yFormat: usd, yLabel: 'USD' });
  const spans = faultSpans(r, clock, end);
  for (const f of spans) {
    const label = f.target ? `${f.kind} ${f.target}` : f.kind;
    const text = f.detail ? `${label}: ${f.detail}` : label;
    chart.span(f.from, f.to, text, '#e6550d', `data-fault="${esc(f.kind)}"`);
  }
  if (spans.length > 0) chart.note('faults', '#e6550d');
  chart.line('price', line, { color: PALETTE[0]!, step: true });
  const failures = r.protocols.filter(isFailure);
  chart.dots(
    'protocol failures',
    failures.map((p) => ({
      at: [clock(p.t), lo + (hi - lo) * 0.04] as const, // below the fault labels
      title: `${formatSecs(clock(p.t))} ${p.protocol} ${p.outcome} at ${p.node} (${p.cfdId}): ${p.reason}`,
    })),
    { color: RED, shape: 'cross', r: 4 },
  );
  chart.dots(
    'liquidations',
    liquidations.map((p) => ({
      at: [clock(p.closedAt!), p.exitPrice ?? line.at(-1)![1]] as const,
      title: `${p.taker} liquidated (${p.cfdId})`,
    })),
    { color: '#000', shape: 'triangle', r: 4 },
  );
  return chart.render(
    'Price path, faults and failures',
    'The quotes the feed served; shaded spans are the faults, red crosses along the bottom protocol failures, black triangles liquidations (hover for details).',
  );
}

// equity

/** Each node's equity samples as [run seconds, sats] sorted by time. */
function equityByNode(rows: readonly EquityRow[], clock: Clock): Map<string, Point[]> {
  const by = new Map<string, Point[]>();
  for (const e of rows) {
    const list = by.get(e.node) ?? [];
    list.push([clock(e.t), Number(e.equitySats)]);
    by.set(e.node, list);
  }
  for (const list of by.values()) list.sort((a, b) => a[0] - b[0]);
  return by;
}

/** At most `n` times spread over every sample time of `series`. */
function grid(series: readonly (readonly Point[])[], n = 300): number[] {
  const all = [...new Set(series.flatMap((s) => s.map(([x]) => x)))].sort((a, b) => a - b);
  if (all.length <= n) return all;
  return Array.from({ length: n }, (_, i) => all[Math.round((i * (all.length - 1)) / (n - 1))]!);
}

/** Step series `s` at each of the sorted `xs`: its last sample at or before, or undefined. */
function valuesAt(s: readonly Point[], xs: readonly number[]): (number | undefined)[] {
  let k = 0;
  let v: number | undefined;
  return xs.map((x) => {
    while (k < s.length && s[k]![0] <= x) v = s[k++]![1];
    return v;
  });
}

function equityChart(
  name: string,
  title: string,
  series: Map<string, Point[]>,
  end: number,
): string {
  const values = [...series.values()].flatMap((s) => s.map(([, y]) => y));
  const chart = new Chart(name, { x: [0, end], y: extent(values), yFormat: sats, yLabel: 'sat' });
  const nodes = [...series.keys()].sort();
  if (nodes.length <= LINES_MAX) {
    nodes.forEach((n, i) => {
      chart.line(n, series.get(n)!, { color: PALETTE[i % PALETTE.length]!, step: true });
    });
    return chart.render(title);
  }
  const xs = grid([...series.values()]);
  const columns = nodes.map((n) => valuesAt(series.get(n)!, xs));
  const lo: Point[] = [];
  const mid: Point[] = [];
  const hi: Point[] = [];
  xs.forEach((x, i) => {
    const at = columns
      .map((c) => c[i])
      .filter((v): v is number => v !== undefined)
      .sort((a, b) => a - b);
    if (at.length === 0) return;
    lo.push([x, at[0]!]);
    hi.push([x, at.at(-1)!]);
    const m = at.length >> 1;
    mid.push([x, at.length % 2 ? at[m]! : (at[m - 1]! + at[m]!) / 2]);
  });
  chart.band(`min…max of ${nodes.length}`, lo, hi, PALETTE[0]!);
  chart.line('median', mid, { color: PALETTE[0]!, width: 2 });
  const byFinal = [...nodes].sort((a, b) => series.get(b)!.at(-1)![1] - series.get(a)!.at(-1)![1]);
  byFinal.slice(0, 3).forEach((n, i) => {
    chart.line(`${n} (top ${i + 1})`, series.get(n)!, { color: GREEN, width: 1, step: true });
  });
  byFinal
    .slice(-3)
    .reverse()
    .forEach((n, i) => {
      chart.line(`${n} (bottom ${i + 1})`, series.get(n)!, {
        color: RED,
        width: 1,
        step: true,
        dash: '4 2',
      });
    });
  return chart.render(
    title,
    `${nodes.length} takers: the band spans the lowest to the highest equity at each time, with the median and the three best and worst by final equity.`,
  );
}

function equitySection(r: Results, clock: Clock, end: number): string {
  if (r.equity.length === 0) return empty('No equity.csv rows: no equity charts.');
  const by = equityByNode(r.equity, clock);
  const makers = makersOf(r);
  const takers = new Map([...by].filter(([n]) => !makers.has(n)));
  const makerSeries = new Map([...by].filter(([n]) => makers.has(n)));
  return [
    takers.size > 0 ? equityChart('equity-takers', "Takers' equity", takers, end) : '',
    makerSeries.size > 0 ? equityChart('equity-makers', "Makers' equity", makerSeries, end) : '',
  ].join('');
}

// funding

interface Flow {
  paid: bigint;
  received: bigint;
}

/** Funding paid and received per node: the taker's from its rows, the maker's mirrored. */
export function fundingFlows(positions: readonly PositionRow[]): {
  takers: Map<string, Flow>;
  makers: Map<string, Flow>;
} {
  const takers = new Map<string, Flow>();
  const makers = new Map<string, Flow>();
  const add = (m: Map<string, Flow>, node: string, paid: bigint, received: bigint) => {
    const f = m.get(node) ?? { paid: 0n, received: 0n };
    f.paid += paid;
    f.received += received;
    m.set(node, f);
  };
  for (const p of positions) {
    add(takers, p.taker, p.fundingPaidSats, p.fundingReceivedSats);
    add(makers, p.maker, p.fundingReceivedSats, p.fundingPaidSats);
  }
  return { takers, makers };
}

function fundingSection(r: Results): string {
  if (r.positions.length === 0) return empty('No positions.csv rows: no funding flows.');
  const { takers, makers } = fundingFlows(r.positions);
  const net = (f: Flow) => f.received - f.paid;
  const row = (label: string, f: Flow): BarRow => ({
    label,
    bars: [
      { series: 'paid', value: -Number(f.paid), color: RED },
      { series: 'received', value: Number(f.received), color: GREEN },
    ],
  });
  let shown = [...takers].sort((a, b) => Number(net(a[1]) - net(b[1])));
  let caption = 'Paid is drawn left of zero, received right of it.';
  if (shown.length > 2 * FUNDING_EACH_SIDE) {
    caption += ` ${takers.size} takers: the ${FUNDING_EACH_SIDE} that paid most net and the ${FUNDING_EACH_SIDE} that received most net.`;
    shown = [...shown.slice(0, FUNDING_EACH_SIDE), ...shown.slice(-FUNDING_EACH_SIDE)];
  }
  const rows = [
    ...[...makers].sort((a, b) => a[0].localeCompare(b[0])).map(([n, f]) => row(`${n} (maker)`, f)),
    ...shown.map(([n, f]) => row(n, f)),
  ];
  const perNode = barChart('funding', 'Funding paid and received per node', rows, sats, caption);
  const netRows: BarRow[] = [...makers].map(([n, f]) => ({
    label: n,
    bars: [
      {
        series: 'net received',
        value: Number(net(f)),
        color: net(f) < 0n ? RED : GREEN,
      },
    ],
  }));
  const perMaker = barChart('funding-net', 'Net funding per maker', netRows, sats);
  const totals = `<p>Across the network: takers paid ${esc(satsText(sum([...takers.values()].map((f) => f.paid))))} sat and received ${esc(satsText(sum([...takers.values()].map((f) => f.received))))} sat of funding.</p>`;
  return perNode + perMaker + totals;
}

// protocols

/** The `q` quantile (0…1) of sorted numbers. */
function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

function protocolSection(r: Results, clock: Clock, end: number): string {
  if (r.protocols.length === 0) return empty('No protocols.csv rows: no latencies.');
  const kinds = [...new Set(r.protocols.map((p) => p.protocol))].sort();
  const timed = r.protocols.filter((p) => p.durationMs !== null);
  const secs = (p: ProtocolRow) => p.durationMs! / 1000;
  const [, hi] = extent(timed.map(secs).concat(0));
  const chart = new Chart('protocols', {
    x: [0, end],
    y: [0, hi],
    yFormat: (v, step) => `${compact(v, step)} s`,
    yLabel: 'duration',
  });
  const dot = (p: ProtocolRow) => ({
    at: [clock(p.t), secs(p)] as const,
    title: `${formatSecs(clock(p.t))} ${p.protocol} ${p.outcome} in ${secs(p)} s at ${p.node} (${p.cfdId})${p.reason ? `: ${p.reason}` : ''}`,
  });
  kinds.forEach((k, i) => {
    const ok = timed.filter((p) => p.protocol === k && !isFailure(p));
    chart.dots(k, ok.map(dot), { color: PALETTE[i % PALETTE.length]! });
  });
  chart.dots('failed', timed.filter(isFailure).map(dot), { color: RED, shape: 'cross', r: 4 });
  const stats = kinds.map((k) => {
    const all = r.protocols.filter((p) => p.protocol === k);
    const d = all
      .filter((p) => p.durationMs !== null && !isFailure(p))
      .map(secs)
      .sort((a, b) => a - b);
    const q = (x: number) => (d.length === 0 ? '–' : `${quantile(d, x).toFixed(2)} s`);
    return `<tr data-protocol="${esc(k)}"><td>${esc(k)}</td><td>${all.length}</td><td>${all.length - all.filter(isFailure).length}</td><td>${all.filter(isFailure).length}</td><td>${q(0.5)}</td><td>${q(0.9)}</td><td>${q(1)}</td></tr>`;
  });
  const table = `<table><thead><tr><th>Protocol</th><th>Runs</th><th>Succeeded</th><th>Failed</th><th>Median</th><th>90th pct</th><th>Slowest</th></tr></thead><tbody>${stats.join('')}</tbody></table>`;
  const failures = r.protocols.filter(isFailure);
  const failTable =
    failures.length === 0
      ? '<p>No protocol failed.</p>'
      : `<h3>Failures</h3><table class="failures"><thead><tr><th>Run time</th><th>Protocol</th><th>Node</th><th>CFD</th><th>Outcome</th><th>Reason</th></tr></thead><tbody>${failures
          .map(
            (p) =>
              `<tr><td>${formatSecs(clock(p.t))}</td><td>${esc(p.protocol)}</td><td>${esc(p.node)}</td><td>${esc(p.cfdId)}</td><td>${esc(p.outcome)}</td><td>${esc(p.reason)}</td></tr>`,
          )
          .join('')}</tbody></table>`;
  return (
    chart.render(
      'Protocol durations over time',
      'Each setup, rollover and settlement at the time it ended; red crosses failed.',
    ) +
    table +
    failTable
  );
}

// positions, trades, faults

function positionsSection(r: Results): string {
  if (r.positions.length === 0) return empty('No positions.csv rows.');
  const kinds = [...new Set([...CLOSED_BY, ...r.positions.map((p) => p.closedBy)])].filter((k) =>
    r.positions.some((p) => p.closedBy === k),
  );
  const rows = kinds.map((k) => {
    const ps = r.positions.filter((p) => p.closedBy === k);
    const onchain = sum(ps.map((p) => p.onchainFeeSats));
    const cells = [
      k || 'open',
      ps.length,
      satsText(sum(ps.map((p) => p.marginSats))),
      satsText(sum(ps.map((p) => p.payoutSats ?? 0n))),
      satsText(sum(ps.map((p) => p.pnlSats ?? 0n))),
      satsText(sum(ps.map((p) => p.fundingPaidSats))),
      satsText(sum(ps.map((p) => p.fundingReceivedSats))),
      satsText(sum(ps.map((p) => p.feesSats))),
      satsText(onchain),
      satsText(onchain / BigInt(ps.length)),
    ];
    return `<tr data-closed-by="${esc(k || 'open')}">${cells.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`;
  });
  const detail = [...r.positions]
    .sort((a, b) => kinds.indexOf(a.closedBy) - kinds.indexOf(b.closedBy))
    .map((p) => {
      const cells = [
        p.cfdId,
        p.taker,
        p.maker,
        p.side,
        p.quantity ?? '',
        p.leverage ?? '',
        p.entryPrice ?? '',
        p.exitPrice ?? '',
        satsText(p.marginSats),
        p.payoutSats === null ? '' : satsText(p.payoutSats),
        p.pnlSats === null ? '' : satsText(p.pnlSats),
        p.closedBy || 'open',
      ];
      return `<tr>${cells.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`;
    });
  return `<table class="by-close"><thead><tr><th>Closed by</th><th>CFDs</th><th>Margin</th><th>Payout</th><th>Taker P/L</th><th>Funding paid</th><th>Funding received</th><th>Fees</th><th>On-chain fees</th><th>On-chain per CFD</th></tr></thead><tbody>${rows.join('')}</tbody></table>
<p class="caption">Amounts in sat, the takers' side of each CFD.</p>
<details><summary>Every position (${r.positions.length})</summary><table><thead><tr><th>CFD</th><th>Taker</th><th>Maker</th><th>Side</th><th>Qty</th><th>Lev.</th><th>Entry</th><th>Exit</th><th>Margin</th><th>Payout</th><th>P/L</th><th>Closed by</th></tr></thead><tbody>${detail.join('')}</tbody></table></details>`;
}

function tradesSection(r: Results): string {
  if (r.trades.length === 0) return empty('No trades.csv rows.');
  const counts = new Map<string, number>();
  for (const t of r.trades) {
    const k = `${t.action}\u0000${t.outcome}`;
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  const rows = [...counts]
    .sort((a, b) => a[0].localeCompare(b[0]))
    .map(([k, n]) => {
      const [action, outcome] = k.split('\u0000');
      return `<tr><td>${esc(action!)}</td><td>${esc(outcome!)}</td><td>${n}</td></tr>`;
    });
  return `<table><thead><tr><th>Action</th><th>Outcome</th><th>Count</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function faultsSection(r: Results, clock: Clock, end: number): string {
  const spans = faultSpans(r, clock, end);
  if (spans.length === 0) return '<p>No faults.</p>';
  const rows = spans.map(
    (f) =>
      `<tr><td>${esc(f.kind)}</td><td>${esc(f.target)}</td><td>${formatSecs(f.from)}</td><td>${formatSecs(f.to)}</td><td>${esc(f.detail)}</td></tr>`,
  );
  return `<table class="faults"><thead><tr><th>Fault</th><th>Target</th><th>From</th><th>To</th><th>Detail</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

const CSS = `body{font:14px/1.4 system-ui,sans-serif;margin:24px auto;max-width:1000px;color:#222}
h1{font-size:22px}h2{font-size:18px;margin-top:32px;border-bottom:1px solid #ddd}h3{font-size:15px}
.figures{display:grid;grid-template-columns:repeat(auto-fill,minmax(230px,1fr));gap:6px 16px}
.figures dt{color:#666;font-size:12px}.figures dd{margin:0}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ddd;padding:3px 8px;text-align:left}
th{background:#f6f6f6}.ok .verdict,p.verdict.ok{color:#1a7f37}.failed .verdict,p.verdict.failed{color:#c00;font-weight:bold}
.warn{color:#a60}.empty{color:#888;font-style:italic}.caption{color:#666;font-size:12px;margin:2px 0}
figure{margin:16px 0}figcaption{font-weight:600;margin-bottom:4px}svg{max-width:100%;height:auto}
.legend{list-style:none;padding:0;margin:4px 0;display:flex;flex-wrap:wrap;gap:4px 14px;font-size:12px}
.sw{display:inline-block;width:12px;height:3px;margin-right:5px;vertical-align:middle}
.sw-dot{width:8px;height:8px;border-radius:4px}.mark{margin-right:4px;font-size:11px}.sw-band,.sw-span{height:10px;opacity:.5}`;

/** The whole page for `r`. */
export function renderReport(r: Results): string {
  const { clock, end } = timeFrame(r);
  const title = r.summary
    ? `dlcfd run: ${r.summary.scenario} (seed ${r.summary.seed})`
    : 'dlcfd run';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title><style>${CSS}</style></head><body>
${header(r)}
<h2>Price and faults</h2>${priceSection(r, clock, end)}
<h2>Equity</h2>${equitySection(r, clock, end)}
<h2>Funding</h2>${fundingSection(r)}
<h2>Protocols</h2>${protocolSection(r, clock, end)}
<h2>Positions by how they closed</h2>${positionsSection(r)}
<h2>Trades</h2>${tradesSection(r)}
<h2>Faults</h2>${faultsSection(r, clock, end)}
</body></html>
`;
}

/** Reads the results folder `runDir`, writes its `report.html` and returns that file's path. */
export async function writeReport(runDir: string): Promise<string> {
  const file = join(runDir, RESULT_FILES.report);
  await writeFile(file, renderReport(await readResults(runDir)));
  return file;
}
