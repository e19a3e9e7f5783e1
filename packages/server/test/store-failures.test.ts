// When the store cannot take writes, Herald says so: a full SQLite database (made full for real
// with PRAGMA max_page_count, so SQLite itself answers SQLITE_FULL) is a 507 insufficient_storage,
// a PostgreSQL outage (a private cluster, stopped for real) a 503 store_unavailable with
// Retry-After. /api/v1/health stays a liveness check; /api/v1/health/ready tells load balancers
// the truth; herald_store_errors_total counts what happened. No mocks.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/index.js';
import { createHerald, type Herald } from '../src/herald.js';
import { classifyPgError } from '../src/store/postgres/driver-errors.js';
import { classifySqliteError } from '../src/store/sqlite/driver-errors.js';
import { Clock, isHttpErrorBody, OPERATOR_TOKEN, startInProcess, type InProcess } from './helpers/inproc.js';
import { startPrivateCluster, type PrivateCluster } from './helpers/private-pg.js';

async function storeErrorCount(inject: (m: 'GET', u: string) => Promise<{ text: string }>, kind: string): Promise<number> {
  const text = (await inject('GET', '/metrics')).text;
  const line = text.split('\n').find((l) => l.startsWith('herald_store_errors_total{') && l.includes(`kind="${kind}"`));
  return line ? Number(line.split(' ').pop()) : 0;
}

describe('SQLite: a full database answers 507, and readiness says so', () => {
  const clock = new Clock();
  let h: InProcess;
  let app: string;
  beforeAll(async () => {
    h = await startInProcess({ now: clock.now });
    app = (await h.inject('POST', '/api/v1/app', { body: { name: 'full', uid: 'full' } })).json.id;
  });
  afterAll(async () => {
    await h?.close();
  });

  it('fills up for real, then answers 507 insufficient_storage with a detail an operator can act on', async () => {
    expect((await h.inject('GET', '/api/v1/health/ready', { token: null })).status).toBe(200);
    const db = h.store.db;
    // The database may not grow past the pages it has now: the next writes that need a page fail.
    db.pragma(`max_page_count = ${db.pragma('page_count', { simple: true }) as number}`);
    const payload = { blob: 'x'.repeat(16 * 1024) };
    let answer: { status: number; json: any; headers: Record<string, unknown> } | undefined;
    for (let i = 0; i < 200; i++) {
      const r = await h.inject('POST', `/api/v1/app/${app}/msg`, { body: { eventType: 'fill', payload } });
      if (r.status !== 202) {
        answer = r;
        break;
      }
    }
    expect(answer?.status).toBe(507);
    expect(answer!.json.code).toBe('insufficient_storage');
    expect(answer!.json.detail).toMatch(/disk .*full|Free space/i);
    // It stays so while the disk is full; reads still work.
    const again = await h.inject('POST', `/api/v1/app/${app}/msg`, { body: { eventType: 'fill', payload } });
    expect([again.status, again.json.code]).toEqual([507, 'insufficient_storage']);
    expect((await h.inject('GET', `/api/v1/app/${app}`)).status).toBe(200);

    // Liveness is untouched; readiness reports the full store; the counter moved.
    expect((await h.inject('GET', '/api/v1/health', { token: null })).status).toBe(204);
    const ready = await h.inject('GET', '/api/v1/health/ready', { token: null });
    expect(ready.status).toBe(503);
    expect(isHttpErrorBody(ready.json)).toBe(true);
    expect(ready.json.code).toBe('insufficient_storage');
    expect(ready.headers['retry-after']).toBeDefined();
    expect(await storeErrorCount(h.inject, 'full')).toBeGreaterThanOrEqual(2);

    // Room again: once the failure is older than the readiness memory, ready and writes are back.
    db.pragma('max_page_count = 1073741823');
    clock.advance(11_000);
    expect((await h.inject('GET', '/api/v1/health/ready', { token: null })).status).toBe(200);
    expect((await h.inject('POST', `/api/v1/app/${app}/msg`, { body: { eventType: 'fill', payload } })).status).toBe(202);
  });

  it('readiness reports a database at its page limit before any write fails', async () => {
    const db = h.store.db;
    // Use up the free pages, then pin the limit: the probe sees no room left.
    db.exec('VACUUM');
    db.pragma(`max_page_count = ${db.pragma('page_count', { simple: true }) as number}`);
    clock.advance(11_000);
    const ready = await h.inject('GET', '/api/v1/health/ready', { token: null });
    expect([ready.status, ready.json.code]).toEqual([503, 'insufficient_storage']);
    expect(ready.json.detail).toMatch(/max_page_count/);
    db.pragma('max_page_count = 1073741823');
    expect((await h.inject('GET', '/api/v1/health/ready', { token: null })).status).toBe(200);
  });
});

