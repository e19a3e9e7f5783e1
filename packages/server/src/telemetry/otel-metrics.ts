// telemetry: OpenTelemetry metrics over OTLP, the same three figures Prometheus counts per event
// (metrics/metrics.ts): accepted messages, delivery attempts by outcome, and their duration. Off
// unless the OTEL_* environment asks for metrics (config `otelMetrics`); like tracing.ts, the SDK
// is imported only then. The periodic reader exports every `intervalMs`
// (OTEL_METRIC_EXPORT_INTERVAL) and once more on shutdown.
import type { OtelExporter } from '../config/index.js';

export interface OtelMetrics {
  accepted(n: number): void;
  /** One settled attempt: `outcome` is the Prometheus label (success, retry, exhausted, abort, disable). */
  attempted(outcome: string, durationSeconds: number): void;
  shutdown(): Promise<void>;
}

/** The Prometheus histogram's buckets, so both give the same distribution. */
export const DURATION_BUCKETS_S = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export async function startOtelMetrics(version: string, kind: OtelExporter, intervalMs: number): Promise<OtelMetrics> {
  const [sdk, resources] = await Promise.all([import('@opentelemetry/sdk-metrics'), import('@opentelemetry/resources')]);
  const exporter =
    kind === 'console'
      ? new sdk.ConsoleMetricExporter()
      : kind === 'json'
        ? new (await import('@opentelemetry/exporter-metrics-otlp-http')).OTLPMetricExporter()
        : new (await import('@opentelemetry/exporter-metrics-otlp-proto')).OTLPMetricExporter();
  const resource = resources
    .resourceFromAttributes({ 'service.name': 'herald', 'service.version': version })
    .merge(resources.detectResources({ detectors: [resources.envDetector] }));
  const provider = new sdk.MeterProvider({
    resource,
    readers: [new sdk.PeriodicExportingMetricReader({ exporter, exportIntervalMillis: intervalMs, exportTimeoutMillis: Math.min(30_000, intervalMs) })],
  });
  const meter = provider.getMeter('herald', version);
  const accepted = meter.createCounter('herald.messages.accepted', { description: 'Messages accepted (answered 202) by this process' });
  const deliveries = meter.createCounter('herald.deliveries', { description: 'Delivery attempts by outcome (success, retry, exhausted, abort, disable)' });
  const duration = meter.createHistogram('herald.delivery.duration', {
    description: 'Time from sending a delivery request to its response (or failure)',
    unit: 's',
    advice: { explicitBucketBoundaries: DURATION_BUCKETS_S },
  });
  return {
    accepted: (n) => accepted.add(n),
    attempted(outcome, seconds) {
      deliveries.add(1, { outcome });
      duration.record(seconds, { outcome });
    },
    shutdown: () => provider.shutdown(),
  };
}
