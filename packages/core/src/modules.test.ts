import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineRoute } from './contract/index.js';
import { type AnyModule, createPlinth, defineModule, implement, type Migration, type Plinth, PlinthError } from './index.js';

const noop: Migration['up'] = async () => {};
const migration = (name: string): Migration => ({ name, up: noop, down: noop });

const opened: Plinth[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((p) => p.close()));
});

/** A Plinth on an in-memory database; nothing connects until a query runs. */
function app(modules: AnyModule[]): Plinth {
  const plinth = createPlinth({ databaseUrl: 'sqlite::memory:', processEnv: false, logLevel: 'silent', builtins: false, modules });
  opened.push(plinth);
  return plinth;
}

function modulesError(modules: AnyModule[]): PlinthError {
  try {
    app(modules);
  } catch (error) {
    expect(error).toBeInstanceOf(PlinthError);
    expect(error).toMatchObject({ code: 'modules.invalid' });
    return error as PlinthError;
  }
  throw new Error('expected the module list to be rejected');
}

describe('module loading', () => {
  it('orders modules after their dependencies and keeps the given order otherwise', () => {
    const plinth = app([
      defineModule({ name: 'orders', dependsOn: ['catalog', 'inventory'] }),
      defineModule({ name: 'audit' }),
      defineModule({ name: 'inventory', dependsOn: ['catalog'] }),
      defineModule({ name: 'catalog' }),
    ]);
    expect(plinth.modules.map((m) => m.name)).toEqual(['kernel', 'catalog', 'inventory', 'orders', 'audit']);
  });

  it('runs migrations in module order, so a module migrates after what it depends on', async () => {
    const plinth = app([
      defineModule({ name: 'orders', dependsOn: ['catalog'], migrations: [migration('0001-create-orders'), migration('0002-add-totals')] }),
      defineModule({ name: 'catalog', migrations: [migration('0001-create-products')] }),
    ]);
    expect((await plinth.migrator.up()).ids).toEqual([
      'kernel/0001-create-outbox',
      'kernel/0002-create-idempotency-keys',
      'kernel/0003-create-jobs',
      'kernel/0004-trace-context',
      'kernel/0005-jobs-lean-indexes',
      'kernel/0006-jobs-claim-function',
      'catalog/0001-create-products',
      'orders/0001-create-orders',
      'orders/0002-add-totals',
    ]);
  });

  it('detects dependency cycles and names them', () => {
    const error = modulesError([
      defineModule({ name: 'a', dependsOn: ['b'] }),
      defineModule({ name: 'b', dependsOn: ['c'] }),
      defineModule({ name: 'c', dependsOn: ['a'] }),
    ]);
    expect(error.message).toContain('a → b → c → a');
    expect(modulesError([defineModule({ name: 'self', dependsOn: ['self'] })]).message).toContain('cycle');
  });

  it('rejects a dependency on a module that is not loaded', () => {
    const error = modulesError([defineModule({ name: 'orders', dependsOn: ['payments'] })]);
    expect(error.message).toContain('"orders" depends on "payments"');
  });

  it('rejects a module loaded twice, including one named like the kernel', () => {
    expect(modulesError([defineModule({ name: 'catalog' }), defineModule({ name: 'catalog' })]).message).toContain('"catalog" is loaded twice');
    expect(modulesError([defineModule({ name: 'kernel' })]).message).toContain('"kernel" is loaded twice');
  });

  it('rejects an event declared by two modules', () => {
    const error = modulesError([
      defineModule({ name: 'orders', events: { 'order.paid': z.object({ id: z.string() }) } }),
      defineModule({ name: 'payments', events: { 'order.paid': z.object({ id: z.string() }) } }),
    ]);
    expect(error.message).toContain('"order.paid" is declared by both "orders" and "payments"');
  });

  it('rejects invalid module names and a migration declared twice', () => {
    expect(modulesError([defineModule({ name: 'Orders' })]).message).toContain('Invalid module name "Orders"');
    expect(modulesError([defineModule({ name: 'x', migrations: [migration('0001-a'), migration('0001-a')] })]).message).toContain(
      'declares migration "0001-a" twice',
    );
  });

  it('builds services once and finds them by module name', () => {
    let built = 0;
    const plinth = app([
      defineModule({
        name: 'greetings',
        services: (kernel) => {
          built++;
          return { hello: (who: string) => `hello ${who} from ${kernel.config.env}` };
        },
      }),
    ]);
    expect(built).toBe(1);
    expect(plinth.service<{ hello(who: string): string }>('greetings').hello('ada')).toBe('hello ada from development');
    expect(() => plinth.service('nope')).toThrow(expect.objectContaining({ code: 'modules.invalid' }));
  });

  it('collects every module route, in module order, for the server to mount', () => {
    const route = (path: string) =>
      defineRoute({ method: 'GET', path, operationId: path.slice(4), summary: path, response: z.object({ ok: z.boolean() }) });
    const plinth = app([
      defineModule({ name: 'b', dependsOn: ['a'], routes: [implement(route('/v1/b'), () => ({ ok: true }))] }),
      defineModule({ name: 'a', routes: [implement(route('/v1/a1'), () => ({ ok: true })), implement(route('/v1/a2'), () => ({ ok: false }))] }),
    ]);
    expect(plinth.routes.map((r) => r.route.path)).toEqual(['/v1/a1', '/v1/a2', '/v1/b']);
  });
});
