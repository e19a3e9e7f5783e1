/**
 * The gateway's configuration: one JSON file (`--config path` or HERALD_RECEIVE_CONFIG) and/or
 * HERALD_RECEIVE_* variables, which override the file setting by setting. Checked whole at start;
 * every problem is reported with the setting's name and what it accepts, so a bad deploy fails
 * before it listens rather than on the first webhook.
 */
import { readFileSync } from 'node:fs';
import { checkEnv, ConfigError, deepFreeze } from '@herald/config';
import { ENGAGE_EVENT_TYPES, parseEncryptionKey } from '@herald/engage';
import { createIpAllowlist, parseSecret } from '@herald/receiver';
import { Checker, type Json } from './checker.js';
import { SETTING_DEFAULTS as D, GATEWAY_VARIABLES, SETTING_RANGES } from './variables.js';

/** Settings every destination has. */
interface DestinationBase {
  timeoutMs: number;
  /** Attempts to this destination running at once, in its own slots (default: the top-level `concurrency`). */
  concurrency: number;
}

export interface HttpDestinationConfig extends DestinationBase {
  type: 'http';
  url: string;
  /** Extra request headers, e.g. an internal Authorization. */
  headers: Record<string, string>;
  /**
   * Signs each forward (Standard Webhooks `webhook-id`/`-timestamp`/`-signature`), so the next hop
   * verifies it with the receiver kit: `whsec_…` (HMAC) or `whsk_…` (ed25519). Default: the
   * top-level `signingSecret`; without either, forwards are unsigned.
   */
  signingSecret?: string;
}
export interface RedisDestinationConfig extends DestinationBase {
  type: 'redis';
  url: string;
  stream: string;
  /** Approximate cap on the stream's length (XADD MAXLEN ~); absent: no cap. */
  maxLen?: number;
  timeoutMs: number;
}
export interface RabbitMqDestinationConfig extends DestinationBase {
  type: 'rabbitmq';
  url: string;
  /** '' is the default exchange, where the routing key is the queue name. */
  exchange: string;
  routingKey: string;
  timeoutMs: number;
}
export interface NatsDestinationConfig extends DestinationBase {
  type: 'nats';
  servers: string[];
  subject: string;
  timeoutMs: number;
}
export type DestinationConfig = HttpDestinationConfig | RedisDestinationConfig | RabbitMqDestinationConfig | NatsDestinationConfig;

export interface RouteConfig {
  /** Event types; `*` matches every type, `contact.*` every type starting with `contact.`. */
  events: string[];
  /** Destination names. */
  to: string[];
  /**
   * Allows event types (and prefixes) outside the Engage catalog, for senders with types of their
   * own. Without it, a name the catalog does not have is a configuration error: a typo would
   * otherwise route nothing, silently.
   */
  allowCustomEvents?: boolean;
}

export interface RetryConfig {
  initialDelayMs: number;
  maxDelayMs: number;
  /** Attempts per event and destination before it is marked failed (kept in the inbox). */
  maxAttempts: number;
}

export interface GatewayConfig {
  host: string;
  port: number;
  /** The one POST path webhooks are delivered to. */
  path: string;
  secrets: string[];
  /** The Engage key; during a key rotation, the new and the old key (newest first). */
  encryptionKey?: string | string[];
  allowlist?: string[];
  trustedProxies: string[];
  maxBodyBytes: number;
  toleranceSeconds: number;
  /** The SQLite inbox file. */
  inboxPath: string;
  retry: RetryConfig;
  /** Attempts running at once per destination, for destinations that do not set their own. */
  concurrency: number;
  /** How long fully forwarded events stay in the inbox (and so are recognised as repeats), hours. */
  retentionHours: number;
  /** The default signing secret of HTTP destinations (see HttpDestinationConfig.signingSecret). */
  signingSecret?: string;
  destinations: Record<string, DestinationConfig>;
  routes: RouteConfig[];
}

