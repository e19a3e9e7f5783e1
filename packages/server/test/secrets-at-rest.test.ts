// Secrets at rest, on both stores: after an application with endpoints (known signing secrets,
// one rotated away but still in its grace period, sensitive and ordinary custom headers), an
// Engage tenant with an encryption key and detector state, a portal token answered under an
// idempotency key, and real deliveries, neither the raw SQLite files (database, -wal, -shm) nor a
// pg_dump contains any of those values, as written or base64/hex encoded. A control value that is
// stored in plaintext by design (the application's name) is found, so the search itself works.
// Endpoints' authentication settings (a Basic password, an OAuth client secret, an mTLS private key)
// are among the values.
import { execFileSync } from 'node:child_process';
import { createPrivateKey, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/index.js';
import { createHerald, type Herald } from '../src/herald.js';
import { markersIn, pgDump, sqliteBytes, sqliteFiles } from './helpers/at-rest.js';
import { LOOPBACK_ALLOWLIST, OPERATOR_TOKEN } from './helpers/inproc.js';
import { createTestDatabase, type TestDatabase } from './helpers/pg.js';
import { Receiver } from './helpers/receiver.js';

const rand = (n = 9) => randomBytes(n).toString('hex');
const alnum = (n: number) => {
  const abc = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  return Array.from(randomBytes(n), (b) => abc[b % abc.length]).join('');
};

async function api(h: Herald, method: string, url: string, status: number, body?: unknown, headers: Record<string, string> = {}): Promise<any> {
  const r = await h.api.inject({
    method: method as 'GET',
    url,
    headers: { authorization: `Bearer ${OPERATOR_TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    payload: body === undefined ? undefined : JSON.stringify(body),
  });
  if (r.statusCode !== status) throw new Error(`${method} ${url} answered ${r.statusCode} (wanted ${status}): ${r.body}`);
  return r.body ? JSON.parse(r.body) : undefined;
}

/** A client certificate and its key (PEM), made by openssl. */
function selfSigned(): { cert: string; key: string } {
  const dir = mkdtempSync(join(tmpdir(), 'herald-rest-pki-'));
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        'k.pem',
        '-out',
        'c.pem',
        '-days',
        '1',
        '-subj',
        '/CN=rest',
      ],
      { cwd: dir, stdio: 'pipe' },
    );
    return { cert: readFileSync(join(dir, 'c.pem'), 'utf8'), key: readFileSync(join(dir, 'k.pem'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Fill a Herald with secrets; returns the markers that must not be at rest and the control that must. */
async function populate(h: Herald, rx: Receiver): Promise<{ secret: Record<string, string | Buffer>; control: Record<string, string> }> {
  const secretBytes = randomBytes(24);
  const signing = `whsec_${secretBytes.toString('base64')}`;
  const first = `whsec_${randomBytes(24).toString('base64')}`;
  const sensitive = `Bearer SENS${rand()}`;
  const apiKey = `KEY${rand()}`;
  const ordinary = `TAG${rand()}`;
  const engageKey = alnum(32);
  const email = `STATE${rand()}@example.com`;
  const name = `CONTROL${rand()}`;

  const uid = `rest-${rand(4)}`;
  const app = (await api(h, 'POST', '/api/v1/app', 201, { name, uid })).id;
  const ep = await api(h, 'POST', `/api/v1/app/${app}/endpoint`, 201, {
    url: rx.url('/rest'),
    secret: first,
    headers: { Authorization: sensitive, 'X-Api-Key': apiKey, 'X-Tenant-Tag': ordinary },
  });
  await api(h, 'POST', `/api/v1/app/${app}/endpoint/${ep.id}/secret/rotate`, 204, { key: signing });
  expect((await api(h, 'GET', `/api/v1/app/${app}/endpoint/${ep.id}/secret`, 200)).key).toBe(signing);

  await api(h, 'PUT', `/api/v1/app/${uid}/engage/module`, 200, { enabled: true });
  await api(h, 'PUT', `/api/v1/app/${uid}/engage/encryption-key`, 200, { key: engageKey });
  await api(h, 'POST', `/api/v1/app/${uid}/engage/contact`, 202, { contactId: '00000000-0000-4000-8000-000000000007', attributes: { email } });

  // Authentication to endpoints: Basic credentials, an OAuth client secret, an mTLS private key.
  const basicPassword = `BASIC${rand()}`;
  const clientSecret = `OAUTH${rand()}`;
  const withBasic = await api(h, 'POST', `/api/v1/app/${app}/endpoint`, 201, { url: rx.url('/basic') });
  await api(h, 'PUT', `/api/v1/app/${app}/endpoint/${withBasic.id}/auth`, 204, { type: 'basic', username: 'rest', password: basicPassword });
  await api(h, 'PUT', `/api/v1/app/${app}/endpoint/${withBasic.id}/oauth`, 409, {
    grantType: 'clientCredentials',
    authMethod: 'clientSecretPost',
    clientId: 'rest',
    clientSecret,
    tokenUrl: rx.url('/token'),
  });
  const withOauth = await api(h, 'POST', `/api/v1/app/${app}/endpoint`, 201, { url: 'https://127.0.0.1:9/never' });
  await api(h, 'PUT', `/api/v1/app/${app}/endpoint/${withOauth.id}/oauth`, 204, {
    grantType: 'clientCredentials',
    authMethod: 'clientSecretPost',
    clientId: 'rest',
    clientSecret,
    tokenUrl: rx.url('/token'),
  });
  const { cert, key } = selfSigned();
  // The private scalar itself: it is in the PEM, base64-encoded at some alignment.
  const scalar = Buffer.from(createPrivateKey(key).export({ format: 'jwk' }).d!, 'base64url');
  await api(h, 'PUT', `/api/v1/app/${app}/endpoint/${withOauth.id}/mtls`, 204, { identity: cert + key });

  // Broker destinations' connection settings: a password in a URI, a NATS credentials file.
  const amqpPassword = `AMQP${rand()}`;
  const natsSeed = `SU${alnum(56).toUpperCase()}`;
  await api(h, 'POST', `/api/v1/app/${app}/destination`, 201, {
    type: 'rabbitMq',
    config: { uri: `amqp://rest:${amqpPassword}@rabbit.invalid`, routingKey: 'q' },
  });
  const creds = `-----BEGIN NATS USER JWT-----\neyJ0eXAiOiJKV1QifQ.e30.c2ln\n------END NATS USER JWT------\n-----BEGIN USER NKEY SEED-----\n${natsSeed}\n------END USER NKEY SEED------\n`;
  await api(h, 'POST', `/api/v1/app/${app}/destination`, 201, {
    type: 'natsJetStream',
    config: { servers: ['nats://nats.invalid'], subject: 's', credentials: creds },
  });

  const portal = (await api(h, 'POST', `/api/v1/auth/app-portal-access/${app}`, 200, {}, { 'idempotency-key': `idem-${rand()}` })).token as string;

  // Real deliveries: the dispatcher reads the sealed secret and headers and signs with them.
  await api(h, 'POST', `/api/v1/app/${app}/msg`, 202, { eventType: 'rest.event', payload: { n: 1 } });
  const [got] = await rx.waitForCount(1, { path: '/rest' });
  expect(got!.headers.authorization).toBe(sensitive);
  expect(got!.headers['x-tenant-tag']).toBe(ordinary);

  return {
    secret: {
      'signing secret': signing,
      'signing secret key bytes': secretBytes,
      'signing secret (base64 part)': signing.slice('whsec_'.length),
      'previous secret (in its grace period)': first,
      'sensitive header value': sensitive,
      'api key header value': apiKey,
      'ordinary custom header value': ordinary,
      'engage tenant encryption key': engageKey,
      'engage detector state': email,
      'portal token': portal,
      'portal token signature': portal.split('.')[1]!,
      'operator token': OPERATOR_TOKEN,
      'basic auth password': basicPassword,
      'oauth client secret': clientSecret,
      'mtls private key': scalar,
      'broker URI password': amqpPassword,
      'NATS credentials seed': natsSeed,
    },
    control: { 'application name': name },
  };
}

describe('secrets at rest: SQLite files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'herald-rest-sqlite-'));
  const dbDir = join(dir, 'db');
  let h: Herald | undefined;
  let rx: Receiver | undefined;
  afterAll(async () => {
    await h?.close();
    await rx?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('no secret is in the database, its WAL or its shared-memory file, while running or after close', async () => {
    rx = await Receiver.start();
    // The database in a folder of its own, so only its files are searched (the key file is elsewhere).
    const config = loadConfig({
      HERALD_DATA_DIR: dir,
      HERALD_DATABASE_URL: `sqlite:${join(dbDir, 'herald.db')}`,
      HERALD_API_TOKEN: OPERATOR_TOKEN,
      HERALD_SSRF_ALLOWLIST: LOOPBACK_ALLOWLIST,
      HERALD_POLL_INTERVAL: '20ms',
      HERALD_LOG_LEVEL: 'silent',
    });
    h = await createHerald(config);
    const { secret, control } = await populate(h, rx);

    // While running, recent writes sit in the WAL.
    expect(sqliteFiles(dbDir)).toEqual(expect.arrayContaining(['herald.db', 'herald.db-wal', 'herald.db-shm']));
    const live = sqliteBytes(dbDir);
    expect(markersIn(live, control)).toEqual(['application name']);
    expect(markersIn(live, secret)).toEqual([]);

    await h.close();
    h = undefined;
    const closed = sqliteBytes(dbDir);
    expect(markersIn(closed, control)).toEqual(['application name']);
    expect(markersIn(closed, secret)).toEqual([]);
  });
});

describe('secrets at rest: a pg_dump of the PostgreSQL database', () => {
  const dir = mkdtempSync(join(tmpdir(), 'herald-rest-pg-'));
  let db: TestDatabase | undefined;
  let h: Herald | undefined;
  let rx: Receiver | undefined;
  afterAll(async () => {
    await h?.close();
    await rx?.close();
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('no secret is in the dump', async () => {
    rx = await Receiver.start();
    db = await createTestDatabase();
    const config = loadConfig({
      HERALD_DATA_DIR: dir,
      HERALD_DATABASE_URL: db.url,
      HERALD_API_TOKEN: OPERATOR_TOKEN,
      HERALD_SSRF_ALLOWLIST: LOOPBACK_ALLOWLIST,
      HERALD_POLL_INTERVAL: '20ms',
      HERALD_LOG_LEVEL: 'silent',
    });
    h = await createHerald(config);
    const { secret, control } = await populate(h, rx);
    const dump = pgDump(db.url);
    expect(dump.includes('COPY public.endpoint')).toBe(true);
    expect(markersIn(dump, control)).toEqual(['application name']);
    expect(markersIn(dump, secret)).toEqual([]);
  });
});
