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

/** The part of the Web Storage API a token store needs (`localStorage`, `sessionStorage`). */
export interface WebStorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/**
 * Tokens in `localStorage` (default) or any Web Storage, under one key: the
 * session survives a reload and is shared by the app's tabs. Anything a script
 * on the page can run can read it too; keep a strict Content-Security-Policy.
 */
export function webStorageTokenStore(options: { storage?: WebStorageLike; key?: string } = {}): TokenStore {
  const key = options.key ?? 'plinth.tokens';
  const storage = options.storage ?? (globalThis as { localStorage?: WebStorageLike }).localStorage;
  if (!storage) throw new TypeError('webStorageTokenStore: no storage given and no globalThis.localStorage');
  return {
    get: () => parseStoredTokens(storage.getItem(key)),
    set: (tokens) => (tokens ? storage.setItem(key, JSON.stringify(tokens)) : storage.removeItem(key)),
  };
}

/** Tokens read back from storage, or `null` when missing or not in the stored shape (tampered, older format). */
export function parseStoredTokens(text: string | null | undefined): StoredTokens | null {
  if (!text) return null;
  try {
    const t = JSON.parse(text) as Partial<StoredTokens> | null;
    if (t && typeof t.accessToken === 'string' && typeof t.refreshToken === 'string' && typeof t.expiresAt === 'number') {
      return { accessToken: t.accessToken, refreshToken: t.refreshToken, expiresAt: t.expiresAt };
    }
  } catch {
    // fall through: an unreadable entry is no session
  }
  return null;
}
