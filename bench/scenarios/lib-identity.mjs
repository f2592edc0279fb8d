/** Shared set-up of the identity scenarios: Plinth on SQLite with users who can sign in. */
import { join } from 'node:path';
import { createPlinth } from '@plinth/core';
import { createServer } from '@plinth/server';

export const PASSWORD = 'bench horse battery staple';

/** Plinth with the default (OWASP) password parameters and `users` accounts; tokens of the first ones. */
export async function identityApp(tmpDir, { users = 1, sessions = 0 } = {}) {
  const plinth = createPlinth({
    databaseUrl: `sqlite:${join(tmpDir, 'plinth.db')}`,
    processEnv: false,
    logLevel: 'warn',
    encryptionKeys: [`bench:${Buffer.alloc(32, 7).toString('base64')}`],
    mail: { transport: 'dev', devDir: join(tmpDir, 'mail') },
  });
  await plinth.start();
  const identity = plinth.service('identity');
  const emails = [];
  const caller = { actor: null, ip: '127.0.0.1' };
  for (let i = 0; i < users; i++) {
    const email = `bench-${i}@example.com`;
    await identity.signUp({ email, password: PASSWORD }, caller);
    emails.push(email);
  }
  const tokens = [];
  for (let i = 0; i < sessions; i++) {
    const result = await identity.signIn({ email: emails[i % emails.length], password: PASSWORD }, caller);
    tokens.push(result);
  }
  const server = createServer(plinth, { port: 0, host: '127.0.0.1' });
  const { url } = await server.listen();
  return { plinth, url, emails, tokens, close: () => server.close() };
}
