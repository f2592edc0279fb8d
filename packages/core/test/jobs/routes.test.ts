/**
 * The job admin routes over real HTTP with real tokens: success, validation
 * failure, unauthenticated, forbidden and not found; staff read, admins write.
 */
import { describe, expect, it } from 'vitest';
import { builtinModules, defineModule } from '../../src/index.js';
import type { AccessService } from '../../src/modules/access/service.js';
import type { AuditService } from '../../src/modules/audit/index.js';
import { dialects } from '../../src/testing/index.js';
import { as, system } from '../access/support.js';
import { signUp, startApp } from '../support/app.js';
import { useHarness } from '../support/harness.js';

const problem = (res: { status: number; body: any }, status: number, code: string) => {
  expect({ status: res.status, code: res.body?.code }).toEqual({ status, code });
};

const shop = defineModule({
  name: 'shop',
  jobs: {
    'shop.receipt': { maxAttempts: 1, handler: () => { throw new Error('smtp down'); } },
    'shop.reindex': { queue: 'search', handler: () => undefined },
  },
});

describe.each(dialects)('job routes on %s', (dialect) => {
  const h = useHarness();

  async function world() {
    // Without the notifications and webhooks modules: sign-ups would add their own (mail) jobs to the lists.
    const app = await startApp(h, dialect, { builtins: builtinModules.filter((m) => m.name !== 'notifications' && m.name !== 'webhooks'), modules: [shop] });
    const access = app.plinth.service<AccessService>('access');
    const person = async (roles?: string[]) => {
      const signed = await signUp(app);
      if (!roles) return signed.accessToken;
      await access.setRoles(signed.user.id, roles, as(system));
      const refreshed = await app.call('POST', '/v1/auth/refresh', { body: { refreshToken: signed.refreshToken } });
      return refreshed.body.accessToken as string;
    };
    const [admin, staff, customer] = [await person(['admin']), await person(['staff']), await person()];
    const jobs = app.plinth.jobs;
    const dead = await jobs.enqueue('shop.receipt', { orderId: 'o1' });
    await app.plinth.db.updateTable('plinth_jobs').set({ state: 'dead', attempts: 1, last_error: 'smtp down' }).where('id', '=', dead.id).execute();
    const waiting = await jobs.enqueue('shop.reindex', { all: true }, { delayMs: 60_000 });
    const third = await jobs.enqueue('shop.reindex', { all: false }, { delayMs: 60_000 });
    return { app, admin, staff, customer, dead, waiting, third };
  }

  it('GET /v1/jobs: lists newest first with filters and cursor pages; staff may read, customers may not', async () => {
    const { app, staff, customer, dead, waiting, third } = await world();
    const all = await app.call('GET', '/v1/jobs', { token: staff });
    expect(all.status).toBe(200);
    expect(all.body.data.map((j: { id: string }) => j.id)).toEqual([third.id, waiting.id, dead.id]);
    expect(all.body.nextCursor).toBeNull();

    const page1 = await app.call('GET', '/v1/jobs?limit=2', { token: staff });
    expect(page1.body.data).toHaveLength(2);
    const page2 = await app.call('GET', `/v1/jobs?limit=2&cursor=${page1.body.nextCursor}`, { token: staff });
    expect(page2.body).toEqual({ data: [expect.objectContaining({ id: dead.id, state: 'dead', lastError: 'smtp down' })], nextCursor: null });

    const filtered = async (query: string) => (await app.call('GET', `/v1/jobs?${query}`, { token: staff })).body.data.map((j: { id: string }) => j.id);
    expect(await filtered('state=dead')).toEqual([dead.id]);
    expect(await filtered('queue=search')).toEqual([third.id, waiting.id]);
    expect(await filtered('type=shop.receipt&state=queued')).toEqual([]);

    problem(await app.call('GET', '/v1/jobs?state=exploded', { token: staff }), 422, 'validation.failed');
    problem(await app.call('GET', '/v1/jobs?limit=0', { token: staff }), 422, 'validation.failed');
    problem(await app.call('GET', '/v1/jobs'), 401, 'auth.unauthenticated');
    problem(await app.call('GET', '/v1/jobs', { token: customer }), 403, 'auth.forbidden');
  });

  it('GET /v1/jobs/:id: one job; unknown ids are 404', async () => {
    const { app, staff, customer, dead } = await world();
    const res = await app.call('GET', `/v1/jobs/${dead.id}`, { token: staff });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: dead.id, type: 'shop.receipt', queue: 'default', state: 'dead', payload: { orderId: 'o1' }, attempts: 1, maxAttempts: 1 });
    problem(await app.call('GET', '/v1/jobs/nope', { token: staff }), 404, 'jobs.not_found');
    problem(await app.call('GET', `/v1/jobs/${'x'.repeat(65)}`, { token: staff }), 422, 'validation.failed');
    problem(await app.call('GET', `/v1/jobs/${dead.id}`), 401, 'auth.unauthenticated');
    problem(await app.call('GET', `/v1/jobs/${dead.id}`, { token: customer }), 403, 'auth.forbidden');
  });

  it('POST /v1/jobs/:id/retry: admins requeue a dead job (audited); staff may not; a running or completed job is 409', async () => {
    const { app, admin, staff, dead } = await world();
    problem(await app.call('POST', `/v1/jobs/${dead.id}/retry`), 401, 'auth.unauthenticated');
    problem(await app.call('POST', `/v1/jobs/${dead.id}/retry`, { token: staff }), 403, 'auth.forbidden');
    expect((await app.plinth.jobs.get(dead.id))?.state).toBe('dead');
    problem(await app.call('POST', '/v1/jobs/nope/retry', { token: admin }), 404, 'jobs.not_found');

    const res = await app.call('POST', `/v1/jobs/${dead.id}/retry`, { token: admin });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: dead.id, state: 'queued', attempts: 0 });
    const [event] = await app.plinth.service<AuditService>('audit').list({ action: 'jobs.job.retried' });
    expect(event).toMatchObject({ targetType: 'job', targetId: dead.id, data: { type: 'shop.receipt', from: 'dead' } });

    await app.plinth.db.updateTable('plinth_jobs').set({ state: 'completed' }).where('id', '=', dead.id).execute();
    problem(await app.call('POST', `/v1/jobs/${dead.id}/retry`, { token: admin }), 409, 'jobs.invalid_state');
  });

  it('POST /v1/jobs/:id/cancel: admins cancel a queued job (audited); a dead one is 409; the job reads back cancelled', async () => {
    const { app, admin, customer, dead, waiting } = await world();
    problem(await app.call('POST', `/v1/jobs/${waiting.id}/cancel`, { token: customer }), 403, 'auth.forbidden');
    problem(await app.call('POST', `/v1/jobs/${waiting.id}/cancel`), 401, 'auth.unauthenticated');
    problem(await app.call('POST', '/v1/jobs/nope/cancel', { token: admin }), 404, 'jobs.not_found');
    problem(await app.call('POST', `/v1/jobs/${dead.id}/cancel`, { token: admin }), 409, 'jobs.invalid_state');

    const cancelled = await app.call('POST', `/v1/jobs/${waiting.id}/cancel`, { token: admin });
    expect({ status: cancelled.status, body: cancelled.body }).toMatchObject({ status: 200, body: { id: waiting.id, state: 'cancelled' } });
    expect((await app.call('GET', `/v1/jobs/${waiting.id}`, { token: admin })).body).toMatchObject({ state: 'cancelled', finishedAt: expect.any(String) });
    expect((await app.plinth.service<AuditService>('audit').list({ action: 'jobs.job.cancelled' }))[0]).toMatchObject({ targetId: waiting.id });
    const listed = await app.call('GET', '/v1/jobs?state=cancelled', { token: admin });
    expect(listed.body.data.map((j: { id: string }) => j.id)).toEqual([waiting.id]);
  });
});

