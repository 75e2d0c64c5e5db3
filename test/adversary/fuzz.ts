// The fuzzer's parts (used by fuzz.spec.ts): a seeded PRNG, mutations of real protocol messages
// (JSON-level and byte-level), frame-level lies (length prefixes that lie, truncation, duplicated
// and reordered frames, garbage after a valid prefix, split writes) and a raw libp2p stream that
// writes whatever bytes it is given and then waits for the peer to end the stream.
//
// Everything a case does is drawn from its own `Rng`, seeded from the run's seed and the case's
// lane and index, so a case is the same whatever order the cases happen to run in.
import { randomInt } from 'node:crypto';
import type { Stream } from '@libp2p/interface';
import { type ByteStream, byteStream } from '@libp2p/utils';

// ---- Seeded randomness ---------------------------------------------------------------------------

/** splitmix32: spreads a 32-bit value over all bits (seeding, and mixing case ids into seeds). */
function splitmix(x: number): number {
  let z = (x + 0x9e3779b9) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}

/** The seed of case `index` of `lane` in a run seeded with `seed`. */
export function caseSeed(seed: number, lane: number, index: number): number {
  return splitmix(splitmix(seed ^ Math.imul(lane + 1, 0x27d4eb2d)) ^ Math.imul(index, 0x165667b1));
}

/** sfc32, seeded through splitmix32: small, fast and good enough to pick mutations. */
export class Rng {
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  constructor(seed: number) {
    this.#a = splitmix(seed);
    this.#b = splitmix(this.#a);
    this.#c = splitmix(this.#b);
    this.#d = 1;
    for (let i = 0; i < 12; i++) this.u32();
  }

  u32(): number {
    const t = (((this.#a + this.#b) >>> 0) + this.#d) >>> 0;
    this.#d = (this.#d + 1) >>> 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) >>> 0;
    this.#c = ((this.#c << 21) | (this.#c >>> 11)) >>> 0;
    this.#c = (this.#c + t) >>> 0;
    return t;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor((this.u32() / 2 ** 32) * n);
  }

  /** An integer in [lo, hi]. */
  between(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  chance(p: number): boolean {
    return this.u32() / 2 ** 32 < p;
  }

  pick<T>(xs: readonly T[]): T {
    if (xs.length === 0) throw new Error('pick from nothing');
    return xs[this.int(xs.length)]!;
  }

  /** One of `entries`, each as likely as its weight. */
  weighted<T>(entries: readonly (readonly [T, number])[]): T {
    const total = entries.reduce((s, [, w]) => s + w, 0);
    let r = (this.u32() / 2 ** 32) * total;
    for (const [v, w] of entries) {
      r -= w;
      if (r < 0) return v;
    }
    return entries[entries.length - 1]![0];
  }

  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.u32() & 0xff;
    return out;
  }

  hex(nBytes: number): string {
    return Buffer.from(this.bytes(nBytes)).toString('hex');
  }
}

/** `DLCFD_FUZZ_SEED` (decimal or 0x-hex), else a fresh random one. */
export function fuzzSeed(): number {
  const v = process.env.DLCFD_FUZZ_SEED;
  if (v === undefined || v === '') return randomInt(2 ** 32 - 1);
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n >= 2 ** 32) {
    throw new Error(`DLCFD_FUZZ_SEED must be a 32-bit unsigned integer, not '${v}'`);
  }
  return n;
}

/** `DLCFD_FUZZ_ITERATIONS`: how many fuzz cases (streams) to run; `fallback` without it. */
export function fuzzIterations(fallback: number): number {
  const v = process.env.DLCFD_FUZZ_ITERATIONS;
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) {
    throw new Error(`DLCFD_FUZZ_ITERATIONS must be a positive integer, not '${v}'`);
  }
  return n;
}

// ---- JSON trees that can say what JSON.stringify cannot ------------------------------------------

/** An object as its entries, in order: keys may repeat. */
export class Obj {
  entries: [string, J][];
  constructor(entries: [string, J][]) {
    this.entries = entries;
  }
}

/** Text inserted as is: numbers JSON.parse rounds, deep nesting, invalid JSON. */
export class Raw {
  readonly text: string;
  constructor(text: string) {
    this.text = text;
  }
}

export type J = null | boolean | number | string | J[] | Obj | Raw;

/** A plain JSON value (as JSON.parse gives it) as a tree. */
export function toTree(v: unknown): J {
  if (v === null || typeof v === 'boolean' || typeof v === 'number' || typeof v === 'string') {
    return v;
  }
  if (Array.isArray(v)) return v.map(toTree);
  if (typeof v === 'object') {
    return new Obj(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, toTree(x)]));
  }
  throw new Error(`not JSON: ${typeof v}`);
}

