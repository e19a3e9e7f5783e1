// config: the only reader of process.env. Turns the environment into one frozen, validated
// object; a bad value stops start-up with a message naming the variable and what is allowed.
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { isAbsolute, resolve } from 'node:path';
import { DEFAULT_RETRY_SCHEDULE_MS, parseSchedule } from '../domain/retry.js';
import { parseCidr } from '../security/ssrf.js';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface Config {
  host: string;
  port: number;
  dataDir: string;
  /** `sqlite:<file>` or `postgres://…`. */
  database: { kind: 'sqlite'; file: string } | { kind: 'postgres'; url: string };
  /** The operator token; null means "generate one in the data folder on first start". */
  apiToken: string | null;
  /** 32 raw bytes (HERALD_MASTER_KEY or HERALD_MASTER_KEY_FILE), or null to use (or create) the key file in the data folder. */
  masterKey: Buffer | null;
  /** The file HERALD_MASTER_KEY_FILE named, if the key came from one (for messages). */
  masterKeyFile: string | null;
  /** Keys that still unseal (not seal) values, during a master-key rotation (HERALD_MASTER_KEY_PREVIOUS). */
  previousMasterKeys: Buffer[];
  /** Base URL that portal links point at. */
  publicUrl: string;
  /** Origins that may embed the portal in a frame (HERALD_PORTAL_FRAME_ANCESTORS); empty: none. */
  portalFrameAncestors: string[];
  logLevel: LogLevel;
  /** What a connection may hold: HERALD_REQUEST_TIMEOUT, HERALD_IDLE_TIMEOUT, HERALD_SHUTDOWN_GRACE. */
  http: { requestTimeoutMs: number; idleTimeoutMs: number; shutdownGraceMs: number };
  /** Largest accepted request body, bytes. A message payload may be at most 2 MiB. */
  maxPayloadBytes: number;
  /** Uid of the application that receives operational webhooks (if the operator created it). */
  operationalAppUid: string;
  /** CIDRs deliveries may reach although they are not globally routable (SSRF guard). */
  ssrfAllowlist: string[];
  /** Per-token API request limits (GCRA, per process); null turns a limit off. */
  apiRateLimit: { portal: RateLimit | null; operator: RateLimit | null };
  /** How deliveries leave the machine (fixed source addresses, a proxy) and what tenants are told. */
  egress: EgressConfig;
  delivery: {
    /** Delay before each retry, after attempts 1, 2, ... (so attempts = length + 1). */
    retryScheduleMs: number[];
    timeoutMs: number;
    /** Which header families carry the signature. */
    signatureHeaders: ('svix' | 'webhook')[];
    concurrency: number;
    /** The most attempts in flight to one endpoint; the adaptive limit stays between 1 and this. */
    perEndpointConcurrency: number;
    pollMs: number;
    leaseMs: number;
    /**
     * The circuit breaker per endpoint (domain/hold.ts): failures in a row that open it
     * (HERALD_CIRCUIT_FAILURES, 0 = off), the first cool-down (HERALD_CIRCUIT_COOLDOWN) and its
     * ceiling as it doubles (HERALD_CIRCUIT_MAX_COOLDOWN).
     */
    circuit: { failures: number; cooldownMs: number; maxCooldownMs: number };
  };
  /** Retention: message payloads go when their own retention ends; these bound the rest. */
  retention: {
    /** Attempts older than this are deleted (HERALD_ATTEMPT_RETENTION); null keeps them forever. */
    attemptMs: number | null;
    /** How often the purger runs in a dispatching process. */
    intervalMs: number;
    /** Rows per purge batch (each its own short commit). */
    batchSize: number;
  };
  /**
   * OpenTelemetry traces (telemetry/tracing.ts): the exporter the standard OTEL_* environment
   * chooses, or null when it asks for none. The SDK reads the rest of OTEL_* itself.
   */
  tracing: { exporter: OtelExporter } | null;
  /**
   * OpenTelemetry metrics (telemetry/otel-metrics.ts), chosen the same way by OTEL_METRICS_EXPORTER
   * and the OTLP variables, exported every `intervalMs` (OTEL_METRIC_EXPORT_INTERVAL); or null.
   */
  otelMetrics: { exporter: OtelExporter; intervalMs: number } | null;
}

