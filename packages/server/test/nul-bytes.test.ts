/** NUL characters cannot be stored in PostgreSQL text: they are refused at the edge with a 400, never a 500. */
import { afterEach, describe, expect, it } from 'vitest';
import { dialects } from '@plinth/core/testing';
import { startApp, type TestApp } from './widgets-app.js';

let app: TestApp | undefined;
afterEach(async () => {
  await app?.stop();
  app = undefined;
});

describe.each(dialects)('NUL characters on %s', (dialect) => {
  it('refuses them in the body, the query and the path, and stores nothing', async () => {
    app = await startApp({ dialect });
    const post = await fetch(`${app.url}/v1/widgets`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name":"a\\u0000b","count":1}' });
    expect(post.status).toBe(400);
    expect((await post.json()).code).toBe('request.invalid_characters');
    const key = await fetch(`${app.url}/v1/widgets`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name":"ok","count":1,"x\\u0000":1}' });
    expect(key.status).toBe(400);
    const query = await fetch(`${app.url}/v1/echo-query?q=a%00b`);
    expect([query.status, (await query.json()).code]).toEqual([400, 'request.invalid_characters']);
    const path = await fetch(`${app.url}/v1/widgets/a%00b`);
    expect(path.status).toBe(400);
    const list = await (await fetch(`${app.url}/v1/widgets`)).json();
    expect(list.items).toEqual([]);
    // An escaped backslash followed by u0000 is ordinary text.
    const literal = await fetch(`${app.url}/v1/widgets`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name":"a\\\\u0000b","count":1}' });
    expect(literal.status).toBe(201);
    expect((await literal.json()).name).toBe('a\\u0000b');
  });
});
