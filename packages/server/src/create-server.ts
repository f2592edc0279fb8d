import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import {
  type Actor, type EventStream, type IdempotencyLease, type IdempotentRequest, isPreparedJson, type RateLimitDecision, loadOpenTelemetry, type Plinth, rateLimitExceeded, type RecordedResponse,
  type RouteImplementation, runInLogScope, runWithTrace, type SpanHandle, spansWanted, startSpan, unauthenticated,
} from '@plinth/core';
import { type OpenApiInfo, PlinthError, type RouteDef, type StreamedBody } from '@plinth/core/contract';
import { readJsonBody, readJsonBodyText } from './body.js';
import { RequestContext, RequestScope } from './handler-context.js';
import { addCorsHeaders, baseHeaders, type CorsOptions, type HeaderList, headerValue, putHeader, securityHeaders } from './headers.js';
import { createHttpMetrics } from './http-metrics.js';
import { isRecordableFailure, recordOf, replayHeaders } from './idempotency.js';
import { kernelImplementations } from './kernel-routes.js';
import { PROBLEM_CONTENT_TYPE, toProblem } from './problem.js';
import { Router } from './router.js';
import { isStreamedBody, writeStream } from './stream.js';
import { requestIdFrom } from './trace.js';
import { openStreamSignal, type OpenStreams, writeEventStream } from './event-stream.js';
import { queryObject, validate } from './validate.js';

export interface ServerOptions {
  /** Interface to bind; default `plinth.config.http.host`. */
  host?: string;
  /** Port; default `plinth.config.http.port` (0 picks a free one). */
  port?: number;
  /** Largest request body in bytes; default `plinth.config.http.bodyLimit` (1 MiB). */
  bodyLimit?: number;
  /** CORS origins (`*` for any); default `plinth.config.http.corsOrigins` (none). */
  corsOrigins?: readonly string[];
  /** How long `close()` waits for in-flight requests, in ms; default `plinth.config.http.shutdownTimeoutMs`. */
  shutdownTimeoutMs?: number;
  /** Trust `X-Forwarded-For`; default `plinth.config.http.trustProxy`. */
  trustProxy?: boolean;
  /** Routes to mount besides the kernel's and the modules'. */
  routes?: readonly RouteImplementation<any>[];
  /** Title and version in `/openapi.json`. */
  openapi?: OpenApiInfo;
  /** Close the Plinth instance when the server closes; default true. */
  closePlinth?: boolean;
}

export interface ListenInfo {
  host: string;
  port: number;
  url: string;
}

export interface PlinthServer {
  readonly server: http.Server;
  /** The `node:http` request listener, to mount Plinth inside another server. */
  readonly handle: (req: IncomingMessage, res: ServerResponse) => void;
  listen(options?: { host?: string; port?: number }): Promise<ListenInfo>;
  /** Graceful: stop accepting, let in-flight requests finish (bounded), then close the database. */
  close(): Promise<void>;
}

const JSON_TYPE = 'application/json; charset=utf-8';

