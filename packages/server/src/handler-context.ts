import type { IncomingHttpHeaders } from 'node:http';
import type { Actor, HandlerContext, KernelContext, Logger, LogScope } from '@plinth/core';
import type { RouteDef } from '@plinth/core/contract';
import { type TraceContext, traceFrom } from './trace.js';

/**
 * One request's log scope (`runInLogScope`): every line written while it is served, through
 * any logger, carries its request id and trace id. It also holds the request's trace context,
 * made on first use (a new trace when the caller sent none), so lines and handler agree.
 */
export class RequestScope implements LogScope {
  trace: TraceContext | undefined;

  constructor(
    readonly requestId: string,
    readonly headers: IncomingHttpHeaders,
  ) {}

  traceContext(): TraceContext {
    return (this.trace ??= traceFrom(this.headers.traceparent));
  }

  /** Adopts an OpenTelemetry span's ids as this request's trace context (its span is the parent of what the request creates). */
  useSpan(span: { traceId: string; spanId: string; traceparent: string }): void {
    const caller = typeof this.headers.traceparent === 'string' ? /^00-[0-9a-f]{32}-([0-9a-f]{16})-/.exec(this.headers.traceparent.trim())?.[1] : undefined;
    this.trace = { traceId: span.traceId, spanId: span.spanId, parentId: caller, flags: span.traceparent.slice(-2), traceparent: span.traceparent };
  }

  logFields(): Record<string, unknown> {
    return { requestId: this.requestId, traceId: this.traceContext().traceId };
  }
}

/**
 * What a handler receives. (A class, not an object literal: V8 builds a
 * literal with a getter many times slower.) `log` is the server's logger: the
 * request's scope adds its ids to each line, as it does to the lines of every
 * other logger written while the request is served.
 */
export class RequestContext implements HandlerContext<RouteDef> {
  readonly #scope: RequestScope;
  readonly #log: Logger;

  constructor(
    public params: never,
    public query: never,
    public body: never,
    public headers: IncomingHttpHeaders,
    public requestId: string,
    public actor: Actor | null,
    public ip: string,
    public kernel: KernelContext,
    /** An own property, not a method: handlers destructure it (`({ setHeader }) => ...`). */
    public setHeader: (name: string, value: string) => void,
    log: Logger,
    /** Makes the request's abort signal (on first use: most handlers never look at it). */
    signalSource: () => AbortSignal,
    scope: RequestScope,
    /** The body's exact text, on routes that ask for it (`rawBody: true`). */
    public rawBody?: string,
  ) {
    this.#log = log;
    this.#signalSource = signalSource;
    this.#scope = scope;
  }

  readonly #signalSource: () => AbortSignal;
  #signal: AbortSignal | undefined;

  get signal(): AbortSignal {
    return (this.#signal ??= this.#signalSource());
  }

  /** Made on first use: most handlers never look at it. */
  get trace(): TraceContext {
    return this.#scope.traceContext();
  }

  get log(): Logger {
    return this.#log;
  }
}
