// Store benchmark: the two hot paths of the Store contract, measured on the embedded SQLite store
// and on PostgreSQL in the same run on the same machine, without HTTP in the way:
//   accept   createMessage (message + one delivery task per endpoint, one commit), N concurrent
//   dispatch claimDueTasks (batch) + completeAttempt per task, C concurrent claim loops
// Usage: npm run build && node bench/store.mjs [--messages 5000] [--concurrency 32] [--endpoints 2]
//          [--pg postgres://postgres@127.0.0.1:5432/postgres] [--ordering [--keys 10000]]
// --ordering runs each store twice in the same run, every message keyed at random among --keys:
// endpoints with ordering "none", then "key"; each line also gives this process's CPU µs per task.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { IdGenerator } from '../packages/server/dist/domain/ids.js';
import { Sealer } from '../packages/server/dist/security/sealer.js';
import { PgStore } from '../packages/server/dist/store/postgres/pg-store.js';
import { SqliteStore } from '../packages/server/dist/store/sqlite/sqlite-store.js';
import { records } from './lib.mjs';

const { values } = parseArgs({
  options: {
    messages: { type: 'string', default: '5000' },
    concurrency: { type: 'string', default: '32' },
    endpoints: { type: 'string', default: '2' },
    pg: { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/postgres' },
    ordering: { type: 'boolean', default: false },
    keys: { type: 'string', default: '10000' },
  },
});
const N = Number(values.messages);
const C = Number(values.concurrency);
const E = Number(values.endpoints);
const ids = new IdGenerator((n) => randomBytes(n));
const rec = records(ids);
const payload = JSON.stringify({ contactId: '4f6a1c9e', changes: { email: 'anna@example.com', acceptsEmail: true }, tenant: 'acme' });

async function pool(n, worker) {
  let next = 0;
  await Promise.all(
    Array.from({ length: C }, async () => {
      while (next < n) await worker(next++);
    }),
  );
}

const KEYS = Number(values.keys);
const cpuUs = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

async function run(name, store, ordering = null) {
  const now = Date.now();
  const app = await store.createApplication(rec.application(now));
  for (let i = 0; i < E; i++) await store.createEndpoint(rec.endpoint(app.id, now, ordering ?? 'none'));
  let t = performance.now();
  let cpu = cpuUs();
  await pool(N, async () => {
    const at = Date.now();
    const orderingKey = ordering ? `key-${Math.floor(Math.random() * KEYS)}` : null;
    await store.createMessage(
      {
        id: ids.next('message', at),
        appId: app.id,
        eventId: null,
        eventType: 'contact.updated',
        channels: null,
        payload,
        expiresAt: at + 864e5,
        createdAt: at,
        orderingKey,
      },
      {},
    );
  });
  const acceptS = (performance.now() - t) / 1000;
  const acceptCpu = (cpuUs() - cpu) / (N * E);

  t = performance.now();
  cpu = cpuUs();
  let done = 0;
  await Promise.all(
    Array.from({ length: C }, async (_, w) => {
      for (;;) {
        const at = Date.now();
        const got = await store.claimDueTasks(`w${w}`, at, 60_000, 10);
        if (got.length === 0) return;
        for (const c of got) {
          await store.completeAttempt(
            c,
            {
              attempt: {
                id: ids.next('attempt', at),
                msgId: c.msgId,
                endpointId: c.endpointId,
                appId: c.appId,
                url: 'http://127.0.0.1:9/x',
                response: 'ok',
                responseStatusCode: 200,
                responseDurationMs: 1,
                status: 0,
                triggerType: 0,
                createdAt: at,
              },
              task: { status: 0, nextAttemptAt: null },
              endpoint: { kind: 'success' },
            },
            at,
          );
          done++;
        }
      }
    }),
  );
  const dispatchS = (performance.now() - t) / 1000;
  const dispatchCpu = (cpuUs() - cpu) / Math.max(1, done);
  const label = ordering ? `${name} ${ordering}` : name;
  console.log(
    `${label.padEnd(14)} accept ${Math.round(N / acceptS)
      .toString()
      .padStart(6)} messages/s (${N * E} tasks, ${acceptCpu.toFixed(0)} µs cpu/task)   ` +
      `dispatch ${Math.round(done / dispatchS)
        .toString()
        .padStart(6)} claim+complete/s (${done} tasks, ${dispatchCpu.toFixed(0)} µs cpu/task)`,
  );
}

console.log(`node ${process.version}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model}); ${N} messages, ${E} endpoints, concurrency ${C}`);

const dir = mkdtempSync(join(os.tmpdir(), 'herald-bench-store-'));
const sqlite = new SqliteStore({ file: join(dir, 'h.db'), sealer: new Sealer(randomBytes(32)) });
const runs = values.ordering ? ['none', 'key', 'none', 'key'] : [null];
try {
  for (const o of runs) await run('sqlite', sqlite, o);
} finally {
  await sqlite.close();
  rmSync(dir, { recursive: true, force: true });
}

const dbName = `herald_bench_${randomBytes(4).toString('hex')}`;
const admin = new pg.Client({ connectionString: values.pg });
await admin.connect();
await admin.query(`CREATE DATABASE ${dbName}`);
const url = new URL(values.pg);
url.pathname = `/${dbName}`;
const store = await PgStore.open({ url: url.toString(), sealer: new Sealer(randomBytes(32)), poolSize: Math.min(C, 20) });
try {
  for (const o of runs) await run('postgres', store, o);
} finally {
  await store.close();
  await admin.query(`DROP DATABASE ${dbName} WITH (FORCE)`);
  await admin.end();
}
