/**
 * Shared set-up of the commerce scenarios: Plinth on SQLite (in the temp dir)
 * or on a fresh PostgreSQL database (dropped on close), seeded with products
 * (3 SKUs each, plenty of stock) and one signed-in customer.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { createPlinth } from '@plinth/core';
import { createTestDatabase } from '@plinth/core/testing';
import { createServer } from '@plinth/server';
import { backendCpuMs } from '../lib/pg-cpu.mjs';

export const PASSWORD = 'bench horse battery staple';
const WORDS = ['wool', 'cotton', 'linen', 'silk', 'scarf', 'hat', 'socks', 'shirt', 'jacket', 'blanket', 'red', 'blue', 'green', 'warm', 'light', 'soft', 'organic', 'classic', 'winter', 'summer'];

/** Deterministic pseudo-random words, so every run seeds the same catalog. */
function words(seed, n) {
  const out = [];
  let x = seed * 2654435761;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out.push(WORDS[x % WORDS.length]);
  }
  return out.join(' ');
}

/**
 * `dialect`: `sqlite` or `postgres`; `products`: how many (default `BENCH_PRODUCTS` or 2000).
 * SQLite runs with `synchronous=normal` only when `BENCH_SQLITE_SYNCHRONOUS=normal` (default `full`, the shipped default).
 */
export async function commerceApp(tmpDir, dialect, { products = Number(process.env.BENCH_PRODUCTS || 2000), config = {} } = {}) {
  const database = dialect === 'postgres' ? await createTestDatabase('postgres') : undefined;
  const plinth = createPlinth({
    databaseUrl: database ? database.url : `sqlite:${join(tmpDir, 'plinth.db')}`,
    processEnv: false,
    logLevel: 'warn',
    encryptionKeys: [`bench:${Buffer.alloc(32, 7).toString('base64')}`],
    mail: { transport: 'dev', devDir: join(tmpDir, 'mail') },
    database: { poolMax: Number(process.env.BENCH_POOL_MAX || 10), sqliteSynchronous: process.env.BENCH_SQLITE_SYNCHRONOUS === 'normal' ? 'normal' : 'full' },
    ...config,
  });
  await plinth.start();
  const system = { actor: { kind: 'system', name: 'bench' } };
  const catalog = plinth.service('catalog');
  const ids = [];
  const skus = [];
  const categories = [];
  for (let c = 0; c < 10; c++) categories.push((await catalog.createCategory({ name: `Category ${c}`, slug: `category-${c}` }, system)).id);
  for (let i = 0; i < products; i++) {
    const product = await catalog.createProduct(
      {
        name: `${words(i, 2)} ${i}`,
        description: words(i + 100_000, 12),
        categoryId: categories[i % categories.length],
        skus: [0, 1, 2].map((v) => ({ sku: `B-${i}-${v}`, name: `variant ${v}`, price: { amount: 500 + ((i * 37 + v * 101) % 20_000), currency: 'EUR' } })),
      },
      system,
    );
    ids.push(product.id);
    for (const s of product.skus) skus.push(s.sku);
  }
  // Stock straight into the table: a billion units per SKU, so the bench never runs out.
  const at = new Date().toISOString();
  for (let i = 0; i < skus.length; i += 500) {
    await plinth.db
      .insertInto('inventory_items')
      .values(skus.slice(i, i + 500).map((sku) => ({ sku, on_hand: 1_000_000_000, reserved: 0, low_stock_threshold: 0, updated_at: at })))
      .execute();
  }
  const identity = plinth.service('identity');
  const caller = { actor: null, ip: '127.0.0.1' };
  await identity.signUp({ email: 'buyer@example.com', password: PASSWORD }, caller);
  const tokens = await identity.signIn({ email: 'buyer@example.com', password: PASSWORD }, caller);
  const server = createServer(plinth, { port: 0, host: '127.0.0.1' });
  const { url } = await server.listen();
  return {
    plinth,
    url,
    ids,
    skus,
    categories,
    token: tokens.accessToken,
    async close() {
      await server.close();
      await database?.drop();
    },
  };
}

