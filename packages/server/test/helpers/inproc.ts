// In-process Herald for API tests: a real Herald (a real store, the real Fastify instance) driven
// through Fastify's `inject`, so requests go through the full HTTP layer (routing, content-type
// parsing, auth, validation, error mapping) without a socket. Time comes from an injectable clock,
// so tests move time instead of sleeping.
//
// Both stores. The store is a SQLite file in a fresh temporary folder, unless the environment says
// HERALD_TEST_DATABASE=postgres: then it is a PostgreSQL database of its own on the local server,
// created here and dropped afterwards. `npm test` runs the API and delivery suites both ways: the
// vitest config has a `sqlite` project (every test file) and a `postgres` project (the suites
// that go through this helper, with HERALD_TEST_DATABASE=postgres). A test that runs in both
// reads the database only through the API, the Store contract (`herald.store`) or the portable
// SQL of helpers/rows.ts; `store` below (the SQLite handle) is for SQLite-only tests.

import { mkdtempSync, rmSync } from 'node:fs';
import { afterAll, beforeAll } from 'vitest';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/index.js';
import { createHerald, type Herald } from '../../src/herald.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { createTestDatabase, type TestDatabase } from './pg.js';

// On PostgreSQL a restart on the same data folder must find the same database: the database of a
// caller-owned folder is kept here across restarts and dropped when the test file ends.
const databasesByDir = new Map<string, TestDatabase>();
afterAll(async () => {
  for (const db of databasesByDir.values()) await db.drop();
  databasesByDir.clear();
});

/** The store in-process Heralds run on by default: HERALD_TEST_DATABASE, else SQLite. */
export const TEST_DATABASE: 'sqlite' | 'postgres' = process.env.HERALD_TEST_DATABASE === 'postgres' ? 'postgres' : 'sqlite';

export const OPERATOR_TOKEN = 'test_operator_token_0123456789';
/** The SSRF allowlist tests run with: loopback only, where their receivers listen. */
export const LOOPBACK_ALLOWLIST = '127.0.0.0/8,::1/128';

/** A clock the test controls: `now()` returns `t`; `advance` moves it forward. */
export class Clock {
  t: number;
  constructor(start: string | number = '2026-01-01T00:00:00Z') {
    this.t = typeof start === 'number' ? start : Date.parse(start);
  }
  readonly now = (): number => this.t;
  advance(ms: number): number {
    this.t += ms;
    return this.t;
  }
}

export const SECOND = 1000;
export const MINUTE = 60 * SECOND;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

export type Method = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'OPTIONS';

export interface InjectOptions {
  /** A JSON body (serialised, with `content-type: application/json`). */
  body?: unknown;
  /** A raw body sent as is (set the content type through `headers`). Wins over `body`. */
  raw?: string | Buffer;
  /** Bearer token; default the operator token; `null` sends no Authorization header. */
  token?: string | null;
  headers?: Record<string, string>;
}

export interface InjectResult {
  status: number;
  /** The parsed JSON body, or undefined when the body is empty or not JSON. */
  json: any;
  /** The raw body text. */
  text: string;
  headers: Record<string, string | string[] | number | undefined>;
}

export interface InProcess {
  herald: Herald;
  /**
   * The store, typed as the SQLite store (its `db` is the real database handle), for SQLite-only
   * tests. On PostgreSQL reading it throws: tests that run on both use `herald.store` (the Store
   * contract) or helpers/rows.ts.
   */
  store: SqliteStore;
  dataDir: string;
  operatorToken: string;
  inject(method: Method, url: string, opts?: InjectOptions): Promise<InjectResult>;
  close(): Promise<void>;
}

export interface StartInProcessOptions {
  now?: () => number;
  /** Extra environment for loadConfig (HERALD_DATA_DIR and HERALD_API_TOKEN are set here). */
  env?: Record<string, string>;
  /**
   * Reuse this data folder (e.g. to restart on it); it is then left in place on close. On
   * PostgreSQL the folder's database is reused too, and dropped when the test file ends.
   */
  dataDir?: string;
  /**
   * Run the dispatcher in-process (default false): these are API tests, so deliveries stay as
   * the API left them and nothing is sent over the network.
   */
  dispatch?: boolean;
  /**
   * The store (default 'sqlite', a file in the data folder). 'postgres' runs on a database of its
   * own on the local server, created here and dropped on close. HERALD_TEST_DATABASE=postgres in
   * the environment makes that the default (the `postgres` project of the vitest config).
   */
  database?: 'sqlite' | 'postgres';
}

