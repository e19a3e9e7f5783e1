// compose.yaml and the Dockerfile agree with each other and with Herald: the file parses, every
// Herald service runs a command the CLI knows with the image's data volume, the master key comes
// from the compose secret through HERALD_MASTER_KEY_FILE, each service's environment (with the
// image's) is a configuration loadConfig accepts, and the health checks ask what the image serves.
// The stack itself is brought up by nobody here (no PostgreSQL image on this machine);
// scripts/container-smoke.sh builds and runs the image.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { COMMANDS } from '../src/cli/commands.js';
import { loadConfig } from '../src/config/index.js';
import { parseSchedule } from '../src/domain/retry.js';
import { REPO_ROOT } from './helpers/cli.js';

const compose = parse(readFileSync(join(REPO_ROOT, 'compose.yaml'), 'utf8'), { merge: true }) as any;

/** The Dockerfile's instructions, continuation lines joined, comments dropped. */
const instructions = readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8')
  .replace(/\\\n/g, ' ')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'))
  .map((l) => {
    const [op, ...rest] = l.split(/\s+/);
    return { op: op!.toUpperCase(), args: rest.join(' ') };
  });
const finalStage = instructions.slice(instructions.map((i) => i.op).lastIndexOf('FROM'));
const of = (op: string) => finalStage.filter((i) => i.op === op).map((i) => i.args);
const imageEnv: Record<string, string> = Object.fromEntries(of('ENV').flatMap((a) => [...a.matchAll(/(\w+)=(\S+)/g)].map((m) => [m[1]!, m[2]!])));

/** `${VAR:-default}` as compose substitutes it with nothing set. */
const substitute = (v: string) => String(v).replace(/\$\{\w+:-([^}]*)\}/g, '$1');

