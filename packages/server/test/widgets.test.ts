import { dialects } from '@plinth/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { problemOf, startApp, type TestApp } from './widgets-app.js';

const json = (body: unknown) => ({
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

describe.each(dialects)('widget CRUD over HTTP on %s', (dialect) => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startApp({ dialect });
  });
  afterAll(async () => {
    await app?.stop();
  });

  it('creates a widget with 201 and reads it back', async () => {
    const created = await fetch(`${app.url}/v1/widgets`, json({ name: 'Sprocket', count: 3 }));
    expect(created.status).toBe(201);
    expect(created.headers.get('content-type')).toBe('application/json; charset=utf-8');
    const body = (await created.json()) as { id: string; name: string; count: number };
    expect(body).toEqual({ id: expect.any(String), name: 'Sprocket', count: 3 });

    const read = await fetch(`${app.url}/v1/widgets/${body.id}`);
    expect(read.status).toBe(200);
    expect(await read.json()).toEqual(body);
  });

  it('strips columns the response contract does not declare', async () => {
    const created = await fetch(`${app.url}/v1/widgets`, json({ name: 'Cog', count: 1 }));
    const text = await created.text();
    expect(text).not.toContain('secret_note');
    expect(text).not.toContain('hunter2');
    const { id } = JSON.parse(text) as { id: string };
    const read = await (await fetch(`${app.url}/v1/widgets/${id}`)).text();
    expect(read).not.toContain('secret_note');
    expect(read).not.toContain('hunter2');
  });

  it('lists widgets with a coerced ?limit', async () => {
    const res = await fetch(`${app.url}/v1/widgets?limit=1`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { items: unknown[]; limit: number };
    expect(body.limit).toBe(1);
    expect(body.items).toHaveLength(1);
    expect(JSON.stringify(body)).not.toContain('secret_note');
  });

  it('answers 404 resource.not_found for a widget that does not exist', async () => {
    const res = await fetch(`${app.url}/v1/widgets/nope`, { headers: { 'x-request-id': 'req-404' } });
    expect(res.status).toBe(404);
    const problem = await problemOf(res);
    expect(problem).toMatchObject({ status: 404, code: 'resource.not_found', requestId: 'req-404', instance: '/v1/widgets/nope' });
    expect(problem.type).toBe('https://plinth.dev/problems/resource.not_found');
  });

  it('deletes with 204 and an empty body, then 404s', async () => {
    const { id } = (await (await fetch(`${app.url}/v1/widgets`, json({ name: 'Gone', count: 0 }))).json()) as { id: string };
    const del = await fetch(`${app.url}/v1/widgets/${id}`, { method: 'DELETE' });
    expect(del.status).toBe(204);
    expect(await del.text()).toBe('');
    expect((await fetch(`${app.url}/v1/widgets/${id}`)).status).toBe(404);
  });

  it('decodes percent-encoded path parameters', async () => {
    const res = await fetch(`${app.url}/v1/widgets/caf%C3%A9%20au%20lait`);
    expect(res.status).toBe(404);
    expect((await problemOf(res)).detail).toContain('café au lait');
  });

  it('rejects bad bodies with 422 and changes nothing', async () => {
    const before = await app.widgetCount();
    const cases: [unknown, string[]][] = [
      [{ name: 'x', count: 'three' }, ['body.count']],
      [{ name: '', count: 1.5 }, ['body.name', 'body.count']],
      [{ count: 1 }, ['body.name']],
      [{}, ['body.name', 'body.count']],
      [[1, 2], ['body']],
      ['a string', ['body']],
      [null, ['body']],
    ];
    for (const [body, paths] of cases) {
      const res = await fetch(`${app.url}/v1/widgets`, json(body));
      expect(res.status, JSON.stringify(body)).toBe(422);
      const problem = await problemOf(res);
      expect(problem.code).toBe('validation.failed');
      expect(problem.requestId).toEqual(expect.any(String));
      expect(problem.errors.map((e: { path: string }) => e.path).sort()).toEqual([...paths].sort());
      for (const e of problem.errors) expect(e).toEqual({ path: expect.any(String), message: expect.any(String), code: expect.any(String) });
    }
    expect(await app.widgetCount()).toBe(before);
  });

  it('rejects a POST without a body as 422 on body', async () => {
    const before = await app.widgetCount();
    const res = await fetch(`${app.url}/v1/widgets`, { method: 'POST' });
    expect(res.status).toBe(422);
    const problem = await problemOf(res);
    expect(problem.code).toBe('validation.failed');
    expect(problem.errors[0].path).toBe('body');
    expect(await app.widgetCount()).toBe(before);
  });

  it('rejects an invalid query with 422 naming the query field', async () => {
    for (const limit of ['abc', '1000', '0', '2.5']) {
      const res = await fetch(`${app.url}/v1/widgets?limit=${limit}`);
      expect(res.status, limit).toBe(422);
      const problem = await problemOf(res);
      expect(problem.code).toBe('validation.failed');
      expect(problem.errors.map((e: { path: string }) => e.path)).toEqual(['query.limit']);
    }
  });

  it('answers a unique violation with 409 storage.conflict and no SQL', async () => {
    const put = (name: string) =>
      fetch(`${app.url}/v1/widgets/fixed-id`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name, count: 1 }) });
    expect((await put('first')).status).toBe(201);
    const before = await app.widgetCount();
    const res = await put('second');
    expect(res.status).toBe(409);
    const text = await res.clone().text();
    expect(await problemOf(res)).toMatchObject({ status: 409, code: 'storage.conflict', requestId: expect.any(String) });
    for (const leak of ['UNIQUE', 'unique constraint', 'duplicate key', 'widgets_pkey', 'fixed-id)', 'insert', 'hunter2']) {
      expect(text).not.toContain(leak);
    }
    expect(await app.widgetCount()).toBe(before);
    expect(((await (await fetch(`${app.url}/v1/widgets/fixed-id`)).json()) as { name: string }).name).toBe('first');
  });

  it('answers a database error as 500 internal without SQL or secrets', async () => {
    const res = await fetch(`${app.url}/v1/bad-sql`, { headers: { 'x-request-id': 'req-sql' } });
    expect(res.status).toBe(500);
    const text = await res.clone().text();
    const problem = await problemOf(res);
    expect(problem).toMatchObject({ status: 500, code: 'internal', requestId: 'req-sql' });
    for (const leak of ['no_such_table', 'hunter2', 'select', 'SELECT', 'stack', ' at ', 'sqlite', 'relation']) {
      expect(text).not.toContain(leak);
    }
  });
});
