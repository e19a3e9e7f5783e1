import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateEncryptionKey } from '@herald/engage';
import { generateSecret } from '@herald/receiver';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, destinationsFor, ENV_VARS, loadConfig, validateConfig } from '../src/config.js';
import { GATEWAY_VARIABLES, USAGE } from '../src/variables.js';
import { tempDir } from './helpers.js';

const dir = tempDir();
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const secret = generateSecret();
const minimal = {
  secrets: [secret],
  destinations: { crm: { type: 'http', url: 'http://127.0.0.1:9000/in' } },
  routes: [{ events: ['*'], to: ['crm'] }],
};

function problems(raw: unknown): string[] {
  try {
    validateConfig(raw);
  } catch (err) {
    if (err instanceof ConfigError) return [...err.problems];
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('configuration', () => {
  it('fills defaults for a minimal file', () => {
    const config = validateConfig(minimal);
    expect(config).toMatchObject({
      host: '0.0.0.0',
      port: 8080,
      path: '/',
      maxBodyBytes: 1024 * 1024,
      toleranceSeconds: 300,
      inboxPath: './data/inbox.db',
      concurrency: 16,
      retentionHours: 72,
      retry: { initialDelayMs: 1000, maxDelayMs: 600_000, maxAttempts: 30 },
      trustedProxies: [],
    });
    expect(config.allowlist).toBeUndefined();
    expect(config.destinations.crm).toEqual({ type: 'http', url: 'http://127.0.0.1:9000/in', headers: {}, timeoutMs: 10_000, concurrency: 16 });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('reads a file, and each HERALD_RECEIVE_* variable overrides its setting', () => {
    const file = join(dir, 'gw.json');
    writeFileSync(file, JSON.stringify({ ...minimal, port: 9000 }));
    const config = loadConfig(
      {
        HERALD_RECEIVE_PORT: '9100',
        HERALD_RECEIVE_ALLOWLIST: '52.215.16.239, 2a05:d028:17:8000::/56',
        HERALD_RECEIVE_ROUTES: JSON.stringify([{ events: ['contact.*'], to: ['crm'] }]),
      },
      file,
    );
    expect(config.port).toBe(9100);
    expect(config.allowlist).toEqual(['52.215.16.239', '2a05:d028:17:8000::/56']);
    expect(config.routes).toEqual([{ events: ['contact.*'], to: ['crm'] }]);
  });

  it('works from variables alone', () => {
    const config = loadConfig({
      HERALD_RECEIVE_SECRETS: `${secret} ${generateSecret()}`,
      HERALD_RECEIVE_DESTINATIONS: JSON.stringify({ s: { type: 'redis', stream: 'engage' } }),
      HERALD_RECEIVE_ROUTES: JSON.stringify([{ events: ['*'], to: ['s'] }]),
    });
    expect(config.secrets).toHaveLength(2);
    expect(config.destinations.s).toEqual({
      type: 'redis',
      url: 'redis://127.0.0.1:6379',
      stream: 'engage',
      maxLen: undefined,
      timeoutMs: 10_000,
      concurrency: 16,
    });
  });

  it('names every bad setting and what it allows, all at once', () => {
    const list = problems({
      port: 'eighty',
      path: 'hooks',
      secrets: [],
      encryptionKey: 'short',
      allowlist: ['10.0.0.0/33'],
      retry: { initialDelayMs: 5000, maxDelayMs: 10, maxAttempts: 0 },
      destinations: {
        a: { type: 'http', url: 'ftp://x' },
        b: { type: 'rabbitmq', exchange: '' },
        c: { type: 'nats', subject: 'engage.>' },
        d: { type: 'redis', stream: 's', colour: 'blue' },
      },
      routes: [{ events: ['contact deleted'], to: ['a', 'z'] }],
      verbose: true,
      retentionHours: 2,
    });
    const expected = [
      /^verbose: unknown setting; allowed: host, port/,
      /^port: must be an integer from 0 to 65535, got "eighty"$/,
      /^path: must start with "\/"/,
      /^secrets: must list at least one entry$/,
      /^encryptionKey: must be the 32-character Engage key/,
      /^allowlist: must list IPv4\/IPv6 addresses or CIDR ranges/,
      /^retry\.maxAttempts: must be an integer from 1 to/,
      /^retentionHours: must be an integer from 24 to/,
      /^retry\.maxDelayMs: must be at least retry\.initialDelayMs \(5000\)$/,
      /^destinations\.a\.url: must be a http: or https: URL, got "ftp:"$/,
      /^destinations\.b\.routingKey: must not be empty$|^destinations\.b\.routingKey: must be a string$/,
      /^destinations\.c\.subject: must be a concrete subject/,
      /^destinations\.d\.colour: unknown setting; allowed: type, url, stream, maxLen, timeoutMs, concurrency$/,
      /^routes\[0\]\.events: "contact deleted" is not an event type/,
      /^routes\[0\]\.to: "z" is not a destination; defined: a, b, c, d$/,
    ];
    for (const re of expected)
      expect(
        list.some((p) => re.test(p)),
        `${re} in\n${list.join('\n')}`,
      ).toBe(true);
  });

  it('takes the Engage key, or during a rotation several (a list, or separated by commas in the variable)', () => {
    const [a, b] = [generateEncryptionKey(), generateEncryptionKey()];
    const base = {
      HERALD_RECEIVE_SECRETS: generateSecret(),
      HERALD_RECEIVE_DESTINATIONS: JSON.stringify({ s: { type: 'redis', stream: 'engage' } }),
      HERALD_RECEIVE_ROUTES: JSON.stringify([{ events: ['*'], to: ['s'] }]),
    };
    expect(loadConfig({ ...base, HERALD_RECEIVE_ENCRYPTION_KEY: a }).encryptionKey).toBe(a);
    expect(loadConfig({ ...base, HERALD_RECEIVE_ENCRYPTION_KEY: `${a}, ${b}` }).encryptionKey).toEqual([a, b]);
    expect(() => loadConfig({ ...base, HERALD_RECEIVE_ENCRYPTION_KEY: `${a},short` })).toThrow(/encryptionKey\[1\]: must be the 32-character Engage key/);
    expect(() => loadConfig({ ...base, HERALD_RECEIVE_ENCRYPTION_KEY: ' , ' })).toThrow(/encryptionKey: must list at least one entry/);
  });

  it('refuses credentials in an HTTP destination URL, without repeating them', () => {
    const list = problems({ ...minimal, destinations: { crm: { type: 'http', url: 'https://svc:pa55word@crm.internal/in' } } });
    expect(list).toEqual([expect.stringMatching(/^destinations\.crm\.url: must not carry credentials .*headers/)]);
    expect(list.join('\n')).not.toContain('pa55word');
    // The same credentials as a header are fine.
    const ok = validateConfig({
      ...minimal,
      destinations: { crm: { type: 'http', url: 'https://crm.internal/in', headers: { authorization: 'Basic c3ZjOnBhNTV3b3Jk' } } },
    });
    expect(ok.destinations.crm).toMatchObject({ headers: { authorization: 'Basic c3ZjOnBhNTV3b3Jk' } });
  });

  it('refuses an unknown variable, bad JSON in a variable, and an unreadable file', () => {
    expect(() => loadConfig({ HERALD_RECEIVE_PROT: '80' })).toThrow(/HERALD_RECEIVE_PROT: unknown variable/);
    expect(() => loadConfig({ HERALD_RECEIVE_ROUTES: '[{' })).toThrow(/HERALD_RECEIVE_ROUTES: must be JSON/);
    expect(() => loadConfig({}, join(dir, 'missing.json'))).toThrow(/cannot be read \(ENOENT\)/);
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{ nope');
    expect(() => loadConfig({}, bad)).toThrow(/must be JSON/);
    expect(() => loadConfig({})).toThrow(/secrets: must be a list/);
  });

  it('lists every route event name the Engage catalog does not have, unless the route allows custom events', () => {
    const list = problems({
      ...minimal,
      routes: [
        { events: ['loyalty.add.points', 'point.balance.updated', 'contact.*'], to: ['crm'] },
        { events: ['voucher.*', 'reward.voucher.created'], to: ['crm'] },
        { events: ['shop.order.placed'], to: ['crm'], allowCustomEvents: 'yes' },
      ],
    });
    expect(list).toEqual([
      expect.stringMatching(
        /^routes\[0\]\.events: "loyalty\.add\.points" matches no Engage event type \(.*loyalty\.addPoints.*\); for types of your own, set "allowCustomEvents": true on the route$/,
      ),
      expect.stringMatching(/^routes\[1\]\.events: "voucher\.\*" matches no Engage event type/),
      'routes[2].allowCustomEvents: must be true or false',
      expect.stringMatching(/^routes\[2\]\.events: "shop\.order\.placed" matches no Engage event type/),
    ]);
    const config = validateConfig({
      ...minimal,
      routes: [
        { events: ['shop.order.placed', 'shop.*'], to: ['crm'], allowCustomEvents: true },
        { events: ['loyalty.addPoints'], to: ['crm'] },
      ],
    });
    expect(config.routes).toEqual([
      { events: ['shop.order.placed', 'shop.*'], to: ['crm'], allowCustomEvents: true },
      { events: ['loyalty.addPoints'], to: ['crm'] },
    ]);
  });

  it('gives each destination its own concurrency, the top-level one by default', () => {
    const config = validateConfig({
      ...minimal,
      concurrency: 8,
      destinations: { crm: { type: 'http', url: 'http://127.0.0.1:9000/in' }, slow: { type: 'redis', stream: 's', concurrency: 2 } },
    });
    expect(config.destinations.crm.concurrency).toBe(8);
    expect(config.destinations.slow.concurrency).toBe(2);
    expect(problems({ ...minimal, destinations: { crm: { type: 'http', url: 'http://x/', concurrency: 0 } } })).toEqual([
      expect.stringMatching(/^destinations\.crm\.concurrency: must be an integer from 1 to 1000/),
    ]);
  });

  it('takes a signing secret for HTTP forwards, per destination or as the default, never a public key', () => {
    const [a, b] = [generateSecret(), generateSecret()];
    const config = validateConfig({
      ...minimal,
      signingSecret: a,
      destinations: { crm: { type: 'http', url: 'http://x/' }, own: { type: 'http', url: 'http://y/', signingSecret: b } },
    });
    expect(config.destinations.crm).toMatchObject({ signingSecret: a });
    expect(config.destinations.own).toMatchObject({ signingSecret: b });
    expect(problems({ ...minimal, signingSecret: `whpk_${Buffer.alloc(32, 1).toString('base64')}` })).toEqual([
      expect.stringMatching(/^signingSecret: is a public key/),
    ]);
    expect(problems({ ...minimal, destinations: { crm: { type: 'http', url: 'http://x/', signingSecret: 'nope!' } } })).toEqual([
      expect.stringMatching(/^destinations\.crm\.signingSecret: must be a whsec_/),
    ]);
  });

  it('lists the problems of the file, the variables and the settings all at once', () => {
    let err: unknown;
    try {
      loadConfig({
        HERALD_RECEIVE_PROT: '80',
        HERALD_RECEIVE_ROUTES: '[{',
        HERALD_RECEIVE_PORT: 'eighty',
        HERALD_RECEIVE_SECRETS: secret,
        HERALD_RECEIVE_DESTINATIONS: '{}',
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const list = (err as ConfigError).problems;
    expect(list).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^HERALD_RECEIVE_ROUTES: must be JSON/),
        expect.stringMatching(/^HERALD_RECEIVE_PROT: unknown variable/),
        expect.stringMatching(/^port: must be an integer/),
      ]),
    );
    // The bad routes variable is reported once, as bad JSON, not again as a missing setting.
    expect(list.filter((p) => p.startsWith('routes'))).toEqual([]);
    // A file that is not JSON, and an unknown variable, in one report.
    const bad = join(dir, 'bad-all.json');
    writeFileSync(bad, '{ nope');
    expect(() => loadConfig({ HERALD_RECEIVE_PROT: '80' }, bad)).toThrow(/must be JSON[\s\S]*HERALD_RECEIVE_PROT: unknown variable/);
  });

  it('routes exact types, prefixes and *, each destination once', () => {
    const routes = [
      { events: ['contact.*'], to: ['crm'] },
      { events: ['point.balance.updated'], to: ['loyalty', 'crm'] },
      { events: ['*'], to: ['archive'] },
    ];
    expect(destinationsFor(routes, 'contact.deleted')).toEqual(['crm', 'archive']);
    expect(destinationsFor(routes, 'point.balance.updated')).toEqual(['loyalty', 'crm', 'archive']);
    expect(destinationsFor(routes, 'contactx.created')).toEqual(['archive']);
    expect(destinationsFor(routes.slice(0, 2), 'reward.voucher.created')).toEqual([]);
  });

  it('accepts the example configurations in the READMEs (placeholders for secret and key swapped in)', () => {
    const readmes = ['../README.md', '../../receiver/README.md'].map((f) => readFileSync(new URL(f, import.meta.url), 'utf8'));
    const examples = readmes.flatMap((md) => [...md.matchAll(/```json\n([\s\S]*?)```/g)].map((m) => m[1]));
    expect(examples.length).toBeGreaterThanOrEqual(2);
    for (const text of examples) {
      const raw = JSON.parse(text) as Record<string, unknown>;
      expect(raw.secrets).toBeDefined();
      const config = validateConfig({ ...raw, secrets: [generateSecret()], encryptionKey: generateEncryptionKey() });
      expect(Object.keys(config.destinations).length).toBeGreaterThan(0);
    }
  });
});

describe('configuration as data', () => {
  it('herald-receive --help lists every variable, its setting and its default, from the table the gateway reads them by', () => {
    for (const [name, v] of Object.entries(GATEWAY_VARIABLES)) {
      expect(USAGE).toContain(`  ${name} (default: `);
      if (v.setting !== null) expect(ENV_VARS[name]).toBe(v.setting);
    }
    expect(USAGE).toMatch(/HERALD_RECEIVE_PORT \(default: 8080\)\n\s+port: port to listen on/);
  });

  it("the defaults it fills in are the table's", () => {
    const config = validateConfig(minimal);
    for (const v of Object.values(GATEWAY_VARIABLES)) {
      if (v.setting === null || v.default === undefined) continue;
      expect(String(config[v.setting as keyof typeof config]), v.setting).toBe(v.default);
    }
  });

  it('is frozen all the way down, and every problem is listed at once', () => {
    const config = validateConfig(minimal);
    for (const part of [
      config,
      config.destinations,
      config.destinations.crm,
      config.routes,
      config.routes[0],
      config.routes[0]!.events,
      config.retry,
      config.secrets,
    ]) {
      expect(Object.isFrozen(part)).toBe(true);
    }
    let err: unknown;
    try {
      loadConfig({
        HERALD_RECEIVE_DESTINATIONS: '{',
        HERALD_RECEIVE_RETRY: 'x',
        HERALD_RECEIVE_PORT: '99999',
        HERALD_RECEIVE_SECRETS: secret,
        HERALD_RECEIVE_ROUTES: '[]',
      });
    } catch (e) {
      err = e;
    }
    expect((err as ConfigError).problems).toEqual([
      'HERALD_RECEIVE_RETRY: must be JSON (the same value as "retry" in the config file)',
      'HERALD_RECEIVE_DESTINATIONS: must be JSON (the same value as "destinations" in the config file)',
      'port: must be an integer from 0 to 65535, got "99999"',
      'routes: must list at least one route, or no event is forwarded anywhere',
    ]);
  });
});
