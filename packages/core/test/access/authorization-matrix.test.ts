/**
 * The authorization matrix (issue 3): every route of the `identity` and `access`
 * modules × nine callers, one `it` per cell, on SQLite and PostgreSQL.
 *
 * The matrix is data: `ROWS` holds one row per route, keyed by the contract's
 * own route object (method + path template), so a route added to the contract
 * without a row fails the first test. Public routes have their own short table.
 *
 * Columns (callers):
 * - anonymous: no credentials;
 * - customer: owner of the resources under test (the org, its API keys, its sessions);
 * - other customer: a customer with nothing to do with them;
 * - org member / org admin: customers with that role in the customer's org;
 * - staff / admin: the built-in roles;
 * - key+ / key−: API keys of the same owner (`keys.owner` of the row), one holding the
 *   row's scope(s), one holding something else. Routes without a permission (the `me`
 *   routes) give key+ every scope its owner may hand on and key− none.
 *
 * Cells: a number is an allowed answer (its status); `U`/`F` are 401/403 with
 * `auth.unauthenticated`/`auth.forbidden`; `NO_ORG`/`NO_RES` are 404s that keep
 * someone else's organization, key or session secret.
 *
 * Mutating rows run each cell on throwaway resources made for it (`request`), or
 * on a caller made for the cell alone (`fresh`); the cells can run in any order.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accessRoutes } from '../../src/contract/access.js';
import { identityRoutes } from '../../src/contract/identity.js';
import type { RouteDef } from '../../src/contract/route.js';
import type { AccessService } from '../../src/modules/access/service.js';
import type { ApiKeyService } from '../../src/modules/identity/api-keys.js';
import type { EmailFlows } from '../../src/modules/identity/email-flows.js';
import { totpCode, totpStep } from '../../src/modules/identity/totp.js';
import { createTestDatabase, dialects, type TestDialect } from '../../src/testing/index.js';
import { signUp, startApp, type TestApp } from '../support/app.js';
import type { Harness } from '../support/harness.js';
import { as, system } from './support.js';

// ---------------------------------------------------------------------------
// Callers and outcomes

const CALLERS = ['anonymous', 'customer', 'otherCustomer', 'orgMember', 'orgAdmin', 'staff', 'admin', 'keyWithScope', 'keyWithoutScope'] as const;
type CallerName = (typeof CALLERS)[number];
type PersonKind = Exclude<CallerName, 'anonymous' | 'keyWithScope' | 'keyWithoutScope'>;
const isKey = (c: CallerName): c is 'keyWithScope' | 'keyWithoutScope' => c === 'keyWithScope' || c === 'keyWithoutScope';

type Outcome = { allow: number; code?: string } | { deny: 401 | 403 | 404; code: string };
/** A cell: an allowed status, or a denial. */
type Cell = number | Outcome;
type Cells = readonly [Cell, Cell, Cell, Cell, Cell, Cell, Cell, Cell, Cell];

const U: Outcome = { deny: 401, code: 'auth.unauthenticated' };
const F: Outcome = { deny: 403, code: 'auth.forbidden' };
const NO_ORG: Outcome = { deny: 404, code: 'access.org_not_found' };
const NO_RES: Outcome = { deny: 404, code: 'resource.not_found' };
/** Sign-out needs a user's access token; an API key is answered as a bad token. */
const NOT_A_USER_TOKEN: Outcome = { deny: 401, code: 'auth.invalid_token' };

const outcome = (cell: Cell): Outcome => (typeof cell === 'number' ? { allow: cell } : cell);
const label = (o: Outcome) => ('deny' in o ? `deny ${o.deny} ${o.code}` : `allow ${o.allow}${o.code ? ` ${o.code}` : ''}`);

// ---------------------------------------------------------------------------
// The world every cell runs in (one per dialect)

const PASSWORD = 'correct horse battery';
const NEW_PASSWORD = 'a brand new passphrase 42';

interface Person {
  kind: PersonKind;
  id: string;
  email: string;
  /** An access token carrying the person's roles. */
  token: string;
}

