#!/usr/bin/env node
// cli: `herald <command>` (the table is in commands.ts). The only place that sets exit codes.
import { parseArgs } from 'node:util';
import { backup, restore } from './backup.js';
import { COMMANDS, commandHelp, generalHelp } from './commands.js';
import { doctor } from './doctor.js';
import { Listener, ListenRefused } from './listen.js';
import { ConfigError, loadConfig, type Config } from '../config/index.js';
import { installEngageCatalog } from '../engage/catalog.js';
import { createHerald, masterKeyFor, openStore, schemaVersionFor } from '../herald.js';
import { Purger } from '../dispatch/purger.js';
import { Sealer } from '../security/sealer.js';
import { rotateMasterKey } from '../security/rotate.js';
import { SchemaTooNewError } from '../store/migrate.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseSchedule } from '../domain/retry.js';
import { simulate } from '../simulate/simulate.js';
import { VERSION } from '../version.js';

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
    process.stdout.write(`Engage catalog: ${r.created.length} created, ${r.updated.length} updated, ${r.unchanged.length} unchanged\n`);
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

async function runListen(target: string, flags: { app?: string; events?: string; server?: string; token?: string; lease?: string }): Promise<void> {
  if (!flags.app) fail('listen: --app is required (the application id or uid)', 2);
  try {
    const u = new URL(target);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('not http(s)');
  } catch {
    fail(`listen: <local-url> must be an http(s) URL, got '${target}'`, 2);
  }
  const c = config();
  let token = flags.token ?? c.apiToken;
  if (!token) {
    try {
      token = readFileSync(join(c.dataDir, 'api-token'), 'utf8').trim();
    } catch {
      fail(`listen: no token: pass --token, set HERALD_API_TOKEN, or run where ${c.dataDir}/api-token exists`, 2);
    }
  }
  const leaseSecs = Math.floor(positiveNumber('lease', flags.lease, 60));
  if (leaseSecs < 10) fail('listen: --lease must be at least 10 seconds', 2);
  const events = flags.events
    ? flags.events
        .split(',')
        .map((e) => e.trim())
        .filter(Boolean)
    : null;
  const listener = new Listener({
    target,
    app: flags.app,
    events: events?.length ? events : null,
    server: flags.server ?? c.publicUrl,
    token: token!,
    leaseSecs,
    out,
    err: (line) => process.stderr.write(`${line}\n`),
  });
  let stopping = false;
  const stop = () => {
    if (stopping) process.exit(130);
    stopping = true;
    listener.close();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  try {
    await listener.open();
  } catch (e) {
    fail(`listen: could not create the polling endpoint: ${(e as Error).message}`, e instanceof ListenRefused && e.status < 500 ? 2 : 1);
  }
  try {
    await listener.run();
  } catch (e) {
    process.stderr.write(`herald: listen: ${(e as Error).message}\n`);
    process.exitCode = 1;
  } finally {
    await listener.remove();
  }
}

function printVersion(): void {
  process.stdout.write(`${VERSION}\nschema version: ${schemaVersionFor('sqlite')} (SQLite), ${schemaVersionFor('postgres')} (PostgreSQL)\n`);
}

async function main(argv: string[]): Promise<void> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === '--help' || cmd === '-h') {
    process.stdout.write(generalHelp());
    return;
  }
  if (cmd === '--version') return printVersion();
  const spec = Object.hasOwn(COMMANDS, cmd) ? COMMANDS[cmd]! : undefined;
  if (!spec) fail(`unknown command '${cmd}'. The commands are: ${Object.keys(COMMANDS).join(', ')}. Run \`herald --help\` for more.`, 2);
  let parsed: { values: Record<string, string | boolean | undefined>; positionals: string[] };
  try {
    const options: Record<string, { type: 'boolean' | 'string'; short?: string }> = { help: { type: 'boolean', short: 'h' } };
    for (const [flag, o] of Object.entries(spec.options ?? {})) options[flag] = { type: o.type };
    parsed = parseArgs({ args: rest, options, strict: true, allowPositionals: true });
  } catch (e) {
    fail(`${cmd}: ${(e as Error).message}\nRun \`herald ${cmd} --help\` for its options.`, 2);
  }
  const values = parsed.values;
  const args = parsed.positionals;
  if (values.help) {
    process.stdout.write(commandHelp(cmd));
    return;
  }
  const allowed = spec.args ?? [];
  const required = allowed.filter((a) => a.startsWith('<')).length;
  if (args.length < required || args.length > allowed.length) {
    const usage = `herald ${cmd}${allowed.length ? ` ${allowed.join(' ')}` : ''}`;
    fail(`${cmd}: expected ${allowed.length ? allowed.join(' ') : 'no arguments'}, got ${args.length ? `'${args.join(' ')}'` : 'none'} (usage: ${usage})`, 2);
  }
  const str = (k: string) => values[k] as string | undefined;
  const bool = (k: string) => values[k] as boolean | undefined;
  switch (cmd) {
    case 'serve':
      return serve({ 'no-dispatch': bool('no-dispatch'), 'no-migrate': bool('no-migrate') });
    case 'worker':
      return serve({ 'no-migrate': bool('no-migrate') }, false);
    case 'migrate':
      return migrate();
    case 'purge':
      return purge();
    case 'rotate-master-key':
      return rotateKey({ 'keep-previous': bool('keep-previous'), 'batch-size': str('batch-size') });
    case 'install-engage-catalog':
      return installCatalog();
    case 'simulate':
      return runSimulate({ tenant: str('tenant'), rate: str('rate'), duration: str('duration'), count: str('count'), url: str('url'), seed: str('seed') });
    case 'listen':
      return runListen(args[0]!, { app: str('app'), events: str('events'), server: str('server'), token: str('token'), lease: str('lease') });
    case 'backup':
      return exitWith(await backup(config(), args[0]!, out));
    case 'restore':
      return exitWith(await restore(config(), args[0]!, out));
    case 'doctor':
      return exitWith(await doctor(loadConfig, out));
    case 'version':
      return printVersion();
    case 'help': {
      const topic = args[0];
      if (topic === undefined) process.stdout.write(generalHelp());
      else if (Object.hasOwn(COMMANDS, topic)) process.stdout.write(commandHelp(topic));
      else fail(`unknown command '${topic}'. The commands are: ${Object.keys(COMMANDS).join(', ')}.`, 2);
      return;
    }
  }
}

const out = (line: string) => process.stdout.write(`${line}\n`);

function exitWith(code: number): void {
  process.exitCode = code;
}

main(process.argv.slice(2)).catch((e: unknown) => {
  if (e instanceof SchemaTooNewError) fail(e.message, 3);
  if (e instanceof Error && (e as NodeJS.ErrnoException).code === 'EADDRINUSE') fail(`cannot listen: ${e.message}`, 1);
  fail(e instanceof Error ? e.message : String(e));
});
