/**
 * Time buckets of the rollups, in the configured time zone: an hour bucket is
 * `YYYY-MM-DDTHH` and a day bucket `YYYY-MM-DD`, both local. Weeks (starting
 * Monday, named by their Monday) and months (`YYYY-MM`) are sums of days.
 */

export type Grain = 'hour' | 'day';
export type GroupBy = 'hour' | 'day' | 'week' | 'month';

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', hourCycle: 'h23' });
    formatters.set(timeZone, f);
  }
  return f;
}

/** The local day and hour buckets of an instant. */
export function bucketsOf(at: string | number | Date, timeZone: string): { day: string; hour: string } {
  const date = at instanceof Date ? at : new Date(at);
  if (Number.isNaN(date.getTime())) throw new RangeError(`Not a time: ${String(at)}`);
  const parts: Record<string, string> = {};
  for (const p of formatter(timeZone).formatToParts(date)) parts[p.type] = p.value;
  const day = `${parts.year}-${parts.month}-${parts.day}`;
  return { day, hour: `${day}T${parts.hour}` };
}

const DAY_MS = 86_400_000;

/** `YYYY-MM-DD` → days since 1970-01-01 (calendar arithmetic, no time zone). */
export function dayNumber(day: string): number {
  return Math.round(Date.parse(`${day}T00:00:00Z`) / DAY_MS);
}

export function dayOf(n: number): string {
  return new Date(n * DAY_MS).toISOString().slice(0, 10);
}

export function addDays(day: string, n: number): string {
  return dayOf(dayNumber(day) + n);
}

/** True for a real calendar date written `YYYY-MM-DD`. */
export function isDay(value: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value)) return false;
  const t = Date.parse(`${value}T00:00:00Z`);
  return !Number.isNaN(t) && new Date(t).toISOString().slice(0, 10) === value;
}

/** The bucket a day (or hour bucket) belongs to when grouped. */
export function groupKey(bucket: string, groupBy: GroupBy): string {
  const day = bucket.slice(0, 10);
  switch (groupBy) {
    case 'hour':
      return bucket;
    case 'day':
      return day;
    case 'month':
      return day.slice(0, 7);
    case 'week': {
      const n = dayNumber(day);
      const weekday = (new Date(n * DAY_MS).getUTCDay() + 6) % 7; // Monday 0
      return dayOf(n - weekday);
    }
  }
}

/** Every group key from `from` to `to` (days, inclusive), in order: empty buckets are answered too. */
export function groupKeys(from: string, to: string, groupBy: GroupBy): string[] {
  const keys: string[] = [];
  const seen = new Set<string>();
  for (let n = dayNumber(from); n <= dayNumber(to); n++) {
    const day = dayOf(n);
    if (groupBy === 'hour') {
      for (let h = 0; h < 24; h++) keys.push(`${day}T${String(h).padStart(2, '0')}`);
      continue;
    }
    const key = groupKey(day, groupBy);
    if (!seen.has(key)) {
      seen.add(key);
      keys.push(key);
    }
  }
  return keys;
}