interface World {
  app: TestApp;
  access: AccessService;
  apiKeys: ApiKeyService;
  emailFlows: EmailFlows;
  people: Record<PersonKind, Person>;
  /** The customer's organization: orgAdmin and orgMember belong to it. */
  orgId: string;
  /** A custom role for `PUT /v1/roles/:name`. */
  role: string;
  keys: Map<string, string>;
  /** A number unique in the world, for names, slugs and emails. */
  next(): number;
}

interface Ctx {
  w: World;
  caller: CallerName;
  /** Who the caller acts as: the person, or the owner of the key; none for anonymous. */
  me: Person | undefined;
}

interface Req {
  params?: Record<string, string>;
  query?: string;
  body?: unknown;
}

interface Reply {
  status: number;
  body: any;
}

interface Row {
  route: RouteDef;
  /** Whose keys the key columns use, and their scopes (key+ and key−). */
  keys: { owner: 'customer' | 'admin'; with: readonly string[]; without: readonly string[] };
  /**
   * `identity`: every caller is made for the cell alone (the route ends or changes the account);
   * `session`: persons sign in again for the cell (the route ends the session).
   */
  fresh?: 'identity' | 'session';
  /** The request; may make throwaway resources for the cell. */
  request?: (c: Ctx) => Req | Promise<Req>;
  /**  anon   customer  other  member  orgAdmin  staff  admin  key+  key− */
  cells: Cells;
  /** More checks of an allowed answer (what it shows belongs to the caller...). */
  check?: (res: Reply, c: Ctx) => void | Promise<void>;
  /** Runs after every cell of the row: the change happened exactly when the cell allows it. */
  verify?: (c: Ctx, allowed: boolean, req: Req) => Promise<void>;
}

/** Scopes a customer may hand to a key (their role's permissions); the `me` rows' key+. */
const CUSTOMER_SCOPES = ['api_keys:read', 'api_keys:write', 'orgs:create'];
const ME_KEYS = { owner: 'customer', with: CUSTOMER_SCOPES, without: [] } as const;

async function signIn(w: World, person: Pick<Person, 'email'>, password = PASSWORD): Promise<{ accessToken: string; refreshToken: string }> {
  const res = await w.app.call('POST', '/v1/auth/sign-in', { body: { email: person.email, password } });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body;
}

async function makePerson(w: World, kind: PersonKind): Promise<Person> {
  const email = `${kind.toLowerCase()}-${w.next()}@example.com`;
  const signed = await signUp(w.app, email, PASSWORD);
  const person: Person = { kind, id: signed.user.id, email, token: signed.accessToken };
  if (kind === 'staff' || kind === 'admin') {
    await w.access.setRoles(person.id, [kind], as(system));
    // Roles travel in the access token: refresh to get one that carries them.
    const refreshed = await w.app.call('POST', '/v1/auth/refresh', { body: { refreshToken: signed.refreshToken } });
    expect(refreshed.body.user.roles).toEqual([kind]);
    person.token = refreshed.body.accessToken;
  }
  if (kind === 'orgMember' || kind === 'orgAdmin') {
    await w.access.addMember(w.orgId, { email, role: kind === 'orgMember' ? 'member' : 'admin' }, as(system));
  }
  return person;
}

/** A key of `owner` with `scopes` (made once, then reused). */
async function keyFor(w: World, owner: Person, scopes: readonly string[]): Promise<string> {
  const id = `${owner.id} ${[...scopes].sort().join(',')}`;
  let key = w.keys.get(id);
  if (!key) {
    key = (await w.apiKeys.createApiKey({ name: `matrix ${w.next()}`, scopes, userId: owner.id }, as(system))).key;
    w.keys.set(id, key);
  }
  return key;
}

/** A user with no part in the matrix, to be changed by a cell. */
async function bystander(w: World): Promise<{ id: string; email: string; refreshToken: string }> {
  const signed = await signUp(w.app, `bystander-${w.next()}@example.com`, PASSWORD);
  return { id: signed.user.id, email: signed.email, refreshToken: signed.refreshToken };
}

/** A new member of the org (role `member`), to be changed or removed by a cell. */
async function throwawayMember(w: World): Promise<string> {
  const user = await bystander(w);
  await w.access.addMember(w.orgId, { email: user.email, role: 'member' }, as(system));
  return user.id;
}

const one = async (w: World, table: string, id: string) => (await w.app.plinth.db.selectFrom(table as never).selectAll().where('id' as never, '=', id as never).executeTakeFirst()) as any;

