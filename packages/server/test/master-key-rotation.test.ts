// `herald rotate-master-key` on both stores: every sealed value (endpoint signing secrets, custom
// headers, previous secrets, Engage tenant keys and detector state) is re-sealed under a new key
// while a running Herald keeps answering secret reads and taking writes; values are readable
// before, in the middle (some rows under each key) and after; and afterwards the old key is gone
// from the key file and not needed: a Herald restarted with the new key alone reads everything,
// and a store holding only the old key can open nothing. A Herald started with a key that opens
// none of the store's secrets refuses to start.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/index.js';
import { createHerald, openStore, type Herald } from '../src/herald.js';
import { keyFileOf, readKeyFile } from '../src/security/keyring.js';
import { rotateMasterKey } from '../src/security/rotate.js';
import { Sealer } from '../src/security/sealer.js';
import type { Store } from '../src/store/store.js';
import { idempotencyKey } from '../src/api/idempotency.js';
import { createTestDatabase, type TestDatabase } from './helpers/pg.js';
import { LOOPBACK_ALLOWLIST, OPERATOR_TOKEN } from './helpers/inproc.js';
import { rawRows, rawRun } from './helpers/rows.js';
import { runCli } from './helpers/cli.js';

const STORES = ['sqlite', 'postgres'] as const;

interface World {
  dir: string;
  db: TestDatabase | null;
  env(extra?: Record<string, string>): Record<string, string>;
}

async function world(kind: (typeof STORES)[number]): Promise<World> {
  const dir = mkdtempSync(join(tmpdir(), 'herald-rotate-'));
  const db = kind === 'postgres' ? await createTestDatabase() : null;
  return {
    dir,
    db,
    env: (extra = {}) => ({
      HERALD_DATA_DIR: dir,
      HERALD_API_TOKEN: OPERATOR_TOKEN,
      HERALD_SSRF_ALLOWLIST: LOOPBACK_ALLOWLIST,
      HERALD_LOG_LEVEL: 'silent',
      ...(db ? { HERALD_DATABASE_URL: db.url } : {}),
      ...extra,
    }),
  };
}

async function api(h: Herald, method: 'GET' | 'POST' | 'PUT', url: string, status: number, body?: unknown, token = OPERATOR_TOKEN): Promise<any> {
  const r = await h.api.inject({
    method,
    url,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    payload: body === undefined ? undefined : JSON.stringify(body),
  });
  if (r.statusCode !== status) throw new Error(`${method} ${url} answered ${r.statusCode} (wanted ${status}): ${r.body}`);
  return r.body ? JSON.parse(r.body) : undefined;
}

const whsec = () => `whsec_${randomBytes(24).toString('base64')}`;

interface Expected {
  app: string;
  endpoints: { id: string; secret: string; auth: string; clientSecret: string }[];
  engageKey: string;
}

/** An app with `n` endpoints (each a known secret, a sensitive header, a rotated-away secret), an Engage key and state. */
async function populate(h: Herald, n: number): Promise<Expected> {
  const uid = `rot-${randomBytes(4).toString('hex')}`;
  const app = (await api(h, 'POST', '/api/v1/app', 201, { name: uid, uid })).id;
  const endpoints: Expected['endpoints'] = [];
  for (let i = 0; i < n; i++) {
    const auth = `Bearer tok-${randomBytes(8).toString('hex')}`;
    const ep = await api(h, 'POST', `/api/v1/app/${app}/endpoint`, 201, { url: `http://127.0.0.1:9/${i}`, secret: whsec(), headers: { 'X-Api-Key': auth } });
    const secret = whsec();
    await api(h, 'POST', `/api/v1/app/${app}/endpoint/${ep.id}/secret/rotate`, 204, { key: secret });
    // Authentication to the endpoint: an OAuth client secret, sealed in its own column.
    const clientSecret = `cs-${randomBytes(8).toString('hex')}`;
    await api(h, 'PUT', `/api/v1/app/${app}/endpoint/${ep.id}/oauth`, 204, {
      grantType: 'clientCredentials',
      authMethod: 'clientSecretPost',
      clientId: 'rot',
      clientSecret,
      tokenUrl: 'http://127.0.0.1:9/token',
    });
    endpoints.push({ id: ep.id, secret, auth, clientSecret });
  }
  await api(h, 'PUT', `/api/v1/app/${uid}/engage/module`, 200, { enabled: true });
  const engageKey = (await api(h, 'PUT', `/api/v1/app/${uid}/engage/encryption-key`, 200, {})).key;
  await api(h, 'POST', `/api/v1/app/${uid}/engage/contact`, 202, { contactId: '00000000-0000-4000-8000-000000000001', attributes: { email: 'a@example.com' } });
  return { app, endpoints, engageKey };
}

