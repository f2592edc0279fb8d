/**
 * A shop for the console's tests: the demo data of `plinth seed --demo` in a
 * fresh database, served over real HTTP with a job worker, plus one dead job
 * (a module whose deliveries fail until `heal()`).
 */
import { createClient, memoryTokenStore, type PlinthClient } from '@plinth/client';
import { createPlinth, createWorker, defineModule, type Plinth, type Worker } from '@plinth/core';
import { createTestDatabase, type TestDatabase } from '@plinth/core/testing';
import { createServer, type PlinthServer } from '@plinth/server';
import { vi } from 'vitest';
import { DEMO_PASSWORD, gatherSeed, type SeedReport } from '../src/commands/seed.js';

export interface Shop {
  url: string;
  db: TestDatabase;
  plinth: Plinth;
  seed: SeedReport;
  password: string;
  deadJobId: string;
  /** A client signed in as `email` (tokens in memory). */
  signIn(email: string): Promise<PlinthClient>;
  /** Later deliveries of the failing job succeed. */
  heal(): void;
  stop(): Promise<void>;
}

/** `products` and `customers`: the size of the demo shop (default 40 and 8; smaller seeds faster). */
export async function startShop(size: { products?: number; customers?: number } = {}): Promise<Shop> {
  let healthy = false;
  const hooks = defineModule({
    name: 'hooks',
    jobs: {
      'hooks.deliver': {
        maxAttempts: 1,
        backoff: () => 0,
        handler: () => {
          if (!healthy) throw new Error('receiver answered 503');
        },
      },
    },
  });
  const db = await createTestDatabase('sqlite');
  const seed = await gatherSeed({ databaseUrl: db.url, json: false }, { modules: [hooks] }, { products: size.products ?? 40, customers: size.customers ?? 8 });
  const plinth = createPlinth({
    databaseUrl: db.url, processEnv: false, logLevel: 'silent', modules: [hooks], jobs: { pollIntervalMs: 50 },
    // Webhook receivers in the tests listen on loopback; a failing one is retried once, quickly.
    webhooks: { allowPrivate: true, retryScheduleMs: [10] }, outbound: { failureThreshold: 100 },
  });
  let server: PlinthServer | undefined;
  let worker: Worker | undefined;
  try {
    await plinth.start();
    worker = createWorker(plinth);
    await worker.start();
    const { id: deadJobId } = await plinth.jobs.enqueue('hooks.deliver', { endpoint: 'https://hooks.example/e1' });
    await worker.drain();
    server = createServer(plinth, { port: 0, host: '127.0.0.1', closePlinth: false, shutdownTimeoutMs: 2000 });
    const { url } = await server.listen();
    return {
      url, db, plinth, seed, password: DEMO_PASSWORD, deadJobId,
      async signIn(email) {
        const client = createClient({ baseUrl: url, tokens: memoryTokenStore(), timeoutMs: 20_000 });
        await client.signIn({ body: { email, password: DEMO_PASSWORD } });
        return client;
      },
      heal() {
        healthy = true;
      },
      async stop() {
        await server?.close();
        await worker?.stop();
        await plinth.close();
        await db.drop();
      },
    };
  } catch (error) {
    await server?.close().catch(() => undefined);
    await worker?.stop().catch(() => undefined);
    await plinth.close().catch(() => undefined);
    await db.drop().catch(() => undefined);
    throw error;
  }
}

/** Waits until the last frame passes `check` (a string it must contain, or a predicate). */
export async function frameWith(lastFrame: () => string | undefined, check: string | ((frame: string) => boolean), timeout = 15_000): Promise<string> {
  return vi.waitFor(
    () => {
      const frame = lastFrame() ?? '';
      const ok = typeof check === 'string' ? frame.includes(check) : check(frame);
      if (!ok) throw new Error(`${typeof check === 'string' ? `"${check}"` : 'condition'} not in frame:\n${frame}`);
      return frame;
    },
    { timeout, interval: 20 },
  );
}

export const tick = () => new Promise((r) => setTimeout(r, 100));

/** Types keys one at a time (Ink reads each write as one key press). */
export async function type(stdin: { write(s: string): void }, ...keys: string[]): Promise<void> {
  // What was just drawn gets its key handlers a moment later (Ink subscribes them after the frame).
  await new Promise((r) => setTimeout(r, 250));
  for (const key of keys) {
    stdin.write(key);
    await tick();
  }
}

/** Opens the screen's text field with `key`, waits for it, types `text` and enter. */
export async function fill(view: { stdin: { write(s: string): void }; lastFrame: () => string | undefined }, key: string, label: string, text: string): Promise<void> {
  await type(view.stdin, key);
  await frameWith(view.lastFrame, label);
  await enter(view.stdin, text);
}

/**
 * Types `text` into the text field on screen, then enter. Still one write per
 * key, but without a pause between characters: a text field takes keys faster
 * than Ink renders (each key edits what the previous one left).
 */
export async function enter(stdin: { write(s: string): void }, text: string): Promise<void> {
  await type(stdin);
  for (const key of text) stdin.write(key);
  await type(stdin, '\r');
}