/** Every listed id is a row of `table` owned by the caller. */
async function ownedByMe(w: World, table: 'sessions' | 'api_keys', ids: string[], me: Person): Promise<void> {
  expect(ids.length).toBeGreaterThan(0);
  const rows = (await w.app.plinth.db.selectFrom(table).select(['id', 'user_id']).where('id', 'in', ids).execute()) as { id: string; user_id: string }[];
  expect(rows.map((r) => r.user_id)).toEqual(ids.map(() => me.id));
}

/** Enrolls the person in TOTP with their own token; answers the secret. */
async function enroll(w: World, me: Person): Promise<string> {
  const res = await w.app.call('POST', '/v1/me/mfa/totp', { token: me.token });
  expect(res.status).toBe(201);
  return res.body.secret as string;
}

async function enableMfa(w: World, me: Person): Promise<string[]> {
  const secret = await enroll(w, me);
  const res = await w.app.call('POST', '/v1/me/mfa/totp/confirm', { token: me.token, body: { code: totpCode(secret, totpStep(Date.now())) } });
  expect(res.status).toBe(200);
  return res.body.recoveryCodes as string[];
}

// ---------------------------------------------------------------------------
// The matrix

const r = identityRoutes;
const a = accessRoutes;

const ROWS: Row[] = [
  // ----- identity: the signed-in person ------------------------------------------------
  {
    route: r.signOut, keys: ME_KEYS, fresh: 'session',
    //      anon  cust  other member oAdmin staff admin  key+              key−
    cells: [U,    204,  204,  204,   204,   204,  204,   NOT_A_USER_TOKEN, NOT_A_USER_TOKEN],
  },
  {
    route: r.resendVerification, keys: ME_KEYS,
    cells: [U,    202,  202,  202,   202,   202,  202,   202,              202],
  },
  {
    route: r.getMe, keys: ME_KEYS,
    cells: [U,    200,  200,  200,   200,   200,  200,   200,              200],
    check: (res, { me }) => expect(res.body.id).toBe(me!.id),
  },
  {
    // By design (account.test.ts): a key may edit its owner's profile name, nothing else of the account.
    route: r.updateMe, keys: ME_KEYS,
    request: ({ caller }) => ({ body: { name: `Matrix ${caller}` } }),
    cells: [U,    200,  200,  200,   200,   200,  200,   200,              200],
    check: (res, { me, caller }) => expect(res.body).toMatchObject({ id: me!.id, name: `Matrix ${caller}` }),
  },
  {
    route: r.deleteMe, keys: ME_KEYS, fresh: 'identity',
    request: () => ({ body: { password: PASSWORD } }),
    cells: [U,    204,  204,  204,   204,   204,  204,   F,                F],
    verify: async ({ w, me }, allowed) => {
      if (me) expect((await one(w, 'users', me.id)).status).toBe(allowed ? 'deleted' : 'active');
    },
  },
  {
    route: r.exportMe, keys: ME_KEYS,
    cells: [U,    200,  200,  200,   200,   200,  200,   F,                F],
    check: (res, { me }) => expect(res.body.profile.id).toBe(me!.id),
  },
  {
    route: r.changePassword, keys: ME_KEYS, fresh: 'identity',
    request: () => ({ body: { currentPassword: PASSWORD, newPassword: NEW_PASSWORD } }),
    cells: [U,    200,  200,  200,   200,   200,  200,   F,                F],
  },
  {
    route: r.changeEmail, keys: ME_KEYS,
    request: ({ w }) => ({ body: { email: `changed-${w.next()}@example.com`, password: PASSWORD } }),
    cells: [U,    202,  202,  202,   202,   202,  202,   F,                F],
  },
  {
    route: r.listSessions, keys: ME_KEYS,
    cells: [U,    200,  200,  200,   200,   200,  200,   F,                F],
    check: (res, { w, me }) => ownedByMe(w, 'sessions', res.body.data.map((s: { id: string }) => s.id), me!),
  },
  {
    // The target: a new session of the customer. Someone else's session does not exist for the caller.
    route: r.revokeSession, keys: ME_KEYS,
    request: async ({ w }) => {
      const { accessToken } = await signIn(w, w.people.customer);
      const sessions = await w.app.call('GET', '/v1/me/sessions', { token: accessToken });
      const current = sessions.body.data.find((s: { current: boolean }) => s.current);
      return { params: { id: current.id } };
    },
    cells: [U,    204,  NO_RES, NO_RES, NO_RES, NO_RES, NO_RES, F,           F],
    verify: async ({ w }, allowed, req) => {
      expect((await one(w, 'sessions', req.params!.id!)).revoked_at === null).toBe(!allowed);
    },
  },
  {
    // The caller signs in a second time; revoking the others ends that one.
    route: r.revokeOtherSessions, keys: ME_KEYS, fresh: 'identity',
    request: async ({ w, me }) => {
      if (me) await signIn(w, me);
      return {};
    },
    cells: [U,    200,  200,  200,   200,   200,  200,   F,                F],
    check: (res) => expect(res.body).toEqual({ revoked: 1 }),
  },
  {
    route: r.enrollTotp, keys: ME_KEYS, fresh: 'identity',
    cells: [U,    201,  201,  201,   201,   201,  201,   F,                F],
  },
  {
    // The owner enrolls with their own token; the cell confirms with a current code.
    route: r.confirmTotp, keys: ME_KEYS, fresh: 'identity',
    request: async ({ w, me }) => ({ body: { code: me ? totpCode(await enroll(w, me), totpStep(Date.now())) : '000000' } }),
    cells: [U,    200,  200,  200,   200,   200,  200,   F,                F],
    check: (res) => expect(res.body.recoveryCodes).toHaveLength(10),
  },
  {
    // The owner turns MFA on with their own token; the cell turns it off with a recovery code.
    route: r.disableTotp, keys: ME_KEYS, fresh: 'identity',
    request: async ({ w, me }) => ({ body: { code: me ? (await enableMfa(w, me))[0] : 'aaaa-bbbb-cccc' } }),
    cells: [U,    204,  204,  204,   204,   204,  204,   F,                F],
    verify: async ({ w, me }, allowed) => {
      if (me) expect(w.app.plinth.storage.fromBoolean((await one(w, 'users', me.id)).mfa_enabled)).toBe(!allowed);
    },
  },

  // ----- identity: API keys (always the caller's own) -------------------------------
  {
    route: r.listApiKeys, keys: { owner: 'customer', with: ['api_keys:read'], without: ['api_keys:write'] },
    cells: [U,    200,  200,  200,   200,   200,  200,   200,              F],
    check: async (res, { w, me }) => {
      const ids = res.body.data.map((k: { id: string }) => k.id);
      if (ids.length) await ownedByMe(w, 'api_keys', ids, me!);
    },
  },
  {
    route: r.createApiKey, keys: { owner: 'customer', with: ['api_keys:write'], without: ['api_keys:read'] },
    request: ({ w }) => ({ body: { name: `made ${w.next()}`, scopes: [] } }),
    cells: [U,    201,  201,  201,   201,   201,  201,   201,              F],
    check: async (res, { w, me }) => expect((await one(w, 'api_keys', res.body.id)).user_id).toBe(me!.id),
  },
  {
    // The target: a new key of the customer. Nobody else, admins included, is told it exists.
    route: r.revokeApiKey, keys: { owner: 'customer', with: ['api_keys:write'], without: ['api_keys:read'] },
    request: async ({ w }) => {
      const key = await w.apiKeys.createApiKey({ name: `target ${w.next()}`, userId: w.people.customer.id }, as(system));
      return { params: { id: key.id } };
    },
    cells: [U,    204,  NO_RES, NO_RES, NO_RES, NO_RES, NO_RES, 204,         F],
    verify: async ({ w }, allowed, req) => {
      expect((await one(w, 'api_keys', req.params!.id!)).revoked_at === null).toBe(!allowed);
    },
  },

  // ----- access: roles --------------------------------------------------------------
  {
    route: a.listRoles, keys: { owner: 'admin', with: ['roles:read'], without: ['users:read'] },
    cells: [U,    F,    F,    F,     F,     200,  200,   200,              F],
  },
  {
    route: a.createRole, keys: { owner: 'admin', with: ['roles:write'], without: ['roles:read'] },
    // No permissions in the role: a key may not grant a permission beyond its scopes (here, anything but `roles:*`).
    request: ({ w }) => ({ body: { name: `matrix-${w.next()}`, permissions: [] } }),
    cells: [U,    F,    F,    F,     F,     F,    201,   201,              F],
  },
  {
    route: a.updateRole, keys: { owner: 'admin', with: ['roles:write'], without: ['roles:read'] },
    request: ({ w }) => ({ params: { name: w.role }, body: { description: 'changed by the matrix', permissions: [] } }),
    cells: [U,    F,    F,    F,     F,     F,    200,   200,              F],
  },

  // ----- access: organizations ------------------------------------------------------
  {
    // Everyone may list; what they see is theirs (staff and admin see all; a key needs `orgs:read`).
    route: a.listOrgs, keys: { owner: 'customer', with: ['orgs:read'], without: ['api_keys:read'] },
    request: () => ({ query: '?limit=100' }),
    cells: [U,    200,  200,  200,   200,   200,  200,   200,              200],
    check: (res, { w, caller }) => {
      const ids = res.body.data.map((o: { id: string }) => o.id);
      expect(ids.includes(w.orgId)).toBe(caller !== 'otherCustomer' && caller !== 'keyWithoutScope');
      if (caller === 'otherCustomer' || caller === 'keyWithoutScope') expect(ids).toEqual([]);
    },
  },
  {
    route: a.createOrg, keys: { owner: 'customer', with: ['orgs:create'], without: ['orgs:read'] },
    request: ({ w }) => {
      const n = w.next();
      return { body: { name: `Org ${n}`, slug: `matrix-${n}` } };
    },
    cells: [U,    201,  201,  201,   201,   201,  201,   201,              F],
    check: (res) => expect(res.body.role).toBe('owner'),
  },
  {
    route: a.getOrg, keys: { owner: 'customer', with: ['orgs:read'], without: ['api_keys:read'] },
    request: ({ w }) => ({ params: { id: w.orgId } }),
    cells: [U,    200,  NO_ORG, 200, 200,   200,  200,   200,              NO_ORG],
    check: (res, { w }) => expect(res.body.id).toBe(w.orgId),
  },
  {
    route: a.listMembers, keys: { owner: 'customer', with: ['orgs:read', 'members:read'], without: ['orgs:read'] },
    request: ({ w }) => ({ params: { id: w.orgId } }),
    cells: [U,    200,  NO_ORG, 200, 200,   200,  200,   200,              F],
  },
  {
    // Adds a new user; org admins and owners manage their own org's members.
    route: a.addMember, keys: { owner: 'customer', with: ['orgs:read', 'members:write'], without: ['orgs:read'] },
    request: async ({ w }) => ({ params: { id: w.orgId }, body: { email: (await bystander(w)).email, role: 'member' } }),
    cells: [U,    201,  NO_ORG, F,   201,   F,    201,   201,              F],
    verify: async ({ w }, allowed, req) => {
      const user = await w.app.plinth.service<{ findUserByEmail(email: string): Promise<{ id: string } | undefined> }>('identity').findUserByEmail((req.body as { email: string }).email);
      expect(await w.access.orgRoleOf(w.orgId, user!.id)).toBe(allowed ? 'member' : null);
    },
  },
  {
    // Promotes a throwaway member to org admin.
    route: a.updateMember, keys: { owner: 'customer', with: ['orgs:read', 'members:write'], without: ['orgs:read'] },
    request: async ({ w }) => ({ params: { id: w.orgId, userId: await throwawayMember(w) }, body: { role: 'admin' } }),
    cells: [U,    200,  NO_ORG, F,   200,   F,    200,   200,              F],
    verify: async ({ w }, allowed, req) => {
      expect(await w.access.orgRoleOf(w.orgId, req.params!.userId!)).toBe(allowed ? 'admin' : 'member');
    },
  },
  {
    // Removes a throwaway member (not the caller: leaving is always allowed).
    route: a.removeMember, keys: { owner: 'customer', with: ['orgs:read', 'members:write'], without: ['orgs:read'] },
    request: async ({ w }) => ({ params: { id: w.orgId, userId: await throwawayMember(w) } }),
    cells: [U,    204,  NO_ORG, F,   204,   F,    204,   204,              F],
    verify: async ({ w }, allowed, req) => {
      expect(await w.access.orgRoleOf(w.orgId, req.params!.userId!)).toBe(allowed ? null : 'member');
    },
  },

  // ----- access: administration of accounts ---------------------------------------
  {
    route: a.adminListUsers, keys: { owner: 'admin', with: ['users:read'], without: ['roles:read'] },
    request: () => ({ query: '?limit=100' }),
    cells: [U,    F,    F,    F,     F,     200,  200,   200,              F],
  },
  {
    route: a.adminGetUser, keys: { owner: 'admin', with: ['users:read'], without: ['roles:read'] },
    request: ({ w }) => ({ params: { id: w.people.customer.id } }),
    cells: [U,    F,    F,    F,     F,     200,  200,   200,              F],
    check: (res, { w }) => expect(res.body.id).toBe(w.people.customer.id),
  },
  {
    // Disables a throwaway user: admins only (staff read users, they do not change them).
    route: a.adminUpdateUser, keys: { owner: 'admin', with: ['users:write'], without: ['users:read'] },
    request: async ({ w }) => ({ params: { id: (await bystander(w)).id }, body: { status: 'disabled' } }),
    cells: [U,    F,    F,    F,     F,     F,    200,   200,              F],
    verify: async ({ w }, allowed, req) => {
      expect((await one(w, 'users', req.params!.id!)).status).toBe(allowed ? 'disabled' : 'active');
    },
  },
  {
    route: a.adminListUserSessions, keys: { owner: 'admin', with: ['users:read'], without: ['roles:read'] },
    request: ({ w }) => ({ params: { id: w.people.customer.id } }),
    cells: [U,    F,    F,    F,     F,     200,  200,   200,              F],
    check: (res) => expect(res.body.data.length).toBeGreaterThan(0),
  },
  {
    route: a.adminRevokeSessions, keys: { owner: 'admin', with: ['users:write'], without: ['users:read'] },
    request: async ({ w }) => ({ params: { id: (await bystander(w)).id } }),
    cells: [U,    F,    F,    F,     F,     F,    200,   200,              F],
    check: (res) => expect(res.body).toEqual({ revoked: 1 }),
    verify: async ({ w }, allowed, req) => {
      const active = await w.app.plinth.db.selectFrom('sessions').select('id').where('user_id', '=', req.params!.id!).where('revoked_at', 'is', null).execute();
      expect(active.length).toBe(allowed ? 0 : 1);
    },
  },
];

