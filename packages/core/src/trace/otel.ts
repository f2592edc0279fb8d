import type * as OtelApi from '@opentelemetry/api';

/**
 * The OpenTelemetry hook. `@opentelemetry/api` is an optional peer: when the
 * application has it installed and has registered a tracer provider (its SDK
 * and exporter), Plinth creates a SERVER span per request and a CONSUMER span
 * per job run, continuing the W3C trace context; otherwise nothing is created
 * and nothing is loaded.
 */
let api: typeof OtelApi | null | undefined;
/** The provider behind the global proxy until an SDK registers one (nothing records). */
let noopProvider: unknown;

/** Loads `@opentelemetry/api` once, when installed; `null` when it is not. */
export async function loadOpenTelemetry(): Promise<typeof OtelApi | null> {
  if (api !== undefined) return api;
  try {
    api = await import('@opentelemetry/api');
    noopProvider = new api.ProxyTracerProvider().getDelegate();
  } catch {
    api = null;
  }
  return api;
}

export interface SpanHandle {
  /** `traceparent` of this span (its children's parent). */
  readonly traceparent: string;
  readonly traceId: string;
  readonly spanId: string;
  /** Ends the span; an error marks it failed. */
  end(error?: unknown, attributes?: Record<string, string | number>): void;
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/**
 * A span whose parent is `parent` (a `traceparent`, when valid), or `undefined`
 * when the API is not loaded or no tracer provider records spans.
 */
/**
 * Whether a span started now could record: the API is loaded and an SDK registered a tracer
 * provider. Checked before a span's name and attributes are even built (the no-op path of the
 * API still makes a tracer and a span per call).
 */
export function spansWanted(): boolean {
  const otel = api;
  if (!otel) return false;
  const provider = otel.trace.getTracerProvider();
  return !(provider instanceof otel.ProxyTracerProvider && provider.getDelegate() === noopProvider);
}

export function startSpan(name: string, kind: 'server' | 'consumer', parent: string | undefined, attributes: Record<string, string | number>): SpanHandle | undefined {
  const otel = api;
  if (!otel || !spansWanted()) return undefined;
  let ctx = otel.context.active();
  const m = parent ? TRACEPARENT.exec(parent) : null;
  if (m) ctx = otel.trace.setSpanContext(ctx, { traceId: m[1]!, spanId: m[2]!, traceFlags: Number.parseInt(m[3]!, 16), isRemote: true });
  const span = otel.trace.getTracer('plinth').startSpan(name, { kind: kind === 'server' ? otel.SpanKind.SERVER : otel.SpanKind.CONSUMER, attributes }, ctx);
  if (!span.isRecording()) return undefined;
  const { traceId, spanId, traceFlags } = span.spanContext();
  return {
    traceparent: `00-${traceId}-${spanId}-${(traceFlags & 0xff).toString(16).padStart(2, '0')}`,
    traceId,
    spanId,
    end(error, more) {
      if (more) span.setAttributes(more);
      if (error) {
        span.recordException(error instanceof Error ? error : String(error));
        span.setStatus({ code: otel.SpanStatusCode.ERROR });
      }
      span.end();
    },
  };
}