export async function startInProcess(opts: StartInProcessOptions = {}): Promise<InProcess> {
  const ownDir = opts.dataDir === undefined;
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'herald-inproc-'));
  // Receivers in tests live on loopback, which the SSRF guard refuses unless allowed.
  const onPg = (opts.database ?? TEST_DATABASE) === 'postgres';
  let pgDb: TestDatabase | undefined;
  let ownDb = false;
  if (onPg && !ownDir) {
    pgDb = databasesByDir.get(dataDir);
    if (!pgDb) databasesByDir.set(dataDir, (pgDb = await createTestDatabase()));
  } else if (onPg) {
    pgDb = await createTestDatabase();
    ownDb = true;
  }
  const dbEnv: Record<string, string> = pgDb ? { HERALD_DATABASE_URL: pgDb.url } : {};
  const config = loadConfig({ HERALD_DATA_DIR: dataDir, HERALD_API_TOKEN: OPERATOR_TOKEN, HERALD_SSRF_ALLOWLIST: LOOPBACK_ALLOWLIST, ...dbEnv, ...opts.env });
  let herald: Herald;
  try {
    herald = await createHerald(config, { now: opts.now, dispatch: opts.dispatch ?? false });
  } catch (e) {
    if (ownDb) await pgDb?.drop();
    throw e;
  }
  const expected = pgDb ? 'postgres' : 'sqlite';
  if (herald.store.kind !== expected) throw new Error(`expected the ${expected} store, got ${herald.store.kind}`);
  let closed = false;

  async function inject(method: Method, url: string, o: InjectOptions = {}): Promise<InjectResult> {
    const headers: Record<string, string> = {};
    const token = o.token === undefined ? OPERATOR_TOKEN : o.token;
    if (token !== null) headers.authorization = `Bearer ${token}`;
    let payload: string | Buffer | undefined;
    if (o.raw !== undefined) payload = o.raw;
    else if (o.body !== undefined) {
      payload = JSON.stringify(o.body);
      headers['content-type'] = 'application/json';
    }
    Object.assign(headers, o.headers ?? {});
    const res = await herald.api.inject({ method, url, headers, payload });
    const text = res.body;
    let json: any;
    const ct = String(res.headers['content-type'] ?? '');
    if (text !== '' && ct.includes('json')) json = JSON.parse(text);
    return { status: res.statusCode, json, text, headers: res.headers };
  }

  return {
    herald,
    get store(): SqliteStore {
      if (!(herald.store instanceof SqliteStore)) throw new Error('`store` is the SQLite store; on PostgreSQL use herald.store');
      return herald.store;
    },
    dataDir,
    operatorToken: OPERATOR_TOKEN,
    inject,
    async close() {
      if (closed) return;
      closed = true;
      await herald.close();
      if (ownDb) await pgDb?.drop();
      if (ownDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export const idRe = (prefix: string): RegExp => new RegExp(`^${prefix}[A-Za-z0-9]{27}$`);

/** Follow a list's `iterator` until `done`, returning every item (and the pages seen). */
export async function listAll(h: InProcess, path: string, opts: { token?: string | null; maxPages?: number } = {}): Promise<{ items: any[]; pages: any[] }> {
  const items: any[] = [];
  const pages: any[] = [];
  let iterator: string | null = null;
  for (let i = 0; i < (opts.maxPages ?? 100); i++) {
    const sep = path.includes('?') ? '&' : '?';
    const url = iterator === null ? path : `${path}${sep}iterator=${encodeURIComponent(iterator)}`;
    const r = await h.inject('GET', url, { token: opts.token });
    if (r.status !== 200) throw new Error(`GET ${url} answered ${r.status}: ${r.text}`);
    pages.push(r.json);
    items.push(...r.json.data);
    if (r.json.done) return { items, pages };
    iterator = r.json.iterator;
  }
  throw new Error(`${path}: still not done after ${opts.maxPages ?? 100} pages`);
}

/** Assert-free shape check used by the error tests: `{code, detail}` with non-empty strings. */
export function isHttpErrorBody(b: unknown): boolean {
  if (typeof b !== 'object' || b === null) return false;
  const o = b as Record<string, unknown>;
  return typeof o.code === 'string' && o.code !== '' && typeof o.detail === 'string' && o.detail !== '';
}

/** `{detail: [{loc: string[], msg: string, type: string}, ...]}` with at least one item. */
export function isValidationErrorBody(b: unknown): boolean {
  if (typeof b !== 'object' || b === null) return false;
  const d = (b as Record<string, unknown>).detail;
  if (!Array.isArray(d) || d.length === 0) return false;
  return d.every(
    (i) =>
      typeof i === 'object' &&
      i !== null &&
      Array.isArray(i.loc) &&
      i.loc.length > 0 &&
      i.loc.every((x: unknown) => typeof x === 'string' || typeof x === 'number') &&
      typeof i.msg === 'string' &&
      i.msg !== '' &&
      typeof i.type === 'string' &&
      i.type !== '',
  );
}

/**
 * Register beforeAll/afterAll in the current `describe` so it gets its own Herald and data
 * folder; returns an accessor for use inside the tests.
 */
export function useInProcess(opts: StartInProcessOptions = {}): () => InProcess {
  let h: InProcess | undefined;
  beforeAll(async () => {
    h = await startInProcess(opts);
  });
  afterAll(async () => {
    await h?.close();
  });
  return () => {
    if (!h) throw new Error('the in-process Herald is not started (use it inside a test)');
    return h;
  };
}