export function toText(j: J): string {
  if (j instanceof Raw) return j.text;
  if (j instanceof Obj) {
    return `{${j.entries.map(([k, v]) => `${JSON.stringify(k)}:${toText(v)}`).join(',')}}`;
  }
  if (Array.isArray(j)) return `[${j.map(toText).join(',')}]`;
  return JSON.stringify(j);
}

/** A place in a tree: the container and the key or index of the value there. */
interface Slot {
  readonly get: () => J;
  readonly set: (v: J) => void;
  readonly path: string;
}

function slots(root: { v: J }): Slot[] {
  const out: Slot[] = [];
  const walk = (get: () => J, set: (v: J) => void, path: string, depth: number): void => {
    out.push({ get, set, path });
    const v = get();
    if (depth > 12) return;
    if (Array.isArray(v)) {
      // A long array (CET signatures): a sample of its elements is enough.
      const idx = v.length <= 8 ? v.map((_, i) => i) : [0, 1, v.length - 1];
      for (const i of idx) {
        walk(
          () => v[i]!,
          (x) => {
            v[i] = x;
          },
          `${path}[${i}]`,
          depth + 1,
        );
      }
    } else if (v instanceof Obj) {
      for (const e of v.entries) {
        walk(
          () => e[1],
          (x) => {
            e[1] = x;
          },
          `${path}.${e[0]}`,
          depth + 1,
        );
      }
    }
  };
  walk(
    () => root.v,
    (x) => {
      root.v = x;
    },
    '$',
    0,
  );
  return out;
}

/** Values worth trying anywhere: ids the maker knows, and strings and numbers at the edges. */
export interface Dictionary {
  /** Ids the maker knows: CFD ids, offer ids, peer ids, txids. */
  readonly ids: readonly string[];
  /** The message types of the protocol, and of the others. */
  readonly types: readonly string[];
}

const EDGE_STRINGS = [
  '',
  ' ',
  '\u0000',
  '\ud800',
  '\u202e',
  '\u2028',
  'null',
  '-1',
  '-0',
  '0',
  '1.5',
  '1e3',
  '0x10',
  ' 1',
  '1 ',
  '+1',
  '00000000000000001',
  '99999999999999999',
  'NaN',
  'Infinity',
  '__proto__',
  'constructor',
  '../../../../etc/passwd',
  '00'.repeat(32),
  'ff'.repeat(32),
  `02${'00'.repeat(32)}`,
  `02${'ff'.repeat(32)}`,
  'AB'.repeat(32),
  `0014${'00'.repeat(20)}`,
];

const EDGE_NUMBERS = [
  0,
  -1,
  1,
  2,
  1.5,
  -0.5,
  100,
  101,
  0xffff,
  0x10000,
  2 ** 31,
  2 ** 32,
  2 ** 53,
  2 ** 53 + 2,
  1e21,
  1e308,
  -1e308,
  5e-324,
];

const EDGE_RAW = [
  '1e400',
  '-1e400',
  '-0',
  '1E2',
  '0.0000001',
  '123456789012345678901234567890',
  '1.0',
  'NaN',
  'undefined',
];

