// Every variable the server reads, described once: kind (how its text is read, what is allowed,
// the JSON Schema its value meets), default and help. loadConfig, the README's table
// (npm run docs:config) and `herald --help` all come from this table.
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { isAbsolute, resolve } from 'node:path';
import { documented, Invalid, kinds, parseDuration, type Rule, type ValuesOf, variable } from '@herald/config';
import { parseSchedule } from '../domain/retry.js';
import { parseCidr } from '../security/ssrf.js';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

function cidrOk(c: string): boolean {
  try {
    parseCidr(c);
    return true;
  } catch {
    return false;
  }
}

/** The string formats the table's JSON Schemas use. */
const FORMATS: Record<string, (s: string) => boolean> = {
  ip: (s) => isIP(s) !== 0,
  cidr: cidrOk,
  'ip-or-cidr': (s) => isIP(s) !== 0 || (s.includes('/') && cidrOk(s)),
  'no-proxy': (s) => s === '*' || isIP(s) !== 0 || (s.includes('/') && cidrOk(s)) || /^(\*?\.)?[a-z0-9_-]+(\.[a-z0-9_-]+)*$/.test(s),
  // A CSP frame-ancestors source: an http(s) origin (a `*.` host wildcard allowed) or 'self'.
  'frame-origin': (s) => s === "'self'" || /^https?:\/\/(\*\.)?[A-Za-z0-9.-]+(:\d{1,5})?$/.test(s),
  'http-url': (s) => {
    try {
      const u = new URL(s);
      return u.protocol === 'http:' || u.protocol === 'https:';
    } catch {
      return false;
    }
  },
};

/** A URL with its credentials masked, for messages. */
const masked = (url: string) => url.replace(/\/\/[^@/]*@/, '//***@');

const KEY_TEXT = '32 bytes, written as 64 hex digits or base64 (e.g. `openssl rand -hex 32`)';

function keyOf(text: string): Buffer {
  const hex = /^[0-9a-fA-F]{64}$/.test(text);
  const key = hex ? Buffer.from(text, 'hex') : Buffer.from(text, 'base64');
  if (key.length !== 32 || (!hex && !/^[A-Za-z0-9+/_-]{43}=?$/.test(text))) throw new Invalid(`must be ${KEY_TEXT}`);
  return key;
}

const masterKey = kinds.custom<Buffer>({
  type: 'key',
  allowed: KEY_TEXT,
  parse: keyOf,
  schema: {},
});

/** A file holding the master key (a compose or Kubernetes secret); read at start. */
const masterKeyFile = kinds.custom<{ file: string; key: Buffer }>({
  type: 'file',
  allowed: `a readable file holding the key (${KEY_TEXT})`,
  parse(file) {
    let content: string;
    try {
      content = readFileSync(file, 'utf8');
    } catch (e) {
      throw new Invalid(`cannot read '${file}' (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); it must name a readable file holding the key`);
    }
    const text = content.trim();
    if (text === '') throw new Invalid(`'${file}' is empty; it must hold the key (e.g. \`openssl rand -hex 32 > ${file}\`)`);
    try {
      return { file, key: keyOf(text) };
    } catch (e) {
      throw new Invalid(`'${file}' ${(e as Error).message}`);
    }
  },
  schema: { type: 'object' },
});

const previousKeys = kinds.custom<Buffer[]>({
  type: 'list',
  allowed: `comma-separated keys, each ${KEY_TEXT}`,
  parse: (text) =>
    text
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean)
      .map(keyOf),
  schema: { type: 'array' },
});

