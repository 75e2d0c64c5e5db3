/**
 * CSV of the results folder (RFC 4180): a field holding a comma, a quote or a line break is
 * quoted, quotes doubled — a failure reason may hold any of them. Both directions live here so a
 * writer and the report agree on one dialect.
 */

/** A results file that is not what the contract (research/scenario/types.ts) says. */
export class ResultsFormatError extends Error {
  override readonly name = 'ResultsFormatError';
}

/** What a field of a written row may be: empty when null or undefined. */
export type CsvField = string | number | bigint | null | undefined;

/** One field, quoted only when it must be. */
function field(v: CsvField): string {
  const s = v === null || v === undefined ? '' : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

/** A header row and rows as CSV text, CRLF line ends, ending with one. */
export function formatCsv(
  header: readonly string[],
  rows: readonly (readonly CsvField[])[],
): string {
  return [header, ...rows].map((r) => `${r.map(field).join(',')}\r\n`).join('');
}

/** Splits CSV text into records of fields (quotes undone); blank lines are skipped. */
function records(text: string, file: string): string[][] {
  const out: string[][] = [];
  let row: string[] = [];
  let cur = '';
  let quoted = false;
  let i = 0;
  const endField = () => {
    row.push(cur);
    cur = '';
  };
  const endRow = () => {
    endField();
    if (row.length > 1 || row[0] !== '') out.push(row);
    row = [];
  };
  while (i < text.length) {
    const c = text[i]!;
    if (quoted) {
      if (c !== '"') cur += c;
      else if (text[i + 1] === '"') {
        cur += '"';
        i++;
      } else quoted = false;
    } else if (c === '"') quoted = true;
    else if (c === ',') endField();
    else if (c === '\n') endRow();
    else if (c !== '\r') cur += c;
    i++;
  }
  if (quoted) throw new ResultsFormatError(`${file}: a quoted field is never closed`);
  if (cur !== '' || row.length > 0) endRow();
  return out;
}

/**
 * Parses CSV with a header row into one object per row, keyed by column. The header must hold
 * every column of `columns` (more are allowed: a newer writer may add some).
 */
export function parseCsv<C extends string>(
  text: string,
  columns: readonly C[],
  file: string,
): Record<C, string>[] {
  const [header, ...rows] = records(text, file);
  if (!header) throw new ResultsFormatError(`${file}: no header row`);
  const index = columns.map((c) => {
    const at = header.indexOf(c);
    if (at < 0) throw new ResultsFormatError(`${file}: no column "${c}" in the header`);
    return at;
  });
  return rows.map((r, n) => {
    if (r.length !== header.length) {
      throw new ResultsFormatError(
        `${file} row ${n + 2}: ${r.length} fields, the header has ${header.length}`,
      );
    }
    const o = {} as Record<C, string>;
    columns.forEach((c, k) => {
      o[c] = r[index[k]!]!;
    });
    return o;
  });
}
