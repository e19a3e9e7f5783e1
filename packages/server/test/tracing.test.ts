// OpenTelemetry end to end, with real `herald` processes exporting to a real OTLP receiver (a
// loopback HTTP server; helpers/otlp.ts decodes OTLP/protobuf and OTLP/JSON): one message is one
// trace, from the API request that accepted it (continuing the producer's traceparent) to every
// delivery attempt, each attempt a child of the acceptance even when another process runs it, and
// the traceparent the endpoint receives names the attempt's span. On SQLite one `herald serve`
// does both; on PostgreSQL `herald serve --no-dispatch` accepts and `herald worker` delivers.
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expecting, killAll, serve, spawnCli, type CliProcess, type Served } from './helpers/cli.js';
import { exportedMetricTotals, exportedSpans, type ExportedSpan } from './helpers/otlp.js';
import { usePostgresProcesses } from './helpers/pg-processes.js';
import { Receiver } from './helpers/receiver.js';
import { until } from './helpers/wait.js';

const TOKEN = 'otel_test_token_0123456789abcdef';
const SERVER = 2;
const CLIENT = 3;

/** The OTEL_* environment of a process exporting to `otlp`, named `instance` in its resource. */
function otelEnv(otlp: Receiver, protocol: 'http/protobuf' | 'http/json', instance: string): Record<string, string> {
  return {
    OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url(''),
    OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
    OTEL_SERVICE_NAME: 'herald-under-test',
    OTEL_RESOURCE_ATTRIBUTES: `service.instance.id=${instance}`,
    OTEL_TRACES_SAMPLER: 'parentbased_always_on',
    OTEL_BSP_SCHEDULE_DELAY: '50',
    // Metrics go as OTLP/JSON whatever the traces use (the per-signal protocol wins).
    OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: 'http/json',
    OTEL_METRIC_EXPORT_INTERVAL: '200',
  };
}

/**
 * Against a running API (and a dispatcher somewhere): a message sent with a producer's
 * traceparent fails once and then succeeds; its trace holds the acceptance and both attempts.
 */
async function oneMessageOneTrace(apiUrl: string, rx: Receiver, otlp: Receiver, where: { api: string; worker: string }) {
  const must = expecting(apiUrl, TOKEN);
  const app = await must('POST', '/api/v1/app', 201, { name: 'traced', uid: `traced-${where.api}` });
  rx.on('/traced', Receiver.sequence({ status: 500 }, { status: 200 }));
  const ep = await must('POST', `/api/v1/app/${app.id}/endpoint`, 201, { url: rx.url('/traced') });
  // A custom header of the same name gives way to Herald's own trace context.
  await must('PUT', `/api/v1/app/${app.id}/endpoint/${ep.id}/headers`, 204, {
    headers: { Traceparent: `00-${'1'.repeat(32)}-${'2'.repeat(16)}-01`, TraceState: 'x=1', 'X-Team': 'a' },
  });

  const traceId = randomBytes(16).toString('hex');
  const producerSpan = randomBytes(8).toString('hex');
  const res = await fetch(`${apiUrl}/api/v1/app/${app.id}/msg`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', traceparent: `00-${traceId}-${producerSpan}-01` },
    body: JSON.stringify({ eventType: 'order.paid', payload: { n: 1 } }),
  });
  expect(res.status).toBe(202);
  const msg = (await res.json()) as { id: string };

  const deliveries = await rx.waitForCount(2, { path: '/traced', timeoutMs: 20_000 });
  const spans = await until(
    'the acceptance and both attempts exported',
    () => {
      const mine = exportedSpans(otlp.received('/v1/traces')).filter((s) => s.traceId === traceId);
      return mine.length >= 3 ? mine : null;
    },
    20_000,
  );
  const accept = spans.find((s) => s.name === 'herald.message.accept')!;
  const attempts = spans
    .filter((s) => s.name === 'herald.deliver')
    .sort((a, b) => Number(a.attributes['herald.attempt_number']) - Number(b.attributes['herald.attempt_number']));

  // The acceptance continues the producer's trace and names the message.
  expect(accept).toMatchObject({
    parentSpanId: producerSpan,
    kind: SERVER,
    attributes: { 'herald.msg_id': msg.id, 'herald.app_id': app.id, 'herald.event_type': 'order.paid' },
    resource: { 'service.name': 'herald-under-test', 'service.instance.id': where.api },
  });
  // Each attempt is a child of the acceptance, in the process that delivered it.
  expect(attempts).toHaveLength(2);
  const expected = (n: number, status: number, outcome: string): Partial<ExportedSpan> => ({
    parentSpanId: accept.spanId,
    kind: CLIENT,
    attributes: expect.objectContaining({
      'herald.msg_id': msg.id,
      'herald.endpoint_id': ep.id,
      'herald.attempt_number': n,
      'http.response.status_code': status,
      'herald.outcome': outcome,
      'herald.duration_ms': expect.any(Number),
    }),
    resource: expect.objectContaining({ 'service.instance.id': where.worker }),
  });
  expect(attempts[0]).toMatchObject(expected(1, 500, 'retry'));
  expect(attempts[1]).toMatchObject(expected(2, 200, 'success'));
  // The endpoint received each attempt's own span as its traceparent.
  expect(deliveries.map((d) => d.headers.traceparent)).toEqual(attempts.map((a) => `00-${traceId}-${a.spanId}-01`));
  expect(deliveries.map((d) => [d.headers.tracestate, d.headers['x-team']])).toEqual([
    [undefined, 'a'],
    [undefined, 'a'],
  ]);

  // Without a traceparent from the producer, the acceptance starts the trace.
  const second = await must('POST', `/api/v1/app/${app.id}/msg`, 202, { eventType: 'order.shipped', payload: {} });
  const [delivered] = await rx.waitForCount(1, { path: '/traced', where: (r) => r.headers['svix-id'] === second.id, timeoutMs: 20_000 });
  const [, secondTrace, attemptSpan] = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/.exec(String(delivered!.headers.traceparent))!;
  const trace = await until('the second trace exported', () => {
    const mine = exportedSpans(otlp.received('/v1/traces')).filter((s) => s.traceId === secondTrace);
    return mine.length >= 2 ? mine : null;
  });
  const root = trace.find((s) => s.name === 'herald.message.accept')!;
  expect(root).toMatchObject({ parentSpanId: '', attributes: { 'herald.msg_id': second.id, 'herald.event_type': 'order.shipped' } });
  expect(trace.find((s) => s.name === 'herald.deliver')).toMatchObject({ spanId: attemptSpan, parentSpanId: root.spanId });

  // The same events as OpenTelemetry metrics, under the Prometheus metrics' outcome labels.
  const expectedTotals = {
    'herald.messages.accepted': 2,
    'herald.deliveries{retry}': 1,
    'herald.deliveries{success}': 2,
    'herald.delivery.duration{retry}': 1,
    'herald.delivery.duration{success}': 2,
  };
  await until('the metrics exported', () => {
    const totals = exportedMetricTotals(otlp.received('/v1/metrics'));
    return Object.entries(expectedTotals).every(([k, v]) => totals[k] === v);
  });
}

