// Assembles a running Herald from a Config: the store, the master key, the operator token and the
// API. The CLI and the tests both start Herald through here.
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { Authenticator } from './api/auth.js';
import { StoreHealth } from './api/store-health.js';
import { Contract } from './api/contract.js';
import type { ApiDeps } from './api/route.js';
import { buildApi } from './api/server.js';
import { cutConnections, drainConnections } from './api/connections.js';
import type { Config } from './config/index.js';
import { IdGenerator } from './domain/ids.js';
import { checkSourceAddresses } from './delivery/egress.js';
import { Sender } from './delivery/send.js';
import { BrokerSender } from './delivery/brokers.js';
import { Dispatcher } from './dispatch/dispatcher.js';
import { Purger } from './dispatch/purger.js';
import { Metrics } from './metrics/metrics.js';
import { OperationalEvents } from './operational/operational.js';
import { checkMasterKeyOpens, keyRingFor, sealerFor } from './security/keyring.js';
import type { Sealer } from './security/sealer.js';
import { SsrfGuard } from './security/ssrf.js';
import { loadMigrations } from './store/migrate.js';
import { PgStore } from './store/postgres/pg-store.js';
import { SqliteStore } from './store/sqlite/sqlite-store.js';
import type { Store } from './store/store.js';
import { startOtelMetrics } from './telemetry/otel-metrics.js';
import { startTracing } from './telemetry/tracing.js';
import { TransformPool } from './transform/pool.js';
import { VERSION } from './version.js';

export interface Herald {
  config: Config;
  store: Store;
  api: FastifyInstance;
  deps: ApiDeps;
  /** Null when started without a dispatcher (`serve --no-dispatch`). */
  dispatcher: Dispatcher | null;
  /** The retention purger; it runs where the dispatcher runs. */
  purger: Purger | null;
  /** Set when this start generated the operator token (so the CLI can show it once). */
  generatedToken: string | null;
  close(): Promise<void>;
}

export interface StartOptions {
  logger?: boolean;
  now?: () => number;
  /** Apply pending migrations on start (default true); false refuses to start instead. */
  migrate?: boolean;
  /** Run the dispatcher in this process (default true). */
  dispatch?: boolean;
}

/** Read a secret file, or create it (mode 0600) with `make()` the first time. */
function secretFile(file: string, make: () => string): { value: string; created: boolean } {
  if (existsSync(file)) return { value: readFileSync(file, 'utf8').trim(), created: false };
  const value = make();
  writeFileSync(file, `${value}\n`, { mode: 0o600, flag: 'wx' });
  chmodSync(file, 0o600);
  return { value, created: true };
}

/**
 * Open the configured store, applying pending migrations unless `migrate` is false (then a schema
 * that needs them refuses to open). Either way a schema this Herald cannot run on (migrated by a
 * newer Herald past a breaking migration; store/migrate.ts) refuses with SchemaTooNewError.
 */
export async function openStore(config: Config, sealer: Sealer, migrate = true): Promise<Store> {
  if (config.database.kind === 'postgres') return PgStore.open({ url: config.database.url, sealer, migrate });
  return new SqliteStore({ file: config.database.file, sealer, migrate });
}

/**
 * The schema version this build brings a database to: its latest migration for that store. A store
 * that opened is at exactly this version (an older one was migrated or refused, a newer one refused).
 */
export function schemaVersionFor(kind: Config['database']['kind']): number {
  return loadMigrations(kind).at(-1)?.version ?? 0;
}

/** The current master key (from HERALD_MASTER_KEY, or the key file, created on first start). */
export function masterKeyFor(config: Config): Buffer {
  return keyRingFor(config).ring.current;
}