/** A value at the edges of what the schemas accept, or past them. */
function edgeValue(rng: Rng, dict: Dictionary): { v: J; label: string } {
  switch (rng.int(9)) {
    case 0:
      return { v: rng.pick(EDGE_STRINGS), label: 'edge string' };
    case 1:
      return { v: rng.pick(EDGE_NUMBERS), label: 'edge number' };
    case 2: {
      const t = rng.pick(EDGE_RAW);
      return { v: new Raw(t), label: `raw ${t}` };
    }
    case 3: {
      const unit = rng.pick(['x', '🦀', '\u0000', 'é', '\\', '"']);
      const n = rng.pick([65, 129, 501, 5_000, 70_000, ...(unit === 'x' ? [600_000] : [])]);
      return { v: unit.repeat(n), label: `string of ${n}×${JSON.stringify(unit)}` };
    }
    case 4: {
      const d = rng.pick([64, 1_000, 20_000, 200_000]);
      return rng.chance(0.5)
        ? { v: new Raw('['.repeat(d) + ']'.repeat(d)), label: `arrays nested ${d} deep` }
        : {
            v: new Raw(`${'{"a":'.repeat(d)}1${'}'.repeat(d)}`),
            label: `objects nested ${d} deep`,
          };
    }
    case 5:
      return dict.ids.length > 0
        ? { v: rng.pick(dict.ids), label: 'a known id' }
        : { v: null, label: 'null' };
    case 6:
      return { v: rng.pick([null, true, false]), label: 'null/bool' };
    case 7:
      return rng.chance(0.5) ? { v: [], label: '[]' } : { v: new Obj([]), label: '{}' };
    default:
      return { v: [rng.pick(EDGE_STRINGS)], label: 'array of a string' };
  }
}

/** A change of a decimal integer string (satoshis, prices): sign, size, fraction, form. */
function tweakDecimal(rng: Rng, s: string): string {
  const n = BigInt(s);
  return rng.pick([
    () => (-n).toString(),
    () => (n + 1n).toString(),
    () => (n - 1n).toString(),
    () => (n * 10n ** BigInt(rng.between(1, 30))).toString(),
    () => `${s}.5`,
    () => `0${s}`,
    () => `-${s}`,
    () => `${s}e2`,
    () => (2n ** 64n).toString(),
    () => '9'.repeat(rng.pick([16, 17, 400])),
  ])();
}

function tweakString(rng: Rng, s: string): { v: J; label: string } {
  if (/^-?\d+$/.test(s) && s.length < 40) {
    return { v: tweakDecimal(rng, s), label: 'decimal string tweaked' };
  }
  if (/^([0-9a-f]{2})+$/.test(s)) {
    const i = rng.int(s.length);
    return rng.pick([
      () => ({
        v: s.slice(0, i) + ((parseInt(s[i]!, 16) ^ 1) & 0xf).toString(16) + s.slice(i + 1),
        label: 'hex nibble flipped',
      }),
      () => ({ v: s.toUpperCase(), label: 'hex in upper case' }),
      () => ({ v: s.slice(0, -2), label: 'hex one byte short' }),
      () => ({ v: `${s}00`, label: 'hex one byte long' }),
      () => ({ v: s.slice(0, -1), label: 'hex of odd length' }),
      () => ({ v: `0x${s}`, label: 'hex with 0x' }),
    ])();
  }
  return rng.pick([
    () => ({ v: s.slice(0, rng.int(s.length + 1)), label: 'string truncated' }),
    () => ({ v: s + s, label: 'string doubled' }),
    () => ({ v: `${s}\u0000`, label: 'string with NUL' }),
    () => ({ v: `${s}🦀`, label: 'string with emoji' }),
    () => ({ v: s.toUpperCase(), label: 'string in upper case' }),
  ])();
}

