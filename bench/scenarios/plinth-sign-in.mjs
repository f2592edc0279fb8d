/** `POST /v1/auth/sign-in` with correct passwords (default OWASP Argon2id): hash, session, token, audit. */
import { identityApp, PASSWORD } from './lib-identity.mjs';

export const summary = 'Plinth POST /v1/auth/sign-in (200 users, Argon2id OWASP)';

export async function start({ tmpDir }) {
  const app = await identityApp(tmpDir, { users: 200 });
  const bodies = app.emails.map((email) => JSON.stringify({ email, password: PASSWORD }));
  return {
    url: app.url,
    target: { path: '/v1/auth/sign-in', method: 'POST', bodies },
    sample: { method: 'POST', path: '/v1/auth/sign-in', requestBody: bodies[0], keys: ['accessToken', 'refreshToken', 'user'] },
    close: app.close,
  };
}