/** Public routes: anonymous callers get an ordinary answer (never 401/403) for a well-formed request. */
interface PublicRow {
  route: RouteDef;
  request: (w: World) => Promise<Req> | Req;
  status: number;
  code?: string;
}

/** The token in the last link mailed to `to`. */
async function mailedToken(w: World, to: string, kind: string): Promise<string> {
  await w.emailFlows.settled();
  const message = [...w.app.mail.messages].reverse().find((m) => m.to === to && m.kind === kind);
  const token = message && /\?token=([\w-]+)/.exec(message.text)?.[1];
  expect(token, `a ${kind} link mailed to ${to}`).toBeTruthy();
  return token!;
}

const PUBLIC_ROWS: PublicRow[] = [
  { route: r.signUp, request: (w) => ({ body: { email: `new-${w.next()}@example.com`, password: PASSWORD } }), status: 201 },
  { route: r.signIn, request: (w) => ({ body: { email: w.people.customer.email, password: PASSWORD } }), status: 200 },
  {
    route: r.verifyMfa,
    request: async (w) => {
      const me = await makePerson(w, 'customer');
      const [code] = await enableMfa(w, me);
      const challenge = await w.app.call('POST', '/v1/auth/sign-in', { body: { email: me.email, password: PASSWORD } });
      expect(challenge.body.mfaRequired).toBe(true);
      return { body: { mfaToken: challenge.body.mfaToken, code } };
    },
    status: 200,
  },
  { route: r.refresh, request: async (w) => ({ body: { refreshToken: (await signIn(w, w.people.customer)).refreshToken } }), status: 200 },
  {
    route: r.verifyEmail,
    request: async (w) => {
      const user = await bystander(w);
      return { body: { token: await mailedToken(w, user.email, 'identity.verify_email') } };
    },
    status: 200,
  },
  { route: r.requestPasswordReset, request: (w) => ({ body: { email: w.people.otherCustomer.email } }), status: 202 },
  {
    route: r.confirmPasswordReset,
    request: async (w) => {
      const user = await bystander(w);
      expect((await w.app.call('POST', '/v1/auth/password-reset', { body: { email: user.email } })).status).toBe(202);
      return { body: { token: await mailedToken(w, user.email, 'identity.password_reset'), password: NEW_PASSWORD } };
    },
    status: 200,
  },
  // No OpenID provider is configured here: the route answers, with 404 for the unknown provider.
  { route: r.oidcStart, request: () => ({ params: { provider: 'nowhere' } }), status: 404, code: 'auth.oidc_unknown_provider' },
  { route: r.oidcCallback, request: () => ({ params: { provider: 'nowhere' }, query: '?code=x&state=y' }), status: 404, code: 'auth.oidc_unknown_provider' },
];