function tweak(rng: Rng, v: J, dict: Dictionary): { v: J; label: string } {
  if (typeof v === 'string') return tweakString(rng, v);
  if (typeof v === 'number') {
    return rng.pick([
      () => ({ v: v + 1, label: 'number +1' }),
      () => ({ v: v - 1, label: 'number −1' }),
      () => ({ v: -v, label: 'number negated' }),
      () => ({ v: v + 0.5, label: 'number made fractional' }),
      () => ({ v: v * 2 ** 40, label: 'number ×2^40' }),
      () => ({ v: String(v), label: 'number as a string' }),
    ])();
  }
  if (typeof v === 'boolean') {
    return rng.pick([
      () => ({ v: !v, label: 'bool flipped' }),
      () => ({ v: String(v), label: 'bool as a string' }),
      () => ({ v: v ? 1 : 0, label: 'bool as a number' }),
    ])();
  }
  if (Array.isArray(v)) {
    const copy = [...v];
    return rng.pick([
      () => ({ v: [], label: 'array emptied' }),
      () => {
        copy.splice(rng.int(Math.max(1, copy.length)), 1);
        return { v: copy, label: 'array element dropped' };
      },
      () => {
        if (copy.length > 0) copy.push(copy[rng.int(copy.length)]!);
        return { v: copy, label: 'array element duplicated' };
      },
      () => {
        const e = copy.length > 0 ? copy[rng.int(copy.length)]! : null;
        // At most about a megabyte: past the frame limits, without costing the fuzzer much.
        const n = Math.min(rng.pick([2, 50, 600]), Math.ceil(1e6 / (toText(e).length + 1)));
        return { v: Array.from({ length: n }, () => e), label: `array of ${n} copies` };
      },
      () => ({ v: copy.reverse(), label: 'array reversed' }),
      () => ({ v: [...copy, edgeValue(rng, dict).v], label: 'array with an edge value' }),
    ])();
  }
  if (v instanceof Obj) {
    const entries = v.entries.map((e): [string, J] => [e[0], e[1]]);
    const i = rng.int(Math.max(1, entries.length));
    return rng.pick([
      () => {
        const [k] = entries.splice(i, 1)[0] ?? ['(none)'];
        return { v: new Obj(entries), label: `field ${k} dropped` };
      },
      () => {
        const e = entries[i];
        if (e) entries.push([e[0], rng.chance(0.5) ? e[1] : edgeValue(rng, dict).v]);
        return { v: new Obj(entries), label: `field ${e?.[0]} duplicated` };
      },
      () => {
        const k = rng.pick(['extra', '__proto__', 'constructor', 'type', '']);
        entries.push([k, edgeValue(rng, dict).v]);
        return { v: new Obj(entries), label: `field '${k}' added` };
      },
      () => {
        const e = entries[i];
        if (e) e[0] = rng.chance(0.5) ? e[0].toUpperCase() : `${e[0]} `;
        return { v: new Obj(entries), label: `field ${e?.[0]} renamed` };
      },
      () => ({
        v: new Obj(rng.chance(0.5) ? entries.reverse() : []),
        label: 'fields reordered or none',
      }),
    ])();
  }
  return edgeValue(rng, dict);
}

/** A different JSON type for `v`. */
function typeSwap(rng: Rng, v: J): { v: J; label: string } {
  const choices: (readonly [() => J, string])[] = [
    [
      () => (typeof v === 'number' ? String(v) : typeof v === 'string' ? Number(v) || 1 : 'x'),
      'string⇄number',
    ],
    [() => null, 'null'],
    [() => true, 'bool'],
    [() => [v], 'wrapped in an array'],
    [() => new Obj([['value', v]]), 'wrapped in an object'],
  ];
  const [make, label] = rng.pick(choices);
  return { v: make(), label: `type swap: ${label}` };
}

/**
 * One to three JSON-level mutations of `message` (a plain JSON value): drop, duplicate, add and
 * rename fields, swap types, edge values (huge numbers and strings, negative and fractional
 * decimal strings, deep nesting, unicode, ids the maker knows), another message type.
 */
