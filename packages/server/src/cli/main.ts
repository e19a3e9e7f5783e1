#!/usr/bin/env node
// cli: `herald serve | worker | migrate | purge | install-engage-catalog | simulate | version`. The only place that sets exit codes.
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, type Config } from '../config/index.js';
import { installEngageCatalog } from '../engage/catalog.js';
import { createHerald, masterKeyFor, openStore } from '../herald.js';
import { Purger } from '../dispatch/purger.js';
import { Sealer } from '../security/sealer.js';
import { rotateMasterKey } from '../security/rotate.js';
import { SchemaTooNewError } from '../store/migrate.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseSchedule } from '../domain/retry.js';
import { simulate } from '../simulate/simulate.js';
import { VERSION } from '../version.js';

const HELP = `Herald ${VERSION}: a self-hosted, Svix-compatible webhook platform

Usage: herald <command> [options]

Commands:
  serve              Run the management API and the dispatcher
      --no-dispatch  Run the API only
  worker             Run the dispatcher only (no HTTP API)
      --no-migrate   Refuse to start if the schema needs migrating, instead of migrating
  migrate            Apply pending database migrations and exit
  purge              Run one full retention pass now (expired payloads, attempts older than
                     HERALD_ATTEMPT_RETENTION, old idempotency answers), print the counts, exit
  install-engage-catalog
                     Create or update the 11 Engage event types (idempotent) and exit
  simulate           Drive realistic Engage activity through the producer routes of a running Herald
      --tenant T     Application uid (default: sim-tenant; created, catalog installed, module on)
      --rate N       Actions per second (default 20)
      --duration D   How long, e.g. 30s or 5m (default 30s); or --count N actions
      --url U        Herald's URL (default HERALD_PUBLIC_URL); the token is HERALD_API_TOKEN
                     or the data folder's api-token
      --seed N       Seed for a repeatable run (default 1)
  rotate-master-key  Re-seal every secret under a new master key while Herald keeps running
                     (with the key file: writes a new key, re-seals, drops the old key; with
                     HERALD_MASTER_KEY: re-seals under it, opening older values with
                     HERALD_MASTER_KEY_PREVIOUS; see README)
      --keep-previous  Keep the old key in the key file afterwards
      --batch-size N   Rows re-sealed per batch (default 100)
  version            Print the version

Configuration comes from the environment; see README.md (HERALD_HOST, HERALD_PORT,
HERALD_DATA_DIR, HERALD_DATABASE_URL, HERALD_API_TOKEN, HERALD_MASTER_KEY,
HERALD_PUBLIC_URL, HERALD_LOG_LEVEL).
`;

function fail(message: string, code = 1): never {
  process.stderr.write(`herald: ${message}\n`);
  process.exit(code);
}

function config(): Config {
  try {
    return loadConfig();
  } catch (e) {
    if (e instanceof ConfigError) fail(`configuration error: ${e.message}`, 2);
    throw e;
  }
}

function describeStore(c: Config): string {
  if (c.database.kind === 'sqlite') return `SQLite at ${c.database.file}`;
  try {
    const u = new URL(c.database.url);
    return `PostgreSQL at ${u.host}${u.pathname}`;
  } catch {
    return 'PostgreSQL';
  }
}

async function serve(flags: { 'no-migrate'?: boolean; 'no-dispatch'?: boolean }, listen = true): Promise<void> {
  const c = config();
  const herald = await createHerald(c, { logger: true, migrate: !flags['no-migrate'], dispatch: !flags['no-dispatch'] });
  // Before anything is printed: a supervisor that stops Herald as soon as it says it listens must
  // find the handlers in place (stdout to a pipe is written synchronously).
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    herald.api.log.info({ signal }, 'shutting down');
    await herald.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  const out = process.stdout;
  if (listen) {
    const url = await herald.api.listen({ host: c.host, port: c.port });
    out.write(`Herald ${VERSION} listening on ${url}${herald.dispatcher ? '' : ' (API only: --no-dispatch)'}\n`);
    out.write(`API docs: ${url}/docs (OpenAPI: ${url}/api/v1/openapi.json)\n`);
  } else {
    out.write(`Herald ${VERSION} worker ${herald.dispatcher?.owner} dispatching\n`);
  }
  out.write(`Store: ${describeStore(c)}\n`);
  if (herald.generatedToken) {
    out.write(
      `\nGenerated the operator API token and saved it to ${c.dataDir}/api-token (mode 0600). It is shown only this once:\n\n` +
        `  ${herald.generatedToken}\n\n` +
        `Send it as a bearer token, e.g.  curl -H "Authorization: Bearer <token>" ${c.publicUrl}/api/v1/app\n` +
        'or set HERALD_API_TOKEN to choose your own.\n\n',
    );
  } else if (!c.apiToken) {
    out.write(`Operator token: read it from ${c.dataDir}/api-token\n`);
  }
}

async function migrate(): Promise<void> {
  const c = config();
  const store = await openStore(c, new Sealer(masterKeyFor(c)), true);
  process.stdout.write(`Migrated ${describeStore(c)}: schema is up to date\n`);
  await store.close();
}

