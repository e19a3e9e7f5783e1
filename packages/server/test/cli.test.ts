// The `herald` CLI as a user runs it (the built dist): first-start token generation, start-up
// output, configuration errors, migrations, and refusing a schema newer than the code.
import BetterSqlite3 from 'better-sqlite3';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, call, runCli, serve } from './helpers/cli.js';

const dirs: string[] = [];
function freshDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'herald-cli-'));
  dirs.push(d);
  return d;
}

beforeAll(() => assertBuilt());
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('cli: serve without HERALD_API_TOKEN', () => {
  const dataDir = freshDir();
  let token = '';

  it('generates a token, keeps it in the data folder with mode 0600, prints it once with the URL and the store', async () => {
    const s = await serve({ HERALD_DATA_DIR: dataDir });
    try {
      const file = join(dataDir, 'api-token');
      await s.waitFor('the token file', () => existsSync(file));
      await s.waitFor('the token line', () => s.stdout().includes(readFileSync(file, 'utf8').trim()));
      token = readFileSync(file, 'utf8').trim();
      expect(token.length).toBeGreaterThanOrEqual(16);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      const out = s.stdout();
      expect(out.split(token).length - 1).toBe(1);
      expect(out).toContain(s.url);
      expect(out).toMatch(/^Store: .*SQLite.*$/m);
      expect(out).toContain(join(dataDir, 'herald.db'));
      // The printed token is the operator's.
      expect((await call(s.url, token, 'GET', '/api/v1/app')).status).toBe(200);
      expect((await call(s.url, 'wrong_token_0123456789', 'GET', '/api/v1/app')).status).toBe(401);
    } finally {
      await s.stop();
    }
  });

  it('creates the data folder for its own user only, and the database, -wal and -shm files mode 0600', async () => {
    const dir = join(freshDir(), 'data');
    const s = await serve({ HERALD_DATA_DIR: dir });
    try {
      const t = readFileSync(join(dir, 'api-token'), 'utf8').trim();
      // A write, so the WAL and its index exist.
      expect((await call(s.url, t, 'POST', '/api/v1/app', { name: 'modes' })).status).toBe(201);
      expect(statSync(dir).mode & 0o777).toBe(0o700);
      for (const f of ['herald.db', 'herald.db-wal', 'herald.db-shm', 'master.key', 'api-token']) {
        expect(statSync(join(dir, f)).mode & 0o777, f).toBe(0o600);
      }
    } finally {
      await s.stop();
    }
  });

  it('a second start on the same data folder reuses the token and does not print it again', async () => {
    const s = await serve({ HERALD_DATA_DIR: dataDir });
    try {
      await s.waitFor('the store line', () => /^Store: /m.test(s.stdout()));
      expect((await call(s.url, token, 'GET', '/api/v1/app')).status).toBe(200);
      expect(s.stdout()).not.toContain(token);
      expect(s.stderr()).not.toContain(token);
      expect(readFileSync(join(dataDir, 'api-token'), 'utf8').trim()).toBe(token);
    } finally {
      await s.stop();
    }
  });

  it('with HERALD_API_TOKEN set, that token is used and nothing is generated', async () => {
    const dir = freshDir();
    const own = 'my_own_operator_token_123456';
    const s = await serve({ HERALD_DATA_DIR: dir, HERALD_API_TOKEN: own });
    try {
      expect((await call(s.url, own, 'GET', '/api/v1/app')).status).toBe(200);
      expect(existsSync(join(dir, 'api-token'))).toBe(false);
      expect(s.stdout()).not.toContain(own);
    } finally {
      await s.stop();
    }
  });

  it('SIGTERM stops the server with exit code 0', async () => {
    const s = await serve({ HERALD_DATA_DIR: freshDir(), HERALD_API_TOKEN: 'my_own_operator_token_123456' });
    s.kill('SIGTERM');
    const r = await s.exited;
    expect(r.code, `stderr:\n${s.stderr()}`).toBe(0);
  });
});

