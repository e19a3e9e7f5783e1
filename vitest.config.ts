import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

/**
 * The API and delivery suites: they run an in-process Herald (test/helpers/inproc.ts), which takes
 * its store from HERALD_TEST_DATABASE, and read rows only through the API, the Store contract or
 * the portable SQL of test/helpers/rows.ts. The `postgres` project runs them a second time on
 * PostgreSQL.
 *
 * Every other test file runs once, in the `sqlite` project, for one of these reasons:
 * - it is about the SQLite file itself: durability.test.ts, delivery/sigkill.test.ts (a killed
 *   process and the file it left), store/sqlite-reads.test.ts, cli.test.ts (the embedded store's
 *   migrations and files), secrets-at-rest.test.ts' raw file search;
 * - it already runs on both stores by construction: the store conformance suite (store/*, through
 *   `eachStore`), postgres-*.test.ts, audit-log, master-key-rotation, retention,
 *   engage/at-rest.test.ts, listen.test.ts (each `describe.each`es or names its stores);
 * - it launches `herald serve` as a process on its default store (delivery/processes,
 *   sdk-compat, sdk-kitchen-sink, secrets-in-logs, engage/simulate, delivery/timeout): PostgreSQL
 *   processes have their own suites (postgres-processes, postgres-api, postgres-*-sigkill);
 * - it touches no store (config, ids, sealer, json-span, delivery/one-signer, the other packages).
 */
const BOTH_STORES = [
  'applications',
  'attempts',
  'auth',
  'bad-input',
  'contract',
  'cors',
  'destinations',
  'endpoint-timeseries',
  'endpoints',
  'event-types',
  'schema-enforcement',
  'hostile-input',
  'idempotency',
  'messages',
  'portal',
  'rate-limit',
  'source-ips',
  'ssrf',
  'engage/encryption',
  'engage/producer',
  'engage/settings',
  'delivery/auto-disable',
  'delivery/egress',
  'delivery/filters',
  'delivery/operational',
  'delivery/retries',
  'delivery/retry-policy',
  'delivery/content-filter',
  'delivery/signing',
  'delivery/request-headers',
  'delivery/throttle',
  'delivery/holds',
  'delivery/circuit',
  'delivery/adaptive-concurrency',
  'delivery/ordering',
  'delivery/endpoint-auth',
  'delivery/brokers',
  'destination-brokers',
  'delivery/transformation',
].map((f) => `packages/server/test/${f}.test.ts`);

export default defineConfig({
  resolve: {
    // Tests import workspace packages from source, so they never run against a stale dist/: every
    // package that is imported by name (the server and the dashboard are applications, never
    // imported as packages). Code run as a child process (`herald serve`, the gateway's CLI) runs
    // from dist/, which `npm test` builds first.
    alias: Object.fromEntries(
      ['brokers', 'config', 'engage', 'receiver', 'receive-gateway'].map((p) => [
        `@herald/${p}`,
        fileURLToPath(new URL(`./packages/${p}/src/index.ts`, import.meta.url)),
      ]),
    ),
  },
  test: {
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // `npx vitest run <file>` runs a file in every project it belongs to; add `--project sqlite`
    // or `--project postgres` for one store.
    projects: [
      { extends: true, test: { name: 'sqlite', include: ['packages/*/test/**/*.test.ts'], env: { HERALD_TEST_DATABASE: 'sqlite' } } },
      { extends: true, test: { name: 'postgres', include: BOTH_STORES, env: { HERALD_TEST_DATABASE: 'postgres' } } },
    ],
  },
});
