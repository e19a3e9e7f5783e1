// Transformations in delivery: an endpoint's code rewrites the body (signed as sent), the URL (then
// checked by the SSRF guard), the method and headers, or cancels the delivery (recorded as
// canceled); a failing run is a failed attempt with the error, retried on the schedule, and says
// nothing of the endpoint's circuit. A looping script holds one sandbox worker while another
// tenant's deliveries go on. Real Herald in-process (both stores), real loopback receiver.
import { verify } from '@herald/receiver';
import { Webhook as SvixWebhook } from 'svix';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CANCELED_BY_TRANSFORMATION } from '../../src/domain/transformation.js';
import { TransformPool } from '../../src/transform/pool.js';
import type { ReceivedRequest } from '../helpers/receiver.js';
import { attemptRecorded, attemptsOf, createApp, createEndpoint, deliverySuite, destination, getSecret, sendMessage, settled, until } from './harness.js';

function flat(r: ReceivedRequest): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(r.headers)) if (v !== undefined) out[k] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}

describe('transformations in delivery', () => {
  const s = deliverySuite({ env: { HERALD_RETRY_SCHEDULE: '20ms,20ms,20ms,20ms,20ms,20ms' } });

  /** The delivery's attempts once there is at least one (retries may follow quickly). */
  const firstAttempts = (appId: string, msgId: string, endpointId: string) =>
    until(`an attempt of ${msgId}`, async () => {
      const all = await attemptsOf(s.h, appId, msgId, endpointId);
      return all.length > 0 ? all : undefined;
    });

  async function transforming(appId: string, path: string, code: string, body: Record<string, unknown> = {}): Promise<any> {
    const ep = await createEndpoint(s.h, appId, s.rx, path, body);
    await s.h.call('PATCH', `/api/v1/app/${appId}/endpoint/${ep.id}/transformation`, 204, { code, enabled: true });
    return ep;
  }

  it('sends the transformed body to the transformed URL, with its headers and method, signed over what was sent', async () => {
    const app = await createApp(s.h);
    const ep = await transforming(
      app.id,
      '/original',
      `function handler(webhook) {
        webhook.url = webhook.url.replace('/original', '/rewritten') + '?country=' + webhook.payload.country;
        webhook.payload = { text: 'Contact ' + webhook.payload.id + ' changed', type: webhook.eventType };
        webhook.headers['x-routed-by'] = 'transformation';
        webhook.method = 'PUT';
        return webhook;
      }`,
      { headers: { 'x-tenant': 'acme' } },
    );
    const secret = await getSecret(s.h, app.id, ep.id);
    const msg = await sendMessage(s.h, app.id, { eventType: 'contact.updated', payload: { id: 'c-1', country: 'SE' } });
    const [r] = await s.rx.waitForCount(1, { path: '/rewritten' });
    expect(r!.method).toBe('PUT');
    expect(r!.url).toBe('/rewritten?country=SE');
    expect(JSON.parse(r!.text)).toEqual({ text: 'Contact c-1 changed', type: 'contact.updated' });
    expect(r!.headers['x-routed-by']).toBe('transformation');
    expect(r!.headers['x-tenant']).toBe('acme');
    expect(r!.headers['webhook-id']).toBe(msg.id);
    // The signature covers the body as transformed: two independent verifiers accept it.
    expect(verify(r!.body, flat(r!), secret)).toEqual({ text: 'Contact c-1 changed', type: 'contact.updated' });
    new SvixWebhook(secret).verify(r!.text, flat(r!));
    expect(s.rx.received('/original')).toEqual([]);
    await settled(s.h, msg.id, ep.id);
    const [a] = await attemptsOf(s.h, app.id, msg.id, ep.id);
    expect(a).toMatchObject({ status: 0, responseStatusCode: 200, url: s.rx.url('/rewritten?country=SE') });
    // Switched off, deliveries go out as they came.
    await s.h.call('PATCH', `/api/v1/app/${app.id}/endpoint/${ep.id}/transformation`, 204, { enabled: false });
    const plain = await sendMessage(s.h, app.id, { eventType: 'contact.updated', payload: { id: 'c-2' } });
    const [p] = await s.rx.waitForCount(1, { path: '/original' });
    expect(p!.method).toBe('POST');
    expect(JSON.parse(p!.text)).toEqual({ id: 'c-2' });
    expect(p!.headers['webhook-id']).toBe(plain.id);
  });

  it('a URL the transformation chose goes through the SSRF guard', async () => {
    const app = await createApp(s.h);
    const ep = await transforming(app.id, '/ssrf', 'function handler(w) { w.url = "http://169.254.169.254/latest/meta-data"; return w; }');
    const msg = await sendMessage(s.h, app.id, { eventType: 'x', payload: {} });
    const [a] = await firstAttempts(app.id, msg.id, ep.id);
    expect(a).toMatchObject({ status: 2, responseStatusCode: 0, url: 'http://169.254.169.254/latest/meta-data' });
    expect(a.response).toMatch(/^Refused: /);
    await s.h.call('PATCH', `/api/v1/app/${app.id}/endpoint/${ep.id}/transformation`, 204, { enabled: false });
  });

  it('a canceled delivery is recorded as canceled, sends nothing and is not retried', async () => {
    const app = await createApp(s.h);
    const ep = await transforming(app.id, '/maybe', 'function handler(w) { if (w.payload.skip) w.cancel = true; return w; }');
    const skipped = await sendMessage(s.h, app.id, { eventType: 'x', payload: { skip: true } });
    const kept = await sendMessage(s.h, app.id, { eventType: 'x', payload: { skip: false } });
    const task = await settled(s.h, skipped.id, ep.id);
    expect(task).toMatchObject({ status: 4, attempt_count: 1 });
    const attempts = await attemptsOf(s.h, app.id, skipped.id, ep.id);
    expect(attempts).toHaveLength(1);
    expect(attempts[0]).toMatchObject({ status: 4, responseStatusCode: 0, response: CANCELED_BY_TRANSFORMATION });
    expect((await destination(s.h, app.id, skipped.id, ep.id)).status).toBe(4);
    expect(await s.h.call('GET', `/api/v1/app/${app.id}/endpoint/${ep.id}/stats`, 200)).toMatchObject({ canceled: 1 });
    const [r] = await s.rx.waitForCount(1, { path: '/maybe' });
    expect(r!.headers['webhook-id']).toBe(kept.id);
    expect(s.rx.forMessage('/maybe', skipped.id)).toEqual([]);
  });

  it('a canceled delivery passes its ordering key’s turn to the next message', async () => {
    const app = await createApp(s.h);
    const ep = await transforming(app.id, '/ordered', 'function handler(w) { if (w.payload.skip) w.cancel = true; return w; }', { ordering: 'key' });
    const first = await sendMessage(s.h, app.id, { eventType: 'x', payload: { skip: true }, orderingKey: 'contact-1' });
    const second = await sendMessage(s.h, app.id, { eventType: 'x', payload: { n: 2 }, orderingKey: 'contact-1' });
    const [r] = await s.rx.waitForCount(1, { path: '/ordered' });
    expect(r!.headers['webhook-id']).toBe(second.id);
    expect(r!.headers['herald-sequence']).toBe('2');
    expect((await settled(s.h, first.id, ep.id)).status).toBe(4);
  });

  it('a failing transformation is a failed attempt with the error, retried on the schedule; it does not open the circuit', async () => {
    const app = await createApp(s.h);
    const ep = await transforming(app.id, '/throws', 'function handler(w) { if (!w.payload.id) throw new Error("no customer id"); return w; }');
    const msg = await sendMessage(s.h, app.id, { eventType: 'x', payload: {} });
    // Seven attempts (the first and six retries), each failing the same way: more than the five
    // failures in a row that open a circuit.
    const task = await settled(s.h, msg.id, ep.id);
    expect(task).toMatchObject({ status: 2, attempt_count: 7 });
    const attempts = await attemptsOf(s.h, app.id, msg.id, ep.id);
    expect(attempts).toHaveLength(7);
    for (const a of attempts) expect(a).toMatchObject({ status: 2, responseStatusCode: 0, response: 'Transformation failed: Error: no customer id' });
    expect(s.rx.received('/throws')).toEqual([]);
    const health = await s.h.call('GET', `/api/v1/app/${app.id}/endpoint/${ep.id}/health`, 200);
    expect(health).toMatchObject({ circuit: 'closed', consecutiveFailures: 0 });
    // Fixed code: the next message goes out.
    await s.h.call('PATCH', `/api/v1/app/${app.id}/endpoint/${ep.id}/transformation`, 204, {
      code: 'function handler(w) { w.payload.id ??= "anon"; return w; }',
    });
    const next = await sendMessage(s.h, app.id, { eventType: 'x', payload: {} });
    const [r] = await s.rx.waitForCount(1, { path: '/throws' });
    expect(JSON.parse(r!.text)).toEqual({ id: 'anon' });
    expect(r!.headers['webhook-id']).toBe(next.id);
  });

  it('a script past its CPU or memory limit fails its attempt with the reason', async () => {
    const app = await createApp(s.h);
    const loops = await transforming(app.id, '/loops', 'function handler(w) { for (;;) {} }');
    const hogs = await transforming(app.id, '/hogs', 'function handler(w) { w.payload = "x".repeat(64 * 1024 * 1024); return w; }');
    const msg = await sendMessage(s.h, app.id, { eventType: 'x', payload: {} });
    expect((await firstAttempts(app.id, msg.id, loops.id))[0]).toMatchObject({
      status: 2,
      response: 'Transformation failed: ran longer than 50 ms of CPU',
    });
    expect((await firstAttempts(app.id, msg.id, hogs.id))[0]).toMatchObject({ status: 2, response: 'Transformation failed: used more than 16 MB of memory' });
    for (const ep of [loops, hogs]) await s.h.call('PATCH', `/api/v1/app/${app.id}/endpoint/${ep.id}/transformation`, 204, { enabled: false });
  });
});

