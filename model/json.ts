/**
 * JSON that keeps bigints exact: a bigint is written as `{"$bigint":"123"}` and read back as
 * `123n`. Used for persisted events and snapshots, where an amount must come back to the satoshi.
 * Plain `JSON.stringify` throws on bigints and `Number` would silently lose precision above 2^53.
 */

const TAG = '$bigint';

/** Serialises a value, bigints included, to JSON text. */
export function stringify(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    typeof v === 'bigint' ? { [TAG]: v.toString() } : v,
  );
}

/** Parses JSON text written by {@link stringify}, restoring bigints. */
export function parse<T = unknown>(text: string): T {
  return JSON.parse(text, (_key, v: unknown) => {
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      const s = (v as Record<string, unknown>)[TAG];
      if (typeof s === 'string' && Object.keys(v).length === 1) return BigInt(s);
    }
    return v;
  }) as T;
}
