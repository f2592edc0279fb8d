/** What the client keeps between calls to stay signed in. */
export interface StoredTokens {
  accessToken: string;
  refreshToken: string;
  /** When the access token expires, in ms since the epoch. */
  expiresAt: number;
}

/**
 * Where tokens live: memory by default; pass your own to keep them in
 * `localStorage`, a cookie jar, a keychain... Methods may be async.
 */
export interface TokenStore {
  get(): StoredTokens | null | Promise<StoredTokens | null>;
  set(tokens: StoredTokens | null): void | Promise<void>;
}

export function memoryTokenStore(initial: StoredTokens | null = null): TokenStore {
  let tokens = initial;
  return {
    get: () => tokens,
    set: (next) => {
      tokens = next;
    },
  };
}

/** Answers that carry tokens: sign-up, sign-in, MFA verify, refresh, OIDC callback. */
export function tokensIn(answer: unknown, now: number): StoredTokens | null {
  const a = answer as { accessToken?: unknown; refreshToken?: unknown; expiresIn?: unknown } | null;
  if (!a || typeof a.accessToken !== 'string' || typeof a.refreshToken !== 'string') return null;
  const expiresIn = typeof a.expiresIn === 'number' ? a.expiresIn : 0;
  return { accessToken: a.accessToken, refreshToken: a.refreshToken, expiresAt: now + expiresIn * 1000 };
}
