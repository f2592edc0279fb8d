/**
 * Routing through a real server: param routes are found among those that share the
 * path's first two segments and those that start with a param, in declaration order.
 */
import { implement } from '@plinth/core';
import { defineRoute } from '@plinth/core/contract';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { startApp, type TestApp } from './widgets-app.js';

const answer = z.object({ route: z.string(), params: z.record(z.string(), z.string()) });
const route = (method: 'GET' | 'POST', path: string) => defineRoute({ method, path, auth: 'public', params: z.record(z.string(), z.string()), response: answer });
const echo = (method: 'GET' | 'POST', path: string) => implement(route(method, path), (ctx) => ({ route: path, params: ctx.params as Record<string, string> }));

describe('routing', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startApp({
      routes: [
        echo('GET', '/r/:anything/first'), // declared first, starts with a param: wins over the literal one below
        echo('GET', '/r/items/first'),
        echo('GET', '/r/items/:id'),
        echo('GET', '/r/items/:id/parts/:part'),
        echo('POST', '/r/things/:id'),
        echo('GET', '/:top/deep/:leaf'),
      ],
    });
  });
  afterAll(async () => {
    await app?.stop();
  });

  const get = async (path: string, method = 'GET') => {
    const res = await fetch(`${app.url}${path}`, { method });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  it('matches param routes by their literal prefix, with params decoded, and a trailing slash', async () => {
    expect((await get('/r/items/42')).body).toEqual({ route: '/r/items/:id', params: { id: '42' } });
    expect((await get('/r/items/a%20b/')).body).toEqual({ route: '/r/items/:id', params: { id: 'a b' } });
    expect((await get('/r/items/7/parts/x')).body).toEqual({ route: '/r/items/:id/parts/:part', params: { id: '7', part: 'x' } });
  });

  it('keeps declaration order across routes that start with a param', async () => {
    // Static paths are one lookup: the literal route answers its exact path.
    expect((await get('/r/items/first')).body).toEqual({ route: '/r/items/first', params: {} });
    expect((await get('/r/other/first')).body).toEqual({ route: '/r/:anything/first', params: { anything: 'other' } });
    expect((await get('/anywhere/deep/down')).body).toEqual({ route: '/:top/deep/:leaf', params: { top: 'anywhere', leaf: 'down' } });
    expect((await get('/r/deep/down')).body).toEqual({ route: '/:top/deep/:leaf', params: { top: 'r', leaf: 'down' } });
  });

  it('answers 405 with Allow for a known path and another method, 404 for an unknown one', async () => {
    const wrong = await fetch(`${app.url}/r/things/1`);
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('POST, OPTIONS');
    expect((await get('/r/nothing/here/at/all')).status).toBe(404);
    expect((await get('/r//42')).status).toBe(404);
  });
});