export function mutateJson(
  rng: Rng,
  message: unknown,
  dict: Dictionary,
): { text: string; labels: string[] } {
  const root = { v: toTree(message) };
  const labels: string[] = [];
  const n = rng.weighted([
    [1, 6],
    [2, 3],
    [3, 1],
  ] as const);
  for (let k = 0; k < n; k++) {
    const all = slots(root);
    const slot = rng.pick(all);
    const op = rng.weighted([
      ['tweak', 5],
      ['edge', 3],
      ['swap', 2],
      ['type', 1],
    ] as const);
    let r: { v: J; label: string };
    if (op === 'type') {
      const typeSlot = all.find((s) => s.path === '$.type');
      const t = rng.chance(0.8)
        ? rng.pick(dict.types)
        : rng.pick(['', 'ORDER', 'no-such-type', '__proto__']);
      if (typeSlot) typeSlot.set(t);
      labels.push(`type → ${JSON.stringify(t)}`);
      continue;
    }
    if (op === 'tweak') r = tweak(rng, slot.get(), dict);
    else if (op === 'edge') r = edgeValue(rng, dict);
    else r = typeSwap(rng, slot.get());
    slot.set(r.v);
    labels.push(`${slot.path}: ${r.label}`);
  }
  return { text: toText(root.v), labels };
}

// ---- Byte-level mutations ------------------------------------------------------------------------

const INVALID_UTF8 = [
  [0xff],
  [0xc0, 0x80],
  [0x80],
  [0xed, 0xa0, 0x80],
  [0xf4, 0x90, 0x80, 0x80],
  [0xe2, 0x82],
];

const INTERESTING_BYTES = [0x00, 0xff, 0x22, 0x5c, 0x7b, 0x7d, 0x5b, 0x5d, 0x3a, 0x2c, 0x0a, 0x80];

/** Byte-level mutations of a payload: bit flips, bytes set and inserted, spans cut or doubled. */
export function mutateBytes(rng: Rng, payload: Uint8Array): { bytes: Uint8Array; label: string } {
  const b = [...payload];
  const at = () => rng.int(Math.max(1, b.length));
  switch (rng.int(9)) {
    case 0: {
      const k = rng.pick([1, 1, 2, 8]);
      for (let i = 0; i < k && b.length > 0; i++) b[at()]! ^= 1 << rng.int(8);
      return { bytes: Uint8Array.from(b), label: `${k} bit(s) flipped` };
    }
    case 1:
      if (b.length > 0) b[at()] = rng.pick(INTERESTING_BYTES);
      return { bytes: Uint8Array.from(b), label: 'a byte set' };
    case 2: {
      const seq = rng.pick(INVALID_UTF8);
      b.splice(at(), 0, ...seq);
      return { bytes: Uint8Array.from(b), label: 'invalid UTF-8 inserted' };
    }
    case 3: {
      const i = at();
      b.splice(i, rng.between(1, 64));
      return { bytes: Uint8Array.from(b), label: 'span deleted' };
    }
    case 4: {
      const i = at();
      const span = b.slice(i, i + rng.between(1, 256));
      b.splice(i, 0, ...span);
      return { bytes: Uint8Array.from(b), label: 'span doubled' };
    }
    case 5: {
      // Cut right before a JSON token, or anywhere.
      const tokens = b.flatMap((c, i) => ('{}[]:,"'.includes(String.fromCharCode(c)) ? [i] : []));
      const i = tokens.length > 0 && rng.chance(0.6) ? rng.pick(tokens) : at();
      return { bytes: Uint8Array.from(b.slice(0, i)), label: `payload cut at ${i}/${b.length}` };
    }
    case 6:
      return { bytes: Uint8Array.from([0xef, 0xbb, 0xbf, ...b]), label: 'UTF-8 BOM prefixed' };
    case 7:
      return {
        bytes: Uint8Array.from([...b, ...rng.bytes(rng.between(1, 32))]),
        label: 'garbage appended in the payload',
      };
    default: {
      const from = rng.pick([0x22, 0x3a, 0x2c]);
      const to = rng.pick([0x27, 0x3d, 0x3b]);
      return {
        bytes: Uint8Array.from(b.map((c) => (c === from ? to : c))),
        label: `every ${String.fromCharCode(from)} replaced`,
      };
    }
  }
}

// ---- Frames --------------------------------------------------------------------------------------