/** Every secret reads back through the API as it was set. */
async function expectReadable(h: Herald, x: Expected): Promise<void> {
  for (const ep of x.endpoints) {
    expect((await api(h, 'GET', `/api/v1/app/${x.app}/endpoint/${ep.id}/secret`, 200)).key).toBe(ep.secret);
    const headers = await api(h, 'GET', `/api/v1/app/${x.app}/endpoint/${ep.id}/headers`, 200);
    expect(headers.sensitive).toEqual(['X-Api-Key']);
    expect((await api(h, 'GET', `/api/v1/app/${x.app}/endpoint/${ep.id}/oauth`, 200)).clientSecretSet).toBe(true);
  }
  // Engage state is unsealed on every producer call: the same contact again is "nothing changed".
  const again = await h.api.inject({
    method: 'POST',
    url: `/api/v1/app/${x.app}/engage/contact`,
    headers: { authorization: `Bearer ${OPERATOR_TOKEN}`, 'content-type': 'application/json' },
    payload: JSON.stringify({ contactId: '00000000-0000-4000-8000-000000000001', attributes: { email: 'a@example.com' } }),
  });
  expect(again.statusCode).toBe(200);
}

/** The store's own view of each value: the tenant key and every endpoint's secret and headers. */
async function expectStoreReadable(store: Store, x: Expected): Promise<void> {
  for (const ep of x.endpoints) {
    const e = await store.getEndpoint(x.app, ep.id);
    expect(e?.secret).toBe(ep.secret);
    expect(e?.headers).toEqual({ 'X-Api-Key': ep.auth });
    expect(e?.auth?.oauth?.clientSecret).toBe(ep.clientSecret);
    expect(e?.previousSecrets.length).toBe(1);
  }
  expect((await store.getEngageSettings(x.app)).encryptionKey).toBe(x.engageKey);
}

/** How many sealed values sit under each key id, straight from the tables. */
async function keyIds(store: Store): Promise<Record<string, number>> {
  const sqls = [
    'SELECT headers_sealed AS v FROM endpoint UNION ALL SELECT secret_sealed FROM endpoint UNION ALL SELECT previous_secrets_sealed FROM endpoint',
    'SELECT key_sealed AS v FROM engage_tenant WHERE key_sealed IS NOT NULL',
    'SELECT state_sealed AS v FROM engage_state WHERE state_sealed IS NOT NULL',
    // A message create's answer names its message and holds no body: nothing to seal.
    "SELECT body AS v FROM idempotency WHERE body <> ''",
    'SELECT auth_sealed AS v FROM endpoint WHERE auth_sealed IS NOT NULL',
  ];
  const out: Record<string, number> = {};
  for (const sql of sqls) {
    const rows = await rawRows<{ v: string }>(store, sql);
    for (const r of rows) {
      const id = /^sealed:v1:([0-9a-f]{8}):/.exec(r.v)?.[1] ?? 'unsealed';
      out[id] = (out[id] ?? 0) + 1;
    }
  }
  return out;
}

/** The raw body column of the stored answers that name a message, straight from the table. */
async function rawMessageRefBodies(store: Store): Promise<string[]> {
  const sql = 'SELECT body AS v FROM idempotency WHERE msg_id IS NOT NULL';
  const rows = await rawRows<{ v: string }>(store, sql);
  return rows.map((r) => r.v);
}

