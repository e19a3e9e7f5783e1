// A throw-away PostgreSQL database per test file: CREATE DATABASE herald_test_<random> through the
// `postgres` maintenance database, dropped (WITH FORCE) afterwards, so test files run in parallel
// without seeing each other's rows. The server is the local one (.ci/run starts it if it is down);
// HERALD_TEST_PG_URL points elsewhere.
import { randomBytes } from 'node:crypto';
import pg from 'pg';

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
      await admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    },
  };
}

/** Every Herald table (not the migration ledger), for resetting a database between tests. */
export const HERALD_TABLES = [
  'application', 'event_type', 'endpoint', 'message', 'delivery_task', 'attempt', 'idempotency',
  'portal_session', 'background_task', 'engage_tenant', 'engage_state',
] as const;
