// `herald doctor` on healthy and broken setups, through the built CLI: it says what is wrong in
// words an operator can act on, exits 1 when something is, and changes nothing it looks at.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/index.js';
import { createHerald } from '../src/herald.js';
import { assertBuilt, runCli } from './helpers/cli.js';
import { createTestDatabase, type TestDatabase } from './helpers/pg.js';

const TOKEN = 'doctor_operator_token_0123456';
const root = mkdtempSync(join(tmpdir(), 'herald-doctor-'));
beforeAll(() => assertBuilt());
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A data folder (or database) with an application and an endpoint, so there are sealed values. */
async function populate(env: Record<string, string>): Promise<void> {
  const h = await createHerald(loadConfig({ HERALD_API_TOKEN: TOKEN, ...env }), { dispatch: false });
  try {
    const app = await h.api.inject({ method: 'POST', url: '/api/v1/app', headers: { authorization: `Bearer ${TOKEN}` }, payload: { name: 'doc' } });
    for (const i of [1, 2, 3]) {
      const r = await h.api.inject({
        method: 'POST',
        url: `/api/v1/app/${app.json().id}/endpoint`,
        headers: { authorization: `Bearer ${TOKEN}` },
        payload: { url: `https://example.com/hook/${i}`, headers: { 'x-api-key': `k${i}` } },
      });
      if (r.statusCode !== 201) throw new Error(r.body);
    }
  } finally {
    await h.close();
  }
}

const doctor = (env: Record<string, string>) => runCli(['doctor'], { HERALD_API_TOKEN: TOKEN, HERALD_SSRF_ALLOWLIST: '', ...env });

describe('doctor on the embedded store', () => {
  const dataDir = join(root, 'sqlite');
  beforeAll(() => populate({ HERALD_DATA_DIR: dataDir }));

  it('a healthy setup: every check ok, exit 0', async () => {
    const r = await doctor({ HERALD_DATA_DIR: dataDir });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/ok +store: SQLite at .*herald\.db, schema version \d+ \(current\)/);
    expect(r.stdout).toMatch(/ok +master key: from the key file .*master\.key, key id [0-9a-f]{8}; it opens all \d+ sealed values sampled/);
    expect(r.stdout).toMatch(/ok +SSRF guard: deliveries reach only globally routable addresses/);
    expect(r.stdout).toMatch(/ok +egress: /);
    expect(r.stdout).toContain('No problems found');
    expect(r.stdout).not.toContain('FAIL');
  });

  it('a wrong master key: names the key ids and says to put back the key the data was sealed with, exit 1', async () => {
    const wrong = randomBytes(32).toString('hex');
    const r = await doctor({ HERALD_DATA_DIR: dataDir, HERALD_MASTER_KEY: wrong });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(
      /FAIL +master key: (\d+) of \1 sealed values sampled cannot be opened .*HERALD_MASTER_KEY environment variable.*sealed under key id [0-9a-f]{8}/,
    );
    expect(r.stdout).toMatch(/put back the master key in force when it was written/);
    expect(r.stdout).not.toContain(wrong);
    expect(r.stdout).toMatch(/1 problem\(s\) to fix/);
  });

  it('a missing key file with sealed rows in the store: says a new key would not open them, and creates none', async () => {
    const key = join(dataDir, 'master.key');
    renameSync(key, `${key}.away`);
    try {
      const r = await doctor({ HERALD_DATA_DIR: dataDir });
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(/FAIL +master key: the database holds sealed secrets but there is no key file at .*master\.key/);
      expect(existsSync(key)).toBe(false);
    } finally {
      renameSync(`${key}.away`, key);
    }
  });

  it('an SSRF allowlist that admits the cloud metadata address, or everything, is a problem; loopback is a warning', async () => {
    const meta = await doctor({ HERALD_DATA_DIR: dataDir, HERALD_SSRF_ALLOWLIST: '169.254.0.0/16' });
    expect(meta.code).toBe(1);
    expect(meta.stdout).toMatch(/FAIL +SSRF guard: HERALD_SSRF_ALLOWLIST entry 169\.254\.0\.0\/16 admits the cloud metadata service/);
    const all = await doctor({ HERALD_DATA_DIR: dataDir, HERALD_SSRF_ALLOWLIST: '0.0.0.0/0' });
    expect(all.code).toBe(1);
    expect(all.stdout).toMatch(/FAIL +SSRF guard: .*0\.0\.0\.0\/0, which turns the guard off/);
    const loop = await doctor({ HERALD_DATA_DIR: dataDir, HERALD_SSRF_ALLOWLIST: '127.0.0.0/8' });
    expect(loop.code).toBe(0);
    expect(loop.stdout).toMatch(/warn +SSRF guard: .*127\.0\.0\.0\/8 admits this machine's loopback/);
  });

  it('egress: a source address this machine lacks, or a proxy nobody answers on, is a problem', async () => {
    const addr = await doctor({ HERALD_DATA_DIR: dataDir, HERALD_EGRESS_ADDRESSES: '203.0.113.77' });
    expect(addr.code).toBe(1);
    expect(addr.stdout).toMatch(/FAIL +egress: HERALD_EGRESS_ADDRESSES: 203\.0\.113\.77 is not an address of this machine/);
    // A port that was free a moment ago: nothing listens there.
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const proxy = await doctor({ HERALD_DATA_DIR: dataDir, HERALD_EGRESS_PROXY: `http://127.0.0.1:${port}` });
    expect(proxy.code).toBe(1);
    expect(proxy.stdout).toMatch(new RegExp(`FAIL +egress: cannot connect to the egress proxy 127\\.0\\.0\\.1:${port} \\(ECONNREFUSED\\)`));
    expect(proxy.stdout).toMatch(/warn +egress: .*HERALD_PUBLISHED_SOURCE_IPS is not set/);
  });

  it('a schema newer than this Herald, and a bad variable, are problems with the way out named', async () => {
    const newer = join(root, 'newer');
    await populate({ HERALD_DATA_DIR: newer });
    const db = new BetterSqlite3(join(newer, 'herald.db'));
    db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, ?, 0)').run('from_the_future');
    db.close();
    const r = await doctor({ HERALD_DATA_DIR: newer });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/FAIL +store: .* schema version 999, newer than this Herald/);
    // A newer Herald's additive migration, recorded as runnable by this version: a warning only.
    const compatible = join(root, 'compatible');
    await populate({ HERALD_DATA_DIR: compatible });
    const c = new BetterSqlite3(join(compatible, 'herald.db'));
    const running = (c.prepare('SELECT MAX(min_herald_version) AS v FROM schema_migrations').get() as { v: string | null }).v;
    c.prepare('INSERT INTO schema_migrations (version, name, applied_at, min_herald_version) VALUES (999, ?, 0, ?)').run('additive', running ?? '0.0.0');
    c.close();
    const ok = await doctor({ HERALD_DATA_DIR: compatible });
    expect(ok.code, ok.stdout).toBe(0);
    expect(ok.stdout).toMatch(/warn +store: .* schema version 999, migrated by a newer Herald; its migrations let this Herald/);
    const cfg = await doctor({ HERALD_DATA_DIR: dataDir, HERALD_PORT: 'abc' });
    expect(cfg.code).toBe(1);
    expect(cfg.stdout).toMatch(/FAIL +configuration: HERALD_PORT: 'abc' is not a TCP port/);
  });

  it('on a folder with nothing in it yet: warns, passes, and creates neither a database nor a key', async () => {
    const fresh = join(root, 'fresh');
    const r = await doctor({ HERALD_DATA_DIR: fresh });
    expect(r.code, r.stdout).toBe(0);
    expect(r.stdout).toMatch(/warn +store: SQLite at .* does not exist yet/);
    expect(r.stdout).toMatch(/ok +master key: no key file yet/);
    expect(existsSync(fresh) ? readdirSync(fresh) : []).toEqual([]);
  });
});

