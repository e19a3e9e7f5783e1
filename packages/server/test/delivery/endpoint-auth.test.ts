// Authentication to the endpoint beyond the signature, against real servers on loopback: a
// receiver checking Basic and bearer credentials, an OAuth 2.0 token server that counts its token
// requests (cached, refreshed before expiry on the injected clock, refreshed once on a 401), and
// an HTTPS receiver that requires a client certificate from a private CA (certificates made by
// openssl in the test). Credentials are sealed in the row, never in an answer, and the custom
// headers cannot fight them over Authorization.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Svix } from 'svix';
import { Clock, HOUR, OPERATOR_TOKEN } from '../helpers/inproc.js';
import { Receiver } from '../helpers/receiver.js';
import { rawRow } from '../helpers/rows.js';
import { Sender } from '../../src/delivery/send.js';
import { SsrfGuard } from '../../src/security/ssrf.js';
import { portalToken } from '../helpers/fixtures.js';
import { attemptsOf, createApp, createEndpoint, deliverySuite, sendMessage, settled, startDelivery, uniq, until, type DeliveryHerald } from './harness.js';

const SECRET_MARKERS = {
  password: 'pw-SECRET-basic-7f3a9c',
  token: 'tok-SECRET-bearer-1b2c3d',
  clientSecret: 'cs-SECRET-oauth-9e8d7c',
};

