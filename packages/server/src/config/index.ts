// config: the only reader of process.env. Turns the environment into one deeply frozen,
// validated object. Every variable is described once, in variables.ts; a bad configuration stops
// start-up with every problem listed, each naming its variable and what is allowed.
import { resolve } from 'node:path';
import { deepFreeze, type Env, readEnv, type ValuesOf } from '@herald/config';
import { RULES, SERVER_VARIABLES } from './variables.js';

export { ConfigError } from '@herald/config';
export { SERVER_VARIABLES } from './variables.js';

export type { LogLevel } from './variables.js';
import type { LogLevel } from './variables.js';

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
    /** Worker threads that run transformations (HERALD_TRANSFORM_WORKERS). */
    transformWorkers: number;
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

/** Requests per second, and how many may arrive at once from idle. */
export interface RateLimit {
  perSecond: number;
  burst: number;
}

/**
 * An OpenTelemetry signal (traces or metrics) is on with an OTLP endpoint
 * (OTEL_EXPORTER_OTLP_ENDPOINT, or OTEL_EXPORTER_OTLP_<SIGNAL>_ENDPOINT) or
 * OTEL_<SIGNAL>_EXPORTER other than `none`, unless OTEL_SDK_DISABLED=true. Only the variables that
 * decide whether and how Herald starts the SDK are in the table; the SDK reads the others
 * (headers, sampler, service name) and the endpoint URLs itself.
 */
function otelSignal(v: ValuesOf<typeof SERVER_VARIABLES>, signal: 'TRACES' | 'METRICS'): { exporter: OtelExporter } | null {
  if (v.OTEL_SDK_DISABLED) return null;
  const exporter = v[`OTEL_${signal}_EXPORTER`];
  if (exporter === 'none') return null;
  if (!exporter && v.OTEL_EXPORTER_OTLP_ENDPOINT === undefined && v[`OTEL_EXPORTER_OTLP_${signal}_ENDPOINT`] === undefined) return null;
  if (exporter === 'console') return { exporter: 'console' };
  const protocol = v[`OTEL_EXPORTER_OTLP_${signal}_PROTOCOL`] ?? v.OTEL_EXPORTER_OTLP_PROTOCOL;
  return { exporter: protocol === 'http/json' ? 'json' : 'proto' };
}

/** Reads the environment (process.env unless given) into the configuration, or throws a ConfigError listing every problem. */
export function loadConfig(env: Env = process.env): Config {
  const v = readEnv(SERVER_VARIABLES, env, RULES);
  const dataDir = resolve(v.HERALD_DATA_DIR);
  const host = v.HERALD_HOST;
  const urlHost = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  const fileKey = v.HERALD_MASTER_KEY_FILE;
  const metricsOn = otelSignal(v, 'METRICS');
  return deepFreeze<Config>({
    host,
    port: v.HERALD_PORT,
    dataDir,
    database: v.HERALD_DATABASE_URL ?? { kind: 'sqlite', file: resolve(dataDir, 'herald.db') },
    apiToken: v.HERALD_API_TOKEN ?? null,
    masterKey: fileKey?.key ?? v.HERALD_MASTER_KEY ?? null,
    masterKeyFile: fileKey?.file ?? null,
    previousMasterKeys: v.HERALD_MASTER_KEY_PREVIOUS ?? [],
    publicUrl: v.HERALD_PUBLIC_URL ?? `http://${urlHost === '0.0.0.0' ? '127.0.0.1' : urlHost}:${v.HERALD_PORT}`,
    portalFrameAncestors: v.HERALD_PORTAL_FRAME_ANCESTORS ?? [],
    logLevel: v.HERALD_LOG_LEVEL,
    http: {
      requestTimeoutMs: v.HERALD_REQUEST_TIMEOUT,
      idleTimeoutMs: v.HERALD_IDLE_TIMEOUT,
      shutdownGraceMs: v.HERALD_SHUTDOWN_GRACE,
    },
    maxPayloadBytes: 2 * 1024 * 1024,
    operationalAppUid: v.HERALD_OPERATIONAL_APP,
    ssrfAllowlist: v.HERALD_SSRF_ALLOWLIST ?? [],
    // Portal tokens are what tenants hold; 50/s with a burst of 500 is far above what the
    // dashboard asks for. The operator token carries the producer's ingest, so its default is
    // only a backstop well above what one process can serve (bench/ingest.mjs).
    apiRateLimit: {
      portal: rateLimit(v.HERALD_API_RATE_LIMIT, v.HERALD_API_RATE_BURST, { perSecond: 50, burst: 500 }),
      operator: rateLimit(v.HERALD_OPERATOR_RATE_LIMIT, v.HERALD_OPERATOR_RATE_BURST, { perSecond: 50_000, burst: 50_000 }),
    },
    egress: {
      addresses: v.HERALD_EGRESS_ADDRESSES ?? [],
      proxy: v.HERALD_EGRESS_PROXY ?? null,
      noProxy: v.HERALD_NO_PROXY ?? [],
      publishedSourceIps: v.HERALD_PUBLISHED_SOURCE_IPS ?? [...(v.HERALD_EGRESS_ADDRESSES ?? [])],
      extraCaCerts: v.HERALD_EXTRA_CA_CERTS ?? null,
    },
    delivery: {
      retryScheduleMs: [...v.HERALD_RETRY_SCHEDULE],
      timeoutMs: v.HERALD_DELIVERY_TIMEOUT,
      signatureHeaders: v.HERALD_SIGNATURE_HEADERS as ('svix' | 'webhook')[],
      concurrency: v.HERALD_DISPATCH_CONCURRENCY,
      perEndpointConcurrency: v.HERALD_ENDPOINT_CONCURRENCY,
      pollMs: v.HERALD_POLL_INTERVAL,
      leaseMs: v.HERALD_LEASE,
      circuit: {
        failures: v.HERALD_CIRCUIT_FAILURES,
        cooldownMs: v.HERALD_CIRCUIT_COOLDOWN,
        // Unset, the ceiling is 10 minutes, or the first cool-down if that is longer.
        maxCooldownMs: v.HERALD_CIRCUIT_MAX_COOLDOWN ?? Math.max(600_000, v.HERALD_CIRCUIT_COOLDOWN),
      },
      transformWorkers: v.HERALD_TRANSFORM_WORKERS,
    },
    // OTEL_* are the OpenTelemetry SDK's own variables, read by the rules the SDK documents.
    tracing: otelSignal(v, 'TRACES'),
    otelMetrics: metricsOn && { ...metricsOn, intervalMs: v.OTEL_METRIC_EXPORT_INTERVAL },
    retention: {
      attemptMs: v.HERALD_ATTEMPT_RETENTION,
      intervalMs: v.HERALD_PURGE_INTERVAL,
      batchSize: v.HERALD_PURGE_BATCH,
    },
  });
}

/** A rate of null is off. An explicit rate without a burst gets the default's ratio of burst to rate (at least 1). */
function rateLimit(perSecond: number | null, burst: number | undefined, def: RateLimit): RateLimit | null {
  if (perSecond === null) return null;
  return { perSecond, burst: burst ?? Math.max(1, Math.ceil((perSecond * def.burst) / def.perSecond)) };
}
