/**
 * Compile-time proof (checked by shop.test.ts with `tsc -p tsconfig.type-errors.json`):
 * each marked line is a type error, because the client's types come from the
 * wishlists module's zod schemas. The test expects exactly these errors.
 */
import { createClient } from '@plinth/client';
import { wishlistRoutes } from '../src/wishlists/contract.js';

const client = createClient({ baseUrl: 'http://localhost:3000', routes: wishlistRoutes });

export async function mistakes(): Promise<void> {
  await client.addWish({ body: { skuu: 'LAMP-1' } }); // ERROR: unknown field (and `sku` missing)
  await client.addWish({ body: { sku: 42 } }); // ERROR: sku is a string
  await client.removeWish({}); // ERROR: params.id is required
  const { data } = await client.listWishes();
  const first: number = data[0]!.sku; // ERROR: sku is a string, not a number
  void first;
  await client.addWishes(); // ERROR: no such route
}
