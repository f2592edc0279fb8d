import {
  type Actor, builtinModules, type Caller, type CatalogService, createFakeProvider, createLogger, createPaymentsModule, createPlinth, type IdentityService,
  type InventoryService, type OrdersService, type PaymentsService, PlinthError, type Plinth, redactUrl, systemActor,
} from '@plinth/core';
import type { Command } from 'commander';
import { action } from '../action.js';
import { type CliContext, closeWithin, type GlobalOptions, globalOptions, resolveConfig } from '../instance.js';
import { isDebug, printJson, printLines } from '../output.js';

/**
 * `plinth seed --demo`: a believable shop in a fresh database, made through the
 * services (events, audit and stock stay consistent), the same every time
 * (a seeded PRNG). Payments go through the fake provider, delivered in process.
 */

/** The password of every demo account; printed once by the command. */
export const DEMO_PASSWORD = 'plinth demo shop 2026';

export interface SeedOptions {
  /** Seed even when the database already holds users, products or orders; default false. */
  force?: boolean;
  /** How many products; default 300. */
  products?: number;
  /** How many customers; default 24. */
  customers?: number;
  /** Answer `null` (and seed nothing) when the database is not empty, instead of failing; default false. */
  ifEmpty?: boolean;
}

export interface SeedReport {
  database: string;
  password: string;
  accounts: { admin: string; staff: string; customers: string[] };
  counts: { users: number; categories: number; products: number; skus: number; orders: number; payments: number; refunds: number };
  ordersByStatus: Record<string, number>;
}

