// telemetry: OpenTelemetry traces over OTLP, off unless the standard OTEL_* environment turns them
// on (config `tracing`). The SDK and exporters are imported only by startTracing, so a Herald
// without tracing loads none of them and its hot paths test one `undefined`.
//
// The SDK reads the OTEL_* variables itself (endpoint, protocol, headers, service name, resource
// attributes, sampler, batch settings): the one exception to config/ being the only reader of the
// environment. Herald's tracer provider is its own (not registered globally), so Herald's spans do
// not depend on, or interfere with, whatever else runs in the process.
//
// Two kinds of span, one trace per message:
//   herald.message.accept  (SERVER) the API request that accepts a message; parent: the request's
//                          `traceparent`, if any. Its W3C traceparent is stored with the message.
//   herald.deliver         (CLIENT) one delivery attempt, a child of the stored traceparent, so an
//                          attempt hours later in another process joins the message's trace. Its
//                          own traceparent goes out with the request.
import type { Span, SpanContext, Tracer } from '@opentelemetry/api';
import type { OtelExporter } from '../config/index.js';

export interface AcceptSpan {
  /** The W3C traceparent of this span: stored with the message. */
  readonly traceparent: string;
  end(m: { msgId: string; appId: string; eventType: string } | null, error?: unknown): void;
}

export interface AttemptSpan {
  /** The W3C traceparent of this span: sent with the request. */
  readonly traceparent: string;
  end(r: { statusCode: number; outcome: string; durationMs: number }): void;
}

/** The application and event type are on the parent span (the message's), not repeated here. */
export interface AttemptFacts {
  msgId: string;
  endpointId: string;
  attemptNumber: number;
}

export interface Tracing {
  /** The span of a message's acceptance, continuing `incoming` (a traceparent header) when valid. */
  acceptSpan(incoming: string | undefined): AcceptSpan;
  /** The span of one delivery attempt, a child of the message's stored traceparent. */
  attemptSpan(messageTraceparent: string | null | undefined, a: AttemptFacts): AttemptSpan;
  /** Export what is buffered and stop. */
  shutdown(): Promise<void>;
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** The span context a W3C traceparent names, or null when it is malformed or all zeros. */
export function parseTraceparent(v: string | null | undefined): SpanContext | null {
  const m = v ? TRACEPARENT.exec(v.trim().toLowerCase()) : null;
  if (!m || /^0+$/.test(m[1]!) || /^0+$/.test(m[2]!)) return null;
  return { traceId: m[1]!, spanId: m[2]!, traceFlags: Number.parseInt(m[3]!, 16) & 1, isRemote: true };
}

export function formatTraceparent(c: SpanContext): string {
  return `00-${c.traceId}-${c.spanId}-${(c.traceFlags & 1) === 1 ? '01' : '00'}`;
}

/** Start the SDK: a tracer provider with the OTLP (or console) exporter behind a batch processor. */
export async function startTracing(version: string, kind: OtelExporter): Promise<Tracing> {
  const [api, sdk, resources] = await Promise.all([import('@opentelemetry/api'), import('@opentelemetry/sdk-trace-base'), import('@opentelemetry/resources')]);
  const exporter =
    kind === 'console'
      ? new sdk.ConsoleSpanExporter()
      : kind === 'json'
        ? new (await import('@opentelemetry/exporter-trace-otlp-http')).OTLPTraceExporter()
        : new (await import('@opentelemetry/exporter-trace-otlp-proto')).OTLPTraceExporter();
  // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES (envDetector) win over Herald's defaults.
  const resource = resources
    .resourceFromAttributes({ 'service.name': 'herald', 'service.version': version })
    .merge(resources.detectResources({ detectors: [resources.envDetector] }));
  const provider = new sdk.BasicTracerProvider({ resource, spanProcessors: [new sdk.BatchSpanProcessor(exporter)] });
  const tracer: Tracer = provider.getTracer('herald', version);
  const { SpanKind, SpanStatusCode, ROOT_CONTEXT, trace } = api;
  const under = (tp: string | null | undefined) => {
    const parent = parseTraceparent(tp);
    return parent ? trace.setSpanContext(ROOT_CONTEXT, parent) : ROOT_CONTEXT;
  };
  const failed = (span: Span, error: unknown) => {
    span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
  };
  return {
    acceptSpan(incoming) {
      const span = tracer.startSpan('herald.message.accept', { kind: SpanKind.SERVER }, under(incoming));
      return {
        traceparent: formatTraceparent(span.spanContext()),
        end(m, error) {
          if (m) span.setAttributes({ 'herald.msg_id': m.msgId, 'herald.app_id': m.appId, 'herald.event_type': m.eventType });
          if (error !== undefined) failed(span, error);
          span.end();
        },
      };
    },
    attemptSpan(messageTraceparent, a) {
      const span = tracer.startSpan(
        'herald.deliver',
        {
          kind: SpanKind.CLIENT,
          attributes: {
            'herald.msg_id': a.msgId,
            'herald.endpoint_id': a.endpointId,
            'herald.attempt_number': a.attemptNumber,
          },
        },
        under(messageTraceparent),
      );
      return {
        traceparent: formatTraceparent(span.spanContext()),
        end(r) {
          span.setAttributes({ 'http.response.status_code': r.statusCode, 'herald.outcome': r.outcome, 'herald.duration_ms': r.durationMs });
          if (r.outcome !== 'success') span.setStatus({ code: SpanStatusCode.ERROR, message: r.outcome });
          span.end();
        },
      };
    },
    async shutdown() {
      await provider.shutdown();
    },
  };
}
