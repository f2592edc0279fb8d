/**
 * A customer, through the typed SDK: signs up, finds the lamp, wishes for it
 * while it is out of stock, and waits for the back-in-stock notice.
 *
 *   node dist/customer.js http://localhost:3000 [email]
 *
 * Every call below is typed from the routes' zod schemas: `client.addWish`
 * exists because `wishlistRoutes` declares it, and its body must be `{ sku, note? }`.
 */
// `@plinth/client/node`: the Node build (undici, and the file token store); browsers import `@plinth/client`.
import { createClient, fileTokenStore } from '@plinth/client/node';
import { wishlistRoutes } from './wishlists/contract.js';

const [baseUrl = 'http://localhost:3000', email = `customer-${Date.now()}@example.com`] = process.argv.slice(2);
const tokens = fileTokenStore(process.env.SHOP_TOKENS_FILE ?? '.plinth/customer-tokens.json');
const client = createClient({ baseUrl, routes: wishlistRoutes, tokens });

// Tokens from sign-up are stored (in the file above) and sent, and refreshed when they near expiry.
await client.signUp({ body: { email, password: 'a lamp for the quiet study', name: 'Casey Customer' } });

const { data: products } = await client.listProducts({ query: { q: 'lamp' } });
const lamp = products.find((p) => p.skus.length > 0);
if (!lamp) throw new Error('No lamp in the catalog: start the server with SHOP_STAFF_EMAIL and SHOP_STAFF_PASSWORD to seed it');
const sku = lamp.skus[0]!.sku;

const wish = await client.addWish({ body: { sku, note: 'for the study' } });
console.log(`wished for ${wish.sku} (${wish.available} available)`);

// Wait for the notice (the worker makes it once staff receive stock).
const deadline = Date.now() + Number(process.env.SHOP_WAIT_MS ?? 60_000);
for (;;) {
  const { data: notices } = await client.listWishNotices();
  const notice = notices.find((n) => n.wishId === wish.id);
  if (notice) {
    console.log(`notice: ${notice.message}`);
    break;
  }
  if (Date.now() > deadline) {
    console.error('no notice yet; giving up');
    process.exit(2);
  }
  await new Promise((resolve) => setTimeout(resolve, 250));
}
