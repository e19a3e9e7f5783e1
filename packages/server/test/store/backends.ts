// The two Store implementations, set up for the conformance suite. Each suite file calls
// `eachStore` once: on SQLite every test gets a fresh file; on PostgreSQL the file gets its own
// database (migrated once) and every test starts from empty tables.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe } from 'vitest';
import { Sealer } from '../../src/security/sealer.js';
import { PgStore } from '../../src/store/postgres/pg-store.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { Store } from '../../src/store/store.js';
import { resetIds } from './records.js';
import { createTestDatabase, HERALD_TABLES, type TestDatabase } from '../helpers/pg.js';

export interface StoreUnderTest {
  store: Store;
  /** Run SQL that means the same on both dialects (plain SELECTs with `$1`-style parameters). */
  raw(sql: string, params?: unknown[]): Promise<Record<string, unknown>[]>;
  /** A second store on the same data, as another process would have (PostgreSQL only; SQLite: the same store). */
  sibling(): Promise<Store>;
}

interface Backend {
  name: 'sqlite' | 'postgres';
  setup(): void;
  open(): Promise<StoreUnderTest & { close(): Promise<void> }>;
}

const sqlite: Backend = {
  name: 'sqlite',
  setup() {},
  async open() {
    const dir = mkdtempSync(join(tmpdir(), 'herald-conformance-'));
    const store = new SqliteStore({ file: join(dir, 'h.db'), sealer: new Sealer(randomBytes(32)) });
    return {
      store,
      // SQLite takes `?` placeholders; the suite writes `$n` in order, so they map one to one.
      raw: async (sql, params = []) => store.db.prepare(sql.replace(/\$\d+/g, '?')).all(...params) as Record<string, unknown>[],
      sibling: async () => store,
      async close() {
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
};

/** A backend per describe block, so each block has its own database. */
const postgres = (): Backend => {
  let db: TestDatabase | undefined;
  return {
    name: 'postgres',
    setup() {
      beforeAll(async () => {
        db = await createTestDatabase();
      });
      afterAll(async () => {
        await db?.drop();
      });
    },
    async open() {
      const key = randomBytes(32);
      const store = await PgStore.open({ url: db!.url, sealer: new Sealer(key) });
      await store.pool.query(`TRUNCATE ${HERALD_TABLES.join(', ')}`);
      const siblings: PgStore[] = [];
      return {
        store,
        raw: async (sql, params = []) => (await store.pool.query(sql, params)).rows,
        async sibling() {
          const s = await PgStore.open({ url: db!.url, sealer: new Sealer(key) });
          siblings.push(s);
          return s;
        },
        async close() {
          for (const s of siblings) await s.close();
          await store.close();
        },
      };
    },
  };
};

export const BACKENDS = (): Backend[] => [sqlite, postgres()];

/**
 * Define `body` once per store. Inside, `t()` is the current test's store (fresh for each test).
 */
export function eachStore(title: string, body: (t: () => StoreUnderTest, kind: 'sqlite' | 'postgres') => void): void {
  describe.each(BACKENDS())(`${title} ($name)`, (b) => {
    b.setup();
    let cur: (StoreUnderTest & { close(): Promise<void> }) | undefined;
    beforeEach(async () => {
      resetIds();
      cur = await b.open();
    });
    afterEach(async () => {
      await cur?.close();
      cur = undefined;
    });
    body(() => {
      if (!cur) throw new Error('no store: use it inside a test');
      return cur;
    }, b.name);
  });
}