/** mulberry32: small, fast and the same on every machine. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const CATEGORIES: Record<string, string[]> = {
  Kitchen: ['Mugs', 'Teapots', 'Knives'],
  Stationery: ['Notebooks', 'Pens'],
  Apparel: ['T-shirts', 'Scarves', 'Socks'],
  Home: ['Candles', 'Blankets'],
  Garden: ['Planters', 'Tools'],
};
const ADJECTIVES = ['Classic', 'Hand-made', 'Organic', 'Nordic', 'Everyday', 'Heritage', 'Compact', 'Deluxe', 'Rustic', 'Minimal', 'Bright', 'Soft'];
const MATERIALS = ['oak', 'linen', 'stoneware', 'wool', 'steel', 'bamboo', 'cotton', 'clay', 'glass', 'walnut'];
const VARIANTS = [['S', 'M', 'L'], ['Blue', 'Red'], ['Small', 'Large'], ['Single'], ['Single']];
const FIRST = ['Ann', 'Bob', 'Chloé', 'Dmitri', 'Eva', 'Farid', 'Grace', 'Hiro', 'Ines', 'Jonas', 'Kemi', 'Luca', 'Mia', 'Noah', 'Olu', 'Priya', 'Quinn', 'Rosa', 'Sven', 'Tara', 'Umar', 'Vera', 'Wen', 'Yara'];
const STATUSES = ['pending_payment', 'paid', 'fulfilled', 'cancelled', 'expired', 'refunded', 'partially_refunded'] as const;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function isEmpty(plinth: Plinth): Promise<boolean> {
  for (const table of ['users', 'products', 'orders']) {
    const row = await plinth.db.selectFrom(table).select('id').limit(1).executeTakeFirst();
    if (row) return false;
  }
  return true;
}

export async function gatherSeed(globals: GlobalOptions, ctx: CliContext, options: SeedOptions & { ifEmpty: true }): Promise<SeedReport | null>;
export async function gatherSeed(globals: GlobalOptions, ctx: CliContext, options?: SeedOptions): Promise<SeedReport>;
export async function gatherSeed(globals: GlobalOptions, ctx: CliContext, options: SeedOptions = {}): Promise<SeedReport | null> {
  const config = resolveConfig(globals);
  const fake = createFakeProvider({ delivery: 'in-process', confirmAfterMs: 0 });
  const logger = createLogger({ level: isDebug() ? 'debug' : 'silent', destination: process.stderr });
  const plinth = createPlinth({
    ...config,
    processEnv: false,
    logger,
    modules: ctx.modules,
    builtins: builtinModules.map((m) => (m.name === 'payments' ? createPaymentsModule({ providers: { fake } }) : m)),
    // One fsync per commit buys nothing for demo data.
    database: { ...config.database, sqliteSynchronous: 'normal' },
  });
  try {
    await plinth.start();
    const empty = await isEmpty(plinth);
    if (!empty && options.ifEmpty) return null;
    if (!empty && !options.force) {
      throw new PlinthError('seed.not_empty', 'The database already holds data: seed a fresh database, or pass --force to add the demo shop anyway');
    }
    return await seed(plinth, fake, options, empty ? '' : `-${Date.now().toString(36)}`, redactUrl(config.databaseUrl));
  } finally {
    await closeWithin(plinth, 10_000);
  }
}

async function seed(plinth: Plinth, fake: ReturnType<typeof createFakeProvider>, options: SeedOptions, tag: string, database: string): Promise<SeedReport> {
  const random = prng(20_26);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const between = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1));
  const cli: Caller = { actor: systemActor('seed'), userAgent: 'plinth-seed' };
  const identity = plinth.service<IdentityService>('identity');
  const catalog = plinth.service<CatalogService>('catalog');
  const inventory = plinth.service<InventoryService>('inventory');
  const orders = plinth.service<OrdersService>('orders');
  const payments = plinth.service<PaymentsService>('payments');
  const mail = (local: string) => `${local}${tag}@demo.plinth.test`;
  const actorOf = (userId: string, roles: string[]): Caller => ({ actor: { kind: 'user', userId, sessionId: 'seed', roles } satisfies Actor, userAgent: 'plinth-seed' });

  // People
  const admin = await identity.createUser({ email: mail('admin'), name: 'Demo Admin', password: DEMO_PASSWORD, roles: ['admin'] }, cli);
  const staffUser = await identity.createUser({ email: mail('staff'), name: 'Demo Staff', password: DEMO_PASSWORD, roles: ['staff'] }, cli);
  const staff = actorOf(staffUser.id, ['staff']);
  const customers: { email: string; caller: Caller }[] = [];
  for (let i = 0; i < (options.customers ?? 24); i++) {
    const first = FIRST[i % FIRST.length]!;
    const email = mail(`${first.normalize('NFD').replace(/[^A-Za-z]/g, '').toLowerCase()}${i >= FIRST.length ? i : ''}`);
    const user = await identity.createUser({ email, name: `${first} Demo`, password: DEMO_PASSWORD }, cli);
    customers.push({ email, caller: actorOf(user.id, ['customer']) });
  }

  // Catalog and stock
  const leaves: string[] = [];
  let categories = 0;
  for (const [parent, children] of Object.entries(CATEGORIES)) {
    const top = await catalog.createCategory({ name: parent, slug: `${parent.toLowerCase()}${tag}` }, staff);
    categories++;
    for (const child of children) {
      const leaf = await catalog.createCategory({ name: child, slug: `${child.toLowerCase().replace(/[^a-z0-9]+/g, '-')}${tag}`, parentId: top.id }, staff);
      leaves.push(leaf.id);
      categories++;
    }
  }
  const skus: { sku: string; price: number }[] = [];
  const productCount = options.products ?? 300;
  for (let p = 0; p < productCount; p++) {
    const name = `${pick(ADJECTIVES)} ${pick(MATERIALS)} ${['mug', 'notebook', 'scarf', 'candle', 'planter', 'blanket', 'teapot', 'pen', 'tee', 'knife'][p % 10]}`;
    const variants = pick(VARIANTS);
    const base = between(5, 120) * 100 - pick([0, 1, 5, 10]);
    const code = `DEMO${tag.toUpperCase()}-${String(p + 1).padStart(4, '0')}`;
    const productSkus = variants.map((v, i) => ({
      sku: variants.length === 1 ? code : `${code}-${v.toUpperCase()}`,
      ...(variants.length === 1 ? {} : { name: v, attributes: { variant: v } }),
      price: { amount: base + i * 200, currency: 'EUR' },
    }));
    await catalog.createProduct({ name, description: `A ${name.toLowerCase()}, made to last.`, categoryId: pick(leaves), skus: productSkus }, staff);
    for (const s of productSkus) {
      await inventory.adjust(s.sku, { delta: between(20, 200), reason: 'receipt', note: 'demo stock' }, staff);
      skus.push({ sku: s.sku, price: s.price.amount });
    }
  }

  // Orders in every state
  let refunds = 0;
  const place = async (who: Caller) => {
    const lines = new Map<string, number>();
    for (let n = between(1, 3); n > 0; n--) lines.set(pick(skus).sku, between(1, 3));
    return orders.createOrder({ items: [...lines].map(([sku, quantity]) => ({ sku, quantity })) }, who);
  };
  const pay = async (id: string, who: Caller) => {
    await payments.createPayment(id, who);
    await fake.idle();
  };
  // Expired first: they expire by their deadline, which every later order's is after.
  const expiring = [];
  for (let i = 0; i < 6; i++) expiring.push(await place(pick(customers).caller));
  await sleep(5);
  const plan: (typeof STATUSES)[number][] = [];
  for (const status of STATUSES) if (status !== 'expired') for (let i = 0; i < 6; i++) plan.push(status);
  for (const status of plan) {
    const who = pick(customers).caller;
    const order = await place(who);
    if (status === 'pending_payment') continue;
    if (status === 'cancelled') {
      await orders.cancelOrder(order.id, undefined, who);
      continue;
    }
    await pay(order.id, who);
    if (status === 'fulfilled') await orders.fulfilOrder(order.id, undefined, staff);
    if (status === 'refunded' || status === 'partially_refunded') {
      const amount = status === 'refunded' ? order.total.amount : Math.max(1, Math.floor(order.total.amount / 3));
      await payments.refund(order.id, { amount: { amount, currency: order.total.currency }, restock: status === 'refunded' }, staff);
      refunds++;
    }
  }
  const deadline = Math.max(...expiring.map((o) => Date.parse(o.expiresAt!)));
  await orders.expireDueOrders(deadline);

  const ordersByStatus = Object.fromEntries(STATUSES.map((s) => [s, 0])) as Record<string, number>;
  const rows = (await plinth.db.selectFrom('orders').select('status').execute()) as { status: string }[];
  for (const r of rows) ordersByStatus[r.status] = (ordersByStatus[r.status] ?? 0) + 1;
  const count = async (table: string) => Number(((await plinth.db.selectFrom(table).select((eb) => eb.fn.countAll().as('n')).executeTakeFirst()) as { n: unknown }).n);
  return {
    database,
    password: DEMO_PASSWORD,
    accounts: { admin: admin.email, staff: staffUser.email, customers: customers.map((c) => c.email) },
    counts: {
      users: 2 + customers.length,
      categories,
      products: productCount,
      skus: skus.length,
      orders: rows.length,
      payments: await count('payment_intents'),
      refunds,
    },
    ordersByStatus,
  };
}

export function printSeed(report: SeedReport, json: boolean): void {
  if (json) return printJson(report);
  const { counts } = report;
  printLines([
    `Seeded the demo shop into ${report.database}:`,
    `  ${counts.categories} categories, ${counts.products} products (${counts.skus} SKUs, all in stock)`,
    `  ${counts.users} accounts, ${counts.orders} orders (${Object.entries(report.ordersByStatus).map(([s, n]) => `${n} ${s}`).join(', ')}), ${counts.payments} payments, ${counts.refunds} refunds`,
    '',
    `Sign in as ${report.accounts.admin} (admin), ${report.accounts.staff} (staff) or a customer such as ${report.accounts.customers[0] ?? '-'}`,
    `with the demo password: ${report.password}`,
    '(shown this once; it is a demo password: never seed a production database)',
  ]);
}

export function addSeedCommand(program: Command, ctx: CliContext): Command {
  return program
    .command('seed')
    .description('Fill a fresh database with demo data (migrates first)')
    .requiredOption('--demo', 'the demo shop: categories, ~300 products with stock, customers, orders in every state')
    .option('--force', 'seed even when the database is not empty')
    .action(
      action(async (opts: { demo: boolean; force?: boolean }, cmd: Command) => {
        const globals = globalOptions(cmd);
        printSeed(await gatherSeed(globals, ctx, { force: opts.force === true }), globals.json);
      }),
    );
}
