/** `POST /v1/auth/refresh`: each connection rotates its own session's refresh token, request after request. */
import { identityApp } from './lib-identity.mjs';

export const summary = 'Plinth POST /v1/auth/refresh (one rotating session per connection)';

export async function start({ tmpDir, config }) {
  // One session per connection, for the warm-up and the measured run, plus one for the sanity check.
  const sessions = config.connections * 2 + 1;
  const app = await identityApp(tmpDir, { users: 10, sessions });
  const tokens = app.tokens.map((t) => t.refreshToken);
  const check = tokens.pop();
  return {
    url: app.url,
    target: { path: '/v1/auth/refresh', refreshTokens: tokens },
    sample: { method: 'POST', path: '/v1/auth/refresh', requestBody: JSON.stringify({ refreshToken: check }), keys: ['accessToken', 'refreshToken'] },
    close: app.close,
  };
}
