// Configuration is read once and validated: every bad value names its variable and what is allowed.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDuration } from '@herald/config';
import { describe, expect, it } from 'vitest';
import { generalHelp } from '../src/cli/commands.js';
import { ConfigError, loadConfig, SERVER_VARIABLES } from '../src/config/index.js';
import { DEFAULT_RETRY_SCHEDULE_MS, parseSchedule } from '../src/domain/retry.js';

const base = { HERALD_DATA_DIR: '/tmp/herald-config-test' };
const load = (env: Record<string, string>) => loadConfig({ ...base, ...env });
function refuses(env: Record<string, string>, variable: string, hint: RegExp): void {
  let err: unknown;
  try {
    load(env);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(ConfigError);
  expect((err as ConfigError).variable).toBe(variable);
  expect((err as Error).message).toMatch(hint);
}

describe('config', () => {
  it('has the documented defaults', () => {
    const c = load({});
    expect(c.host).toBe('127.0.0.1');
    expect(c.port).toBe(8071);
    expect(c.database).toEqual({ kind: 'sqlite', file: '/tmp/herald-config-test/herald.db' });
    expect(c.delivery.retryScheduleMs).toEqual(DEFAULT_RETRY_SCHEDULE_MS);
    expect(c.delivery.retryScheduleMs).toEqual([5e3, 3e5, 18e5, 72e5, 18e6, 36e6, 36e6]);
    expect(c.delivery.timeoutMs).toBe(15_000);
    expect(c.delivery.signatureHeaders).toEqual(['svix', 'webhook']);
    expect(c.operationalAppUid).toBe('herald-operational');
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('turns OpenTelemetry traces on only when the OTEL_* environment asks, with the protocol it names', () => {
    expect(load({}).tracing).toBeNull();
    expect(load({ OTEL_SERVICE_NAME: 'herald' }).tracing).toBeNull();
    expect(load({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }).tracing).toEqual({ exporter: 'proto' });
    expect(load({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://c:4318/v1/traces', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }).tracing).toEqual({
      exporter: 'json',
    });
    expect(
      load({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/protobuf' })
        .tracing,
    ).toEqual({ exporter: 'proto' });
    expect(load({ OTEL_TRACES_EXPORTER: 'otlp' }).tracing).toEqual({ exporter: 'proto' });
    expect(load({ OTEL_TRACES_EXPORTER: 'console' }).tracing).toEqual({ exporter: 'console' });
    expect(load({ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' }).tracing).toBeNull();
    expect(load({ OTEL_SDK_DISABLED: 'true', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' }).tracing).toBeNull();
    refuses(
      { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4317', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' },
      'OTEL_EXPORTER_OTLP_PROTOCOL',
      /http\/protobuf or http\/json/,
    );
    refuses({ OTEL_TRACES_EXPORTER: 'zipkin' }, 'OTEL_TRACES_EXPORTER', /otlp, console or none/);
  });

  it('turns OpenTelemetry metrics on the same way, each signal with its own exporter and protocol', () => {
    expect(load({}).otelMetrics).toBeNull();
    expect(load({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' }).otelMetrics).toEqual({ exporter: 'proto', intervalMs: 60_000 });
    const split = load({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: 'http/json', OTEL_METRIC_EXPORT_INTERVAL: '5000' });
    expect(split.otelMetrics).toEqual({ exporter: 'json', intervalMs: 5000 });
    expect(split.tracing).toEqual({ exporter: 'proto' });
    const tracesOnly = load({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_METRICS_EXPORTER: 'none' });
    expect([tracesOnly.tracing, tracesOnly.otelMetrics]).toEqual([{ exporter: 'proto' }, null]);
    refuses({ OTEL_METRICS_EXPORTER: 'prometheus' }, 'OTEL_METRICS_EXPORTER', /otlp, console or none/);
    refuses({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_METRIC_EXPORT_INTERVAL: 'soon' }, 'OTEL_METRIC_EXPORT_INTERVAL', /milliseconds/);
  });

  it('lists bad OTEL_* variables with every other problem, and documents those the SDK reads itself', () => {
    let err: unknown;
    try {
      load({ HERALD_PORT: 'x', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4317', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', OTEL_METRICS_EXPORTER: 'prometheus' });
    } catch (e) {
      err = e;
    }
    expect((err as ConfigError).issues.map((p) => p.variable).sort()).toEqual(['HERALD_PORT', 'OTEL_EXPORTER_OTLP_PROTOCOL', 'OTEL_METRICS_EXPORTER']);
    // The SDK's own variables are listed for reference, never judged by Herald.
    expect(load({ OTEL_SERVICE_NAME: '', OTEL_TRACES_SAMPLER: 'whatever' }).tracing).toBeNull();
    expect(generalHelp()).toMatch(/OTEL_TRACES_SAMPLER \(default: parentbased_always_on\)\n\s+which traces are kept \(read by the OpenTelemetry SDK itself\)/);
  });

  it('reads the circuit breaker: failures (0 = off), a cool-down and its ceiling', () => {
    expect(loadConfig({}).delivery.circuit).toEqual({ failures: 5, cooldownMs: 30_000, maxCooldownMs: 600_000 });
    expect(loadConfig({ HERALD_CIRCUIT_FAILURES: '0' }).delivery.circuit.failures).toBe(0);
    expect(loadConfig({ HERALD_CIRCUIT_COOLDOWN: '2s', HERALD_CIRCUIT_MAX_COOLDOWN: '1m' }).delivery.circuit).toEqual({
      failures: 5,
      cooldownMs: 2000,
      maxCooldownMs: 60_000,
    });
    // A first cool-down past the default ceiling raises the ceiling; one set lower is refused.
    expect(loadConfig({ HERALD_CIRCUIT_COOLDOWN: '1h' }).delivery.circuit.maxCooldownMs).toBe(3_600_000);
    expect(() => loadConfig({ HERALD_CIRCUIT_COOLDOWN: '1h', HERALD_CIRCUIT_MAX_COOLDOWN: '10m' })).toThrow(/HERALD_CIRCUIT_MAX_COOLDOWN/);
    expect(() => loadConfig({ HERALD_CIRCUIT_FAILURES: 'many' })).toThrow(/HERALD_CIRCUIT_FAILURES/);
  });

  it('reads retry schedules with units, and none', () => {
    expect(load({ HERALD_RETRY_SCHEDULE: '1s,2s,500ms,1m,1h' }).delivery.retryScheduleMs).toEqual([1000, 2000, 500, 60_000, 3_600_000]);
    expect(load({ HERALD_RETRY_SCHEDULE: 'none' }).delivery.retryScheduleMs).toEqual([]);
  });

  it('refuses bad values, naming the variable and what is allowed', () => {
    refuses({ HERALD_PORT: 'abc' }, 'HERALD_PORT', /0 to 65535/);
    refuses({ HERALD_PORT: '70000' }, 'HERALD_PORT', /0 to 65535/);
    refuses({ HERALD_RETRY_SCHEDULE: '5s,soon' }, 'HERALD_RETRY_SCHEDULE', /'soon'.*5s,5m/);
    refuses({ HERALD_DELIVERY_TIMEOUT: 'forever' }, 'HERALD_DELIVERY_TIMEOUT', /duration/);
    refuses({ HERALD_DELIVERY_TIMEOUT: '10m' }, 'HERALD_DELIVERY_TIMEOUT', /between/);
    refuses({ HERALD_SIGNATURE_HEADERS: 'svix,x' }, 'HERALD_SIGNATURE_HEADERS', /svix/);
    refuses({ HERALD_LEASE: '20s' }, 'HERALD_LEASE', /twice HERALD_DELIVERY_TIMEOUT/);
    refuses({ HERALD_LOG_LEVEL: 'loud' }, 'HERALD_LOG_LEVEL', /info/);
    refuses({ HERALD_API_TOKEN: 'short' }, 'HERALD_API_TOKEN', /16 characters/);
    refuses({ HERALD_MASTER_KEY: 'abcd' }, 'HERALD_MASTER_KEY', /32 bytes/);
    refuses({ HERALD_DATABASE_URL: 'mysql://x' }, 'HERALD_DATABASE_URL', /sqlite:.*postgres/);
    refuses({ HERALD_OPERATIONAL_APP: 'app_x' }, 'HERALD_OPERATIONAL_APP', /uid/);
    refuses({ HERALD_DISPATCH_CONCURRENCY: '0' }, 'HERALD_DISPATCH_CONCURRENCY', /1 to 10000/);
    refuses({ HERALD_PORTAL_FRAME_ANCESTORS: 'https://a.example; script-src *' }, 'HERALD_PORTAL_FRAME_ANCESTORS', /not an origin/);
    refuses({ HERALD_PORTAL_FRAME_ANCESTORS: 'https://a.example/admin' }, 'HERALD_PORTAL_FRAME_ANCESTORS', /not an origin/);
  });

  it('reads the origins that may frame the portal', () => {
    expect(load({}).portalFrameAncestors).toEqual([]);
    expect(load({ HERALD_PORTAL_FRAME_ANCESTORS: "https://admin.example.com, https://*.shop.example:8443 'self'" }).portalFrameAncestors).toEqual([
      'https://admin.example.com',
      'https://*.shop.example:8443',
      "'self'",
    ]);
  });

  it('never echoes credentials from a database URL', () => {
    expect(() => load({ HERALD_DATABASE_URL: 'mysql://user:hunter2@db/x' })).toThrow(/mysql:\/\/\*\*\*@db/);
    expect(() => load({ HERALD_DATABASE_URL: 'mysql://user:hunter2@db/x' })).not.toThrow(/hunter2/);
  });
});

describe('config: egress', () => {
  it('reads source addresses, a proxy, the no-proxy list and what is published', () => {
    const c = load({
      HERALD_EGRESS_ADDRESSES: ' 127.0.0.2, ::1 ',
      HERALD_EGRESS_PROXY: 'http://user:pw@proxy.internal:3128',
      HERALD_NO_PROXY: 'Internal.example,.corp.test,10.0.0.0/8,*',
    });
    expect(c.egress).toEqual({
      addresses: ['127.0.0.2', '::1'],
      proxy: 'http://user:pw@proxy.internal:3128',
      noProxy: ['internal.example', '.corp.test', '10.0.0.0/8', '*'],
      publishedSourceIps: ['127.0.0.2', '::1'],
      extraCaCerts: null,
    });
    expect(load({}).egress).toEqual({ addresses: [], proxy: null, noProxy: [], publishedSourceIps: [], extraCaCerts: null });
    expect(load({ HERALD_EGRESS_ADDRESSES: '10.0.0.5', HERALD_PUBLISHED_SOURCE_IPS: '203.0.113.7,198.51.100.0/28' }).egress.publishedSourceIps).toEqual([
      '203.0.113.7',
      '198.51.100.0/28',
    ]);
    expect(load({ HERALD_EGRESS_PROXY: 'socks5://127.0.0.1:1080' }).egress.proxy).toBe('socks5://127.0.0.1:1080');
  });

  it('refuses bad egress values, naming the variable', () => {
    refuses({ HERALD_EGRESS_ADDRESSES: '127.0.0.2,eth0' }, 'HERALD_EGRESS_ADDRESSES', /'eth0' is not an IP address/);
    refuses({ HERALD_EGRESS_ADDRESSES: '127.0.0.2,127.0.0.2' }, 'HERALD_EGRESS_ADDRESSES', /twice/);
    refuses({ HERALD_EGRESS_PROXY: 'proxy:3128' }, 'HERALD_EGRESS_PROXY', /socks5:\/\//);
    refuses({ HERALD_EGRESS_PROXY: 'ftp://proxy:21' }, 'HERALD_EGRESS_PROXY', /not a proxy URL/);
    refuses({ HERALD_EGRESS_PROXY: 'socks4://proxy:1080' }, 'HERALD_EGRESS_PROXY', /not a proxy URL/);
    refuses({ HERALD_NO_PROXY: 'ok.example,bad host' }, 'HERALD_NO_PROXY', /'bad host'/);
    refuses({ HERALD_NO_PROXY: '10.0.0.0/99' }, 'HERALD_NO_PROXY', /CIDR/);
    refuses({ HERALD_PUBLISHED_SOURCE_IPS: 'nat-gateway' }, 'HERALD_PUBLISHED_SOURCE_IPS', /IP address or CIDR/);
  });

  it('reads the installation CA bundle from HERALD_EXTRA_CA_CERTS, and refuses a missing or empty one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'herald-config-ca-'));
    try {
      const pem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
      writeFileSync(join(dir, 'ca.pem'), pem);
      writeFileSync(join(dir, 'empty.pem'), 'nothing here');
      expect(load({ HERALD_EXTRA_CA_CERTS: join(dir, 'ca.pem') }).egress.extraCaCerts).toBe(pem);
      refuses({ HERALD_EXTRA_CA_CERTS: join(dir, 'missing.pem') }, 'HERALD_EXTRA_CA_CERTS', /cannot read .*ENOENT/);
      refuses({ HERALD_EXTRA_CA_CERTS: join(dir, 'empty.pem') }, 'HERALD_EXTRA_CA_CERTS', /no PEM certificate/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('never echoes proxy credentials', () => {
    expect(() => load({ HERALD_EGRESS_PROXY: 'ftp://user:hunter2@proxy:21' })).not.toThrow(/hunter2/);
  });
});

describe('config: as data', () => {
  it('lists every problem at once, each naming its variable', () => {
    let err: unknown;
    try {
      load({
        HERALD_PORT: 'abc',
        HERALD_LOG_LEVEL: 'loud',
        HERALD_DELIVERY_TIMEOUT: '10m',
        HERALD_EGRESS_ADDRESSES: 'eth0',
        HERALD_API_RATE_LIMIT: 'off',
        HERALD_API_RATE_BURST: '5',
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const e = err as ConfigError;
    expect(e.issues.map((p) => p.variable).sort()).toEqual([
      'HERALD_API_RATE_BURST',
      'HERALD_DELIVERY_TIMEOUT',
      'HERALD_EGRESS_ADDRESSES',
      'HERALD_LOG_LEVEL',
      'HERALD_PORT',
    ]);
    for (const p of e.problems) expect(e.message).toContain(p);
    expect(e.message).toMatch(/^5 problems in the configuration:/);
  });

  it('is frozen all the way down', () => {
    const c = load({ HERALD_EGRESS_ADDRESSES: '127.0.0.2', HERALD_MASTER_KEY_PREVIOUS: 'a'.repeat(64) });
    for (const part of [
      c,
      c.database,
      c.http,
      c.delivery,
      c.delivery.retryScheduleMs,
      c.delivery.signatureHeaders,
      c.egress,
      c.egress.addresses,
      c.apiRateLimit,
      c.apiRateLimit.portal,
      c.retention,
      c.previousMasterKeys,
    ]) {
      expect(Object.isFrozen(part)).toBe(true);
    }
    expect(() => (c.delivery.retryScheduleMs as number[]).push(1)).toThrow(TypeError);
    expect(() => {
      (c.http as { idleTimeoutMs: number }).idleTimeoutMs = 1;
    }).toThrow(TypeError);
  });

  it('herald --help lists every variable with its default and what is allowed, from the same table', () => {
    const help = generalHelp();
    for (const [name, v] of Object.entries(SERVER_VARIABLES)) {
      expect(help).toContain(`  ${name} (default: `);
      if (v.default !== undefined) expect(help).toContain(`  ${name} (default: ${v.default})`);
    }
    expect(help).toContain('HERALD_LEASE (default: 60s)');
    expect(help).toMatch(/HERALD_LOG_LEVEL \(default: info\)\n\s+how much the server logs\. Allowed: one of fatal, error, warn, info, debug, trace, silent\./);
  });
});

describe('config: durations', () => {
  it('a single duration reads as one entry of a retry schedule does', () => {
    for (const text of ['500ms', '15s', '2m', '1.5h', '30d', '90', ' 5 s ', '0s']) expect(parseDuration(text), text).toBe(parseSchedule(text)[0]);
    for (const text of ['soon', '5s,5m', '-1s', '5 parsecs', '']) expect(parseDuration(text), text).toBeNull();
  });

  it('a header list with a blank entry is refused, as before', () => {
    refuses({ HERALD_SIGNATURE_HEADERS: 'svix,' }, 'HERALD_SIGNATURE_HEADERS', /svix/);
  });
});
