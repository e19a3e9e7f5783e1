// A 202 means committed: messages answered 202 (and the deliveries they matched) survive the
// process being killed with SIGKILL right after the answer. Runs the built CLI as a child process,
// with --no-dispatch so the deliveries stay exactly as the message left them.
import BetterSqlite3 from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, call, serve } from './helpers/cli.js';

const TOKEN = 'durability_operator_token_0123';

describe('durability: SIGKILL after 202', () => {
  let dataDir: string;
  beforeAll(() => {
    assertBuilt();
    dataDir = mkdtempSync(join(tmpdir(), 'herald-durable-'));
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('a message answered 202 and its delivery task are there after a SIGKILL and a restart', async () => {
    const env = { HERALD_DATA_DIR: dataDir, HERALD_API_TOKEN: TOKEN };
    const first = await serve(env, ['--no-dispatch']);
    let app: string;
    let ep: string;
    let msg: { id: string; payload: unknown };
    try {
      app = (await call(first.url, TOKEN, 'POST', '/api/v1/app', { name: 'durable', uid: 'durable' })).json.id;
      ep = (await call(first.url, TOKEN, 'POST', `/api/v1/app/${app}/endpoint`, { url: 'https://example.com/hook' })).json.id;
      const r = await call(first.url, TOKEN, 'POST', `/api/v1/app/${app}/msg`, { eventType: 'order.created', payload: { order: 1 } });
      expect(r.status).toBe(202);
      msg = r.json;
    } finally {
      // No graceful shutdown: the process dies the moment the answer is in.
      first.kill('SIGKILL');
    }
    expect((await first.exited).signal).toBe('SIGKILL');

    const second = await serve(env, ['--no-dispatch']);
    try {
      const got = await call(second.url, TOKEN, 'GET', `/api/v1/app/${app}/msg/${msg.id}`);
      expect(got.status).toBe(200);
      expect(got.json.payload).toEqual({ order: 1 });
      const dest = await call(second.url, TOKEN, 'GET', `/api/v1/app/${app}/msg/${msg.id}/endpoint`);
      expect(dest.status).toBe(200);
      expect(dest.json.data.map((e: any) => e.id)).toEqual([ep]);
      expect(dest.json.data[0].status).toBe(1);
    } finally {
      await second.stop();
    }
  });

  it('every one of a burst of concurrent messages answered 202 survives a SIGKILL', async () => {
    const env = { HERALD_DATA_DIR: dataDir, HERALD_API_TOKEN: TOKEN };
    const first = await serve(env, ['--no-dispatch']);
    const accepted: string[] = [];
    let app: string;
    let ep: string;
    try {
      app = (await call(first.url, TOKEN, 'POST', '/api/v1/app', { name: 'burst' })).json.id;
      ep = (await call(first.url, TOKEN, 'POST', `/api/v1/app/${app}/endpoint`, { url: 'https://example.com/hook' })).json.id;
      const rs = await Promise.all(
        Array.from({ length: 50 }, (_, i) => call(first.url, TOKEN, 'POST', `/api/v1/app/${app}/msg`, { eventType: 'burst', payload: { i } })),
      );
      for (const r of rs) {
        expect(r.status).toBe(202);
        accepted.push(r.json.id);
      }
    } finally {
      first.kill('SIGKILL');
    }
    await first.exited;

    // Read the file directly (no server): every accepted message and its task is committed.
    const db = new BetterSqlite3(join(dataDir, 'herald.db'), { readonly: true });
    try {
      const msgs = new Set((db.prepare('SELECT id FROM message WHERE app_id = ?').all(app) as { id: string }[]).map((r) => r.id));
      const tasks = new Set(
        (db.prepare('SELECT msg_id FROM delivery_task WHERE app_id = ? AND endpoint_id = ?').all(app, ep) as { msg_id: string }[]).map((r) => r.msg_id),
      );
      for (const id of accepted) {
        expect(msgs.has(id), id).toBe(true);
        expect(tasks.has(id), id).toBe(true);
      }
    } finally {
      db.close();
    }

    const second = await serve(env, ['--no-dispatch']);
    try {
      const list = await call(second.url, TOKEN, 'GET', `/api/v1/app/${app}/msg?limit=250`);
      expect(new Set(list.json.data.map((m: any) => m.id))).toEqual(new Set(accepted));
    } finally {
      await second.stop();
    }
  });
});