describe('PostgreSQL: an outage answers 503 store_unavailable with Retry-After', () => {
  let cluster: PrivateCluster;
  let herald: Herald;
  let dataDir: string;
  const inject = async (method: 'GET' | 'POST', url: string, body?: unknown) => {
    const r = await herald.api.inject({
      method,
      url,
      headers: { authorization: `Bearer ${OPERATOR_TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      payload: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = r.body && String(r.headers['content-type']).includes('json') ? (JSON.parse(r.body) as any) : undefined;
    return { status: r.statusCode, json, text: r.body, headers: r.headers };
  };
  beforeAll(async () => {
    cluster = await startPrivateCluster();
    dataDir = mkdtempSync(join(tmpdir(), 'herald-outage-'));
    herald = await createHerald(loadConfig({ HERALD_DATA_DIR: dataDir, HERALD_API_TOKEN: OPERATOR_TOKEN, HERALD_DATABASE_URL: cluster.url }), {
      dispatch: false,
    });
  }, 120_000);
  afterAll(async () => {
    await herald?.close().catch(() => undefined);
    cluster?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('writes and reads answer 503 during the outage, readiness says why, and all comes back after', async () => {
    expect((await inject('POST', '/api/v1/app', { name: 'before', uid: 'before' })).status).toBe(201);
    expect((await inject('GET', '/api/v1/health/ready')).status).toBe(200);
    await cluster.halt();
    for (const [method, url, body] of [
      ['POST', '/api/v1/app', { name: 'during' }],
      ['POST', '/api/v1/app/before/msg', { eventType: 'e', payload: {} }],
      ['GET', '/api/v1/app', undefined],
    ] as const) {
      const r = await inject(method, url, body);
      expect(r.status, `${method} ${url}: ${r.text}`).toBe(503);
      expect(r.json.code).toBe('store_unavailable');
      expect(r.json.detail).toMatch(/database is unavailable/i);
      expect(Number(r.headers['retry-after'])).toBeGreaterThan(0);
    }
    expect((await inject('GET', '/api/v1/health')).status).toBe(204);
    const ready = await inject('GET', '/api/v1/health/ready');
    expect([ready.status, ready.json.code]).toEqual([503, 'store_unavailable']);
    expect(ready.headers['retry-after']).toBeDefined();
    expect(await storeErrorCount(inject, 'unavailable')).toBeGreaterThanOrEqual(3);

    await cluster.resume();
    // The pool reconnects on its own; no restart of Herald.
    await expect.poll(async () => (await inject('POST', '/api/v1/app', { name: 'after' })).status, { timeout: 30_000 }).toBe(201);
  }, 120_000);
});

describe('driver error classification', () => {
  it('SQLite: full, I/O, busy, cannot open, read-only; anything else is left alone', () => {
    expect(classifySqliteError(Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' }))?.kind).toBe('full');
    expect(classifySqliteError(Object.assign(new Error('x'), { code: 'SQLITE_IOERR_WRITE' }))?.kind).toBe('unavailable');
    expect(classifySqliteError(Object.assign(new Error('x'), { code: 'SQLITE_BUSY' }))?.kind).toBe('unavailable');
    expect(classifySqliteError(Object.assign(new Error('x'), { code: 'SQLITE_CANTOPEN' }))?.kind).toBe('unavailable');
    expect(classifySqliteError(Object.assign(new Error('x'), { code: 'SQLITE_READONLY' }))?.kind).toBe('unavailable');
    expect(classifySqliteError(new Error('wrapped', { cause: Object.assign(new Error('x'), { code: 'ENOSPC' }) }))?.kind).toBe('full');
    expect(classifySqliteError(Object.assign(new Error('x'), { code: 'SQLITE_CONSTRAINT_UNIQUE' }))).toBeNull();
    expect(classifySqliteError(new TypeError('bug'))).toBeNull();
  });
  it('PostgreSQL: SQLSTATE classes, connection failures; anything else is left alone', () => {
    expect(classifyPgError(Object.assign(new Error('could not extend file'), { code: '53100' }))?.kind).toBe('full');
    for (const code of ['57P01', '57P02', '57P03', '08006', '08001', '53300', '53200']) {
      expect(classifyPgError(Object.assign(new Error('x'), { code }))?.kind, code).toBe('unavailable');
    }
    expect(classifyPgError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))?.kind).toBe('unavailable');
    expect(classifyPgError(new AggregateError([Object.assign(new Error('a'), { code: 'ECONNREFUSED' })], 'x'))?.kind).toBe('unavailable');
    expect(classifyPgError(new Error('Connection terminated unexpectedly'))?.kind).toBe('unavailable');
    expect(classifyPgError(new Error('timeout exceeded when trying to connect'))?.kind).toBe('unavailable');
    expect(classifyPgError(Object.assign(new Error('dup'), { code: '23505' }))).toBeNull();
    expect(classifyPgError(new TypeError('bug'))).toBeNull();
  });
});

describe('a PostgreSQL that hangs instead of refusing', () => {
  it('opening the store fails as store_unavailable instead of waiting forever', async () => {
    const { createServer } = await import('node:net');
    const { PgStore } = await import('../src/store/postgres/pg-store.js');
    const { Sealer } = await import('../src/security/sealer.js');
    const { randomBytes } = await import('node:crypto');
    // Accepts the TCP connection and never says a word: the startup message is never answered.
    const held = new Set<import('node:net').Socket>();
    const server = createServer((s) => held.add(s));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as import('node:net').AddressInfo).port;
    try {
      const err = await PgStore.open({ url: `postgres://postgres@127.0.0.1:${port}/herald`, sealer: new Sealer(randomBytes(32)) }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).not.toBeNull();
      expect(classifyPgError(err)?.kind).toBe('unavailable');
    } finally {
      for (const s of held) s.destroy();
      server.close();
    }
  }, 30_000);
});
