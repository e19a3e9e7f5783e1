// `idempotency-key` on POST (svix.md §2.1 "Idempotency", §2.4.5): the same key within 12 hours
// answers with the first 2xx response and creates nothing new; failures do not poison a key.
import { describe, expect, it } from 'vitest';
import { count, createApp, createEndpoint, unique } from './helpers/fixtures.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Clock, HOUR, MINUTE, startInProcess, TEST_DATABASE, useInProcess, type InProcess } from './helpers/inproc.js';
import { rawRows } from './helpers/rows.js';

const key = () => `auto_${unique('key')}`;

function post(h: InProcess, url: string, body: unknown, idem: string, token?: string) {
  return h.inject('POST', url, { body, token, headers: { 'idempotency-key': idem } });
}

describe('idempotency: replays', () => {
  const clock = new Clock();
  const h = useInProcess({ now: clock.now });

  it('application create: the same key twice answers the same body, the second marked idempotent-replayed, one app', async () => {
    const k = key();
    const before = await count(h(), 'application');
    const first = await post(h(), '/api/v1/app', { name: 'once' }, k);
    expect(first.status).toBe(201);
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    clock.advance(MINUTE);
    const second = await post(h(), '/api/v1/app', { name: 'once' }, k);
    expect(second.status).toBe(201);
    expect(second.headers['idempotent-replayed']).toBe('true');
    expect(second.json).toEqual(first.json);
    expect(second.text).toBe(first.text);
    expect(await count(h(), 'application')).toBe(before + 1);
  });

  it('the replay is the first answer even if the second body differs', async () => {
    const k = key();
    const first = await post(h(), '/api/v1/app', { name: 'original' }, k);
    const second = await post(h(), '/api/v1/app', { name: 'different' }, k);
    expect(second.json).toEqual(first.json);
    expect(second.json.name).toBe('original');
  });

  it('message create: one message and one set of delivery tasks', async () => {
    const app = (await createApp(h())).id;
    await createEndpoint(h(), app);
    const k = key();
    const body = { eventType: 'order.created', payload: { n: 1 } };
    const first = await post(h(), `/api/v1/app/${app}/msg`, body, k);
    const second = await post(h(), `/api/v1/app/${app}/msg`, body, k);
    expect(first.status).toBe(202);
    expect(second.status).toBe(202);
    expect(second.headers['idempotent-replayed']).toBe('true');
    expect(second.json).toEqual(first.json);
    expect(await count(h(), 'message', 'app_id = ?', app)).toBe(1);
    expect(await count(h(), 'delivery_task', 'app_id = ?', app)).toBe(1);
  });

  it('message create: the stored answer names the message and holds no copy of its payload; the replay is byte for byte', async () => {
    const app = (await createApp(h())).id;
    await createEndpoint(h(), app);
    const k = key();
    // Sent as text: an integer past 2^53 and odd spacing survive only if the replay splices the stored bytes.
    const raw = '{"eventType":"order.created","payload":{"big": 12345678901234567891,"marker":"payload-copy-probe"}}';
    const first = await h().inject('POST', `/api/v1/app/${app}/msg`, { raw, headers: { 'content-type': 'application/json', 'idempotency-key': k } });
    expect(first.status).toBe(202);
    const rows = await rawRows<{ body: string; msg_id: string }>(h(), 'SELECT body, msg_id FROM idempotency WHERE msg_id = ?', [first.json.id]);
    expect(rows).toEqual([{ body: '', msg_id: first.json.id }]);
    expect(await count(h(), 'idempotency', "body LIKE '%payload-copy-probe%'")).toBe(0);
    const second = await h().inject('POST', `/api/v1/app/${app}/msg`, { raw, headers: { 'content-type': 'application/json', 'idempotency-key': k } });
    expect(second.status).toBe(202);
    expect(second.headers['idempotent-replayed']).toBe('true');
    expect(second.text).toBe(first.text);
    expect(second.text).toContain('"big": 12345678901234567891');
  });

  it('message create: a replay after the payload was expunged does not bring the payload back', async () => {
    const app = (await createApp(h())).id;
    const k = key();
    const first = await post(h(), `/api/v1/app/${app}/msg`, { eventType: 'order.created', payload: { secret: 'expunge-me' } }, k);
    expect(first.json.payload).toEqual({ secret: 'expunge-me' });
    expect((await h().inject('DELETE', `/api/v1/app/${app}/msg/${first.json.id}/content`)).status).toBe(204);
    const second = await post(h(), `/api/v1/app/${app}/msg`, { eventType: 'order.created', payload: { secret: 'expunge-me' } }, k);
    expect(second.status).toBe(202);
    expect(second.headers['idempotent-replayed']).toBe('true');
    expect(second.json.id).toBe(first.json.id);
    expect(second.text).not.toContain('expunge-me');
    expect(second.json).toEqual((await h().inject('GET', `/api/v1/app/${app}/msg/${first.json.id}`)).json);
    expect(await count(h(), 'message', 'app_id = ?', app)).toBe(1);
  });

  it('message create: with_content=false, an application created inline, and send-example replay as first answered', async () => {
    const k1 = key();
    const uid = unique('inline');
    const inline = { eventType: 'order.created', payload: { n: 2 }, application: { name: 'inline', uid } };
    const a = await post(h(), `/api/v1/app/${uid}/msg?with_content=false`, inline, k1);
    const b = await post(h(), `/api/v1/app/${uid}/msg?with_content=false`, inline, k1);
    expect(a.status).toBe(202);
    expect(a.json.payload).toEqual({});
    expect(b.headers['idempotent-replayed']).toBe('true');
    expect(b.text).toBe(a.text);
    expect(await count(h(), 'application', 'uid = ?', uid)).toBe(1);

    const app = (await createApp(h())).id;
    const ep = await createEndpoint(h(), app);
    const k2 = key();
    const x = await post(h(), `/api/v1/app/${app}/endpoint/${ep.id}/send-example`, { eventType: 'svix.ping' }, k2);
    const y = await post(h(), `/api/v1/app/${app}/endpoint/${ep.id}/send-example`, { eventType: 'svix.ping' }, k2);
    expect(x.status).toBe(200);
    expect(y.status).toBe(200);
    expect(y.headers['idempotent-replayed']).toBe('true');
    expect(y.text).toBe(x.text);
    expect(await count(h(), 'message', 'app_id = ?', app)).toBe(1);
  });

  it('endpoint create: one endpoint', async () => {
    const app = (await createApp(h())).id;
    const k = key();
    const first = await post(h(), `/api/v1/app/${app}/endpoint`, { url: 'https://e.com' }, k);
    const second = await post(h(), `/api/v1/app/${app}/endpoint`, { url: 'https://e.com' }, k);
    expect(first.status).toBe(201);
    expect(second.status).toBe(201);
    expect(second.headers['idempotent-replayed']).toBe('true');
    expect(second.json.id).toBe(first.json.id);
    expect(await count(h(), 'endpoint', 'app_id = ?', app)).toBe(1);
  });

  it('a different key creates anew', async () => {
    const before = await count(h(), 'application');
    const a = await post(h(), '/api/v1/app', { name: 'same body' }, key());
    const b = await post(h(), '/api/v1/app', { name: 'same body' }, key());
    expect(a.json.id).not.toBe(b.json.id);
    expect(b.headers['idempotent-replayed']).toBeUndefined();
    expect(await count(h(), 'application')).toBe(before + 2);
  });

  it('no key: every POST creates', async () => {
    const before = await count(h(), 'application');
    await h().inject('POST', '/api/v1/app', { body: { name: 'no key' } });
    await h().inject('POST', '/api/v1/app', { body: { name: 'no key' } });
    expect(await count(h(), 'application')).toBe(before + 2);
  });

  it('the same key on a different URL is independent', async () => {
    const a1 = (await createApp(h())).id;
    const a2 = (await createApp(h())).id;
    const k = key();
    const m1 = await post(h(), `/api/v1/app/${a1}/msg`, { eventType: 'x', payload: {} }, k);
    const m2 = await post(h(), `/api/v1/app/${a2}/msg`, { eventType: 'x', payload: {} }, k);
    expect(m1.status).toBe(202);
    expect(m2.status).toBe(202);
    expect(m2.headers['idempotent-replayed']).toBeUndefined();
    expect(m2.json.id).not.toBe(m1.json.id);
    expect(await count(h(), 'message', 'app_id = ?', a1)).toBe(1);
    expect(await count(h(), 'message', 'app_id = ?', a2)).toBe(1);
  });

  it('the same key from another caller (another token) is independent', async () => {
    const app = (await createApp(h())).id;
    const p1 = (await h().inject('POST', `/api/v1/auth/app-portal-access/${app}`, { body: {} })).json.token;
    const p2 = (await h().inject('POST', `/api/v1/auth/app-portal-access/${app}`, { body: {} })).json.token;
    const k = key();
    const e1 = await post(h(), `/api/v1/app/${app}/endpoint`, { url: 'https://e.com' }, k, p1);
    const e2 = await post(h(), `/api/v1/app/${app}/endpoint`, { url: 'https://e.com' }, k, p2);
    expect(e1.status).toBe(201);
    expect(e2.status).toBe(201);
    expect(e2.json.id).not.toBe(e1.json.id);
  });

  it('after 12 hours the key is forgotten and the POST creates anew', async () => {
    const k = key();
    const first = await post(h(), '/api/v1/app', { name: 'day one' }, k);
    clock.advance(12 * HOUR - MINUTE);
    const within = await post(h(), '/api/v1/app', { name: 'day one' }, k);
    expect(within.headers['idempotent-replayed']).toBe('true');
    expect(within.json.id).toBe(first.json.id);
    clock.advance(2 * MINUTE);
    const later = await post(h(), '/api/v1/app', { name: 'day one' }, k);
    expect(later.status).toBe(201);
    expect(later.headers['idempotent-replayed']).toBeUndefined();
    expect(later.json.id).not.toBe(first.json.id);
  });

  it('the key applies to POST only: PUT with a key behaves as PUT', async () => {
    const uid = unique('put');
    const k = key();
    const a = await h().inject('PUT', `/api/v1/app/${uid}`, { body: { name: 'v1', uid }, headers: { 'idempotency-key': k } });
    const b = await h().inject('PUT', `/api/v1/app/${uid}`, { body: { name: 'v2', uid }, headers: { 'idempotency-key': k } });
    expect(a.status).toBe(201);
    expect(b.status).toBe(200);
    expect(b.json.name).toBe('v2');
    expect(b.headers['idempotent-replayed']).toBeUndefined();
  });
});

