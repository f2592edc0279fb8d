import { type Kysely, sql } from 'kysely';
import { bucketsOf } from './buckets.js';
import { type AnalyticsEvent, factsOf } from './facts.js';
import { ACTIVE_USERS_TABLE, APPLIED_TABLE, ROLLUPS_TABLE, STATE_TABLE } from './migrations.js';

const CHUNK = 200;

/** What one batch changed. */
export interface ApplyResult {
  /** Events counted now (the others had been counted before). */
  applied: number;
  /** Events skipped because their id was already recorded. */
  duplicates: number;
}

/** The time zone the stored rollups are bucketed in (set by the first event or by a rebuild). */
export async function storedTimeZone(db: Kysely<any>): Promise<string | undefined> {
  const row = (await db.selectFrom(STATE_TABLE).select('value').where('key', '=', 'timezone').executeTakeFirst()) as { value: string } | undefined;
  return row?.value;
}

export async function setStoredTimeZone(db: Kysely<any>, timeZone: string, at: string): Promise<void> {
  await db
    .insertInto(STATE_TABLE)
    .values({ key: 'timezone', value: timeZone, updated_at: at })
    .onConflict((oc) => oc.column('key').doUpdateSet({ value: timeZone, updated_at: at }))
    .execute();
}

/**
 * Adds a batch of events to the rollups, in the caller's transaction. The
 * event ids go in first (`on conflict do nothing`): only the ids that were
 * new are counted, so an event applied twice, or by two workers at once,
 * counts once. Sums are added with one upsert per counter.
 */
export async function applyEvents(
  db: Kysely<any>,
  events: readonly AnalyticsEvent[],
  options: { defaultTimeZone: string; now: string },
): Promise<ApplyResult> {
  if (events.length === 0) return { applied: 0, duplicates: 0 };
  let timeZone = await storedTimeZone(db);
  if (!timeZone) {
    timeZone = options.defaultTimeZone;
    await setStoredTimeZone(db, timeZone, options.now);
  }
  const unique = [...new Map(events.map((e) => [e.id, e])).values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const fresh = new Set<string>();
  for (let i = 0; i < unique.length; i += CHUNK) {
    const rows = unique.slice(i, i + CHUNK).map((e) => ({ event_id: e.id, event_type: e.type, event_at: e.createdAt, applied_at: options.now }));
    const inserted = (await db
      .insertInto(APPLIED_TABLE)
      .values(rows)
      .onConflict((oc) => oc.column('event_id').doNothing())
      .returning('event_id')
      .execute()) as { event_id: string }[];
    for (const r of inserted) fresh.add(r.event_id);
  }

  const sums = new Map<string, { grain: string; bucket: string; metric: string; dim: string; value: number }>();
  const active = new Map<string, { day: string; user_id: string }>();
  for (const event of unique) {
    if (!fresh.has(event.id)) continue;
    const { contributions, userId } = factsOf(event);
    const { day, hour } = bucketsOf(event.createdAt, timeZone);
    for (const c of contributions) {
      for (const [grain, bucket] of [['day', day], ['hour', hour]] as const) {
        const key = `${grain}\u0000${bucket}\u0000${c.metric}\u0000${c.dim}`;
        const sum = sums.get(key);
        if (sum) sum.value += c.value;
        else sums.set(key, { grain, bucket, metric: c.metric, dim: c.dim, value: c.value });
      }
    }
    if (userId) active.set(`${day}\u0000${userId}`, { day, user_id: userId });
  }

  // A fixed order of row locks: two transactions adding to the same counters never deadlock.
  const counters = [...sums.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, v]) => v);
  for (let i = 0; i < counters.length; i += CHUNK) {
    await db
      .insertInto(ROLLUPS_TABLE)
      .values(counters.slice(i, i + CHUNK))
      .onConflict((oc) =>
        oc.columns(['grain', 'bucket', 'metric', 'dim']).doUpdateSet({ value: sql`${sql.ref(`${ROLLUPS_TABLE}.value`)} + excluded.value` }),
      )
      .execute();
  }
  const users = [...active.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, v]) => v);
  for (let i = 0; i < users.length; i += CHUNK) {
    await db
      .insertInto(ACTIVE_USERS_TABLE)
      .values(users.slice(i, i + CHUNK))
      .onConflict((oc) => oc.columns(['day', 'user_id']).doNothing())
      .execute();
  }
  return { applied: fresh.size, duplicates: events.length - fresh.size };
}
