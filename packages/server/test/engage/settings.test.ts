// Engage tenant settings (module switch, encryption key), the catalog install (route and CLI),
// the OpenAPI document, send-example on an encrypted tenant, and the store's one-commit guarantees
// (module re-checked and state compare-and-set inside the commit).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ENGAGE_CATALOG, decryptEnvelope, engageExample, generateEncryptionKey, parseEnvelope } from '@herald/engage';
import { describe, expect, it } from 'vitest';
import { StaleStateError } from '../../src/store/store.js';
import { spawnCli } from '../helpers/cli.js';
import { count, createEndpoint, portalToken } from '../helpers/fixtures.js';
import { Clock, useInProcess } from '../helpers/inproc.js';
import { call, emit, guid, tenant } from './helpers.js';
import { rawRow, rawRows } from '../helpers/rows.js';

describe('engage settings: the encryption key', () => {
  const clock = new Clock();
  const h = useInProcess({ now: clock.now });

  it('is set by the operator, shown once, never again, sealed at rest', async () => {
    const t = await tenant(h());
    const key = generateEncryptionKey();
    const set = await call(h(), 'PUT', `/api/v1/app/${t.uid}/engage/encryption-key`, 200, { body: { key } });
    expect(set.json).toEqual({ key, keySetAt: new Date(clock.t).toISOString() });
    const got = await call(h(), 'GET', `/api/v1/app/${t.uid}/engage`, 200);
    expect(got.json).toEqual({ moduleEnabled: true, encryptionEnabled: true, keySetAt: new Date(clock.t).toISOString() });
    expect(got.text).not.toContain(key);
    const row = (await rawRow<{ key_sealed: string }>(h(), 'SELECT key_sealed FROM engage_tenant WHERE app_id = ?', [t.id]))!;
    expect(row.key_sealed.startsWith('sealed:v1:')).toBe(true);
    expect(row.key_sealed).not.toContain(key);
  });

  it('is generated when none is given, rotated by setting another, cleared by DELETE', async () => {
    const t = await tenant(h());
    const a = (await call(h(), 'PUT', `/api/v1/app/${t.uid}/engage/encryption-key`, 200)).json.key;
    expect(a).toMatch(/^[a-zA-Z0-9]{32}$/);
    clock.advance(1000);
    const b = (await call(h(), 'PUT', `/api/v1/app/${t.uid}/engage/encryption-key`, 200, { body: { key: null } })).json;
    expect(b.key).not.toBe(a);
    expect((await h().herald.store.getEngageSettings(t.id)).encryptionKey).toBe(b.key);
    await call(h(), 'DELETE', `/api/v1/app/${t.uid}/engage/encryption-key`, 204);
    expect((await call(h(), 'GET', `/api/v1/app/${t.uid}/engage`, 200)).json).toMatchObject({ encryptionEnabled: false, keySetAt: null });
  });

  it('refuses a key that is not 32 alphanumeric characters (422 naming body.key), storing nothing', async () => {
    const t = await tenant(h());
    for (const key of ['short', 'DaqfT7Ys6tGqM3zbesEKpmacTJEqBCp2x', 'DaqfT7Ys6tGqM3zbesEKpmacTJEqBC-2', 42]) {
      const r = await h().inject('PUT', `/api/v1/app/${t.uid}/engage/encryption-key`, { body: { key } });
      expect(r.status, String(key)).toBe(422);
      expect(r.json.detail[0].loc).toEqual(['body', 'key']);
    }
    expect((await h().herald.store.getEngageSettings(t.id)).encryptionKey).toBeNull();
  });

  it('portal tokens: `secrets` may set and clear it; `view`/`manage` may not; another tenant never', async () => {
    const t = await tenant(h());
    const other = await tenant(h());
    const secrets = await portalToken(h(), t.uid, { permissions: ['secrets'] });
    const manage = await portalToken(h(), t.uid, { permissions: ['view', 'manage'] });
    expect((await h().inject('PUT', `/api/v1/app/${t.uid}/engage/encryption-key`, { token: manage })).status).toBe(403);
    expect((await h().inject('PUT', `/api/v1/app/${t.uid}/engage/encryption-key`, { token: secrets })).status).toBe(200);
    expect((await h().inject('DELETE', `/api/v1/app/${t.uid}/engage/encryption-key`, { token: secrets })).status).toBe(204);
    expect((await h().inject('PUT', `/api/v1/app/${other.uid}/engage/encryption-key`, { token: secrets })).status).toBe(403);
    expect((await h().herald.store.getEngageSettings(other.id)).encryptionKey).toBeNull();
  });

  it('send-example of an Engage event type on an encrypted tenant sends the encrypted envelope', async () => {
    await call(h(), 'POST', '/api/v1/engage/catalog/install', 200);
    const key = generateEncryptionKey();
    const t = await tenant(h(), { key });
    const ep = (await createEndpoint(h(), t.uid)).id;
    const r = await call(h(), 'POST', `/api/v1/app/${t.uid}/endpoint/${ep}/send-example`, 200, { body: { eventType: 'reward.voucher.created' } });
    const env = parseEnvelope(r.json.payload);
    expect(env).toMatchObject({ eventType: 'reward.voucher.created', isEncrypted: true, tenant: t.uid });
    expect(typeof env.payload).toBe('string');
    expect(decryptEnvelope(env, key).payload).toEqual(engageExample('reward.voucher.created').payload);
    // Without a key: the plaintext example, addressed to this tenant.
    const plain = await tenant(h());
    const ep2 = (await createEndpoint(h(), plain.uid)).id;
    const p = await call(h(), 'POST', `/api/v1/app/${plain.uid}/endpoint/${ep2}/send-example`, 200, { body: { eventType: 'contact.created' } });
    expect(p.json.payload).toMatchObject({
      eventType: 'contact.created',
      isEncrypted: false,
      tenant: plain.uid,
      payload: engageExample('contact.created').payload,
    });
  });
});

