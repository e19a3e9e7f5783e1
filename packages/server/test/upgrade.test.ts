// Upgrades: the current Herald started on a database an older Herald left behind. For every older
// schema version N of each store, a database gets only migrations 1..N plus rows written as that
// version wrote them (an application, an endpoint with a sealed secret, a message); the current
// code then applies every later migration and the rows read back unchanged through the API.
// One case goes through the built CLI (`herald serve` on the old folder) end to end.
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/index.js';
import { createHerald } from '../src/herald.js';
import { Sealer } from '../src/security/sealer.js';
import { loadMigrations } from '../src/store/migrate.js';
import { assertBuilt, call, serve } from './helpers/cli.js';
import { createTestDatabase, type TestDatabase } from './helpers/pg.js';

const TOKEN = 'upgrade_operator_token_012345';
const root = mkdtempSync(join(tmpdir(), 'herald-upgrade-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const key = randomBytes(32);
const sealer = new Sealer(key);
const SECRET = `whsec_${randomBytes(24).toString('base64')}`;
const now = Date.now();
const PAYLOAD = '{"order":42,"note":"written before the upgrade"}';
/** The rows an older Herald wrote: columns that exist from migration 001 on, in both dialects. */
const ROWS: [string, string[], unknown[]][] = [
  ['application', ['id', 'uid', 'name', 'metadata', 'created_at', 'updated_at'], ['app_2legacyAAAAAAAAAAAAAAAAAAAAAA', 'legacy', 'Legacy', '{}', now, now]],
  [
    'endpoint',
    ['id', 'app_id', 'uid', 'url', 'metadata', 'headers_sealed', 'secret_sealed', 'previous_secrets_sealed', 'created_at', 'updated_at'],
    [
      'ep_2legacyAAAAAAAAAAAAAAAAAAAAAAA',
      'app_2legacyAAAAAAAAAAAAAAAAAAAAAA',
      'legacy-ep',
      'https://example.com/legacy',
      '{}',
      sealer.seal('{}'),
      sealer.seal(SECRET),
      sealer.seal('[]'),
      now,
      now,
    ],
  ],
  [
    'message',
    ['id', 'app_id', 'uid', 'event_type', 'payload', 'expires_at', 'created_at'],
    ['msg_2legacyAAAAAAAAAAAAAAAAAAAAAA', 'app_2legacyAAAAAAAAAAAAAAAAAAAAAA', 'legacy-msg', 'order.created', PAYLOAD, now + 30 * 864e5, now],
  ],
];

const LEDGER = 'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)';

function oldSqlite(file: string, upTo: number): void {
  const db = new BetterSqlite3(file);
  try {
    db.pragma('journal_mode = WAL');
    db.exec(LEDGER);
    for (const m of loadMigrations('sqlite').slice(0, upTo)) {
      db.exec(m.sql);
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(m.version, m.name, now);
    }
    for (const [table, cols, values] of ROWS) db.prepare(`INSERT INTO ${table} (${cols.join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`).run(...values);
  } finally {
    db.close();
  }
}

async function oldPostgres(url: string, upTo: number): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(LEDGER);
    for (const m of loadMigrations('postgres').slice(0, upTo)) {
      await c.query(m.sql);
      await c.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [m.version, m.name, now]);
    }
    for (const [table, cols, values] of ROWS)
      await c.query(`INSERT INTO ${table} (${cols.join(', ')}) VALUES (${cols.map((_, i) => `$${i + 1}`).join(', ')})`, values);
  } finally {
    await c.end();
  }
}

