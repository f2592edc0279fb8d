/**
 * Values in the logical format. A row is a JSON array in the manifest's column
 * order. JSON has no blobs, 64-bit integers or NaN, so those are tagged
 * objects (no other value is ever an object: JSON documents are stored as
 * their text):
 * - `{"$b":"<base64>"}` bytes, `{"$i":"<digits>"}` an integer beyond 2^53,
 *   `{"$f":"NaN"|"Infinity"|"-Infinity"}` a non-finite float.
 * Booleans are `true`/`false` from PostgreSQL and 0/1 from SQLite (where a
 * boolean is an integer); both dialects accept either on the way in.
 */
export type EncodedValue = null | boolean | number | string | { $b: string } | { $i: string } | { $f: string };

export function encodeValue(value: unknown): EncodedValue {
  if (value === null || value === undefined) return null;
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      return Number.isFinite(value) ? value : { $f: String(value) };
    case 'bigint':
      return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : { $i: value.toString() };
  }
  if (value instanceof Uint8Array) return { $b: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64') };
  if (value instanceof Date) return value.toISOString();
  throw new Error(`cannot encode a ${Object.prototype.toString.call(value)} value`);
}

/** Decodes a logical value to what the drivers bind (Buffer, bigint, number, string, boolean, null). */
export function decodeValue(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  const tagged = value as Record<string, unknown>;
  if (typeof tagged.$b === 'string') return Buffer.from(tagged.$b, 'base64');
  if (typeof tagged.$i === 'string' && /^-?\d+$/.test(tagged.$i)) return BigInt(tagged.$i);
  if (typeof tagged.$f === 'string') return Number(tagged.$f);
  throw new Error(`unknown value ${JSON.stringify(value).slice(0, 80)}`);
}

/** JSON with object keys sorted, so two equal documents give the same text. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value);
}
