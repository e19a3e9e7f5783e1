// Idempotency keys across processes: two real `herald serve --no-dispatch` processes on one
// PostgreSQL database each receive the same idempotency-key at the same moment. The first to take
// the key's hold in the database creates the message; the other waits for that answer. So each
// key makes exactly one message and both callers get the same body, one of them marked replayed.
import { describe, expect, it } from 'vitest';
import { call, serve, type Served } from './helpers/cli.js';
import { usePostgresProcesses } from './helpers/pg-processes.js';

const TOKEN = 'pg_idem_test_token_0123456789abcdef';
const KEYS = 40;

describe('PostgreSQL: one idempotency-key sent to two API processes at once', () => {
  const apis: Served[] = [];
  const fixture = usePostgresProcesses({ token: TOKEN, dataDirPrefix: 'herald-pg-idem-', processes: () => apis });
  const { env } = fixture;

  async function post(base: string, path: string, key: string, body: unknown) {
    const res = await fetch(`${base}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', 'idempotency-key': key },
      body: JSON.stringify(body),
    });
    return { status: res.status, text: await res.text(), replayed: res.headers.get('idempotent-replayed') === 'true' };
  }

  it('creates exactly one message per key, and both processes answer with its body', { timeout: 60_000 }, async () => {
    const db = fixture.db();
    apis.push(await serve(env(), ['--no-dispatch']));
    apis.push(await serve(env(), ['--no-dispatch']));
    const [a, b] = apis as [Served, Served];
    const app = (await call(a.url, TOKEN, 'POST', '/api/v1/app', { name: 'idem', uid: 'idem' })).json;

    const results = await Promise.all(
      Array.from({ length: KEYS }, async (_, i) => {
        const key = `order-${i}`;
        // Different bodies: whichever arrives first wins, and the other gets ITS answer.
        const [x, y] = await Promise.all([
          post(a.url, `/api/v1/app/${app.id}/msg`, key, { eventType: 'order.placed', payload: { from: 'a', i } }),
          post(b.url, `/api/v1/app/${app.id}/msg`, key, { eventType: 'order.placed', payload: { from: 'b', i } }),
        ]);
        return { x, y };
      }),
    );
    for (const { x, y } of results) {
      expect([x.status, y.status]).toEqual([202, 202]);
      expect(y.text).toBe(x.text);
      expect([x.replayed, y.replayed].filter(Boolean)).toHaveLength(1);
    }
    const listed = await call(a.url, TOKEN, 'GET', `/api/v1/app/${app.id}/msg?limit=250`);
    expect(listed.json.data).toHaveLength(KEYS);
    expect(new Set(results.map(({ x }) => JSON.parse(x.text).id))).toEqual(new Set(listed.json.data.map((m: { id: string }) => m.id)));
    // Every hold was given back.
    const { rows } = await import('pg').then(async ({ default: pg }) => {
      const c = new pg.Client({ connectionString: db.url });
      await c.connect();
      try {
        return await c.query(
          `SELECT (SELECT count(*)::int FROM idempotency_lock) AS n,
                  (SELECT count(*)::int FROM idempotency WHERE msg_id IS NOT NULL AND body = '') AS refs`,
        );
      } finally {
        await c.end();
      }
    });
    expect(rows[0].n).toBe(0);
    // Each key's answer names its message (one row per key; the replays stored nothing).
    expect(rows[0].refs).toBe(KEYS);
  });
});
