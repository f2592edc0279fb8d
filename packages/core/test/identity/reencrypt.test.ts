/**
 * Encryption-key rotation (`plinth keys rotate-encryption`) on both dialects:
 * data written under k1, the operator configures [k2, k1] and re-encrypts,
 * then drops k1 — sign-in, MFA and every stored secret keep working: identity's
 * (TOTP, signing keys, OIDC verifiers), webhook signing secrets (current and
 * previous) and notification variables.
 */
import { describe, expect, it } from 'vitest';
import type { IdentityService } from '../../src/modules/identity/service.js';
import type { Caller } from '../../src/modules/identity/types.js';
import type { NotificationsService } from '../../src/modules/notifications/service.js';
import type { WebhooksService } from '../../src/modules/webhooks/service.js';
import { sha256 } from '../../src/modules/identity/secure-token.js';
import { generateEncryptionKey } from '../../src/secrets/secret-box.js';
import { dialects } from '../../src/testing/index.js';
import { useHarness } from '../support/harness.js';
import { type MfaApp, mfaApp, PASSWORD } from './support/mfa-app.js';

const h = useHarness();
const k1 = generateEncryptionKey('k1');
const k2 = generateEncryptionKey('k2');
const VERIFIER = 'pkce-verifier-0123456789-abcdefghijklmnopqrstuv';
const STATE_HASH = sha256('some-oidc-state');
const SYSTEM: Caller = { actor: { kind: 'system', name: 'test' } };
const RESET_LINK = 'https://shop.example/reset?token=secret-reset-token';

/** Every encrypted value, by table and row. */
async function encryptedValues(app: MfaApp): Promise<Record<string, string>> {
  const db = app.plinth.db;
  const values: Record<string, string> = {};
  for (const r of await db.selectFrom('totp_credentials').select(['user_id', 'secret']).execute()) values[`totp:${r.user_id}`] = r.secret;
  for (const r of await db.selectFrom('signing_keys').select(['kid', 'private_jwk']).execute()) values[`signing_key:${r.kid}`] = r.private_jwk;
  for (const r of await db.selectFrom('oidc_states').select(['state_hash', 'code_verifier']).execute()) values[`oidc:${r.state_hash}`] = r.code_verifier;
  for (const r of await db.selectFrom('webhook_endpoints').select(['id', 'secret', 'previous_secret']).execute()) {
    values[`webhook:${r.id}`] = r.secret;
    if (r.previous_secret !== null) values[`webhook_previous:${r.id}`] = r.previous_secret;
  }
  for (const r of await db.selectFrom('notification_deliveries').select(['id', 'variables']).where('variables', 'is not', null).execute()) values[`notification:${r.id}`] = r.variables;
  return values;
}

/** What each table of the report says, by table and column. */
const byTable = (report: Awaited<ReturnType<IdentityService['reencryptSecrets']>>) => Object.fromEntries(report.tables.map((t) => [`${t.table}.${t.column}`, t]));

/** Two users with MFA on, one with an enrollment pending, and a PKCE verifier in flight — all under k1. */
async function dataUnderK1(dialect: (typeof dialects)[number]) {
  const app = await mfaApp(h, dialect, { encryptionKeys: [k1] });
  const alice = await app.signUp('alice@example.com');
  const { secret } = await app.enableMfa(alice.token);
  const bob = await app.signUp('bob@example.com');
  await app.enableMfa(bob.token);
  const carol = await app.signUp('carol@example.com');
  expect((await app.call('POST', '/v1/me/mfa/totp', { token: carol.token })).status).toBe(201);
  const at = new Date(app.clock.now()).toISOString();
  await app.plinth.db
    .insertInto('oidc_states')
    .values({
      state_hash: STATE_HASH,
      provider: 'test',
      nonce: 'n',
      code_verifier: app.plinth.secrets.encrypt(VERIFIER, `oidc_states.code_verifier:${STATE_HASH}`),
      redirect_to: null,
      created_at: at,
      expires_at: new Date(app.clock.now() + 600_000).toISOString(),
    })
    .execute();
  // A webhook endpoint whose secret was rotated once (both secrets sign during the overlap),
  // and an email whose variables hold a reset link.
  const webhooks = app.plinth.service<WebhooksService>('webhooks');
  const endpoint = await webhooks.createEndpoint({ url: 'https://93.184.216.34/hooks', events: ['order.paid'] }, SYSTEM);
  const rotated = await webhooks.rotateSecret(endpoint.id, SYSTEM);
  const email = await app.plinth.service<NotificationsService>('notifications').notify({
    template: 'identity.password_reset', email: 'dave@example.com', channels: ['email'], variables: { greeting: 'Hi', link: RESET_LINK, lifetime: '1 hour' },
  });
  const plain = {
    webhookSecret: rotated.secret,
    webhookPrevious: endpoint.secret,
    webhookId: endpoint.id,
    notificationId: email[0]!.id,
  };
  const before = await encryptedValues(app);
  await app.close();
  return { app, secret, bobId: bob.userId, before, plain };
}

