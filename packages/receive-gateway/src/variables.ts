/**
 * Every HERALD_RECEIVE_* variable, described once: the file setting it overrides, how its text
 * becomes that setting's value, the default, what is allowed and help. The variable names the
 * gateway accepts, the defaults validateConfig fills in, the README's table (npm run docs:config)
 * and `herald-receive --help` all come from this table. Values are checked by validateConfig,
 * whichever of the file or a variable they came from.
 */
import { helpText, Invalid, type Kind, type Variable, variable } from '@herald/config';
import type { Json } from './checker.js';

/** A variable of the gateway: which file setting it sets (none for the file itself). */
export type GatewayVariable = Variable<Json> & { setting: string | null };

/** The text as the setting's value; the setting's own check says what is wrong with it. */
const as = (type: string, allowed: string): Kind<Json> => ({ type, allowed, parse: (t) => t, schema: {} });

/** A JSON-valued variable: the same JSON as its setting in the file. */
const json = (setting: string, allowed: string): Kind<Json> => ({
  type: 'JSON',
  allowed,
  parse(t) {
    try {
      return JSON.parse(t) as Json;
    } catch {
      throw new Invalid(`must be JSON (the same value as "${setting}" in the config file)`);
    }
  },
  schema: {},
});

/** A whole-number setting and its range (validateConfig checks it, from here). */
const int = (min: number, max: number): Kind<Json> & { range: readonly [number, number] } => ({
  ...as('integer', `an integer from ${min} to ${max}`),
  range: [min, max],
});

const LIST = 'separated by commas or spaces';

function g(setting: string | null, spec: Variable<Json>): GatewayVariable {
  return { ...variable(spec), setting };
}

export const GATEWAY_VARIABLES = {
  HERALD_RECEIVE_CONFIG: g(null, {
    kind: as('file', 'a JSON file'),
    help: 'the configuration file (as `--config`); every setting below can be in it, under its name',
  }),
  HERALD_RECEIVE_HOST: g('host', { kind: as('text', 'a host name or IP address'), default: '0.0.0.0', help: '`host`: address to listen on' }),
  HERALD_RECEIVE_PORT: g('port', {
    kind: int(0, 65535),
    default: '8080',
    help: '`port`: port to listen on (0 picks a free one)',
  }),
  HERALD_RECEIVE_PATH: g('path', {
    kind: as('text', 'a path starting with /'),
    default: '/',
    help: '`path`: where webhooks are posted; other paths get 404, other methods 405',
  }),
  HERALD_RECEIVE_SECRETS: g('secrets', {
    kind: as('list', `\`whsec_…\` (HMAC) or \`whpk_…\` (ed25519) secrets, ${LIST}`),
    defaultText: 'required',
    help: '`secrets`: the endpoint secrets webhooks are verified with; list the previous one while rotating',
  }),
  HERALD_RECEIVE_ENCRYPTION_KEY: g('encryptionKey', {
    kind: as('list', `the 32-character Engage key; while it is rotated, the new and the old key, ${LIST}`),
    help: '`encryptionKey`: needed only when Engage payload encryption is on (newest key first)',
  }),
  HERALD_RECEIVE_ALLOWLIST: g('allowlist', {
    kind: as('list', `IPv4/IPv6 addresses and CIDR ranges, ${LIST}`),
    defaultText: 'any source',
    help: '`allowlist`: addresses allowed to call; others get 403 `ip_not_allowed`',
  }),
  HERALD_RECEIVE_TRUSTED_PROXIES: g('trustedProxies', {
    kind: as('list', `IPv4/IPv6 addresses and CIDR ranges, ${LIST}`),
    help: '`trustedProxies`: only these may set `X-Forwarded-For`',
  }),
  HERALD_RECEIVE_MAX_BODY_BYTES: g('maxBodyBytes', {
    kind: int(1, 64 * 1024 * 1024),
    default: '1048576',
    help: '`maxBodyBytes`: largest accepted webhook body',
  }),
  HERALD_RECEIVE_TOLERANCE_SECONDS: g('toleranceSeconds', {
    kind: int(1, 86_400),
    default: '300',
    help: "`toleranceSeconds`: how far a webhook's signed timestamp may be from now",
  }),
  HERALD_RECEIVE_INBOX: g('inboxPath', {
    kind: as('file', 'a file path'),
    default: './data/inbox.db',
    help: '`inboxPath`: the SQLite inbox; one gateway process per file',
  }),
  HERALD_RECEIVE_RETRY: g('retry', {
    kind: json('retry', '`{"initialDelayMs": 1 to 3600000, "maxDelayMs": 1 to 86400000, "maxAttempts": 1 to 1000000}`'),
    defaultText: '1 s doubling to 10 min, 30 attempts',
    help: '`retry`: how forwarding is retried; then the delivery is `failed` and stays in the inbox',
  }),
  HERALD_RECEIVE_CONCURRENCY: g('concurrency', {
    kind: int(1, 1000),
    default: '16',
    help: "`concurrency`: forwarding attempts at once per destination; the default of every destination's own `concurrency`",
  }),
  HERALD_RECEIVE_RETENTION_HOURS: g('retentionHours', {
    kind: int(24, 24 * 365 * 10),
    default: '72',
    help: '`retentionHours`: how long fully forwarded events stay in the inbox, and so are recognised as repeats',
  }),
  HERALD_RECEIVE_SIGNING_SECRET: g('signingSecret', {
    kind: as('secret', '`whsec_…` (HMAC) or `whsk_…` (ed25519)'),
    secret: true,
    help: "`signingSecret`: signs every HTTP forward; a destination's own `signingSecret` wins",
  }),
  HERALD_RECEIVE_DESTINATIONS: g('destinations', {
    kind: json('destinations', 'a JSON object of named destinations (see *What the destinations get*)'),
    defaultText: 'required',
    help: '`destinations`: where events are forwarded: `http`, `redis`, `rabbitmq` or `nats`',
  }),
  HERALD_RECEIVE_ROUTES: g('routes', {
    kind: json('routes', 'a JSON list of `{"events": [...], "to": [...]}`'),
    defaultText: 'required',
    help: '`routes`: which event types go to which destinations',
  }),
} satisfies Record<string, GatewayVariable>;

/** Each setting's default, in the variables' text form (the setting's check reads it as it reads a variable). */
export const SETTING_DEFAULTS: Readonly<Record<string, string>> = Object.freeze(
  Object.fromEntries(Object.values(GATEWAY_VARIABLES).flatMap((v) => (v.setting !== null && v.default !== undefined ? [[v.setting, v.default]] : []))),
);

/** Each whole-number setting's range. */
export const SETTING_RANGES: Readonly<Record<string, readonly [number, number]>> = Object.freeze(
  Object.fromEntries(
    Object.values(GATEWAY_VARIABLES).flatMap((v) => {
      const range = (v.kind as { range?: readonly [number, number] }).range;
      return v.setting !== null && range ? [[v.setting, range]] : [];
    }),
  ),
);

/** What `herald-receive --help` prints. */
export const USAGE =
  'usage: herald-receive [--config <file.json>]\n' +
  '       herald-receive requeue-failed [--destination <name>] [--config <file.json>]\n' +
  '       herald-receive --help\n\n' +
  'Settings come from the JSON file and from these variables; a variable overrides its setting:\n' +
  helpText(GATEWAY_VARIABLES);