describe('doctor on PostgreSQL', () => {
  let db: TestDatabase;
  const key = randomBytes(32).toString('hex');
  beforeAll(async () => {
    db = await createTestDatabase();
    await populate({ HERALD_DATA_DIR: join(root, 'pg'), HERALD_DATABASE_URL: db.url, HERALD_MASTER_KEY: key });
  });
  afterAll(() => db?.drop());

  it('healthy: the schema is current and the key opens the sealed values', async () => {
    const r = await doctor({ HERALD_DATA_DIR: join(root, 'pg'), HERALD_DATABASE_URL: db.url, HERALD_MASTER_KEY: key });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/ok +store: PostgreSQL at .*, schema version \d+ \(current\)/);
    expect(r.stdout).toMatch(/ok +master key: from the HERALD_MASTER_KEY environment variable, key id [0-9a-f]{8}; it opens all \d+ sealed values/);
  });

  it('the wrong key, and an unreachable server, are problems', async () => {
    const wrong = await doctor({ HERALD_DATA_DIR: join(root, 'pg'), HERALD_DATABASE_URL: db.url, HERALD_MASTER_KEY: randomBytes(32).toString('hex') });
    expect(wrong.code).toBe(1);
    expect(wrong.stdout).toMatch(/FAIL +master key: \d+ of \d+ sealed values sampled cannot be opened/);
    const down = await doctor({ HERALD_DATA_DIR: join(root, 'pg'), HERALD_DATABASE_URL: 'postgres://postgres@127.0.0.1:1/herald', HERALD_MASTER_KEY: key });
    expect(down.code).toBe(1);
    expect(down.stdout).toMatch(/FAIL +store: cannot open PostgreSQL: .*Is PostgreSQL running/);
  });
});
