import { type Compilable, type CompiledQuery, createQueryId, type Kysely, type QueryResult } from 'kysely';

/** Stands for a named value while the statement is compiled (never sent to the database). */
class Placeholder {
  constructor(readonly name: string) {}
}

/**
 * A statement built with Kysely once, then run with other values: building and compiling a
 * query costs ~10 µs of CPU, more than SQLite takes to run a small one, so hot fixed statements
 * (sign-in's) pay it once per process. `build` receives one placeholder per name and puts each
 * where a value goes (a `where` operand, an `in` list item, an inserted column); values written
 * in `build` itself stay constants. The SQL text is compiled for the dialect of the first `db`
 * it runs on (one kernel, one dialect); `run` executes it on `db`, which may be a transaction.
 */
export function compileOnce<K extends string>(names: readonly K[], build: (values: Record<K, unknown>) => Compilable<unknown>) {
  let template: { compiled: CompiledQuery; slots: (K | undefined)[] } | undefined;

  function compile(): { compiled: CompiledQuery; slots: (K | undefined)[] } {
    const placeholders = Object.fromEntries(names.map((name) => [name, new Placeholder(name)])) as Record<K, unknown>;
    const compiled = build(placeholders).compile();
    const slots = compiled.parameters.map((p) => (p instanceof Placeholder ? (p.name as K) : undefined));
    const missing = names.filter((name) => !slots.includes(name));
    if (missing.length) throw new Error(`compileOnce: ${missing.join(', ')} not used in ${compiled.sql}`);
    return { compiled, slots };
  }

  return {
    /** Runs the statement with `values` on `db` (the kernel's, or a transaction). */
    run<R = unknown>(db: Kysely<any>, values: Record<K, unknown>): Promise<QueryResult<R>> {
      try {
        template ??= compile();
      } catch (error) {
        return Promise.reject(error);
      }
      const { compiled, slots } = template;
      const parameters = compiled.parameters.map((constant, i) => {
        const slot = slots[i];
        return slot === undefined ? constant : values[slot];
      });
      return db.executeQuery<R>({ ...compiled, queryId: createQueryId(), parameters } as CompiledQuery<R>);
    },
  };
}

const MAX_CACHED_LENGTH = 256;

/**
 * `compileOnce` for a statement whose shape follows a list (an `in` list, a `case` arm per item):
 * compiled once per number of values. `build` receives one placeholder per value, in order
 * (the same placeholder may be used several times); `run` takes the values in that order.
 */
export function compileOncePerLength(build: (values: readonly unknown[]) => Compilable<unknown>) {
  const byLength = new Map<number, ReturnType<typeof compileOnce<string>>>();
  return {
    run<R = unknown>(db: Kysely<any>, values: readonly unknown[]): Promise<QueryResult<R>> {
      let statement = byLength.get(values.length);
      if (!statement) {
        // Named by position: "0", "1", … so that the list itself is the record of values.
        const names = values.map((_, i) => String(i));
        statement = compileOnce(names, (named) => build(names.map((name) => named[name])));
        // Long lists are rare (an order has at most 100 lines): kept only up to a bound, so odd lengths cannot pile up.
        if (values.length <= MAX_CACHED_LENGTH) byLength.set(values.length, statement);
      }
      return statement.run<R>(db, values as unknown as Record<string, unknown>);
    },
  };
}
