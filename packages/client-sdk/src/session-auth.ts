import { identityRoutes } from '@plinth/core/contract';
import { isPlinthApiError } from './errors.js';
import { type StoredTokens, type TokenStore, tokensIn } from './session.js';
import type { Transport } from './transport.js';

/** How long before its expiry an access token is traded for a new one. */
export const DEFAULT_REFRESH_MARGIN_MS = 30_000;

export interface SessionAuth {
  /** The stored tokens, refreshed first when the access token expires within the margin. */
  current(): Promise<StoredTokens | null>;
  /** Refreshes after `stale` was refused, unless someone refreshed meanwhile; `null` when the session ended. */
  refresh(stale: StoredTokens): Promise<StoredTokens | null>;
  /** Refreshes now, whatever the expiry. */
  refreshNow(): Promise<StoredTokens | null>;
}

/**
 * Keeps the session's access token fresh. Refreshes are single-flight: calls
 * that find the token expiring at the same moment share one `POST
 * /v1/auth/refresh` (two refreshes of one token would trip the server's reuse
 * detection). A refresh the server refuses (401/400: the session was revoked
 * or the token is unknown) ends the session: the store is cleared. A network
 * failure keeps the tokens, so the next call tries again.
 */
export function createSessionAuth(transport: Transport, store: TokenStore, options: { enabled: boolean; marginMs: number }): SessionAuth {
  let inFlight: Promise<StoredTokens | null> | undefined;

  const exchange = (stale: StoredTokens): Promise<StoredTokens | null> => {
    inFlight ??= (async () => {
      try {
        const answer = await transport.call(identityRoutes.refresh, { body: { refreshToken: stale.refreshToken } });
        const next = tokensIn(answer, Date.now());
        await store.set(next);
        return next;
      } catch (error) {
        if (isPlinthApiError(error) && error.status >= 400 && error.status < 500 && error.status !== 429) {
          // Only forget the session if nobody stored a newer one meanwhile (another tab, another client).
          const now = await store.get();
          if (now?.refreshToken === stale.refreshToken) await store.set(null);
        }
        return null;
      } finally {
        inFlight = undefined;
      }
    })();
    return inFlight;
  };

  const refresh = async (stale: StoredTokens): Promise<StoredTokens | null> => {
    const stored = await store.get();
    if (!stored) return null;
    // Another caller (or tab) already rotated the tokens: use theirs.
    if (stored.refreshToken !== stale.refreshToken) return stored;
    return exchange(stored);
  };

  return {
    async current() {
      const stored = await store.get();
      if (!stored || !options.enabled) return stored;
      if (stored.expiresAt - Date.now() > options.marginMs) return stored;
      const next = await exchange(stored);
      // A refresh that failed on the network leaves the old token: the server decides whether it still counts.
      return next ?? (await store.get());
    },
    refresh: (stale) => (options.enabled ? refresh(stale) : Promise.resolve(null)),
    async refreshNow() {
      const stored = await store.get();
      return stored ? exchange(stored) : null;
    },
  };
}
