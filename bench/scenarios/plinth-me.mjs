/** Authenticated `GET /v1/me`: token verification (no database read), then the user and their roles. */
import { identityApp } from './lib-identity.mjs';

export const summary = 'Plinth GET /v1/me with a Bearer access token';

export async function start({ tmpDir }) {
  const app = await identityApp(tmpDir, { users: 1, sessions: 1 });
  const headers = { authorization: `Bearer ${app.tokens[0].accessToken}` };
  return {
    url: app.url,
    target: { path: '/v1/me', headers },
    sample: { path: '/v1/me', headers, keys: ['id', 'email', 'roles'] },
    close: app.close,
  };
}
