import { type CatalogService, createPlinth, type CreatePlinthOptions, type IdentityService, type Plinth, systemActor } from '@plinth/core';
import { wishlistsModule } from './wishlists/index.js';

/** The shop: every built-in module plus `wishlists`. */
export function createShop(options: CreatePlinthOptions = {}): Plinth {
  return createPlinth({ ...options, modules: [wishlistsModule] });
}

/** The SKU the demo sells, out of stock until staff receive some. */
export const DEMO_SKU = 'LAMP-1';

/**
 * Demo data for a fresh shop: a staff account (from `SHOP_STAFF_EMAIL` /
 * `SHOP_STAFF_PASSWORD`) and one product with no stock. Does nothing when the
 * staff account exists already.
 */
export async function seedShop(plinth: Plinth, staff: { email: string; password: string }): Promise<void> {
  const identity = plinth.service<IdentityService>('identity');
  const cli = { actor: systemActor('shop-seed') };
  const existing = await plinth.db.selectFrom('users').select('id').where('email', '=', staff.email.toLowerCase()).executeTakeFirst();
  if (existing) return;
  const user = await identity.createUser({ email: staff.email, name: 'Shop Staff', password: staff.password, roles: ['staff'] }, cli);
  const asStaff = { actor: { kind: 'user' as const, userId: user.id, sessionId: 'seed', roles: ['staff'] } };
  await plinth.service<CatalogService>('catalog').createProduct(
    { name: 'Desk lamp', description: 'A brass desk lamp.', skus: [{ sku: DEMO_SKU, price: { amount: 4900, currency: 'EUR' } }] },
    asStaff,
  );
}
