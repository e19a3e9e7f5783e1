// The scaffolding of the multi-process PostgreSQL tests: for one `describe`, a loopback receiver,
// a database (by default a throw-away one on the shared server, helpers/pg.ts), a data folder, the
// environment `herald serve --no-dispatch` and `herald worker` run with, and a teardown that
// SIGKILLs the test's processes (killAll, helpers/cli.ts) before it closes the receiver, drops the
// database and removes the folder. The tests themselves spawn their processes, as before.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { killAll, type CliProcess } from './cli.js';
import { createTestDatabase, type TestDatabase } from './pg.js';
import { Receiver, type Reply, type Responder } from './receiver.js';

/** What the fixture needs of a database: where it is, and how to get rid of it afterwards. */
export interface ProcessDatabase {
  url: string;
  drop(): Promise<void> | void;
}

export interface PostgresProcessesOptions<D extends ProcessDatabase> {
  /** HERALD_API_TOKEN for every process. */
  token: string;
  /** Name prefix of the data folder under the OS temp folder. */
  dataDirPrefix: string;
  /** Environment every process gets besides the data folder, database URL, token and log level. */
  env?: Record<string, string>;
  /** Receiver scripts set before any test runs, by path (Receiver.on). */
  routes?: Record<string, Reply | Responder>;
  /** Where the database comes from; default a fresh database from createTestDatabase(). */
  database?: () => Promise<D>;
  /** beforeAll's timeout (ms), for a database that is slow to come up. */
  setupTimeoutMs?: number;
  /** The processes afterAll SIGKILLs; read at teardown, so it sees the ones the tests started. */
  processes: () => (CliProcess | undefined)[];
}

export interface PostgresProcesses<D extends ProcessDatabase> {
  rx(): Receiver;
  db(): D;
  /** The environment for a `herald` child process, with `extra` on top of the fixture's. */
  env(extra?: Record<string, string>): Record<string, string>;
}

/**
 * Register beforeAll/afterAll in the current `describe`; returns accessors for use inside the
 * tests. Without `database`, the database is a fresh one from createTestDatabase().
 */
export function usePostgresProcesses(opts: PostgresProcessesOptions<TestDatabase>): PostgresProcesses<TestDatabase>;
export function usePostgresProcesses<D extends ProcessDatabase>(opts: PostgresProcessesOptions<D> & { database: () => Promise<D> }): PostgresProcesses<D>;
export function usePostgresProcesses(opts: PostgresProcessesOptions<ProcessDatabase>): PostgresProcesses<ProcessDatabase> {
  let rx: Receiver | undefined;
  let db: ProcessDatabase | undefined;
  let dataDir: string | undefined;
  const database = opts.database ?? createTestDatabase;

  beforeAll(async () => {
    rx = await Receiver.start();
    for (const [path, reply] of Object.entries(opts.routes ?? {})) rx.on(path, reply);
    db = await database();
    dataDir = mkdtempSync(join(tmpdir(), opts.dataDirPrefix));
  }, opts.setupTimeoutMs);
  afterAll(async () => {
    await killAll(...opts.processes());
    await rx?.close();
    await db?.drop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  const ready = <T>(what: string, v: T | undefined): T => {
    if (v === undefined) throw new Error(`the ${what} is not set up (use it inside a test)`);
    return v;
  };
  return {
    rx: () => ready('receiver', rx),
    db: () => ready('database', db),
    env: (extra = {}) => ({
      HERALD_DATA_DIR: ready('data folder', dataDir),
      HERALD_DATABASE_URL: ready('database', db).url,
      HERALD_API_TOKEN: opts.token,
      HERALD_LOG_LEVEL: 'warn',
      ...opts.env,
      ...extra,
    }),
  };
}
