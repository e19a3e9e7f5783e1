/**
 * OpenTelemetry, when the application gives the receiver a tracer: each delivery becomes a span
 * (`herald.receive`) continuing the sender's W3C `traceparent`, so Herald's trace of a message
 * runs on into the handler. `@opentelemetry/api` is an optional peer dependency: it is imported
 * only when a tracer is given, and a receiver without one loads nothing of it.
 */
import type { SpanContext, Tracer } from '@opentelemetry/api';

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** The span context a W3C traceparent names, or undefined when it is malformed or all zeros. */
export function parseTraceparent(value: string | undefined): SpanContext | undefined {
  const m = value === undefined ? null : TRACEPARENT.exec(value.trim().toLowerCase());
  if (!m || /^0+$/.test(m[1]!) || /^0+$/.test(m[2]!)) return undefined;
  return { traceId: m[1]!, spanId: m[2]!, traceFlags: Number.parseInt(m[3]!, 16) & 1, isRemote: true };
}

export function formatTraceparent(c: SpanContext): string {
  return `00-${c.traceId}-${c.spanId}-${(c.traceFlags & 1) === 1 ? '01' : '00'}`;
}

let api: Promise<typeof import('@opentelemetry/api')> | undefined;

/**
 * Run `fn` inside a `herald.receive` span that continues `traceparent`; `fn` gets the span's own
 * traceparent (to pass on) and returns the HTTP status the sender is answered with.
 */
export async function traced<T extends { status: number }>(
  tracer: Tracer,
  traceparent: string | undefined,
  webhookId: string,
  fn: (traceparent: string) => Promise<T>,
): Promise<T> {
  const { context, trace, SpanKind, SpanStatusCode } = await (api ??= import('@opentelemetry/api'));
  const parent = parseTraceparent(traceparent);
  const ctx = parent ? trace.setSpanContext(context.active(), parent) : context.active();
  return tracer.startActiveSpan('herald.receive', { kind: SpanKind.SERVER, attributes: { 'herald.webhook_id': webhookId } }, ctx, async (span) => {
    try {
      const result = await fn(formatTraceparent(span.spanContext()));
      span.setAttribute('http.response.status_code', result.status);
      if (result.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      return result;
    } finally {
      span.end();
    }
  });
}