describe('cli: configuration errors', () => {
  it('HERALD_PORT=abc exits non-zero with a message naming HERALD_PORT and what is allowed', async () => {
    const r = await runCli(['serve'], { HERALD_DATA_DIR: freshDir(), HERALD_PORT: 'abc' });
    expect(r.code).not.toBe(0);
    expect(r.code).not.toBeNull();
    expect(r.stderr).toContain('HERALD_PORT');
    expect(r.stderr).toContain('abc');
    expect(r.stderr).toMatch(/0 to 65535|port/i);
    expect(r.stdout).not.toMatch(/listening/i);
  });

  it('HERALD_PORT=70000 is refused the same way', async () => {
    const r = await runCli(['serve'], { HERALD_DATA_DIR: freshDir(), HERALD_PORT: '70000' });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('HERALD_PORT');
  });

  it('a bad HERALD_LOG_LEVEL names the variable and the allowed values', async () => {
    const r = await runCli(['serve'], { HERALD_DATA_DIR: freshDir(), HERALD_LOG_LEVEL: 'loud' });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('HERALD_LOG_LEVEL');
    expect(r.stderr).toContain('info');
  });

  it('a too-short HERALD_API_TOKEN is refused, naming the variable', async () => {
    const r = await runCli(['serve'], { HERALD_DATA_DIR: freshDir(), HERALD_API_TOKEN: 'short' });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('HERALD_API_TOKEN');
  });

  it('an unknown command exits non-zero and shows the usage', async () => {
    const r = await runCli(['frobnicate'], { HERALD_DATA_DIR: freshDir() });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('frobnicate');
    expect(r.stderr).toContain('serve');
  });

  it('`herald version` prints a version', async () => {
    const r = await runCli(['version'], {});
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });
});

describe('cli: migrations', () => {
  it('`herald migrate` creates the schema and exits 0; running it again is a no-op', async () => {
    const dir = freshDir();
    const first = await runCli(['migrate'], { HERALD_DATA_DIR: dir });
    expect(first.code, first.stderr).toBe(0);
    const db = join(dir, 'herald.db');
    expect(existsSync(db)).toBe(true);
    const conn = new BetterSqlite3(db, { readonly: true });
    const versions = (conn.prepare('SELECT version FROM schema_migrations ORDER BY version').all() as { version: number }[]).map((r) => r.version);
    const tables = (conn.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map((r) => r.name);
    conn.close();
    expect(versions.length).toBeGreaterThan(0);
    expect(versions[0]).toBe(1);
    expect(tables).toEqual(expect.arrayContaining(['application', 'endpoint', 'message', 'delivery_task', 'attempt']));
    const second = await runCli(['migrate'], { HERALD_DATA_DIR: dir });
    expect(second.code, second.stderr).toBe(0);
    const again = new BetterSqlite3(db, { readonly: true });
    expect((again.prepare('SELECT COUNT(*) AS n FROM schema_migrations').get() as { n: number }).n).toBe(versions.length);
    again.close();
  });

  it('a database migrated by a newer Herald makes `serve` (and `migrate`) refuse with a clear message', async () => {
    const dir = freshDir();
    expect((await runCli(['migrate'], { HERALD_DATA_DIR: dir })).code).toBe(0);
    const conn = new BetterSqlite3(join(dir, 'herald.db'));
    conn.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(999, 'from_the_future', Date.now());
    conn.close();

    const r = await runCli(['serve'], { HERALD_DATA_DIR: dir, HERALD_API_TOKEN: 'my_own_operator_token_123456', HERALD_PORT: '0' });
    expect(r.code).not.toBe(0);
    expect(r.code).not.toBeNull();
    expect(r.stdout).not.toMatch(/listening on/);
    expect(r.stderr).toContain('999');
    expect(r.stderr).toMatch(/newer/i);
    expect(r.stderr).toMatch(/schema/i);

    const m = await runCli(['migrate'], { HERALD_DATA_DIR: dir });
    expect(m.code).not.toBe(0);
    expect(m.stderr).toContain('999');
  });

  it('`serve --no-migrate` refuses an unmigrated database, and starts once `herald migrate` has run', async () => {
    const dir = freshDir();
    const env = { HERALD_DATA_DIR: dir, HERALD_API_TOKEN: 'my_own_operator_token_123456', HERALD_PORT: '0' };
    const refused = await runCli(['serve', '--no-migrate'], env);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('herald migrate');
    expect((await runCli(['migrate'], { HERALD_DATA_DIR: dir })).code).toBe(0);
    const s = await serve(env, ['--no-migrate']);
    try {
      expect((await call(s.url, env.HERALD_API_TOKEN, 'GET', '/api/v1/app')).status).toBe(200);
    } finally {
      await s.stop();
    }
  });
});