describe('engage catalog install', () => {
  const clock = new Clock();
  const h = useInProcess({ now: clock.now });

  it('creates the 11 event types, then changes nothing; an edited or archived one is brought back', async () => {
    const first = await call(h(), 'POST', '/api/v1/engage/catalog/install', 200);
    expect(first.json).toMatchObject({ created: 11, updated: 0, unchanged: 0 });
    expect(first.json.eventTypes.created).toEqual(ENGAGE_CATALOG.map((e) => e.name));
    const eventTypes = () => rawRows(h(), 'SELECT * FROM event_type ORDER BY name');
    const before = await eventTypes();
    clock.advance(60_000);
    const second = await call(h(), 'POST', '/api/v1/engage/catalog/install', 200);
    expect(second.json).toMatchObject({ created: 0, updated: 0, unchanged: 11 });
    expect(await eventTypes()).toEqual(before);

    await call(h(), 'PUT', '/api/v1/event-type/contact.created', 200, { body: { description: 'edited' } });
    await call(h(), 'DELETE', '/api/v1/event-type/loyalty.addPoints', 204);
    const third = await call(h(), 'POST', '/api/v1/engage/catalog/install', 200);
    expect(third.json).toMatchObject({ created: 0, updated: 2, unchanged: 9 });
    const et = (await call(h(), 'GET', '/api/v1/event-type/contact.created', 200)).json;
    const entry = ENGAGE_CATALOG.find((e) => e.name === 'contact.created')!;
    expect(et).toMatchObject({ description: entry.description, archived: false, groupName: 'contact' });
    expect((await call(h(), 'GET', '/api/v1/event-type/loyalty.addPoints', 200)).json.archived).toBe(false);
    expect(et.schemas['1'].examples[0]).toEqual(engageExample('contact.created'));
  });

  it('`herald install-engage-catalog` does the same from the command line, idempotently', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'herald-engage-cli-'));
    try {
      const env = { HERALD_DATA_DIR: dir, HERALD_API_TOKEN: 'cli_token_0123456789abcdef' };
      const a = spawnCli(['install-engage-catalog'], env);
      expect((await a.exited).code).toBe(0);
      expect(a.stdout()).toContain('Engage catalog: 11 created, 0 updated, 0 unchanged');
      const b = spawnCli(['install-engage-catalog'], env);
      expect((await b.exited).code).toBe(0);
      expect(b.stdout()).toContain('Engage catalog: 0 created, 0 updated, 11 unchanged');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the OpenAPI document describes every Engage operation with its schemas', async () => {
    const doc = (await call(h(), 'GET', '/api/v1/openapi.json', 200, { token: null })).json;
    const ops: [string, string, string][] = [
      ['post', '/api/v1/engage/catalog/install', 'v1.engage.catalog.install'],
      ['get', '/api/v1/app/{app_id}/engage', 'v1.engage.settings.get'],
      ['put', '/api/v1/app/{app_id}/engage/module', 'v1.engage.module.set'],
      ['put', '/api/v1/app/{app_id}/engage/encryption-key', 'v1.engage.encryption-key.set'],
      ['delete', '/api/v1/app/{app_id}/engage/encryption-key', 'v1.engage.encryption-key.delete'],
      ['post', '/api/v1/app/{app_id}/engage/contact', 'v1.engage.contact.upsert'],
      ['delete', '/api/v1/app/{app_id}/engage/contact/{contact_id}', 'v1.engage.contact.delete'],
      ['post', '/api/v1/app/{app_id}/engage/point-transaction', 'v1.engage.point-transaction.create'],
      ['post', '/api/v1/app/{app_id}/engage/point-balance', 'v1.engage.point-balance.set'],
      ['post', '/api/v1/app/{app_id}/engage/reward-voucher', 'v1.engage.reward-voucher.create'],
      ['post', '/api/v1/app/{app_id}/engage/promotion-assignment', 'v1.engage.promotion-assignment.create'],
    ];
    for (const [method, path, id] of ops) expect(doc.paths[path]?.[method]?.operationId, path).toBe(id);
    const s = doc.components.schemas;
    expect(s.EngageContactIn.required).toEqual(['contactId']);
    expect(s.EngageContactIn.$schema).toBeUndefined();
    expect(s.EngageContactIn.properties.contactType).toMatchObject({ type: 'string', nullable: true });
    expect(s.EngageRewardVoucherIn.properties.currency.pattern).toBe('^[A-Z]{3}$');
    expect(doc.paths['/api/v1/app/{app_id}/engage/contact'].post.responses['202'].content['application/json'].schema.$ref).toBe(
      '#/components/schemas/EngageEmitOut',
    );
  });
});

