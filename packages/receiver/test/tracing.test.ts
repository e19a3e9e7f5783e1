// The receiver continues Herald's trace: with a tracer, each verified delivery is a
// `herald.receive` span whose parent is the sender's traceparent (Herald's attempt span), and the
// handler's context names that span so it can pass the trace on; without one, the handler gets the
// header as sent. Spans are recorded by the OpenTelemetry SDK's in-memory exporter.
import { randomBytes } from 'node:crypto';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { describe, expect, it } from 'vitest';
import { createReceiver, createRouter, generateSecret, type DeliveryContext } from '../src/index.js';
import { balance } from './adapter-suite.js';
import { msgId, signedHeaders } from './helpers.js';

const secret = generateSecret();
const BODY = JSON.stringify(balance);

function receiverSeeing(seen: DeliveryContext[], tracer?: ReturnType<BasicTracerProvider['getTracer']>) {
  const router = createRouter().onAny((_event, context) => {
    seen.push(context);
  });
  return createReceiver(tracer ? { secrets: secret, router, tracer } : { secrets: secret, router });
}

describe('receiver tracing', () => {
  it("with a tracer, a delivery is a span continuing the sender's traceparent, and the handler gets that span", async () => {
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    const seen: DeliveryContext[] = [];
    const receiver = receiverSeeing(seen, provider.getTracer('receiver-test'));
    const traceId = randomBytes(16).toString('hex');
    const attemptSpan = randomBytes(8).toString('hex');
    const id = msgId();
    const res = await receiver.handle({
      rawBody: BODY,
      headers: { ...signedHeaders(BODY, secret, { id }), traceparent: `00-${traceId}-${attemptSpan}-01` },
      remoteAddress: '127.0.0.1',
    });
    expect(res.status).toBe(200);
    const [span] = exporter.getFinishedSpans();
    expect(span?.name).toBe('herald.receive');
    expect(span?.spanContext().traceId).toBe(traceId);
    expect(span?.parentSpanContext?.spanId).toBe(attemptSpan);
    expect(span?.attributes).toMatchObject({ 'herald.webhook_id': id, 'http.response.status_code': 200 });
    expect(seen[0]?.traceparent).toBe(`00-${traceId}-${span?.spanContext().spanId}-01`);
  });

  it('without a tracer, the handler gets the traceparent as sent, and none when none was sent', async () => {
    const seen: DeliveryContext[] = [];
    const receiver = receiverSeeing(seen);
    const traceparent = `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-01`;
    await receiver.handle({ rawBody: BODY, headers: { ...signedHeaders(BODY, secret), traceparent }, remoteAddress: '127.0.0.1' });
    await receiver.handle({ rawBody: BODY, headers: signedHeaders(BODY, secret), remoteAddress: '127.0.0.1' });
    expect(seen.map((c) => c.traceparent)).toEqual([traceparent, undefined]);
  });
});
