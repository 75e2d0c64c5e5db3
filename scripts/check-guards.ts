// Proves every row of the rogue-peer table (test/adversary/deviations.spec.ts) rests on its guard:
// for each row, on a copy of the tree (node_modules symlinked, the checkout never touched), apply
// the row's patch that disables its guard, run that row alone, and require it to FAIL. Prints
// `row | guard | result` and exits non-zero if any row passes without its guard (the guard is not
// what stops it), a patch no longer applies (the guard moved: update the row), or a run errs.
//
//   node scripts/check-guards.ts [text]    only the rows whose title contains `text`
import { execFileSync, spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { type GuardPatch, rows, titleOf } from '../test/adversary/deviations.spec.ts';

const SPEC = 'test/adversary/deviations.spec.ts';
const SUITE = 'adversary: a rogue peer deviating at one step (the table)';
/** One row's run: a few seconds; a guard removed may make a run hang until its read timeouts. */
const ROW_TIMEOUT_MS = 180_000;

const root = resolve(import.meta.dirname, '..');
const filter = process.argv[2];

/** A copy of the working tree as it is (tracked and new files), node_modules linked. */
function copyTree(): string {
  const dir = mkdtempSync(join(tmpdir(), 'dlcfd-guards-'));
  const files = execFileSync('git', ['ls-files', '-co', '--exclude-standard', '-z'], { cwd: root })
    .toString()
    .split('\0')
    .filter((f) => f && f !== 'node_modules' && existsSync(join(root, f)));
  for (const f of files) {
    mkdirSync(dirname(join(dir, f)), { recursive: true });
    cpSync(join(root, f), join(dir, f));
  }
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
  return dir;
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const occurrences = (text: string, find: string) => text.split(find).length - 1;

type Result =
  | 'failed as expected'
  | 'PASSES WITHOUT ITS GUARD'
  /** The attack still fails, but for another reason: the row's guard is not what stops it. */
  | 'STOPPED BY ANOTHER GUARD'
  | 'patch does not apply'
  | 'error';

interface Report {
  readonly title: string;
  readonly guard: string;
  readonly result: Result;
  readonly detail: string;
}

interface MochaJson {
  stats: { tests: number; passes: number; failures: number };
  passes: { fullTitle: string }[];
  failures: { fullTitle: string; err: { message?: string } }[];
}

/** Runs the spec's tests matching `grep` in `dir`, with mocha's JSON report. */
function runMocha(dir: string, grep: string): MochaJson | { error: string } {
  const run = spawnSync(
    join(dir, 'node_modules/.bin/mocha'),
    [
      '--no-config',
      '--node-option',
      'import=tsx',
      '--timeout',
      '120000',
      '--reporter',
      'json',
      '--grep',
      grep,
      SPEC,
    ],
    { cwd: dir, encoding: 'utf8', timeout: ROW_TIMEOUT_MS * 4, maxBuffer: 64 * 1024 * 1024 },
  );
  try {
    return JSON.parse(run.stdout.slice(run.stdout.indexOf('{')));
  } catch {
    const why = run.error?.message ?? run.stderr.split('\n').find((l) => l.trim());
    const exit = `mocha exited ${run.status ?? run.signal}, ${run.stdout.length} bytes of report`;
    return { error: why ? `${why} (${exit})` : exit };
  }
}

/** Runs one row in `dir` with `patches` applied; restores every patched file after. */
function checkRow(
  dir: string,
  title: string,
  patches: readonly GuardPatch[],
): Omit<Report, 'title' | 'guard'> {
  const originals = new Map<string, string>();
  try {
    for (const p of patches) {
      const path = join(dir, p.file);
      if (!originals.has(p.file)) originals.set(p.file, readFileSync(path, 'utf8'));
      const current = readFileSync(path, 'utf8');
      const n = occurrences(current, p.find);
      if (n !== 1) {
        return {
          result: 'patch does not apply',
          detail: `${p.file}: found ${n}× ${JSON.stringify(p.find)}`,
        };
      }
      writeFileSync(
        path,
        current.replace(p.find, () => p.replace),
      );
    }
    const out = runMocha(dir, `^${escapeRegExp(`${SUITE} ${title}`)}$`);
    if ('error' in out) {
      // The run passed with the guard in place: most likely the patched file no longer parses
      // (e.g. a `find` that is only part of a statement), which tsx reports confusingly.
      const hint = 'does the patched file still parse? (a find that is only part of a statement)';
      return { result: 'error', detail: `${out.error}; ${hint}` };
    }
    const { stats, failures } = out;
    if (stats.tests !== 1) return { result: 'error', detail: `${stats.tests} tests matched` };
    if (stats.passes === 1) return { result: 'PASSES WITHOUT ITS GUARD', detail: '' };
    const message = failures[0]?.err.message?.split('\n')[0] ?? '';
    if (message.startsWith('stopped by another guard')) {
      return { result: 'STOPPED BY ANOTHER GUARD', detail: message };
    }
    return { result: 'failed as expected', detail: message };
  } finally {
    for (const [file, text] of originals) writeFileSync(join(dir, file), text);
  }
}

const dir = copyTree();
const reports: Report[] = [];
try {
  // Each row must pass with its guard in place, else its failing below would prove nothing.
  const selected = rows.filter((row) => !filter || titleOf(row).includes(filter));
  const base = runMocha(dir, filter ? escapeRegExp(filter) : '.');
  for (const row of selected) {
    const full = `${SUITE} ${titleOf(row)}`;
    if ('error' in base || !base.passes.some((p) => p.fullTitle === full)) {
      const detail =
        'error' in base
          ? base.error
          : (base.failures.find((f) => f.fullTitle === full)?.err.message ?? 'not run');
      console.log(`BAD  ${titleOf(row)}\n       fails with its guard in place: ${detail}`);
      reports.push({ title: titleOf(row), guard: '(none removed)', result: 'error', detail });
    }
  }
  for (const row of selected) {
    const title = titleOf(row);
    if (filter && !title.includes(filter)) continue;
    const patches = Array.isArray(row.guard) ? row.guard : [row.guard as GuardPatch];
    const guard = patches.map((p) => `${p.file}: ${p.find.split('\n')[0]!.trim()}`).join(' + ');
    const r = checkRow(dir, title, patches);
    reports.push({ title, guard, ...r });
    console.log(
      `${r.result === 'failed as expected' ? 'ok  ' : 'BAD '} ${title}\n       guard: ${guard}\n       ${r.result}${r.detail ? `: ${r.detail}` : ''}`,
    );
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const bad = reports.filter((r) => r.result !== 'failed as expected');
console.log(
  `\n${reports.length} rows, ${reports.length - bad.length} fail without their guard, ${bad.length} bad`,
);
for (const r of bad) console.log(`  ${r.result}: ${r.title}`);
process.exit(bad.length === 0 && reports.length > 0 ? 0 : 1);