const dir = mkdtempSync(join(tmpdir(), 'herald-compose-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const herald = Object.entries(compose.services as Record<string, any>).filter(([, s]) => s.build !== undefined);

describe('compose.yaml', () => {
  it('has PostgreSQL, one API process and two workers, all Herald services built from this Dockerfile', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['api', 'db', 'worker-1', 'worker-2']);
    expect(herald.map(([n]) => n).sort()).toEqual(['api', 'worker-1', 'worker-2']);
    for (const [, s] of herald) expect(s.build).toBe('.');
    expect(compose.services.api.command).toEqual(['serve', '--no-dispatch']);
    expect(compose.services['worker-1'].command[0]).toBe('worker');
    expect(compose.services['worker-2'].command).toEqual(compose.services['worker-1'].command);
  });

  it('runs only commands and options the CLI knows', () => {
    for (const [name, s] of herald) {
      const [cmd, ...flags] = s.command as string[];
      expect(Object.keys(COMMANDS), name).toContain(cmd);
      for (const f of flags)
        expect(
          Object.keys(COMMANDS[cmd!]!.options ?? {}).map((o) => `--${o}`),
          `${name} ${f}`,
        ).toContain(f);
    }
  });

  it('mounts a named volume where the image keeps its data', () => {
    expect(of('VOLUME')).toEqual(['/data']);
    expect(imageEnv.HERALD_DATA_DIR).toBe('/data');
    for (const [name, s] of herald) {
      const mount = (s.volumes as string[]).find((v) => v.endsWith(':/data'));
      expect(mount, name).toBeDefined();
      expect(Object.keys(compose.volumes)).toContain(mount!.split(':')[0]);
    }
    expect(compose.services.db.volumes[0]).toMatch(/^pg-data:\/var\/lib\/postgresql\/data$/);
  });

  it('gives every Herald service the master key as a compose secret, read through HERALD_MASTER_KEY_FILE', () => {
    expect(compose.secrets.master_key.file).toBe('./master.key');
    for (const [name, s] of herald) {
      const secret = (s.secrets as any[]).map((x) => (typeof x === 'string' ? { source: x } : x)).find((x) => x.source === 'master_key');
      expect(secret, name).toBeDefined();
      expect(s.environment.HERALD_MASTER_KEY_FILE, name).toBe(`/run/secrets/${secret.target ?? secret.source}`);
      expect(s.environment.HERALD_MASTER_KEY, name).toBeUndefined();
      expect(String(secret.uid ?? '10001')).toBe(of('USER')[0]!.split(':')[0]);
    }
  });

  it("each service's environment, over the image's, is a configuration Herald accepts, on PostgreSQL", () => {
    const key = join(dir, 'master_key');
    writeFileSync(key, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
    for (const [name, s] of herald) {
      const env: Record<string, string> = { ...imageEnv };
      for (const [k, v] of Object.entries(s.environment as Record<string, string>)) env[k] = substitute(v);
      env.HERALD_MASTER_KEY_FILE = key;
      const c = loadConfig(env);
      expect(c.database.kind, name).toBe('postgres');
      expect(new URL((c.database as { url: string }).url).hostname, name).toBe('db');
      expect(c.host).toBe('0.0.0.0');
      expect(c.masterKey).not.toBeNull();
    }
  });

  it('publishes the port the image listens on, on loopback only', () => {
    expect(imageEnv.HERALD_PORT).toBe('8071');
    expect(of('EXPOSE')).toEqual(['8071']);
    expect(compose.services.api.ports).toEqual(['127.0.0.1:8071:8071']);
    for (const w of ['worker-1', 'worker-2']) expect(compose.services[w].ports).toBeUndefined();
  });

  it('health-checks every service: pg_isready, the API on /api/v1/health, workers with `herald doctor`', () => {
    expect(compose.services.db.healthcheck.test).toContain('pg_isready');
    expect(of('HEALTHCHECK')[0]).toContain("/api/v1/health')");
    expect(compose.services.api.healthcheck.test.join(' ')).toContain(`http://127.0.0.1:${imageEnv.HERALD_PORT}/api/v1/health`);
    for (const w of ['worker-1', 'worker-2']) expect(compose.services[w].healthcheck.test).toEqual(['CMD', 'herald', 'doctor']);
    // The image provides the `herald` command the worker check runs.
    expect(instructions.some((i) => i.op === 'RUN' && i.args.includes('/usr/local/bin/herald'))).toBe(true);
    expect(compose.services.api.depends_on.db.condition).toBe('service_healthy');
    for (const w of ['worker-1', 'worker-2']) expect(compose.services[w].depends_on.api.condition).toBe('service_healthy');
  });

  it('waits on SIGTERM long enough for deliveries in flight to settle (delivery timeout plus a second)', () => {
    const settle = loadConfig({ HERALD_DATA_DIR: dir }).delivery.timeoutMs + 1000;
    for (const [name, s] of herald) expect(parseSchedule(s.stop_grace_period)[0], name).toBeGreaterThanOrEqual(settle);
  });
});

describe('Dockerfile', () => {
  it('builds in stages from an official slim Node image by default, and runs as a non-root user', () => {
    const froms = instructions.filter((i) => i.op === 'FROM');
    expect(froms.length).toBeGreaterThanOrEqual(3);
    expect(instructions.find((i) => i.op === 'ARG' && i.args.startsWith('NODE_IMAGE='))!.args).toMatch(/^NODE_IMAGE=docker\.io\/library\/node:20-slim$/);
    expect(froms[0]!.args).toMatch(/^\$\{BUILD_IMAGE\} AS build$/);
    const user = of('USER')[0]!;
    expect(user).toMatch(/^\d+:\d+$/);
    expect(user.startsWith('0:')).toBe(false);
    expect(imageEnv.HERALD_HOST).toBe('0.0.0.0');
    expect(of('ENTRYPOINT')[0]).toContain('/app/packages/server/dist/cli/main.js');
    expect(of('CMD')).toEqual(['["serve"]']);
    expect(of('STOPSIGNAL')).toEqual(['SIGTERM']);
  });

  it('installs only the server production dependencies in what runs', () => {
    const prod = instructions.find((i) => i.op === 'RUN' && i.args.includes('--omit=dev'))!;
    expect(prod.args).toContain('-w @herald/server');
  });
});
