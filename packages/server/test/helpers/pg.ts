// A throw-away PostgreSQL database per test file: CREATE DATABASE herald_test_<random> through the
// `postgres` maintenance database, dropped (WITH FORCE) afterwards, so test files run in parallel
// without seeing each other's rows. The server is the local one (.ci/run starts it if it is down);
// HERALD_TEST_PG_URL points elsewhere.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { until } from './wait.js';

export const PG_ADMIN_URL = process.env.HERALD_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface TestDatabase {
  name: string;
  /** Connection URL of the new database. */
  url: string;
  drop(): Promise<void>;
}

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: PG_ADMIN_URL });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `herald_test_${randomBytes(6).toString('hex')}`;
  await admin((c) => c.query(`CREATE DATABASE ${name}`));
  const u = new URL(PG_ADMIN_URL);
  u.pathname = `/${name}`;
  let dropped = false;
  return {
    name,
    url: u.toString(),
    async drop() {
      if (dropped) return;
      dropped = true;
      await admin(async (c) => {
        // pg-pool's end() resolves once it has *asked* its clients to close, before their sockets
        // are gone. Dropping WITH (FORCE) at that moment terminates those backends, and the FATAL
        // 57P01 they send arrives at a client nobody listens to any more: an unhandled error.
        // So wait (bounded) for the database's sessions to leave on their own first.
        const gone = async () => (await c.query('SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1', [name])).rows[0].n === 0;
        await until('the test database sessions to leave', gone, 5_000, 20).catch(() => undefined); // then FORCE
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      });
    },
  };
}

/** Every Herald table (not the migration ledger), for resetting a database between tests. */
export const HERALD_TABLES = [
  'application',
  'event_type',
  'endpoint',
  'message',
  'delivery_task',
  'attempt',
  'idempotency',
  'portal_session',
  'background_task',
  'engage_tenant',
  'engage_state',
  'endpoint_throttle',
  'idempotency_lock',
  'audit_log',
  'destination',
  'destination_consumer',
  'delivery_order',
] as const;