/** Unsigned LEB128, for any safe integer (the wire's length prefix). */
export function varint(n: number): Uint8Array {
  const out: number[] = [];
  let v = n;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return Uint8Array.from(out);
}

/** `n` encoded in `extra` more bytes than it needs (continuation bytes of zeros). */
function overlongVarint(n: number, extra: number): Uint8Array {
  const v = [...varint(n)];
  v[v.length - 1]! |= 0x80;
  for (let i = 1; i < extra; i++) v.push(0x80);
  v.push(0x00);
  return Uint8Array.from(v);
}

export const frame = (payload: Uint8Array): Uint8Array => concat(varint(payload.length), payload);

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

/** What one case writes: chunks, written one after the other (a gap between them if asked). */
export interface Writes {
  readonly chunks: Uint8Array[];
  readonly gapMs?: number;
}

/**
 * How the attack frame goes on the wire. `payload` is the (maybe mutated) message, `others` are
 * valid messages of the protocol (earlier and later steps) for duplication and reordering,
 * `maxBytes` the receiver's frame limit.
 */
export function frameAttack(
  rng: Rng,
  payload: Uint8Array,
  others: readonly Uint8Array[],
  maxBytes: number,
): { writes: Writes; label: string } {
  const one = (chunks: Uint8Array[], label: string, gapMs?: number) => ({
    writes: { chunks, ...(gapMs !== undefined && { gapMs }) },
    label,
  });
  const len = payload.length;
  switch (
    rng.weighted([
      ['plain', 8],
      ['lenLong', 1],
      ['lenShort', 1],
      ['lenHuge', 1],
      ['lenZero', 1],
      ['lenOverlong', 1],
      ['cutVarint', 1],
      ['cutPayload', 2],
      ['twice', 1],
      ['reordered', 2],
      ['garbageAfter', 1],
      ['split', 1],
      ['oversized', 1],
      ['garbageOnly', 1],
    ] as const)
  ) {
    case 'plain':
      return one([frame(payload)], 'framed');
    case 'lenLong': {
      const k = rng.pick([1, 10, 1000]);
      return one([varint(len + k), payload], `length prefix ${k} too long`);
    }
    case 'lenShort': {
      const k = rng.between(1, Math.max(1, len));
      return one([varint(Math.max(0, len - k)), payload], `length prefix ${k} too short`);
    }
    case 'lenHuge': {
      const n = rng.pick([maxBytes + 1, 2 ** 31, 2 ** 32 + 7, Number.MAX_SAFE_INTEGER]);
      return rng.chance(0.2)
        ? one(
            [Uint8Array.from([...Array(10).fill(0xff), 0x01]), payload],
            'length prefix overflows 64 bits',
          )
        : one([varint(n), payload], `length prefix ${n}`);
    }
    case 'lenZero':
      return one([varint(0), payload], 'zero length prefix, then the payload');
    case 'lenOverlong': {
      const extra = rng.between(1, 6);
      return one([overlongVarint(len, extra), payload], `length prefix ${extra} byte(s) overlong`);
    }
    case 'cutVarint': {
      const v = varint(Math.max(len, 200));
      return one([v.slice(0, Math.max(1, v.length - 1))], 'frame cut inside its length prefix');
    }
    case 'cutPayload': {
      const cut = rng.pick([0, 1, Math.floor(len / 2), Math.max(0, len - 1)]);
      return one([varint(len), payload.slice(0, cut)], `frame cut after ${cut}/${len} bytes`);
    }
    case 'twice':
      return one([frame(payload), frame(payload)], 'frame sent twice');
    case 'reordered': {
      const o = others.length > 0 ? rng.pick(others) : payload;
      return rng.chance(0.5)
        ? one([frame(o), frame(payload)], 'another step first, then the frame')
        : one([frame(payload), frame(o)], 'the frame, then another step');
    }
    case 'garbageAfter':
      return one([concat(frame(payload), rng.bytes(rng.between(1, 512)))], 'frame then garbage');
    case 'split': {
      const all = frame(payload);
      const chunks: Uint8Array[] = [];
      const size = rng.pick([1, 3, 64]);
      for (let i = 0; i < all.length && chunks.length < 40; i += size) {
        chunks.push(all.slice(i, chunks.length === 39 ? all.length : i + size));
      }
      return one(chunks, `frame in ${chunks.length} writes of ${size}`, rng.pick([0, 1, 5]));
    }
    case 'oversized': {
      // Really that many bytes, when that is cheap; the receiver must refuse without reading them.
      const n = Math.min(maxBytes + 1, 256 * 1024);
      const big = new Uint8Array(n).fill(0x20);
      return one([varint(maxBytes + 1), big], `length prefix ${maxBytes + 1} with ${n} bytes`);
    }
    case 'garbageOnly': {
      const g = rng.pick([
        () => rng.bytes(rng.between(1, 2048)),
        () => utf8('GET / HTTP/1.1\r\nHost: x\r\n\r\n'),
        () => utf8('/multistream/1.0.0\n'),
        () => new Uint8Array(rng.between(1, 64)),
      ])();
      return one([g], `${g.length} bytes of garbage`);
    }
  }
}

