// Prometheus metrics: deliveries by outcome, delivery latency, accepted messages, circuit changes,
// and the queue (depth, due now, age of the oldest due task) and open endpoint circuits, read from
// the store at scrape time. Labels stay bounded: no endpoint or application ids, which grow with
// the tenants (per-endpoint figures are the API's endpoint stats and health).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Store } from '../store/store.js';
import { DURATION_BUCKETS_S, type OtelMetrics } from '../telemetry/otel-metrics.js';

export class Metrics {
  readonly registry = new Registry();
  readonly deliveries: Counter<'outcome'>;
  readonly deliveryDuration: Histogram<'outcome'>;
  readonly accepted: Counter;
  readonly storeErrors: Counter<'kind' | 'store'>;
  readonly circuitChanges: Counter<'change'>;
  /** The same figures over OTLP, when OpenTelemetry metrics are on (telemetry/otel-metrics.ts). */
  otel: OtelMetrics | null = null;

  constructor(store: Store, now: () => number) {
    collectDefaultMetrics({ register: this.registry, prefix: 'herald_' });
    this.deliveries = new Counter({
      name: 'herald_deliveries_total',
      help: 'Delivery attempts by outcome (success, retry, exhausted, abort, disable)',
      labelNames: ['outcome'],
      registers: [this.registry],
    });
    this.deliveryDuration = new Histogram({
      name: 'herald_delivery_duration_seconds',
      help: 'Time from sending a delivery request to its response (or failure)',
      labelNames: ['outcome'],
      buckets: DURATION_BUCKETS_S,
      registers: [this.registry],
    });
    this.accepted = new Counter({
      name: 'herald_messages_accepted_total',
      help: 'Messages accepted (answered 202) by this process',
      registers: [this.registry],
    });
    this.storeErrors = new Counter({
      name: 'herald_store_errors_total',
      help: 'Requests the store could not take, by kind (unavailable: outage, lost connection, lock; full: no room to write)',
      labelNames: ['kind', 'store'],
      registers: [this.registry],
    });
    this.circuitChanges = new Counter({
      name: 'herald_circuit_changes_total',
      help: 'Endpoint circuits this process opened or closed, by change (opened, closed)',
      labelNames: ['change'],
      registers: [this.registry],
    });
    new Gauge({
      name: 'herald_circuits_open',
      help: 'Endpoints whose circuit is open or half-open now (their due deliveries are held), read from the store',
      registers: [this.registry],
      async collect() {
        try {
          this.set(await store.openCircuits());
        } catch {
          // the last value stands
        }
      },
    });
    let last: Promise<{ waiting: number; due: number; oldestDueAgeMs: number }> | null = null;
    // One store read serves the three queue gauges of a scrape.
    const stats = () => (last ??= store.queueStats(now()).finally(() => setImmediate(() => (last = null))));
    // While the store is down the queue gauges keep their last values, so a scrape still answers
    // (with herald_store_errors_total, which says why).
    const read = async (gauge: Gauge, f: (s: { waiting: number; due: number; oldestDueAgeMs: number }) => number) => {
      try {
        gauge.set(f(await stats()));
      } catch {
        // the last value stands
      }
    };
    new Gauge({
      name: 'herald_queue_depth',
      help: 'Delivery tasks waiting (due now or scheduled for a retry)',
      registers: [this.registry],
      async collect() {
        await read(this, (s) => s.waiting);
      },
    });
    new Gauge({
      name: 'herald_queue_due',
      help: 'Delivery tasks due now',
      registers: [this.registry],
      async collect() {
        await read(this, (s) => s.due);
      },
    });
    new Gauge({
      name: 'herald_oldest_due_task_age_seconds',
      help: 'How long the oldest due delivery task has been waiting',
      registers: [this.registry],
      async collect() {
        await read(this, (s) => s.oldestDueAgeMs / 1000);
      },
    });
  }

  /** `n` messages accepted (answered 202). */
  messagesAccepted(n = 1): void {
    this.accepted.inc(n);
    this.otel?.accepted(n);
  }

  /** One settled attempt; `outcome` is success, else what comes next (retry, exhausted, abort, disable). */
  attempted(outcome: string, durationSeconds: number): void {
    this.deliveries.inc({ outcome });
    this.deliveryDuration.observe({ outcome }, durationSeconds);
    this.otel?.attempted(outcome, durationSeconds);
  }
}