describe('engage store: one commit, re-checked', () => {
  const h = useInProcess();

  it('a stale state version or a module switched off inside the commit writes nothing at all', async () => {
    const t = await tenant(h());
    await emit(h(), t.uid, 'contact', { contactId: guid(1) }, { status: 202 });
    const rec = await h().herald.store.getEngageState(t.id, 'contact', guid(1));
    expect(rec.version).toBe(1);
    const msg = (id: string) => ({
      id: h().herald.deps.ids.next('message', Date.now()),
      appId: t.id,
      eventId: id,
      eventType: 'contact.updated',
      channels: null,
      payload: '{}',
      expiresAt: Date.now() + 1e6,
      createdAt: Date.now(),
    });
    const before = await count(h(), 'message', 'app_id = ?', t.id);
    await expect(
      h().herald.store.createMessages([msg('stale-1')], {
        engage: { appId: t.id, state: { kind: 'contact', key: guid(1), expectedVersion: 0, state: { x: 1 }, now: 1 } },
      }),
    ).rejects.toBeInstanceOf(StaleStateError);
    await h().herald.store.setEngageModule(t.id, false, Date.now());
    await expect(
      h().herald.store.createMessages([msg('off-1')], {
        engage: { appId: t.id, state: { kind: 'contact', key: guid(1), expectedVersion: 1, state: { x: 1 }, now: 1 } },
      }),
    ).rejects.toMatchObject({ kind: 'precondition', code: 'module_disabled' });
    expect(await count(h(), 'message', 'app_id = ?', t.id)).toBe(before);
    expect((await h().herald.store.getEngageState(t.id, 'contact', guid(1))).version).toBe(1);
  });
});
