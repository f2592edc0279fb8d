import { afterEach } from 'vitest';
import { type CreatePlinthOptions, createPlinth, type Plinth } from '../../src/index.js';
import { createTestDatabase, type TestDatabase, type TestDialect } from '../../src/testing/index.js';

export interface Harness {
  /** A fresh, empty database, dropped after the test. */
  database(dialect: TestDialect): Promise<TestDatabase>;
  /** A Plinth instance on `url` (no `PLINTH_*` variables, silent log), closed after the test. */
  plinth(url: string, options?: CreatePlinthOptions): Plinth;
  /** Runs `fn` after the test, before anything registered earlier. */
  defer(fn: () => unknown): void;
}

/** Call at the top of a file or `describe`: everything a test opens is closed (newest first) after it. */
export function useHarness(): Harness {
  const cleanups: Array<() => unknown> = [];
  afterEach(async () => {
    const errors: unknown[] = [];
    while (cleanups.length) {
      try {
        await cleanups.pop()!();
      } catch (error) {
        errors.push(error);
      }
    }
    if (errors.length) throw new AggregateError(errors, 'cleanup failed');
  });
  return {
    async database(dialect) {
      const db = await createTestDatabase(dialect);
      cleanups.push(() => db.drop());
      return db;
    },
    plinth(url, options = {}) {
      const plinth = createPlinth({ databaseUrl: url, processEnv: false, logLevel: 'silent', builtins: false, ...options });
      cleanups.push(() => plinth.close());
      return plinth;
    },
    defer(fn) {
      cleanups.push(fn);
    },
  };
}
