import { isPlinthApiError, type PlinthClient } from '@plinth/client';

/** What the console needs from a client: the built-in routes and the session. */
export type AdminClient = PlinthClient;

/** A session that can no longer be used (the console then asks to sign in again). */
export class SessionExpiredError extends Error {
  override readonly name = 'SessionExpiredError';
  constructor() {
    super('Your session has expired: sign in again');
  }
}

const EXPIRED = new Set(['auth.unauthenticated', 'auth.invalid_token', 'auth.session_revoked', 'auth.refresh_token_invalid', 'auth.refresh_token_reused', 'auth.account_disabled']);

/**
 * Runs API calls for the screens: a 401 first trades the refresh token for a
 * new access token (once) and runs the call again; when that fails too, the
 * session is over: `onExpired` is called and `SessionExpiredError` thrown.
 */
export function createApi(client: AdminClient, onExpired: () => void) {
  let refreshing: Promise<boolean> | undefined;
  async function refresh(): Promise<boolean> {
    const tokens = await client.session.get();
    if (!tokens) return false;
    try {
      await client.refresh({ body: { refreshToken: tokens.refreshToken } });
      return true;
    } catch {
      return false;
    }
  }
  return {
    client,
    async run<T>(fn: (client: AdminClient) => Promise<T>): Promise<T> {
      try {
        return await fn(client);
      } catch (error) {
        if (!isPlinthApiError(error) || error.status !== 401) throw error;
        refreshing ??= refresh().finally(() => {
          refreshing = undefined;
        });
        if (await refreshing) {
          try {
            return await fn(client);
          } catch (again) {
            if (!isPlinthApiError(again) || again.status !== 401) throw again;
          }
        }
        if (EXPIRED.has(error.code) || error.status === 401) {
          await client.session.set(null);
          onExpired();
        }
        throw new SessionExpiredError();
      }
    },
  };
}
export type Api = ReturnType<typeof createApi>;

/** One line a person can read: the API error's message and code (never a stack trace). */
export function readableError(error: unknown): string {
  if (isPlinthApiError(error)) {
    const first = error.errors[0];
    const field = first ? ` (${first.path}: ${first.message})` : '';
    const line = (error.message.split('\n')[0] || 'Request failed') + field;
    return error.status > 0 ? `${line} [${error.code}]` : line;
  }
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0] || 'Unknown error';
}