describe.each(STORES)('rotate-master-key with the key file (%s)', (kind) => {
  let w: World;
  let running: Herald | undefined;
  afterEach(async () => {
    await running?.close();
    running = undefined;
    await w.db?.drop();
    rmSync(w.dir, { recursive: true, force: true });
  });

  it('re-seals everything while a running Herald keeps reading and writing secrets; the old key is then not needed', async () => {
    w = await world(kind);
    const config = loadConfig(w.env());
    running = await createHerald(config, { dispatch: false });
    const x = await populate(running, 12);
    const oldRing = readKeyFile(keyFileOf(config));
    const oldId = Sealer.idOf(oldRing.current);
    const newKey = randomBytes(32);
    const newId = Sealer.idOf(newKey);
    await expectReadable(running, x);
    // A stored idempotent answer carrying a secret (a portal token) is sealed too, and re-sealed.
    const idem = `idem-${randomBytes(6).toString('hex')}`;
    const portalReq = {
      method: 'POST' as const,
      url: `/api/v1/auth/app-portal-access/${x.app}`,
      headers: { authorization: `Bearer ${OPERATOR_TOKEN}`, 'content-type': 'application/json', 'idempotency-key': idem },
      payload: '{}',
    };
    const portal = JSON.parse((await running.api.inject(portalReq)).body).token;
    // A stored message answer has no body to seal: the sweep leaves it as it is.
    const msgReq = { ...portalReq, url: `/api/v1/app/${x.app}/msg`, payload: JSON.stringify({ eventType: 'rotation.probe', payload: { n: 1 } }) };
    const msg = (await running.api.inject(msgReq)).body;
    const stored = async () => (await running!.store.getIdempotentResponse(idempotencyKey(`Bearer ${OPERATOR_TOKEN}`, idem, 'POST', msgReq.url), 0))!;
    expect(await stored()).toMatchObject({ body: '', msgId: JSON.parse(msg).id });
    expect(await rawMessageRefBodies(running.store)).toEqual(['']);
    const before = await keyIds(running.store);
    expect(Object.keys(before)).toEqual([oldId]);

    let batches = 0;
    let sawMixed = false;
    let written: Expected['endpoints'][number] | undefined;
    const report = await rotateMasterKey(config, {
      openStore: (sealer) => openStore(config, sealer, true),
      batchSize: 5,
      graceMs: 1100,
      newKey,
      onBatch: async (r) => {
        batches++;
        if (batches !== 1 || r.found === 0) return;
        // In the middle: rows under both keys, and the running Herald reads all of them...
        const mid = await keyIds(running!.store);
        sawMixed = (mid[oldId] ?? 0) > 0 && (mid[newId] ?? 0) > 0;
        await expectReadable(running!, x);
        // ...takes writes (sealed under the new key: it picked up the new key file)...
        const secret = whsec();
        const auth = `Bearer mid-${randomBytes(6).toString('hex')}`;
        const ep = await api(running!, 'POST', `/api/v1/app/${x.app}/endpoint`, 201, { url: 'http://127.0.0.1:9/mid', secret, headers: { 'X-Api-Key': auth } });
        await api(running!, 'POST', `/api/v1/app/${x.app}/endpoint/${ep.id}/secret/rotate`, 204, { key: whsec() });
        const clientSecret = `cs-mid-${randomBytes(6).toString('hex')}`;
        await api(running!, 'PUT', `/api/v1/app/${x.app}/endpoint/${ep.id}/oauth`, 204, {
          grantType: 'clientCredentials',
          authMethod: 'clientSecretPost',
          clientId: 'rot',
          clientSecret,
          tokenUrl: 'http://127.0.0.1:9/token',
        });
        written = { id: ep.id, secret: (await api(running!, 'GET', `/api/v1/app/${x.app}/endpoint/${ep.id}/secret`, 200)).key, auth, clientSecret };
        // ...and still accepts a portal token signed before the rotation.
        await api(running!, 'GET', `/api/v1/app/${x.app}/endpoint`, 200, undefined, portal);
      },
    });
    expect(batches).toBeGreaterThan(2);
    expect(sawMixed).toBe(true);
    expect(report).toMatchObject({ mode: 'key-file', keyId: newId, previousKeyIds: [] });
    expect(report.resealed).toBeGreaterThanOrEqual(12 + 2); // rows: 12 endpoints, the tenant key, the contact state
    x.endpoints.push(written!);

    // After: every value under the new key, the key file holds the new key alone.
    expect(Object.keys(await keyIds(running.store))).toEqual([newId]);
    expect(readFileSync(keyFileOf(config), 'utf8').trim()).toBe(newKey.toString('hex'));
    await expectReadable(running, x);

    // The old key is not needed: a restart with the key file alone reads everything...
    await running.close();
    running = await createHerald(config, { dispatch: false });
    await expectReadable(running, x);
    await expectStoreReadable(running.store, x);
    const replay = await running.api.inject(portalReq);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(JSON.parse(replay.body).token).toBe(portal);
    // The sweep left the row as it was: still no body, not a sealed empty string.
    expect(await stored()).toMatchObject({ body: '', msgId: JSON.parse(msg).id });
    expect(await rawMessageRefBodies(running.store)).toEqual(['']);
    const msgReplay = await running.api.inject(msgReq);
    expect(msgReplay.headers['idempotent-replayed']).toBe('true');
    expect(msgReplay.body).toBe(msg);
    // ...and the old key alone opens nothing any more.
    const oldOnly = await openStore(config, new Sealer(oldRing.current), true);
    try {
      await expect(oldOnly.getEndpoint(x.app, x.endpoints[0]!.id)).rejects.toThrow(/unknown master key/);
    } finally {
      await oldOnly.close();
    }
  }, 60_000);
});