// ---------------------------------------------------------------------------
// Running it

const routeKey = (route: RouteDef) => `${route.method} ${route.path}`;
const contractRoutes: RouteDef[] = [...Object.values(identityRoutes), ...Object.values(accessRoutes)];

function fill(path: string, params: Record<string, string> = {}): string {
  return path.replace(/:([A-Za-z]+)/g, (_, name: string) => {
    const value = params[name];
    if (value === undefined) throw new Error(`no value for :${name} in ${path}`);
    return encodeURIComponent(value);
  });
}

/** The caller of one cell: its credentials, and who it acts as. */
async function callerOf(w: World, row: Row, caller: CallerName): Promise<{ headers: Record<string, string>; me: Person | undefined }> {
  if (caller === 'anonymous') return { headers: {}, me: undefined };
  if (isKey(caller)) {
    const owner = row.fresh === 'identity' ? await makePerson(w, row.keys.owner) : w.people[row.keys.owner];
    const key = await keyFor(w, owner, caller === 'keyWithScope' ? row.keys.with : row.keys.without);
    return { headers: { 'x-api-key': key }, me: owner };
  }
  let me = row.fresh === 'identity' ? await makePerson(w, caller) : w.people[caller];
  if (row.fresh === 'session') me = { ...me, token: (await signIn(w, me)).accessToken };
  return { headers: { authorization: `Bearer ${me.token}` }, me };
}