function basicOf(user: string, pass: string): string {
  return `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
}

describe('endpoint authentication: Basic and bearer', () => {
  const s = deliverySuite();

  it('sends Basic credentials as Authorization, then a bearer token after the switch; answers never hold them; the row is sealed', async () => {
    const app = await createApp(s.h);
    const ep = await createEndpoint(s.h, app.id, s.rx, '/basic');
    const base = `/api/v1/app/${app.id}/endpoint/${ep.id}`;
    await s.h.call('GET', `${base}/auth`, 404);
    await s.h.call('PUT', `${base}/auth`, 204, { type: 'basic', username: 'herald', password: SECRET_MARKERS.password });
    const shown = await s.h.call('GET', `${base}/auth`, 200);
    expect(shown).toEqual({ type: 'basic', username: 'herald', passwordSet: true });

    const m1 = await sendMessage(s.h, app.id);
    const [r1] = await s.rx.waitForCount(1, { path: '/basic' });
    expect(r1!.headers.authorization).toBe(basicOf('herald', SECRET_MARKERS.password));
    await settled(s.h, m1.id, ep.id);

    await s.h.call('PUT', `${base}/auth`, 204, { type: 'bearer', token: SECRET_MARKERS.token });
    expect(await s.h.call('GET', `${base}/auth`, 200)).toEqual({ type: 'bearer', tokenSet: true });
    await sendMessage(s.h, app.id);
    const got = await s.rx.waitForCount(2, { path: '/basic' });
    expect(got[1]!.headers.authorization).toBe(`Bearer ${SECRET_MARKERS.token}`);

    // Sealed at rest: the column holds neither credential.
    const row = await rawRow<{ auth_sealed: string }>(s.h, 'SELECT auth_sealed FROM endpoint WHERE id = ?', [ep.id]);
    expect(row!.auth_sealed).toMatch(/^sealed:v1:/);
    expect(row!.auth_sealed).not.toContain(SECRET_MARKERS.token);
    expect(row!.auth_sealed).not.toContain(SECRET_MARKERS.password);
    // Not in the endpoint's own answers either.
    const full = JSON.stringify([
      await s.h.call('GET', base, 200),
      await s.h.call('GET', `/api/v1/app/${app.id}/endpoint`, 200),
      await s.h.call('GET', `${base}/headers`, 200),
    ]);
    expect(full).not.toContain(SECRET_MARKERS.token);

    await s.h.call('DELETE', `${base}/auth`, 204);
    await s.h.call('GET', `${base}/auth`, 404);
    await sendMessage(s.h, app.id);
    const after = await s.rx.waitForCount(3, { path: '/basic' });
    expect(after[2]!.headers.authorization).toBeUndefined();
  });

  it('the svix SDK keeps working on an endpoint with authentication: its upsert and patch keep the credential', async () => {
    const address = await s.h.herald.api.listen({ port: 0, host: '127.0.0.1' });
    const svix = new Svix(OPERATOR_TOKEN, { serverUrl: address });
    const app = await createApp(s.h);
    const ep = await svix.endpoint.create(app.id, { url: s.rx.url('/sdk'), description: 'before' });
    await s.h.call('PUT', `/api/v1/app/${app.id}/endpoint/${ep.id}/auth`, 204, { type: 'bearer', token: SECRET_MARKERS.token });
    const got = await svix.endpoint.get(app.id, ep.id);
    expect(JSON.stringify(got)).not.toContain(SECRET_MARKERS.token);
    await svix.endpoint.upsert(app.id, ep.id, { url: s.rx.url('/sdk'), description: 'after' });
    // Its header update may not set Authorization beside the credential.
    await expect(svix.endpoint.patchHeaders(app.id, ep.id, { headers: { Authorization: 'Bearer other' } })).rejects.toMatchObject({ code: 422 });
    await svix.endpoint.patch(app.id, ep.id, { description: 'patched' });
    expect((await svix.endpoint.list(app.id)).data.map((e) => e.description)).toEqual(['patched']);
    await svix.message.create(app.id, { eventType: 'test.event', payload: { sdk: true } });
    const [r] = await s.rx.waitForCount(1, { path: '/sdk' });
    expect(r!.headers.authorization).toBe(`Bearer ${SECRET_MARKERS.token}`);
  });

  it('keeps one writer of Authorization: custom header, /auth and /oauth exclude each other', async () => {
    const app = await createApp(s.h);
    const withHeader = await createEndpoint(s.h, app.id, s.rx, '/h', { headers: { Authorization: 'Bearer custom' } });
    const b1 = `/api/v1/app/${app.id}/endpoint/${withHeader.id}`;
    const r = await s.h.inject('PUT', `${b1}/auth`, { body: { type: 'bearer', token: 'x' } });
    expect(r.status).toBe(409);
    expect(r.json.detail).toMatch(/custom Authorization header/);

    const ep = await createEndpoint(s.h, app.id, s.rx, '/h2');
    const base = `/api/v1/app/${app.id}/endpoint/${ep.id}`;
    await s.h.call('PUT', `${base}/auth`, 204, { type: 'bearer', token: 'x' });
    const hdr = await s.h.inject('PATCH', `${base}/headers`, { body: { headers: { authorization: 'Bearer other' } } });
    expect(hdr.status).toBe(422);
    expect(JSON.stringify(hdr.json)).toMatch(/authentication settings/);
    await s.h.call('PATCH', `${base}/headers`, 204, { headers: { 'X-Other': 'fine' } });
    const oauth = await s.h.inject('PUT', `${base}/oauth`, {
      body: { grantType: 'clientCredentials', authMethod: 'clientSecretPost', clientId: 'c', clientSecret: 's', tokenUrl: s.rx.url('/token') },
    });
    expect(oauth.status).toBe(409);
    const bad = await s.h.inject('PUT', `${base}/auth`, { body: { type: 'basic', username: 'a:b', password: 'p' } });
    expect(bad.status).toBe(422);
    expect(JSON.stringify(bad.json.detail)).toContain('username');
  });

  it('needs the secrets permission with a portal token, and its reads never hold a credential', async () => {
    const app = await createApp(s.h);
    const ep = await createEndpoint(s.h, app.id, s.rx, '/p');
    const base = `/api/v1/app/${app.id}/endpoint/${ep.id}`;
    const manager = await portalToken(s.h, app.id, { permissions: ['view', 'manage'] });
    const refused = await s.h.inject('PUT', `${base}/auth`, { body: { type: 'bearer', token: 'x' }, token: manager });
    expect(refused.status).toBe(403);
    expect((await s.h.inject('GET', `${base}/oauth`, { token: manager })).status).toBe(403);
    const keeper = await portalToken(s.h, app.id, { permissions: ['view', 'secrets'] });
    const ok = await s.h.inject('PUT', `${base}/auth`, { body: { type: 'bearer', token: SECRET_MARKERS.token }, token: keeper });
    expect(ok.status).toBe(204);
    const read = await s.h.inject('GET', `${base}/auth`, { token: keeper });
    expect(read.json).toEqual({ type: 'bearer', tokenSet: true });
  });
});

describe('endpoint authentication: OAuth 2.0 client credentials', () => {
  let h: DeliveryHerald;
  let rx: Receiver;
  let auth: Receiver;
  const clock = new Clock();
  let issued = 0;
  beforeAll(async () => {
    rx = await Receiver.start();
    auth = await Receiver.start();
    // The token server: every token is new, valid for an hour.
    auth.on('/token', (req) => {
      const form = new URLSearchParams(req.text);
      if (form.get('grant_type') !== 'client_credentials') return { status: 400, body: JSON.stringify({ error: 'unsupported_grant_type' }) };
      const basic = req.headers.authorization;
      const ok =
        basic === basicOf('client-1', SECRET_MARKERS.clientSecret) ||
        (form.get('client_id') === 'client-1' && form.get('client_secret') === SECRET_MARKERS.clientSecret);
      if (!ok) return { status: 401, body: JSON.stringify({ error: 'invalid_client', error_description: 'bad credentials' }) };
      issued++;
      return {
        status: 200,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ access_token: `at-${issued}-${form.get('scope')}-${form.get('audience')}`, token_type: 'Bearer', expires_in: 3600 }),
      };
    });
    h = await startDelivery({ now: clock.now, env: { HERALD_RETRY_SCHEDULE: '1h' } });
  });
  afterAll(async () => {
    await h?.close();
    await rx?.close();
    await auth?.close();
  });

  const tokenRequests = (path = '/token') => auth.received(path).length;

  it('fetches a token once, reuses it, refreshes it shortly before it expires and on a 401', async () => {
    const app = await createApp(h);
    const ep = await createEndpoint(h, app.id, rx, '/oauth');
    const base = `/api/v1/app/${app.id}/endpoint/${ep.id}`;
    await h.call('PUT', `${base}/oauth`, 204, {
      grantType: 'clientCredentials',
      authMethod: 'clientSecretBasic',
      clientId: 'client-1',
      clientSecret: SECRET_MARKERS.clientSecret,
      tokenUrl: auth.url('/token'),
      scopes: ['webhooks:write', 'events'],
      audience: 'https://receiver.example',
      extraHeaders: { 'X-Api-Key': 'xk-SECRET-extra', 'X-Tenant': 'shop-1' },
    });
    const shown = await h.call('GET', `${base}/oauth`, 200);
    expect(shown).toMatchObject({ grantType: 'clientCredentials', clientId: 'client-1', scopes: ['webhooks:write', 'events'], clientSecretSet: true });
    expect(shown).toMatchObject({ extraHeaders: { 'X-Tenant': 'shop-1' }, sensitiveExtraHeaders: ['X-Api-Key'] });
    expect(JSON.stringify(shown)).not.toContain(SECRET_MARKERS.clientSecret);
    expect(JSON.stringify(shown)).not.toContain('xk-SECRET-extra');

    const before = tokenRequests();
    await sendMessage(h, app.id);
    await sendMessage(h, app.id);
    const two = await rx.waitForCount(2, { path: '/oauth' });
    expect(tokenRequests() - before).toBe(1);
    const first = two[0]!.headers.authorization!;
    expect(first).toMatch(/^Bearer at-\d+-webhooks:write events-https:\/\/receiver\.example$/);
    expect(two[1]!.headers.authorization).toBe(first);
    // The scopes went space-separated, the audience as its own parameter, the secret in Basic.
    const tokenReq = auth.received('/token').at(-1)!;
    expect(tokenReq.headers['x-api-key']).toBe('xk-SECRET-extra');
    expect(new URLSearchParams(tokenReq.text).get('scope')).toBe('webhooks:write events');

    // 59 minutes on: inside the last tenth of the hour, so the next delivery fetches a new token.
    clock.advance(HOUR - 60_000);
    await sendMessage(h, app.id);
    const three = await rx.waitForCount(3, { path: '/oauth' });
    expect(tokenRequests() - before).toBe(2);
    expect(three[2]!.headers.authorization).not.toBe(first);

    // The receiver rejects the token it holds: Herald refreshes once and the same attempt succeeds.
    const rejected = three[2]!.headers.authorization;
    rx.on('/oauth', (req) => (req.headers.authorization === rejected ? { status: 401 } : { status: 200 }));
    const m = await sendMessage(h, app.id);
    const task = await settled(h, m.id, ep.id);
    expect(task.status).toBe(0);
    expect(tokenRequests() - before).toBe(3);
    const attempts = await attemptsOf(h, app.id, m.id, ep.id);
    expect(attempts).toHaveLength(1);
    expect(attempts[0].responseStatusCode).toBe(200);
  });

  it('records a failed token request in the attempt log, and the token URL passes the SSRF guard', async () => {
    const app = await createApp(h);
    const ep = await createEndpoint(h, app.id, rx, '/oauth-bad');
    const base = `/api/v1/app/${app.id}/endpoint/${ep.id}`;
    await h.call('PUT', `${base}/oauth`, 204, {
      grantType: 'clientCredentials',
      authMethod: 'clientSecretPost',
      clientId: 'client-1',
      clientSecret: 'wrong',
      tokenUrl: auth.url('/token'),
    });
    const m = await sendMessage(h, app.id);
    const attempts = await until('the failed attempt', async () => {
      const a = await attemptsOf(h, app.id, m.id, ep.id);
      return a.length ? a : undefined;
    });
    expect(attempts[0].response).toBe('OAuth token request failed: the token URL answered 401 (invalid_client: bad credentials)');
    expect(attempts[0].responseStatusCode).toBe(0);
    expect(rx.received('/oauth-bad')).toHaveLength(0);

    const ssrf = await h.inject('PUT', `${base}/oauth`, {
      body: { grantType: 'clientCredentials', authMethod: 'clientSecretPost', clientId: 'c', tokenUrl: 'http://10.1.2.3/token' },
    });
    expect(ssrf.status).toBe(422);
    expect(JSON.stringify(ssrf.json.detail)).toContain('tokenUrl');
    const jwt = await h.inject('PUT', `${base}/oauth`, {
      body: { grantType: 'clientCredentials', authMethod: 'clientSecretJwt', clientId: 'c', tokenUrl: auth.url('/token') },
    });
    expect(jwt.status).toBe(422);
  });
});

/** A private CA, a server certificate for 127.0.0.1 and a client certificate, made by openssl. */
function makePki(dir: string) {
  const run = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const ca = (name: string) => {
    run(
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.crt`,
      '-days',
      '2',
      '-subj',
      `/CN=${name}`,
    );
  };
  const leaf = (name: string, issuer: string, ext: string) => {
    run('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
    writeFileSync(join(dir, `${name}.ext`), ext);
    run(
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      `${issuer}.crt`,
      '-CAkey',
      `${issuer}.key`,
      '-CAcreateserial',
      '-out',
      `${name}.crt`,
      '-days',
      '2',
      '-extfile',
      `${name}.ext`,
    );
  };
  ca('server-ca');
  ca('client-ca');
  leaf('server', 'server-ca', 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  leaf('client', 'client-ca', 'extendedKeyUsage=clientAuth\n');
  leaf('stranger', 'server-ca', 'extendedKeyUsage=clientAuth\n');
  const read = (f: string) => readFileSync(join(dir, f), 'utf8');
  return {
    serverCa: read('server-ca.crt'),
    clientCa: read('client-ca.crt'),
    server: { cert: read('server.crt'), key: read('server.key') },
    client: read('client.crt') + read('client.key'),
    stranger: read('stranger.crt') + read('stranger.key'),
  };
}

describe('endpoint authentication: mutual TLS', () => {
  let h: DeliveryHerald | undefined;
  let server: Server;
  let url: string;
  const dir = mkdtempSync(join(tmpdir(), 'herald-mtls-'));
  const seen: { cn: string | undefined; authorized: boolean }[] = [];
  let pki: ReturnType<typeof makePki>;
  beforeAll(async () => {
    pki = makePki(dir);
    server = createServer({ ...pki.server, ca: pki.clientCa, requestCert: true, rejectUnauthorized: true }, (req, res) => {
      const peer = (req.socket as import('node:tls').TLSSocket).getPeerCertificate();
      seen.push({ cn: peer?.subject?.CN as string | undefined, authorized: (req.socket as import('node:tls').TLSSocket).authorized });
      req.resume();
      req.on('end', () => res.writeHead(204).end());
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  });
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  it('presents the endpoint client certificate and checks the receiver against the endpoint CA', async () => {
    h = await startDelivery({ env: { HERALD_RETRY_SCHEDULE: '1h' } });
    const app = await createApp(h);
    const ep = await h.call('POST', `/api/v1/app/${app.id}/endpoint`, 201, { url });
    const base = `/api/v1/app/${app.id}/endpoint/${ep.id}`;
    expect(await h.call('GET', `${base}/mtls`, 200)).toEqual({ enabled: false });

    // No CA for the private PKI yet: the receiver's certificate is not trusted.
    const m0 = await sendMessage(h, app.id);
    const a0 = await until('the untrusted attempt', async () => {
      const a = await attemptsOf(h!, app.id, m0.id, ep.id);
      return a.length ? a : undefined;
    });
    expect(a0[0].response).toMatch(/Connection failed: .*(CERT|certificate|SELF_SIGNED|UNABLE)/i);

    // Trusted, but no client certificate: the receiver refuses the handshake.
    await h.call('PUT', `${base}/ca`, 204, { cert: pki.serverCa });
    expect((await h.call('GET', `${base}/ca`, 200)).cert).toBe(pki.serverCa);
    const m1 = await sendMessage(h, app.id);
    const a1 = await until('the attempt without a client certificate', async () => {
      const a = await attemptsOf(h!, app.id, m1.id, ep.id);
      return a.length ? a : undefined;
    });
    expect(a1[0].responseStatusCode).toBe(0);
    expect(seen).toHaveLength(0);

    // A mismatched identity is refused at the API; the right one is delivered with.
    const bad = await h.inject('PUT', `${base}/mtls`, { body: { identity: pki.server.cert + readFileSync(join(dir, 'client.key'), 'utf8') } });
    expect(bad.status).toBe(422);
    expect(JSON.stringify(bad.json.detail)).toMatch(/does not match/);
    await h.call('PUT', `${base}/mtls`, 204, { identity: pki.client });
    expect(await h.call('GET', `${base}/mtls`, 200)).toEqual({ enabled: true });
    const m2 = await sendMessage(h, app.id);
    const t2 = await settled(h, m2.id, ep.id);
    expect(t2.status).toBe(0);
    expect(seen.at(-1)).toEqual({ cn: 'client', authorized: true });

    // The key is sealed in the row.
    const row = await rawRow<{ auth_sealed: string }>(h, 'SELECT auth_sealed FROM endpoint WHERE id = ?', [ep.id]);
    expect(row!.auth_sealed).toMatch(/^sealed:v1:/);
    expect(row!.auth_sealed).not.toContain('PRIVATE KEY');

    // A certificate from another CA: the receiver refuses it.
    await h.call('PUT', `${base}/mtls`, 204, { identity: pki.stranger });
    const m3 = await sendMessage(h, app.id);
    const a3 = await until('the attempt with a stranger certificate', async () => {
      const a = await attemptsOf(h!, app.id, m3.id, ep.id);
      return a.length ? a : undefined;
    });
    expect(a3[0].responseStatusCode).toBe(0);
    expect(seen).toHaveLength(1);
    // One Agent per identity in use: the endpoint's old one was closed when it changed.
    expect((h.herald.dispatcher as any).o.sender.auth.agentCount).toBe(1);
  });

  it('trusts the installation CA (HERALD_EXTRA_CA_CERTS) for every endpoint', async () => {
    const caFile = join(dir, 'extra-ca.pem');
    writeFileSync(caFile, pki.serverCa);
    h = await startDelivery({ env: { HERALD_RETRY_SCHEDULE: '1h', HERALD_EXTRA_CA_CERTS: caFile } });
    const app = await createApp(h);
    const ep = await h.call('POST', `/api/v1/app/${app.id}/endpoint`, 201, { url, uid: uniq('mtls') });
    await h.call('PUT', `/api/v1/app/${app.id}/endpoint/${ep.id}/mtls`, 204, { identity: pki.client });
    const before = seen.length;
    const m = await sendMessage(h, app.id);
    expect((await settled(h, m.id, ep.id)).status).toBe(0);
    expect(seen.length).toBe(before + 1);
  });
});

describe('endpoint authentication: the token cache (delivery/auth.ts, against a real token server)', () => {
  it('attempts refused the same token share one new token; a changed configuration fetches anew', async () => {
    const server = await Receiver.start();
    let n = 0;
    server.on('/token', () => ({
      status: 200,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ access_token: `t${++n}`, expires_in: 600 }),
    }));
    const sender = new Sender({ timeoutMs: 5000, headerPrefixes: ['webhook'], userAgent: 'test', guard: new SsrfGuard(['127.0.0.0/8']) });
    try {
      const oauth = {
        grantType: 'clientCredentials' as const,
        authMethod: 'clientSecretPost' as const,
        tokenUrl: server.url('/token'),
        clientId: 'c',
        clientSecret: 's',
        scopes: null,
        audience: null,
        extraParams: null,
        extraHeaders: null,
      };
      const target = { endpointId: 'ep_1', auth: { oauth } };
      const now = () => 0;
      const first = await sender.auth.prepare(target, now);
      expect(first).toMatchObject({ ok: true, authorization: 'Bearer t1' });
      expect(await sender.auth.prepare(target, now)).toMatchObject({ authorization: 'Bearer t1' });
      // Two attempts were both refused t1: the first fetches t2, the second uses it.
      expect(await sender.auth.prepare(target, now, 'Bearer t1')).toMatchObject({ authorization: 'Bearer t2' });
      expect(await sender.auth.prepare(target, now, 'Bearer t1')).toMatchObject({ authorization: 'Bearer t2' });
      expect(server.received('/token')).toHaveLength(2);
      // A refusal of the current token fetches again; so does a changed configuration.
      expect(await sender.auth.prepare(target, now, 'Bearer t2')).toMatchObject({ authorization: 'Bearer t3' });
      expect(await sender.auth.prepare({ endpointId: 'ep_1', auth: { oauth: { ...oauth, scopes: ['more'] } } }, now)).toMatchObject({
        authorization: 'Bearer t4',
      });
      expect(server.received('/token')).toHaveLength(4);
    } finally {
      await sender.close();
      await server.close();
    }
  });
});