/** `n` order bodies of 3 distinct random SKUs, one unit each. */
export function orderBodies(skus, n = 5000) {
  const bodies = [];
  for (let i = 0; i < n; i++) {
    const picked = new Set();
    while (picked.size < 3) picked.add(skus[randomBytes(4).readUInt32BE() % skus.length]);
    bodies.push(JSON.stringify({ items: [...picked].map((sku) => ({ sku, quantity: 1 })) }));
  }
  return bodies;
}

/** GETs every path once, 20 at a time; any non-2xx stops the scenario. */
async function readEach(url, paths) {
  let next = 0;
  const worker = async () => {
    while (next < paths.length) {
      const path = paths[next++];
      const res = await fetch(`${url}${path}`);
      await res.arrayBuffer();
      if (!res.ok) throw new Error(`warming ${path}: HTTP ${res.status}`);
    }
  };
  await Promise.all(Array.from({ length: 20 }, worker));
}

const SEARCH_WORDS = ['wool', 'cotton', 'silk', 'scarf', 'hat', 'socks', 'warm', 'soft', 'winter', 'red'];

/**
 * The commerce scenarios, for either database (each scenario file picks one):
 * - `read`: public `GET /v1/products/:id` (product, 3 SKUs and their stock), a random product per request;
 * - `list`: public `GET /v1/products?categoryId=&minPrice=&sort=price&limit=20`, a random category per request;
 * - `search`: public `GET /v1/products?q=<two words>&limit=20`, full-text search ranked by relevance (random word pairs);
 * - `order`: `POST /v1/orders` with 3 random SKUs (priced from the catalog, reserved, written with its items and
 *   event in one transaction), a unique `Idempotency-Key` per request, one signed-in customer.
 */
export function commerceScenario(kind, dialect, { label = '', config } = {}) {
  const summaries = {
    read: 'Plinth GET /v1/products/:id',
    list: 'Plinth GET /v1/products with a filter',
    search: 'Plinth product search',
    order: 'Plinth POST /v1/orders (3 items)',
  };
  if (!summaries[kind]) throw new Error(`unknown commerce scenario: ${kind}`);
  return {
    summary: `${summaries[kind]} on ${dialect}${label}`,
    async start({ tmpDir }) {
      const app = await commerceApp(tmpDir, dialect, config ? { config } : {});
      const answer = (target, sample) => ({
        url: app.url,
        target,
        sample,
        close: app.close,
        ...(dialect === 'postgres' ? { databaseCpuMs: () => backendCpuMs(app.plinth.db) } : {}),
      });
      if (kind === 'order') {
        const headers = { authorization: `Bearer ${app.token}` };
        const bodies = orderBodies(app.skus);
        return answer(
          { path: '/v1/orders', method: 'POST', headers, bodies, uniqueHeader: 'idempotency-key' },
          { path: '/v1/orders', method: 'POST', headers: { ...headers, 'idempotency-key': 'sample-1' }, requestBody: bodies[0], keys: ['id', 'status', 'total'] },
        );
      }
      let paths;
      if (kind === 'read') paths = app.ids.map((id) => `/v1/products/${id}`);
      else if (kind === 'list') paths = app.categories.map((id) => `/v1/products?categoryId=${id}&minPrice=1000&sort=price&limit=20`);
      else {
        paths = [];
        for (const a of SEARCH_WORDS) for (const b of SEARCH_WORDS) if (a !== b) paths.push(`/v1/products?q=${a}%20${b}&limit=20`);
      }
      // Reads measure the steady state: each product is read once first, so the window holds no cold fill
      // (2,000 misses take seconds on PostgreSQL; catalog-read-uncached-sqlite measures reads without the cache).
      if (kind === 'read') await readEach(app.url, paths);
      return answer({ paths }, { path: paths[0], keys: kind === 'read' ? ['id', 'skus', 'price'] : ['data', 'nextCursor'] });
    },
  };
}
