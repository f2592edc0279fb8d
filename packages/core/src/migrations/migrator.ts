import type { Kysely } from 'kysely';
import type { Clock } from '../clock.js';
import { PlinthError } from '../errors.js';
import type { Storage } from '../storage/storage.js';
import type { Migration } from './migration.js';

/** A migration with the module it belongs to; its id is `module/name`. */
export interface ModuleMigration {
  module: string;
  migration: Migration;
}

export interface MigrationStatus {
  id: string;
  module: string;
  name: string;
  appliedAt: string | null;
  /** True for a recorded migration that no loaded module declares. */
  unknown?: boolean;
}

export interface MigrationResult {
  /** Ids applied (up) or reverted (down), in the order they ran. */
  ids: string[];
}

export interface Migrator {
  status(): Promise<MigrationStatus[]>;
  pending(): Promise<MigrationStatus[]>;
  /** Applies every pending migration in one locked transaction. Safe to run twice, and from two processes at once. */
  up(): Promise<MigrationResult>;
  /** Reverts the last `steps` applied migrations (default 1) in one locked transaction. */
  down(steps?: number): Promise<MigrationResult>;
  /**
   * Applies pending migrations inside `trx`, an open transaction the caller
   * commits: the given ids in the given order (every one must be declared), or
   * else every pending one. Used by restores, which build a schema and load it
   * in one transaction.
   */
  applyIn(trx: Kysely<any>, ids?: readonly string[]): Promise<MigrationResult>;
}

const TABLE = 'plinth_migrations';

interface Row {
  id: string;
  applied_at: string;
  seq: number;
}

export function createMigrator(storage: Storage, migrations: ModuleMigration[], clock: Clock): Migrator {
  const byId = new Map<string, ModuleMigration>();
  for (const m of migrations) {
    const id = `${m.module}/${m.migration.name}`;
    if (byId.has(id)) throw new PlinthError('migrations.failed', `Migration ${id} is declared twice`);
    byId.set(id, m);
  }
  const ctx = { dialect: storage.dialect, types: storage.types, fullText: storage.fullText };

  async function ensureTable(db: Kysely<any>) {
    await db.schema
      .createTable(TABLE)
      .ifNotExists()
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('module', 'text', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('seq', 'integer', (c) => c.notNull())
      .addColumn('applied_at', storage.types.timestamp, (c) => c.notNull())
      .execute();
  }

  async function applied(db: Kysely<any>): Promise<Row[]> {
    return (await db.selectFrom(TABLE).select(['id', 'applied_at', 'seq']).orderBy('seq').execute()) as Row[];
  }

  async function tableExists(): Promise<boolean> {
    const tables = await storage.db.introspection.getTables();
    return tables.some((t) => t.name === TABLE);
  }

  async function locked<T>(fn: (trx: Kysely<any>) => Promise<T>): Promise<T> {
    return storage.db.transaction().execute(async (trx) => {
      await storage.lockMigrations(trx);
      await ensureTable(trx);
      return fn(trx);
    });
  }

  function describe(rows: Row[]): MigrationStatus[] {
    const done = new Map(rows.map((r) => [r.id, r]));
    const out: MigrationStatus[] = [];
    for (const [id, m] of byId) {
      out.push({ id, module: m.module, name: m.migration.name, appliedAt: done.get(id)?.applied_at ?? null });
    }
    for (const r of rows) {
      if (byId.has(r.id)) continue;
      const [module = '', ...rest] = r.id.split('/');
      out.push({ id: r.id, module, name: rest.join('/'), appliedAt: r.applied_at, unknown: true });
    }
    return out;
  }

  async function run(id: string, direction: 'up' | 'down', trx: Kysely<any>) {
    const m = byId.get(id)!;
    try {
      await m.migration[direction](trx, ctx);
    } catch (error) {
      throw new PlinthError('migrations.failed', `Migration ${id} (${direction}) failed: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }

  return {
    async status() {
      return describe((await tableExists()) ? await applied(storage.db) : []);
    },
    async pending() {
      return (await this.status()).filter((s) => s.appliedAt === null);
    },
    async applyIn(trx, only) {
      await ensureTable(trx);
      const rows = await applied(trx);
      const done = new Set(rows.map((r) => r.id));
      let seq = rows.reduce((max, r) => Math.max(max, Number(r.seq)), 0);
      const unknown = only?.filter((id) => !byId.has(id)) ?? [];
      if (unknown.length) throw new PlinthError('migrations.unknown', `No loaded module declares ${unknown.join(', ')}`);
      const ids: string[] = [];
      for (const id of only ?? [...byId.keys()]) {
        if (done.has(id)) continue;
        await run(id, 'up', trx);
        const m = byId.get(id)!;
        await trx
          .insertInto(TABLE)
          .values({ id, module: m.module, name: m.migration.name, seq: ++seq, applied_at: new Date(clock.now()).toISOString() })
          .execute();
        done.add(id);
        ids.push(id);
      }
      return { ids };
    },
    up() {
      return locked((trx) => this.applyIn(trx));
    },
    down: (steps = 1) =>
      locked(async (trx) => {
        if (!Number.isInteger(steps) || steps < 1) {
          throw new PlinthError('request.bad_request', 'steps must be a whole number of at least 1');
        }
        const rows = (await applied(trx)).reverse().slice(0, steps);
        const ids: string[] = [];
        for (const row of rows) {
          if (!byId.has(row.id)) {
            throw new PlinthError('migrations.unknown', `Cannot revert ${row.id}: no loaded module declares it`);
          }
          await run(row.id, 'down', trx);
          await trx.deleteFrom(TABLE).where('id', '=', row.id).execute();
          ids.push(row.id);
        }
        return { ids };
      }),
  };
}

