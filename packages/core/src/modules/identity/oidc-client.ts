/**
 * The relying-party half of OpenID Connect, without storage: discovery, PKCE,
 * the code exchange, ID-token verification and UserInfo. `oidc.ts` holds the
 * sign-in rules around it (states, linking, sessions).
 */
import { createHash, randomBytes } from 'node:crypto';
import { createRemoteJWKSet, errors as joseErrors, type JWTPayload, jwtVerify } from 'jose';
import { constantTimeEqual } from './secure-token.js';

/** One entry of `auth.oidc`. */
export type OidcProviderConfig = Readonly<{
  issuer: string;
  clientId: string;
  clientSecret?: string | undefined;
  redirectUri?: string | undefined;
  scopes: readonly string[];
}>;

/** Why an OIDC sign-in failed: a stable `reason` in the problem's details and the audit event. */
export type OidcFailureReason =
  | 'redirect_not_allowed'
  | 'provider_error'
  | 'invalid_request'
  | 'state_invalid'
  | 'discovery_failed'
  | 'token_exchange_failed'
  | 'id_token_invalid'
  | 'userinfo_failed'
  | 'email_missing'
  | 'email_not_verified';

/** A failed step; `extra` is logged (never secrets), `reason` is shown. */
export class OidcFailure extends Error {
  constructor(
    readonly reason: OidcFailureReason,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

/** What Plinth uses of a provider's discovery document. */
export interface Discovery {
  issuer: string;
  authorizationEndpoint: string;
  tokenEndpoint: string;
  userinfoEndpoint: string | undefined;
  jwks: ReturnType<typeof createRemoteJWKSet>;
  /** ID-token algorithms accepted: the allow-list, narrowed to what the provider says it uses. */
  algorithms: string[];
  authMethods: string[] | undefined;
}

/** Outgoing requests to a provider give up after this long. */
const FETCH_TIMEOUT_MS = 5000;
/** Largest provider answer read. */
const MAX_RESPONSE_BYTES = 256 * 1024;
/** Clock skew accepted on `exp`/`iat`, in seconds. */
const CLOCK_TOLERANCE_S = 60;
/** Asymmetric algorithms only: never `none`, never HMAC keyed with the client secret. */
const ALLOWED_ALGORITHMS = ['RS256', 'ES256', 'EdDSA'];

/** 256 random bits, base64url (43 characters): state, nonce, PKCE verifier. */
export const randomToken = (): string => randomBytes(32).toString('base64url');
/** The PKCE S256 challenge of a verifier (RFC 7636 §4.2). */
export const pkceChallenge = (verifier: string): string => createHash('sha256').update(verifier).digest('base64url');
/** `application/x-www-form-urlencoded` encoding of one value (RFC 6749 §2.3.1 for Basic credentials). */
const formEncode = (value: string) => new URLSearchParams({ v: value }).toString().slice(2);

/** A provider's error code as given, or `invalid` when it is not a plain code (it is logged and audited). */
export function safeCode(value: string): string {
  return /^[A-Za-z0-9_.-]{1,64}$/.test(value) ? value : 'invalid';
}

async function fetchJson(url: string, init: RequestInit = {}): Promise<{ status: number; body: Record<string, unknown> | undefined }> {
  const response = await fetch(url, { ...init, redirect: 'error', signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
  if (Number(response.headers.get('content-length') ?? 0) > MAX_RESPONSE_BYTES) {
    await response.body?.cancel();
    throw new Error('the answer is too large');
  }
  const text = await response.text();
  let body: unknown;
  try {
    body = text.length > MAX_RESPONSE_BYTES ? undefined : JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: response.status, body: body && typeof body === 'object' && !Array.isArray(body) ? (body as Record<string, unknown>) : undefined };
}

/** Fetches and checks `${issuer}/.well-known/openid-configuration`. */
export async function fetchDiscovery(config: OidcProviderConfig): Promise<Discovery> {
  const url = `${config.issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
  let doc: Record<string, unknown> | undefined;
  try {
    const response = await fetchJson(url, { headers: { accept: 'application/json' } });
    if (response.status !== 200) throw new Error(`HTTP ${response.status}`);
    doc = response.body;
  } catch (error) {
    throw new OidcFailure('discovery_failed', 'The OpenID provider could not be reached', { cause: (error as Error).message });
  }
  if (!doc || doc.issuer !== config.issuer) {
    throw new OidcFailure('discovery_failed', 'The discovery document names another issuer than the one configured');
  }
  // An https issuer must not hand out plain-http endpoints.
  const endpoint = (key: string): string => {
    const value = doc[key];
    const parsed = typeof value === 'string' ? URL.parse(value) : null;
    const secure = !config.issuer.startsWith('https:') || parsed?.protocol === 'https:';
    if (!parsed || !/^https?:$/.test(parsed.protocol) || !secure) throw new OidcFailure('discovery_failed', `The discovery document has no usable ${key}`);
    return parsed.href;
  };
  const strings = (key: string): string[] | undefined =>
    Array.isArray(doc[key]) ? (doc[key] as unknown[]).filter((v): v is string => typeof v === 'string') : undefined;
  const challengeMethods = strings('code_challenge_methods_supported');
  if (challengeMethods && !challengeMethods.includes('S256')) throw new OidcFailure('discovery_failed', 'The provider does not support PKCE with S256');
  const advertised = strings('id_token_signing_alg_values_supported');
  const algorithms = advertised ? ALLOWED_ALGORITHMS.filter((a) => advertised.includes(a)) : ALLOWED_ALGORITHMS;
  if (algorithms.length === 0) throw new OidcFailure('discovery_failed', `The provider signs ID tokens with none of ${ALLOWED_ALGORITHMS.join(', ')}`);
  return {
    issuer: config.issuer,
    authorizationEndpoint: endpoint('authorization_endpoint'),
    tokenEndpoint: endpoint('token_endpoint'),
    userinfoEndpoint: doc.userinfo_endpoint === undefined ? undefined : endpoint('userinfo_endpoint'),
    jwks: createRemoteJWKSet(new URL(endpoint('jwks_uri')), { timeoutDuration: FETCH_TIMEOUT_MS }),
    algorithms,
    authMethods: strings('token_endpoint_auth_methods_supported'),
  };
}

/** Trades the authorization code (and the PKCE verifier) for the provider's tokens. */
export async function exchangeCode(
  config: OidcProviderConfig,
  doc: Discovery,
  input: { code: string; verifier: string; redirectUri: string },
): Promise<{ idToken: string; accessToken: string | undefined }> {
  const form = new URLSearchParams({ grant_type: 'authorization_code', code: input.code, redirect_uri: input.redirectUri, code_verifier: input.verifier });
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
  if (config.clientSecret) {
    // client_secret_basic is the default (OIDC Core §9); post only when the provider asks for it.
    const basic = !doc.authMethods || doc.authMethods.includes('client_secret_basic') || !doc.authMethods.includes('client_secret_post');
    if (basic) {
      headers.authorization = `Basic ${Buffer.from(`${formEncode(config.clientId)}:${formEncode(config.clientSecret)}`).toString('base64')}`;
    } else {
      form.set('client_id', config.clientId);
      form.set('client_secret', config.clientSecret);
    }
  } else {
    form.set('client_id', config.clientId);
  }
  let response: Awaited<ReturnType<typeof fetchJson>>;
  try {
    response = await fetchJson(doc.tokenEndpoint, { method: 'POST', headers, body: form.toString() });
  } catch (error) {
    throw new OidcFailure('token_exchange_failed', 'The OpenID provider could not be reached', { cause: (error as Error).message });
  }
  const idToken = response.body?.id_token;
  if (response.status !== 200 || typeof idToken !== 'string') {
    const error = response.body?.error;
    throw new OidcFailure('token_exchange_failed', 'The OpenID provider did not accept the authorization code', {
      status: response.status,
      error: typeof error === 'string' ? safeCode(error) : undefined,
    });
  }
  const accessToken = response.body?.access_token;
  return { idToken, accessToken: typeof accessToken === 'string' ? accessToken : undefined };
}

/**
 * Verifies an ID token (OIDC Core §3.1.3.7, RFC 8725): signature from the
 * provider's JWKS with a fixed algorithm list, `iss`, `aud` (and `azp`),
 * `exp`/`iat` with a small tolerance, `nonce`, and a usable `sub`.
 */
export async function verifyIdToken(config: OidcProviderConfig, doc: Discovery, idToken: string, expected: { nonce: string; now: number; maxAgeSeconds: number }): Promise<JWTPayload> {
  let payload: JWTPayload;
  try {
    const verified = await jwtVerify(idToken, doc.jwks, {
      issuer: doc.issuer,
      audience: config.clientId,
      algorithms: doc.algorithms,
      clockTolerance: CLOCK_TOLERANCE_S,
      currentDate: new Date(expected.now),
      maxTokenAge: expected.maxAgeSeconds,
      requiredClaims: ['sub', 'exp', 'iat', 'nonce'],
    });
    const typ = verified.protectedHeader.typ?.toLowerCase();
    if (typ !== undefined && typ !== 'jwt' && typ !== 'application/jwt') throw new Error(`typ ${typ} is not an ID token`);
    payload = verified.payload;
  } catch (error) {
    const detail = error instanceof joseErrors.JOSEError ? error.code : (error as Error).message;
    throw new OidcFailure('id_token_invalid', 'The ID token is not valid', { cause: detail });
  }
  const audiences = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
  if ((audiences.length > 1 || payload.azp !== undefined) && payload.azp !== config.clientId) {
    throw new OidcFailure('id_token_invalid', 'The ID token was issued to another client (azp)');
  }
  if (typeof payload.nonce !== 'string' || !constantTimeEqual(payload.nonce, expected.nonce)) {
    throw new OidcFailure('id_token_invalid', 'The ID token does not answer this sign-in (nonce)');
  }
  if (typeof payload.sub !== 'string' || payload.sub.length === 0 || payload.sub.length > 255) {
    throw new OidcFailure('id_token_invalid', 'The ID token has no usable subject');
  }
  return payload;
}

/**
 * Providers that follow OIDC Core §5.4 strictly put scope claims (email, name)
 * in the UserInfo answer, not the ID token: they are fetched when the token has no email.
 */
export async function withUserInfo(doc: Discovery, claims: JWTPayload, accessToken: string | undefined): Promise<JWTPayload> {
  if (typeof claims.email === 'string' || !doc.userinfoEndpoint || !accessToken) return claims;
  let response: Awaited<ReturnType<typeof fetchJson>>;
  try {
    response = await fetchJson(doc.userinfoEndpoint, { headers: { authorization: `Bearer ${accessToken}`, accept: 'application/json' } });
  } catch (error) {
    throw new OidcFailure('userinfo_failed', 'The OpenID provider could not be reached', { cause: (error as Error).message });
  }
  if (response.status !== 200 || !response.body) {
    throw new OidcFailure('userinfo_failed', 'The OpenID provider did not answer the user info', { status: response.status });
  }
  // OIDC Core §5.3.2: the answer must be about the user the ID token names.
  if (response.body.sub !== claims.sub) throw new OidcFailure('userinfo_failed', 'The user info is about another subject');
  const { email, email_verified, name } = response.body;
  return { ...claims, email, email_verified, name: claims.name ?? name };
}