// ---- A raw stream ------------------------------------------------------------------------------

/** How the peer ended a stream, as this side saw it. */
export type End = 'closed' | 'reset' | 'hung';

/** A libp2p stream written to byte by byte; frames read from it as JSON. */
export class RawStream {
  readonly stream: Stream;
  readonly #bytes: ByteStream<Stream>;
  /** Frames read from the peer. */
  frames = 0;
  /** Never close our side (a peer that leaves its streams open). */
  leaveOpen = false;

  constructor(stream: Stream) {
    this.stream = stream;
    this.#bytes = byteStream(stream, { maxBufferSize: 16 * 1024 * 1024 });
  }

  /** Writes each chunk; false once the stream no longer takes them (the peer reset it). */
  async write(w: Writes): Promise<boolean> {
    try {
      for (const [i, c] of w.chunks.entries()) {
        if (i > 0 && w.gapMs) await new Promise((r) => setTimeout(r, w.gapMs));
        await this.#bytes.write(c, { signal: AbortSignal.timeout(10_000) });
      }
      return true;
    } catch {
      return false;
    }
  }

  /** The peer's next frame as JSON, or how the stream ended instead. */
  async readFrame(ms: number): Promise<{ json: unknown } | { end: End }> {
    const signal = AbortSignal.timeout(ms);
    try {
      const len: number[] = [];
      for (;;) {
        const b = (await this.#bytes.read({ bytes: 1, signal })).subarray()[0]!;
        len.push(b);
        if (b < 0x80) break;
        if (len.length > 8) return { end: 'reset' };
      }
      const n = len.reduceRight((acc, b) => acc * 0x80 + (b & 0x7f), 0);
      const data =
        n === 0 ? new Uint8Array() : (await this.#bytes.read({ bytes: n, signal })).subarray();
      this.frames++;
      return { json: JSON.parse(new TextDecoder().decode(data)) };
    } catch (err) {
      if (signal.aborted) return { end: 'hung' };
      return { end: (err as Error).name === 'UnexpectedEOFError' ? 'closed' : 'reset' };
    }
  }

  /** Reads until the peer ends its side: closed (EOF), reset, or still open after `ms` (hung). */
  async awaitEnd(ms: number): Promise<End> {
    const signal = AbortSignal.timeout(ms);
    try {
      for (;;) {
        const chunk = await this.#bytes.read({ signal });
        if (chunk === null) return 'closed';
      }
    } catch {
      return signal.aborted ? 'hung' : 'reset';
    }
  }

  /** Half-closes our side. */
  async closeWrite(): Promise<void> {
    await this.stream.close({ signal: AbortSignal.timeout(5_000) }).catch(() => undefined);
  }

  reset(): void {
    this.stream.abort(new Error('fuzz: reset'));
  }

  /** The case is over: our side is closed unless it is to stay open. Returns the frames read. */
  release(): number {
    if (!this.leaveOpen && this.stream.writeStatus === 'writable') void this.closeWrite();
    return this.frames;
  }
}