/** `proto` and `json`: OTLP over HTTP (OTEL_EXPORTER_OTLP_PROTOCOL http/protobuf, http/json). */
export type OtelExporter = 'proto' | 'json' | 'console';

export interface EgressConfig {
  /** Local IPv4/IPv6 addresses delivery connections are bound to (HERALD_EGRESS_ADDRESSES). */
  addresses: string[];
  /** `http:`, `https:` or `socks5:` proxy URL deliveries tunnel through (HERALD_EGRESS_PROXY), or null. */
  proxy: string | null;
  /** Hosts, domains (with their subdomains), IPs and CIDRs that bypass the proxy; `*` for all (HERALD_NO_PROXY). */
  noProxy: string[];
  /** What GET /api/v1/source-ips tells tenants to allowlist (HERALD_PUBLISHED_SOURCE_IPS; default: the addresses). */
  publishedSourceIps: string[];
  /** PEM CA certificates trusted for receivers besides the system's (HERALD_EXTRA_CA_CERTS, a file), or null. */
  extraCaCerts: string | null;
}

export class ConfigError extends Error {
  constructor(readonly variable: string, message: string) {
    super(`${variable}: ${message}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

const LOG_LEVELS: LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

function str(env: Env, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}

function port(env: Env, name: string, def: number): number {
  const v = str(env, name);
  if (v === undefined) return def;
  if (!/^\d+$/.test(v) || Number(v) > 65535) throw new ConfigError(name, `'${v}' is not a TCP port; use a whole number from 0 to 65535`);
  return Number(v);
}

/** HERALD_MASTER_KEY, or HERALD_MASTER_KEY_FILE naming a file that holds it (a compose or Kubernetes secret). */
function masterKey(env: Env): Buffer | null {
  const v = str(env, 'HERALD_MASTER_KEY');
  const file = str(env, 'HERALD_MASTER_KEY_FILE');
  if (v !== undefined && file !== undefined) throw new ConfigError('HERALD_MASTER_KEY_FILE', 'is set together with HERALD_MASTER_KEY; set only one of them');
  if (file === undefined) return v === undefined ? null : keyOf('HERALD_MASTER_KEY', v);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError('HERALD_MASTER_KEY_FILE', `cannot read '${file}' (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); it must name a readable file holding the key`);
  }
  const key = text.trim();
  if (key === '') throw new ConfigError('HERALD_MASTER_KEY_FILE', `'${file}' is empty; it must hold the key (e.g. \`openssl rand -hex 32 > ${file}\`)`);
  try {
    return keyOf('HERALD_MASTER_KEY_FILE', key);
  } catch (e) {
    throw new ConfigError('HERALD_MASTER_KEY_FILE', `'${file}' ${(e as ConfigError).message.replace(/^HERALD_MASTER_KEY_FILE: /, '')}`);
  }
}

function keyOf(name: string, v: string): Buffer {
  const key = /^[0-9a-fA-F]{64}$/.test(v) ? Buffer.from(v, 'hex') : Buffer.from(v, 'base64');
  if (key.length !== 32 || (!/^[0-9a-fA-F]{64}$/.test(v) && !/^[A-Za-z0-9+/_-]{43}=?$/.test(v))) {
    throw new ConfigError(name, 'must be 32 bytes, written as 64 hex digits or base64 (e.g. `openssl rand -hex 32`)');
  }
  return key;
}

/** Keys that still open values sealed before a master-key rotation (comma-separated). */
function previousMasterKeys(env: Env): Buffer[] {
  return (str(env, 'HERALD_MASTER_KEY_PREVIOUS') ?? '').split(',').map((x) => x.trim()).filter(Boolean).map((k) => keyOf('HERALD_MASTER_KEY_PREVIOUS', k));
}

function database(env: Env, dataDir: string): Config['database'] {
  const v = str(env, 'HERALD_DATABASE_URL');
  if (v === undefined) return { kind: 'sqlite', file: resolve(dataDir, 'herald.db') };
  if (v.startsWith('postgres://') || v.startsWith('postgresql://')) return { kind: 'postgres', url: v };
  if (v.startsWith('sqlite:')) {
    const file = v.replace(/^sqlite:(\/\/)?/, '');
    if (!file) throw new ConfigError('HERALD_DATABASE_URL', "a sqlite URL needs a file, e.g. 'sqlite:./data/herald.db'");
    return { kind: 'sqlite', file: isAbsolute(file) ? file : resolve(file) };
  }
  throw new ConfigError('HERALD_DATABASE_URL', `'${v.replace(/\/\/[^@]*@/, '//***@')}' is not supported; use 'sqlite:<file>' or 'postgres://user@host:port/db'`);
}

function duration(env: Env, name: string, def: number, min: number, max: number): number {
  const v = str(env, name);
  if (v === undefined) return def;
  let ms: number;
  try {
    ms = parseSchedule(v)[0]!;
    if (v.includes(',')) throw new Error();
  } catch {
    throw new ConfigError(name, `'${v}' is not a duration; use e.g. 500ms, 15s or 2m`);
  }
  if (ms < min || ms > max) throw new ConfigError(name, `must be between ${min} ms and ${max} ms, got ${ms} ms`);
  return ms;
}

function int(env: Env, name: string, def: number, min: number, max: number): number {
  const v = str(env, name);
  if (v === undefined) return def;
  if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) throw new ConfigError(name, `'${v}' must be a whole number from ${min} to ${max}`);
  return Number(v);
}

function delivery(env: Env): Config['delivery'] {
  const sched = str(env, 'HERALD_RETRY_SCHEDULE');
  let retryScheduleMs = [...DEFAULT_RETRY_SCHEDULE_MS];
  if (sched !== undefined) {
    try {
      retryScheduleMs = sched === 'none' ? [] : parseSchedule(sched);
    } catch (e) {
      throw new ConfigError('HERALD_RETRY_SCHEDULE', `${(e as Error).message}; use a comma-separated list such as 5s,5m,30m,2h (or 'none')`);
    }
  }
  const headers = (str(env, 'HERALD_SIGNATURE_HEADERS') ?? 'svix,webhook').split(',').map((x) => x.trim());
  if (headers.length === 0 || headers.some((h) => h !== 'svix' && h !== 'webhook') || new Set(headers).size !== headers.length) {
    throw new ConfigError('HERALD_SIGNATURE_HEADERS', "use 'svix', 'webhook' or 'svix,webhook'");
  }
  const timeoutMs = duration(env, 'HERALD_DELIVERY_TIMEOUT', 15_000, 100, 300_000);
  const leaseMs = duration(env, 'HERALD_LEASE', 60_000, 1000, 3_600_000);
  // A lease that can lapse while its attempt is still running invites a second, parallel delivery.
  if (leaseMs < timeoutMs * 2) {
    throw new ConfigError('HERALD_LEASE', `must be at least twice HERALD_DELIVERY_TIMEOUT (${timeoutMs} ms), got ${leaseMs} ms`);
  }
  return {
    retryScheduleMs,
    timeoutMs,
    signatureHeaders: headers as ('svix' | 'webhook')[],
    concurrency: int(env, 'HERALD_DISPATCH_CONCURRENCY', 256, 1, 10_000),
    perEndpointConcurrency: int(env, 'HERALD_ENDPOINT_CONCURRENCY', 64, 1, 10_000),
    pollMs: duration(env, 'HERALD_POLL_INTERVAL', 1000, 10, 60_000),
    leaseMs,
    circuit: circuit(env),
  };
}

function circuit(env: Env): Config['delivery']['circuit'] {
  const failures = int(env, 'HERALD_CIRCUIT_FAILURES', 5, 0, 10_000);
  const cooldownMs = duration(env, 'HERALD_CIRCUIT_COOLDOWN', 30_000, 10, 86_400_000);
  // Unset, the ceiling is 10 minutes, or the first cool-down if that is longer.
  const maxCooldownMs = duration(env, 'HERALD_CIRCUIT_MAX_COOLDOWN', Math.max(600_000, cooldownMs), 10, 86_400_000);
  if (maxCooldownMs < cooldownMs) {
    throw new ConfigError('HERALD_CIRCUIT_MAX_COOLDOWN', `must be at least HERALD_CIRCUIT_COOLDOWN (${cooldownMs} ms), got ${maxCooldownMs} ms`);
  }
  return { failures, cooldownMs, maxCooldownMs };
}

function retention(env: Env): Config['retention'] {
  const v = str(env, 'HERALD_ATTEMPT_RETENTION');
  let attemptMs: number | null = 90 * 864e5;
  if (v === 'forever') attemptMs = null;
  else if (v !== undefined) {
    let ms: number | undefined;
    try {
      if (!v.includes(',')) ms = parseSchedule(v)[0];
    } catch {
      // reported below
    }
    if (ms === undefined) throw new ConfigError('HERALD_ATTEMPT_RETENTION', `'${v}' is not a duration; use e.g. 30d, 12h or 'forever'`);
    if (ms < 36e5 || ms > 3650 * 864e5) throw new ConfigError('HERALD_ATTEMPT_RETENTION', `must be between 1h and 3650d (or 'forever'), got '${v}'`);
    attemptMs = ms;
  }
  return {
    attemptMs,
    intervalMs: duration(env, 'HERALD_PURGE_INTERVAL', 10 * 60_000, 1000, 864e5),
    batchSize: int(env, 'HERALD_PURGE_BATCH', 500, 1, 10_000),
  };
}

function ssrfAllowlist(env: Env): string[] {
  const v = str(env, 'HERALD_SSRF_ALLOWLIST');
  if (v === undefined) return [];
  const cidrs = v.split(',').map((x) => x.trim()).filter(Boolean);
  for (const c of cidrs) {
    try {
      parseCidr(c);
    } catch (e) {
      throw new ConfigError('HERALD_SSRF_ALLOWLIST', `${(e as Error).message}; use comma-separated CIDRs, e.g. 127.0.0.0/8,::1/128`);
    }
  }
  return cidrs;
}

/** CSP frame-ancestors sources: http(s) origins (a `*.` host wildcard allowed) or 'self'. */
function frameAncestors(env: Env): string[] {
  const out = list(env, 'HERALD_PORTAL_FRAME_ANCESTORS').flatMap((v) => v.split(/\s+/)).filter(Boolean);
  for (const o of out) {
    if (o !== "'self'" && !/^https?:\/\/(\*\.)?[A-Za-z0-9.-]+(:\d{1,5})?$/.test(o)) {
      throw new ConfigError('HERALD_PORTAL_FRAME_ANCESTORS', `'${o}' is not an origin; use e.g. https://admin.example.com,'self'`);
    }
  }
  return out;
}

function list(env: Env, name: string): string[] {
  return (str(env, name) ?? '').split(',').map((x) => x.trim()).filter(Boolean);
}

function egress(env: Env): EgressConfig {
  const addresses = list(env, 'HERALD_EGRESS_ADDRESSES');
  for (const a of addresses) {
    if (isIP(a) === 0) {
      throw new ConfigError('HERALD_EGRESS_ADDRESSES', `'${a}' is not an IP address; use comma-separated local IPv4/IPv6 addresses, e.g. 203.0.113.10,2001:db8::10`);
    }
  }
  if (new Set(addresses).size !== addresses.length) throw new ConfigError('HERALD_EGRESS_ADDRESSES', 'lists an address twice');
  const proxy = str(env, 'HERALD_EGRESS_PROXY') ?? null;
  if (proxy !== null) {
    const hint = "use e.g. 'http://proxy.internal:3128', 'https://user:pass@proxy:443' or 'socks5://proxy:1080'";
    let u: URL;
    try {
      u = new URL(proxy);
    } catch {
      throw new ConfigError('HERALD_EGRESS_PROXY', `not a URL; ${hint}`);
    }
    if (!['http:', 'https:', 'socks5:'].includes(u.protocol) || !u.hostname || (u.pathname !== '' && u.pathname !== '/') || u.search || u.hash) {
      throw new ConfigError('HERALD_EGRESS_PROXY', `'${u.protocol}//${u.host}${u.pathname}' is not a proxy URL Herald can use; ${hint}`);
    }
  }
  const noProxy = list(env, 'HERALD_NO_PROXY').map((x) => x.toLowerCase());
  for (const n of noProxy) {
    const ok = n === '*' || isIP(n) !== 0 || (n.includes('/') && cidrOk(n)) || /^(\*?\.)?[a-z0-9_-]+(\.[a-z0-9_-]+)*$/.test(n);
    if (!ok) throw new ConfigError('HERALD_NO_PROXY', `'${n}' is not a host, domain (.example.com), IP address, CIDR or '*'`);
  }
  const publishedRaw = list(env, 'HERALD_PUBLISHED_SOURCE_IPS');
  for (const p of publishedRaw) {
    if (isIP(p) === 0 && !(p.includes('/') && cidrOk(p))) {
      throw new ConfigError('HERALD_PUBLISHED_SOURCE_IPS', `'${p}' is not an IP address or CIDR; list what receivers see, e.g. 203.0.113.10,198.51.100.0/28`);
    }
  }
  return { addresses, proxy, noProxy, publishedSourceIps: publishedRaw.length ? publishedRaw : [...addresses], extraCaCerts: extraCaCerts(env) };
}

/** HERALD_EXTRA_CA_CERTS: a PEM file of CA certificates receivers' certificates may also chain to. */
function extraCaCerts(env: Env): string | null {
  const file = str(env, 'HERALD_EXTRA_CA_CERTS');
  if (file === undefined) return null;
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError('HERALD_EXTRA_CA_CERTS', `cannot read '${file}' (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); name a PEM file of CA certificates`);
  }
  if (!/-----BEGIN CERTIFICATE-----/.test(pem)) throw new ConfigError('HERALD_EXTRA_CA_CERTS', `'${file}' holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
  return pem;
}

function cidrOk(c: string): boolean {
  try {
    parseCidr(c);
    return true;
  } catch {
    return false;
  }
}

/** Requests per second, and how many may arrive at once from idle. */
export interface RateLimit {
  perSecond: number;
  burst: number;
}

function rateLimit(env: Env, name: string, burstName: string, def: RateLimit): RateLimit | null {
  const v = str(env, name);
  if (v === 'off') {
    if (str(env, burstName) !== undefined) throw new ConfigError(burstName, `is set although ${name} is 'off'`);
    return null;
  }
  let perSecond = def.perSecond;
  if (v !== undefined) {
    if (!/^\d+(\.\d+)?$/.test(v) || Number(v) <= 0 || Number(v) > 1_000_000) {
      throw new ConfigError(name, `'${v}' is not a request rate; use a positive number of requests per second up to 1000000 (e.g. 50 or 0.5), or 'off'`);
    }
    perSecond = Number(v);
  }
  // An explicit rate without a burst gets the default's ratio of burst to rate (at least 1).
  const defBurst = v === undefined ? def.burst : Math.max(1, Math.ceil((perSecond * def.burst) / def.perSecond));
  const burst = int(env, burstName, defBurst, 1, 10_000_000);
  return { perSecond, burst };
}

function operationalApp(env: Env): string {
  const v = str(env, 'HERALD_OPERATIONAL_APP') ?? 'herald-operational';
  if (!/^[a-zA-Z0-9\-_.]{1,256}$/.test(v) || v.startsWith('app_')) {
    throw new ConfigError('HERALD_OPERATIONAL_APP', `'${v}' is not an application uid (letters, digits, '-', '_', '.'; not starting with app_)`);
  }
  return v;
}

/**
 * An OpenTelemetry signal (traces or metrics) is on with an OTLP endpoint
 * (OTEL_EXPORTER_OTLP_ENDPOINT, or OTEL_EXPORTER_OTLP_<SIGNAL>_ENDPOINT) or
 * OTEL_<SIGNAL>_EXPORTER other than `none`, unless OTEL_SDK_DISABLED=true. Only the variables that
 * decide whether and how Herald starts the SDK are read here; the SDK reads the others (endpoint,
 * headers, sampler, service name) itself.
 */
function otelSignal(env: Env, signal: 'TRACES' | 'METRICS'): { exporter: OtelExporter } | null {
  if (str(env, 'OTEL_SDK_DISABLED')?.toLowerCase() === 'true') return null;
  const exporterVar = `OTEL_${signal}_EXPORTER`;
  const exporter = str(env, exporterVar)?.split(',')[0]?.trim().toLowerCase();
  if (exporter === 'none') return null;
  if (!exporter && !str(env, 'OTEL_EXPORTER_OTLP_ENDPOINT') && !str(env, `OTEL_EXPORTER_OTLP_${signal}_ENDPOINT`)) return null;
  if (exporter === 'console') return { exporter: 'console' };
  if (exporter && exporter !== 'otlp') throw new ConfigError(exporterVar, `'${exporter}' is not supported; use otlp, console or none`);
  const name = str(env, `OTEL_EXPORTER_OTLP_${signal}_PROTOCOL`) ? `OTEL_EXPORTER_OTLP_${signal}_PROTOCOL` : 'OTEL_EXPORTER_OTLP_PROTOCOL';
  const protocol = (str(env, name) ?? 'http/protobuf').toLowerCase();
  if (protocol === 'http/protobuf') return { exporter: 'proto' };
  if (protocol === 'http/json') return { exporter: 'json' };
  throw new ConfigError(name, `'${protocol}' is not supported; use http/protobuf or http/json`);
}

function otelMetrics(env: Env): Config['otelMetrics'] {
  const on = otelSignal(env, 'METRICS');
  const v = str(env, 'OTEL_METRIC_EXPORT_INTERVAL');
  if (v !== undefined && (!/^\d+$/.test(v) || Number(v) < 100 || Number(v) > 86_400_000)) {
    throw new ConfigError('OTEL_METRIC_EXPORT_INTERVAL', `'${v}' is not an interval in milliseconds (100 to 86400000)`);
  }
  return on && { ...on, intervalMs: v === undefined ? 60_000 : Number(v) };
}

export function loadConfig(env: Env = process.env): Config {
  const host = str(env, 'HERALD_HOST') ?? '127.0.0.1';
  if (!/^[A-Za-z0-9.:\-[\]]+$/.test(host)) throw new ConfigError('HERALD_HOST', `'${host}' is not a host name or IP address`);
  const p = port(env, 'HERALD_PORT', 8071);
  const dataDir = resolve(str(env, 'HERALD_DATA_DIR') ?? './data');
  const apiToken = str(env, 'HERALD_API_TOKEN') ?? null;
  if (apiToken !== null && (apiToken.length < 16 || /\s/.test(apiToken))) {
    throw new ConfigError('HERALD_API_TOKEN', 'must be at least 16 characters with no spaces (leave it unset to have one generated)');
  }
  const logLevel = (str(env, 'HERALD_LOG_LEVEL') ?? 'info') as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) throw new ConfigError('HERALD_LOG_LEVEL', `'${logLevel}' is not one of ${LOG_LEVELS.join(', ')}`);
  const urlHost = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  const publicUrl = (str(env, 'HERALD_PUBLIC_URL') ?? `http://${urlHost === '0.0.0.0' ? '127.0.0.1' : urlHost}:${p}`).replace(/\/+$/, '');
  try {
    const u = new URL(publicUrl);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error();
  } catch {
    throw new ConfigError('HERALD_PUBLIC_URL', `'${publicUrl}' is not an http(s) URL`);
  }
  return Object.freeze({
    host,
    port: p,
    dataDir,
    database: Object.freeze(database(env, dataDir)),
    apiToken,
    masterKey: masterKey(env),
    masterKeyFile: str(env, 'HERALD_MASTER_KEY_FILE') ?? null,
    previousMasterKeys: previousMasterKeys(env),
    publicUrl,
    portalFrameAncestors: frameAncestors(env),
    logLevel,
    http: Object.freeze({
      requestTimeoutMs: duration(env, 'HERALD_REQUEST_TIMEOUT', 30_000, 1000, 3_600_000),
      idleTimeoutMs: duration(env, 'HERALD_IDLE_TIMEOUT', 10_000, 100, 3_600_000),
      shutdownGraceMs: duration(env, 'HERALD_SHUTDOWN_GRACE', 10_000, 0, 3_600_000),
    }),
    maxPayloadBytes: 2 * 1024 * 1024,
    operationalAppUid: operationalApp(env),
    ssrfAllowlist: ssrfAllowlist(env),
    // Portal tokens are what tenants hold; 50/s with a burst of 500 is far above what the
    // dashboard asks for. The operator token carries the producer's ingest, so its default is
    // only a backstop well above what one process can serve (bench/ingest.mjs).
    apiRateLimit: Object.freeze({
      portal: rateLimit(env, 'HERALD_API_RATE_LIMIT', 'HERALD_API_RATE_BURST', { perSecond: 50, burst: 500 }),
      operator: rateLimit(env, 'HERALD_OPERATOR_RATE_LIMIT', 'HERALD_OPERATOR_RATE_BURST', { perSecond: 50_000, burst: 50_000 }),
    }),
    egress: Object.freeze(egress(env)),
    delivery: Object.freeze(delivery(env)),
    retention: Object.freeze(retention(env)),
    tracing: otelSignal(env, 'TRACES'),
    otelMetrics: otelMetrics(env),
  });
}