const CELLS = ROWS.flatMap((row) =>
  CALLERS.map((caller, i) => {
    const expected = outcome(row.cells[i]!);
    return { name: `${routeKey(row.route)} × ${caller} → ${label(expected)}`, row, caller, expected };
  }),
);

describe('the authorization matrix', () => {
  it('has exactly one row per non-public route of identity and access, and a public row per public route', () => {
    const rows = ROWS.map((row) => routeKey(row.route));
    expect(new Set(rows).size).toBe(rows.length);
    expect([...rows].sort()).toEqual(contractRoutes.filter((route) => route.auth !== 'public').map(routeKey).sort());
    const publicRows = PUBLIC_ROWS.map((row) => routeKey(row.route));
    expect(new Set(publicRows).size).toBe(publicRows.length);
    expect([...publicRows].sort()).toEqual(contractRoutes.filter((route) => route.auth === 'public').map(routeKey).sort());
  });

  it('has a cell for every caller of every row, and a scope for every key+ of a permission-checked route', () => {
    for (const row of ROWS) {
      expect(row.cells, routeKey(row.route)).toHaveLength(CALLERS.length);
      if (row.route.permission) {
        expect(row.keys.with, routeKey(row.route)).toContain(row.route.permission);
        expect(row.keys.without, routeKey(row.route)).not.toContain(row.route.permission);
      }
      // Nobody gets in without credentials.
      expect(outcome(row.cells[0]), routeKey(row.route)).toEqual(U);
    }
  });
});

