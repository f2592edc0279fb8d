import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { type Actor, type Plinth, type RouteImplementation, unauthenticated } from '@plinth/core';
import { type OpenApiInfo, PlinthError, type RouteDef } from '@plinth/core/contract';
import { readJsonBody } from './body.js';
import { RequestContext } from './handler-context.js';
import { addCorsHeaders, baseHeaders, type CorsOptions, type HeaderList, headerValue, putHeader, securityHeaders } from './headers.js';
import { createHttpMetrics } from './http-metrics.js';
import { kernelImplementations } from './kernel-routes.js';
import { PROBLEM_CONTENT_TYPE, toProblem } from './problem.js';
import { Router } from './router.js';
import { requestIdFrom } from './trace.js';
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

  /** `headers` are the base ones (security, ids, CORS): a problem never carries what the handler set. */
  function sendProblem(res: ServerResponse, error: unknown, requestId: string, path: string, headers: HeaderList) {
    const problem = toProblem(error, requestId, path);
    putHeader(headers, 'content-type', PROBLEM_CONTENT_TYPE);
    const allow = (error as PlinthError).details?.allow;
    if (problem.code === 'route.method_not_allowed' && Array.isArray(allow)) putHeader(headers, 'allow', allow.join(', '));
    if (problem.code === 'request.body_too_large') putHeader(headers, 'connection', 'close');
    if (problem.status === 401) putHeader(headers, 'www-authenticate', 'Bearer');
    const retryAfter = (error as PlinthError).details?.retryAfter;
    if (typeof retryAfter === 'number') putHeader(headers, 'retry-after', Math.max(1, Math.ceil(retryAfter)));
    send(res, problem.status, headers, JSON.stringify(problem));
    return problem.status;
  }

  /** `public` routes never look at credentials; `optional` ones check them when sent; `required` ones need them. */
  async function authenticate(req: IncomingMessage, route: RouteDef, ip: string): Promise<Actor | null> {
    const mode = route.auth ?? 'required';
    if (mode === 'public') return null;
    const authorization = req.headers.authorization;
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

  async function dispatch(req: IncomingMessage, res: ServerResponse, started: number) {
    const requestId = requestIdFrom(req.headers['x-request-id']);
    const base = baseHeaders(requestId, isHttps(req, trustProxy));
    const method = req.method ?? 'GET';
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    let routeLabel = 'unmatched';
    let status = 500;
    try {
      const origin = req.headers.origin;
      const preflight = method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined;
      addCorsHeaders(base, cors, origin, preflight);

      let lookup;
      try {
        lookup = router.find(method, path);
      } catch {
        throw new PlinthError('request.bad_request', 'The request path is not valid (bad percent-encoding)');
      }
      if (method === 'OPTIONS' && lookup.kind !== 'not_found') {
        const allow = lookup.kind === 'found' ? [lookup.match.impl.route.method, 'OPTIONS'] : lookup.allow;
        status = 204;
        putHeader(base, 'allow', allow.join(', '));
        putHeader(base, 'content-length', 0);
        res.writeHead(204, base);
        res.end();
        return;
      }
      if (lookup.kind === 'not_found') throw new PlinthError('route.not_found', `No route for ${method} ${path}`);
      if (lookup.kind === 'method_not_allowed') {
        throw new PlinthError('route.method_not_allowed', `${method} is not allowed on ${path}`, { details: { allow: lookup.allow } });
      }
      const { impl, params } = lookup.match;
      const route = impl.route;
      routeLabel = route.path;
      const ip = clientIp(req, trustProxy);
      // Each `await` below is skipped when there is nothing to wait for (public route, no body).
      const actor = route.auth === 'public' ? null : await authenticate(req, route, ip);
      if (route.permission) await plinth.authorize(actor, route.permission);
      const rawBody = route.body ? await readJsonBody(req, bodyLimit) : bodyPending(req) ? await discardBody(req, bodyLimit) : undefined;
      let handlerHeaders: HeaderList | undefined;
      const returned = impl.handler(
        new RequestContext(
          validate(route.params, params, 'params') as never,
          validate(route.query, q === -1 ? {} : queryObject(url.slice(q + 1)), 'query') as never,
          validate(route.body, rawBody, 'body') as never,
          req.headers,
          requestId,
          actor,
          ip,
          plinth,
          (name, value) => putHeader((handlerHeaders ??= []), name.toLowerCase(), value),
          log,
        ),
      );
      const result = isThenable(returned) ? await returned : returned; // a sync handler costs no microtask turn
      const responseHeaders = handlerHeaders ? withHeaders(base, handlerHeaders) : base;
      status = route.status ?? 200;
      // Redirects: a 3xx route, or a handler that sets `Location` and returns nothing
      // (answered with 302), sends the Location header and an empty body.
      const redirect = status >= 300 && status < 400;
      const location = handlerHeaders && headerValue(handlerHeaders, 'location');
      if (redirect || (result === undefined && location !== undefined)) {
        if (typeof location !== 'string' || location === '') {
          throw new Error(`Handler for ${route.method} ${route.path} must set a Location header to redirect`);
        }
        status = redirect ? status : 302;
        send(res, status, responseHeaders, '');
        return;
      }
      if (status === 204) {
        res.writeHead(204, responseHeaders);
        res.end();
        return;
      }
      if (route.responseType === 'text') {
        if (headerValue(responseHeaders, 'content-type') === undefined) responseHeaders.push('content-type', 'text/plain; charset=utf-8');
        send(res, status, responseHeaders, String(result));
        return;
      }
      // Parsing the output strips fields the contract does not declare: nothing leaks by accident.
      const output = route.response.safeParse(result);
      if (!output.success) {
        throw new Error(`Handler for ${route.method} ${route.path} returned a response that breaks its contract: ${output.error.message}`);
      }
      putHeader(responseHeaders, 'content-type', JSON_TYPE);
      send(res, status, responseHeaders, JSON.stringify(output.data));
    } catch (error) {
      status = res.headersSent ? status : sendProblem(res, error, requestId, path, base);
      if (status >= 500) log.error({ err: error, requestId, method, path }, 'request failed');
    } finally {
      const seconds = (performance.now() - started) / 1000;
      metrics.observe(method, routeLabel, status, seconds);
      if (log.isLevelEnabled('debug')) log.debug({ requestId, method, path, status, ms: Math.round(seconds * 1e4) / 10 }, 'request');
      release(); // the answer is written (or the handler gave up): this request is no longer in flight
    }
  }

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const started = performance.now();
    inFlight++;
    void dispatch(req, res, started);
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

function clientIp(req: IncomingMessage, trustProxy: boolean): string {
  if (trustProxy) {
    const forwarded = req.headers['x-forwarded-for'];
    const first = (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(',')[0]?.trim();
    if (first) return first;
  }
  return req.socket.remoteAddress ?? '';
}