export { ConfigError } from '@herald/config';

const TOP_KEYS = Object.values(GATEWAY_VARIABLES).flatMap((v) => (v.setting === null ? [] : [v.setting]));

/** Which variable sets which file setting (from the table in variables.ts). */
export const ENV_VARS: Readonly<Record<string, string>> = Object.freeze(
  Object.fromEntries(Object.entries(GATEWAY_VARIABLES).flatMap(([name, v]) => (v.setting === null ? [] : [[name, v.setting]]))),
);

const DESTINATION_KEYS: Record<DestinationConfig['type'], readonly string[]> = {
  http: ['type', 'url', 'headers', 'timeoutMs', 'concurrency', 'signingSecret'],
  redis: ['type', 'url', 'stream', 'maxLen', 'timeoutMs', 'concurrency'],
  rabbitmq: ['type', 'url', 'exchange', 'routingKey', 'timeoutMs', 'concurrency'],
  nats: ['type', 'servers', 'subject', 'timeoutMs', 'concurrency'],
};

function checkSigningSecret(c: Checker, setting: string, value: Json): string | undefined {
  const text = c.string(setting, value, { nonEmpty: true });
  if (text === undefined) return undefined;
  try {
    if (parseSecret(text).kind === 'ed25519-public') return c.fail(setting, 'is a public key (whpk_…): signing needs whsec_… or whsk_…');
  } catch (err) {
    return c.fail(setting, `must be a whsec_… (HMAC) or whsk_… (ed25519) secret: ${(err as Error).message}`);
  }
  return text;
}

function checkDestination(
  c: Checker,
  setting: string,
  value: Json,
  defaults: { concurrency: number; signingSecret: string | undefined },
): DestinationConfig | undefined {
  const d = c.object(setting, value);
  if (!d) return undefined;
  const type = d.type;
  if (type !== 'http' && type !== 'redis' && type !== 'rabbitmq' && type !== 'nats') {
    return c.fail(`${setting}.type`, `must be one of http, redis, rabbitmq, nats; got ${JSON.stringify(type)}`);
  }
  c.unknownKeys(setting, d, DESTINATION_KEYS[type]);
  const timeoutMs = c.int(`${setting}.timeoutMs`, d.timeoutMs, 1, 300_000, 10_000);
  const concurrency = c.int(`${setting}.concurrency`, d.concurrency, 1, 1000, defaults.concurrency);
  if (concurrency === undefined) return undefined;
  switch (type) {
    case 'http': {
      let url = c.url(`${setting}.url`, d.url, ['http:', 'https:']);
      if (url !== undefined) {
        const u = new URL(url);
        if (u.username !== '' || u.password !== '') {
          // undici does not send URL credentials, so they would be dropped silently (and they
          // would sit in logs and errors). Say so without repeating them.
          url = c.fail(`${setting}.url`, 'must not carry credentials (user:password@); put them in headers, e.g. "authorization"');
        }
      }
      const headers: Record<string, string> = {};
      if (d.headers !== undefined) {
        const h = c.object(`${setting}.headers`, d.headers);
        for (const [name, v] of Object.entries(h ?? {})) {
          if (typeof v === 'string') headers[name] = v;
          else c.fail(`${setting}.headers.${name}`, 'must be a string');
        }
      }
      const signingSecret = d.signingSecret === undefined ? defaults.signingSecret : checkSigningSecret(c, `${setting}.signingSecret`, d.signingSecret);
      return url && timeoutMs ? { type, url, headers, timeoutMs, concurrency, ...(signingSecret ? { signingSecret } : {}) } : undefined;
    }
    case 'redis': {
      const url = c.url(`${setting}.url`, d.url ?? 'redis://127.0.0.1:6379', ['redis:', 'rediss:']);
      const stream = c.string(`${setting}.stream`, d.stream, { nonEmpty: true });
      const maxLen = d.maxLen === undefined ? undefined : c.int(`${setting}.maxLen`, d.maxLen, 1, Number.MAX_SAFE_INTEGER);
      return url && stream && timeoutMs ? { type, url, stream, maxLen, timeoutMs, concurrency } : undefined;
    }
    case 'rabbitmq': {
      const url = c.url(`${setting}.url`, d.url ?? 'amqp://guest:guest@127.0.0.1:5672', ['amqp:', 'amqps:']);
      const exchange = c.string(`${setting}.exchange`, d.exchange ?? '');
      const routingKey = c.string(`${setting}.routingKey`, d.routingKey, { nonEmpty: exchange === '' });
      return url && exchange !== undefined && routingKey !== undefined && timeoutMs ? { type, url, exchange, routingKey, timeoutMs, concurrency } : undefined;
    }
    case 'nats': {
      const servers = c.stringList(`${setting}.servers`, d.servers ?? ['127.0.0.1:4222'], { nonEmpty: true });
      const subject = c.string(`${setting}.subject`, d.subject, { nonEmpty: true });
      if (subject !== undefined && /[\s*>]/.test(subject)) {
        c.fail(`${setting}.subject`, 'must be a concrete subject: no spaces and no wildcards (* or >)');
        return undefined;
      }
      return servers && subject && timeoutMs ? { type, servers, subject, timeoutMs, concurrency } : undefined;
    }
  }
}

