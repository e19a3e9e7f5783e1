// `herald backup` under live ingest, `herald restore` into a fresh folder, and a Herald started on
// the restored folder that has every message accepted before the backup began. Real processes,
// real HTTP, real files. Also: the master key is never in a backup, a non-empty folder is never
// restored into, and on PostgreSQL both commands give the pg_dump recipe instead.
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, call, runCli, serve, type Served } from './helpers/cli.js';
import { createTestDatabase, type TestDatabase } from './helpers/pg.js';

const TOKEN = 'backup_operator_token_0123456';
const root = mkdtempSync(join(tmpdir(), 'herald-backup-'));
beforeAll(() => assertBuilt());
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('backup and restore of the embedded store', () => {
  const live = join(root, 'live');
  const restored = join(root, 'restored');
  const file = join(root, 'herald-backup.db');
  let app = '';
  let ep = '';
  const acceptedBefore: string[] = [];

  it('backs up while messages are being ingested, and ingest never fails meanwhile', async () => {
    const s = await serve({ HERALD_DATA_DIR: live, HERALD_API_TOKEN: TOKEN }, ['--no-dispatch']);
    try {
      app = (await call(s.url, TOKEN, 'POST', '/api/v1/app', { name: 'backed-up' })).json.id;
      ep = (await call(s.url, TOKEN, 'POST', `/api/v1/app/${app}/endpoint`, { url: 'https://example.com/hook' })).json.id;
      const accepted: string[] = [];
      const failures: string[] = [];
      let stop = false;
      const ingest = async (w: number) => {
        for (let i = 0; !stop; i++) {
          const r = await call(s.url, TOKEN, 'POST', `/api/v1/app/${app}/msg`, { eventType: 'order.created', payload: { w, i, pad: 'x'.repeat(2000) } });
          if (r.status === 202) accepted.push(r.json.id);
          else failures.push(`${r.status} ${JSON.stringify(r.json)}`);
        }
      };
      const workers = [0, 1, 2, 3].map(ingest);
      try {
        await expect.poll(() => accepted.length, { timeout: 20_000 }).toBeGreaterThanOrEqual(300);
        // Everything answered 202 by now was accepted before the backup began.
        acceptedBefore.push(...accepted);
        const b = await runCli(['backup', file], { HERALD_DATA_DIR: live, HERALD_API_TOKEN: TOKEN });
        expect(b.code, b.stderr).toBe(0);
        expect(b.stdout).toMatch(/Backed up SQLite at .* to .*herald-backup\.db/);
        expect(b.stdout).toContain('The master key is NOT in the backup');
        expect(b.stdout).toContain(join(live, 'master.key'));
        // Ingest goes on after the backup, too.
        const after = accepted.length;
        await expect.poll(() => accepted.length, { timeout: 20_000 }).toBeGreaterThan(after + 20);
      } finally {
        stop = true;
        await Promise.all(workers);
      }
      expect(failures).toEqual([]);
    } finally {
      await s.stop();
    }
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('the backup holds neither the master key nor the operator token', () => {
    const bytes = readFileSync(file);
    const key = readFileSync(join(live, 'master.key'), 'utf8').trim();
    expect(bytes.includes(Buffer.from(key, 'ascii'))).toBe(false);
    expect(bytes.includes(Buffer.from(key, 'hex'))).toBe(false);
    expect(bytes.includes(Buffer.from(TOKEN))).toBe(false);
  });

  it('never overwrites a file, and refuses to restore into a folder that is not empty', async () => {
    const again = await runCli(['backup', file], { HERALD_DATA_DIR: live });
    expect(again.code).toBe(1);
    expect(again.stdout).toMatch(/already exists/);
    const before = readFileSync(join(live, 'herald.db'));
    const r = await runCli(['restore', file], { HERALD_DATA_DIR: live });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/refusing to restore.*not empty/);
    expect(readFileSync(join(live, 'herald.db')).equals(before)).toBe(true);
    const notHerald = join(root, 'not-herald.db');
    writeFileSync(notHerald, 'hello');
    const bad = await runCli(['restore', notHerald], { HERALD_DATA_DIR: join(root, 'never') });
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/not a usable Herald backup/);
    expect(existsSync(join(root, 'never', 'herald.db'))).toBe(false);
  });

  it('restores into an empty folder; with the master key put back, Herald there has every message accepted before the backup', async () => {
    const r = await runCli(['restore', file], { HERALD_DATA_DIR: restored });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('holds no master key');
    expect(statSync(join(restored, 'herald.db')).mode & 0o777).toBe(0o600);
    copyFileSync(join(live, 'master.key'), join(restored, 'master.key'));
    const doctor = await runCli(['doctor'], { HERALD_DATA_DIR: restored, HERALD_API_TOKEN: TOKEN });
    expect(doctor.stdout).toMatch(/ok +master key: .*opens all \d+ sealed values/);
    let s: Served | undefined;
    try {
      s = await serve({ HERALD_DATA_DIR: restored, HERALD_API_TOKEN: TOKEN }, ['--no-dispatch']);
      const missing: string[] = [];
      for (const id of acceptedBefore) {
        const m = await call(s.url, TOKEN, 'GET', `/api/v1/app/${app}/msg/${id}`);
        if (m.status !== 200) missing.push(`${id}: ${m.status}`);
      }
      expect(missing).toEqual([]);
      // The endpoint's sealed secret opens under the restored key.
      const secret = await call(s.url, TOKEN, 'GET', `/api/v1/app/${app}/endpoint/${ep}/secret`);
      expect(secret.status).toBe(200);
      expect(secret.json.key).toMatch(/^whsec_/);
    } finally {
      await s?.stop();
    }
  });
});

describe('backup and restore on PostgreSQL', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db?.drop());

  it('print the pg_dump / pg_restore recipe and where the master key is, exit 2, and write nothing', async () => {
    const key = 'ab'.repeat(32);
    const target = join(root, 'pg-backup');
    for (const cmd of ['backup', 'restore']) {
      const r = await runCli([cmd, target], { HERALD_DATABASE_URL: db.url, HERALD_MASTER_KEY: key, HERALD_DATA_DIR: join(root, 'pgdata') });
      expect(r.code).toBe(2);
      expect(r.stdout).toContain('pg_dump --format=custom');
      expect(r.stdout).toContain('pg_restore');
      expect(r.stdout).toContain('HERALD_MASTER_KEY environment variable');
      expect(r.stdout).not.toContain(key);
    }
    expect(existsSync(target)).toBe(false);
  });
});
