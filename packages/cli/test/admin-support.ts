/**
 * A shop for the console's tests: the demo data of `plinth seed --demo` in a
 * fresh database, served over real HTTP with a job worker, plus one dead job
 * (a module whose deliveries fail until `heal()`).
 */
import { createClient, memoryTokenStore, type PlinthClient } from '@plinth/client';
import { createPlinth, createWorker, defineModule, type Plinth, type Worker } from '@plinth/core';
import { createTestDatabase, type TestDatabase } from '@plinth/core/testing';
import { createServer, type PlinthServer } from '@plinth/server';
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

export async function startShop(): Promise<Shop> {
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
  const seed = await gatherSeed({ databaseUrl: db.url, json: false }, { modules: [hooks] }, { products: 40, customers: 8 });
  const plinth = createPlinth({ databaseUrl: db.url, processEnv: false, logLevel: 'silent', modules: [hooks], jobs: { pollIntervalMs: 50 } });
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
