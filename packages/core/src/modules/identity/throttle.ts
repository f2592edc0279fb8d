import type { KernelContext } from '../../module.js';
import { compileOnce } from '../../storage/compile-once.js';

export interface ThrottleState {
  locked: boolean;
  /** Seconds until the lock lifts. */
  retryAfter: number;
  /** The keys that had a row (failures counted, or a lock) when checked. */
  tracked: ReadonlySet<string>;
}

interface Row {
  key: string;
  failures: number;
  window_started_at: string;
  locked_until: string | null;
  lockouts: number;
}

/**
 * Failed sign-ins counted per key (`account:<email>`, `ip:<address>`) in a
 * window. At the threshold the key locks, for a time that doubles with each
 * lockout up to a maximum. A successful sign-in clears the account's count.
 */
export function createThrottle(kernel: KernelContext) {
  const c = kernel.config.auth;
  const limits = { account: c.lockoutAccountFailures, ip: c.lockoutIpFailures };
  // Sign-in's check (an account and an IP; one key twice when there is no IP), compiled once.
  const lockedUntil = compileOnce(['a', 'b'], (v) => kernel.storage.db.selectFrom('auth_throttles').select(['key', 'locked_until']).where('key', 'in', [v.a, v.b]));

  return {
    /**
     * Whether any of the keys is locked now (one statement for all of them), and which keys
     * have a row at all: a key without one has nothing for `reset` to clear.
     */
    async check(keys: string[]): Promise<ThrottleState> {
      const now = kernel.clock.now();
      let until = 0;
      const tracked = new Set<string>();
      const rows = (
        keys.length <= 2
          ? (await lockedUntil.run(kernel.db, { a: keys[0], b: keys[1] ?? keys[0] })).rows
          : await kernel.db.selectFrom('auth_throttles').select(['key', 'locked_until']).where('key', 'in', keys).execute()
      ) as Pick<Row, 'key' | 'locked_until'>[];
      for (const row of rows) {
        tracked.add(row.key);
        if (row.locked_until) until = Math.max(until, Date.parse(row.locked_until));
      }
      return until > now ? { locked: true, retryAfter: Math.ceil((until - now) / 1000), tracked } : { locked: false, retryAfter: 0, tracked };
    },

    /** Counts a failure on each key (inside the caller's transaction); answers the keys that just locked. */
    async fail(keys: { key: string; kind: 'account' | 'ip' }[]): Promise<{ key: string; kind: 'account' | 'ip'; seconds: number }[]> {
      const now = kernel.clock.now();
      const iso = (ms: number) => new Date(ms).toISOString();
      const locked: { key: string; kind: 'account' | 'ip'; seconds: number }[] = [];
      for (const { key, kind } of keys) {
        const row = await kernel.storage.forUpdate(kernel.db.selectFrom('auth_throttles').selectAll().where('key', '=', key)).executeTakeFirst() as Row | undefined;
        const fresh = !row || now - Date.parse(row.window_started_at) > c.lockoutWindowSeconds * 1000;
        const failures = (fresh ? 0 : row.failures) + 1;
        const lockouts = row?.lockouts ?? 0;
        let lockedUntil: string | null = row?.locked_until && Date.parse(row.locked_until) > now ? row.locked_until : null;
        let nextFailures = failures;
        let nextLockouts = lockouts;
        if (failures >= limits[kind]) {
          const seconds = Math.min(c.lockoutBaseSeconds * 2 ** lockouts, c.lockoutMaxSeconds);
          lockedUntil = iso(now + seconds * 1000);
          nextFailures = 0;
          nextLockouts = lockouts + 1;
          locked.push({ key, kind, seconds });
        }
        const values = { failures: nextFailures, window_started_at: fresh ? iso(now) : row!.window_started_at, locked_until: lockedUntil, lockouts: nextLockouts };
        if (row) await kernel.db.updateTable('auth_throttles').set(values).where('key', '=', key).execute();
        else await kernel.db.insertInto('auth_throttles').values({ key, ...values }).execute();
      }
      return locked;
    },

    /** Clears a key after a success. */
    async reset(key: string): Promise<void> {
      await kernel.db.deleteFrom('auth_throttles').where('key', '=', key).execute();
    },
  };
}

export type Throttle = ReturnType<typeof createThrottle>;
