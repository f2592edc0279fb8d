import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeJwt, exportJWK, generateKeyPair, type JWK, type JWTPayload, SignJWT } from 'jose';
import Provider from 'oidc-provider';

/** An account at the test provider: what its ID tokens say about the user. */
export interface TestAccount {
  sub: string;
  email?: string;
  email_verified?: boolean;
  name?: string;
}

export interface TestClient {
  clientId: string;
  clientSecret?: string;
  redirectUris: string[];
}

export interface TestOidcProvider {
  /** `http://127.0.0.1:<port>`: the issuer and the base of every endpoint. */
  readonly issuer: string;
  /** Registers a client (before `start`). */
  addClient(client: TestClient): void;
  /** Starts the provider (after the clients are known). */
  start(): Promise<void>;
  /**
   * Plays the browser from the provider's authorization URL: signs `account` in
   * non-interactively (the interaction is finished in code) and answers the
   * URL the provider redirects back to (the client's callback, with `code` and `state`),
   * without following it.
   */
  authorize(authorizationUrl: string, account: TestAccount): Promise<URL>;
  /** The next ID tokens from the token endpoint are re-signed with the provider's key after `edit` (null: stop). */
  tamperIdTokens(edit: ((payload: JWTPayload) => JWTPayload) | null, options?: { alg?: 'none' }): void;
  /** Requests the provider received, by path (`/token`, `/.well-known/openid-configuration`, ...). */
  readonly hits: Map<string, number>;
  close(): Promise<void>;
}

export interface TestOidcProviderOptions {
  /**
   * Put email and profile claims in the ID token too (like most public providers);
   * default false: only UserInfo has them, as OIDC Core §5.4 says when an access token is issued.
   */
  claimsInIdToken?: boolean;
}

/** A real OpenID provider (`oidc-provider`), in-process on 127.0.0.1 and a random port. */
export async function createTestOidcProvider(options: TestOidcProviderOptions = {}): Promise<TestOidcProvider> {
  const accounts = new Map<string, TestAccount>();
  const clients: TestClient[] = [];
  const hits = new Map<string, number>();
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const signingJwk: JWK = { ...(await exportJWK(privateKey)), kid: 'test-rs256', alg: 'RS256', use: 'sig' };
  let tamper: { edit: (payload: JWTPayload) => JWTPayload; alg?: 'none' } | null = null;
  let handler: http.RequestListener | undefined;

  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    hits.set(path, (hits.get(path) ?? 0) + 1);
    if (!handler) {
      res.writeHead(503).end();
      return;
    }
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  async function finishInteraction(provider: Provider, req: http.IncomingMessage, res: http.ServerResponse) {
    const details = await provider.interactionDetails(req, res);
    const login = /(?:^|;\s*)test_login=([^;]+)/.exec(req.headers.cookie ?? '')?.[1];
    if (details.prompt.name !== 'login' || !login) throw new Error(`unexpected interaction ${details.prompt.name}`);
    await provider.interactionFinished(req, res, { login: { accountId: decodeURIComponent(login) } }, { mergeWithLastSubmission: false });
  }

  async function resign(body: Record<string, unknown>): Promise<Record<string, unknown>> {
    if (!tamper || typeof body.id_token !== 'string') return body;
    const payload = tamper.edit(decodeJwt(body.id_token));
    if (tamper.alg === 'none') {
      const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
      return { ...body, id_token: `${b64({ alg: 'none', typ: 'JWT' })}.${b64(payload)}.` };
    }
    return { ...body, id_token: await new SignJWT(payload).setProtectedHeader({ alg: 'RS256', kid: signingJwk.kid! }).sign(privateKey) };
  }

  return {
    issuer,
    hits,
    addClient(client) {
      clients.push(client);
    },
    async start() {
      const provider = new Provider(issuer, {
        clients: clients.map((c) => ({
          client_id: c.clientId,
          ...(c.clientSecret ? { client_secret: c.clientSecret } : { token_endpoint_auth_method: 'none' }),
          redirect_uris: c.redirectUris,
          response_types: ['code'],
          grant_types: ['authorization_code'],
        })),
        jwks: { keys: [signingJwk] },
        cookies: { keys: ['test-cookie-key-0123456789abcdef'] },
        pkce: { required: () => true },
        conformIdTokenClaims: !options.claimsInIdToken,
        claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
        features: { devInteractions: { enabled: false } },
        interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
        async findAccount(_ctx: unknown, id: string) {
          const account = accounts.get(id);
          if (!account) return undefined;
          return { accountId: id, claims: async () => ({ ...account }) };
        },
        // First-party client: no consent screen; the grant covers what was asked.
        async loadExistingGrant(ctx: any) {
          const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
          if (grantId) return ctx.oidc.provider.Grant.find(grantId);
          const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
          grant.addOIDCScope(ctx.oidc.requestParamScopes ? [...ctx.oidc.requestParamScopes].join(' ') : 'openid');
          await grant.save();
          return grant;
        },
      });
      // Wraps the token endpoint: a tampered ID token is still signed with the provider's key.
      provider.use(async (ctx: any, next: () => Promise<void>) => {
        await next();
        if (ctx.path === '/token' && ctx.status === 200 && tamper && ctx.body && typeof ctx.body === 'object') {
          ctx.body = await resign(ctx.body as Record<string, unknown>);
        }
      });
      const callback = provider.callback();
      handler = (req, res) => {
        if (req.url?.startsWith('/interaction/')) {
          finishInteraction(provider, req, res).catch((error: Error) => {
            res.writeHead(500, { 'content-type': 'text/plain' }).end(error.message);
          });
          return;
        }
        callback(req, res);
      };
    },
    async authorize(authorizationUrl, account) {
      accounts.set(account.sub, account);
      const jar = new Map<string, { value: string; path: string }>();
      const returnTo = clients.flatMap((c) => c.redirectUris);
      let url = new URL(authorizationUrl);
      for (let hop = 0; hop < 10; hop++) {
        if (url.origin !== issuer) throw new Error(`left the provider for ${url.origin}`);
        const cookies = [...jar].filter(([, c]) => url.pathname.startsWith(c.path)).map(([name, c]) => `${name}=${c.value}`);
        cookies.push(`test_login=${encodeURIComponent(account.sub)}`);
        const response = await fetch(url, { redirect: 'manual', headers: { cookie: cookies.join('; ') } });
        for (const line of response.headers.getSetCookie()) {
          const [pair, ...attributes] = line.split(';');
          const eq = pair!.indexOf('=');
          const path = attributes.map((a) => a.trim()).find((a) => a.toLowerCase().startsWith('path='))?.slice(5) ?? '/';
          const value = pair!.slice(eq + 1);
          const expired = attributes.some((a) => /^\s*expires=Thu, 01 Jan 1970/i.test(a)) || value === '';
          if (expired) jar.delete(pair!.slice(0, eq).trim());
          else jar.set(pair!.slice(0, eq).trim(), { value, path });
        }
        const location = response.headers.get('location');
        if (response.status < 300 || response.status >= 400 || !location) {
          throw new Error(`the provider answered ${response.status}: ${(await response.text()).slice(0, 500)}`);
        }
        await response.arrayBuffer();
        url = new URL(location, url);
        if (returnTo.some((r) => url.href.startsWith(r))) return url;
      }
      throw new Error('too many redirects at the provider');
    },
    tamperIdTokens(edit, options = {}) {
      tamper = edit ? { edit, ...options } : null;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
