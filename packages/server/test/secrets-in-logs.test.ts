// Secrets never reach the logs, and a master-key rotation needs no downtime, with real processes:
// `herald serve` logging at trace level takes endpoints with signing secrets and sensitive
// headers, rotates and reveals secrets, sets an Engage key, issues a portal token and delivers
// (successes and failures) to a real receiver; meanwhile `herald rotate-master-key` runs in a
// second process and the server keeps answering every secret read. Endpoints authenticate with a
// bearer token and with OAuth client credentials (a token server on the receiver). Nothing either process wrote
// to stdout or stderr contains a secret, as written or base64/hex encoded.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { markersIn } from './helpers/at-rest.js';
import { call, serve, spawnCli, type Served } from './helpers/cli.js';
import { Receiver } from './helpers/receiver.js';

const TOKEN = `op_${randomBytes(16).toString('hex')}`;
const rand = () => randomBytes(9).toString('hex');
const whsec = () => `whsec_${randomBytes(24).toString('base64')}`;

describe('secrets in logs, and a master-key rotation under a running server (real processes)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'herald-logs-'));
  let server: Served | undefined;
  let rx: Receiver | undefined;
  afterAll(async () => {
    await server?.stop();
    await rx?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('logs no secret while creating, rotating, revealing and delivering, nor while rotating the master key', async () => {
    rx = await Receiver.start();
    rx.on('/fail', { status: 500, body: 'nope' });
    // Three messages fail twice each on purpose; an open circuit would hold the last retry for 30 s.
    const env = { HERALD_DATA_DIR: dir, HERALD_API_TOKEN: TOKEN, HERALD_RETRY_SCHEDULE: '1s', HERALD_POLL_INTERVAL: '50ms', HERALD_CIRCUIT_FAILURES: '0' };
    server = await serve({ ...env, HERALD_LOG_LEVEL: 'trace' });
    const api = async (method: string, path: string, status: number, body?: unknown) => {
      const r = await call(server!.url, TOKEN, method, path, body);
      if (r.status !== status) throw new Error(`${method} ${path} answered ${r.status} (wanted ${status}): ${JSON.stringify(r.json)}`);
      return r.json;
    };
    const secrets: Record<string, string> = { 'operator token': TOKEN };
    const uid = `logs-${rand().slice(0, 6)}`;
    const app = (await api('POST', '/api/v1/app', 201, { name: uid, uid })).id;
    const endpoints: { id: string; secret: string }[] = [];
    for (const path of ['/ok', '/fail']) {
      const first = whsec();
      const header = `Bearer SENS${rand()}`;
      const ep = await api('POST', `/api/v1/app/${app}/endpoint`, 201, {
        url: rx.url(path),
        secret: first,
        headers: { Authorization: header, 'X-Api-Key': `KEY${rand()}` },
      });
      const second = whsec();
      await api('POST', `/api/v1/app/${app}/endpoint/${ep.id}/secret/rotate`, 204, { key: second });
      expect((await api('GET', `/api/v1/app/${app}/endpoint/${ep.id}/secret`, 200)).key).toBe(second);
      await api('PATCH', `/api/v1/app/${app}/endpoint/${ep.id}/headers`, 204, { headers: { 'X-Api-Key': `KEY2${rand()}` } });
      Object.assign(secrets, { [`first secret ${path}`]: first, [`secret ${path}`]: second, [`header ${path}`]: header });
      endpoints.push({ id: ep.id, secret: second });
    }
    // Authentication to the endpoint: a static bearer token, and OAuth client credentials against a token server.
    const bearer = `BEAR${rand()}`;
    const accessToken = `ACCESS${rand()}`;
    const clientSecret = `CLIENT${rand()}`;
    rx.on('/token', { status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ access_token: accessToken, expires_in: 3600 }) });
    const withBearer = await api('POST', `/api/v1/app/${app}/endpoint`, 201, { url: rx.url('/authd') });
    await api('PUT', `/api/v1/app/${app}/endpoint/${withBearer.id}/auth`, 204, { type: 'bearer', token: bearer });
    const withOauth = await api('POST', `/api/v1/app/${app}/endpoint`, 201, { url: rx.url('/oauthd') });
    await api('PUT', `/api/v1/app/${app}/endpoint/${withOauth.id}/oauth`, 204, {
      grantType: 'clientCredentials',
      authMethod: 'clientSecretBasic',
      clientId: 'logs',
      clientSecret,
      tokenUrl: rx.url('/token'),
    });
    Object.assign(secrets, { 'bearer token': bearer, 'oauth access token': accessToken, 'oauth client secret': clientSecret });
    await api('PUT', `/api/v1/app/${uid}/engage/module`, 200, { enabled: true });
    secrets['engage key'] = (await api('PUT', `/api/v1/app/${uid}/engage/encryption-key`, 200, {})).key;
    const portal = await api('POST', `/api/v1/auth/app-portal-access/${app}`, 200, {});
    secrets['portal token'] = portal.token;
    for (let i = 0; i < 3; i++) await api('POST', `/api/v1/app/${app}/msg`, 202, { eventType: 'logs.event', payload: { i } });
    await rx.waitForCount(3, { path: '/ok' });
    expect((await rx.waitForCount(3, { path: '/authd' }))[0]!.headers.authorization).toBe(`Bearer ${bearer}`);
    expect((await rx.waitForCount(3, { path: '/oauthd' }))[0]!.headers.authorization).toBe(`Bearer ${accessToken}`);
    await rx.waitForCount(6, { path: '/fail' }); // first attempts and a retry each
    const oldKey = readFileSync(join(dir, 'master.key'), 'utf8').trim();
    secrets['old master key'] = oldKey;

    // Rotate the master key in a second process while the server answers secret reads.
    const rotation = spawnCli(['rotate-master-key', '--batch-size', '1'], { ...env, HERALD_LOG_LEVEL: 'trace' });
    let reads = 0;
    let done = false;
    void rotation.exited.then(() => (done = true));
    while (!done) {
      for (const ep of endpoints) {
        expect((await api('GET', `/api/v1/app/${app}/endpoint/${ep.id}/secret`, 200)).key).toBe(ep.secret);
        reads++;
      }
    }
    const exit = await rotation.exited;
    expect(exit.code, rotation.stderr()).toBe(0);
    expect(rotation.stdout()).toMatch(/Master key rotated: \d+ row\(s\) re-sealed/);
    expect(reads).toBeGreaterThan(4);
    const newKey = readFileSync(join(dir, 'master.key'), 'utf8').trim();
    expect(newKey).not.toBe(oldKey);
    secrets['new master key'] = newKey;
    // After: reads and deliveries go on, under the new key only.
    for (const ep of endpoints) expect((await api('GET', `/api/v1/app/${app}/endpoint/${ep.id}/secret`, 200)).key).toBe(ep.secret);
    await api('POST', `/api/v1/app/${app}/msg`, 202, { eventType: 'logs.event', payload: { after: true } });
    await rx.waitForCount(4, { path: '/ok' });

    await server.stop();
    const logs = Buffer.from(server.stdout() + server.stderr() + rotation.stdout() + rotation.stderr());
    // The logs are there (the failed attempts, naming their endpoint; the rotation's steps), so the search means something.
    expect(logs.includes(`"endpointId":"${endpoints[1]!.id}"`)).toBe(true);
    expect(logs.includes('delivery attempt failed')).toBe(true);
    expect(logs.includes('Wrote the new master key')).toBe(true);
    expect(markersIn(logs, secrets)).toEqual([]);
    server = undefined;
  }, 90_000);
});
