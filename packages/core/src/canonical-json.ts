/**
 * JSON with object keys sorted at every level, so that `{"a":1,"b":2}` and
 * `{ "b": 2, "a": 1 }` are the same request body. Takes what `JSON.parse`
 * gives (no `undefined`, functions or cycles).
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const keys = Object.keys(value).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`).join(',')}}`;
}