/** Suite-scoped resources (the harness of `useHarness` closes everything after each test). */
function suiteHarness(): Harness & { close(): Promise<void> } {
  const cleanups: (() => unknown)[] = [];
  return {
    async database(dialect) {
      const db = await createTestDatabase(dialect);
      cleanups.push(() => db.drop());
      return db;
    },
    plinth() {
      throw new Error('not used here');
    },
    defer(fn) {
      cleanups.push(fn);
    },
    async close() {
      while (cleanups.length) await cleanups.pop()!();
    },
  };
}

async function buildWorld(h: Harness, dialect: TestDialect): Promise<World> {
  const app = await startApp(h, dialect);
  const identity = app.plinth.service<{ apiKeys: ApiKeyService; emailFlows: EmailFlows }>('identity');
  let counter = 0;
  const w: World = {
    app,
    access: app.plinth.service<AccessService>('access'),
    apiKeys: identity.apiKeys,
    emailFlows: identity.emailFlows,
    people: {} as World['people'],
    orgId: '',
    role: 'matrix',
    keys: new Map(),
    next: () => ++counter,
  };
  const customer = await makePerson(w, 'customer');
  const org = await app.call('POST', '/v1/orgs', { token: customer.token, body: { name: 'Acme', slug: 'acme' } });
  expect(org.status).toBe(201);
  w.orgId = org.body.id;
  w.people = {
    customer,
    otherCustomer: await makePerson(w, 'otherCustomer'),
    orgMember: await makePerson(w, 'orgMember'),
    orgAdmin: await makePerson(w, 'orgAdmin'),
    staff: await makePerson(w, 'staff'),
    admin: await makePerson(w, 'admin'),
  };
  await w.access.createRole({ name: w.role, permissions: [] }, as(system));
  // The columns are who they say they are.
  const roleIn = async (p: Person) => (await app.call('GET', `/v1/orgs/${w.orgId}`, { token: p.token })).body.role ?? null;
  expect(await roleIn(customer)).toBe('owner');
  expect(await roleIn(w.people.orgAdmin)).toBe('admin');
  expect(await roleIn(w.people.orgMember)).toBe('member');
  expect(await roleIn(w.people.staff)).toBeNull();
  for (const p of Object.values(w.people)) {
    const me = await app.call('GET', '/v1/me', { token: p.token });
    expect(me.body.roles, p.kind).toEqual(p.kind === 'staff' || p.kind === 'admin' ? [p.kind] : ['customer']);
  }
  // Every key of the shared fixtures, made once.
  for (const row of ROWS) {
    if (row.fresh === 'identity') continue;
    await keyFor(w, w.people[row.keys.owner], row.keys.with);
    await keyFor(w, w.people[row.keys.owner], row.keys.without);
  }
  return w;
}

