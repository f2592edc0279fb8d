import type { IncomingHttpHeaders } from 'node:http';
import type { Actor, HandlerContext, KernelContext, Logger } from '@plinth/core';
import type { RouteDef } from '@plinth/core/contract';
import { type TraceContext, traceFrom } from './trace.js';

/**
 * What a handler receives. `log` is a getter that makes the request's child
 * logger on first use: pino applies every redaction path to a child's
 * bindings, too costly for the many handlers that never log. (A class, not
 * an object literal: V8 builds a literal with a getter many times slower.)
 */
export class RequestContext implements HandlerContext<RouteDef> {
  #log: Logger | undefined;
  #trace: TraceContext | undefined;
  readonly #parentLog: Logger;

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
    parentLog: Logger,
    /** Makes the request's abort signal (on first use: most handlers never look at it). */
    signalSource: () => AbortSignal,
    /** The body's exact text, on routes that ask for it (`rawBody: true`). */
    public rawBody?: string,
  ) {
    this.#parentLog = parentLog;
    this.#signalSource = signalSource;
  }

  readonly #signalSource: () => AbortSignal;
  #signal: AbortSignal | undefined;

  get signal(): AbortSignal {
    return (this.#signal ??= this.#signalSource());
  }

  /** Adopts an OpenTelemetry span's ids as this request's trace context (its span is the parent of what the request creates). */
  useSpan(span: { traceId: string; spanId: string; traceparent: string }): void {
    const caller = typeof this.headers.traceparent === 'string' ? /^00-[0-9a-f]{32}-([0-9a-f]{16})-/.exec(this.headers.traceparent.trim())?.[1] : undefined;
    this.#trace = { traceId: span.traceId, spanId: span.spanId, parentId: caller, flags: span.traceparent.slice(-2), traceparent: span.traceparent };
  }

  /** Made on first use, like `log`: most handlers never look at it. */
  get trace(): TraceContext {
    return (this.#trace ??= traceFrom(this.headers.traceparent));
  }

  get log(): Logger {
    return (this.#log ??= this.#parentLog.child({ requestId: this.requestId, traceId: this.trace.traceId }));
  }
}