const WRITES = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** A thin `node:http` adapter: parse, validate, call the handler, map the result. */
export function createServer(plinth: Plinth, options: ServerOptions = {}): PlinthServer {
  const http$ = plinth.config.http;
  const bodyLimit = options.bodyLimit ?? http$.bodyLimit;
  const cors: CorsOptions = { origins: options.corsOrigins ?? http$.corsOrigins };
  const trustProxy = options.trustProxy ?? http$.trustProxy;
  const shutdownTimeoutMs = options.shutdownTimeoutMs ?? http$.shutdownTimeoutMs;
  const log = plinth.logger.child({ component: 'http' });
  const metrics = createHttpMetrics(plinth.metrics);

  const appRoutes: RouteImplementation[] = [...plinth.routes, ...(options.routes ?? [])];
  const all: RouteImplementation[] = [];
  const router = new Router();
  for (const impl of [...kernelImplementations(plinth, () => all, options.openapi ?? {}), ...appRoutes]) {
    router.add(impl);
    all.push(impl);
  }

  // In flight: from the request until its response closes (finished or connection gone).
  let inFlight = 0;
  let closing = false;
  let drained: (() => void) | undefined;
  /** Requests whose handler asked for `ctx.signal`: aborted when the server closes. */
  const streams: OpenStreams = new Set();
  const release = () => {
    inFlight--;
    if (closing && inFlight === 0) drained?.();
  };

  function send(res: ServerResponse, status: number, headers: HeaderList, body: string) {
    if (closing) putHeader(headers, 'connection', 'close');
    putHeader(headers, 'content-length', Buffer.byteLength(body));
    res.writeHead(status, headers);
    res.end(body);
  }

  /**
   * A problem's status and body; its headers are added to `headers`, the base ones (security,
   * ids, CORS): a problem never carries what the handler set.
   */
  function problemAnswer(error: unknown, requestId: string, path: string, headers: HeaderList): { status: number; body: string } {
    const problem = toProblem(error, requestId, path);
    putHeader(headers, 'content-type', PROBLEM_CONTENT_TYPE);
    const allow = (error as PlinthError).details?.allow;
    if (problem.code === 'route.method_not_allowed' && Array.isArray(allow)) putHeader(headers, 'allow', allow.join(', '));
    if (problem.code === 'request.body_too_large') putHeader(headers, 'connection', 'close');
    if (problem.status === 401) putHeader(headers, 'www-authenticate', 'Bearer');
    const retryAfter = (error as PlinthError).details?.retryAfter;
    if (typeof retryAfter === 'number') putHeader(headers, 'retry-after', Math.max(1, Math.ceil(retryAfter)));
    return { status: problem.status, body: JSON.stringify(problem) };
  }

  /**
   * Settles an idempotency lease. A failure to record is logged, never answered: the
   * handler's work is done (and committed), so its answer still goes out.
   */
  async function settle(lease: IdempotencyLease, how: (lease: IdempotencyLease) => Promise<unknown>, requestId: string): Promise<void> {
    try {
      if ((await how(lease)) === false) log.warn({ requestId }, 'the request ran past its idempotency lock; its answer was not recorded');
    } catch (error) {
      log.error({ err: error, requestId }, 'recording an idempotent answer failed');
    }
  }

  /** `public` routes never look at credentials; `optional` ones check them when sent; `required` ones need them. */
  async function authenticate(req: IncomingMessage, route: RouteDef, ip: string, url: string): Promise<Actor | null> {
    const mode = route.auth ?? 'required';
    if (mode === 'public') return null;
    // Browsers' EventSource cannot send headers: event streams also take `?access_token=`.
    const authorization = req.headers.authorization ?? (route.responseType === 'event-stream' ? accessTokenOf(url) : undefined);
    const apiKey = req.headers['x-api-key'];
    if (mode === 'optional' && !authorization && !apiKey) return null;
    const actor = await plinth.authenticate({
      authorization,
      apiKey: Array.isArray(apiKey) ? apiKey[0] : apiKey,
      ip,
      userAgent: req.headers['user-agent'],
    });
    if (!actor && mode === 'required') throw unauthenticated();
    return actor;
  }

  void loadOpenTelemetry(); // spans once it is loaded, when the app registered a tracer provider
  const limiter = plinth.rateLimiter;
  /** Charges the request to its rate-limit buckets; adds `RateLimit-*` headers to `headers`; throws 429 when spent. */
  async function rateLimit(route: string, ip: string, actor: Actor | null, headers: HeaderList): Promise<void> {
    applyRateLimit(await limiter.check({ route, ip, actor }), headers);
  }

  function applyRateLimit(decision: RateLimitDecision, headers: HeaderList): void {
    if (decision.headers) {
      const h = decision.headers;
      headers.push('ratelimit-limit', h.limit, 'ratelimit-remaining', h.remaining, 'ratelimit-reset', h.resetSeconds, 'ratelimit-policy', h.policy);
    }
    if (!decision.allowed) throw rateLimitExceeded(decision);
  }

  /**
   * Serves one request. What can be answered without waiting (a caller known at once, no rate limit to
   * ask Redis about, no permission, no body, no `Idempotency-Key`, a handler that answers synchronously — e.g.
   * `/healthz`, or a cached read) is answered without creating a single promise; anything else
   * continues in `serve`. Returns a promise only when the request is still being served.
   */
  function dispatch(req: IncomingMessage, res: ServerResponse, started: number, scope: RequestScope): Promise<void> | undefined {
    const method = req.method ?? 'GET';
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const x: Exchange = {
      req, res, started, scope, method, url, q, path,
      base: baseHeaders(scope.requestId, isHttps(req, trustProxy)),
      routeLabel: 'unmatched', status: 500, span: undefined, failure: undefined, handlerHeaders: undefined,
    };
    try {
      const origin = req.headers.origin;
      const preflight = method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined;
      addCorsHeaders(x.base, cors, origin, preflight);

      let lookup;
      try {
        lookup = router.find(method, path);
      } catch {
        throw new PlinthError('request.bad_request', 'The request path is not valid (bad percent-encoding)');
      }
      if (method === 'OPTIONS' && lookup.kind !== 'not_found') {
        const allow = lookup.kind === 'found' ? [lookup.match.impl.route.method, 'OPTIONS'] : lookup.allow;
        x.status = 204;
        putHeader(x.base, 'allow', allow.join(', '));
        putHeader(x.base, 'content-length', 0);
        res.writeHead(204, x.base);
        res.end();
        finish(x);
        return undefined;
      }
      if (lookup.kind === 'not_found') throw new PlinthError('route.not_found', `No route for ${method} ${path}`);
      if (lookup.kind === 'method_not_allowed') {
        throw new PlinthError('route.method_not_allowed', `${method} is not allowed on ${path}`, { details: { allow: lookup.allow } });
      }
      const { impl, params } = lookup.match;
      const route = impl.route;
      x.routeLabel = route.path;
      const incoming = req.headers.traceparent;
      if (spansWanted()) {
        x.span = startSpan(`${method} ${route.path}`, 'server', typeof incoming === 'string' ? incoming.trim() : undefined, { 'http.request.method': method, 'http.route': route.path, 'url.path': path });
        if (x.span) scope.useSpan(x.span);
      }
      const ip = clientIp(req, trustProxy);
      const eligible = !route.permission && !route.body && route.responseType !== 'event-stream' && route.responseType !== 'stream'
        && !(method === 'POST' && req.headers['idempotency-key'] !== undefined) && !bodyPending(req);
      // The caller, when known without waiting: nobody on a public route or an optional-auth one called
      // without credentials; else a token the identity module verified before (undefined: ask `serve`).
      const apiKey = req.headers['x-api-key'];
      const anonymous = route.auth === 'public' || (route.auth === 'optional' && req.headers.authorization === undefined && apiKey === undefined);
      const actor = !eligible ? undefined : anonymous ? null : plinth.authenticateNow({ authorization: req.headers.authorization, apiKey: Array.isArray(apiKey) ? apiKey[0] : apiKey, ip, userAgent: req.headers['user-agent'] });
      // Last: a rate-limit check answered here (memory store, or a lease of this process) is charged.
      const decision = actor !== undefined && limiter.enabled ? limiter.checkNow({ route: `${route.method} ${route.path}`, ip, actor }) : undefined;
      if (actor === undefined || (limiter.enabled && !decision)) return serve(x, impl, params, ip);
      if (decision) applyRateLimit(decision, x.base);
      const returned = callHandler(x, impl, inputOf(x, route, params, undefined), actor, ip, undefined);
      if (isThenable(returned)) {
        return Promise.resolve(returned).then(
          (result) => {
            try {
              deliver(x, answerFor(x, route, result));
            } catch (error) {
              fail(x, error);
            }
            finish(x);
          },
          (error: unknown) => {
            fail(x, error);
            finish(x);
          },
        );
      }
      deliver(x, answerFor(x, route, returned));
    } catch (error) {
      fail(x, error);
    }
    finish(x);
    return undefined;
  }

  /** The rest of a request that has to wait: credentials, rate limit, permission, body, idempotency, async handler. */
  async function serve(x: Exchange, impl: RouteImplementation, params: Record<string, string>, ip: string): Promise<void> {
    const { req, method, url } = x;
    const route = impl.route;
    let lease: IdempotencyLease | undefined;
    let failedRequest: IdempotentRequest | undefined;
    try {
      let actor: Actor | null;
      if (!limiter.enabled) actor = route.auth === 'public' ? null : await authenticate(req, route, ip, url);
      else {
        const routeKey = `${route.method} ${route.path}`;
        try {
          actor = route.auth === 'public' ? null : await authenticate(req, route, ip, url);
        } catch (error) {
          await rateLimit(routeKey, ip, null, x.base); // bad credentials still count against the IP
          throw error;
        }
        await rateLimit(routeKey, ip, actor, x.base);
      }
      if (route.permission) await plinth.authorize(actor, route.permission);
      let bodyText: string | undefined;
      let rawBody: unknown;
      if (route.body && route.rawBody) ({ value: rawBody, text: bodyText } = await readJsonBodyText(req, bodyLimit));
      else rawBody = route.body ? await readJsonBody(req, bodyLimit) : bodyPending(req) ? await discardBody(req, bodyLimit) : undefined;
      const input = inputOf(x, route, params, rawBody);
      // Idempotency-Key: only a POST that carries one pays for it (one insert before, one update after;
      // on `idempotency: 'transaction'` routes both join the handler's transaction).
      const idempotencyKey = method === 'POST' ? req.headers['idempotency-key'] : undefined;
      const run = async (): Promise<Answer> => {
        const returned = callHandler(x, impl, input, actor, ip, bodyText);
        return answerFor(x, route, isThenable(returned) ? await returned : returned); // a sync handler costs no microtask turn
      };
      if (idempotencyKey === undefined) return await deliver(x, await run());
      const request = { actor, key: idempotencyKey, method, target: url, body: rawBody };
      let recorded: RecordedResponse | undefined;
      let answer: Answer | undefined;
      if (route.idempotency === 'transaction') {
        // Claim, handler and record commit together: a failure leaves neither a claim nor an answer behind.
        const outcome = await plinth.idempotency.exclusive(request, () => plinth.transaction(async (): Promise<{ replay: RecordedResponse } | { answer: Answer }> => {
          const start = await plinth.idempotency.beginInTransaction(request);
          if (start.kind === 'replay') return { replay: start.response };
          failedRequest = request; // from here on, a 4xx the handler raises is recorded after the rollback
          const done = await run();
          if (!(await start.lease.complete(recordOf(done.status, done.handlerHeaders, done.headers, done.body)))) {
            throw new Error('An idempotency claim made in this transaction was lost');
          }
          return { answer: done };
        }));
        failedRequest = undefined;
        plinth.idempotency.pruneIfDue();
        if ('replay' in outcome) recorded = outcome.replay;
        else answer = outcome.answer;
      } else {
        const start = await plinth.idempotency.begin(request);
        if (start.kind === 'replay') recorded = start.response;
        else {
          lease = start.lease;
          const done = (answer = await run());
          // A stream is not recorded for replay.
          await settle(lease, (l) => (done.stream ? l.release() : l.complete(recordOf(done.status, done.handlerHeaders, done.headers, done.body))), x.scope.requestId);
          lease = undefined;
        }
      }
      if (recorded) {
        x.status = recorded.status;
        const headers = replayHeaders(x.base, recorded);
        if (x.status === 204) {
          x.res.writeHead(204, headers);
          x.res.end();
        } else send(x.res, x.status, headers, recorded.body);
        return;
      }
      await deliver(x, answer!);
    } catch (error) {
      if (lease || failedRequest) await recordFailure(x, error, lease, failedRequest);
      fail(x, error);
    } finally {
      finish(x);
    }
  }

  /** Params and query (and the body read by the caller) checked against the route's schemas. */
  function inputOf(x: Exchange, route: RouteDef, params: Record<string, string>, rawBody: unknown): HandlerInput {
    return {
      params: validate(route.params, params, 'params'),
      query: validate(route.query, x.q === -1 ? {} : queryObject(x.url.slice(x.q + 1)), 'query'),
      body: validate(route.body, rawBody, 'body'),
    };
  }

  /** Calls the route's handler with its context; returns what it returned (maybe a promise). */
  function callHandler(x: Exchange, impl: RouteImplementation, input: HandlerInput, actor: Actor | null, ip: string, bodyText: string | undefined): unknown {
    const { req, res, scope } = x;
    const ctx = new RequestContext(
      input.params as never,
      input.query as never,
      input.body as never,
      req.headers,
      scope.requestId,
      actor,
      ip,
      plinth,
      (name, value) => putHeader((x.handlerHeaders ??= []), name.toLowerCase(), value),
      log,
      () => openStreamSignal(req, res, streams),
      scope,
      bodyText,
    );
    // A write carries its trace context to the outbox events and jobs it creates (reads skip the cost).
    return WRITES.has(x.method) ? runWithTrace(ctx.trace.traceparent, () => impl.handler(ctx)) : impl.handler(ctx);
  }

  /** What the handler returned, as an answer with the base headers and those the handler set. */
  function answerFor(x: Exchange, route: RouteDef, result: unknown): Answer {
    const handlerHeaders = x.handlerHeaders;
    const headers = handlerHeaders ? withHeaders(x.base, handlerHeaders) : x.base;
    if (route.responseType === 'event-stream') return { status: route.status ?? 200, headers, handlerHeaders, body: '', events: result as unknown as EventStream };
    if (route.responseType === 'stream') {
      if (!isStreamedBody(result)) throw new Error(`Handler for ${route.method} ${route.path} must return a StreamedBody ({ contentType, chunks })`);
      if (closing) putHeader(headers, 'connection', 'close');
      return { status: route.status ?? 200, headers, handlerHeaders, body: '', stream: result };
    }
    return answerOf(route, result, headers, handlerHeaders);
  }

  /** Writes an answer; a promise only while a stream is being written. */
  function deliver(x: Exchange, answer: Answer): Promise<void> | undefined {
    const { req, res } = x;
    x.status = answer.status;
    if (answer.events) return writeEventStream(req, res, answer.status, answer.headers, answer.events, streams, log);
    if (answer.stream) return writeStream(res, answer.status, answer.headers, answer.stream);
    if (answer.status === 204) {
      res.writeHead(204, answer.headers);
      res.end();
    } else send(res, answer.status, answer.headers, answer.body);
    return undefined;
  }

  /** Answers a failure as a problem (or cuts a stream that failed half-way); 5xx are logged. */
  function fail(x: Exchange, error: unknown): void {
    const { res } = x;
    x.failure = error;
    const requestId = x.scope.requestId;
    if (res.headersSent) {
      if (!res.writableEnded) {
        // A stream failed half-way: cut the connection, so the client sees a broken answer, never a short one.
        res.destroy();
        log.error({ err: error, requestId, method: x.method, path: x.path }, 'streamed answer failed');
      }
    } else {
      const problem = problemAnswer(error, requestId, x.path, x.base);
      x.status = problem.status;
      send(res, x.status, x.base, problem.body);
    }
    if (x.status >= 500) log.error({ err: error, requestId, traceId: x.scope.traceContext().traceId, method: x.method, path: x.path }, 'request failed');
  }

  /**
   * Before a failure is answered: settles the request's idempotency lease (a 4xx is recorded
   * for replay, anything else releases the key), or records the 4xx of a transaction that
   * rolled back with its claim under a claim of its own.
   */
  async function recordFailure(x: Exchange, error: unknown, lease: IdempotencyLease | undefined, failedRequest: IdempotentRequest | undefined): Promise<void> {
    const requestId = x.scope.requestId;
    const recordable = !x.res.headersSent && isRecordableFailure(error);
    if (lease && !recordable) return settle(lease, (l) => l.release(), requestId);
    if (!recordable) return;
    const headers = x.base.slice();
    const added = headers.length;
    const problem = problemAnswer(error, requestId, x.path, headers);
    const record = recordOf(problem.status, headers.slice(added), headers, problem.body);
    if (lease) return settle(lease, (l) => l.complete(record), requestId);
    const start = await plinth.idempotency.begin(failedRequest!).catch(() => undefined); // taken meanwhile: answer unrecorded
    if (start?.kind === 'run') await settle(start.lease, (l) => l.complete(record), requestId);
  }

  /** After the answer (or the failure): metrics, span, debug line, and the request leaves the in-flight count. */
  function finish(x: Exchange): void {
    const seconds = (performance.now() - x.started) / 1000;
    metrics.observe(x.method, x.routeLabel, x.status, seconds);
    x.span?.end(x.status >= 500 ? x.failure : undefined, { 'http.response.status_code': x.status });
    if (log.isLevelEnabled('debug')) log.debug({ requestId: x.scope.requestId, method: x.method, path: x.path, status: x.status, ms: Math.round(seconds * 1e4) / 10 }, 'request');
    release(); // the answer is written (or the handler gave up): this request is no longer in flight
  }

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const started = performance.now();
    inFlight++;
    // Every line written while this request is served carries its request id and trace id.
    const scope = new RequestScope(requestIdFrom(req.headers['x-request-id']), req.headers);
    void runInLogScope(scope, () => dispatch(req, res, started, scope));
  };

  const server = http.createServer({ keepAliveTimeout: 5000 }, handle);
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    if (!socket.writable) return socket.destroy();
    const tooLarge = error.code === 'HPE_HEADER_OVERFLOW';
    const problem = toProblem(
      new PlinthError('request.bad_request', tooLarge ? 'The request headers are too large' : 'The request is not valid HTTP', {
        status: tooLarge ? 431 : 400,
      }),
      requestIdFrom(undefined),
      '',
    );
    const body = JSON.stringify(problem);
    const head = [
      `HTTP/1.1 ${problem.status} ${tooLarge ? 'Request Header Fields Too Large' : 'Bad Request'}`,
      ...Object.entries(securityHeaders).map(([k, v]) => `${k}: ${v}`),
      `content-type: ${PROBLEM_CONTENT_TYPE}`,
      `content-length: ${Buffer.byteLength(body)}`,
      'connection: close',
    ];
    socket.end(`${head.join('\r\n')}\r\n\r\n${body}`);
  });

  let closePromise: Promise<void> | undefined;
  return {
    server,
    handle,
    listen(listenOptions = {}) {
      const host = listenOptions.host ?? options.host ?? http$.host;
      const port = listenOptions.port ?? options.port ?? http$.port;
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          const address = server.address() as AddressInfo;
          const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address;
          resolve({ host: address.address, port: address.port, url: `http://${shown}:${address.port}` });
        });
      });
    },
    close() {
      closePromise ??= (async () => {
        closing = true;
        for (const stream of streams) stream.abort(); // event streams end now: they would never finish by themselves
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        if (inFlight > 0) {
          const done = new Promise<void>((resolve) => {
            drained = resolve;
          });
          let timer: NodeJS.Timeout | undefined;
          const timeout = new Promise<'timeout'>((resolve) => {
            timer = setTimeout(() => resolve('timeout'), shutdownTimeoutMs);
          });
          const outcome = await Promise.race([done, timeout]);
          clearTimeout(timer);
          if (outcome === 'timeout') {
            log.warn({ inFlight }, 'shutdown timeout: closing the remaining connections');
            server.closeAllConnections();
          }
        }
        if (server.listening) await stopped;
        if (options.closePlinth ?? true) await plinth.close();
      })();
      return closePromise;
    },
  };
}

