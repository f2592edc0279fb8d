/**
 * The wishlists module in-process, on both databases: its migration, rules,
 * events and jobs through the public API (`createPlinth`, services, a worker),
 * the way a module author tests theirs.
 */
import { createMemoryMailTransport, createWorker, type IdentityService, type InventoryService, isPlinthError, OUTBOX_TABLE, type Plinth, systemActor } from '@plinth/core';
import { createTestDatabase, dialects, type TestDatabase } from '@plinth/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { createShop, DEMO_SKU, seedShop } from './src/app.js';
import type { WishlistService } from './src/wishlists/index.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function shopOn(dialect: (typeof dialects)[number]) {
  const db: TestDatabase = await createTestDatabase(dialect);
  const mail = createMemoryMailTransport();
  const plinth: Plinth = createShop({ databaseUrl: db.url, processEnv: false, logLevel: 'silent', mailTransport: mail });
  await plinth.start();
  cleanups.push(async () => {
    await plinth.close();
    await db.drop();
  });
  await seedShop(plinth, { email: 'staff@shop.example', password: 'brass lamps and ledgers' });
  const identity = plinth.service<IdentityService>('identity');
  const customer = async (email: string) => {
    const user = await identity.createUser({ email, password: 'a lamp for the quiet study' }, { actor: systemActor('test') });
    return { actor: { kind: 'user' as const, userId: user.id, sessionId: 'test', roles: ['customer'] } };
  };
  const staffRow = await plinth.db.selectFrom('users').select('id').where('email', '=', 'staff@shop.example').executeTakeFirstOrThrow();
  const staff = { actor: { kind: 'user' as const, userId: staffRow.id as string, sessionId: 'test', roles: ['staff'] } };
  return { plinth, mail, customer, staff, wishlists: plinth.service<WishlistService>('wishlists'), inventory: plinth.service<InventoryService>('inventory') };
}

const codeOf = async (promise: Promise<unknown>) => promise.then(() => 'ok', (e: unknown) => (isPlinthError(e) ? e.code : String(e)));

for (const dialect of dialects) {
  describe(`wishlists on ${dialect}`, () => {
    it('notifies each waiting customer once when stock comes back, in the app and by mail', async () => {
      const { plinth, mail, customer, staff, wishlists, inventory } = await shopOn(dialect);
      const ann = await customer('ann@example.com');
      const bob = await customer('bob@example.com');
      const annWish = await wishlists.add({ sku: DEMO_SKU, note: 'study' }, ann);
      await wishlists.add({ sku: DEMO_SKU }, bob);
      expect(annWish).toMatchObject({ sku: DEMO_SKU, available: 0, notifiedAt: null, note: 'study' });

      const worker = createWorker(plinth, { concurrency: 2 });
      await worker.start();
      cleanups.push(async () => void (await worker.stop()));
      await inventory.adjust(DEMO_SKU, { delta: 3, reason: 'receipt' }, staff);
      await worker.drain({ timeoutMs: 60_000 });

      for (const who of [ann, bob]) {
        const notices = await wishlists.notices(who);
        expect(notices).toEqual([expect.objectContaining({ sku: DEMO_SKU, message: `${DEMO_SKU} is back in stock (3 available)` })]);
      }
      expect(mail.messages.map((m) => m.to).sort()).toEqual(['ann@example.com', 'bob@example.com']);
      expect((await wishlists.list(ann))[0]!.notifiedAt).not.toBeNull();

      // More stock later, or the same event handled twice (at least once): no second notice.
      await inventory.adjust(DEMO_SKU, { delta: 2, reason: 'receipt' }, staff);
      await worker.drain({ timeoutMs: 60_000 });
      expect(await wishlists.notifyBackInStock(DEMO_SKU)).toBe(0);
      expect(await wishlists.notices(ann)).toHaveLength(1);
      expect(mail.messages).toHaveLength(2);

      // The events went through the outbox with the declared types.
      const types = (await plinth.db.selectFrom(OUTBOX_TABLE).select('type').execute()).map((r) => r.type as string);
      expect(types.filter((t) => t === 'wishlists.wished')).toHaveLength(2);
      expect(types.filter((t) => t === 'wishlists.back_in_stock')).toHaveLength(2);
    }, 120_000);

    it('enforces its rules: permission, known SKU, one wish per SKU (also when two arrive at once), own wishes only', async () => {
      const { customer, wishlists } = await shopOn(dialect);
      const ann = await customer('ann@example.com');
      const bob = await customer('bob@example.com');
      expect(await codeOf(wishlists.list({ actor: null }))).toBe('auth.unauthenticated');
      expect(await codeOf(wishlists.add({ sku: 'NOPE' }, ann))).toBe('wishlists.sku_not_found');

      const results = await Promise.all([codeOf(wishlists.add({ sku: DEMO_SKU }, ann)), codeOf(wishlists.add({ sku: DEMO_SKU }, ann))]);
      expect(results.sort()).toEqual(['ok', 'wishlists.already_wished']);
      expect(await wishlists.list(ann)).toHaveLength(1);

      const [wish] = await wishlists.list(ann);
      expect(await codeOf(wishlists.remove(wish!.id, bob))).toBe('wishlists.item_not_found');
      await wishlists.remove(wish!.id, ann);
      expect(await wishlists.list(ann)).toEqual([]);
    }, 120_000);
  });
}
