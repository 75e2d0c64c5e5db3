/**
 * Charts as inline SVG strings for the self-contained report: no script, no network, so the page
 * opens anywhere and a hostile string from the results (a node name, a failure reason) can only
 * ever be text. Every string that reaches the markup goes through {@link esc}.
 *
 * Each chart is `<svg data-chart="NAME">`; each drawn series carries `data-series="…"` so a test
 * (or a reader's devtools) can find it.
 */

/** `s` safe as HTML text and as a quoted attribute value. */
export function esc(s: string | number | bigint): string {
  return String(s)
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

/** Distinct colours for series, in order. */
export const PALETTE = [
  '#1f77b4',
  '#ff7f0e',
  '#2ca02c',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#17becf',
  '#bcbd22',
  '#7f7f7f',
  '#393b79',
  '#637939',
  '#843c39',
];
export const RED = '#d62728';
export const GREEN = '#2ca02c';

export type Point = readonly [number, number];

/** About `n` round tick values covering [min, max]. */
export function ticks(min: number, max: number, n = 5): number[] {
  const rough = (max - min) / n;
  if (!(rough > 0)) return [min];
  const mag = 10 ** Math.floor(Math.log10(rough));
  const r = rough / mag;
  const step = mag * (r >= 7.5 ? 10 : r >= 3.5 ? 5 : r >= 1.5 ? 2 : 1);
  const out: number[] = [];
  for (let v = Math.ceil(min / step) * step; v <= max + step * 1e-9; v += step) {
    out.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  }
  return out;
}

/** [min, max] of `values` widened by `pad` of the span (a flat series gets a span of its own). */
export function extent(values: Iterable<number>, pad = 0.05): [number, number] {
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (lo > hi) return [0, 1];
  if (lo === hi) {
    const d = Math.abs(lo) * 0.01 || 1;
    return [lo - d, hi + d];
  }
  const d = (hi - lo) * pad;
  return [lo - d, hi + d];
}

/** Seconds as `m:ss` or `h:mm:ss`. */
export function formatSecs(secs: number): string {
  const s = Math.round(secs);
  const sign = s < 0 ? '−' : '';
  const a = Math.abs(s);
  const h = Math.floor(a / 3600);
  const m = Math.floor((a % 3600) / 60);
  const ss = String(a % 60).padStart(2, '0');
  return h > 0 ? `${sign}${h}:${String(m).padStart(2, '0')}:${ss}` : `${sign}${m}:${ss}`;
}

/**
 * A compact number: 1.25M, 340k, 12. Given the `step` between an axis's ticks, with just the
 * decimals that tell neighbouring ticks apart (10.2M, 10.4M rather than 10M, 10M).
 */
export function compact(v: number, step = 0): string {
  const a = Math.abs(v);
  const [div, suffix] =
    a >= 1e9 ? [1e9, 'G'] : a >= 1e6 ? [1e6, 'M'] : a >= 1e4 ? [1e3, 'k'] : [1, ''];
  if (!(step > 0)) return `${+(v / div).toPrecision(3)}${suffix}`;
  const decimals = Math.min(6, Math.max(0, Math.ceil(-Math.log10(step / div) - 1e-9)));
  return `${(v / div).toFixed(decimals)}${suffix}`;
}

/** The distance between neighbouring ticks (0 with fewer than two). */
const stepOf = (t: readonly number[]) => (t.length > 1 ? t[1]! - t[0]! : 0);

interface LegendEntry {
  readonly label: string;
  readonly color: string;
  readonly kind: 'line' | 'dot' | 'cross' | 'triangle' | 'band' | 'span';
}

const FONT = 'font-size="11" fill="#444"';

/** A point as SVG coordinates, to a tenth of a pixel. */
const xy = (x: number, y: number) => `${x.toFixed(1)},${y.toFixed(1)}`;

/** A chart's domains and axis formats. */
export interface ChartOptions {
  readonly x: readonly [number, number];
  readonly y: readonly [number, number];
  /** An axis value as text; `step` is the distance between ticks. */
  readonly yFormat: (v: number, step: number) => string;
  readonly xFormat?: (v: number) => string;
  readonly yLabel?: string;
  readonly width?: number;
  readonly height?: number;
}

/**
 * One x/y chart: a time axis in run seconds and a value axis. Draw series with the methods, then
 * {@link render}.
 */
export class Chart {
  readonly #parts: string[] = [];
  readonly #over: string[] = [];
  readonly #legend: LegendEntry[] = [];
  readonly #w: number;
  readonly #h: number;
  static readonly M = { left: 76, right: 16, top: 14, bottom: 28 };

  readonly name: string;
  readonly opts: ChartOptions;

  constructor(name: string, opts: ChartOptions) {
    this.name = name;
    this.opts = opts;
    this.#w = opts.width ?? 960;
    this.#h = opts.height ?? 260;
  }

  /** The x pixel of value `v`. */
  x(v: number): number {
    const [a, b] = this.opts.x;
    return Chart.M.left + ((v - a) / (b - a || 1)) * (this.#w - Chart.M.left - Chart.M.right);
  }

  /** The y pixel of value `v`. */
  y(v: number): number {
    const [a, b] = this.opts.y;
    const inner = this.#h - Chart.M.top - Chart.M.bottom;
    return this.#h - Chart.M.bottom - ((v - a) / (b - a || 1)) * inner;
  }

  #path(points: readonly Point[], step: boolean): string {
    let d = '';
    points.forEach(([px, py], i) => {
      const X = this.x(px);
      const Y = this.y(py);
      if (i === 0) d = `M${xy(X, Y)}`;
      else if (step) d += `H${X.toFixed(1)}V${Y.toFixed(1)}`;
      else d += `L${xy(X, Y)}`;
    });
    return d;
  }

  /** A line through `points` (sorted by x); `step` holds each value until the next. */
  line(
    series: string,
    points: readonly Point[],
    style: { color: string; width?: number; dash?: string; step?: boolean; legend?: boolean },
  ): this {
    if (points.length === 0) return this;
    const dash = style.dash ? ` stroke-dasharray="${style.dash}"` : '';
    this.#parts.push(
      `<path data-series="${esc(series)}" d="${this.#path(points, style.step ?? false)}" fill="none" stroke="${style.color}" stroke-width="${style.width ?? 1.5}"${dash}><title>${esc(series)}</title></path>`,
    );
    if (style.legend ?? true)
      this.#legend.push({ label: series, color: style.color, kind: 'line' });
    return this;
  }

  /** The area between `lower` and `upper` (same xs). */
  band(series: string, lower: readonly Point[], upper: readonly Point[], color: string): this {
    if (lower.length === 0) return this;
    const back = [...upper].reverse().map(([px, py]) => `L${xy(this.x(px), this.y(py))}`);
    this.#parts.push(
      `<path data-series="${esc(series)}" d="${this.#path(lower, false)}${back.join('')}Z" fill="${color}" fill-opacity="0.18" stroke="none"><title>${esc(series)}</title></path>`,
    );
    this.#legend.push({ label: series, color, kind: 'band' });
    return this;
  }

  /** Marks at `points`, each with a hover text; `cross` for failures. */
  dots(
    series: string,
    points: readonly { readonly at: Point; readonly title: string }[],
    style: { color: string; shape?: 'circle' | 'cross' | 'triangle'; r?: number },
  ): this {
    if (points.length === 0) return this;
    const r = style.r ?? 3;
    const marks = points.map(({ at: [px, py], title }) => {
      const X = this.x(px);
      const Y = this.y(py);
      const t = `<title>${esc(title)}</title>`;
      if (style.shape === 'cross') {
        return `<path d="M${xy(X - r, Y - r)}L${xy(X + r, Y + r)}M${xy(X - r, Y + r)}L${xy(X + r, Y - r)}" stroke="${style.color}" stroke-width="2">${t}</path>`;
      }
      if (style.shape === 'triangle') {
        return `<path d="M${xy(X, Y + r)}L${xy(X - r, Y - r)}L${xy(X + r, Y - r)}Z" fill="${style.color}">${t}</path>`;
      }
      return `<circle cx="${X.toFixed(1)}" cy="${Y.toFixed(1)}" r="${r}" fill="${style.color}" fill-opacity="0.75">${t}</circle>`;
    });
    // Marks sit over the lines and spans.
    this.#over.push(`<g data-series="${esc(series)}">${marks.join('')}</g>`);
    this.#legend.push({
      label: series,
      color: style.color,
      kind: style.shape === 'circle' ? 'dot' : (style.shape ?? 'dot'),
    });
    return this;
  }

  /** A shaded time span across the whole plot with a label at its top (a fault). */
  span(x0: number, x1: number, label: string, color: string, attrs = ''): this {
    const X0 = this.x(x0);
    const X1 = Math.max(this.x(x1), X0 + 2);
    const top = Chart.M.top;
    const h = this.#h - Chart.M.top - Chart.M.bottom;
    this.#parts.unshift(
      `<g ${attrs}><rect x="${X0.toFixed(1)}" y="${top}" width="${(X1 - X0).toFixed(1)}" height="${h}" fill="${color}" fill-opacity="0.14" stroke="${color}" stroke-opacity="0.5"><title>${esc(label)}</title></rect><text x="${(X0 + 3).toFixed(1)}" y="${top + 11}" font-size="10" fill="${color}">${esc(label)}</text></g>`,
    );
    return this;
  }

  /** A legend entry for something drawn without a series of its own (spans). */
  note(label: string, color: string): this {
    this.#legend.push({ label, color, kind: 'span' });
    return this;
  }

  /** The chart as a `<figure>` with its title, axes and legend. */
  render(title: string, caption = ''): string {
    const { x: xd, y: yd, yFormat } = this.opts;
    const xFormat = this.opts.xFormat ?? formatSecs;
    const left = Chart.M.left;
    const right = this.#w - Chart.M.right;
    const bottom = this.#h - Chart.M.bottom;
    const grid: string[] = [];
    const yTicks = ticks(yd[0], yd[1]);
    for (const v of yTicks) {
      const Y = this.y(v).toFixed(1);
      grid.push(
        `<line x1="${left}" x2="${right}" y1="${Y}" y2="${Y}" stroke="#eee"/><text x="${left - 4}" y="${Y}" dy="3" text-anchor="end" ${FONT}>${esc(yFormat(v, stepOf(yTicks)))}</text>`,
      );
    }
    for (const v of ticks(xd[0], xd[1], 8)) {
      const X = this.x(v).toFixed(1);
      grid.push(
        `<line x1="${X}" x2="${X}" y1="${bottom}" y2="${bottom + 4}" stroke="#999"/><text x="${X}" y="${bottom + 16}" text-anchor="middle" ${FONT}>${esc(xFormat(v))}</text>`,
      );
    }
    const yLabel = this.opts.yLabel
      ? `<text x="12" y="${Chart.M.top + (bottom - Chart.M.top) / 2}" transform="rotate(-90 12 ${Chart.M.top + (bottom - Chart.M.top) / 2})" text-anchor="middle" ${FONT}>${esc(this.opts.yLabel)}</text>`
      : '';
    const frame = `<rect x="${left}" y="${Chart.M.top}" width="${right - left}" height="${bottom - Chart.M.top}" fill="none" stroke="#ccc"/>`;
    const svg = `<svg data-chart="${esc(this.name)}" viewBox="0 0 ${this.#w} ${this.#h}" width="${this.#w}" height="${this.#h}" role="img" aria-label="${esc(title)}" xmlns="http://www.w3.org/2000/svg">${grid.join('')}${frame}${yLabel}<g>${this.#parts.join('')}</g>${this.#over.join('')}</svg>`;
    return figure(this.name, title, svg, legend(this.#legend), caption);
  }
}

/** Legend marks drawn as text rather than a swatch. */
const MARK = { cross: '✕', triangle: '▼' } as const;

/** The legend under a chart: swatch and label per entry. */
function legend(entries: readonly LegendEntry[]): string {
  if (entries.length === 0) return '';
  const items = entries.map((e) => {
    const mark = e.kind === 'cross' || e.kind === 'triangle' ? MARK[e.kind] : undefined;
    const sw = mark
      ? `<span class="mark" style="color:${e.color}">${mark}</span>`
      : `<span class="sw sw-${e.kind}" style="background:${e.color}"></span>`;
    return `<li>${sw}${esc(e.label)}</li>`;
  });
  return `<ul class="legend">${items.join('')}</ul>`;
}

function figure(name: string, title: string, svg: string, legendHtml: string, caption: string) {
  const cap = caption ? `<p class="caption">${esc(caption)}</p>` : '';
  return `<figure data-figure="${esc(name)}"><figcaption>${esc(title)}</figcaption>${svg}${legendHtml}${cap}</figure>`;
}

/** One row of a bar chart: a label and one bar per series. */
export interface BarRow {
  readonly label: string;
  readonly bars: readonly {
    readonly series: string;
    readonly value: number;
    readonly color: string;
  }[];
}

/**
 * Horizontal bars, a group per row, from a zero line (values may be negative). Each bar is a
 * `<rect data-series>` with its value as hover text.
 */
export function barChart(
  name: string,
  title: string,
  rows: readonly BarRow[],
  format: (v: number, step?: number) => string,
  caption = '',
): string {
  const barH = 9;
  const per = Math.max(1, ...rows.map((r) => r.bars.length));
  const rowH = per * barH + 6;
  const left = 150;
  const right = 20;
  const w = 960;
  const top = 6;
  const h = top + rows.length * rowH + 24;
  const [lo, hi] = extent(rows.flatMap((r) => r.bars.map((b) => b.value)).concat(0), 0.04);
  const X = (v: number) => left + ((v - lo) / (hi - lo)) * (w - left - right);
  const parts: string[] = [];
  const seen = new Map<string, string>();
  rows.forEach((r, i) => {
    const y0 = top + i * rowH;
    parts.push(
      `<text x="${left - 6}" y="${y0 + rowH / 2}" dy="3" text-anchor="end" ${FONT}>${esc(r.label)}</text>`,
    );
    r.bars.forEach((b, k) => {
      seen.set(b.series, b.color);
      const a = X(Math.min(0, b.value));
      const wBar = Math.max(Math.abs(X(b.value) - X(0)), 0.5);
      parts.push(
        `<rect data-series="${esc(b.series)}" data-row="${esc(r.label)}" x="${a.toFixed(1)}" y="${y0 + 3 + k * barH}" width="${wBar.toFixed(1)}" height="${barH - 1}" fill="${b.color}"><title>${esc(`${r.label} ${b.series}: ${format(b.value)}`)}</title></rect>`,
      );
    });
  });
  const axisY = top + rows.length * rowH;
  const xTicks = ticks(lo, hi, 8);
  for (const v of xTicks) {
    const x = X(v).toFixed(1);
    parts.push(
      `<line x1="${x}" x2="${x}" y1="${top}" y2="${axisY + 4}" stroke="${v === 0 ? '#999' : '#eee'}"/><text x="${x}" y="${axisY + 16}" text-anchor="middle" ${FONT}>${esc(format(v, stepOf(xTicks)))}</text>`,
    );
  }
  const svg = `<svg data-chart="${esc(name)}" viewBox="0 0 ${w} ${h}" width="${w}" height="${h}" role="img" aria-label="${esc(title)}" xmlns="http://www.w3.org/2000/svg">${parts.join('')}</svg>`;
  const entries = [...seen].map(([label, color]) => ({ label, color, kind: 'band' as const }));
  return figure(name, title, svg, legend(entries), caption);
}
