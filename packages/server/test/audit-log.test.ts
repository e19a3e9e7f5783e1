// The audit log of management changes, through the API on both stores: who (operator, or portal
// session and its application), what (operation, ids, method, path, status), when; changes only,
// never secrets; operator-only reading with Svix-style cursors and a per-application filter.
import { describe, expect, it } from 'vitest';
import { createApp, createEndpoint, portalToken, sendMessage } from './helpers/fixtures.js';
import { Clock, listAll, useInProcess, type InProcess } from './helpers/inproc.js';

const SECRET = 'whsec_QXVkaXRMb2dNdXN0TmV2ZXJIb2xkVGhpc1NlY3JldA==';
const ROTATED = 'whsec_Um90YXRlZFNlY3JldE5ldmVyTG9nZ2VkRWl0aGVyISE=';
const HEADER_VALUE = 'Bearer header-value-that-is-a-secret-123';

async function audit(h: InProcess, query = ''): Promise<any[]> {
  return (await listAll(h, `/api/v1/audit-log${query}`)).items;
}

describe.each(['sqlite', 'postgres'] as const)('audit log (%s)', (database) => {
  const clock = new Clock('2026-05-01T10:00:00Z');
  const h = useInProcess({ now: clock.now, database });

  it('records who changed what and when, for the operator and for portal sessions, without secrets', async () => {
    const app = await createApp(h(), { uid: `audited-${database}` });
    clock.advance(1000);
    const ep = await createEndpoint(h(), app.id, { secret: SECRET });
    const rot = await h().inject('POST', `/api/v1/app/${app.id}/endpoint/${ep.id}/secret/rotate`, { body: { key: ROTATED } });
    expect(rot.status).toBe(204);
    const hdr = await h().inject('PUT', `/api/v1/app/${app.id}/endpoint/${ep.id}/headers`, { body: { headers: { Authorization: HEADER_VALUE } } });
    expect(hdr.status).toBe(204);
    // Reads, ingest and refused bodies are not changes.
    await h().inject('GET', `/api/v1/app/${app.id}/endpoint/${ep.id}/secret`);
    await sendMessage(h(), app.id);
    expect((await h().inject('POST', `/api/v1/app/${app.id}/endpoint`, { body: { url: 42 } })).status).toBe(422);

    const token = await portalToken(h(), app.id);
    clock.advance(1000);
    const portalEp = await createEndpoint(h(), app.id, { url: 'https://tenant.example.com/hook' }, token);
    const other = await createApp(h());
    // A valid token refused: audited, with the ids as written.
    expect((await h().inject('DELETE', `/api/v1/app/${other.id}/endpoint/ep_2aVHbyVjDtmnqf4k3nwCrUnPwQe`, { token })).status).toBe(403);
    expect((await h().inject('DELETE', `/api/v1/app/${app.id}`, { token })).status).toBe(403);
    // No token at all is not attributable to anyone, and not a change: not audited.
    expect((await h().inject('DELETE', `/api/v1/app/${app.id}`, { token: null })).status).toBe(401);
    clock.advance(1000);
    expect((await h().inject('DELETE', `/api/v1/app/${app.id}/endpoint/${ep.id}`)).status).toBe(204);

    const r = await h().inject('GET', '/api/v1/audit-log');
    expect(r.status).toBe(200);
    expect(r.text).not.toContain(SECRET);
    expect(r.text).not.toContain(ROTATED);
    expect(r.text).not.toContain(HEADER_VALUE);
    expect(r.text).not.toContain(token);
    const got = (await audit(h())).reverse().map((e) => [e.operationId, e.method, e.status, e.actor.type, e.appId, e.endpointId]);
    expect(got).toEqual([
      ['v1.application.create', 'POST', 201, 'operator', app.id, null],
      ['v1.endpoint.create', 'POST', 201, 'operator', app.id, ep.id],
      ['v1.endpoint.rotate-secret', 'POST', 204, 'operator', app.id, ep.id],
      ['v1.endpoint.update-headers', 'PUT', 204, 'operator', app.id, ep.id],
      ['v1.authentication.app-portal-access', 'POST', 200, 'operator', app.id, null],
      ['v1.endpoint.create', 'POST', 201, 'portal', app.id, portalEp.id],
      ['v1.application.create', 'POST', 201, 'operator', other.id, null],
      ['v1.endpoint.delete', 'DELETE', 403, 'portal', other.id, 'ep_2aVHbyVjDtmnqf4k3nwCrUnPwQe'],
      ['v1.application.delete', 'DELETE', 403, 'portal', app.id, null],
      ['v1.endpoint.delete', 'DELETE', 204, 'operator', app.id, ep.id],
    ]);
    const entries = (await audit(h())).reverse();
    expect(entries[0].timestamp).toBe('2026-05-01T10:00:00.000Z');
    expect(entries[1].timestamp).toBe('2026-05-01T10:00:01.000Z');
    expect(entries[1].path).toBe(`/api/v1/app/${app.id}/endpoint`);
    expect(entries[5].actor).toEqual({ type: 'portal', sessionId: expect.stringMatching(/^sess_/), appId: app.id });
    expect(entries[9].timestamp).toBe('2026-05-01T10:00:03.000Z');
  });

  it('an idempotent replay is audited once', async () => {
    const before = (await audit(h())).length;
    const headers = { 'idempotency-key': `audit-replay-${database}` };
    const a = await h().inject('POST', '/api/v1/app', { body: { name: 'replayed' }, headers });
    const b = await h().inject('POST', '/api/v1/app', { body: { name: 'replayed' }, headers });
    expect(a.status).toBe(201);
    expect(b.headers['idempotent-replayed']).toBe('true');
    const after = await audit(h());
    expect(after.length).toBe(before + 1);
    expect(after[0]).toMatchObject({ operationId: 'v1.application.create', appId: a.json.id });
  });

  it('pages newest first with Svix cursors, and filters by application id or uid', async () => {
    const app = await createApp(h(), { uid: `paged-${database}` });
    for (let i = 0; i < 4; i++) await createEndpoint(h(), app.id);
    const p1 = await h().inject('GET', `/api/v1/audit-log?app_id=${app.id}&limit=2`);
    expect(p1.json).toMatchObject({ done: false });
    expect(typeof p1.json.iterator).toBe('string');
    expect(typeof p1.json.prevIterator).toBe('string');
    expect(p1.json.data.map((e: any) => e.operationId)).toEqual(['v1.endpoint.create', 'v1.endpoint.create']);
    const all = await audit(h(), `?app_id=paged-${database}`);
    expect(all.map((e) => e.operationId)).toEqual([...Array(4).fill('v1.endpoint.create'), 'v1.application.create']);
    expect(all.every((e) => e.appId === app.id)).toBe(true);
    const asc = await h().inject('GET', `/api/v1/audit-log?app_id=${app.id}&order=ascending&limit=1`);
    expect(asc.json.data[0].operationId).toBe('v1.application.create');
    expect((await h().inject('GET', '/api/v1/audit-log?limit=251')).status).toBe(422);
  });

  it('is for the operator only: portal tokens get 403, no token 401', async () => {
    const app = await createApp(h());
    const token = await portalToken(h(), app.id);
    const r = await h().inject('GET', '/api/v1/audit-log', { token });
    expect(r.status).toBe(403);
    expect(r.json.code).toBe('insufficient access');
    expect((await h().inject('GET', `/api/v1/audit-log?app_id=${app.id}`, { token })).status).toBe(403);
    expect((await h().inject('GET', '/api/v1/audit-log', { token: null })).status).toBe(401);
  });

  it('is documented in the OpenAPI document', async () => {
    const doc = (await h().inject('GET', '/api/v1/openapi.json', { token: null })).json;
    expect(doc.paths['/api/v1/audit-log'].get.operationId).toBe('v1.audit-log.list');
    expect(doc.components.schemas.AuditEntryOut.required).toContain('operationId');
  });
});