/** Start the current Herald on the old data in-process; check the ledger and the rows through the API. */
async function upgradeAndCheck(env: Record<string, string>, ledger: () => Promise<number[]>, dialect: 'sqlite' | 'postgres'): Promise<void> {
  const h = await createHerald(loadConfig({ HERALD_API_TOKEN: TOKEN, HERALD_MASTER_KEY: key.toString('hex'), ...env }), { dispatch: false });
  try {
    expect(await ledger()).toEqual(loadMigrations(dialect).map((m) => m.version));
    const get = async (url: string) => {
      const r = await h.api.inject({ method: 'GET', url, headers: { authorization: `Bearer ${TOKEN}` } });
      expect(r.statusCode, `${url}: ${r.body}`).toBe(200);
      return r.json();
    };
    expect((await get('/api/v1/app/legacy')).name).toBe('Legacy');
    expect((await get('/api/v1/app/legacy/msg/legacy-msg')).payload).toEqual(JSON.parse(PAYLOAD));
    expect((await get('/api/v1/app/legacy/endpoint/legacy-ep/secret')).key).toBe(SECRET);
    // The upgraded store takes new writes, too.
    const r = await h.api.inject({
      method: 'POST',
      url: '/api/v1/app/legacy/msg',
      headers: { authorization: `Bearer ${TOKEN}` },
      payload: { eventType: 'order.created', payload: { after: true } },
    });
    expect(r.statusCode).toBe(202);
  } finally {
    await h.close();
  }
}

describe('upgrade: the current Herald on an older SQLite database', () => {
  const all = loadMigrations('sqlite');
  it.each(all.slice(0, -1).map((m) => m.version))('from schema version %i: every later migration applies and the data survives', async (n) => {
    const dir = join(root, `sqlite-${n}`);
    const file = join(dir, 'old.db');
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    oldSqlite(file, all.findIndex((m) => m.version === n) + 1);
    const ledger = async () => {
      const db = new BetterSqlite3(file, { readonly: true });
      try {
        return (db.prepare('SELECT version FROM schema_migrations ORDER BY version').all() as { version: number }[]).map((r) => r.version);
      } finally {
        db.close();
      }
    };
    await upgradeAndCheck({ HERALD_DATA_DIR: dir, HERALD_DATABASE_URL: `sqlite:${file}` }, ledger, 'sqlite');
  });

  it('`herald serve` on a folder at schema version 1 migrates it and serves the old rows', async () => {
    assertBuilt();
    const dir = join(root, 'sqlite-cli');
    mkdirSync(dir, { recursive: true });
    oldSqlite(join(dir, 'herald.db'), 1);
    const s = await serve({ HERALD_DATA_DIR: dir, HERALD_API_TOKEN: TOKEN, HERALD_MASTER_KEY: key.toString('hex') }, ['--no-dispatch']);
    try {
      const v = await call(s.url, TOKEN, 'GET', '/api/v1/version');
      expect(v.json.schemaVersion).toBe(all.at(-1)!.version);
      expect((await call(s.url, TOKEN, 'GET', '/api/v1/app/legacy/msg/legacy-msg')).json.payload).toEqual(JSON.parse(PAYLOAD));
      expect((await call(s.url, TOKEN, 'GET', '/api/v1/app/legacy/endpoint/legacy-ep/secret')).json.key).toBe(SECRET);
    } finally {
      await s.stop();
    }
  });
});

describe('upgrade: the current Herald on an older PostgreSQL database', () => {
  const all = loadMigrations('postgres');
  const dbs: TestDatabase[] = [];
  afterAll(async () => {
    for (const d of dbs) await d.drop();
  });

  it.each(all.slice(0, -1).map((m) => m.version))('from schema version %i: every later migration applies and the data survives', async (n) => {
    const db = await createTestDatabase();
    dbs.push(db);
    await oldPostgres(db.url, all.findIndex((m) => m.version === n) + 1);
    const ledger = async () => {
      const c = new pg.Client({ connectionString: db.url });
      await c.connect();
      try {
        return (await c.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version')).rows.map((r) => r.version);
      } finally {
        await c.end();
      }
    };
    await upgradeAndCheck({ HERALD_DATA_DIR: join(root, `pg-${n}`), HERALD_DATABASE_URL: db.url }, ledger, 'postgres');
  });
});