describe('tracing off costs no SDK', () => {
  it('no source file imports an OpenTelemetry package as a value except lazily, inside telemetry/', () => {
    const src = new URL('../src/', import.meta.url);
    const files = (readdirSync(src, { recursive: true }) as string[]).filter((f) => f.endsWith('.ts'));
    const eager: string[] = [];
    const lazy: string[] = [];
    for (const f of files) {
      const text = readFileSync(new URL(f, src), 'utf8');
      // A static value import would load the package in every process, tracing on or not.
      if (/^\s*import\s+(?!type\b)[^;]*?from\s+['"]@opentelemetry\//m.test(text)) eager.push(f);
      if (/import\(\s*['"]@opentelemetry\//.test(text)) lazy.push(f);
    }
    expect(eager).toEqual([]);
    expect(lazy.sort()).toEqual(['telemetry/otel-metrics.ts', 'telemetry/tracing.ts']);
  });
});

describe('tracing on SQLite: one herald serve exporting OTLP/protobuf', () => {
  let rx: Receiver;
  let otlp: Receiver;
  let dataDir: string;
  let api: Served | undefined;
  let plain: Served | undefined;
  beforeAll(async () => {
    rx = await Receiver.start();
    otlp = await Receiver.start();
    dataDir = mkdtempSync(join(tmpdir(), 'herald-otel-'));
  });
  afterAll(async () => {
    await killAll(api, plain);
    await rx?.close();
    await otlp?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('one message is one trace: the acceptance, then each attempt as its child, with the traceparent sent', async () => {
    api = await serve({
      HERALD_DATA_DIR: dataDir,
      HERALD_API_TOKEN: TOKEN,
      HERALD_POLL_INTERVAL: '50ms',
      HERALD_RETRY_SCHEDULE: '100ms',
      ...otelEnv(otlp, 'http/protobuf', 'single'),
    });
    await oneMessageOneTrace(api.url, rx, otlp, { api: 'single', worker: 'single' });
    expect(otlp.received('/v1/traces').every((r) => r.headers['content-type'] === 'application/x-protobuf')).toBe(true);
    // The OpenAPI document says which requests honour a traceparent.
    const doc = (await (await fetch(`${api.url}/api/v1/openapi.json`)).json()) as {
      paths: Record<string, Record<string, { operationId: string; parameters?: { name: string }[] }>>;
    };
    const honouring = Object.values(doc.paths)
      .flatMap((item) => Object.values(item))
      .filter((o) => o.parameters?.some((p) => p.name === 'traceparent'))
      .map((o) => o.operationId);
    expect(honouring).toEqual(expect.arrayContaining(['v1.message.create', 'v1.endpoint.send-example', 'v1.engage.contact.upsert']));
    await api.stop();
  });

  it("an Engage producer route traces each message it emits, under the request's traceparent", async () => {
    api = await serve({ HERALD_DATA_DIR: dataDir, HERALD_API_TOKEN: TOKEN, HERALD_POLL_INTERVAL: '50ms', ...otelEnv(otlp, 'http/protobuf', 'single') });
    const must = expecting(api.url, TOKEN);
    await must('POST', '/api/v1/app', 201, { name: 'engage-traced', uid: 'engage-traced' });
    await must('PUT', '/api/v1/app/engage-traced/engage/module', 200, { enabled: true });
    rx.on('/engage', { status: 200 });
    await must('POST', '/api/v1/app/engage-traced/endpoint', 201, { url: rx.url('/engage') });
    const traceId = randomBytes(16).toString('hex');
    const producerSpan = randomBytes(8).toString('hex');
    const res = await fetch(`${api.url}/api/v1/app/engage-traced/engage/contact`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', traceparent: `00-${traceId}-${producerSpan}-01` },
      body: JSON.stringify({ contactId: randomUUID(), attributes: { firstName: 'Ada' } }),
    });
    expect(res.status).toBe(202);
    const { messageIds } = (await res.json()) as { messageIds: string[] };
    expect(messageIds.length).toBeGreaterThan(0);
    const spans = await until("the Engage messages' spans", () => {
      const mine = exportedSpans(otlp.received('/v1/traces')).filter((s) => s.traceId === traceId);
      return mine.filter((s) => s.name === 'herald.deliver').length >= messageIds.length ? mine : null;
    });
    const accepts = spans.filter((s) => s.name === 'herald.message.accept');
    expect(accepts.map((s) => s.attributes['herald.msg_id']).sort()).toEqual([...messageIds].sort());
    expect(accepts.every((s) => s.parentSpanId === producerSpan)).toBe(true);
    const acceptIds = new Set(accepts.map((s) => s.spanId));
    expect(spans.filter((s) => s.name === 'herald.deliver').every((s) => acceptIds.has(s.parentSpanId))).toBe(true);
    await api.stop();
  });

  it('with tracing off, deliveries carry no traceparent', async () => {
    plain = await serve({ HERALD_DATA_DIR: dataDir, HERALD_API_TOKEN: TOKEN, HERALD_POLL_INTERVAL: '50ms' });
    const must = expecting(plain.url, TOKEN);
    const app = await must('POST', '/api/v1/app', 201, { name: 'untraced' });
    rx.on('/untraced', { status: 200 });
    await must('POST', `/api/v1/app/${app.id}/endpoint`, 201, { url: rx.url('/untraced') });
    await must('POST', `/api/v1/app/${app.id}/msg`, 202, { eventType: 'plain', payload: {} });
    const [d] = await rx.waitForCount(1, { path: '/untraced' });
    expect(d!.headers.traceparent).toBeUndefined();
    await plain.stop();
  });
});

describe('tracing on PostgreSQL: herald serve --no-dispatch and herald worker exporting OTLP/JSON', () => {
  let api: Served | undefined;
  let worker: CliProcess | undefined;
  let otlp: Receiver;
  const fixture = usePostgresProcesses({
    token: TOKEN,
    dataDirPrefix: 'herald-pg-otel-',
    env: { HERALD_POLL_INTERVAL: '50ms', HERALD_RETRY_SCHEDULE: '100ms' },
    processes: () => [worker, api],
  });
  beforeAll(async () => {
    otlp = await Receiver.start();
  });
  afterAll(async () => {
    await otlp?.close();
  });

  it('the worker continues the trace the API process started, from the traceparent stored with the message', async () => {
    api = await serve(fixture.env(otelEnv(otlp, 'http/json', 'api')), ['--no-dispatch']);
    worker = spawnCli(['worker', '--no-migrate'], fixture.env(otelEnv(otlp, 'http/json', 'worker')));
    await worker.waitFor('the worker to start', () => /dispatching/.test(worker!.stdout()));
    await oneMessageOneTrace(api.url, fixture.rx(), otlp, { api: 'api', worker: 'worker' });
    expect(otlp.received('/v1/traces').every((r) => r.headers['content-type'] === 'application/json')).toBe(true);
  });
});
