/**
 * A real Plinth app for HTTP tests: built-in modules, a fresh database of the
 * given dialect, a server on a free port, mail kept in memory and every log
 * line captured (to prove no secret is ever logged).
 */
import { randomBytes } from 'node:crypto';
import { createServer, type PlinthServer } from '@plinth/server';
import { type CreatePlinthOptions, createLogger, createMemoryMailTransport, createPlinth, type MemoryMailTransport, type Plinth } from '../../src/index.js';
import type { TestDatabase, TestDialect } from '../../src/testing/index.js';
import type { Harness } from './harness.js';

/** An HTTP answer: status, headers, parsed JSON (`undefined` when empty) and the raw text. */
export interface Reply {
  status: number;
  headers: Headers;
  // biome-ignore lint: test JSON
  body: any;
  text: string;
}

export interface TestApp {
  plinth: Plinth;
  db: TestDatabase;
  server: PlinthServer;
  url: string;
  mail: MemoryMailTransport;
  /** Every log line written so far (JSON strings). */
  logs: string[];
  /** A JSON request; `token` becomes `Authorization: Bearer <token>`. */
  call(method: string, path: string, options?: { body?: unknown; token?: string; headers?: Record<string, string> }): Promise<Reply>;
}

export const testEncryptionKey = `k1:${randomBytes(32).toString('base64')}`;

/** Options of `createPlinth`, and `db` to serve an existing test database (a restart) instead of a new one. */
export async function startApp(h: Harness, dialect: TestDialect, { db: existing, ...options }: CreatePlinthOptions & { db?: TestDatabase } = {}): Promise<TestApp> {
  const db = existing ?? (await h.database(dialect));
  const logs: string[] = [];
  const logger = createLogger({ level: 'trace', destination: { write: (line: string) => void logs.push(line) } as never });
  const mail = createMemoryMailTransport();
  const plinth = createPlinth({
    databaseUrl: db.url,
    processEnv: false,
    encryptionKeys: [testEncryptionKey],
    mailTransport: mail,
    logger,
    ...options,
    // Cheaper hashing keeps the suite fast; the production parameters are covered by the password tests.
    auth: { passwordMemoryKib: 8192, passwordIterations: 1, ...options.auth },
  });
  await plinth.start();
  const server = createServer(plinth, { port: 0 });
  const { url } = await server.listen();
  h.defer(() => server.close());
  return {
    plinth,
    db,
    server,
    url,
    mail,
    logs,
    async call(method, path, { body, token, headers = {} } = {}) {
      const res = await fetch(`${url}${path}`, {
        method,
        headers: {
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...headers,
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers, text };
    },
  };
}

/** Signs a new user up and answers their tokens. */
export async function signUp(app: TestApp, email = `user-${randomBytes(4).toString('hex')}@example.com`, password = 'correct horse battery') {
  const res = await app.call('POST', '/v1/auth/sign-up', { body: { email, password } });
  if (res.status !== 201) throw new Error(`sign-up failed: ${res.status} ${JSON.stringify(res.body)}`);
  return { email, password, ...(res.body as { accessToken: string; refreshToken: string; user: { id: string } }) };
}