async function purge(): Promise<void> {
  const c = config();
  const store = await openStore(c, new Sealer(masterKeyFor(c)), true);
  try {
    const purger = new Purger({
      store,
      now: Date.now,
      attemptRetentionMs: c.retention.attemptMs,
      batchSize: c.retention.batchSize,
      intervalMs: c.retention.intervalMs,
    });
    const started = Date.now();
    const r = await purger.runPass();
    const kept = c.retention.attemptMs === null ? ' (attempts kept forever: HERALD_ATTEMPT_RETENTION=forever)' : '';
    process.stdout.write(
      `Purged ${describeStore(c)} in ${Date.now() - started} ms: ${r.payloads} expired payloads cleared, ` +
        `${r.attempts} attempts deleted, ${r.idempotency} idempotency answers deleted${kept}\n`,
    );
  } finally {
    await store.close();
  }
}

async function rotateKey(flags: { 'keep-previous'?: boolean; 'batch-size'?: string }): Promise<void> {
  const c = config();
  const report = await rotateMasterKey(c, {
    openStore: (sealer) => openStore(c, sealer, true),
    keepPrevious: flags['keep-previous'],
    batchSize: Math.floor(positiveNumber('batch-size', flags['batch-size'], 100)),
    log: (line) => process.stdout.write(`${line}\n`),
  });
  process.stdout.write(`Master key rotated: ${report.resealed} row(s) re-sealed under key ${report.keyId} (${describeStore(c)})\n`);
}

async function installCatalog(): Promise<void> {
  const c = config();
  const store = await openStore(c, new Sealer(masterKeyFor(c)), true);
  try {
    const r = await installEngageCatalog(store, Date.now());
    process.stdout.write(
      `Engage catalog: ${r.created.length} created, ${r.updated.length} updated, ${r.unchanged.length} unchanged\n`,
    );
  } finally {
    await store.close();
  }
}

function positiveNumber(flag: string, v: string | undefined, def: number): number {
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) fail(`--${flag} must be a positive number, got '${v}'`, 2);
  return n;
}

async function runSimulate(flags: { tenant?: string; rate?: string; duration?: string; count?: string; url?: string; seed?: string }) {
  const c = config();
  let token = c.apiToken;
  if (!token) {
    try {
      token = readFileSync(join(c.dataDir, 'api-token'), 'utf8').trim();
    } catch {
      fail(`no operator token: set HERALD_API_TOKEN or start Herald once so ${c.dataDir}/api-token exists`, 2);
    }
  }
  let durationMs: number | undefined;
  if (flags.duration !== undefined) {
    try {
      durationMs = parseSchedule(flags.duration)[0];
    } catch {
      fail(`--duration must be a duration such as 30s or 5m, got '${flags.duration}'`, 2);
    }
  }
  const count = flags.count === undefined ? undefined : Math.floor(positiveNumber('count', flags.count, 1));
  const tenant = flags.tenant ?? 'sim-tenant';
  if (!/^[a-zA-Z0-9\-_.]{1,256}$/.test(tenant)) fail(`--tenant must be an application uid (letters, digits, '-', '_', '.')`, 2);
  const rate = positiveNumber('rate', flags.rate, 20);
  const url = flags.url ?? c.publicUrl;
  process.stdout.write(`Simulating Engage activity for tenant '${tenant}' at ${rate}/s against ${url}\n`);
  const report = await simulate({
    url,
    token: token!,
    tenant,
    rate,
    count,
    durationMs: durationMs ?? (count === undefined ? 30_000 : undefined),
    seed: Math.floor(positiveNumber('seed', flags.seed, 1)),
  });
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  if (report.errors.length) process.exitCode = 1;
}

async function main(): Promise<void> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    strict: true,
    options: {
      'no-dispatch': { type: 'boolean' },
      'no-migrate': { type: 'boolean' },
      'keep-previous': { type: 'boolean' },
      'batch-size': { type: 'string' },
      tenant: { type: 'string' },
      rate: { type: 'string' },
      duration: { type: 'string' },
      count: { type: 'string' },
      url: { type: 'string' },
      seed: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const cmd = positionals[0];
  if (values.help || cmd === 'help' || cmd === undefined) {
    process.stdout.write(HELP);
    return;
  }
  switch (cmd) {
    case 'serve':
      return serve(values);
    case 'worker':
      return serve(values, false);
    case 'migrate':
      return migrate();
    case 'purge':
      return purge();
    case 'rotate-master-key':
      return rotateKey(values);
    case 'install-engage-catalog':
      return installCatalog();
    case 'simulate':
      return runSimulate(values);
    case 'version':
      process.stdout.write(`${VERSION}\n`);
      return;
    default:
      fail(`unknown command '${cmd}'\n\n${HELP}`, 2);
  }
}

main().catch((e: unknown) => {
  if (e instanceof SchemaTooNewError) fail(e.message, 3);
  if (e instanceof Error && (e as NodeJS.ErrnoException).code === 'EADDRINUSE') fail(`cannot listen: ${e.message}`, 1);
  fail(e instanceof Error ? e.message : String(e));
});