export async function createHerald(config: Config, opts: StartOptions = {}): Promise<Herald> {
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const sealer = sealerFor(config);
  let token = config.apiToken;
  let generatedToken: string | null = null;
  if (!token) {
    const t = secretFile(join(config.dataDir, 'api-token'), () => `hsk_${randomBytes(24).toString('base64url')}`);
    token = t.value;
    if (t.created) generatedToken = t.value;
  }
  const now = opts.now ?? Date.now;
  const store = await openStore(config, sealer, opts.migrate ?? true);
  // The wrong master key refuses to start rather than failing every delivery and secret read.
  const keyCheck = await checkMasterKeyOpens(store, sealer, config).catch(async (e: unknown) => {
    await store.close();
    throw e;
  });
  // Loaded only when the OTEL_* environment asks for traces (telemetry/tracing.ts).
  const tracing = config.tracing ? await startTracing(VERSION, config.tracing.exporter) : null;
  const ids = new IdGenerator((n) => randomBytes(n));
  const operational = new OperationalEvents({ store, ids, now, appUid: config.operationalAppUid });
  const metrics = new Metrics(store, now);
  if (config.otelMetrics) metrics.otel = await startOtelMetrics(VERSION, config.otelMetrics.exporter, config.otelMetrics.intervalMs);
  // Aborted when close() starts, so long polls answer at once instead of holding up the stop.
  const stopping = new AbortController();
  // One pool per process, shared by the API (checks, simulations) and the dispatcher; its workers start on first use.
  const transforms = new TransformPool({ size: config.delivery.transformWorkers });
  const deps: ApiDeps = {
    store,
    config,
    contract: new Contract(VERSION),
    auth: new Authenticator(token, () => sealer.masterKeys(), store, now),
    ids,
    now,
    version: VERSION,
    schemaVersion: schemaVersionFor(config.database.kind),
    operational,
    metrics,
    ssrf: new SsrfGuard(config.ssrfAllowlist),
    storeHealth: new StoreHealth(store, metrics, now),
    closing: stopping.signal,
    tracing,
    transforms,
  };
  const api = await buildApi(deps, { logger: opts.logger });
  if (keyCheck.unopened > 0) {
    api.log.warn(
      { sampled: keyCheck.sampled, unopened: keyCheck.unopened },
      'the master key opens only some of the endpoint secrets sampled; deliveries to the others fail until their key is configured (herald doctor)',
    );
  }
  let dispatcher: Dispatcher | null = null;
  let purger: Purger | null = null;
  if (opts.dispatch ?? true) {
    await checkSourceAddresses(config.egress.addresses).catch(async (e: unknown) => {
      await api.close();
      await store.close();
      throw e;
    });
    const d = config.delivery;
    dispatcher = new Dispatcher({
      store,
      ids: deps.ids,
      now,
      sender: new Sender({
        timeoutMs: d.timeoutMs,
        headerPrefixes: d.signatureHeaders,
        userAgent: `Herald-Webhooks/${VERSION}`,
        guard: deps.ssrf,
        egress: config.egress,
        extraCaCerts: config.egress.extraCaCerts,
      }),
      brokers: new BrokerSender({
        headerPrefixes: d.signatureHeaders,
        guard: deps.ssrf,
        timeoutMs: d.timeoutMs,
        configOf: async (appId, id) => (await store.getDestination(appId, id))?.config ?? null,
      }),
      retryScheduleMs: d.retryScheduleMs,
      concurrency: d.concurrency,
      perEndpointConcurrency: d.perEndpointConcurrency,
      circuit: d.circuit,
      leaseMs: d.leaseMs,
      attemptTimeoutMs: d.timeoutMs,
      pollMs: d.pollMs,
      transforms,
      log: api.log,
      onAttempt: (e) => {
        const outcome = e.result.outcome.kind === 'success' ? 'success' : e.next;
        deps.metrics.attempted(outcome, e.result.durationMs / 1000);
        if (e.result.outcome.kind !== 'success' && e.result.outcome.kind !== 'cancel') {
          api.log.warn(
            { msgId: e.attempt.msgId, attemptId: e.attempt.id, endpointId: e.endpoint.id, statusCode: e.result.statusCode, next: e.next },
            'delivery attempt failed',
          );
        }
        void operational.attempted(e.attempt, e.attemptNumber, e.next, e.msgEventId);
      },
      onEndpointDisabled: (e) => void operational.endpointDisabled(e.appId, e.endpointId, e.failSince),
      onCircuit: (e) => {
        deps.metrics.circuitChanges.inc({ change: e.change });
        api.log.warn({ endpointId: e.endpointId, consecutiveFailures: e.failures }, `endpoint circuit ${e.change}`);
        void operational.circuitChanged(e.change, e.appId, e.endpointId, e.failures, e.circuit.since);
      },
      tracing,
    });
    const d0 = dispatcher;
    deps.endpointLoad = (id) => d0.endpointLoad(id);
    dispatcher.start();
    purger = new Purger({
      store,
      now,
      attemptRetentionMs: config.retention.attemptMs,
      batchSize: config.retention.batchSize,
      intervalMs: config.retention.intervalMs,
      log: api.log,
    });
    purger.start();
  }
  return {
    config,
    store,
    api,
    deps,
    dispatcher,
    purger,
    generatedToken,
    async close() {
      // Stop accepting; idle connections (keep-alive ones, and those that never sent a byte) close
      // at once, and requests in flight get the grace period to finish before their connections
      // are cut. Deliveries in flight settle in dispatcher.stop().
      stopping.abort();
      const force = setTimeout(() => cutConnections(api.server), config.http.shutdownGraceMs);
      force.unref();
      const closed = api.close();
      drainConnections(api.server);
      await closed.finally(() => clearTimeout(force));
      await purger?.stop();
      await dispatcher?.stop();
      await transforms.close();
      await store.close();
      // Export the spans still buffered, and the metrics' last figures.
      await tracing?.shutdown();
      await metrics.otel?.shutdown();
    },
  };
}
