// The dependency rule, run by `npm run check`: dependencies point one way.
// - model/ and dlc/ are pure: of ours they import only each other;
// - protocols/ declare the ports they need (protocols/ports.ts) and never import node/ or
//   ui-server/;
// - ui-server/ talks to one application service (node/app/).
// Every import specifier (static, type-only, re-export, dynamic) of every .ts/.tsx file under those
// folders is resolved to the top-level folder it points into; packages and node: builtins are not
// ours and always allowed. Prints each violation and exits 1 if there is any.
//
//   node scripts/check-deps.ts [root]
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

/** A rule: files under `from` may import, of ours, only files under `allow` (or not `deny`). */
export interface DependencyRule {
  readonly from: string;
  readonly allow?: readonly string[];
  readonly deny?: readonly string[];
  readonly why: string;
}

export const RULES: readonly DependencyRule[] = [
  { from: 'model/', allow: ['model/', 'dlc/'], why: 'model/ is pure' },
  { from: 'dlc/', allow: ['dlc/', 'model/'], why: 'dlc/ is pure' },
  {
    from: 'protocols/',
    deny: ['node/', 'ui-server/'],
    why: 'protocols declare their ports (protocols/ports.ts); node/ builds the adapters',
  },
  {
    from: 'ui-server/',
    allow: ['ui-server/', 'node/app/'],
    why: 'the HTTP layer talks to the application service (node/app/) only',
  },
];

/**
 * Files allowed to break the rule for now, each with why and who removes it. Named, so the list
 * only shrinks: the lead empties it as the branches of issue #14 merge.
 */
export const TEMPORARY_EXCEPTIONS: Readonly<Record<string, string>> = {};

export interface Violation {
  /** The importing file, relative to the root, `/`-separated. */
  readonly file: string;
  readonly specifier: string;
  /** What the specifier resolves to, relative to the root. */
  readonly target: string;
  readonly why: string;
}

function* sourceFiles(dir: string): Generator<string> {
  let entries: import('node:fs').Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) {
    if (e.name === 'node_modules' || e.name.startsWith('.')) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* sourceFiles(p);
    else if (/\.tsx?$/.test(e.name) && !e.name.endsWith('.d.ts')) yield p;
  }
}

/** `text` with its comments blanked (strings and template literals kept as they are). */
function withoutComments(text: string): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    const next = text[i + 1];
    if (c === '/' && next === '/') {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (c === '/' && next === '*') {
      const end = text.indexOf('*/', i + 2);
      i = end < 0 ? text.length : end + 2;
      out += ' ';
    } else if (c === "'" || c === '"' || c === '`') {
      let j = i + 1;
      while (j < text.length && text[j] !== c) j += text[j] === '\\' ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j + 1;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

const STATIC = /(?:^|[;}\n])\s*(?:import|export)\b[^;'"`]*?\bfrom\s*(['"])([^'"]+)\1/g;
const BARE = /(?:^|[;}\n])\s*import\s*(['"])([^'"]+)\1/g;
const DYNAMIC = /\bimport\s*\(\s*(['"])([^'"]+)\1\s*\)/g;

/** Every module specifier of `text`: imports, type imports, re-exports, dynamic imports. */
export function specifiersOf(text: string): string[] {
  const code = withoutComments(text);
  return [STATIC, BARE, DYNAMIC].flatMap((re) => [...code.matchAll(re)].map((m) => m[2]!));
}

const posix = (p: string): string => p.split(sep).join('/');

/** Whether `target` (root-relative) breaks `rule`. */
function breaks(rule: DependencyRule, target: string): boolean {
  if (rule.allow) return !rule.allow.some((a) => target.startsWith(a));
  return (rule.deny ?? []).some((d) => target.startsWith(d));
}

/**
 * The violations of {@link RULES} under `root`, skipping files in `exceptions` (default
 * {@link TEMPORARY_EXCEPTIONS}).
 */
export function checkDependencies(
  root: string,
  exceptions: Readonly<Record<string, string>> = TEMPORARY_EXCEPTIONS,
): Violation[] {
  const out: Violation[] = [];
  for (const rule of RULES) {
    for (const path of sourceFiles(join(root, rule.from))) {
      const file = posix(relative(root, path));
      if (file in exceptions) continue;
      for (const specifier of specifiersOf(readFileSync(path, 'utf8'))) {
        if (!specifier.startsWith('.')) continue; // a package or a builtin: not ours
        const target = posix(relative(root, resolve(dirname(path), specifier)));
        if (target.startsWith('..')) continue; // outside the tree
        if (breaks(rule, target)) out.push({ file, specifier, target, why: rule.why });
      }
    }
  }
  return out;
}

if (import.meta.filename === process.argv[1]) {
  const root = resolve(process.argv[2] ?? join(import.meta.dirname, '..'));
  const violations = checkDependencies(root);
  for (const v of violations) {
    console.error(`${v.file}: imports ${v.specifier} (${v.target}): ${v.why}`);
  }
  if (violations.length > 0) {
    console.error(`check-deps: ${violations.length} import(s) against the dependency rule`);
    process.exit(1);
  }
  console.log(`check-deps: ok (${Object.keys(TEMPORARY_EXCEPTIONS).length} temporary exceptions)`);
}