/** One request on its way through the server, whichever path serves it. */
interface Exchange {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly started: number;
  readonly scope: RequestScope;
  readonly method: string;
  readonly url: string;
  /** Where the query starts in `url` (-1: none). */
  readonly q: number;
  readonly path: string;
  /** Security headers, request id, CORS (and rate-limit headers once checked): every answer starts with them. */
  readonly base: HeaderList;
  /** The route pattern once matched (metrics label). */
  routeLabel: string;
  status: number;
  span: SpanHandle | undefined;
  failure: unknown;
  /** What the handler set with `setHeader`. */
  handlerHeaders: HeaderList | undefined;
}

interface HandlerInput {
  params: unknown;
  query: unknown;
  body: unknown;
}

/** A handler's answer, ready to send (and to record for an `Idempotency-Key`). */
interface Answer {
  status: number;
  headers: HeaderList;
  /** What the handler set itself (recorded with the answer). */
  handlerHeaders: HeaderList | undefined;
  body: string;
  /** A streamed answer (`responseType: 'stream'`), written as it comes instead of `body`. */
  stream?: StreamedBody;
  /** Server-Sent Events (`responseType: 'event-stream'`), written until the stream or the client ends. */
  events?: EventStream;
}

/** Status, headers and body of what a handler returned. Throws when it breaks the route's contract. */
function answerOf(route: RouteDef, result: unknown, headers: HeaderList, handlerHeaders: HeaderList | undefined): Answer {
  let status = route.status ?? 200;
  let body: string;
  // Redirects: a 3xx route, or a handler that sets `Location` and returns nothing
  // (answered with 302), sends the Location header and an empty body.
  const redirect = status >= 300 && status < 400;
  const location = handlerHeaders && headerValue(handlerHeaders, 'location');
  if (redirect || (result === undefined && location !== undefined)) {
    if (typeof location !== 'string' || location === '') {
      throw new Error(`Handler for ${route.method} ${route.path} must set a Location header to redirect`);
    }
    status = redirect ? status : 302;
    body = '';
  } else if (status === 204) {
    body = '';
  } else if (route.responseType === 'text') {
    if (headerValue(headers, 'content-type') === undefined) headers.push('content-type', 'text/plain; charset=utf-8');
    body = String(result);
  } else if (isPreparedJson(result)) {
    // Checked against the contract and serialized when it was prepared (e.g. once for a cached answer).
    putHeader(headers, 'content-type', JSON_TYPE);
    body = result.body;
  } else {
    // Parsing the output strips fields the contract does not declare: nothing leaks by accident.
    const output = route.response.safeParse(result);
    if (!output.success) {
      throw new Error(`Handler for ${route.method} ${route.path} returned a response that breaks its contract: ${output.error.message}`);
    }
    putHeader(headers, 'content-type', JSON_TYPE);
    body = JSON.stringify(output.data);
  }
  return { status, headers, handlerHeaders, body };
}

