// GET /api/v1/source-ips: what tenants allowlist. Readable with the operator token and with any
// portal token (view is enough); it publishes HERALD_PUBLISHED_SOURCE_IPS, by default the egress
// addresses; 404 when none are configured; documented in the OpenAPI document.
import { describe, expect, it } from 'vitest';
import { createApp, portalToken, unique } from './helpers/fixtures.js';
import { useInProcess } from './helpers/inproc.js';

describe('source IPs: the egress addresses by default', () => {
  const h = useInProcess({ env: { HERALD_EGRESS_ADDRESSES: '127.0.0.2,127.0.0.3' } });

  it('answers the operator', async () => {
    const r = await h().inject('GET', '/api/v1/source-ips');
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ addresses: ['127.0.0.2', '127.0.0.3'] });
  });

  it('answers any portal token, even a view-only one', async () => {
    const app = (await createApp(h(), { uid: unique('tenant') })).id;
    for (const permissions of [['view'], ['view', 'manage', 'secrets']]) {
      const token = await portalToken(h(), app, { permissions });
      const r = await h().inject('GET', '/api/v1/source-ips', { token });
      expect(r.status, permissions.join()).toBe(200);
      expect(r.json).toEqual({ addresses: ['127.0.0.2', '127.0.0.3'] });
    }
  });

  it('refuses no token and a bad one', async () => {
    expect((await h().inject('GET', '/api/v1/source-ips', { token: null })).status).toBe(401);
    expect((await h().inject('GET', '/api/v1/source-ips', { token: 'appsk_nope.nope' })).status).toBe(401);
  });

  it('is in the OpenAPI document', async () => {
    const doc = (await h().inject('GET', '/api/v1/openapi.json', { token: null })).json;
    expect(doc.paths['/api/v1/source-ips'].get.operationId).toBe('v1.source-ips.get');
    expect(doc.components.schemas.SourceIpsOut.required).toEqual(['addresses']);
  });
});

describe('source IPs: what receivers see behind a NAT or proxy', () => {
  const h = useInProcess({ env: { HERALD_EGRESS_ADDRESSES: '127.0.0.2', HERALD_PUBLISHED_SOURCE_IPS: '203.0.113.7,198.51.100.0/28' } });

  it('publishes HERALD_PUBLISHED_SOURCE_IPS instead of the local addresses', async () => {
    const r = await h().inject('GET', '/api/v1/source-ips');
    expect(r.json).toEqual({ addresses: ['203.0.113.7', '198.51.100.0/28'] });
  });
});

describe('source IPs: none configured', () => {
  const h = useInProcess();

  it('is a 404 that says so', async () => {
    const r = await h().inject('GET', '/api/v1/source-ips');
    expect(r.status).toBe(404);
    expect(r.json).toMatchObject({ code: 'not_found' });
    expect(r.json.detail).toMatch(/No fixed source addresses/);
  });
});