describe.each(dialects)('authorization matrix on %s', (dialect) => {
  const h = suiteHarness();
  let w: World;
  beforeAll(async () => {
    w = await buildWorld(h, dialect);
  });
  afterAll(() => h.close());

  // `%s` of a tuple: vitest shortens `$name` to 40 characters, which would hide the caller and the outcome.
  it.each(CELLS.map((cell) => [cell.name, cell] as const))('%s', async (_, { row, caller, expected }) => {
    const { headers, me } = await callerOf(w, row, caller);
    const ctx: Ctx = { w, caller, me };
    const req = (await row.request?.(ctx)) ?? {};
    const res = await w.app.call(row.route.method, fill(row.route.path, req.params) + (req.query ?? ''), { body: req.body, headers });
    const detail = JSON.stringify(res.body);
    if ('deny' in expected) {
      expect({ status: res.status, code: res.body?.code }, detail).toEqual({ status: expected.deny, code: expected.code });
    } else {
      expect({ status: res.status, code: expected.code === undefined ? undefined : res.body?.code }, detail).toEqual({ status: expected.allow, code: expected.code });
      await row.check?.(res, ctx);
    }
    await row.verify?.(ctx, !('deny' in expected) && expected.allow < 300, req);
  });

  it.each(PUBLIC_ROWS.map((row) => [`${routeKey(row.route)} × anonymous → ${row.status}`, row] as const))('public: %s', async (_, row) => {
    const req = await row.request(w);
    const res = await w.app.call(row.route.method, fill(row.route.path, req.params) + (req.query ?? ''), { body: req.body });
    expect(res.status, JSON.stringify(res.body)).not.toBe(401);
    expect(res.status).not.toBe(403);
    expect({ status: res.status, code: row.code === undefined ? undefined : res.body?.code }).toEqual({ status: row.status, code: row.code });
  });
});