type Database = { kind: 'sqlite'; file: string } | { kind: 'postgres'; url: string };
const database = kinds.custom<Database>({
  type: 'url',
  allowed: "'sqlite:<file>' or 'postgres://user:password@host:5432/db'",
  show: masked,
  parse(v, shown) {
    if (v.startsWith('postgres://') || v.startsWith('postgresql://')) return { kind: 'postgres', url: v };
    if (v.startsWith('sqlite:')) {
      const file = v.replace(/^sqlite:(\/\/)?/, '');
      if (!file) throw new Invalid("a sqlite URL needs a file, e.g. 'sqlite:./data/herald.db'");
      return { kind: 'sqlite', file: isAbsolute(file) ? file : resolve(file) };
    }
    throw new Invalid(`${shown} is not supported; use 'sqlite:<file>' or 'postgres://user@host:port/db'`);
  },
  schema: { type: 'object' },
});

const PROXY_HINT = "use e.g. 'http://proxy.internal:3128', 'https://user:pass@proxy:443' or 'socks5://proxy:1080'";
const proxy = kinds.custom<string>({
  type: 'url',
  allowed: "an http://, https:// or socks5:// proxy URL, e.g. 'http://proxy.internal:3128' or 'socks5://proxy:1080'",
  show: masked,
  parse(v, shown) {
    let u: URL;
    try {
      u = new URL(v);
    } catch {
      throw new Invalid(`${shown} is not a URL; ${PROXY_HINT}`);
    }
    if (!['http:', 'https:', 'socks5:'].includes(u.protocol) || !u.hostname || (u.pathname !== '' && u.pathname !== '/') || u.search || u.hash) {
      throw new Invalid(`'${u.protocol}//${u.host}${u.pathname}' is not a proxy URL Herald can use; ${PROXY_HINT}`);
    }
    return v;
  },
  schema: { type: 'string' },
});

const retrySchedule = kinds.custom<number[]>({
  type: 'durations',
  allowed: "comma-separated durations such as 5s,5m,30m,2h (at most 50), or 'none'",
  parse(v) {
    if (v === 'none') return [];
    try {
      return parseSchedule(v);
    } catch (e) {
      throw new Invalid(`${(e as Error).message}; use a comma-separated list such as 5s,5m,30m,2h (or 'none')`);
    }
  },
  schema: { type: 'array', items: { type: 'integer', minimum: 0 } },
});

const attemptRetention = kinds.custom<number | null>({
  type: 'duration',
  allowed: "a duration between 1h and 3650d (e.g. 30d, 12h), or 'forever'",
  parse(v, shown) {
    if (v === 'forever') return null;
    const ms = parseDuration(v);
    if (ms === null) throw new Invalid(`${shown} is not a duration; use e.g. 30d, 12h or 'forever'`);
    return ms;
  },
  schema: { type: ['integer', 'null'], minimum: 36e5, maximum: 3650 * 864e5 },
});

const RATE_TEXT = "a positive number of requests per second up to 1000000 (e.g. 50 or 0.5), or 'off'";
const rate = kinds.custom<number | null>({
  type: 'rate',
  allowed: RATE_TEXT,
  parse(v, shown) {
    if (v === 'off') return null;
    if (!/^\d+(\.\d+)?$/.test(v)) throw new Invalid(`${shown} is not a request rate; use ${RATE_TEXT}`);
    return Number(v);
  },
  schema: { type: ['number', 'null'], exclusiveMinimum: 0, maximum: 1_000_000 },
});

const ipList = (itemText: string, format: string, allowed: string, unique = false) =>
  kinds.list({ item: { format }, itemText, allowed, unique, formats: FORMATS });

// OpenTelemetry: Herald reads only the OTEL_* variables that decide whether it starts the SDK and
// with which exporter; the SDK reads these and the others (listed with `documented`) itself.
const OTEL = 'the OpenTelemetry SDK';

/** OTEL_<SIGNAL>_EXPORTER: the first exporter named, in lower case. */
const otelExporter = kinds.custom<'otlp' | 'console' | 'none'>({
  type: 'enum',
  allowed: '`otlp`, `console` (on stdout, for a look) or `none`',
  parse(v) {
    const first = (v.split(',')[0] ?? '').trim().toLowerCase();
    if (first !== 'otlp' && first !== 'console' && first !== 'none') throw new Invalid(`'${first}' is not supported; use otlp, console or none`);
    return first;
  },
  schema: { type: 'string' },
});

