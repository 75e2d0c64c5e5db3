/**
 * Generates ui/src/types.ts — the API's JSON shapes for the web UI, which type-checks on its own,
 * without the node's types — from the route table: each route's and live event's `response`
 * (ui-server/api/) names types of node/app, whose declarations are copied here with what they
 * reference (`readonly` dropped: the UI builds objects of them too). Types given by a zod schema
 * (the maker's policy, the taker's limits) come from its JSON schema. test/scripts checks that
 * the checked-in file is what this generates, so nothing is kept in sync by hand.
 *
 *   npm run gen:ui-types                          # writes ui/src/types.ts
 *   node scripts/gen-ui-types.ts --check          # exits 1 if it differs
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { MakerPolicySchema, TakerLimitsSchema } from '../node/app/domain.ts';
import { API_ROUTES, LIVE_EVENT_TYPES } from '../ui-server/api/table.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const UI_TYPES_FILE = join(ROOT, 'ui/src/types.ts');

/** Where the declarations are looked up: node/app and the domain types its views name. */
const SOURCES = [
  ...listTs(join(ROOT, 'node/app')),
  join(ROOT, 'model/units.ts'),
  join(ROOT, 'node/runtime/health.ts'),
];
/** Types the UI imports type-only from the model (derived from its constant lists: one list). */
const MODEL_IMPORTS = { file: '../../model/cfd.ts', names: ['CfdAction', 'CfdUiState', 'Settled'] };
/** Types whose shape is a zod schema's (input side: what goes over the wire as JSON). */
const ZOD_TYPES: Readonly<Record<string, z.ZodType>> = {
  MakerPolicy: MakerPolicySchema,
  TakerLimitsView: TakerLimitsSchema,
};
/** Names that are TypeScript's own. */
const BUILTINS = new Set(['Record', 'Readonly', 'Partial', 'Array', 'ReadonlyArray', 'Pick']);

function listTs(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) =>
      e.isDirectory()
        ? listTs(join(dir, e.name))
        : e.name.endsWith('.ts')
          ? [join(dir, e.name)]
          : [],
    )
    .sort();
}

/** Every top-level `export interface` / `export type` of `file`, with its doc comment. */
function declarations(file: string): Map<string, string> {
  const lines = readFileSync(file, 'utf8').split('\n');
  const out = new Map<string, string>();
  for (let i = 0; i < lines.length; i++) {
    const m = /^export (interface|type) (\w+)\b/.exec(lines[i]!);
    if (!m) continue;
    let start = i;
    if (lines[i - 1]?.trimEnd().endsWith('*/')) {
      start = i - 1;
      while (start > 0 && !lines[start]!.trimStart().startsWith('/**')) start--;
    }
    let end = i;
    let depth = 0;
    for (; end < lines.length; end++) {
      const line = lines[end]!;
      depth += (line.match(/[{(]/g) ?? []).length - (line.match(/[})]/g) ?? []).length;
      if (depth === 0 && (m[1] === 'interface' ? line === '}' : line.trimEnd().endsWith(';'))) {
        break;
      }
    }
    out.set(m[2]!, lines.slice(start, end + 1).join('\n'));
    i = end;
  }
  return out;
}

/** The type names a piece of TypeScript mentions (outside comments and string literals). */
function namesIn(ts: string): string[] {
  const code = ts
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/\/\/.*$/gm, '')
    .replace(/'[^']*'/g, "''");
  return [...code.matchAll(/\b[A-Z]\w*\b/g)].map((m) => m[0]);
}

/** A zod schema's input shape as an interface (descriptions become doc comments). */
function zodInterface(name: string, schema: z.ZodType): string {
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as {
    properties: Record<string, JsonType & { description?: string }>;
    required?: string[];
  };
  const required = new Set(json.required ?? []);
  const fields = Object.entries(json.properties).map(([key, t]) => {
    const doc = t.description ? `  /** ${t.description} */\n` : '';
    return `${doc}  ${key}${required.has(key) ? '' : '?'}: ${jsonType(t)};`;
  });
  return `/** ${name}: the shape of its schema (node/app/domain.ts). */\nexport interface ${name} {\n${fields.join('\n')}\n}`;
}

interface JsonType {
  readonly type?: string;
  readonly items?: JsonType;
  readonly enum?: readonly unknown[];
}

function jsonType(t: JsonType): string {
  if (t.enum) return t.enum.map((v) => JSON.stringify(v)).join(' | ');
  switch (t.type) {
    case 'string':
      return 'string';
    case 'integer':
    case 'number':
      return 'number';
    case 'boolean':
      return 'boolean';
    case 'array':
      return `${jsonType(t.items ?? {})}[]`;
    default:
      throw new Error(`gen-ui-types: no TypeScript for JSON schema ${JSON.stringify(t)}`);
  }
}

/** The file's text, formatted as the repository formats it. */
export function generateUiTypes(): string {
  const known = new Map<string, { text: string; file: string }>();
  for (const file of SOURCES) {
    for (const [name, text] of declarations(file)) {
      if (known.has(name)) {
        throw new Error(
          `gen-ui-types: ${name} is declared twice (${known.get(name)!.file}, ${file})`,
        );
      }
      known.set(name, { text, file });
    }
  }
  const roots = [...API_ROUTES.map((r) => r.response ?? ''), ...Object.values(LIVE_EVENT_TYPES)];
  const emitted = new Map<string, string>();
  const visit = (name: string, from: string): void => {
    if (emitted.has(name) || BUILTINS.has(name) || MODEL_IMPORTS.names.includes(name)) return;
    const zod = ZOD_TYPES[name];
    if (zod) {
      emitted.set(name, zodInterface(name, zod));
      return;
    }
    const decl = known.get(name);
    if (!decl)
      throw new Error(`gen-ui-types: ${from} names ${name}, not an exported type of node/app`);
    const text = decl.text.replace(/\breadonly /g, '');
    emitted.set(name, `// ${relative(ROOT, decl.file)}\n${text}`);
    for (const n of namesIn(text)) if (n !== name) visit(n, name);
  };
  for (const root of roots) for (const n of namesIn(root)) visit(n, `the response '${root}'`);
  const used = MODEL_IMPORTS.names.filter((n) =>
    [...emitted.values()].some((t) => namesIn(t).includes(n)),
  );
  const text = [
    '// GENERATED by scripts/gen-ui-types.ts from the route table (ui-server/api/) and the types of',
    '// node/app it names; do not edit: change the source and run `npm run gen:ui-types`.',
    '// The UI type-checks on its own, without the node. Sats and prices are decimal strings: the',
    '// browser displays them and never does arithmetic on them.',
    `import type { ${used.join(', ')} } from '${MODEL_IMPORTS.file}';`,
    '',
    `export type { ${used.join(', ')} };`,
    '',
    [...emitted.values()].join('\n\n'),
    '',
  ].join('\n');
  return execFileSync(
    join(ROOT, 'node_modules/.bin/biome'),
    ['format', `--stdin-file-path=${UI_TYPES_FILE}`],
    { input: text, encoding: 'utf8', cwd: ROOT },
  );
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const text = generateUiTypes();
  if (process.argv.includes('--check')) {
    if (readFileSync(UI_TYPES_FILE, 'utf8') !== text) {
      process.stderr.write('ui/src/types.ts is out of date: run npm run gen:ui-types\n');
      process.exit(1);
    }
  } else {
    writeFileSync(UI_TYPES_FILE, text);
  }
}
