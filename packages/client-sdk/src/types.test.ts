/**
 * Type-level tests: the client's types come from the contract's zod schemas.
 * `tsc -p packages/client-sdk/tsconfig.json --noEmit` checks them; the calls
 * sit in functions that never run.
 */
import { defineRoute, type Problem } from '@plinth/core/contract';
import { describe, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import { type CallOptions, createClient, createRouteClient, PlinthApiError, type RetryOptions, type StoredTokens, webStorageTokenStore } from './index.js';
import { widgetRoutes } from './test-app.js';

// Calls made for their types still run: answer them, so nothing rejects unhandled.
const fetch = async () => new Response('{}');
const client = createClient({ baseUrl: 'http://localhost:1', routes: widgetRoutes, fetch });

describe('client types', () => {
  it('types the kernel routes from their response schemas', () => {
    expectTypeOf(client.health).returns.resolves.toEqualTypeOf<{ status: 'ok' }>();
    expectTypeOf(client.metrics).returns.resolves.toEqualTypeOf<string>();
    expectTypeOf(client.ready).returns.resolves.toEqualTypeOf<{
      status: 'ok';
      checks: Record<string, { ok: boolean; latencyMs: number; error?: string | undefined }>;
    }>();
    expectTypeOf(client.openapi).returns.resolves.toEqualTypeOf<Record<string, unknown>>();
    // No input: the argument may be left out, options still fit.
    expectTypeOf(client.health).parameters.toEqualTypeOf<[input?: { params?: never; query?: never; body?: never }, options?: CallOptions]>();
  });

  it('types routes from a route table by key', () => {
    const api = createRouteClient(widgetRoutes, { baseUrl: 'http://localhost:1', fetch });
    expectTypeOf(api.createWidget({ body: { name: 'a', count: 1 } })).resolves.toEqualTypeOf<{ id: string; name: string; count: number }>();
    expectTypeOf(client.createWidget).parameter(0).toEqualTypeOf<{ body: { name: string; count: number; tags?: string[] | undefined } }>();
    expectTypeOf(client.deleteWidget({ params: { id: 'x' } })).resolves.toEqualTypeOf<undefined>();
    expectTypeOf(api).not.toHaveProperty('call');
    expectTypeOf(client).toHaveProperty('call');
  });

  it('requires the input when the route needs a body or params', () => {
    const unused = () => {
      // @ts-expect-error the body is required
      void client.createWidget();
      // @ts-expect-error the body is required
      void client.call(widgetRoutes.createWidget);
      // @ts-expect-error the body is required, not only present
      void client.call(widgetRoutes.createWidget, {});
      // @ts-expect-error params are required
      void client.getWidget({ query: { q: 'x' } });
      void client.getWidget({ params: { id: 'x' } });
    };
    expectTypeOf(unused).toBeFunction();
  });

  it('rejects a wrong field type or an unknown field', () => {
    const unused = () => {
      // @ts-expect-error count is a number
      void client.createWidget({ body: { name: 'a', count: 'three' } });
      // @ts-expect-error count is a number
      void client.call(widgetRoutes.createWidget, { body: { name: 'a', count: 'three' } });
      // @ts-expect-error name is missing
      void client.call(widgetRoutes.createWidget, { body: { count: 1 } });
      // @ts-expect-error the id is a string
      void client.getWidget({ params: { id: 1 } });
      // @ts-expect-error health takes no body
      void client.health({ body: {} });
      // @ts-expect-error no such route
      void client.nothing();
    };
    expectTypeOf(unused).toBeFunction();
  });

  it('types call() for a route defined anywhere', () => {
    const route = defineRoute({
      auth: 'public',
      method: 'GET',
      path: '/v1/things/:id',
      operationId: 'getThing',
      summary: 'A thing.',
      params: z.object({ id: z.string() }),
      query: z.object({ expand: z.array(z.enum(['owner', 'tags'])).optional() }),
      response: z.object({ id: z.string(), createdAt: z.string() }),
    });
    expectTypeOf(client.call(route, { params: { id: '1' }, query: { expand: ['owner'] } })).resolves.toEqualTypeOf<{ id: string; createdAt: string }>();
    const unused = () => {
      // @ts-expect-error 'nope' is not an expand option
      void client.call(route, { params: { id: '1' }, query: { expand: ['nope'] } });
    };
    expectTypeOf(unused).toBeFunction();
  });

  it('types the retry, idempotency and session options', () => {
    expectTypeOf<CallOptions['idempotencyKey']>().toEqualTypeOf<string | false | undefined>();
    expectTypeOf<CallOptions['retry']>().toEqualTypeOf<RetryOptions | false | undefined>();
    expectTypeOf(client.session.refresh).returns.resolves.toEqualTypeOf<StoredTokens | null>();
    const unused = () => {
      void client.createWidget({ body: { name: 'a', count: 1 } }, { idempotencyKey: false, retry: { retries: 0 } });
      // @ts-expect-error retries is a number
      void client.health(undefined, { retry: { retries: 'many' } });
      // @ts-expect-error idempotencyKey is a string or false
      void client.health(undefined, { idempotencyKey: true });
      // @ts-expect-error a token store needs get and set
      void createClient({ baseUrl: 'http://localhost:1', tokens: { get: () => null } });
      void createClient({ baseUrl: 'http://localhost:1', tokens: webStorageTokenStore({ key: 'app' }), retry: false, autoRefresh: false, refreshMarginMs: 5_000 });
    };
    expectTypeOf(unused).toBeFunction();
  });

  it('types errors with their problem', () => {
    expectTypeOf<PlinthApiError['status']>().toEqualTypeOf<number>();
    expectTypeOf<PlinthApiError['problem']>().toEqualTypeOf<Problem>();
    expectTypeOf<'validation.failed'>().toExtend<PlinthApiError['code']>();
    expectTypeOf<'network.timeout'>().toExtend<PlinthApiError['code']>();
  });
});