/** Password, then a current TOTP code: the whole MFA sign-in. */
async function signInWithMfa(app: MfaApp, secret: string): Promise<number> {
  app.nextStep();
  const signIn = await app.call('POST', '/v1/auth/sign-in', { body: { email: 'alice@example.com', password: PASSWORD } });
  expect(signIn.body.mfaRequired, JSON.stringify(signIn.body)).toBe(true);
  const verified = await app.call('POST', '/v1/auth/mfa/verify', { body: { mfaToken: signIn.body.mfaToken, code: app.code(secret) } });
  return verified.status;
}

const table = (name: string, column: string, counts: { scanned: number; reencrypted?: number; current?: number; undecryptable?: number }, unknownKeyIds: string[] = []) => ({
  table: name,
  column,
  scanned: counts.scanned,
  reencrypted: counts.reencrypted ?? 0,
  current: counts.current ?? 0,
  undecryptable: counts.undecryptable ?? 0,
  unknownKeyIds,
});

describe.each(dialects)('re-encrypting secrets at rest (%s)', (dialect) => {
  it('moves every secret to the new key; sign-in and MFA work throughout, and after the old key is gone', async () => {
    const { app: first, secret, before, plain } = await dataUnderK1(dialect);
    const kinds = (values: Record<string, string>) => Object.keys(values).map((k) => k.slice(0, k.indexOf(':'))).sort();
    // 3 TOTP secrets, 1 signing key, 1 PKCE verifier, a webhook's secret and previous secret, the email's variables
    // (and those of the sign-up emails).
    expect(new Set(kinds(before))).toEqual(new Set(['totp', 'signing_key', 'oidc', 'webhook', 'webhook_previous', 'notification']));
    for (const value of Object.values(before)) expect(value).toMatch(/^v1\.k1\./);
    const notifications = kinds(before).filter((k) => k === 'notification').length;

    // The operator puts k2 first and keeps k1.
    const second = await mfaApp(h, dialect, { db: first.db, clock: first.clock, encryptionKeys: [k2, k1] });
    expect(await signInWithMfa(second, secret)).toBe(200);

    const report = await second.identity.reencryptSecrets({ batchSize: 2 });
    expect(report.keyId).toBe('k2');
    expect(report.ok).toBe(true);
    expect(byTable(report)).toEqual({
      'totp_credentials.secret': table('totp_credentials', 'secret', { scanned: 3, reencrypted: 3 }),
      'signing_keys.private_jwk': table('signing_keys', 'private_jwk', { scanned: 1, reencrypted: 1 }),
      'oidc_states.code_verifier': table('oidc_states', 'code_verifier', { scanned: 1, reencrypted: 1 }),
      'webhook_endpoints.secret': table('webhook_endpoints', 'secret', { scanned: 1, reencrypted: 1 }),
      'webhook_endpoints.previous_secret': table('webhook_endpoints', 'previous_secret', { scanned: 1, reencrypted: 1 }),
      'notification_deliveries.variables': table('notification_deliveries', 'variables', { scanned: notifications, reencrypted: notifications }),
    });
    const after = await encryptedValues(second);
    expect(Object.keys(after).sort()).toEqual(Object.keys(before).sort());
    for (const value of Object.values(after)) expect(value).toMatch(/^v1\.k2\./);
    expect(await signInWithMfa(second, secret)).toBe(200);
    expect(await second.audit('secrets.reencrypted')).toEqual([
      expect.objectContaining({ actorType: 'system', actorId: 'secrets', data: expect.objectContaining({ keyId: 'k2', ok: true }) }),
    ]);

    // Running it again changes nothing.
    const again = await second.identity.reencryptSecrets();
    expect(again.ok).toBe(true);
    expect(again.tables.map((t) => [t.reencrypted, t.current])).toEqual(report.tables.map((t) => [0, t.scanned]));
    expect(await encryptedValues(second)).toEqual(after);
    expect(await second.audit('secrets.reencrypted')).toHaveLength(1);
    await second.close();

    // k1 is removed: a fresh process decrypts everything with k2 alone.
    const third = await mfaApp(h, dialect, { db: first.db, clock: first.clock, encryptionKeys: [k2] });
    expect(await signInWithMfa(third, secret)).toBe(200);
    expect(third.plinth.secrets.decrypt(after[`oidc:${STATE_HASH}`]!, `oidc_states.code_verifier:${STATE_HASH}`)).toBe(VERIFIER);
    // The webhook secrets still sign and the email can still be rendered.
    const box = third.plinth.secrets;
    expect(box.decrypt(after[`webhook:${plain.webhookId}`]!, `webhook_endpoint:${plain.webhookId}`)).toBe(plain.webhookSecret);
    expect(box.decrypt(after[`webhook_previous:${plain.webhookId}`]!, `webhook_endpoint:${plain.webhookId}`)).toBe(plain.webhookPrevious);
    expect(JSON.parse(box.decrypt(after[`notification:${plain.notificationId}`]!, `notification:${plain.notificationId}`))).toMatchObject({ link: RESET_LINK });
    const final = await third.identity.reencryptSecrets();
    expect(final.ok).toBe(true);
    expect(final.tables.every((t) => t.reencrypted === 0 && t.undecryptable === 0)).toBe(true);
  });

  it('leaves values no configured key decrypts untouched and reports them', async () => {
    const { app: first, bobId, before } = await dataUnderK1(dialect);

    // k1 removed before re-encrypting: nothing can move.
    const early = await mfaApp(h, dialect, { db: first.db, clock: first.clock, encryptionKeys: [k2] });
    const refused = await early.identity.reencryptSecrets();
    expect(refused.ok).toBe(false);
    expect(byTable(refused)).toMatchObject({
      'totp_credentials.secret': table('totp_credentials', 'secret', { scanned: 3, undecryptable: 3 }, ['k1']),
      'signing_keys.private_jwk': table('signing_keys', 'private_jwk', { scanned: 1, undecryptable: 1 }, ['k1']),
      'oidc_states.code_verifier': table('oidc_states', 'code_verifier', { scanned: 1, undecryptable: 1 }, ['k1']),
      'webhook_endpoints.secret': table('webhook_endpoints', 'secret', { scanned: 1, undecryptable: 1 }, ['k1']),
      'webhook_endpoints.previous_secret': table('webhook_endpoints', 'previous_secret', { scanned: 1, undecryptable: 1 }, ['k1']),
    });
    expect(await encryptedValues(early)).toEqual(before);
    expect((await early.audit('secrets.reencrypted')).map((e) => e.data.ok)).toEqual([false]);
    await early.close();

    // With k1 back, one tampered value stays as it is; the others move.
    const second = await mfaApp(h, dialect, { db: first.db, clock: first.clock, encryptionKeys: [k2, k1] });
    const tampered = before[`totp:${bobId}`]!.replace(/\.([A-Za-z0-9_-])([A-Za-z0-9_-]*)$/, (_, c: string, rest: string) => `.${c === 'A' ? 'B' : 'A'}${rest}`);
    await second.plinth.db.updateTable('totp_credentials').set({ secret: tampered }).where('user_id', '=', bobId).execute();
    const report = await second.identity.reencryptSecrets();
    expect(report.ok).toBe(false);
    expect(report.tables[0]).toEqual(table('totp_credentials', 'secret', { scanned: 3, reencrypted: 2, undecryptable: 1 }));
    const after = await encryptedValues(second);
    expect(after[`totp:${bobId}`]).toBe(tampered);
    expect(Object.entries(after).filter(([, v]) => !v.startsWith('v1.k2.')).map(([k]) => k)).toEqual([`totp:${bobId}`]);
  });
});