/** OTEL_EXPORTER_OTLP_[<SIGNAL>_]PROTOCOL, in lower case; gRPC is not built in. */
const otlpProtocol = kinds.custom<'http/protobuf' | 'http/json'>({
  type: 'enum',
  allowed: '`http/protobuf` or `http/json` (gRPC is not built in)',
  parse(v) {
    const protocol = v.toLowerCase();
    if (protocol !== 'http/protobuf' && protocol !== 'http/json') throw new Invalid(`'${protocol}' is not supported; use http/protobuf or http/json`);
    return protocol;
  },
  schema: { type: 'string' },
});

/** An OTLP endpoint: Herald only asks whether it is set; the SDK reads the URL. */
const otlpEndpoint = kinds.text({ allowed: 'an http(s) URL, e.g. `http://otel-collector:4318`' });

export const SERVER_VARIABLES = {
  HERALD_HOST: variable({
    kind: kinds.text({ allowed: 'a host name or IP address', pattern: '^[A-Za-z0-9.:\\-\\[\\]]+$' }),
    default: '127.0.0.1',
    help: 'address to listen on',
  }),
  HERALD_PORT: variable({
    kind: kinds.integer(0, 65535, 'a TCP port: a whole number from 0 to 65535'),
    default: '8071',
    help: 'port to listen on (0 picks a free one)',
  }),
  HERALD_DATA_DIR: variable({
    kind: kinds.text({ allowed: 'a folder' }),
    default: './data',
    help: 'where the SQLite database, the generated token and the master key live',
  }),
  HERALD_DATABASE_URL: variable({
    kind: database,
    defaultText: '`sqlite:<data dir>/herald.db`',
    help: 'the store: `sqlite:<file>`, or `postgres://user:password@host:5432/db` for PostgreSQL',
  }),
  HERALD_API_TOKEN: variable({
    kind: kinds.text({ allowed: 'at least 16 characters with no spaces (leave it unset to have one generated)', pattern: '^\\S+$', minLength: 16 }),
    secret: true,
    defaultText: 'generated',
    help: "the operator's bearer token; unset, one is generated into `<data dir>/api-token`",
  }),
  HERALD_MASTER_KEY: variable({
    kind: masterKey,
    secret: true,
    defaultText: 'generated',
    help: 'the key that seals secrets at rest; unset, a key file `<data dir>/master.key` (mode 0600) is made',
  }),
  HERALD_MASTER_KEY_FILE: variable({
    kind: masterKeyFile,
    help: 'a file holding the master key (a compose or Kubernetes secret), instead of `HERALD_MASTER_KEY`; setting both is an error',
  }),
  HERALD_MASTER_KEY_PREVIOUS: variable({
    kind: previousKeys,
    secret: true,
    help: 'older master keys that still open values sealed before a rotation, never seal; see *Rotating the master key*',
  }),
  HERALD_PUBLIC_URL: variable({
    kind: kinds.custom<string>({
      type: 'url',
      allowed: 'an http(s) URL',
      parse: (v) => v.replace(/\/+$/, ''),
      schema: { type: 'string', format: 'http-url' },
      formats: FORMATS,
    }),
    defaultText: '`http://<host>:<port>`',
    help: 'the base URL used in portal links',
  }),
  HERALD_PORTAL_FRAME_ANCESTORS: variable({
    kind: kinds.list({
      item: { format: 'frame-origin' },
      itemText: 'an origin',
      allowed: "origins such as `https://admin.example.com` or `https://*.shop.example:8443`, or `'self'`, separated by commas or spaces",
      split: /[\s,]+/,
      formats: FORMATS,
    }),
    help: 'origins that may embed the portal in a frame; unset, nothing may',
  }),
  HERALD_LOG_LEVEL: variable({ kind: kinds.oneOf(LOG_LEVELS), default: 'info', help: 'how much the server logs' }),
  HERALD_RETRY_SCHEDULE: variable({
    kind: retrySchedule,
    default: '5s,5m,30m,2h,5h,10h,10h',
    help: 'delays before each retry (8 attempts by default, ±20% jitter); `none` for a single attempt',
  }),
  HERALD_DELIVERY_TIMEOUT: variable({ kind: kinds.duration(100, 300_000), default: '15s', help: 'how long an endpoint has to answer' }),
  HERALD_SIGNATURE_HEADERS: variable({
    kind: kinds.list({
      item: { enum: ['svix', 'webhook'] },
      itemText: 'a header family',
      allowed: "'svix', 'webhook' or 'svix,webhook'",
      unique: true,
      minItems: 1,
      keepBlank: true,
    }),
    default: 'svix,webhook',
    help: 'which header families carry id, timestamp and signature',
  }),
  HERALD_DISPATCH_CONCURRENCY: variable({ kind: kinds.integer(1, 10_000), default: '256', help: 'deliveries in flight at once' }),
  HERALD_ENDPOINT_CONCURRENCY: variable({
    kind: kinds.integer(1, 10_000),
    default: '64',
    help:
      'the most deliveries in flight to one endpoint, so a slow endpoint cannot take every worker; each worker adapts its own limit between 1 and this ' +
      '(halved on a 429 or a timeout, raised by one per round of other answers)',
  }),
  HERALD_TRANSFORM_WORKERS: variable({
    kind: kinds.integer(1, 256),
    default: '2',
    help:
      "worker threads that run endpoints' transformations (QuickJS in WebAssembly, at most 50 ms of CPU and 16 MB each), off the event loop; " +
      "a script that runs to its limit holds one of them, so other tenants' transformations go on on the rest",
  }),
  HERALD_CIRCUIT_FAILURES: variable({
    kind: kinds.integer(0, 10_000),
    default: '5',
    help:
      "failures in a row (timeouts, connection errors, 5xx, 429; other 4xx do not count) that open an endpoint's circuit: its due deliveries are held, " +
      'without using up retries, until a probe succeeds; `0` turns the circuit breaker off',
  }),
  HERALD_CIRCUIT_COOLDOWN: variable({
    kind: kinds.duration(10, 86_400_000),
    default: '30s',
    help: 'how long an open circuit waits before one delivery probes the endpoint; doubles after every failed probe',
  }),
  HERALD_CIRCUIT_MAX_COOLDOWN: variable({
    kind: kinds.duration(10, 86_400_000),
    defaultText: '`10m`, or `HERALD_CIRCUIT_COOLDOWN` if that is longer',
    help: 'the longest cool-down',
  }),
  HERALD_POLL_INTERVAL: variable({
    kind: kinds.duration(10, 60_000),
    default: '1s',
    help: 'how often the dispatcher looks for due work when nothing wakes it',
  }),
  HERALD_LEASE: variable({
    kind: kinds.duration(1000, 3_600_000),
    default: '60s',
    help: 'how long a claimed delivery stays reserved before another dispatcher may take it; at least twice `HERALD_DELIVERY_TIMEOUT`',
  }),
  HERALD_ATTEMPT_RETENTION: variable({
    kind: attemptRetention,
    default: '90d',
    help:
      'attempts older than this are deleted, or `forever`; message payloads go when their own `payloadRetentionPeriod` (default 90 days) ends, ' +
      'the message itself stays listed. Nothing of a message still being delivered is purged',
  }),
  HERALD_PURGE_INTERVAL: variable({
    kind: kinds.duration(1000, 864e5),
    default: '10m',
    help: 'how often a dispatching process (`serve`, `worker`) runs the retention purge; on PostgreSQL one process at a time purges',
  }),
  HERALD_PURGE_BATCH: variable({
    kind: kinds.integer(1, 10_000),
    default: '500',
    help: 'rows per purge batch; each batch is one short commit, followed by a pause at least as long',
  }),
  HERALD_OPERATIONAL_APP: variable({
    kind: kinds.text({ allowed: "an application uid (letters, digits, '-', '_', '.'; not starting with app_)", pattern: '^(?!app_)[a-zA-Z0-9\\-_.]{1,256}$' }),
    default: 'herald-operational',
    help: 'uid of the application that receives operational webhooks',
  }),
  HERALD_SSRF_ALLOWLIST: variable({
    kind: ipList('a CIDR', 'cidr', 'comma-separated CIDRs, e.g. `127.0.0.0/8,::1/128`'),
    help: 'CIDRs deliveries may reach although they are not globally routable, e.g. to deliver to a receiver on your own machine during development',
  }),
  HERALD_EGRESS_ADDRESSES: variable({
    kind: ipList('an IP address', 'ip', 'comma-separated local IPv4/IPv6 addresses, e.g. `203.0.113.10,2001:db8::10`', true),
    help: 'local addresses deliveries leave from (see *Fixed source addresses*); each must be an address of this machine',
  }),
  HERALD_EGRESS_PROXY: variable({
    kind: proxy,
    help: 'the proxy (credentials as `user:pass@`) that deliveries tunnel through',
  }),
  HERALD_EXTRA_CA_CERTS: variable({
    kind: kinds.custom<string>({
      type: 'file',
      allowed: 'a readable PEM file of CA certificates',
      parse(file) {
        let pem: string;
        try {
          pem = readFileSync(file, 'utf8');
        } catch (e) {
          throw new Invalid(`cannot read '${file}' (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); name a PEM file of CA certificates`);
        }
        if (!/-----BEGIN CERTIFICATE-----/.test(pem)) throw new Invalid(`'${file}' holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
        return pem;
      },
      schema: { type: 'string' },
    }),
    help: "CA certificates receivers' certificates may also chain to, besides the system's",
  }),
  HERALD_NO_PROXY: variable({
    kind: kinds.list({
      item: { format: 'no-proxy' },
      itemText: "a host, domain (.example.com), IP address, CIDR or '*'",
      allowed: 'comma-separated hosts, domains, IPs, CIDRs, or `*`',
      lowerCase: true,
      formats: FORMATS,
    }),
    help: 'what goes around the proxy: hosts and domains (`hooks.internal` also matches its subdomains), IPs, CIDRs, or `*` for everything',
  }),
  HERALD_API_RATE_LIMIT: variable({
    kind: rate,
    default: '50',
    help: 'requests per second per portal session; over it the API answers 429 with `Retry-After`. Per process (see docs/SECURITY.md)',
  }),
  HERALD_API_RATE_BURST: variable({
    kind: kinds.integer(1, 10_000_000),
    defaultText: '`500`; with a rate of your own, the same ratio to it',
    help: 'how many portal requests may arrive at once from idle; only with a rate, not `off`',
  }),
  HERALD_OPERATOR_RATE_LIMIT: variable({
    kind: rate,
    default: '50000',
    help: 'the same for the operator token, a backstop above what one process serves',
  }),
  HERALD_OPERATOR_RATE_BURST: variable({
    kind: kinds.integer(1, 10_000_000),
    defaultText: '`50000`; with a rate of your own, the same ratio to it',
    help: 'how many operator requests may arrive at once from idle; only with a rate, not `off`',
  }),
  HERALD_PUBLISHED_SOURCE_IPS: variable({
    kind: ipList('an IP address or CIDR', 'ip-or-cidr', 'comma-separated IPs or CIDRs, e.g. `203.0.113.10,198.51.100.0/28`'),
    defaultText: '`HERALD_EGRESS_ADDRESSES`',
    help: 'the IPs or CIDRs tenants are told to allowlist (`GET /api/v1/source-ips`): set it to what receivers really see behind a NAT or proxy',
  }),
  HERALD_REQUEST_TIMEOUT: variable({
    kind: kinds.duration(1000, 3_600_000),
    default: '30s',
    help: 'longest a whole request (headers and body) may take to arrive; slower ones get 408 and their connection is closed',
  }),
  HERALD_IDLE_TIMEOUT: variable({
    kind: kinds.duration(100, 3_600_000),
    default: '10s',
    help: 'a connection that sends nothing, or sits idle between keep-alive requests, is closed after this',
  }),
  HERALD_SHUTDOWN_GRACE: variable({
    kind: kinds.duration(0, 3_600_000),
    default: '10s',
    help: 'on SIGTERM/SIGINT, idle connections close at once; requests still in flight get this long before their connections are cut (deliveries in flight settle either way)',
  }),
  OTEL_EXPORTER_OTLP_ENDPOINT: variable({
    kind: otlpEndpoint,
    help:
      'turns OpenTelemetry traces and metrics on and sends them over OTLP/HTTP to this base URL (`/v1/traces`, `/v1/metrics` are added); ' +
      'see *OpenTelemetry*',
  }),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: variable({
    kind: otlpEndpoint,
    help: "the traces' full URL instead (e.g. `http://otel-collector:4318/v1/traces`); turns traces on",
  }),
  OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: variable({
    kind: otlpEndpoint,
    help: "the metrics' full URL instead (e.g. `http://otel-collector:4318/v1/metrics`); turns metrics on",
  }),
  OTEL_EXPORTER_OTLP_PROTOCOL: variable({ kind: otlpProtocol, default: 'http/protobuf', help: 'how OTLP is sent' }),
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: variable({ kind: otlpProtocol, defaultText: '`OTEL_EXPORTER_OTLP_PROTOCOL`', help: 'how OTLP traces are sent' }),
  OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: variable({ kind: otlpProtocol, defaultText: '`OTEL_EXPORTER_OTLP_PROTOCOL`', help: 'how OTLP metrics are sent' }),
  OTEL_TRACES_EXPORTER: variable({
    kind: otelExporter,
    defaultText: '`otlp` when an endpoint is set',
    help: 'where traces go; setting it turns traces on even without an endpoint (`otlp` then sends to `http://localhost:4318`), `none` turns them off',
  }),
  OTEL_METRICS_EXPORTER: variable({
    kind: otelExporter,
    defaultText: '`otlp` when an endpoint is set',
    help: 'the same for metrics (e.g. `none` for traces without metrics)',
  }),
  OTEL_METRIC_EXPORT_INTERVAL: variable({
    kind: kinds.integer(100, 86_400_000, 'an interval in milliseconds (100 to 86400000)'),
    default: '60000',
    help: 'milliseconds between metric exports (and one more on shutdown)',
  }),
  OTEL_SDK_DISABLED: variable({
    kind: kinds.custom<boolean>({
      type: 'boolean',
      allowed: '`true`, or anything else for false',
      parse: (v) => v.toLowerCase() === 'true',
      schema: { type: 'boolean' },
    }),
    default: 'false',
    help: '`true` turns OpenTelemetry off whatever else is set',
  }),
  OTEL_SERVICE_NAME: documented({ readBy: OTEL, allowed: 'text', defaultText: '`herald`', help: "the `service.name` of Herald's spans and metrics" }),
  OTEL_RESOURCE_ATTRIBUTES: documented({
    readBy: OTEL,
    allowed: 'comma-separated `key=value` pairs',
    help: 'more resource attributes, e.g. `deployment.environment=prod,service.instance.id=worker-1`',
  }),
  OTEL_TRACES_SAMPLER: documented({
    readBy: OTEL,
    allowed: '`always_on`, `always_off`, `traceidratio`, `parentbased_always_on`, `parentbased_traceidratio`, …',
    defaultText: '`parentbased_always_on`',
    help: 'which traces are kept',
  }),
  OTEL_TRACES_SAMPLER_ARG: documented({ readBy: OTEL, allowed: 'a number from 0 to 1', help: 'the ratio the `traceidratio` samplers keep, e.g. `0.1`' }),
  OTEL_EXPORTER_OTLP_HEADERS: documented({
    readBy: OTEL,
    allowed: 'comma-separated `key=value` pairs',
    help: 'headers sent to the collector (e.g. an API key); `OTEL_EXPORTER_OTLP_TRACES_HEADERS`, `…_METRICS_HEADERS` for one signal',
  }),
  OTEL_BSP_SCHEDULE_DELAY: documented({
    readBy: OTEL,
    allowed: 'milliseconds',
    defaultText: '`5000`',
    help: "the batch span processor's delay between exports",
  }),
  OTEL_BSP_MAX_QUEUE_SIZE: documented({ readBy: OTEL, allowed: 'a whole number', defaultText: '`2048`', help: 'spans queued for export; more are dropped' }),
  OTEL_BSP_MAX_EXPORT_BATCH_SIZE: documented({ readBy: OTEL, allowed: 'a whole number', defaultText: '`512`', help: 'spans per export' }),
  OTEL_BSP_EXPORT_TIMEOUT: documented({ readBy: OTEL, allowed: 'milliseconds', defaultText: '`30000`', help: 'how long one export may take' }),
};

type Values = ValuesOf<typeof SERVER_VARIABLES>;

/** Rules over several variables, checked once each of them reads cleanly. */
export const RULES: readonly Rule<typeof SERVER_VARIABLES>[] = [
  (v: Values) =>
    v.HERALD_MASTER_KEY !== undefined && v.HERALD_MASTER_KEY_FILE !== undefined
      ? { variable: 'HERALD_MASTER_KEY_FILE', message: 'is set together with HERALD_MASTER_KEY; set only one of them' }
      : undefined,
  // A lease that can lapse while its attempt is still running invites a second, parallel delivery.
  (v: Values) =>
    v.HERALD_LEASE !== undefined && v.HERALD_DELIVERY_TIMEOUT !== undefined && v.HERALD_LEASE < v.HERALD_DELIVERY_TIMEOUT * 2
      ? { variable: 'HERALD_LEASE', message: `must be at least twice HERALD_DELIVERY_TIMEOUT (${v.HERALD_DELIVERY_TIMEOUT} ms), got ${v.HERALD_LEASE} ms` }
      : undefined,
  (v: Values) =>
    v.HERALD_CIRCUIT_MAX_COOLDOWN !== undefined && v.HERALD_CIRCUIT_COOLDOWN !== undefined && v.HERALD_CIRCUIT_MAX_COOLDOWN < v.HERALD_CIRCUIT_COOLDOWN
      ? {
          variable: 'HERALD_CIRCUIT_MAX_COOLDOWN',
          message: `must be at least HERALD_CIRCUIT_COOLDOWN (${v.HERALD_CIRCUIT_COOLDOWN} ms), got ${v.HERALD_CIRCUIT_MAX_COOLDOWN} ms`,
        }
      : undefined,
  (v: Values) =>
    v.HERALD_API_RATE_LIMIT === null && v.HERALD_API_RATE_BURST !== undefined
      ? { variable: 'HERALD_API_RATE_BURST', message: "is set although HERALD_API_RATE_LIMIT is 'off'" }
      : undefined,
  (v: Values) =>
    v.HERALD_OPERATOR_RATE_LIMIT === null && v.HERALD_OPERATOR_RATE_BURST !== undefined
      ? { variable: 'HERALD_OPERATOR_RATE_BURST', message: "is set although HERALD_OPERATOR_RATE_LIMIT is 'off'" }
      : undefined,
];