/** Validates a raw settings object (the file's JSON with variables merged in). */
export function validateConfig(raw: Json): GatewayConfig {
  const c = new Checker();
  const o = c.object('(configuration)', raw);
  if (!o) throw new ConfigError(c.problems);
  c.unknownKeys('', o, TOP_KEYS);
  // A whole-number setting: its default and range come from the table of variables.
  const int = (setting: string) => c.int(setting, o[setting] ?? D[setting], ...SETTING_RANGES[setting]!);

  const host = c.string('host', o.host ?? D.host, { nonEmpty: true });
  const port = int('port');
  const path = c.string('path', o.path ?? D.path, { nonEmpty: true });
  if (path !== undefined && !path.startsWith('/')) c.fail('path', `must start with "/", got ${JSON.stringify(path)}`);

  const secrets = c.stringList('secrets', o.secrets, { nonEmpty: true });
  for (const [i, s] of (secrets ?? []).entries()) {
    try {
      parseSecret(s);
    } catch (err) {
      c.fail(`secrets[${i}]`, `must be a whsec_… (HMAC) or whpk_… (ed25519 public key) secret: ${(err as Error).message}`);
    }
  }
  // One key, or while it is rotated a list (newest first; in the variable: separated by commas or spaces).
  const keyList = o.encryptionKey === undefined ? undefined : c.stringList('encryptionKey', o.encryptionKey, { nonEmpty: true });
  for (const [i, k] of (keyList ?? []).entries()) {
    try {
      parseEncryptionKey(k);
    } catch (err) {
      c.fail(keyList!.length > 1 ? `encryptionKey[${i}]` : 'encryptionKey', `must be the 32-character Engage key: ${(err as Error).message}`);
    }
  }
  const encryptionKey = keyList === undefined ? undefined : keyList.length === 1 ? keyList[0] : keyList;
  const ipList = (setting: string, value: Json): string[] | undefined => {
    const list = c.stringList(setting, value);
    if (list === undefined) return undefined;
    try {
      createIpAllowlist(list);
    } catch (err) {
      c.fail(setting, `must list IPv4/IPv6 addresses or CIDR ranges: ${(err as Error).message}`);
    }
    return list;
  };
  const allowlist = o.allowlist === undefined ? undefined : ipList('allowlist', o.allowlist);
  const trustedProxies = ipList('trustedProxies', o.trustedProxies ?? []) ?? [];
  const maxBodyBytes = int('maxBodyBytes');
  const toleranceSeconds = int('toleranceSeconds');
  const inboxPath = c.string('inboxPath', o.inboxPath ?? D.inboxPath, { nonEmpty: true });
  const concurrency = int('concurrency');
  // At least a day: Svix retries a message for about 28 h, and a pruned id is no longer a repeat.
  const retentionHours = int('retentionHours');
  const signingSecret = o.signingSecret === undefined ? undefined : checkSigningSecret(c, 'signingSecret', o.signingSecret);

  let retry: RetryConfig | undefined;
  const r = c.object('retry', o.retry ?? {});
  if (r) {
    c.unknownKeys('retry', r, ['initialDelayMs', 'maxDelayMs', 'maxAttempts']);
    const initialDelayMs = c.int('retry.initialDelayMs', r.initialDelayMs, 1, 3_600_000, 1000);
    const maxDelayMs = c.int('retry.maxDelayMs', r.maxDelayMs, 1, 86_400_000, 600_000);
    const maxAttempts = c.int('retry.maxAttempts', r.maxAttempts, 1, 1_000_000, 30);
    if (initialDelayMs !== undefined && maxDelayMs !== undefined && maxDelayMs < initialDelayMs) {
      c.fail('retry.maxDelayMs', `must be at least retry.initialDelayMs (${initialDelayMs})`);
    }
    if (initialDelayMs && maxDelayMs && maxAttempts) retry = { initialDelayMs, maxDelayMs, maxAttempts };
  }

  const destinations: Record<string, DestinationConfig> = {};
  const ds = c.object('destinations', o.destinations);
  if (ds) {
    for (const [name, value] of Object.entries(ds)) {
      if (!/^[A-Za-z0-9_.-]{1,64}$/.test(name)) {
        c.fail(`destinations.${name}`, 'a destination name is 1–64 letters, digits, "_", "." or "-"');
        continue;
      }
      const d = checkDestination(c, `destinations.${name}`, value, { concurrency: concurrency ?? 16, signingSecret });
      if (d) destinations[name] = d;
    }
  }

  const routes: RouteConfig[] = [];
  if (!Array.isArray(o.routes)) c.fail('routes', 'must be a list of {"events": [...], "to": [...]}');
  else {
    if (o.routes.length === 0) c.fail('routes', 'must list at least one route, or no event is forwarded anywhere');
    for (const [i, value] of o.routes.entries()) {
      const route = c.object(`routes[${i}]`, value);
      if (!route) continue;
      c.unknownKeys(`routes[${i}]`, route, ['events', 'to', 'allowCustomEvents']);
      const allowCustomEvents = route.allowCustomEvents;
      if (allowCustomEvents !== undefined && typeof allowCustomEvents !== 'boolean') {
        c.fail(`routes[${i}].allowCustomEvents`, 'must be true or false');
      }
      const events = c.stringList(`routes[${i}].events`, route.events, { nonEmpty: true });
      for (const e of events ?? []) {
        if (!/^(\*|[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*(\.\*)?)$/.test(e)) {
          c.fail(`routes[${i}].events`, `${JSON.stringify(e)} is not an event type, "*", or a prefix like "contact.*"`);
        } else if (allowCustomEvents !== true && !ENGAGE_EVENT_TYPES.some((t) => matchesEvent(e, t))) {
          c.fail(
            `routes[${i}].events`,
            `${JSON.stringify(e)} matches no Engage event type (${ENGAGE_EVENT_TYPES.join(', ')}); ` +
              'for types of your own, set "allowCustomEvents": true on the route',
          );
        }
      }
      const to = c.stringList(`routes[${i}].to`, route.to, { nonEmpty: true });
      for (const name of to ?? []) {
        if (ds && !(name in ds)) {
          c.fail(`routes[${i}].to`, `${JSON.stringify(name)} is not a destination; defined: ${Object.keys(ds).join(', ') || '(none)'}`);
        }
      }
      if (events && to) routes.push({ events, to: [...new Set(to)], ...(allowCustomEvents === true ? { allowCustomEvents } : {}) });
    }
  }

  if (c.problems.length > 0) throw new ConfigError(c.problems);
  return deepFreeze<GatewayConfig>({
    host: host!,
    port: port!,
    path: path!,
    secrets: secrets!,
    encryptionKey,
    allowlist,
    trustedProxies,
    maxBodyBytes: maxBodyBytes!,
    toleranceSeconds: toleranceSeconds!,
    inboxPath: inboxPath!,
    retry: retry!,
    concurrency: concurrency!,
    retentionHours: retentionHours!,
    ...(signingSecret ? { signingSecret } : {}),
    destinations,
    routes,
  });
}

/**
 * Reads the file (if any) and the HERALD_RECEIVE_* variables, then validates. A variable wins over
 * the file for its setting.
 */
export function loadConfig(env: NodeJS.ProcessEnv, configPath?: string): GatewayConfig {
  // Every problem at once: the file's, the variables' and the settings', so one run lists them all.
  const problems: string[] = [];
  const path = configPath ?? env.HERALD_RECEIVE_CONFIG;
  let raw: Record<string, Json> = {};
  let fileOk = true;
  if (path !== undefined && path !== '') {
    let text: string | undefined;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      problems.push(`config file ${path}: cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
    }
    if (text !== undefined) {
      try {
        const parsed: Json = JSON.parse(text);
        if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
          problems.push(`config file ${path}: must hold one JSON object`);
        } else raw = parsed as Record<string, Json>;
      } catch (err) {
        problems.push(`config file ${path}: must be JSON: ${(err as Error).message}`);
      }
    }
    fileOk = problems.length === 0;
  }
  const merged: Record<string, Json> = { ...raw };
  const fromEnv = checkEnv(GATEWAY_VARIABLES, env, [], { defaults: false });
  for (const [name, value] of Object.entries(fromEnv.values)) {
    const setting = GATEWAY_VARIABLES[name as keyof typeof GATEWAY_VARIABLES].setting;
    if (setting !== null) merged[setting] = value;
  }
  problems.push(...fromEnv.problems.map((p) => `${p.variable}: ${p.message}`));
  // A variable reported here is left out below, where its setting's check would only repeat it.
  const skipped = fromEnv.problems.map((p) => ENV_VARS[p.variable]).filter((s): s is string => s !== undefined);
  for (const name of Object.keys(env)) {
    if (name.startsWith('HERALD_RECEIVE_') && !(name in GATEWAY_VARIABLES)) {
      problems.push(`${name}: unknown variable; known: ${Object.keys(GATEWAY_VARIABLES).join(', ')}`);
    }
  }
  // Without the file's settings, checking the rest would only list what the file should have set.
  if (!fileOk) throw new ConfigError(problems);
  try {
    const config = validateConfig(merged);
    if (problems.length > 0) throw new ConfigError(problems);
    return config;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    const about = (p: string, key: string): boolean =>
      [':', '.', '['].some((end) => p.startsWith(`${key}${end}`)) || (p.startsWith(`routes[`) && key === 'routes');
    throw new ConfigError([...problems, ...err.problems.filter((p) => !skipped.some((key) => about(p, key)))]);
  }
}

/** True when `eventType` is matched by a route pattern (`*`, `prefix.*`, or the exact type). */
export function matchesEvent(pattern: string, eventType: string): boolean {
  if (pattern === '*') return true;
  if (pattern.endsWith('.*')) return eventType.startsWith(pattern.slice(0, -1));
  return pattern === eventType;
}

/** Destination names for an event type, in route order, each once. */
export function destinationsFor(routes: readonly RouteConfig[], eventType: string): string[] {
  const out = new Set<string>();
  for (const route of routes) {
    if (route.events.some((p) => matchesEvent(p, eventType))) for (const name of route.to) out.add(name);
  }
  return [...out];
}
