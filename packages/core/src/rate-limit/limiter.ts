import { Counter, type Registry } from 'prom-client';
import type { Actor } from '../auth.js';
import type { Clock } from '../clock.js';
import type { PlinthConfig } from '../config.js';
import { PlinthError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { BucketCheck, BucketOutcome, Rate } from './gcra.js';
import type { RateLimitStore } from './store.js';

/**
 * Stricter limits on the routes that guess secrets or send mail, per caller
 * (the IP, as their callers are anonymous). `rateLimit.routes` adds to or
 * overrides these; `false` removes one.
 */
export const DEFAULT_ROUTE_LIMITS: Readonly<Record<string, { limit: number; periodSeconds: number }>> = Object.freeze({
  'POST /v1/auth/sign-in': { limit: 10, periodSeconds: 60 },
  'POST /v1/auth/sign-up': { limit: 5, periodSeconds: 60 },
  'POST /v1/auth/password-reset': { limit: 5, periodSeconds: 300 },
  'POST /v1/auth/password-reset/confirm': { limit: 10, periodSeconds: 300 },
  'POST /v1/auth/mfa/verify': { limit: 10, periodSeconds: 60 },
  'POST /v1/auth/refresh': { limit: 60, periodSeconds: 60 },
});

/** Routes never limited: probes and scrapes must answer while a client is being throttled. */
const EXEMPT = new Set(['GET /healthz', 'GET /readyz', 'GET /metrics']);

/** What the limiter needs to know about a request. */
export interface RateLimitRequest {
  /** `METHOD /path` as the route declares it (`GET /v1/products/:id`). */
  route: string;
  ip: string;
  actor: Actor | null;
}

export interface RateLimitHeaders {
  /** `RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset` (seconds), `RateLimit-Policy`. */
  limit: number;
  remaining: number;
  resetSeconds: number;
  policy: string;
}

export type RateLimitDecision =
  | { allowed: true; headers: RateLimitHeaders | undefined }
  | { allowed: false; headers: RateLimitHeaders; retryAfterSeconds: number; scope: string };

export interface RateLimiter {
  readonly enabled: boolean;
  readonly store: RateLimitStore | undefined;
  /**
   * Charges the request to its buckets (IP; user or API key; the route's own limit) in one store
   * call. `allowed: false` is a 429; a store that does not answer follows `whenStoreDown`:
   * allowed without headers, or `rate_limit.unavailable` (503) thrown.
   */
  check(request: RateLimitRequest): Promise<RateLimitDecision>;
  /**
   * `check`, answered synchronously when the store can (see `RateLimitStore.checkNow`); `undefined`
   * when it cannot, and then nothing was charged (call `check`).
   */
  checkNow(request: RateLimitRequest): RateLimitDecision | undefined;
  close(): Promise<void>;
}

interface Bucket extends BucketCheck {
  scope: string;
  rate: PolicyRate;
}

/** A rate with its `RateLimit-Policy` value, made once. */
interface PolicyRate extends Rate {
  policy: string;
}

const toRate = (r: { limit: number; periodSeconds: number }): PolicyRate => ({ limit: r.limit, periodMs: r.periodSeconds * 1000, policy: `${r.limit};w=${r.periodSeconds}` });

export interface RateLimiterOptions {
  config: Readonly<PlinthConfig>;
  store: RateLimitStore | undefined;
  logger: Logger;
  metrics: Registry;
  clock: Clock;
}

export function createRateLimiter(options: RateLimiterOptions): RateLimiter {
  const { config, store, logger, clock } = options;
  const settings = config.rateLimit;
  const enabled = store !== undefined && (settings.enabled ?? config.env === 'production');
  const prefix = settings.keyPrefix;
  const perIp = toRate(settings.perIp);
  const perUser = toRate(settings.perUser);
  const perApiKey = toRate(settings.perApiKey);
  const routeRates = new Map<string, PolicyRate>();
  for (const [route, r] of Object.entries({ ...DEFAULT_ROUTE_LIMITS, ...settings.routes })) {
    if (r) routeRates.set(route, toRate(r));
  }
  const rejections = counter(options.metrics, 'plinth_rate_limit_rejections_total', 'Requests answered 429 by the rate limiter, by scope of the exhausted limit and route.', ['scope', 'route']);
  const storeErrors = counter(options.metrics, 'plinth_rate_limit_store_errors_total', 'Rate-limit checks the store could not answer, by the policy applied.', ['policy']);
  let lastLogged = Number.NEGATIVE_INFINITY;
  let down = false;

  const ipPrefix = `${prefix}ip:`;
  const userPrefix = `${prefix}user:`;
  const keyPrefix = `${prefix}key:`;
  const routePrefix = `${prefix}route:`;

  function bucketsOf(request: RateLimitRequest): Bucket[] {
    const buckets: Bucket[] = [{ scope: 'ip', key: ipPrefix + request.ip, rate: perIp }];
    const routeRate = routeRates.get(request.route);
    const actor = request.actor;
    if (actor?.kind === 'user') {
      buckets.push({ scope: 'user', key: userPrefix + actor.userId, rate: perUser });
      if (routeRate) buckets.push({ scope: 'route', key: `${routePrefix}${request.route}:user:${actor.userId}`, rate: routeRate });
    } else if (actor?.kind === 'api_key') {
      buckets.push({ scope: 'api_key', key: keyPrefix + actor.keyId, rate: perApiKey });
      if (routeRate) buckets.push({ scope: 'route', key: `${routePrefix}${request.route}:key:${actor.keyId}`, rate: routeRate });
    } else if (routeRate) buckets.push({ scope: 'route', key: `${routePrefix}${request.route}:ip:${request.ip}`, rate: routeRate });
    return buckets;
  }

  function headersOf(bucket: Bucket, outcome: BucketOutcome): RateLimitHeaders {
    return {
      limit: bucket.rate.limit,
      remaining: outcome.remaining,
      resetSeconds: Math.max(0, Math.ceil(outcome.resetMs / 1000)),
      policy: bucket.rate.policy,
    };
  }

  function storeFailed(error: unknown): RateLimitDecision {
    const policy = settings.whenStoreDown;
    storeErrors.inc({ policy });
    const now = clock.now();
    if (now - lastLogged >= settings.logIntervalMs) {
      lastLogged = now;
      logger.warn({ err: error instanceof Error ? error.message : String(error), policy }, 'rate-limit store is not answering; applying the whenStoreDown policy');
    }
    down = true;
    if (policy === 'failOpen') return { allowed: true, headers: undefined };
    throw new PlinthError('rate_limit.unavailable', 'Rate limiting is unavailable; try again shortly', { status: 503, details: { retryAfter: 1 } });
  }

  /** The decision on a request from its buckets' outcomes: the tightest bucket's headers, or the longest refusal. */
  function decide(request: RateLimitRequest, buckets: Bucket[], outcomes: BucketOutcome[]): RateLimitDecision {
    let shown = 0;
    let rejected = -1;
    for (let i = 0; i < outcomes.length; i++) {
      const o = outcomes[i]!;
      if (!o.allowed) {
        if (rejected === -1 || o.retryAfterMs > outcomes[rejected]!.retryAfterMs) rejected = i;
      } else if (o.remaining < outcomes[shown]!.remaining) shown = i;
    }
    if (rejected !== -1) {
      const bucket = buckets[rejected]!;
      rejections.inc({ scope: bucket.scope, route: request.route });
      return {
        allowed: false,
        headers: headersOf(bucket, outcomes[rejected]!),
        retryAfterSeconds: Math.max(1, Math.ceil(outcomes[rejected]!.retryAfterMs / 1000)),
        scope: bucket.scope,
      };
    }
    return { allowed: true, headers: headersOf(buckets[shown]!, outcomes[shown]!) };
  }

  const unlimited: RateLimitDecision = Object.freeze({ allowed: true, headers: undefined });

  return {
    enabled,
    store,
    async check(request) {
      if (!enabled || !store || EXEMPT.has(request.route)) return unlimited;
      const buckets = bucketsOf(request);
      let outcomes: BucketOutcome[];
      try {
        outcomes = await store.check(buckets);
      } catch (error) {
        return storeFailed(error);
      }
      if (down) {
        down = false;
        logger.info('rate-limit store answers again');
      }
      return decide(request, buckets, outcomes);
    },
    checkNow(request) {
      if (!enabled || !store || EXEMPT.has(request.route)) return unlimited;
      const buckets = bucketsOf(request);
      const outcomes = store.checkNow?.(buckets);
      return outcomes && decide(request, buckets, outcomes);
    },
    async close() {
      await store?.close();
    },
  };
}

/** The error a rejected request answers with: 429 `rate_limit.exceeded`, `Retry-After` from `details.retryAfter`. */
export function rateLimitExceeded(decision: Extract<RateLimitDecision, { allowed: false }>): PlinthError {
  return new PlinthError('rate_limit.exceeded', `Too many requests; retry in ${decision.retryAfterSeconds} s`, {
    status: 429,
    details: { retryAfter: decision.retryAfterSeconds, scope: decision.scope },
  });
}

function counter(registry: Registry, name: string, help: string, labelNames: string[]): Counter<string> {
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as Counter<string>;
  return new Counter({ name, help, labelNames, registers: [registry] });
}
