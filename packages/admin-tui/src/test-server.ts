/** For the tests: a real Plinth server on a free port over a fresh SQLite database, and a port where nothing listens. */
import { type AddressInfo, createServer as createNetServer } from 'node:net';
import { createPlinth } from '@plinth/core';
import { createTestDatabase } from '@plinth/core/testing';
import { createServer } from '@plinth/server';

export interface TestServer {
  url: string;
  stop(): Promise<void>;
}

export async function startTestServer(): Promise<TestServer> {
  const db = await createTestDatabase('sqlite');
  const plinth = createPlinth({ databaseUrl: db.url, processEnv: false, logLevel: 'silent' });
  await plinth.start();
  const server = createServer(plinth, { port: 0, shutdownTimeoutMs: 1000 });
  const { url } = await server.listen();
  return {
    url,
    async stop() {
      await server.close();
      await db.drop();
    },
  };
}

export async function closedPortUrl(): Promise<string> {
  const probe = createNetServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}