/** A copy of `base` with what the handler set, which wins like a later object key. */
function withHeaders(base: HeaderList, set: HeaderList): HeaderList {
  const headers = base.slice();
  for (let i = 0; i < set.length; i += 2) putHeader(headers, set[i] as string, set[i + 1]!);
  return headers;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null)?.then === 'function';
}

/** Whether a body was announced and not read yet. */
function bodyPending(req: IncomingMessage): boolean {
  if (req.headers['content-length'] === undefined && req.headers['transfer-encoding'] === undefined) return false;
  return !(req.readableEnded || req.complete);
}

/** Drains a body the route does not take, still enforcing the size limit. */
async function discardBody(req: IncomingMessage, limit: number): Promise<undefined> {
  await readJsonBody(req, limit).catch((error: unknown) => {
    if ((error as PlinthError).code === 'request.body_too_large') throw error;
  });
  return undefined;
}

/** TLS on this socket, or HTTPS at a trusted proxy in front. */
function isHttps(req: IncomingMessage, trustProxy: boolean): boolean {
  if ((req.socket as { encrypted?: boolean }).encrypted) return true;
  return trustProxy && req.headers['x-forwarded-proto'] === 'https';
}

/** `Bearer <token>` from `?access_token=`, when there is one. */
function accessTokenOf(url: string): string | undefined {
  const q = url.indexOf('?');
  if (q === -1 || !url.includes('access_token=', q)) return undefined;
  const token = new URLSearchParams(url.slice(q + 1)).get('access_token');
  return token ? `Bearer ${token}` : undefined;
}

function clientIp(req: IncomingMessage, trustProxy: boolean): string {
  if (trustProxy) {
    const forwarded = req.headers['x-forwarded-for'];
    const first = (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(',')[0]?.trim();
    if (first) return first;
  }
  return req.socket.remoteAddress ?? '';
}