describe('idempotency: durability', () => {
  it('a replay survives a restart on the same data folder (the answer is in the database)', async () => {
    const clock = new Clock();
    const dataDir = mkdtempSync(join(tmpdir(), 'herald-idem-'));
    try {
      const k = key();
      const h1 = await startInProcess({ now: clock.now, dataDir });
      const first = await post(h1, '/api/v1/app', { name: 'durable' }, k);
      expect(first.status).toBe(201);
      await h1.close();
      clock.advance(HOUR);
      const h2 = await startInProcess({ now: clock.now, dataDir });
      try {
        const second = await post(h2, '/api/v1/app', { name: 'durable' }, k);
        expect(second.status).toBe(201);
        expect(second.headers['idempotent-replayed']).toBe('true');
        expect(second.json).toEqual(first.json);
        expect(await count(h2, 'application')).toBe(1);
      } finally {
        await h2.close();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('idempotency: concurrency and failures', () => {
  const h = useInProcess();

  it('5 concurrent application creates with one key create exactly one application', async () => {
    const k = key();
    const before = await count(h(), 'application');
    const rs = await Promise.all(Array.from({ length: 5 }, () => post(h(), '/api/v1/app', { name: 'racy' }, k)));
    expect(rs.map((r) => r.status)).toEqual([201, 201, 201, 201, 201]);
    expect(new Set(rs.map((r) => r.json.id)).size).toBe(1);
    expect(rs.filter((r) => r.headers['idempotent-replayed'] === 'true')).toHaveLength(4);
    expect(await count(h(), 'application')).toBe(before + 1);
  });

  it('5 concurrent message creates with one key create exactly one message', async () => {
    const app = (await createApp(h())).id;
    await createEndpoint(h(), app);
    const k = key();
    const rs = await Promise.all(Array.from({ length: 5 }, () => post(h(), `/api/v1/app/${app}/msg`, { eventType: 'racy', payload: { n: 1 } }, k)));
    expect(rs.map((r) => r.status)).toEqual([202, 202, 202, 202, 202]);
    expect(new Set(rs.map((r) => r.json.id)).size).toBe(1);
    expect(await count(h(), 'message', 'app_id = ?', app)).toBe(1);
    expect(await count(h(), 'delivery_task', 'app_id = ?', app)).toBe(1);
  });

  // SQLite's holds live in the process; PostgreSQL's are rows (postgres-idempotency.test.ts).
  it.skipIf(TEST_DATABASE === 'postgres')('on SQLite a fresh key costs one answer look-up: holds are in memory, so no second read after the hold', async () => {
    const store = h().store;
    expect(store.idempotencyHoldsAreLocal).toBe(true);
    const reads: string[] = [];
    const read = store.getIdempotentResponse.bind(store);
    store.getIdempotentResponse = (k, notBefore) => {
      reads.push(k);
      return read(k, notBefore);
    };
    try {
      const k = key();
      const first = await post(h(), '/api/v1/app', { name: 'one read' }, k);
      expect(first.status).toBe(201);
      expect(reads).toHaveLength(1);
      const again = await post(h(), '/api/v1/app', { name: 'one read' }, k);
      expect(again.headers['idempotent-replayed']).toBe('true');
      expect(again.json.id).toBe(first.json.id);
      expect(reads).toHaveLength(2);
    } finally {
      store.getIdempotentResponse = read;
    }
  });

  it('a failed (4xx) request does not poison the key: a later valid request with it succeeds', async () => {
    const k = key();
    const before = await count(h(), 'application');
    const bad = await post(h(), '/api/v1/app', { name: '' }, k);
    expect(bad.status).toBe(422);
    const good = await post(h(), '/api/v1/app', { name: 'now valid' }, k);
    expect(good.status).toBe(201);
    expect(good.headers['idempotent-replayed']).toBeUndefined();
    expect(good.json.name).toBe('now valid');
    expect(await count(h(), 'application')).toBe(before + 1);
    // And the success is what the key now replays.
    const again = await post(h(), '/api/v1/app', { name: 'now valid' }, k);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.json.id).toBe(good.json.id);
  });

  it('a conflict (409) is not cached either', async () => {
    const app = (await createApp(h())).id;
    await h().inject('POST', `/api/v1/app/${app}/msg`, { body: { eventType: 'x', payload: {}, eventId: 'taken' } });
    const k = key();
    const conflict = await post(h(), `/api/v1/app/${app}/msg`, { eventType: 'x', payload: {}, eventId: 'taken' }, k);
    expect(conflict.status).toBe(409);
    const ok = await post(h(), `/api/v1/app/${app}/msg`, { eventType: 'x', payload: {}, eventId: 'free' }, k);
    expect(ok.status).toBe(202);
    expect(ok.json.eventId).toBe('free');
  });

  it('a 404 is not cached: the key works once the application exists', async () => {
    const uid = unique('later');
    const k = key();
    expect((await post(h(), `/api/v1/app/${uid}/msg`, { eventType: 'x', payload: {} }, k)).status).toBe(404);
    await createApp(h(), { uid });
    const ok = await post(h(), `/api/v1/app/${uid}/msg`, { eventType: 'x', payload: {} }, k);
    expect(ok.status).toBe(202);
  });
});