describe('a looping transformation and other tenants', () => {
  let pool: TransformPool;
  const d = deliverySuite({ env: { HERALD_RETRY_SCHEDULE: 'none' } });
  beforeAll(async () => {
    // A CPU limit far beyond the test's length, so the looping script is certainly still running
    // while the other tenant's delivery goes out; closing the pool ends it.
    pool = new TransformPool({ size: 2, limits: { cpuMs: 600_000 } });
    (d.h.herald.dispatcher as unknown as { o: { transforms: TransformPool } }).o.transforms = pool;
  });
  afterAll(async () => {
    await pool?.close();
  });

  it("another tenant's deliveries, transformed or not, go out while one tenant's script loops", async () => {
    const slow = await createApp(d.h);
    const loops = await createEndpoint(d.h, slow.id, d.rx, '/forever');
    await d.h.call('PATCH', `/api/v1/app/${slow.id}/endpoint/${loops.id}/transformation`, 204, { code: 'function handler(w) { for (;;) {} }', enabled: true });
    const stuck = await sendMessage(d.h, slow.id, { eventType: 'x', payload: {} });

    const other = await createApp(d.h);
    const plain = await createEndpoint(d.h, other.id, d.rx, '/plain');
    const shaped = await createEndpoint(d.h, other.id, d.rx, '/shaped');
    await d.h.call('PATCH', `/api/v1/app/${other.id}/endpoint/${shaped.id}/transformation`, 204, {
      code: 'function handler(w) { w.payload.shaped = true; return w; }',
      enabled: true,
    });
    // The looping run has started (its delivery is in flight) before the other tenant sends.
    await until('the looping delivery to be in flight', () => d.h.herald.dispatcher!.endpointLoad(loops.id).inFlight === 1);
    const msg = await sendMessage(d.h, other.id, { eventType: 'x', payload: { n: 1 } });
    const [p] = await d.rx.waitForCount(1, { path: '/plain' });
    const [s] = await d.rx.waitForCount(1, { path: '/shaped' });
    expect(p!.headers['webhook-id']).toBe(msg.id);
    expect(JSON.parse(s!.text)).toEqual({ n: 1, shaped: true });
    // The looping one is still running: no attempt recorded, still in flight.
    expect(await attemptsOf(d.h, slow.id, stuck.id, loops.id)).toEqual([]);
    expect(d.h.herald.dispatcher!.endpointLoad(loops.id).inFlight).toBe(1);
    await pool.close();
    await attemptRecorded(d.h, stuck.id, loops.id, 1);
    expect((await attemptsOf(d.h, slow.id, stuck.id, loops.id))[0].response).toBe('Transformation failed: the transformation pool is closed');
  });
});