describe('rotate-master-key --keep-previous', () => {
  let w: World;
  afterEach(async () => {
    await w.db?.drop();
    rmSync(w.dir, { recursive: true, force: true });
  });

  it('re-seals everything but leaves the old key in the key file, after the new one', async () => {
    w = await world('sqlite');
    const config = loadConfig(w.env());
    const h = await createHerald(config, { dispatch: false });
    const x = await populate(h, 2);
    await h.close();
    const old = readKeyFile(keyFileOf(config)).current;
    const report = await rotateMasterKey(config, { openStore: (s) => openStore(config, s, true), keepPrevious: true, graceMs: 0 });
    expect(report.previousKeyIds).toEqual([Sealer.idOf(old)]);
    const ring = readKeyFile(keyFileOf(config));
    expect(Sealer.idOf(ring.current)).toBe(report.keyId);
    expect(ring.previous.map((k) => k.toString('hex'))).toEqual([old.toString('hex')]);
    const again = await createHerald(config, { dispatch: false });
    try {
      expect(Object.keys(await keyIds(again.store))).toEqual([report.keyId]);
      await expectReadable(again, x);
    } finally {
      await again.close();
    }
  });
});

describe.each(STORES)('HERALD_MASTER_KEY and HERALD_MASTER_KEY_PREVIOUS: rotating, and starting with the wrong key (%s)', (kind) => {
  let w: World;
  let running: Herald | undefined;
  afterEach(async () => {
    await running?.close();
    running = undefined;
    await w.db?.drop();
    rmSync(w.dir, { recursive: true, force: true });
  });

  it('reads both keys during the roll-out, re-seals under the new one, and then needs only it', async () => {
    w = await world(kind);
    const a = randomBytes(32).toString('hex');
    const b = randomBytes(32).toString('hex');
    running = await createHerald(loadConfig(w.env({ HERALD_MASTER_KEY: a })), { dispatch: false });
    const x = await populate(running, 4);
    await running.close();

    // Step 1 of the roll-out: the new key seals, the old one still opens.
    const config = loadConfig(w.env({ HERALD_MASTER_KEY: b, HERALD_MASTER_KEY_PREVIOUS: a }));
    running = await createHerald(config, { dispatch: false });
    await expectReadable(running, x);
    const extra = await populate(running, 2);
    const mixed = await keyIds(running.store);
    expect(Object.keys(mixed).sort()).toEqual([Sealer.idOf(Buffer.from(a, 'hex')), Sealer.idOf(Buffer.from(b, 'hex'))].sort());

    // An answer stored before answers were sealed (plaintext) still replays, and the sweep seals it.
    const idem = {
      method: 'POST' as const,
      url: `/api/v1/auth/app-portal-access/${x.app}`,
      headers: { authorization: `Bearer ${OPERATOR_TOKEN}`, 'content-type': 'application/json', 'idempotency-key': 'legacy-1' },
      payload: '{}',
    };
    expect((await running.api.inject(idem)).statusCode).toBe(200);
    const legacy = '{"url":"http://legacy.example/portal","token":"appsk_legacy"}';
    await rawRun(running.store, 'UPDATE idempotency SET body = ?', [legacy]);
    expect((await running.api.inject(idem)).body).toBe(legacy);
    expect((await keyIds(running.store)).unsealed).toBe(1);

    // Step 2: re-seal, with the API still serving.
    const report = await rotateMasterKey(config, { openStore: (s) => openStore(config, s, true), batchSize: 3 });
    expect(report).toMatchObject({ mode: 'environment', keyId: Sealer.idOf(Buffer.from(b, 'hex')) });
    await expectReadable(running, x);
    await running.close();

    // Step 3: HERALD_MASTER_KEY_PREVIOUS removed; everything still reads.
    running = await createHerald(loadConfig(w.env({ HERALD_MASTER_KEY: b })), { dispatch: false });
    expect(Object.keys(await keyIds(running.store))).toEqual([Sealer.idOf(Buffer.from(b, 'hex'))]);
    await expectReadable(running, x);
    await expectReadable(running, extra);
    expect((await running.api.inject(idem)).body).toBe(legacy);
  }, 60_000);

  it('refuses, naming the key, when a value is sealed under a key it was not given', async () => {
    w = await world(kind);
    const a = randomBytes(32).toString('hex');
    running = await createHerald(loadConfig(w.env({ HERALD_MASTER_KEY: a })), { dispatch: false });
    await populate(running, 1);
    await running.close();
    running = undefined;
    const config = loadConfig(w.env({ HERALD_MASTER_KEY: randomBytes(32).toString('hex') }));
    await expect(rotateMasterKey(config, { openStore: (s) => openStore(config, s, true) })).rejects.toThrow(
      new RegExp(`unknown master key \\(${Sealer.idOf(Buffer.from(a, 'hex'))}\\)`),
    );
  });

  it('refuses to start, naming both key ids, when the key opens none of the endpoint secrets; the right key, or it as the previous one, starts', async () => {
    w = await world(kind);
    const a = randomBytes(32).toString('hex');
    const b = randomBytes(32).toString('hex');
    // Any key starts on a store with no secrets yet.
    running = await createHerald(loadConfig(w.env({ HERALD_MASTER_KEY: b })), { dispatch: false });
    await running.close();
    running = await createHerald(loadConfig(w.env({ HERALD_MASTER_KEY: a })), { dispatch: false });
    const x = await populate(running, 1);
    await running.close();
    running = undefined;

    const wrong = { HERALD_MASTER_KEY: b };
    await expect(createHerald(loadConfig(w.env(wrong)), { dispatch: false })).rejects.toThrow(
      new RegExp(
        `key id ${Sealer.idOf(Buffer.from(b, 'hex'))}\\) opens none of the \\d+ endpoint secrets .* sealed under key id ${Sealer.idOf(Buffer.from(a, 'hex'))}\\.`,
      ),
    );
    // A worker process says so and exits, instead of claiming deliveries it cannot read.
    const cli = await runCli(['worker'], w.env(wrong));
    expect(cli.code).toBe(1);
    expect(cli.stderr).toContain('opens none of the');
    expect(cli.stdout).not.toContain('dispatching');

    // The right key starts; so does a new key with the old one listed as previous (mid-rotation).
    running = await createHerald(loadConfig(w.env({ HERALD_MASTER_KEY: a })), { dispatch: false });
    await expectReadable(running, x);
    await running.close();
    running = await createHerald(loadConfig(w.env({ HERALD_MASTER_KEY: b, HERALD_MASTER_KEY_PREVIOUS: a })), { dispatch: false });
    await expectReadable(running, x);
  });
});
